"""Request bodies under control before anything reads them: a size limit per route, refused from the
declared length before the first byte is read (and counted as it arrives when no length is declared),
and, on the routes that take large uploads, the caller's permission checked before the body is read.

FastAPI parses a multipart body before it runs a route's dependencies, so without this an anonymous
client could have a gigabyte spooled to disk before its 401.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.cookies import SimpleCookie

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.permissions import Permission
from vaxlink.services.access import limits as limits_store
from vaxlink.services.access.auth import Principal, resolve_session, resolve_token
from vaxlink.services.audit import log as audit
from vaxlink.web.security import COOKIE, AppState

KIB = 1024
MIB = 1024 * KIB
# Forms and JSON bodies: the largest legitimate one (a case's settlement, a correction) is a few KB.
DEFAULT_LIMIT = 256 * KIB
# Sign-in and one-time codes: a name, a password, a code.
SMALL_LIMIT = 8 * KIB
PICTURE_LIMIT = 9 * MIB
UPLOAD_LIMIT = 2 * 1024 * MIB + MIB  # the upload's own limit plus the multipart envelope


@dataclass(frozen=True)
class Rule:
    limit: int
    # Checked before the body is read; None: the route's own dependency checks it.
    permission: Permission | None = None


RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/api/v1/batches"): Rule(UPLOAD_LIMIT, Permission.BATCH_UPLOAD),
    ("POST", "/batches"): Rule(UPLOAD_LIMIT, Permission.BATCH_UPLOAD),
    ("POST", "/api/v1/lookup/status/image"): Rule(PICTURE_LIMIT, Permission.LOOKUP_STATUS),
    ("POST", "/api/v1/certificates/verify/image"): Rule(PICTURE_LIMIT, Permission.LOOKUP_STATUS),
    ("POST", "/verify/image"): Rule(PICTURE_LIMIT, Permission.LOOKUP_STATUS),
    ("POST", "/verify/certificate"): Rule(PICTURE_LIMIT, Permission.LOOKUP_STATUS),
    ("POST", "/login"): Rule(SMALL_LIMIT),
    ("POST", "/self/code"): Rule(SMALL_LIMIT),
    ("POST", "/self"): Rule(SMALL_LIMIT),
}


def rule_for(method: str, path: str) -> Rule:
    return RULES.get((method, path.rstrip("/") or "/"), Rule(DEFAULT_LIMIT))


def _problem(
    status: int, code: str, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {"type": "about:blank", "title": _TITLES[status], "status": status, "code": code, "detail": detail}
    ).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    # The client may still be sending: the connection is closed rather than read to its end.
    headers.append((b"connection", b"close"))
    return headers + (extra or []), body


_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 413: "Content Too Large"}


async def _send_problem(
    send: Send, status: int, code: str, detail: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers, body = _problem(status, code, detail, extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _principal(st: AppState, headers: dict[bytes, bytes]) -> Principal | None:
    auth = headers.get(b"authorization")
    with st.sessions() as s:
        if auth is not None:
            scheme, _, token = auth.decode("latin-1").partition(" ")
            return resolve_token(s, token.strip()) if scheme.lower() == "bearer" else None
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:
            return None
        morsel = cookie.get(COOKIE)
        return resolve_session(s, st.settings, morsel.value) if morsel is not None else None


def _refuse_early(st: AppState, scope: Scope, rule: Rule) -> tuple[int, str] | None:
    """(status, code) when the caller may not use the route, with its one `access_denied` event."""
    assert rule.permission is not None
    headers = dict(scope.get("headers") or [])
    principal = _principal(st, headers)
    if principal is not None and rule.permission in principal.permissions:
        return None
    status, code = (401, "UNAUTHENTICATED") if principal is None else (403, "FORBIDDEN")
    lock = st.write_lock
    if lock is not None:
        lock.acquire()
    try:
        with st.sessions() as s:
            audit.bind_key(s, st.audit_key)
            client = scope.get("client")
            address = client[0] if client else "unknown"
            if principal is None and not limits_store.first_anonymous(
                s, f"access_denied:{scope['method']}", scope["path"], code, address
            ):
                s.commit()
                return status, code
            audit.record(
                s,
                actor=principal.username if principal else audit.ANONYMOUS,
                action=AuditAction.ACCESS_DENIED,
                resource_type="route",
                resource_id=scope["path"],
                jurisdiction=principal.scope.label if principal else None,
                reason=code,
                details={
                    "status": status,
                    "method": scope["method"],
                    "path_params": {},
                    "client": client[0] if client else "unknown",
                },
            )
            s.commit()
    finally:
        if lock is not None:
            lock.release()
    return status, code


class BodyLimits:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        rule = rule_for(scope["method"], scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                await _send_problem(send, 400, "BAD_LENGTH", "malformed content-length")
                return
            if length > rule.limit:
                await _send_problem(send, 413, "BODY_TOO_LARGE", f"the body exceeds {rule.limit} bytes")
                return
        if rule.permission is not None:
            st: AppState = scope["app"].state.vx
            refused = await run_in_threadpool(_refuse_early, st, scope, rule)
            if refused is not None:
                status, code = refused
                path = scope["path"]
                if status == 401 and not path.startswith("/api/"):
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 303,
                            "headers": [
                                (b"location", b"/login?next=" + path.encode()),
                                (b"connection", b"close"),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": b""})
                    return
                extra = [(b"www-authenticate", b"Bearer")] if status == 401 else None
                await _send_problem(
                    send, status, code, "authentication required" if status == 401 else "not allowed", extra
                )
                return
        received = 0
        exceeded = False

        async def counted() -> Message:
            # Past the limit the app is told the client went away; its own answer to that is dropped
            # and the 413 sent instead.
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > rule.limit:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not exceeded:
                raise
        if exceeded:
            await _send_problem(send, 413, "BODY_TOO_LARGE", f"the body exceeds {rule.limit} bytes")

"""Who is asking and may they: the request's transaction, the principal behind a session cookie or a bearer
token, the permission each route declares, CSRF on unsafe requests, and the one audit event of a denial.

Every route declares exactly one of `require(Permission.X)` or `PUBLIC`; `declared_permission` reads the
declaration back so that a test can walk every route and fail on one that has none.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute, Mount

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.permissions import Permission
from vaxlink.services.access import limits as limits_store
from vaxlink.services.access.auth import LoginLimits, Principal, csrf_ok, resolve_session, resolve_token
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import NotFound, ServiceError
from vaxlink.services.reconciliation.ingest_jobs import IngestJobs
from vaxlink.settings import Settings

COOKIE = "vaxlink_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC = "PUBLIC"
PERMISSION_ATTR = "__vaxlink_permission__"
# Mounted applications (static files) carry no dependencies; they are public by this list.
PUBLIC_MOUNTS = frozenset({"static"})


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    audit_key: bytes
    login_limits: LoginLimits
    # SQLite has one writer: requests (which all may write an audit event) take turns, so that none
    # fails on a lock upgrade. PostgreSQL needs no such lock.
    write_lock: threading.Lock | None
    # The worker that ingests uploaded batches off the request path.
    jobs: IngestJobs


class Denied(Exception):
    """A request refused for who is asking: 401 (no valid credentials) or 403 (not allowed)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def state(request: Request) -> AppState:
    st: AppState = request.app.state.vx
    return st


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def route_path(request: Request) -> str | None:
    """The path of the route a request reached (what an event about the request names)."""
    return getattr(request.scope.get("route"), "path", None)


def _route_event(
    request: Request,
    principal: Principal | None,
    action: AuditAction,
    code: str,
    first: dict[str, Any],
    more: dict[str, Any] | None = None,
) -> audit.Event:
    return audit.Event(
        actor=principal.username if principal else audit.ANONYMOUS,
        action=action,
        resource_type="route",
        resource_id=route_path(request),
        jurisdiction=principal.scope.label if principal else None,
        reason=code,
        details={
            **first,
            "method": request.method,
            "path_params": {k: str(v)[:40] for k, v in request.path_params.items()},
            "client": client_address(request),
            **(more or {}),
        },
    )


def denial_event(request: Request, principal: Principal | None, status: int, code: str) -> audit.Event:
    """The one audit event of a request refused for who is asking, whichever path refused it (the
    lookup's fast path writes it through its group writer)."""
    return _route_event(request, principal, AuditAction.ACCESS_DENIED, code, {"status": status})


def _record_denial(session: Session, request: Request, status: int, code: str) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None and not limits_store.first_anonymous(
        session, f"access_denied:{request.method}", route_path(request), code, client_address(request)
    ):
        return
    audit.record_event(session, denial_event(request, principal, status, code))


# Refusals of the rules that keep one officer from acting alone or probing the register: audited.
AUDITED_REFUSALS = frozenset({"SAME_OFFICER", "ID_UNUSABLE", "SAME_PERSON"})


def _record_refusal(
    session: Session, request: Request, code: str, more: dict[str, Any] | None = None
) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
    audit.record_event(session, _route_event(request, principal, AuditAction.ACTION_REFUSED, code, {}, more))


def get_db(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on any error. A
    denied request leaves nothing of its own but one `access_denied` event."""
    st = state(request)
    lock = st.write_lock
    if lock is not None:
        lock.acquire()
    session = st.sessions()
    audit.bind_key(session, st.audit_key)
    try:
        yield session
        session.commit()
    except Denied as e:
        session.rollback()
        _record_denial(session, request, e.status, e.code)
        session.commit()
        raise
    except NotFound:
        session.rollback()
        _record_denial(session, request, 404, "NOT_FOUND")
        session.commit()
        raise
    except ServiceError as e:
        session.rollback()
        if e.code in AUDITED_REFUSALS:
            # A refused security action (approving one's own change, a number already someone's) is
            # evidence of intent: it leaves its event although the action left nothing else.
            _record_refusal(session, request, e.code, getattr(e, "details", None))
            session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        if lock is not None:
            lock.release()


DB = Annotated[Session, Depends(get_db, scope="function")]


async def presented_csrf(request: Request) -> str | None:
    """The CSRF token sent with an unsafe request: a header (API) or a hidden form field (pages)."""
    if request.method in SAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        try:
            form = await request.form()
        except Exception:
            return None
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def resolve_principal(request: Request, session: Session) -> Principal | None:
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return resolve_token(session, token.strip())
    cookie = request.cookies.get(COOKIE)
    if cookie:
        return resolve_session(session, state(request).settings, cookie)
    return None


def refusal(
    principal: Principal | None, permission: Permission, method: str, csrf: str | None
) -> Denied | None:
    """Why a request of `principal` needing `permission` is refused (None: it is not): no valid
    credentials, a role without the permission, or an unsafe request by session cookie without the
    session's CSRF token."""
    if principal is None:
        return Denied(401, "UNAUTHENTICATED")
    if permission not in principal.permissions:
        return Denied(403, "FORBIDDEN")
    if method not in SAFE_METHODS and not csrf_ok(principal, csrf):
        return Denied(403, "CSRF")
    return None


def require(permission: Permission) -> Callable[..., Principal]:
    """Dependency: the principal of the request, who must hold `permission`; unsafe requests made with a
    session cookie must carry the session's CSRF token."""

    def dependency(
        request: Request, session: DB, csrf: Annotated[str | None, Depends(presented_csrf)]
    ) -> Principal:
        principal = resolve_principal(request, session)
        request.state.principal = principal
        denied = refusal(principal, permission, request.method, csrf)
        if denied is not None:
            raise denied
        assert principal is not None
        return principal

    setattr(dependency, PERMISSION_ATTR, permission)
    dependency.__name__ = f"require_{permission.value.replace(':', '_')}"
    return dependency


def public() -> None:
    """Declares a route public (no credentials needed)."""


setattr(public, PERMISSION_ATTR, PUBLIC)
Public = Depends(public)


def form_token_repeated(request: Request, cookie: str, presented: str) -> bool:
    """Whether a public form (posted before any session: sign-in, the citizen's pages) repeats the token
    its page set in the `cookie`: the double-submit defence against forgery."""
    expected = request.cookies.get(cookie, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


def _declarations(dependant: Any) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        marker = getattr(dep.call, PERMISSION_ATTR, None)
        if marker is not None:
            found.append(marker)
        found.extend(_declarations(dep))
    return found


def declared_permission(route: BaseRoute) -> Permission | str | None:
    """The permission a route declared (`PUBLIC` for public ones), None when it declared none or several."""
    if isinstance(route, Mount):
        return PUBLIC if route.name in PUBLIC_MOUNTS else None
    if isinstance(route, APIRoute):
        found = set(_declarations(route.dependant))
        return found.pop() if len(found) == 1 else None
    # Starlette's own routes (the OpenAPI document) are declared by name.
    return PUBLIC if getattr(route, "name", None) in {"openapi"} else None


def all_routes(routes: list[Any]) -> list[tuple[str, str, BaseRoute]]:
    """(method, full path, route) for every route, through included routers (which FastAPI keeps as
    branches rather than copying their routes)."""
    out: list[tuple[str, str, BaseRoute]] = []
    for route in routes:
        if hasattr(route, "effective_candidates"):
            for candidate in route.effective_candidates():
                if hasattr(candidate, "effective_candidates"):
                    out.extend(all_routes([candidate]))
                    continue
                original = candidate.original_route
                for m in sorted(getattr(original, "methods", None) or {"GET"}):
                    if m != "HEAD":
                        out.append((m, candidate.path, original))
            continue
        for m in sorted(getattr(route, "methods", None) or {"GET"}):
            if m != "HEAD":
                out.append((m, getattr(route, "path", ""), route))
    return out

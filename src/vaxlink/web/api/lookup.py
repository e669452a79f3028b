"""Verifier lookups: `POST /api/v1/lookup/status` (QR text or number in the body) and `.../image` (a picture).

The JSON route is a checkpoint's hot path. On PostgreSQL a request with a bearer token and a well-formed
body is answered by `FastLookup`, an ASGI layer in front of the router: no routing over every page and
endpoint, no dependency solving, no ORM session, no worker thread. One prepared statement on an
autocommit connection resolves the token, its user and the citizen's status together (so a revoked
token, a disabled user or a withdrawn role is refused on the very next request), and the audit event
joins a group commit (`services.lookup.verifier.GroupAudit`) that the answer waits for. Authentication,
permission, rate limit (per user), audit and the answers' shapes are those of the ordinary path, which
takes everything else (session cookies with their CSRF token, SQLite, a malformed body) through the
FastAPI route below, so the route stays documented, declared and tested like every other.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.permissions import Level, Permission, permissions_of
from vaxlink.services.access.auth import Principal, csrf_ok, token_digest
from vaxlink.services.errors import LookupInputError
from vaxlink.services.lookup import verifier as svc
from vaxlink.services.lookup.verifier import AuditItem, GroupAudit, LookupInput, RateLimiter
from vaxlink.storage.scope import Scope as Jurisdiction
from vaxlink.web.errors import problem
from vaxlink.web.i18n import lang_of
from vaxlink.web.security import (
    DB,
    PERMISSION_ATTR,
    SAFE_METHODS,
    AppState,
    Denied,
    client_address,
    presented_csrf,
    require,
    resolve_principal,
    state,
)

router = APIRouter(prefix="/api/v1", tags=["lookup"])
PATH = "/api/v1/lookup/status"
log = logging.getLogger("vaxlink.web")
MAX_PICTURE = 8 * 1024 * 1024
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid credentials"},
    403: {"description": "not allowed"},
    404: {
        "description": "no record matches what was presented (no such number, or the birth date, name or sex differ)"
    },
    422: {"description": "not a chip card's QR text, or a 12-digit number without the birth date"},
    429: {"description": "too many lookups; see Retry-After"},
    503: {"description": "the database cannot be reached; try again"},
}


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=svc.MAX_TEXT, description="chip card QR text or the 12-digit number")
    date_of_birth: str | None = Field(
        None,
        max_length=20,
        description="with a number: the birth date on the card (YYYY-MM-DD or dd/mm/yyyy)",
    )


class LookupOut(BaseModel):
    found: bool
    name: str | None
    birth_year: int | None
    status: str | None
    status_text: str | None
    colour: str | None
    colour_text: str | None
    last_dose_date: str | None


# --- the fast connection pool -------------------------------------------------------------------

# svc.STATUS_SQL joined to the token and its user: one round trip answers who asks and what they asked.
# Parameters: the personal id (NULL for unusable input), the token's digest.
FUSED_SQL = """SELECT u.id, u.username, u.display_name, u.role, u.scope_level, u.scope_units, u.scope_code,
  (u.active AND u.token_version = t.token_version AND t.revoked_at IS NULL
   AND (t.expires_at IS NULL OR t.expires_at > now())) AS usable,
  (t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 seconds') AS stale, t.id,
  vu.province_code,
  c.id, c.full_name, c.birth_year, cu.province_code,
  s.doses, s.first_dose_date, s.last_dose_date, s.complete_date, s.boosters,
  c.birth_date, c.birth_precision, c.sex
FROM api_token t JOIN app_user u ON u.id = t.user_id
LEFT JOIN admin_unit vu ON vu.structure = u.scope_units AND vu.level = u.scope_level AND vu.code = u.scope_code
LEFT JOIN citizen c ON c.personal_id = %s
LEFT JOIN citizen_status s ON s.citizen_id = c.id
LEFT JOIN admin_unit cu ON cu.structure = c.current_units AND cu.level = 'ward' AND cu.code = c.current_ward_code
WHERE t.token_hash = %s"""


class FastPool:
    """A few autocommit psycopg connections on the event loop, each with one cursor kept for its life: no
    BEGIN/COMMIT around a read, the statement prepared once per connection. A connection that fails is
    dropped; the next request opens a fresh one. Single-threaded (the loop's), so no lock is needed."""

    def __init__(self, database_url: str, size: int = 8) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.size = size
        self._idle: list[tuple[Any, Any]] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def _connect(self) -> tuple[Any, Any]:
        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, prepare_threshold=0, options="-c jit=off"
        )
        return conn, conn.cursor()

    async def _acquire(self) -> tuple[Any, Any]:
        while True:
            if self._idle:
                return self._idle.pop()
            if self._open < self.size:
                self._open += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._open -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # pass on the turn this waiter was given
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def fetch_one(self, sql: str, params: tuple[Any, ...]) -> Any:
        """The first row of one statement."""
        conn, cur = await self._acquire()
        ok = False
        try:
            await cur.execute(sql, params, prepare=True)
            row = await cur.fetchone()
            ok = True
            return row
        finally:
            if ok and not conn.closed:
                self._idle.append((conn, cur))
            else:
                self._open -= 1
                with contextlib.suppress(Exception):
                    await conn.close()
            self._wake()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            with contextlib.suppress(Exception):
                await conn.close()
        self._open -= len(idle)


@dataclass
class Runtime:
    limiter: RateLimiter
    org_limiter: RateLimiter
    writer: GroupAudit
    pool: FastPool | None
    watch: svc.NeighbourWatch
    # (reason, client address) -> when its last anonymous refusal was audited
    anonymous: dict[tuple[str, str], float] = field(default_factory=dict)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.vx_lookup
    return rt


def install(app: FastAPI) -> None:
    """Give the app its lookup runtime (rate limiter, grouped audit writer, fast pool) and close them
    when the app stops."""
    st: AppState = app.state.vx
    pool = FastPool(st.settings.database_url) if st.engine.dialect.name == "postgresql" else None
    rt = Runtime(
        limiter=RateLimiter(st.settings.lookup_rate_per_minute, st.sessions, write_lock=st.write_lock),
        org_limiter=RateLimiter(
            st.settings.lookup_org_rate_per_minute, st.sessions, prefix="lookup:org", write_lock=st.write_lock
        ),
        writer=GroupAudit(
            st.sessions, st.audit_key, st.write_lock, conninfo=pool.conninfo if pool is not None else None
        ),
        pool=pool,
        watch=svc.NeighbourWatch(sessions=st.sessions, key=st.audit_key, write_lock=st.write_lock),
    )
    app.state.vx_lookup = rt
    if pool is not None:
        app.add_middleware(FastLookup)
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with original(a) as inner:
            try:
                yield inner
            finally:
                if rt.pool is not None:
                    await rt.pool.aclose()
                await rt.writer.aclose()
                await run_in_threadpool(rt.writer.close)
                await run_in_threadpool(rt.limiter.close)
                await run_in_threadpool(rt.org_limiter.close)
                await run_in_threadpool(rt.watch.close)

    app.router.lifespan_context = lifespan


# --- who asks -----------------------------------------------------------------------------------


@dataclass
class Gate:
    principal: Principal
    row: Any  # the svc.STATUS_SQL row (None when nobody has the number)
    verifier_province: str | None
    given: LookupInput | None
    input_error: LookupInputError | None
    touch_token_id: int | None = None


def _principal_of(r: Any) -> Principal | None:
    if not r[7]:
        return None
    try:
        scope = Jurisdiction(Level(r[4]), r[5], r[6])
    except ValueError:
        return None
    return Principal(
        user_id=int(r[0]),
        username=r[1],
        display_name=r[2],
        role=r[3],
        scope=scope,
        permissions=permissions_of(r[3]),
        via="token",
    )


def _sync_gate(
    request: Request, st: AppState, pid: str | None, csrf: str | None
) -> tuple[Principal | None, str | None, Any, str | None]:
    """The ordinary path: principal by cookie or token through the ORM session, then the status row."""
    lock = st.write_lock
    if lock is not None:
        lock.acquire()
    try:
        with st.sessions() as session, session.begin():
            principal = resolve_principal(request, session)
            if principal is None:
                return None, "UNAUTHENTICATED", None, None
            if Permission.LOOKUP_STATUS not in principal.permissions:
                return principal, "FORBIDDEN", None, None
            if request.method not in SAFE_METHODS and not csrf_ok(principal, csrf):
                return principal, "CSRF", None, None
            row = None if pid is None else session.execute(text(svc.STATUS_SQL), {"pid": pid}).first()
            return principal, None, row, svc.scope_province(session, principal)
    finally:
        if lock is not None:
            lock.release()


def _first_anonymous(rt: Runtime, code: str, client: str) -> bool:
    """The lookup's anonymous refusals, aggregated as `audit.first_anonymous` does on the ordinary path:
    one event a minute per address and reason (counted in this process, off the database's path)."""
    now = time.monotonic()
    if len(rt.anonymous) > 10_000:
        rt.anonymous.clear()
    if now - rt.anonymous.get((code, client), -math.inf) < 60.0:
        return False
    rt.anonymous[(code, client)] = now
    return True


async def _deny(request: Request, principal: Principal | None, status: int, code: str) -> Denied:
    route = request.scope.get("route")
    if principal is None and not _first_anonymous(runtime(request), code, client_address(request)):
        return Denied(status, code)
    await runtime(request).writer.record(
        AuditItem(
            principal.username if principal else "anonymous",
            "access_denied",
            "route",
            getattr(route, "path", None),
            principal.scope.label if principal else None,
            code,
            {
                "status": status,
                "method": request.method,
                "path_params": {},
                "client": client_address(request),
            },
        )
    )
    return Denied(status, code)


async def require_lookup(request: Request, body: LookupIn) -> Gate:
    """The lookup's own `require(Permission.LOOKUP_STATUS)` on the ordinary path: the same checks (token
    or session, role, CSRF for cookies, one audit event per denial), followed by the lookup's read in
    the same transaction."""
    given, input_error = _parse(body.text, body.date_of_birth)
    pid = given.personal_id if given else None
    csrf = await presented_csrf(request)
    try:
        principal, denial, row, province = await run_in_threadpool(
            _sync_gate, request, state(request), pid, csrf
        )
    except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError):
        raise HTTPException(503, "database unavailable") from None
    if denial is not None:
        raise await _deny(request, principal, 401 if principal is None else 403, denial)
    assert principal is not None
    return Gate(principal, row, province, given, input_error)


def _parse(text: str, birth_date: str | None = None) -> tuple[LookupInput | None, LookupInputError | None]:
    try:
        return svc.parse_input(text, birth_date=birth_date), None
    except LookupInputError as e:
        return None, e


setattr(require_lookup, PERMISSION_ATTR, Permission.LOOKUP_STATUS)


def _unavailable() -> JSONResponse:
    return problem(
        503,
        "UNAVAILABLE",
        "the database cannot be reached; try again in a moment",
        detail_vi="Không kết nối được cơ sở dữ liệu; hãy thử lại sau giây lát",
    )


async def limited(request: Request, who: Principal) -> JSONResponse | None:
    """The 429 answer when the user is over the rate, else None."""
    rt = runtime(request)
    wait = (
        rt.watch.paused(who.user_id) or rt.limiter.take(who.user_id) or rt.org_limiter.take(who.scope.label)
    )
    if wait <= 0:
        return None
    if rt.limiter.first_refusal(who.user_id):
        route = request.scope.get("route")
        await rt.writer.record(
            AuditItem(
                who.username,
                "lookup_rate_limited",
                "route",
                getattr(route, "path", None),
                who.scope.label,
                "RATE_LIMITED",
                {"client": client_address(request)},
            )
        )
    seconds = svc.retry_after(wait)
    response = problem(
        429,
        "RATE_LIMITED",
        f"too many lookups; try again in {seconds} s",
        detail_vi=f"Tra cứu quá nhiều; thử lại sau {seconds} giây",
    )
    response.headers["retry-after"] = str(seconds)
    return response


def _bad_input(e: LookupInputError) -> JSONResponse:
    return problem(422, e.code, e.message_en, detail_vi=e.message_vi)


def _not_found() -> JSONResponse:
    # One answer for "nobody has this number" and "the birth date (name, sex) differs": a number alone
    # tells nothing.
    return problem(
        404,
        "NOT_FOUND",
        "no record matches what was presented",
        detail_vi="Không có hồ sơ khớp với giấy tờ được xuất trình",
    )


def neighbour_alert(rt: Runtime, who: Principal, given: LookupInput | None) -> AuditItem | None:
    """The audit event of a run of neighbouring numbers this lookup completes, if it does."""
    if given is None:
        return None
    run = rt.watch.see(who.user_id, given.personal_id, who=(who.username, who.scope.label))
    if not run:
        return None
    return AuditItem(
        who.username,
        "lookup_neighbour_run",
        "user",
        who.user_id,
        who.scope.label,
        "NEIGHBOURING_NUMBERS",
        {
            "numbers": run,
            "span": rt.watch.span,
            "window_s": int(rt.watch.window),
            "paused_s": int(rt.watch.pause),
        },
    )


async def _answer(request: Request, gate: Gate) -> Response:
    """Rate limit, answer and audit event of an admitted lookup (both paths)."""
    who = gate.principal
    try:
        refused = await limited(request, who)
        if refused is not None:
            return refused
        answer = svc.answer_from_row(
            gate.row, state(request).settings, gate.verifier_province, svc.today_vn(), gate.given
        )
        alert = neighbour_alert(runtime(request), who, gate.given)
        if alert is not None:
            await runtime(request).writer.record(alert)
        await runtime(request).writer.record(
            AuditItem(
                who.username,
                svc.ACTION,
                "citizen",
                answer.citizen_id,
                who.scope.label,
                None,
                svc.audit_details(answer.found, gate.given.via if gate.given else "invalid"),
                gate.touch_token_id,
            )
        )
    except (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.Error, OSError):
        return _unavailable()
    if gate.input_error is not None:
        return _bad_input(gate.input_error)
    if not answer.found:
        return _not_found()
    return JSONResponse(answer.public(_lang(request)))


def _lang(request: Request) -> str:
    # A checkpoint's client sends neither `?lang=` nor a cookie: then the default, without parsing both.
    scope = request.scope
    if scope.get("query_string") or any(name == b"cookie" for name, _ in scope["headers"]):
        return lang_of(request)
    return "vi"


@router.post("/lookup/status", response_model=LookupOut, responses=PROBLEMS)
async def lookup_status(request: Request, gate: Annotated[Gate, Depends(require_lookup)]) -> Response:
    """Status of the person whose chip card QR text or 12-digit number is in the body: name, birth year,
    status, colour, date of last dose. Never the address, never the number."""
    return await _answer(request, gate)


# --- the hot path ---------------------------------------------------------------------------------


class FastLookup:
    """Takes `POST /api/v1/lookup/status` with a bearer token and a body of the route's exact shape
    (`{"text": "..."}`) on PostgreSQL; passes everything else, untouched, to the application. Sits inside
    the security-headers middleware, so its answers carry the same headers."""

    MAX_BODY = 4 * svc.MAX_TEXT + 64  # a longer body cannot be a valid `LookupIn`

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route = next(r for r in router.routes if getattr(r, "path", None) == PATH)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        authorization: bytes | None = None
        content_type: bytes | None = None
        for name, value in scope["headers"]:  # the first of each, as the application reads them
            if name == b"authorization" and authorization is None:
                authorization = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        scheme, _, rest = (authorization or b"").partition(b" ")
        token = rest.strip().decode("latin-1") if scheme.lower() == b"bearer" else None
        json_body = (
            content_type is None or content_type.split(b";", 1)[0].strip().lower() == b"application/json"
        )
        if token is None or not 0 < len(token) <= 200 or not json_body:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more and size <= self.MAX_BODY:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
        body = b"".join(chunks)
        read = None if more else _text_of(body)
        if read is None:
            await self.app(scope, _replay(body, more, receive), send)
            return
        scope["route"] = self.route  # what an audit event of a refusal names, as on the ordinary path
        request = Request(scope, _replay(b"", False, receive))
        try:
            response = await _bearer_lookup(request, token, *read)
        except Exception as e:  # as the application's last-resort handler: the type only, never values
            log.error("unexpected error on POST %s: %s", PATH, type(e).__name__)
            response = problem(500, "INTERNAL", "internal error")
        await response(scope, receive, send)


def _text_of(body: bytes) -> tuple[str, str | None] | None:
    """The `text` and `date_of_birth` of a body that `LookupIn` accepts, else None (the application then
    answers it)."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or "text" not in value or not set(value) <= {"text", "date_of_birth"}:
        return None
    text, born = value.get("text"), value.get("date_of_birth")
    if not isinstance(text, str) or len(text) > svc.MAX_TEXT:
        return None
    if born is not None and (not isinstance(born, str) or len(born) > 20):
        return None
    return text, born


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A `receive` that gives back the body already read, then goes on with the client's."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def _bearer_lookup(request: Request, token: str, text: str, born: str | None = None) -> Response:
    """The ordinary path's checks and answers, on one round trip for the token and the lookup."""
    rt = runtime(request)
    assert rt.pool is not None
    given, input_error = _parse(text, born)
    try:
        r = await rt.pool.fetch_one(FUSED_SQL, (given.personal_id if given else None, token_digest(token)))
    except (psycopg.Error, OSError):
        return problem(503, "HTTP", "error")  # what the ordinary path's HTTPException(503) becomes
    principal = None if r is None else _principal_of(r)
    if principal is None or Permission.LOOKUP_STATUS not in principal.permissions:
        status, code = (401, "UNAUTHENTICATED") if principal is None else (403, "FORBIDDEN")
        try:
            await _deny(request, principal, status, code)
        except (psycopg.Error, OSError):
            return _unavailable()
        return problem(status, code, "authentication required" if status == 401 else "not allowed")
    province = r[10] if principal.scope.level is not Level.COUNTRY else None
    row = None if r[11] is None else r[11:]
    return await _answer(
        request, Gate(principal, row, province, given, input_error, int(r[9]) if r[8] else None)
    )


@router.post("/lookup/status/image", response_model=LookupOut, responses=PROBLEMS)
def lookup_status_image(
    request: Request,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.LOOKUP_STATUS))],
    file: Annotated[
        UploadFile, File(description="a picture of the card's QR code or the ID notice's barcode")
    ],
    date_of_birth: Annotated[
        str | None, Form(max_length=20, description="with the notice's barcode: the birth date on the card")
    ] = None,
) -> Response:
    """The same lookup from a picture (PNG or JPEG) of the chip card's QR code, or of the ID notice's
    barcode with the birth date on the card."""
    refused = limited_sync(request, session, who)
    if refused is not None:
        return refused
    data = file.file.read(MAX_PICTURE + 1)
    try:
        if len(data) > MAX_PICTURE:
            raise LookupInputError("Ảnh quá lớn", "the picture is too large", "PICTURE_TOO_LARGE")
        given = svc.parse_picture(data, date_of_birth)
    except LookupInputError as e:
        record_invalid(session, who)
        return _bad_input(e)
    watch_sync(request, session, who, given)
    answer = svc.lookup(session, state(request).settings, who, given)
    if not answer.found:
        return _not_found()
    return JSONResponse(answer.public(lang_of(request)))


def record_invalid(session: Any, who: Principal) -> None:
    from vaxlink.services.audit import log as audit

    audit.record(
        session,
        actor=who.username,
        action=svc.ACTION,
        resource_type="citizen",
        resource_id=None,
        jurisdiction=who.scope.label,
        reason=None,
        details=svc.audit_details(False, "invalid"),
    )


def watch_sync(request: Request, session: Any, who: Principal, given: LookupInput) -> None:
    """`neighbour_alert` on the ordinary (session) path: the alert in the request's transaction."""
    from vaxlink.services.audit import log as audit

    alert = neighbour_alert(runtime(request), who, given)
    if alert is not None:
        audit.record(
            session,
            actor=alert.actor,
            action=AuditAction(alert.action),
            resource_type=alert.resource_type,
            resource_id=alert.resource_id,
            jurisdiction=alert.jurisdiction,
            reason=alert.reason,
            details=alert.details,
        )


def limited_sync(request: Request, session: Any, who: Principal) -> JSONResponse | None:
    """The rate limit on the ordinary (session) path: the refusal's event in the request's transaction."""
    from vaxlink.services.audit import log as audit

    rt = runtime(request)
    wait = (
        rt.watch.paused(who.user_id) or rt.limiter.take(who.user_id) or rt.org_limiter.take(who.scope.label)
    )
    if wait <= 0:
        return None
    if rt.limiter.first_refusal(who.user_id):
        route = request.scope.get("route")
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.LOOKUP_RATE_LIMITED,
            resource_type="route",
            resource_id=getattr(route, "path", None),
            jurisdiction=who.scope.label,
            reason="RATE_LIMITED",
            details={"client": client_address(request)},
        )
    seconds = svc.retry_after(wait)
    response = problem(
        429,
        "RATE_LIMITED",
        f"too many lookups; try again in {seconds} s",
        detail_vi=f"Tra cứu quá nhiều; thử lại sau {seconds} giây",
    )
    response.headers["retry-after"] = str(seconds)
    return response

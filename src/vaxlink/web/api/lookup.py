"""Verifier lookups: `POST /api/v1/lookup/status` (QR text or number in the body) and `.../image` (a picture).

The JSON route is the hot path of a checkpoint, so on PostgreSQL with a bearer token it skips the
request-wide ORM session: one statement on an autocommit connection resolves the token, its user and the
citizen's status together, and the audit event joins a group commit (`services.lookup.GroupAudit`).
Authentication, permission, rate limit and audit are the same as everywhere else; every other case
(session cookies, SQLite) takes the ordinary path in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from vaxlink.domain.permissions import Level, Permission, permissions_of
from vaxlink.services import lookup as svc
from vaxlink.services.auth import Principal, csrf_ok, token_digest
from vaxlink.services.lookup import AuditItem, GroupAudit, LookupInput, LookupInputError, RateLimiter
from vaxlink.storage.scope import Scope
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
MAX_PICTURE = 8 * 1024 * 1024
PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid credentials"},
    403: {"description": "not allowed"},
    404: {"description": "no citizen has this number"},
    422: {"description": "not a chip card's QR text, an ID notice's barcode or a 12-digit number"},
    429: {"description": "too many lookups; see Retry-After"},
    503: {"description": "the database cannot be reached; try again"},
}


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=svc.MAX_TEXT, description="chip card QR text or the 12-digit number")


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
FUSED_SQL = """SELECT u.id, u.username, u.display_name, u.role, u.scope_level, u.scope_units, u.scope_code,
  (u.active AND u.token_version = t.token_version AND t.revoked_at IS NULL
   AND (t.expires_at IS NULL OR t.expires_at > now())) AS usable,
  (t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 seconds') AS stale, t.id,
  vu.province_code,
  c.id, c.full_name, c.birth_year, cu.province_code,
  s.doses, s.first_dose_date, s.last_dose_date, s.complete_date, s.boosters
FROM api_token t JOIN app_user u ON u.id = t.user_id
LEFT JOIN admin_unit vu ON vu.structure = u.scope_units AND vu.level = u.scope_level AND vu.code = u.scope_code
LEFT JOIN citizen c ON c.personal_id = %(pid)s
LEFT JOIN citizen_status s ON s.citizen_id = c.id
LEFT JOIN admin_unit cu ON cu.structure = c.current_units AND cu.level = 'ward' AND cu.code = c.current_ward_code
WHERE t.token_hash = %(th)s"""


class FastPool:
    """A few autocommit psycopg connections on the event loop: no BEGIN/COMMIT around a read, statements
    prepared once. A connection that fails is dropped; the next request opens a fresh one."""

    def __init__(self, database_url: str, size: int = 8) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.size = size
        self._idle: list[Any] = []
        self._open = 0
        self._cond: asyncio.Condition | None = None

    async def _connect(self) -> Any:
        import psycopg

        return await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, prepare_threshold=0, options="-c jit=off"
        )

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        if self._cond is None:
            self._cond = asyncio.Condition()
        async with self._cond:
            while not self._idle and self._open >= self.size:
                await self._cond.wait()
            conn = self._idle.pop() if self._idle else None
            if conn is None:
                self._open += 1
        ok = False
        try:
            if conn is None:
                conn = await self._connect()
            yield conn
            ok = True
        finally:
            async with self._cond:
                if ok and conn is not None and not conn.closed:
                    self._idle.append(conn)
                else:
                    self._open -= 1
                    if conn is not None:
                        await conn.close()
                self._cond.notify()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()
        self._open -= len(idle)


@dataclass
class Runtime:
    limiter: RateLimiter
    writer: GroupAudit
    pool: FastPool | None


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.vx_lookup
    return rt


def install(app: FastAPI) -> None:
    """Give the app its lookup runtime (rate limiter, grouped audit writer, fast pool) and close them
    when the app stops."""
    st: AppState = app.state.vx
    rt = Runtime(
        limiter=RateLimiter(st.settings.lookup_rate_per_minute),
        writer=GroupAudit(st.sessions, st.audit_key, st.write_lock),
        pool=FastPool(st.settings.database_url) if st.engine.dialect.name == "postgresql" else None,
    )
    app.state.vx_lookup = rt
    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with original(a) as inner:
            try:
                yield inner
            finally:
                if rt.pool is not None:
                    await rt.pool.aclose()
                await run_in_threadpool(rt.writer.close)

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
        scope = Scope(Level(r[4]), r[5], r[6])
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


async def _deny(request: Request, principal: Principal | None, status: int, code: str) -> Denied:
    route = request.scope.get("route")
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
    """The lookup's own `require(Permission.LOOKUP_STATUS)`: the same checks (token or session, role,
    CSRF for cookies, one audit event per denial), fused with the lookup's read on the fast path."""
    given: LookupInput | None = None
    input_error: LookupInputError | None = None
    try:
        given = svc.parse_input(body.text)
    except LookupInputError as e:
        input_error = e
    pid = given.personal_id if given else None
    rt, st = runtime(request), state(request)
    auth = request.headers.get("authorization")
    scheme, _, token = (auth or "").partition(" ")
    token = token.strip()
    if rt.pool is not None and scheme.lower() == "bearer" and 0 < len(token) <= 200:
        try:
            async with rt.pool.connection() as conn:
                cur = await conn.execute(FUSED_SQL, {"pid": pid, "th": token_digest(token)})
                r = await cur.fetchone()
        except (psycopg.Error, OSError):
            raise HTTPException(503, "database unavailable") from None
        principal = None if r is None else _principal_of(r)
        if principal is None:
            raise await _deny(request, None, 401, "UNAUTHENTICATED")
        if Permission.LOOKUP_STATUS not in principal.permissions:
            raise await _deny(request, principal, 403, "FORBIDDEN")
        province = r[10] if principal.scope.level is not Level.COUNTRY else None
        row = None if r[11] is None else r[11:]
        return Gate(principal, row, province, given, input_error, int(r[9]) if r[8] else None)
    csrf = await presented_csrf(request)
    try:
        principal, denial, row, province = await run_in_threadpool(_sync_gate, request, st, pid, csrf)
    except (sa_exc.OperationalError, sa_exc.InterfaceError, OSError):
        raise HTTPException(503, "database unavailable") from None
    if denial is not None:
        raise await _deny(request, principal, 401 if principal is None else 403, denial)
    assert principal is not None
    return Gate(principal, row, province, given, input_error)


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
    wait = rt.limiter.take(who.user_id)
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
    return problem(
        404,
        "NOT_FOUND",
        "no citizen has this number",
        detail_vi="Không có công dân nào mang số này",
    )


@router.post("/lookup/status", response_model=LookupOut, responses=PROBLEMS)
async def lookup_status(request: Request, gate: Annotated[Gate, Depends(require_lookup)]) -> Response:
    """Status of the person whose chip card QR text or 12-digit number is in the body: name, birth year,
    status, colour, date of last dose. Never the address, never the number."""
    who = gate.principal
    try:
        refused = await limited(request, who)
        if refused is not None:
            return refused
        st = state(request)
        answer = svc.answer_from_row(gate.row, st.settings, gate.verifier_province, svc.today_vn())
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
    return JSONResponse(answer.public(lang_of(request)))


@router.post("/lookup/status/image", response_model=LookupOut, responses=PROBLEMS)
def lookup_status_image(
    request: Request,
    session: DB,
    who: Annotated[Principal, Depends(require(Permission.LOOKUP_STATUS))],
    file: Annotated[
        UploadFile, File(description="a picture of the card's QR code or the ID notice's barcode")
    ],
) -> Response:
    """The same lookup from a picture (PNG or JPEG) of the chip card's QR code or the ID notice's barcode."""
    refused = limited_sync(request, session, who)
    if refused is not None:
        return refused
    data = file.file.read(MAX_PICTURE + 1)
    try:
        if len(data) > MAX_PICTURE:
            raise LookupInputError("Ảnh quá lớn", "the picture is too large", "PICTURE_TOO_LARGE")
        given = svc.parse_picture(data)
    except LookupInputError as e:
        record_invalid(session, who)
        return _bad_input(e)
    answer = svc.lookup(session, state(request).settings, who, given)
    if not answer.found:
        return _not_found()
    return JSONResponse(answer.public(lang_of(request)))


def record_invalid(session: Any, who: Principal) -> None:
    from vaxlink.services import audit

    audit.record(
        session,
        who.username,
        svc.ACTION,
        "citizen",
        None,
        who.scope.label,
        None,
        svc.audit_details(False, "invalid"),
    )


def limited_sync(request: Request, session: Any, who: Principal) -> JSONResponse | None:
    """The rate limit on the ordinary (session) path: the refusal's event in the request's transaction."""
    from vaxlink.services import audit

    rt = runtime(request)
    wait = rt.limiter.take(who.user_id)
    if wait <= 0:
        return None
    if rt.limiter.first_refusal(who.user_id):
        route = request.scope.get("route")
        audit.record(
            session,
            who.username,
            "lookup_rate_limited",
            "route",
            getattr(route, "path", None),
            who.scope.label,
            "RATE_LIMITED",
            {"client": client_address(request)},
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

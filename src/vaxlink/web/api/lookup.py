"""Verifier lookups on the API: `POST /api/v1/lookup/status` (QR text or number in the body), its fast path
on PostgreSQL (`FastLookup`), and `.../image` (a picture)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vaxlink.domain.permissions import Level, Permission, permissions_of
from vaxlink.services.access.auth import TOUCH_EVERY, Principal, token_digest, usable_token
from vaxlink.services.errors import LookupInputError
from vaxlink.services.lookup import answer as svc
from vaxlink.services.lookup.counters import NeighbourWatch, RateLimiter
from vaxlink.services.lookup.group_audit import AuditItem, GroupAudit
from vaxlink.services.lookup.presented import MAX_PICTURE, MAX_TEXT, LookupInput, parse_input, parse_picture
from vaxlink.storage.scope import Scope as Jurisdiction
from vaxlink.web.api.models import problems
from vaxlink.web.errors import problem
from vaxlink.web.i18n import lang_of
from vaxlink.web.lookup_runtime import (
    FastPool,
    Runtime,
    deny,
    limited,
    limited_sync,
    record_invalid,
    runtime,
    watch_sync,
)
from vaxlink.web.params import Checking
from vaxlink.web.security import (
    DB,
    PERMISSION_ATTR,
    AppState,
    Denied,
    presented_csrf,
    refusal,
    resolve_principal,
    state,
)

router = APIRouter(prefix="/api/v1", tags=["lookup"])
PATH = "/api/v1/lookup/status"
log = logging.getLogger("vaxlink.web")


def limited_problems(described: dict[int, str], too_many: str) -> dict[int | str, dict[str, Any]]:
    """The error answers a rate-limited route documents: those described and 429 (`too many ...; see
    Retry-After`), in the order of their codes, each without the problem body's schema."""
    return problems(dict(sorted({**described, 429: f"{too_many}; see Retry-After"}.items())), typed=False)


PROBLEMS = limited_problems(
    {
        404: "no record matches what was presented (no such number, or the birth date, name or sex differ)",
        422: "not a chip card's QR text, or a 12-digit number without the birth date",
        503: "the database cannot be reached; try again",
    },
    "too many lookups",
)


class LookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_TEXT, description="chip card QR text or the 12-digit number")
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


_PG = PGDialect()  # type: ignore[no-untyped-call]  # SQLAlchemy's dialect classes are not annotated
# svc.STATUS_SQL joined to the token and its user, on the token rule every path applies
# (`auth.usable_token`): one round trip answers who asks and what they asked. Parameters: the personal id
# (NULL for unusable input), the token's digest. Rows are read by column name.
FUSED_SQL = f"""SELECT app_user.id AS user_id, app_user.username, app_user.display_name, app_user.role,
  app_user.scope_level, app_user.scope_units, app_user.scope_code,
  (api_token.last_used_at IS NULL
   OR api_token.last_used_at < now() - interval '{int(TOUCH_EVERY.total_seconds())} seconds') AS stale,
  api_token.id AS token_id, vu.province_code AS verifier_province,
  {svc.STATUS_COLUMNS}
FROM api_token JOIN app_user ON app_user.id = api_token.user_id
LEFT JOIN admin_unit vu ON vu.structure = app_user.scope_units AND vu.level = app_user.scope_level
  AND vu.code = app_user.scope_code
LEFT JOIN citizen c ON c.personal_id = %s
{svc.STATUS_JOINS}
WHERE api_token.token_hash = %s
  AND {usable_token(func.now()).compile(dialect=_PG)}"""


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
        watch=NeighbourWatch(sessions=st.sessions, key=st.audit_key, write_lock=st.write_lock),
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
    row: svc.StatusRow | None  # None when nobody has the number
    verifier_province: str | None
    given: LookupInput | None
    input_error: LookupInputError | None
    touch_token_id: int | None = None


def _principal_of(r: Any) -> Principal | None:
    """The principal of a FUSED_SQL row (None: no usable token, or a jurisdiction no longer known)."""
    if r is None:
        return None
    try:
        scope = Jurisdiction(Level(r.scope_level), r.scope_units, r.scope_code)
    except ValueError:
        return None
    return Principal(
        user_id=int(r.user_id),
        username=r.username,
        display_name=r.display_name,
        role=r.role,
        scope=scope,
        permissions=permissions_of(r.role),
        via="token",
    )


def _sync_gate(
    request: Request, st: AppState, pid: str | None, csrf: str | None
) -> tuple[Principal | None, Denied | None, Any, str | None]:
    """The ordinary path: principal by cookie or token through the ORM session, then the status row."""
    lock = st.write_lock
    if lock is not None:
        lock.acquire()
    try:
        with st.sessions() as session, session.begin():
            principal = resolve_principal(request, session)
            denied = refusal(principal, Permission.LOOKUP_STATUS, request.method, csrf)
            if denied is not None:
                return principal, denied, None, None
            assert principal is not None
            row = None if pid is None else session.execute(text(svc.STATUS_SQL), {"pid": pid}).first()
            return principal, None, row, svc.scope_province(session, principal)
    finally:
        if lock is not None:
            lock.release()


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
        raise await deny(request, principal, denial.status, denial.code)
    assert principal is not None
    return Gate(principal, row, province, given, input_error)


def _parse(text: str, birth_date: str | None = None) -> tuple[LookupInput | None, LookupInputError | None]:
    try:
        return parse_input(text, birth_date=birth_date), None
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


async def _answer(request: Request, gate: Gate) -> Response:
    """Rate limit, answer and audit event of an admitted lookup (both paths)."""
    who = gate.principal
    rt = runtime(request)
    try:
        refused = await limited(request, who)
        if refused is not None:
            return refused
        answer = svc.answer_from_row(
            gate.row, state(request).settings, gate.verifier_province, svc.today_vn(), gate.given
        )
        alert = rt.neighbour_alert(who, gate.given)
        if alert is not None:
            await rt.writer.record(alert)
        via = gate.given.via if gate.given else "invalid"
        event = svc.lookup_event(who, answer.citizen_id, answer.found, via)
        await rt.writer.record(AuditItem.of(event, touch_token_id=gate.touch_token_id))
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
    the security-headers middleware, so its answers carry the same headers.

    The JSON route is a checkpoint's hot path: no routing over every page and endpoint, no dependency
    solving, no ORM session, no worker thread. One prepared statement on an autocommit connection
    resolves the token, its user and the citizen's status together (so a revoked token, a disabled user
    or a withdrawn role is refused on the very next request), and the audit event joins a group commit
    (`services.lookup.group_audit.GroupAudit`) that the answer waits for. The token rule, the checks of
    who asks, the rate limit, the audit events and the answers' shapes are the ordinary path's, which
    takes everything else (session cookies with their CSRF token, SQLite, a malformed body) through the
    FastAPI route, so the route stays documented, declared and tested like every other
    (tests/integration/web/test_lookup_parity.py holds the two paths to the same answers)."""

    MAX_BODY = 4 * MAX_TEXT + 64  # a longer body cannot be a valid `LookupIn`

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
    if not isinstance(text, str) or len(text) > MAX_TEXT:
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
    principal = _principal_of(r)
    # A bearer token needs no CSRF token: the method's check is the ordinary path's, without effect.
    denied = refusal(principal, Permission.LOOKUP_STATUS, "POST", None)
    if denied is not None:
        try:
            await deny(request, principal, denied.status, denied.code)
        except (psycopg.Error, OSError):
            return _unavailable()
        return problem(
            denied.status, denied.code, "authentication required" if denied.status == 401 else "not allowed"
        )
    assert principal is not None
    province = r.verifier_province if principal.scope.level is not Level.COUNTRY else None
    row = None if r.citizen_id is None else r
    return await _answer(
        request, Gate(principal, row, province, given, input_error, int(r.token_id) if r.stale else None)
    )


@router.post("/lookup/status/image", response_model=LookupOut, responses=PROBLEMS)
def lookup_status_image(
    request: Request,
    session: DB,
    who: Checking,
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
        given = parse_picture(data, date_of_birth)
    except LookupInputError as e:
        record_invalid(session, who)
        return _bad_input(e)
    watch_sync(request, session, who, given)
    answer = svc.lookup(session, state(request).settings, who, given)
    if not answer.found:
        return _not_found()
    return JSONResponse(answer.public(lang_of(request)))

"""What the verifier's routes and pages share at run time: the rate limiters, the neighbour watch, the
grouped audit writer and the fast path's connection pool, and the one rate-limit decision they all take."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi import Request
from fastapi.responses import JSONResponse
from psycopg.rows import namedtuple_row
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.lookup.answer import lookup_event
from vaxlink.services.lookup.counters import NeighbourWatch, RateLimiter, retry_after
from vaxlink.services.lookup.group_audit import GroupAudit
from vaxlink.services.lookup.presented import LookupInput
from vaxlink.web.errors import problem
from vaxlink.web.security import Denied, client_address, denial_event, route_path


class FastPool:
    """A few autocommit psycopg connections on the event loop, each with one cursor kept for its life: no
    BEGIN/COMMIT around a read, the statement prepared once per connection, rows read by column name. A
    connection that fails is dropped; the next request opens a fresh one. Single-threaded (the loop's),
    so no lock is needed."""

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
        return conn, conn.cursor(row_factory=namedtuple_row)

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
        """The first row of one statement (a named tuple), or None."""
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
    watch: NeighbourWatch
    # (reason, client address) -> when its last anonymous refusal was audited
    anonymous: dict[tuple[str, str], float] = field(default_factory=dict)

    def refusal(
        self, who: Principal, route: str | None, client: str
    ) -> tuple[int, audit.Event | None] | None:
        """The one rate-limit decision of a lookup or certificate check: None when `who` may go on, else
        the seconds to wait and the refusal's audit event (once a minute per user; None otherwise). A
        verifier paused for a run of neighbouring numbers waits out the pause."""
        wait = (
            self.watch.paused(who.user_id)
            or self.limiter.take(who.user_id)
            or self.org_limiter.take(who.scope.label)
        )
        if wait <= 0:
            return None
        event = None
        if self.limiter.first_refusal(who.user_id):
            event = audit.Event(
                actor=who.username,
                action=AuditAction.LOOKUP_RATE_LIMITED,
                resource_type="route",
                resource_id=route,
                jurisdiction=who.scope.label,
                reason="RATE_LIMITED",
                details={"client": client},
            )
        return retry_after(wait), event

    def first_anonymous(self, code: str, client: str) -> bool:
        """The lookup's anonymous refusals, aggregated as `limits.first_anonymous` does on the ordinary
        path: one event a minute per address and reason (counted in this process, off the database's
        path)."""
        now = time.monotonic()
        if len(self.anonymous) > 10_000:
            self.anonymous.clear()
        if now - self.anonymous.get((code, client), -math.inf) < 60.0:
            return False
        self.anonymous[(code, client)] = now
        return True

    def neighbour_alert(self, who: Principal, given: LookupInput | None) -> audit.Event | None:
        """The audit event of a run of neighbouring numbers this lookup completes, if it does."""
        if given is None:
            return None
        run = self.watch.see(who.user_id, given.personal_id, who=(who.username, who.scope.label))
        if not run:
            return None
        return audit.Event(
            actor=who.username,
            action=AuditAction.LOOKUP_NEIGHBOUR_RUN,
            resource_type="user",
            resource_id=who.user_id,
            jurisdiction=who.scope.label,
            reason="NEIGHBOURING_NUMBERS",
            details={
                "numbers": run,
                "span": self.watch.span,
                "window_s": int(self.watch.window),
                "paused_s": int(self.watch.pause),
            },
        )


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.vx_lookup
    return rt


def too_many(seconds: int) -> JSONResponse:
    response = problem(
        429,
        "RATE_LIMITED",
        f"too many lookups; try again in {seconds} s",
        detail_vi=f"Tra cứu quá nhiều; thử lại sau {seconds} giây",
    )
    response.headers["retry-after"] = str(seconds)
    return response


async def limited(request: Request, who: Principal) -> JSONResponse | None:
    """The 429 answer when the user is over the rate, else None (its event through the group writer)."""
    rt = runtime(request)
    refused = rt.refusal(who, route_path(request), client_address(request))
    if refused is None:
        return None
    seconds, event = refused
    if event is not None:
        await rt.writer.record(event)
    return too_many(seconds)


def limited_sync(request: Request, session: Session, who: Principal) -> JSONResponse | None:
    """The rate limit on the ordinary (session) path: the refusal's event in the request's transaction."""
    refused = runtime(request).refusal(who, route_path(request), client_address(request))
    if refused is None:
        return None
    seconds, event = refused
    if event is not None:
        audit.record_event(session, event)
    return too_many(seconds)


async def deny(request: Request, principal: Principal | None, status: int, code: str) -> Denied:
    """A refusal of the lookup's own paths, audited as `web.security` audits every other (an anonymous
    client's, once a minute per address and reason) through the group writer."""
    rt = runtime(request)
    if principal is not None or rt.first_anonymous(code, client_address(request)):
        await rt.writer.record(denial_event(request, principal, status, code))
    return Denied(status, code)


def record_invalid(session: Session, who: Principal) -> None:
    """The audit event of a lookup whose input could not be read."""
    audit.record_event(session, lookup_event(who, None, False, "invalid"))


def watch_sync(request: Request, session: Session, who: Principal, given: LookupInput) -> None:
    """`Runtime.neighbour_alert` on the ordinary (session) path: the alert in the request's transaction."""
    alert = runtime(request).neighbour_alert(who, given)
    if alert is not None:
        audit.record_event(session, alert)

"""The lookups' audit events appended in groups (group commit), on the event loop or a writer thread; the
chain's rules are `services.audit.log.chain_rows`'."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import queue
import threading
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from vaxlink.services.audit import log as audit
from vaxlink.storage.models import ApiToken, utcnow


@dataclass(frozen=True, slots=True)
class AuditItem(audit.Event):
    """An event for the group writer; with `touch_token_id`, the group also marks that bearer token used."""

    touch_token_id: int | None = None

    @classmethod
    def of(cls, event: audit.Event, touch_token_id: int | None = None) -> AuditItem:
        """The event as it is, with the token to mark used."""
        same = {f.name: getattr(event, f.name) for f in fields(audit.Event)}
        return cls(**same, touch_token_id=touch_token_id)


@dataclass
class _Job:
    item: audit.Event
    done: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future)


def _payload(prev: str, key: bytes, items: list[audit.Event]) -> tuple[str, str]:
    """The rows as the JSON parameter of `_INSERT_SQL`, and the hash of the last one."""
    rows = audit.chain_rows(prev, key, items)
    for r in rows:
        r["at"] = r["at"].isoformat()
    return json.dumps(rows), rows[-1]["hash"]


def _touched(items: list[audit.Event]) -> list[int]:
    """The bearer tokens a group marks used."""
    return sorted(
        {i.touch_token_id for i in items if isinstance(i, AuditItem) and i.touch_token_id is not None}
    )


# The grouped append on the event loop (PostgreSQL). The whole group travels as one JSON parameter: one
# statement whatever the group's size, and json.dumps in C rather than an adapter per value;
# json_to_recordset yields the rows in array order, so ids follow the chain.
_INSERT_SQL = """INSERT INTO audit_event (at, actor, action, resource_type, resource_id, jurisdiction, reason,
  details, prev_hash, hash, mac)
SELECT at, actor, action, resource_type, resource_id, jurisdiction, reason, details, prev_hash, hash, mac
FROM json_to_recordset(%s::json) AS r(at timestamptz, actor text, action text, resource_type text,
  resource_id text, jurisdiction text, reason text, details json, prev_hash text, hash text, mac text)"""
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"
_HEAD_SQL = "SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1"
_TOUCH_SQL = "UPDATE api_token SET last_used_at = now() WHERE id = ANY(%s::bigint[])"
# The usual case, in one round trip: the rows were chained onto the head this writer appended last, and
# are inserted only if that is still the head once the lock is held (each statement of the string reads
# a fresh snapshot, so the check sees every append committed before the lock was granted). When someone
# else appended in between, nothing is inserted and the group is chained again onto the real head.
_CHECKED_SQL = (
    f"BEGIN; {_LOCK_SQL}; {_INSERT_SQL}\nWHERE (SELECT hash FROM audit_event ORDER BY id DESC LIMIT 1) = %s"
)


class GroupAudit:
    """Appends audit events in groups (group commit): one transaction, one turn on the chain's lock and
    one fsync for every event that arrived while the previous group was being written. A caller waits
    for its group's commit (synchronous_commit stays on), so no lookup is answered before its event is
    durable; the group grows with the load by itself, with no timer to wait for when the load is light.

    With `conninfo` (PostgreSQL) `record` writes on the event loop over a connection of its own: no
    thread, so the request handlers never wait for the interpreter lock behind an audit writer. `submit`
    (and `record` on SQLite) hands events to a writer thread through the ORM session, for callers that
    are not on the loop. Both append to the same chain under the same lock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        key: bytes,
        lock: threading.Lock | None = None,
        max_group: int = 500,
        conninfo: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.key = key
        self.lock = lock
        self.max_group = max_group
        self.conninfo = conninfo
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._pending: list[tuple[audit.Event, asyncio.Future[None]]] = []
        self._rounds_task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._head: str | None = None  # hash of the last event this writer appended
        self.groups = 0
        self.events = 0

    # --- on the event loop (PostgreSQL) ---------------------------------------------------------

    async def record(self, item: audit.Event) -> None:
        """Append one event; returns once the group holding it is committed."""
        if self.conninfo is None:
            await asyncio.wrap_future(self.submit(item))
            return
        loop = asyncio.get_running_loop()
        task = self._rounds_task
        if task is not None and task.get_loop() is not loop:
            # A new event loop (a test client's): what waited on the old one has nobody to answer.
            self._pending, self._conn, task = [], None, None
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((item, done))
        if task is None or task.done():
            self._rounds_task = loop.create_task(self._rounds())
        await done

    async def _rounds(self) -> None:
        while self._pending:
            group = self._pending[: self.max_group]
            del self._pending[: self.max_group]
            try:
                await self._write_async([item for item, _ in group])
            except BaseException as e:  # every waiting request learns that its event was not stored
                for _, done in group:
                    if not done.done():
                        done.set_exception(e if isinstance(e, Exception) else RuntimeError("stopped"))
                if not isinstance(e, Exception):
                    raise
                continue
            self.groups += 1
            self.events += len(group)
            for _, done in group:
                if not done.done():
                    done.set_result(None)

    async def _write_async(self, items: list[audit.Event]) -> None:
        import psycopg

        conn = self._conn
        if conn is None or conn.closed:
            assert self.conninfo is not None
            # synchronous_commit on whatever the server's default: a lookup is answered only once its
            # event is on disk.
            conn = await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True, prepare_threshold=0, options="-c synchronous_commit=on"
            )
            self._conn, self._head = conn, None
        touched = _touched(items)
        try:
            if self._head is not None and await self._append_checked(conn, items, touched):
                return
            async with conn.pipeline() as pipeline:
                await conn.execute("BEGIN")
                await conn.execute(_LOCK_SQL, (audit.CHAIN_LOCK,))
                head = await conn.execute(_HEAD_SQL)
                await pipeline.sync()
                row = await head.fetchone()
                payload, last = _payload(row[0] if row else audit.GENESIS, self.key, items)
                await conn.execute(_INSERT_SQL, (payload,))
                if touched:
                    await conn.execute(_TOUCH_SQL, (touched,))
                await conn.execute("COMMIT")
            self._head = last
        except BaseException:
            # A failed group leaves no half-open transaction behind: the connection goes, the next
            # group opens a fresh one and reads the head again.
            self._conn, self._head = None, None
            with contextlib.suppress(Exception):
                await conn.close()
            raise

    async def _append_checked(self, conn: Any, items: list[audit.Event], touched: list[int]) -> bool:
        """Append onto the head this writer left, in one round trip; False when the head has moved."""
        import psycopg

        assert self._head is not None
        payload, last = _payload(self._head, self.key, items)
        sql, params = _CHECKED_SQL, [audit.CHAIN_LOCK, payload, self._head]
        if touched:
            sql, params = f"{sql}; {_TOUCH_SQL}", [*params, touched]
        # Client-side binding (the driver quotes the values) lets the statements travel as one message.
        cur = psycopg.AsyncClientCursor(conn)
        await cur.execute(f"{sql}; COMMIT", params)
        inserted = 0
        while True:
            if (cur.statusmessage or "").startswith("INSERT"):
                inserted = cur.rowcount
            if not cur.nextset():
                break
        if inserted == len(items):
            self._head = last
            return True
        self._head = None
        return False

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    # --- in a thread (SQLite, and callers off the loop) -------------------------------------------

    def _ensure_started(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="vaxlink-audit", daemon=True)
                    self._thread.start()

    def submit(self, item: audit.Event) -> concurrent.futures.Future[None]:
        self._ensure_started()
        job = _Job(item)
        self._queue.put(job)
        return job.done

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            stop = False
            while len(jobs) < self.max_group:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
            self._write(jobs)
            if stop:
                return

    def _write(self, jobs: list[_Job]) -> None:
        if self.lock is not None:
            self.lock.acquire()
        try:
            with self.sessions() as session, session.begin():
                audit.bind_key(session, self.key)
                touched = _touched([j.item for j in jobs])
                if touched:
                    session.execute(
                        update(ApiToken).where(ApiToken.id.in_(touched)).values(last_used_at=utcnow())
                    )
                audit.append_group(session, self.key, [j.item for j in jobs])
        except BaseException as e:  # every waiting request learns that its event was not stored
            for j in jobs:
                if not j.done.done():
                    j.done.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        finally:
            if self.lock is not None:
                self.lock.release()
        self.groups += 1
        self.events += len(jobs)
        for j in jobs:
            if not j.done.done():
                j.done.set_result(None)

"""Counters shared by every server process and host: fixed windows in the `rate_counter` table, one upsert
per hit. Rate limits, sign-in throttles and the once-a-window audit of refusals all count here, so that
`vaxlink serve --workers N` (or a second host) does not multiply any limit by N.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vaxlink.storage.models import RateCounter


def window_of(window_seconds: int, now: float | None = None) -> int:
    t = time.time() if now is None else now
    return int(t // window_seconds) * window_seconds


def add(session: Session, bucket: str, window_start: int, count: int) -> int:
    """Add `count` hits to `bucket`'s window; its total so far (every process's)."""
    make: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = make(RateCounter).values(bucket=bucket[:200], window_start=window_start, hits=count)
    stmt = stmt.on_conflict_do_update(
        index_elements=["bucket", "window_start"], set_={"hits": RateCounter.hits + count}
    ).returning(RateCounter.hits)
    return int(session.execute(stmt).scalar_one())


# Rows of one `add_many` statement: three parameters each, well within SQLite's bound on a statement's.
ADD_MANY_ROWS = 1000


def add_many(session: Session, counts: dict[str, int], window_start: int) -> dict[str, int]:
    """`add` for many buckets of one window in a statement per thousand: each bucket's total so far. The
    same totals as one `add` per bucket in turn (a bucket appears once: its hits are added up first)."""
    make: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    items = [(bucket[:200], int(n)) for bucket, n in counts.items()]
    if len({b for b, _ in items}) != len(items):
        raise ValueError("buckets that are the same once cut to 200 characters")
    totals: dict[str, int] = {}
    for i in range(0, len(items), ADD_MANY_ROWS):
        rows = [
            {"bucket": b, "window_start": window_start, "hits": n} for b, n in items[i : i + ADD_MANY_ROWS]
        ]
        stmt = make(RateCounter).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["bucket", "window_start"], set_={"hits": RateCounter.hits + stmt.excluded.hits}
        ).returning(RateCounter.bucket, RateCounter.hits)
        totals.update((str(b), int(h)) for b, h in session.execute(stmt))
    return totals


def hit(session: Session, bucket: str, window_seconds: int, now: float | None = None) -> int:
    """Count one hit of `bucket` in the current window; the window's hits so far, this one included."""
    return add(session, bucket, window_of(window_seconds, now), 1)


def hits(session: Session, bucket: str, window_seconds: int, now: float | None = None) -> int:
    """The current window's hits of `bucket`, without counting one."""
    start = window_of(window_seconds, now)
    found = session.scalar(
        select(RateCounter.hits).where(RateCounter.bucket == bucket[:200], RateCounter.window_start == start)
    )
    return int(found or 0)


def retry_after(window_seconds: int, now: float | None = None) -> int:
    """Seconds until the current window ends."""
    t = time.time() if now is None else now
    return max(1, int(window_of(window_seconds, t) + window_seconds - t) + 1)


def first_in_window(session: Session, bucket: str, window_seconds: int) -> bool:
    """True for the first call in a window: a refusal repeated by a flooding client is audited once."""
    return hit(session, "once:" + bucket, window_seconds) == 1


def prune(session: Session, older_than_seconds: int = 86_400) -> int:
    """Drop windows long over (the counters' table stays small)."""
    cutoff = int(time.time()) - older_than_seconds
    result = session.execute(delete(RateCounter).where(RateCounter.window_start < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


# Anonymous clients' refusals are aggregated: one audit event a minute per address, route and reason, and at
# most this many a minute from every address together; the counts stay in `rate_counter`.
ANONYMOUS_EVENTS_PER_MINUTE = 100


def first_anonymous(session: Session, action: str, route: str | None, code: str | None, client: str) -> bool:
    """Whether an anonymous client's refusal leaves its event: the first of the minute for its address,
    route and reason (and within the minute's cap for everyone). Anyone on the network can send requests
    by the million; each must not add a row to the chain, which is kept for ever. The refusals not
    recorded are counted (`rate_counter`, buckets `anon:...`), so the minute's volume is still known."""
    key = f"anon:{action}:{code}:{(route or '')[:80]}:{client[:64]}"
    if hit(session, key, 60) > 1:
        return False
    return hit(session, f"anon:{action}:all", 60) <= ANONYMOUS_EVENTS_PER_MINUTE

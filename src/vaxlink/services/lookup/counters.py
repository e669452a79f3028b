"""The lookup's counters shared by every server process and host: the rate limit per verifier and per
organisation, and the watch for runs of neighbouring numbers."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import threading
import time
from collections import deque
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.access import limits as store
from vaxlink.services.audit import log as audit
from vaxlink.storage.models import RateCounter


class _SharedCounts:
    """A process's counts sent to the database's `rate_counter` and read back by a background thread every
    `sync_seconds`, once there are `sessions` (without them everything stays in this process). Subclasses
    keep `sessions`, `sync_seconds`, `_lock`, `_thread` and `_stop`, and say what one `sync` does."""

    THREAD_NAME = "shared-counts"
    sessions: sessionmaker[Session] | None
    sync_seconds: float
    _lock: threading.Lock
    _thread: threading.Thread | None
    _stop: threading.Event

    def sync(self) -> object:
        raise NotImplementedError

    def _ensure_thread(self) -> None:
        if self.sessions is None or self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self.THREAD_NAME, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.sync_seconds):
            with contextlib.suppress(Exception):  # the database away: the counts stay local until it is back
                self.sync()

    def close(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self.sync()


class RateLimiter(_SharedCounts):
    """`per_minute` lookups per user over a sliding minute, counted across every server process and host.

    Each process counts locally and a background thread adds its counts into the database's
    `rate_counter` every `sync_seconds` (one upsert per active user), reading back the total of every
    process; a lookup is refused when the total seen plus this process's unsent count reaches the limit.
    The hot path never waits on the database; all processes together can overshoot by at most what they
    admit within one sync interval. Without `sessions` (a single process, the tests of the rule) the
    count stays in memory. The minute is sliding by the usual estimate: the previous fixed minute's count,
    weighted by how much of it still lies within the last 60 s, plus the current minute's."""

    THREAD_NAME = "rate-sync"
    WINDOW = 60

    def __init__(
        self,
        per_minute: int,
        sessions: sessionmaker[Session] | None = None,
        sync_seconds: float = 0.5,
        prefix: str = "lookup:user",
        write_lock: threading.Lock | None = None,
    ) -> None:
        self.limit = max(per_minute, 1)
        self.sessions = sessions
        self.sync_seconds = sync_seconds
        self.prefix = prefix
        self.write_lock = write_lock  # SQLite's one writer: taken as requests take it
        # key -> [window start, total seen in the database, unsent, previous window's total]
        self._state: dict[Any, list[float]] = {}
        self._reported: dict[Any, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _entry(self, key: Any, now: float) -> list[float]:
        start = float(int(now // self.WINDOW) * self.WINDOW)
        e = self._state.get(key)
        if e is None:
            e = self._state[key] = [start, 0.0, 0.0, 0.0]
        elif e[0] != start:
            previous = e[1] + e[2] if start - e[0] == self.WINDOW else 0.0
            e[:] = [start, 0.0, 0.0, previous]
        return e

    def take(self, user_id: Any, now: float | None = None) -> float:
        """0 when the user may look up now, else the seconds to wait."""
        t = time.time() if now is None else now
        with self._lock:
            e = self._entry(user_id, t)
            elapsed = (t - e[0]) / self.WINDOW
            used = e[3] * (1.0 - elapsed) + e[1] + e[2]
            if used + 1 > self.limit:
                return max(1.0, e[0] + self.WINDOW - t)
            e[2] += 1
            if len(self._state) > 200_000:  # bound memory: drop what is over
                self._state = {k: v for k, v in self._state.items() if v[0] == e[0]}
        self._ensure_thread()
        return 0.0

    def first_refusal(self, user_id: Any) -> bool:
        """True once a minute per user: a client hammering the limit leaves one audit event a minute,
        not one per refused request."""
        now = time.monotonic()
        with self._lock:
            if now - self._reported.get(user_id, -math.inf) < 60.0:
                return False
            self._reported[user_id] = now
            return True

    def sync(self) -> None:
        """Send this process's counts and read back every process's totals."""
        if self.sessions is None:
            return
        with self._lock:
            pending = [(k, e[0], e[2]) for k, e in self._state.items() if e[2] > 0]
        if not pending:
            return
        guard: Any = self.write_lock if self.write_lock is not None else contextlib.nullcontext()
        with guard, self.sessions() as s, s.begin():
            totals = [
                (k, start, n, store.add(s, f"{self.prefix}:{k}", int(start), int(n)))
                for k, start, n in pending
            ]
        with self._lock:
            for k, start, n, total in totals:
                e = self._state.get(k)
                if e is not None and e[0] == start:
                    e[2] -= n
                    e[1] = float(total)


class NeighbourWatch(_SharedCounts):
    """Runs of neighbouring numbers: a verifier who, within `window` seconds, looks up `run` distinct
    numbers lying within `span` of each other is walking the register, not checking the people in front
    of them (ID numbers of a checkpoint's visitors are scattered over provinces, birth years and serials).
    The run raises one alert (audited) and pauses the verifier's lookups for `pause` seconds.

    Each process watches its own lookups in memory (the alert then comes with the lookup that completes the
    run, and the caller audits it). With `sessions`, a background thread also adds them, every
    `sync_seconds`, to counters in the database's `rate_counter` shared by every process and host (as the
    rate limits are): per verifier and window, each distinct number once and the numbers per block of
    `span`; a run spread over processes is one when the blocks around a number (the number's, and one each
    side) hold `run` numbers in the window and the one before, and the thread that finds it audits the
    alert and pauses the verifier everywhere (a `paused` row every process reads back on its next sync).
    Numbers and blocks are stored as keyed digests (`key`), never as numbers; the numbers are kept in
    memory for the window only."""

    PREFIX = "lookup:near"
    THREAD_NAME = "neighbour-sync"

    def __init__(
        self,
        window: float = 600.0,
        span: int = 1000,
        run: int = 8,
        pause: float = 900.0,
        sessions: sessionmaker[Session] | None = None,
        key: bytes = b"",
        write_lock: threading.Lock | None = None,
        sync_seconds: float = 0.5,
    ) -> None:
        self.window, self.span, self.run, self.pause = window, span, run, pause
        self.sessions, self.key, self.write_lock, self.sync_seconds = sessions, key, write_lock, sync_seconds
        self._seen: dict[Any, deque[tuple[float, int]]] = {}
        # The same lookups by block of `span` (block -> number -> lookups of it in the window): a run is
        # looked for in three blocks, not in every lookup of the window.
        self._blocks: dict[Any, dict[int, dict[int, int]]] = {}
        self._paused: dict[Any, float] = {}
        # (user, (username, jurisdiction), number) not yet added to the shared counters
        self._pending: list[tuple[Any, tuple[str, str | None], int]] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._tidied = 0

    def paused(self, user_id: Any, now: float | None = None) -> float:
        """Seconds the user's lookups stay paused (0: not paused)."""
        t = time.time() if now is None else now
        with self._lock:
            return max(0.0, self._paused.get(user_id, 0.0) - t)

    def see(
        self,
        user_id: Any,
        personal_id: str,
        now: float | None = None,
        who: tuple[str, str | None] | None = None,
    ) -> int:
        """Note a lookup; returns the length of the run it completes in this process (0: no alert here).
        `who` (user name, jurisdiction) names the verifier in an alert the shared counters raise."""
        t = time.time() if now is None else now
        number = int(personal_id)
        with self._lock:
            if self.sessions is not None and len(self._pending) < 100_000:
                self._pending.append((user_id, who or (str(user_id), None), number))
            seen = self._seen.setdefault(user_id, deque())
            blocks = self._blocks.setdefault(user_id, {})
            while seen and (seen[0][0] < t - self.window or len(seen) >= 10_000):
                self._forget(blocks, seen.popleft()[1])
            seen.append((t, number))
            block = blocks.setdefault(number // self.span, {})
            block[number] = block.get(number, 0) + 1
            near = {
                n
                for b in range(number // self.span - 1, number // self.span + 2)
                for n in blocks.get(b, ())
                if abs(n - number) <= self.span
            }
            if len(near) < self.run or self._paused.get(user_id, 0.0) > t:
                run = 0
            else:
                self._paused[user_id] = t + self.pause
                if len(self._seen) > 100_000:  # bound memory: forget the quiet
                    self._seen = {k: v for k, v in self._seen.items() if v and v[-1][0] >= t - self.window}
                    self._blocks = {k: v for k, v in self._blocks.items() if k in self._seen}
                run = len(near)
        self._ensure_thread()
        return run

    def _forget(self, blocks: dict[int, dict[int, int]], number: int) -> None:
        """One lookup of `number` out of the window."""
        block = blocks[number // self.span]
        block[number] -= 1
        if not block[number]:
            del block[number]
            if not block:
                del blocks[number // self.span]

    def _digest(self, kind: str, value: int) -> str:
        return hmac.new(self.key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:20]

    def sync(self, now: float | None = None) -> int:
        """Add this process's lookups to the shared counters, raise the alert of a run they complete, and
        read back every pause; returns the alerts raised here."""
        if self.sessions is None:
            return 0
        t = time.time() if now is None else now
        with self._lock:
            pending, self._pending = self._pending, []
            # Verifiers who looked up something here within the window: their pauses are read back.
            active = any(v and v[-1][0] >= t - self.window for v in self._seen.values())
            local = {u: until for u, until in self._paused.items() if until > t}
        if not pending and not active:
            return 0
        window = max(int(self.window), 1)
        current = store.window_of(window, t)
        tidy = bool(pending) and current != self._tidied
        if tidy:
            self._tidied = current
        alerts = 0
        # Reading the pauses back writes nothing: SQLite's writer is taken only with something to add.
        guard: Any = self.write_lock if self.write_lock is not None and pending else contextlib.nullcontext()
        with guard, self.sessions() as s, s.begin():
            audit.bind_key(s, self.key)
            if tidy:  # once a window: the counters of windows no run can reach any more
                s.execute(
                    delete(RateCounter).where(
                        RateCounter.bucket.like(f"{self.PREFIX}:%"),
                        RateCounter.window_start < current - window,
                        RateCounter.window_start < int(t),
                    )
                )
            blocks, names = self._add_counts(s, pending, current)
            pauses = self._pauses(s, t)
            for user, near_blocks in blocks.items():
                if local.get(user, 0.0) > t or pauses.get(str(user), 0.0) > t:
                    if str(user) not in pauses:  # a run seen here alone: the other processes learn it
                        store.add(s, f"{self.PREFIX}:paused:{user}", int(local[user]), 1)
                        store.hit(s, f"once:{self.PREFIX}:alert:{user}", int(self.pause), t)
                    continue
                best = self._best_run(s, user, near_blocks, current, window)
                if best < self.run or not store.first_in_window(
                    s, f"{self.PREFIX}:alert:{user}", int(self.pause)
                ):
                    continue
                pauses[str(user)] = self._alert(s, user, names[user], best, t)
                alerts += 1
        with self._lock:
            for user in list(self._seen) + list(self._paused):
                until = pauses.get(str(user), 0.0)
                if until > self._paused.get(user, 0.0):
                    self._paused[user] = until
        return alerts

    def _add_counts(
        self, s: Session, pending: list[tuple[Any, tuple[str, str | None], int]], current: int
    ) -> tuple[dict[Any, set[int]], dict[Any, tuple[str, str | None]]]:
        """Add the pending lookups to the shared counters: each distinct number once per window, and the
        numbers per block. Returns the blocks each verifier looked up in, and the verifiers' names."""
        blocks: dict[Any, set[int]] = {}
        names: dict[Any, tuple[str, str | None]] = {}
        numbers: dict[str, tuple[int, str]] = {}  # a number's bucket -> (lookups of it, its block's)
        for user, who, number in pending:
            names[user] = who
            blocks.setdefault(user, set()).add(number // self.span)
            n_key = f"{self.PREFIX}:n:{user}:{self._digest('n', number)}"
            seen_here = numbers.get(n_key, (0, ""))[0]
            numbers[n_key] = (
                seen_here + 1,
                f"{self.PREFIX}:b:{user}:{self._digest('b', number // self.span)}",
            )
        # Each number counts once in its block: when the window held none of it before these lookups.
        totals = store.add_many(s, {k: n for k, (n, _) in numbers.items()}, current)
        firsts: dict[str, int] = {}
        for k, (n, b_key) in numbers.items():
            if totals[k] == n:
                firsts[b_key] = firsts.get(b_key, 0) + 1
        store.add_many(s, firsts, current)
        return blocks, names

    def _pauses(self, s: Session, t: float) -> dict[str, float]:
        """Every verifier's pause still running, by user id (as text), as the shared counters hold them."""
        pauses: dict[str, float] = {}
        for row in s.execute(
            select(RateCounter.bucket, RateCounter.window_start).where(
                RateCounter.bucket.like(f"{self.PREFIX}:paused:%"), RateCounter.window_start > int(t)
            )
        ):
            user_key = row.bucket.rsplit(":", 1)[1]
            pauses[user_key] = max(pauses.get(user_key, 0.0), float(row.window_start))
        return pauses

    def _best_run(self, s: Session, user: Any, near_blocks: set[int], current: int, window: int) -> int:
        """The most numbers the blocks around any block looked up in hold, this window and the last."""
        # The blocks around each number looked up, read in one statement (this window and the last).
        around = {
            b: [f"{self.PREFIX}:b:{user}:{self._digest('b', b + d)}" for d in (-1, 0, 1)] for b in near_blocks
        }
        held: dict[str, int] = {}
        wanted = sorted({k for keys in around.values() for k in keys})
        for i in range(0, len(wanted), store.ADD_MANY_ROWS):
            for bucket, hits in s.execute(
                select(RateCounter.bucket, func.sum(RateCounter.hits))
                .where(
                    RateCounter.bucket.in_(wanted[i : i + store.ADD_MANY_ROWS]),
                    RateCounter.window_start.in_([current, current - window]),
                )
                .group_by(RateCounter.bucket)
            ):
                held[str(bucket)] = int(hits or 0)
        return max((sum(held.get(k, 0) for k in keys) for keys in around.values()), default=0)

    def _alert(self, s: Session, user: Any, who: tuple[str, str | None], best: int, t: float) -> float:
        """Pause the verifier everywhere and audit the alert of a run spread over processes; the pause's
        end."""
        until = t + self.pause
        store.add(s, f"{self.PREFIX}:paused:{user}", int(until), 1)
        username, jurisdiction = who
        audit.record(
            s,
            actor=username,
            action=AuditAction.LOOKUP_NEIGHBOUR_RUN,
            resource_type="user",
            resource_id=user,
            jurisdiction=jurisdiction,
            reason="NEIGHBOURING_NUMBERS",
            details={
                "numbers": best,
                "span": self.span,
                "window_s": int(self.window),
                "paused_s": int(self.pause),
                "processes": "shared",
            },
        )
        return until


def retry_after(wait: float) -> int:
    return max(1, math.ceil(wait))

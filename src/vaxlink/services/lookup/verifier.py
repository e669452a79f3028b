"""A verifier's status lookup: what the holder presents in (the chip card's QR text or a picture of it,
whose name, birth date and sex must agree with the register; or the 12-digit number, typed or from the ID
notice's barcode, with the birth date on the card); the minimum out (name, birth year, status, colour,
date of last dose). "No record" and "does not match" are one answer, so that a number alone tells
nothing; a verifier whose lookups run through neighbouring numbers is paused and an alert audited
(`NeighbourWatch`).

No address and no number ever leave here, and the audit event of a lookup holds ids only. Lookups are
rate-limited per user; the web layer's fast path shares the SQL and the answer's shape with the page's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import math
import queue
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from vaxlink.credentials import codes
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.chip_qr import parse_chip_qr
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.permissions import Level
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.domain.status import Colour, ColourRules, StatusLevel, VaccinationStatus
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import LookupInputError
from vaxlink.settings import Settings
from vaxlink.storage.models import ApiToken, AuditEvent, utcnow

ACTION = AuditAction.STATUS_LOOKUP
MAX_TEXT = 1000

STATUS_WORDS: dict[str, tuple[str, str]] = {
    StatusLevel.NONE: ("Chưa tiêm", "Not vaccinated"),
    StatusLevel.PARTIAL: ("Chưa đủ liều cơ bản", "Primary series not complete"),
    StatusLevel.COMPLETE: ("Đủ liều cơ bản", "Primary series complete"),
    StatusLevel.BOOSTER: ("Đã tiêm nhắc lại", "Booster received"),
}
COLOUR_WORDS: dict[str, tuple[str, str]] = {
    Colour.GREEN: ("Xanh", "Green"),
    Colour.YELLOW: ("Vàng", "Yellow"),
    Colour.RED: ("Đỏ", "Red"),
}


@dataclass(frozen=True, slots=True)
class LookupInput:
    personal_id: str
    via: str  # qr | number | image
    # What the holder presented beside the number, to agree with the register.
    born: PartialDate | None = None
    full_name: str | None = None
    sex: str | None = None


def _birth_date(raw: str | None) -> PartialDate:
    d = parse_date((raw or "").strip()[:20]) if raw and raw.strip() else None
    if not isinstance(d, PartialDate):
        raise LookupInputError(
            "Hãy nhập cả ngày sinh ghi trên thẻ (ngày/tháng/năm)",
            "give the birth date on the card too (day/month/year)",
            "BIRTH_DATE_NEEDED",
        )
    return d


def parse_input(raw: str, *, via_image: bool = False, birth_date: str | None = None) -> LookupInput:
    """What the holder presents: a chip card's QR text (its own name, birth date and sex), or a
    typed/scanned number (a barcode scanner types the ID notice's Code 128 as digits) with the birth date
    on the card. Raises LookupInputError, whose words never echo the input."""
    body = (raw or "").replace("\ufeff", "").strip()
    if len(body) > MAX_TEXT:
        raise LookupInputError("Nội dung quá dài", "the input is too long")
    if "|" in body:
        card = parse_chip_qr(body)
        if isinstance(card, Problem):
            raise LookupInputError(card.message_vi, card.message_en, card.code)
        return LookupInput(
            card.personal_id,
            "image" if via_image else "qr",
            born=card.date_of_birth,
            full_name=card.full_name,
            sex=card.sex.value,
        )
    digits = strip_separators(body)
    if len(digits) == 12 and digits.isascii() and digits.isdigit():
        return LookupInput(digits, "image" if via_image else "number", born=_birth_date(birth_date))
    raise LookupInputError(
        "Hãy quét mã QR trên thẻ CCCD, mã vạch trên giấy thông báo số định danh, hoặc nhập số định danh 12 chữ số",
        "scan the chip card's QR code or the ID notice's barcode, or type the 12-digit number",
    )


def parse_picture(data: bytes, birth_date: str | None = None) -> LookupInput:
    """A picture of the card's QR code, or of the ID notice's barcode (with the birth date on the card)."""
    try:
        read = codes.read_code(data)
    except codes.ImageError as e:
        vi, _, en = str(e).partition(" / ")
        raise LookupInputError(vi, en or vi, "BAD_PICTURE") from None
    return parse_input(read.text, via_image=True, birth_date=birth_date)


# --- the answer ---------------------------------------------------------------------------------

# Citizen, status and the province the citizen lives in, by personal id: one indexed row.
STATUS_SQL = """SELECT c.id, c.full_name, c.birth_year, cu.province_code,
  s.doses, s.first_dose_date, s.last_dose_date, s.complete_date, s.boosters,
  c.birth_date, c.birth_precision, c.sex
FROM citizen c
LEFT JOIN citizen_status s ON s.citizen_id = c.id
LEFT JOIN admin_unit cu ON cu.structure = c.current_units AND cu.level = 'ward' AND cu.code = c.current_ward_code
WHERE c.personal_id = :pid"""


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    found: bool
    citizen_id: int | None = None  # for the audit event; never shown
    name: str | None = None
    birth_year: int | None = None
    status: str | None = None
    colour: str | None = None
    last_dose_date: date | None = None

    def public(self, lang: str = "vi") -> dict[str, Any]:
        """What a verifier may see."""
        i = 1 if lang == "en" else 0
        return {
            "found": self.found,
            "name": self.name,
            "birth_year": self.birth_year,
            "status": self.status,
            "status_text": STATUS_WORDS[self.status][i] if self.status else None,
            "colour": self.colour,
            "colour_text": COLOUR_WORDS[self.colour][i] if self.colour else None,
            "last_dose_date": self.last_dose_date.isoformat() if self.last_dose_date else None,
        }


@lru_cache(maxsize=8)
def colour_rules(config: str) -> ColourRules:
    return ColourRules.from_json(config)


def _d(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _folded(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def agrees(given: LookupInput | None, row: Any) -> bool:
    """Whether what the holder presented agrees with the register's entry (a STATUS_SQL row): the birth
    date to the precision the register knows it, and for a card's QR also the name and sex."""
    if given is None or given.born is None:
        return False
    name, birth_year = row[1], row[2]
    birth, precision, sex = _d(row[9]), row[10] or "day", row[11]
    born = given.born
    if birth_year is not None and born.year != int(birth_year):
        return False
    # What the register knows to the month or the day must be presented to the month or the day.
    if birth is not None and precision in ("day", "month"):
        day_differs = precision == "day" and born.day != birth.day
        if born.month != birth.month or day_differs:
            return False
    if given.full_name is not None and _folded(given.full_name) != _folded(str(name)):
        return False
    return not (given.sex is not None and sex and given.sex != sex)


def answer_from_row(
    row: Any,
    settings: Settings,
    verifier_province: str | None,
    today: date,
    given: LookupInput | None = None,
) -> LookupAnswer:
    """The answer from a STATUS_SQL row (None: nobody has that number). A number whose entry does not agree
    with what the holder presented is answered as if nobody had it. The colour follows the rule of the
    province where the check happens (the verifier's), else the citizen's."""
    if row is None or row[0] is None or not agrees(given, row):
        return LookupAnswer(found=False)
    citizen_id, name, birth_year, province, doses, first, last, complete, boosters = row[:9]
    status = VaccinationStatus(
        doses=int(doses or 0),
        first_dose_date=_d(first),
        last_dose_date=_d(last),
        complete_date=_d(complete),
        boosters=int(boosters or 0),
    )
    rule = colour_rules(settings.colour_rules).for_province(verifier_province or province)
    return LookupAnswer(
        found=True,
        citizen_id=int(citizen_id),
        name=str(name),
        birth_year=int(birth_year),
        status=status.level.value,
        colour=rule.colour(status, today).value,
        last_dose_date=status.last_dose_date,
    )


_scope_provinces: dict[str, str | None] = {}


def scope_province(session: Session, who: Principal) -> str | None:
    """The province a user's jurisdiction lies in (None for the whole country); reference data, cached."""
    scope = who.scope
    if scope.level is Level.COUNTRY:
        return None
    if scope.label not in _scope_provinces:
        _scope_provinces[scope.label] = session.execute(
            text("SELECT province_code FROM admin_unit WHERE structure = :u AND level = :l AND code = :c"),
            {"u": scope.units, "l": scope.level.value, "c": scope.code},
        ).scalar()
    return _scope_provinces[scope.label]


def audit_details(found: bool, via: str) -> dict[str, Any]:
    return {"found": found, "via": via}


def lookup(session: Session, settings: Settings, who: Principal, given: LookupInput) -> LookupAnswer:
    """Look a citizen up and record the lookup in the caller's transaction (the page's path)."""
    row = session.execute(text(STATUS_SQL), {"pid": given.personal_id}).first()
    answer = answer_from_row(row, settings, scope_province(session, who), today_vn(), given)
    audit.record(
        session,
        actor=who.username,
        action=ACTION,
        resource_type="citizen",
        resource_id=answer.citizen_id,
        jurisdiction=who.scope.label,
        reason=None,
        details=audit_details(answer.found, given.via),
    )
    return answer


VIETNAM = timezone(timedelta(hours=7))


def today_vn() -> date:
    # The colour turns green on a calendar day in Viet Nam, whatever the server's zone.
    return datetime.now(VIETNAM).date()


# --- rate limit ---------------------------------------------------------------------------------


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
        from vaxlink.services.access import limits as limits_store

        with self._lock:
            pending = [(k, e[0], e[2]) for k, e in self._state.items() if e[2] > 0]
        if not pending:
            return
        guard: Any = self.write_lock if self.write_lock is not None else contextlib.nullcontext()
        with guard, self.sessions() as s, s.begin():
            totals = [
                (k, start, n, limits_store.add(s, f"{self.prefix}:{k}", int(start), int(n)))
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
        from sqlalchemy import func

        from vaxlink.services.access import limits as store
        from vaxlink.storage.models import RateCounter

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
        alerts: list[tuple[Any, tuple[str, str | None], int]] = []
        pauses: dict[Any, float] = {}
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
            for row in s.execute(
                select(RateCounter.bucket, RateCounter.window_start).where(
                    RateCounter.bucket.like(f"{self.PREFIX}:paused:%"), RateCounter.window_start > int(t)
                )
            ):
                user_key = row.bucket.rsplit(":", 1)[1]
                pauses[user_key] = max(pauses.get(user_key, 0.0), float(row.window_start))
            for user, near_blocks in blocks.items():
                if local.get(user, 0.0) > t or pauses.get(str(user), 0.0) > t:
                    if str(user) not in pauses:  # a run seen here alone: the other processes learn it
                        until = local[user]
                        store.add(s, f"{self.PREFIX}:paused:{user}", int(until), 1)
                        store.hit(s, f"once:{self.PREFIX}:alert:{user}", int(self.pause), t)
                    continue
                # The blocks around each number looked up, read in one statement (this window and the last).
                around = {
                    b: [f"{self.PREFIX}:b:{user}:{self._digest('b', b + d)}" for d in (-1, 0, 1)]
                    for b in near_blocks
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
                best = max((sum(held.get(k, 0) for k in keys) for keys in around.values()), default=0)
                if best < self.run or not store.first_in_window(
                    s, f"{self.PREFIX}:alert:{user}", int(self.pause)
                ):
                    continue
                until = t + self.pause
                store.add(s, f"{self.PREFIX}:paused:{user}", int(until), 1)
                pauses[str(user)] = until
                username, jurisdiction = names[user]
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
                alerts.append((user, names[user], best))
        with self._lock:
            for user in list(self._seen) + list(self._paused):
                until = pauses.get(str(user), 0.0)
                if until > self._paused.get(user, 0.0):
                    self._paused[user] = until
        return len(alerts)


def retry_after(wait: float) -> int:
    return max(1, math.ceil(wait))


# --- audit events written in groups -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditItem:
    actor: str
    action: str
    resource_type: str
    resource_id: str | int | None
    jurisdiction: str | None
    reason: str | None
    details: dict[str, Any] | None
    touch_token_id: int | None = None


@dataclass
class _Job:
    item: AuditItem
    done: concurrent.futures.Future[None] = field(default_factory=concurrent.futures.Future)


def _is_plain(details: dict[str, Any] | None) -> bool:
    """True when the details read back from JSON as they are (text keys, text/bool/int/None values), so
    that the JSON round trip can be skipped."""
    return details is None or all(
        type(k) is str and (v is None or type(v) in (str, bool, int)) for k, v in details.items()
    )


def chain_rows(prev: str, key: bytes, items: list[AuditItem]) -> list[dict[str, Any]]:
    """The rows that append `items` to a chain whose head hash is `prev`, exactly as `audit.record` would
    write them one by one (same truncation, canonical form, hash, link and MAC)."""
    rows = []
    for i in items:
        at = utcnow()
        rid = None if i.resource_id is None else str(i.resource_id)
        details = i.details if _is_plain(i.details) else json.loads(json.dumps(i.details, default=str))
        actor, reason = i.actor[:80], None if i.reason is None else i.reason[:400]
        digest = audit._hash(
            audit._canonical(prev, at, actor, i.action, i.resource_type, rid, i.jurisdiction, reason, details)
        )
        rows.append(
            {
                "at": at,
                "actor": actor,
                "action": i.action,
                "resource_type": i.resource_type,
                "resource_id": rid,
                "jurisdiction": i.jurisdiction,
                "reason": reason,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
                "mac": audit._mac(key, digest),
            }
        )
        prev = digest
    return rows


def _payload(prev: str, key: bytes, items: list[AuditItem]) -> tuple[str, str]:
    """The rows as the JSON parameter of `_INSERT_SQL`, and the hash of the last one."""
    rows = chain_rows(prev, key, items)
    for r in rows:
        r["at"] = r["at"].isoformat()
    return json.dumps(rows), rows[-1]["hash"]


def append_group(session: Session, key: bytes, items: list[AuditItem]) -> None:
    """Append events to the chain with one turn on the chain's lock, one read of the head and one
    multi-row INSERT: a busy checkpoint's events cost microseconds each instead of a round trip or three."""
    conn = session.connection()
    audit._lock_chain(conn)
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or audit.GENESIS
    # Rows go in list order, so ids follow the chain (the lock keeps other writers out meanwhile).
    session.execute(insert(AuditEvent), chain_rows(prev, key, items))


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
        self._pending: list[tuple[AuditItem, asyncio.Future[None]]] = []
        self._rounds_task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._head: str | None = None  # hash of the last event this writer appended
        self.groups = 0
        self.events = 0

    # --- on the event loop (PostgreSQL) ---------------------------------------------------------

    async def record(self, item: AuditItem) -> None:
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

    async def _write_async(self, items: list[AuditItem]) -> None:
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
        touched = sorted({i.touch_token_id for i in items if i.touch_token_id is not None})
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

    async def _append_checked(self, conn: Any, items: list[AuditItem], touched: list[int]) -> bool:
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

    def submit(self, item: AuditItem) -> concurrent.futures.Future[None]:
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
                touched = {j.item.touch_token_id for j in jobs if j.item.touch_token_id is not None}
                if touched:
                    session.execute(
                        update(ApiToken).where(ApiToken.id.in_(touched)).values(last_used_at=utcnow())
                    )
                append_group(session, self.key, [j.item for j in jobs])
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

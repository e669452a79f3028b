"""The audit log: who did what to which record, in which jurisdiction, when and why.

Events are written in the caller's transaction (a change and its event commit together or not at all),
chained (each event's hash covers the previous hash and a canonical JSON of the event) and signed with
an HMAC of the hash under a key kept outside the database: a rewritten chain cannot be re-signed, and an
exported head reveals a truncated tail. Details hold ids and codes, never names or numbers of people.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.errors import VaxlinkError
from vaxlink.storage.db import make_engine
from vaxlink.storage.models import AuditEvent, utcnow

GENESIS = "0" * 64
KEY_INFO = "audit_key"
# Any fixed number: the advisory lock that serialises appends to the chain on PostgreSQL.
CHAIN_LOCK = 0x7661786C
ANONYMOUS = "anonymous"


def load_key(path: Path) -> bytes:
    """The MAC key from its file, created (mode 0600) with 32 random bytes when absent."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
    raw = path.read_text().strip()
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise VaxlinkError(f"Khóa nhật ký kiểm toán hỏng / the audit key file is unusable: {path}")
    return key


def bind_key(session: Session, key: bytes) -> None:
    """Give the session the MAC key; the edge (web app, CLI command) does this once per session."""
    session.info[KEY_INFO] = key


# The canonical form is the JSON of the event's fields with sorted keys, no spaces and text left as
# UTF-8: `json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)`.
# It is assembled here from its fixed keys (in sorted order) so that verification does not build a dict
# and sort it for every event; tests check it against json.dumps byte for byte.
_DETAILS = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
_BODY = (
    '{"action":%s,"actor":%s,"at":%s,"details":%s,"jurisdiction":%s,"prev":%s,'
    '"reason":%s,"resource_id":%s,"resource_type":%s}'
)
_quote = encode_basestring  # the string encoder json.dumps uses with ensure_ascii=False


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _canonical_text(
    prev_hash: str,
    at_iso: str,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str | None,
    jurisdiction: str | None,
    reason: str | None,
    details_json: str,
) -> bytes:
    """The canonical form from the timestamp's canonical text and the details' canonical JSON."""
    return (
        _BODY
        % (
            _quote(action),
            _quote(actor),
            _quote(at_iso),
            details_json,
            "null" if jurisdiction is None else _quote(jurisdiction),
            _quote(prev_hash),
            "null" if reason is None else _quote(reason),
            "null" if resource_id is None else _quote(resource_id),
            _quote(resource_type),
        )
    ).encode()


def _canonical(
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str | None,
    jurisdiction: str | None,
    reason: str | None,
    details: dict[str, Any] | None,
) -> bytes:
    return _canonical_text(
        prev_hash,
        _iso(at),
        actor,
        action,
        resource_type,
        resource_id,
        jurisdiction,
        reason,
        _DETAILS.encode(details),
    )


def _hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def _mac(key: bytes, digest: str) -> str:
    return hmac.digest(key, digest.encode(), "sha256").hex()


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})


@dataclass(frozen=True, slots=True)
class Event:
    """One event to append: what `record` takes, and what writers that append in groups queue."""

    actor: str
    action: AuditAction
    resource_type: str
    resource_id: str | int | None = None
    jurisdiction: str | None = None
    reason: str | None = None
    details: dict[str, Any] | None = None


# An action's stored text, by member or by its text: a dict lookup rather than an enum call per event.
_ACTION_TEXT: dict[str, str] = {a.value: a.value for a in AuditAction}


def _plain(details: dict[str, Any]) -> bool:
    """True when the details read back from JSON as they are (text keys, text/bool/int/None values), so
    that the JSON round trip can be skipped."""
    return all(type(k) is str and (v is None or type(v) in (str, bool, int)) for k, v in details.items())


def chain_rows(prev: str, key: bytes, events: Sequence[Event]) -> list[dict[str, Any]]:
    """The stored fields of `events` appended in order to a chain whose head hash is `prev`: the texts cut
    to the columns' sizes, the details as they read back from JSON, the link, the hash and its MAC. The
    one place the chain's rules are applied; every writer stores exactly these."""
    rows = []
    for e in events:
        try:
            action = _ACTION_TEXT[e.action]
        except KeyError:
            raise ValueError(f"{e.action!r} is not an audit action") from None
        at = utcnow()
        rid = None if e.resource_id is None else str(e.resource_id)
        details = e.details
        if details is not None:
            details = dict(details) if _plain(details) else json.loads(json.dumps(details, default=str))
        # Cut to the columns' sizes before hashing: the chain covers exactly what is stored.
        actor, reason = e.actor[:80], None if e.reason is None else e.reason[:400]
        digest = _hash(
            _canonical(prev, at, actor, action, e.resource_type, rid, e.jurisdiction, reason, details)
        )
        rows.append(
            {
                "at": at,
                "actor": actor,
                "action": action,
                "resource_type": e.resource_type,
                "resource_id": rid,
                "jurisdiction": e.jurisdiction,
                "reason": reason,
                "details": details,
                "prev_hash": prev,
                "hash": digest,
                "mac": _mac(key, digest),
            }
        )
        prev = digest
    return rows


def locked_head(session: Session) -> str:
    """Take the chain's lock (PostgreSQL: a transaction-scoped advisory lock, held until commit) and
    read the hash of its head, to which the next events link."""
    _lock_chain(session.connection())
    return session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS


def append_group(session: Session, key: bytes, events: Sequence[Event]) -> None:
    """Append events to the chain with one turn on the chain's lock, one read of the head and one
    multi-row INSERT: a busy checkpoint's events cost microseconds each instead of a round trip or three."""
    # Rows go in list order, so ids follow the chain (the lock keeps other writers out meanwhile).
    session.execute(insert(AuditEvent), chain_rows(locked_head(session), key, events))


def record_event(session: Session, event: Event) -> AuditEvent:
    """`record` of an event already built (flushes, never commits); `chain_rows` refuses an action outside
    the vocabulary."""
    key = session.info.get(KEY_INFO)
    if not isinstance(key, bytes):
        raise VaxlinkError("audit key not bound to this session (services.audit.log.bind_key)")
    stored = AuditEvent(**chain_rows(locked_head(session), key, [event])[0])
    session.add(stored)
    session.flush()
    return stored


def record(
    session: Session,
    *,
    actor: str,
    action: AuditAction,
    resource_type: str,
    resource_id: str | int | None = None,
    jurisdiction: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (flushes, never commits).

    On PostgreSQL appends are serialised by a transaction-scoped advisory lock held until commit; callers
    take their row locks before recording, so that lock is always the last one taken. The action is one of
    the vocabulary's (`domain.audit_actions`); its stored text is the member's value."""
    event = Event(actor, action, resource_type, resource_id, jurisdiction, reason, details)
    return record_event(session, event)


# --- verification -------------------------------------------------------------------------------


@dataclass
class Finding:
    event_id: int | None
    kind: str  # altered | broken_link | bad_mac | truncated | head_altered
    message: str


@dataclass
class VerifyReport:
    events: int = 0
    head_id: int | None = None
    head_hash: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


# Read as plain text, without the ORM's types: the details as their stored JSON text, the timestamp as
# SQLite's stored text or, on PostgreSQL, already in the canonical form (the server formats it for
# about a microsecond, where a datetime object and its isoformat cost the client several).
_COLUMNS = '"actor", "action", "resource_type", "resource_id", "jurisdiction", "reason"'
_STORED = {
    "sqlite": f'SELECT "id", "at", {_COLUMNS}, "details", "prev_hash", "hash", "mac" FROM audit_event',
    "postgresql": (
        "SELECT id, pg_catalog.to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), "
        f"{_COLUMNS}, details::text, prev_hash, hash, mac FROM audit_event"
    ),
}
_BATCH = 20_000
# Chains shorter than this are walked in one process whatever the number of workers asked for.
_PARALLEL_FROM = 2 * _BATCH
_SEEN = 50_000
_BROKEN = "liên kết chuỗi bị đứt (xóa, chèn hoặc đổi chỗ) / chain link broken"


def _sqlite_iso(at: Any) -> str:
    """The canonical timestamp of SQLite's stored text ("YYYY-MM-DD HH:MM:SS.ffffff", UTC), as
    `UtcDateTime` reads it. The usual shape is rewritten in place (one-to-one, so any change to the
    text changes the canonical form); anything else goes through the parser."""
    if isinstance(at, str) and len(at) == 26 and at[10] == " " and at[19] == ".":
        return f"{at[:10]}T{at[11:]}+00:00"
    parsed = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    return _iso(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))


@dataclass
class _Segment:
    """The walk over a run of consecutive events. The first event's link is left to the caller when the
    event before it was not known (a segment walked by another worker)."""

    events: int = 0
    findings: list[Finding] = field(default_factory=list)
    first: tuple[int, str] | None = None  # (id, prev_hash) of the first event
    last: tuple[int, str] | None = None  # (id, hash) of the last event
    head_seen: bool = False


def _walk(
    conn: Connection, key: bytes, prev: str | None, head: dict[str, Any] | None, ids: tuple[int, int] | None
) -> _Segment:
    seg = _Segment()
    findings = seg.findings
    sqlite = conn.dialect.name == "sqlite"
    head_id = None if head is None else int(head["id"])
    eid: int | None = None
    digest: Any = None
    sha256, same, loads, encode = hashlib.sha256, hmac.compare_digest, json.loads, _DETAILS.encode
    # The key's HMAC state computed once and copied for every event (the hmac module's own way to MAC
    # many messages under one key): the same MAC as `_mac`, without setting the key up each time.
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    canonical = _canonical_text
    # Canonical JSON of stored details texts seen recently: many events carry the same few (a status
    # lookup's outcome and channel), and the canonical form is a function of the text alone.
    seen: dict[str | None, str] = {None: "null"}
    sql = _STORED["sqlite" if sqlite else "postgresql"]
    if ids is not None:
        sql += f" WHERE id BETWEEN {int(ids[0])} AND {int(ids[1])}"
    result = conn.exec_driver_sql(
        sql + " ORDER BY id", execution_options={"stream_results": True, "yield_per": _BATCH}
    )
    with result:
        for rows in result.partitions(_BATCH):
            if seg.first is None:
                seg.first = (rows[0][0], rows[0][9])
            seg.events += len(rows)
            for eid, at, actor, action, rtype, rid, juris, reason, details, prev_hash, digest, mac in rows:
                if prev is not None and prev_hash != prev:
                    findings.append(Finding(eid, "broken_link", _BROKEN))
                try:
                    at_iso = _sqlite_iso(at) if sqlite else at
                    details_json = seen.get(details)
                    if details_json is None:
                        details_json = encode(loads(details))
                        if len(seen) > _SEEN:
                            seen.clear()
                            seen[None] = "null"
                        seen[details] = details_json
                    body = canonical(
                        prev_hash, at_iso, actor, action, rtype, rid, juris, reason, details_json
                    )
                    altered = sha256(body).hexdigest() != digest
                except (TypeError, ValueError):  # a stored value no writer could have produced
                    altered = True
                if altered:
                    findings.append(Finding(eid, "altered", "nội dung bị sửa / content altered"))
                try:
                    m = keyed.copy()
                    m.update(digest.encode())
                    forged = mac is None or not same(m.hexdigest(), mac)
                except (TypeError, AttributeError):  # not text, or not ASCII
                    forged = True
                if forged:
                    findings.append(
                        Finding(eid, "bad_mac", "chữ ký không đúng (giả mạo) / MAC invalid (forged)")
                    )
                if eid == head_id and head is not None:
                    seg.head_seen = True
                    if digest != head["hash"]:
                        findings.append(
                            Finding(
                                eid,
                                "head_altered",
                                "sự kiện đầu chuỗi đã xuất bị đổi / exported head changed",
                            )
                        )
                prev = digest
    if eid is not None:
        seg.last = (eid, digest)
    return seg


def _report(segments: list[_Segment], head: dict[str, Any] | None) -> VerifyReport:
    """Join the segments in chain order: each one's first event must link to the last event before it."""
    report = VerifyReport()
    prev = GENESIS
    for i, seg in enumerate(segments):
        # The first segment checked its first link itself (against the genesis hash).
        if i > 0 and seg.first is not None and seg.first[1] != prev:
            report.findings.append(Finding(seg.first[0], "broken_link", _BROKEN))
        report.findings.extend(seg.findings)
        report.events += seg.events
        if seg.last is not None:
            report.head_id, report.head_hash = seg.last
            prev = seg.last[1]
    head_id = None if head is None else int(head["id"])
    if head_id is not None and head_id > 0 and not any(s.head_seen for s in segments):
        report.findings.append(
            Finding(
                head_id,
                "truncated",
                "thiếu sự kiện đầu chuỗi đã xuất (đuôi bị cắt) / the exported head is missing (tail truncated)",
            )
        )
    return report


def verify_chain(conn: Connection, key: bytes, head: dict[str, Any] | None = None) -> VerifyReport:
    """Walk the whole chain: every event's hash must match its content, link to the one before, and carry
    the MAC of its hash; an exported head must still be there, unchanged.

    Streamed (a server-side cursor on PostgreSQL) in batches of plain rows, hashed in one tight loop."""
    return _report([_walk(conn, key, GENESIS, head, None)], head)


def _walk_range(
    url: str, key: bytes, head: dict[str, Any] | None, ids: tuple[int, int], prev: str | None
) -> _Segment:
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _walk(conn, key, prev, head, ids)
    finally:
        engine.dispose()


def verify_chain_parallel(
    engine: Engine, key: bytes, head: dict[str, Any] | None = None, workers: int = 2
) -> VerifyReport:
    """The same walk in `workers` processes, each over a range of ids on a connection of its own; the
    links between the ranges are checked when they are joined. The chain is taken as it stood when the
    walk began (events appended meanwhile are left to the next one). The workers are forked from a
    server process of their own (`forkserver`), not from the caller: a fork copies the locks that the
    caller's other threads hold at that moment (a server's, or a test run's), and a worker that inherits
    a held one waits for ever."""
    with engine.connect() as conn:
        lo, hi = conn.execute(text("SELECT min(id), max(id) FROM audit_event")).one()
        small = lo is None or hi - lo < _PARALLEL_FROM
        if workers <= 1 or small or engine.url.database in (None, "", ":memory:"):
            return verify_chain(conn, key, head)
    step = (hi - lo) // workers + 1
    ranges = [(lo + i * step, min(hi, lo + (i + 1) * step - 1)) for i in range(workers)]
    # The first range starts the chain: its first link is checked against the genesis hash there; the
    # others' first links when the segments are joined.
    prevs = [GENESIS] + [None] * (workers - 1)
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        segments = list(
            pool.map(_walk_range, [url] * workers, [key] * workers, [head] * workers, ranges, prevs)
        )
    return _report(segments, head)


def export_head(conn: Connection, key: bytes) -> dict[str, Any]:
    """The chain's head for safekeeping outside the database; verify later with it to detect a cut tail."""
    row = conn.execute(
        select(AuditEvent.id, AuditEvent.hash, AuditEvent.at).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    if row is None:
        return {"id": 0, "hash": GENESIS, "at": None, "mac": _mac(key, GENESIS)}
    return {"id": int(row[0]), "hash": row[1], "at": row[2].isoformat(), "mac": _mac(key, row[1])}


def head_is_authentic(head: dict[str, Any], key: bytes) -> bool:
    return hmac.compare_digest(_mac(key, str(head.get("hash", ""))), str(head.get("mac", "")))

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
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from vaxlink.domain.errors import VaxlinkError
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
    body = {
        "prev": prev_hash,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "jurisdiction": jurisdiction,
        "reason": reason,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def _hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def _mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()


def _lock_chain(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CHAIN_LOCK})


def record(
    session: Session,
    actor: str,
    action: str,
    resource_type: str,
    resource_id: str | int | None = None,
    jurisdiction: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction (flushes, never commits).

    On PostgreSQL appends are serialised by a transaction-scoped advisory lock held until commit; callers
    take their row locks before recording, so that lock is always the last one taken."""
    key = session.info.get(KEY_INFO)
    if not isinstance(key, bytes):
        raise VaxlinkError("audit key not bound to this session (services.audit.bind_key)")
    _lock_chain(session.connection())
    prev = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    at = utcnow()
    rid = None if resource_id is None else str(resource_id)
    details = None if details is None else json.loads(json.dumps(details, default=str))
    digest = _hash(_canonical(prev, at, actor, action, resource_type, rid, jurisdiction, reason, details))
    event = AuditEvent(
        at=at,
        actor=actor[:80],
        action=action,
        resource_type=resource_type,
        resource_id=rid,
        jurisdiction=jurisdiction,
        reason=None if reason is None else reason[:400],
        details=details,
        prev_hash=prev,
        hash=digest,
        mac=_mac(key, digest),
    )
    session.add(event)
    session.flush()
    return event


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


def _rows(conn: Connection) -> Iterator[Any]:
    stmt = select(
        AuditEvent.id,
        AuditEvent.at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.resource_type,
        AuditEvent.resource_id,
        AuditEvent.jurisdiction,
        AuditEvent.reason,
        AuditEvent.details,
        AuditEvent.prev_hash,
        AuditEvent.hash,
        AuditEvent.mac,
    ).order_by(AuditEvent.id)
    # Streamed (a server-side cursor on PostgreSQL) for this statement only, and closed when done.
    with conn.execute(stmt.execution_options(stream_results=True, yield_per=20_000)) as result:
        yield from result


def verify_chain(conn: Connection, key: bytes, head: dict[str, Any] | None = None) -> VerifyReport:
    """Walk the whole chain: every event's hash must match its content, link to the one before, and carry
    the MAC of its hash; an exported head must still be there, unchanged."""
    report = VerifyReport()
    prev = GENESIS
    head_seen = False
    for row in _rows(conn):
        report.events += 1
        (eid, at, actor, action, rtype, rid, juris, reason, details, prev_hash, digest, mac) = row
        if prev_hash != prev:
            report.findings.append(
                Finding(
                    eid, "broken_link", "liên kết chuỗi bị đứt (xóa, chèn hoặc đổi chỗ) / chain link broken"
                )
            )
        expected = _hash(_canonical(prev_hash, at, actor, action, rtype, rid, juris, reason, details))
        if expected != digest:
            report.findings.append(Finding(eid, "altered", "nội dung bị sửa / content altered"))
        if mac is None or not hmac.compare_digest(_mac(key, digest), mac):
            report.findings.append(
                Finding(eid, "bad_mac", "chữ ký không đúng (giả mạo) / MAC invalid (forged)")
            )
        if head is not None and eid == int(head["id"]):
            head_seen = True
            if digest != head["hash"]:
                report.findings.append(
                    Finding(eid, "head_altered", "sự kiện đầu chuỗi đã xuất bị đổi / exported head changed")
                )
        prev = digest
        report.head_id, report.head_hash = eid, digest
    if head is not None and int(head["id"]) > 0 and not head_seen:
        report.findings.append(
            Finding(
                int(head["id"]),
                "truncated",
                "thiếu sự kiện đầu chuỗi đã xuất (đuôi bị cắt) / the exported head is missing (tail truncated)",
            )
        )
    return report


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

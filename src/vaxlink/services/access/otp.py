"""One-time codes for citizens: ID number and date of birth in, a 6-digit code out through the outbox (SMS to
the phone in the register), and after the right code a short self-service pass.

The answer to "send me a code" is the same whether or not the number exists or the birth date matches:
a challenge row is written either way (with no citizen and no message when nothing matches), so that
neither the words, the status nor the throttling tell anyone who is in the register. Codes are kept as
keyed digests; each lasts 5 minutes and allows 5 attempts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.services.access import limits as limits_store
from vaxlink.services.audit import log as audit
from vaxlink.storage.models import Citizen, OtpChallenge, OutboxMessage, RateCounter, utcnow

PURPOSE = "status"
CODE_DIGITS = 6
LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5
# Codes one requester (address) asks for one number within the window: enough for a lost message, too
# few to pester a phone. Counted per requester, so that nobody can block a citizen's own codes by asking
# for them first; across every requester a number gets at most SUBJECT_CAP challenges in the window.
PER_SUBJECT = 3
SUBJECT_CAP = 20
SUBJECT_WINDOW = timedelta(minutes=15)
PASS_SECONDS = 15 * 60


def _key(master: bytes, label: bytes) -> bytes:
    # A key of its own for each use, derived from the server's secret (kept outside the database).
    return hmac.new(master, b"vaxlink/" + label, hashlib.sha256).digest()


def subject_of(master: bytes, personal_id: str) -> str:
    return hmac.new(_key(master, b"otp-subject"), personal_id.encode(), hashlib.sha256).hexdigest()


def _code_hash(master: bytes, challenge_id: int, code: str) -> str:
    msg = f"{challenge_id}:{code}".encode()
    return hmac.new(_key(master, b"otp-code"), msg, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Started:
    challenge_id: int | None  # None when throttled
    throttled: bool = False


def start(
    session: Session, master: bytes, personal_id: str, date_of_birth: str, requester: str = "unknown"
) -> Started:
    """Open a challenge and, when the number and birth date are a citizen's with a phone, queue the code.
    Returns the challenge to quote with the code; the caller shows the same words in every case."""
    number = strip_separators(personal_id or "")[:20]
    subject = subject_of(master, number)
    now = utcnow()
    window = int(SUBJECT_WINDOW.total_seconds())
    if limits_store.hit(session, f"otp:{subject}|{requester}", window) > PER_SUBJECT:
        return Started(None, throttled=True)
    recent = session.scalar(
        select(func.count())
        .select_from(OtpChallenge)
        .where(OtpChallenge.subject == subject, OtpChallenge.created_at > now - SUBJECT_WINDOW)
    )
    if (recent or 0) >= SUBJECT_CAP:
        return Started(None, throttled=True)
    citizen = None
    if len(number) == 12 and number.isascii() and number.isdigit():
        citizen = session.scalar(select(Citizen).where(Citizen.personal_id == number))
    born = parse_date(date_of_birth or "")
    matches = citizen is not None and isinstance(born, PartialDate) and _same_birth(citizen, born)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    challenge = OtpChallenge(
        purpose=PURPOSE,
        subject=subject,
        citizen_id=citizen.id if matches and citizen is not None else None,
        code_hash="-",
        created_at=now,
        expires_at=now + LIFETIME,
        attempts=0,
    )
    session.add(challenge)
    session.flush()
    challenge.code_hash = _code_hash(master, challenge.id, code)
    if matches and citizen is not None and citizen.phone:
        session.add(
            OutboxMessage(
                channel="sms",
                recipient=citizen.phone,
                body=f"vaxlink: mã xác thực của bạn là {code} (hiệu lực 5 phút). Không chia sẻ mã này. / "
                f"your code is {code} (5 minutes). Do not share it.",
                created_at=now,
            )
        )
    session.flush()
    _challenge_event(session, AuditAction.OTP_REQUESTED, challenge.id)
    return Started(challenge.id)


def _challenge_event(
    session: Session, action: AuditAction, challenge_id: int, details: dict[str, int] | None = None
) -> None:
    # The requester is nobody the service knows: the event names the challenge only.
    audit.record(
        session,
        actor=audit.ANONYMOUS,
        action=action,
        resource_type="otp_challenge",
        resource_id=challenge_id,
        details=details,
    )


def _same_birth(citizen: Citizen, born: PartialDate) -> bool:
    # A register that knows only the year asks only for the year; one that knows the day asks for it.
    if citizen.birth_precision == "day":
        return born.day is not None and born.as_date() == citizen.birth_date
    return born.year == citizen.birth_year


def check(session: Session, master: bytes, challenge_id: int, code: str) -> int | None:
    """The citizen id when `code` is right for a live challenge (which is then used up), else None.
    Each try counts, right or wrong; the sixth is refused whatever the code."""
    now = utcnow()
    # Count the attempt first, conditionally: two simultaneous tries cannot both be the fifth.
    counted = session.execute(
        update(OtpChallenge)
        .where(
            OtpChallenge.id == challenge_id,
            OtpChallenge.used_at.is_(None),
            OtpChallenge.expires_at > now,
            OtpChallenge.attempts < MAX_ATTEMPTS,
        )
        .values(attempts=OtpChallenge.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(counted, "rowcount", 0) or 0) != 1:
        return None
    ch = session.get(OtpChallenge, challenge_id, populate_existing=True)
    digits = (code or "").strip()
    if (
        ch is None
        or not hmac.compare_digest(ch.code_hash, _code_hash(master, challenge_id, digits[:12]))
        or ch.citizen_id is None
    ):
        _challenge_event(session, AuditAction.OTP_FAILED, challenge_id)
        return None
    ch.used_at = now
    session.flush()
    _challenge_event(session, AuditAction.OTP_VERIFIED, challenge_id, {"citizen_id": ch.citizen_id})
    return ch.citizen_id


# --- signed tokens for the browser --------------------------------------------------------------


def _pass_mac(master: bytes, body: str) -> bytes:
    return hmac.new(_key(master, b"self-pass"), body.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    # Unpadded: the token goes into a cookie as it is.
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(master: bytes, label: str, value: int, seconds: int) -> str:
    """`value` with an expiry, signed: the browser holds it, the server keeps nothing."""
    expires = int(time.time()) + seconds
    nonce = secrets.token_hex(8)
    body = f"{label}.{value}.{expires}.{nonce}"
    mac = _pass_mac(master, body)
    return _b64(body.encode()) + "." + _b64(mac)


def _ended_bucket(nonce: str) -> str:
    return f"self-pass:ended:{nonce[:40]}"


def end_pass(session: Session, nonce: str) -> None:
    """Sign a pass out on the server: a copy of the cookie kept elsewhere opens nothing any more. Kept in
    the shared counters' table (pruned after a day, long after the pass would have expired)."""
    limits_store.add(session, _ended_bucket(nonce), limits_store.window_of(1), 1)


def pass_ended(session: Session, nonce: str) -> bool:
    return (
        session.scalar(select(RateCounter.hits).where(RateCounter.bucket == _ended_bucket(nonce)).limit(1))
        is not None
    )


def unsign(master: bytes, label: str, token: str | None) -> tuple[int, str] | None:
    """(value, nonce) of a live token made by `sign` with this label, else None."""
    if not token or len(token) > 300 or "." not in token:
        return None
    body_b64, _, mac_b64 = token.partition(".")
    try:
        body = _unb64(body_b64).decode()
        mac = _unb64(mac_b64)
    except (ValueError, UnicodeDecodeError):
        return None
    good = _pass_mac(master, body)
    if not hmac.compare_digest(good, mac):
        return None
    parts = body.split(".")
    if len(parts) != 4 or parts[0] != label:
        return None
    try:
        value, expires = int(parts[1]), int(parts[2])
    except ValueError:
        return None
    if expires < time.time():
        return None
    return value, parts[3]

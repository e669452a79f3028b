"""Signing in and being recognised: argon2 password hashes, server-side sessions, bearer tokens, CSRF
tokens and login throttling.

A session cookie carries a random token; only its SHA-256 is stored, so a stolen database holds no
usable session. Sessions end when idle too long, after an absolute lifetime, on logout, or when the
user's `token_version` moves (role withdrawn, user disabled, password set).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.permissions import Level, Permission, permissions_of
from vaxlink.services import audit
from vaxlink.settings import Settings
from vaxlink.storage.models import ApiToken, AppUser, UserSession, utcnow
from vaxlink.storage.scope import Scope

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that the answer takes as long as for a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
# Refresh `last_seen_at` at most this often: a page view need not always write.
TOUCH_EVERY = timedelta(seconds=60)
LOCK_AFTER = 5  # failures before the account is locked for a while
LOCK_BASE_SECONDS = 30
LOCK_MAX_SECONDS = 3600


def hash_password(password: str) -> str:
    if len(password) < 10:
        from vaxlink.domain.errors import VaxlinkError

        raise VaxlinkError("Mật khẩu cần ít nhất 10 ký tự / the password needs at least 10 characters")
    return _hasher.hash(password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def user_scope(user: AppUser) -> Scope:
    return Scope(Level(user.scope_level), user.scope_units, user.scope_code)


@dataclass(frozen=True)
class Principal:
    """The user a request acts for, as resolved from its session cookie or bearer token."""

    user_id: int
    username: str
    display_name: str
    role: str
    scope: Scope
    permissions: frozenset[Permission]
    via: str  # session | token
    session_id: str | None = None
    csrf_token: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def _principal(user: AppUser, via: str, session_id: str | None = None, csrf: str | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        scope=user_scope(user),
        permissions=permissions_of(user.role),
        via=via,
        session_id=session_id,
        csrf_token=csrf,
    )


# --- throttling ---------------------------------------------------------------------------------


class AddressThrottle:
    """Failed logins per client address over a sliding window (in this process; the per-user lockout
    is in the database and holds across processes)."""

    def __init__(self, limit: int = 20, window_seconds: float = 600.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        q = self._failures.setdefault(address, deque())
        while q and q[0] < now - self.window:
            q.popleft()
        return q

    def blocked(self, address: str) -> float:
        """Seconds to wait before this address may try again (0: may try now)."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(address, now)
            if len(q) < self.limit:
                return 0.0
            return max(0.0, q[0] + self.window - now)

    def failed(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._failures) > 100_000:  # bound the memory an address-spraying client can take
                self._failures.clear()


@dataclass
class LoginResult:
    ok: bool
    reason: str = ""  # invalid | locked | throttled
    retry_after: int = 0
    token: str | None = None
    principal: Principal | None = None


def login(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    client: str,
    throttle: AddressThrottle,
) -> LoginResult:
    """Check a password and open a session. Failures are counted per user (lockout with growing waits)
    and per address; every attempt leaves an audit event. The caller commits either way."""
    wait = throttle.blocked(client)
    if wait > 0:
        audit.record(
            session, audit.ANONYMOUS, "login_throttled", "session", None, None, None, {"client": client}
        )
        return LoginResult(False, "throttled", int(wait) + 1)
    now = utcnow()
    user = session.scalar(select(AppUser).where(AppUser.username == username[:60]))
    if user is not None and user.locked_until is not None and user.locked_until > now:
        throttle.failed(client)
        audit.record(session, user.username, "login_locked", "user", user.id, None, None, {"client": client})
        return LoginResult(False, "locked", int((user.locked_until - now).total_seconds()) + 1)
    good = _verify(None if user is None else user.password_hash, password)
    if user is None or not good or not user.active:
        throttle.failed(client)
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                seconds = min(LOCK_MAX_SECONDS, LOCK_BASE_SECONDS * 2 ** (user.failed_logins - LOCK_AFTER))
                user.locked_until = now + timedelta(seconds=seconds)
        audit.record(
            session,
            audit.ANONYMOUS if user is None else user.username,
            "login_failed",
            "user",
            None if user is None else user.id,
            None,
            None,
            {"client": client},
        )
        return LoginResult(False, "invalid")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    token, us = open_session(session, settings, user)
    audit.record(
        session, user.username, "login", "session", None, user_scope(user).label, None, {"client": client}
    )
    return LoginResult(True, token=token, principal=_principal(user, "session", us.id, us.csrf_secret))


def open_session(session: Session, settings: Settings, user: AppUser) -> tuple[str, UserSession]:
    """A new session for the user: the raw token (for the cookie) and its row."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    us = UserSession(
        id=token_digest(raw),
        user_id=user.id,
        token_version=user.token_version,
        csrf_secret=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
        last_seen_at=now,
    )
    session.add(us)
    session.flush()
    return raw, us


def resolve_session(session: Session, settings: Settings, raw: str) -> Principal | None:
    """The principal of a session cookie, or None when it is unknown, ended, expired or outdated."""
    if not raw or len(raw) > 200:
        return None
    now = utcnow()
    row = session.execute(
        select(UserSession, AppUser)
        .join(AppUser, AppUser.id == UserSession.user_id)
        .where(UserSession.id == token_digest(raw))
    ).first()
    if row is None:
        return None
    us, user = row
    idle = timedelta(minutes=settings.session_idle_minutes)
    if (
        us.revoked_at is not None
        or us.expires_at <= now
        or us.last_seen_at + idle <= now
        or not user.active
        or us.token_version != user.token_version
    ):
        return None
    if now - us.last_seen_at >= TOUCH_EVERY:
        us.last_seen_at = now
    return _principal(user, "session", us.id, us.csrf_secret)


def resolve_token(session: Session, raw: str) -> Principal | None:
    """The principal of a bearer token, or None when it is unknown, revoked, expired or outdated."""
    if not raw or len(raw) > 200:
        return None
    now = utcnow()
    row = session.execute(
        select(ApiToken, AppUser)
        .join(AppUser, AppUser.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_digest(raw))
    ).first()
    if row is None:
        return None
    tok, user = row
    if (
        tok.revoked_at is not None
        or (tok.expires_at is not None and tok.expires_at <= now)
        or not user.active
        or tok.token_version != user.token_version
    ):
        return None
    if tok.last_used_at is None or now - tok.last_used_at >= TOUCH_EVERY:
        tok.last_used_at = now
    return _principal(user, "token")


def logout(session: Session, principal: Principal) -> None:
    if principal.session_id is None:
        return
    us = session.get(UserSession, principal.session_id)
    if us is not None and us.revoked_at is None:
        us.revoked_at = utcnow()
    audit.record(session, principal.username, "logout", "session", None, principal.scope.label)


def csrf_ok(principal: Principal, presented: str | None) -> bool:
    """The synchroniser token of the principal's session; requests by bearer token need none."""
    if principal.via != "session":
        return True
    if not presented or principal.csrf_token is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), principal.csrf_token.encode())

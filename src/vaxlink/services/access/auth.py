"""Signing in and being recognised: argon2 password hashes, server-side sessions, bearer tokens, CSRF
tokens and sign-in throttling (counted in the database, shared by every server process).

A session cookie carries a random token; only its SHA-256 is stored, so a stolen database holds no
usable session. Sessions end when idle too long, after an absolute lifetime, on logout, or when the
user's `token_version` moves (role withdrawn, user disabled, password set).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.errors import VaxlinkError
from vaxlink.domain.permissions import Level, Permission, permissions_of
from vaxlink.services.access import limits as limits_store
from vaxlink.services.audit import log as audit
from vaxlink.settings import Settings
from vaxlink.storage.models import ApiToken, AppUser, LoginAddress, UserSession, utcnow
from vaxlink.storage.scope import Scope

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that the answer takes as long as for a known one.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
# Refresh `last_seen_at` at most this often: a page view need not always write.
TOUCH_EVERY = timedelta(seconds=60)


def hash_password(password: str) -> str:
    if len(password) < 10:
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


@dataclass
class LoginLimits:
    """Failed sign-ins counted in the database (shared by every server process), never per user alone:
    failures of a name from an address throttle that pair; an address's failures over every name throttle
    that address; a name's failures over every address throttle that name from addresses it has never
    signed in from. The right password from an address the user has signed in from before is never
    refused, so that nobody can lock an officer out from elsewhere. Unknown names are counted and answered
    exactly like known ones."""

    pair_limit: int = 5
    pair_window: int = 900
    address_limit: int = 20
    address_window: int = 600
    name_limit: int = 50
    name_window: int = 3600


def _buckets(limits: LoginLimits, name: str, client: str) -> list[tuple[str, int, int]]:
    return [
        (f"login:pair:{name}|{client}", limits.pair_window, limits.pair_limit),
        (f"login:addr:{client}", limits.address_window, limits.address_limit),
        (f"login:name:{name}", limits.name_window, limits.name_limit),
    ]


def _throttled(session: Session, limits: LoginLimits, name: str, client: str) -> int:
    """Seconds to wait before this name may try from this address (0: may try now)."""
    for bucket, window, limit in _buckets(limits, name, client):
        if limits_store.hits(session, bucket, window) >= limit:
            return limits_store.retry_after(window)
    return 0


def _known_address(session: Session, name: str, client: str) -> bool:
    return session.get(LoginAddress, (name, client[:64])) is not None


@dataclass
class LoginResult:
    ok: bool
    reason: str = ""  # invalid | throttled
    retry_after: int = 0
    token: str | None = None
    principal: Principal | None = None


def login(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    client: str,
    limits: LoginLimits,
) -> LoginResult:
    """Check a password and open a session. Every attempt leaves an audit event (a throttled one, once per
    window and address). The caller commits either way."""
    name = username[:60]
    now = utcnow()
    user = session.scalar(select(AppUser).where(AppUser.username == name))
    known = _known_address(session, name, client)
    wait = _throttled(session, limits, name, client)
    # The password is verified in every case (the same time for known and unknown names, throttled or not).
    good = _verify(None if user is None else user.password_hash, password)
    right = user is not None and good and user.active
    if wait > 0 and not (right and known):
        if limits_store.first_in_window(session, f"login:throttled:{client}", limits.address_window):
            _login_event(session, AuditAction.LOGIN_THROTTLED, audit.ANONYMOUS, client)
        return LoginResult(False, "throttled", wait)
    if not right:
        for bucket, window, _ in _buckets(limits, name, client):
            limits_store.hit(session, bucket, window)
        _login_event(
            session,
            AuditAction.LOGIN_FAILED,
            audit.ANONYMOUS if user is None else user.username,
            client,
            resource_type="user",
            resource_id=None if user is None else user.id,
        )
        return LoginResult(False, "invalid")
    assert user is not None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    seen = session.get(LoginAddress, (name, client[:64]))
    if seen is None:
        session.add(LoginAddress(username=name, address=client[:64], last_ok_at=int(time.time())))
    else:
        seen.last_ok_at = int(time.time())
    token, us = open_session(session, settings, user)
    _login_event(session, AuditAction.LOGIN, user.username, client, jurisdiction=user_scope(user).label)
    return LoginResult(True, token=token, principal=_principal(user, "session", us.id, us.csrf_secret))


def _login_event(
    session: Session,
    action: AuditAction,
    actor: str,
    client: str,
    *,
    resource_type: str = "session",
    resource_id: int | None = None,
    jurisdiction: str | None = None,
) -> None:
    # Every sign-in attempt names the address it came from.
    audit.record(
        session,
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        jurisdiction=jurisdiction,
        details={"client": client},
    )


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


_Held = TypeVar("_Held", UserSession, ApiToken)


def _held_with_user(
    session: Session,
    raw: str,
    held: type[_Held],
    digest: InstrumentedAttribute[str],
    *more: ColumnElement[bool],
) -> Row[_Held, AppUser] | None:
    """The session or token (`held`) whose stored `digest` is that of the secret `raw`, with its user; None
    for an empty or overlong secret, or one that is not stored. `more` narrows the match further."""
    if not raw or len(raw) > 200:
        return None
    return session.execute(
        select(held, AppUser)
        .join(AppUser, AppUser.id == held.user_id)
        .where(digest == token_digest(raw), *more)
    ).first()


def resolve_session(session: Session, settings: Settings, raw: str) -> Principal | None:
    """The principal of a session cookie, or None when it is unknown, ended, expired or outdated."""
    now = utcnow()
    row = _held_with_user(session, raw, UserSession, UserSession.id)
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


def usable_token(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """The rule that makes a bearer token valid at `now` (a timestamp, or the database's `func.now()`):
    not revoked, not expired, its user active, and issued under the user's current `token_version` (a
    role withdrawn, a user disabled or a password set outdates every token). A condition on `api_token`
    and `app_user`, for every query that takes a token."""
    return and_(
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now),
        AppUser.active,
        ApiToken.token_version == AppUser.token_version,
    )


def resolve_token(session: Session, raw: str) -> Principal | None:
    """The principal of a bearer token, or None when it is unknown, revoked, expired or outdated."""
    now = utcnow()
    row = _held_with_user(session, raw, ApiToken, ApiToken.token_hash, usable_token(now))
    if row is None:
        return None
    tok, user = row
    if tok.last_used_at is None or now - tok.last_used_at >= TOUCH_EVERY:
        tok.last_used_at = now
    return _principal(user, "token")


def logout(session: Session, principal: Principal) -> None:
    if principal.session_id is None:
        return
    us = session.get(UserSession, principal.session_id)
    if us is not None and us.revoked_at is None:
        us.revoked_at = utcnow()
    audit.record(
        session,
        actor=principal.username,
        action=AuditAction.LOGOUT,
        resource_type="session",
        jurisdiction=principal.scope.label,
    )


def csrf_ok(principal: Principal, presented: str | None) -> bool:
    """The synchroniser token of the principal's session; requests by bearer token need none."""
    if principal.via != "session":
        return True
    if not presented or principal.csrf_token is None:
        return False
    return hmac.compare_digest(presented.encode("utf-8", "replace"), principal.csrf_token.encode())

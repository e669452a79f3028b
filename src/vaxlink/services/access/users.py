"""People who use the system: officers and machine clients, each with one role bound to a jurisdiction.

Withdrawing a role or disabling a user raises `token_version`, which cuts every session and bearer token
of that user at once (they carry the version they were issued under).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.permissions import Level, Role, level_allowed
from vaxlink.services.access.auth import hash_password, token_digest, user_scope
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import UserError
from vaxlink.storage.models import AdminUnitRow, ApiToken, AppUser, utcnow
from vaxlink.storage.scope import Scope

TOKEN_PREFIX = "vxt_"  # noqa: S105 (a marker, not a secret)
UNIT_LEVEL = {Level.WARD: "ward", Level.DISTRICT: "district", Level.PROVINCE: "province"}


def _check_scope(session: Session, role: Role, scope: Scope) -> None:
    if not level_allowed(role, scope.level):
        raise UserError(
            f"Vai trò {role.value} không gắn được với cấp {scope.level.value} / "
            f"role {role.value} cannot be bound to a {scope.level.value}"
        )
    if scope.level is Level.COUNTRY:
        return
    found = session.scalar(
        select(AdminUnitRow.code).where(
            AdminUnitRow.structure == scope.units,
            AdminUnitRow.level == UNIT_LEVEL[scope.level],
            AdminUnitRow.code == scope.code,
        )
    )
    if found is None:
        raise UserError(
            f"Không có đơn vị {scope.level.value} mã {scope.code} / no {scope.level.value} with code {scope.code}"
        )


def get_user(session: Session, username: str) -> AppUser:
    user = session.scalar(select(AppUser).where(AppUser.username == username))
    if user is None:
        raise UserError(f"Không có người dùng / no user named «{username}»")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    scope: Scope,
    password: str | None,
    actor: str = "system",
) -> AppUser:
    username = username.strip()
    if not username or len(username) > 60 or not username.replace("_", "").replace(".", "").isalnum():
        raise UserError("Tên đăng nhập chỉ gồm chữ, số, «_», «.» / username: letters, digits, _ and . only")
    if session.scalar(select(AppUser.id).where(AppUser.username == username)) is not None:
        raise UserError(f"Tên đăng nhập đã có / username taken: {username}")
    _check_scope(session, role, scope)
    now = utcnow()
    user = AppUser(
        username=username,
        display_name=display_name,
        password_hash=None if password is None else hash_password(password),
        role=role.value,
        scope_level=scope.level.value,
        scope_units=scope.units,
        scope_code=scope.code,
        active=True,
        token_version=1,
        failed_logins=0,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    _recorded(session, actor, AuditAction.USER_CREATED, user, {"role": role.value})
    return user


def _recorded(
    session: Session,
    actor: str,
    action: AuditAction,
    user: AppUser,
    details: dict[str, Any] | None,
    token: ApiToken | None = None,
) -> None:
    """An event about a user, or one of their tokens, in the user's jurisdiction (flushed first: a new
    row has its id)."""
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        resource_type="user" if token is None else "api_token",
        resource_id=user.id if token is None else token.id,
        jurisdiction=user_scope(user).label,
        details=details,
    )


def _outdated(
    session: Session, user: AppUser, actor: str, action: AuditAction, details: dict[str, Any] | None = None
) -> AppUser:
    """Record a change to the user: every existing session and token stops working at once (the user's
    `token_version` moves), and the change leaves its event."""
    user.token_version += 1
    user.updated_at = utcnow()
    _recorded(session, actor, action, user, details)
    return user


def set_role(session: Session, username: str, role: Role, scope: Scope, actor: str = "system") -> AppUser:
    """Change a user's role or jurisdiction: every existing session and token stops working at once."""
    user = get_user(session, username)
    _check_scope(session, role, scope)
    old = (user.role, user_scope(user).label)
    user.role = role.value
    user.scope_level, user.scope_units, user.scope_code = scope.level.value, scope.units, scope.code
    details = {"old_role": old[0], "old_scope": old[1], "role": role.value}
    return _outdated(session, user, actor, AuditAction.USER_ROLE_CHANGED, details)


def disable_user(session: Session, username: str, actor: str = "system") -> AppUser:
    user = get_user(session, username)
    user.active = False
    return _outdated(session, user, actor, AuditAction.USER_DISABLED)


def set_password(session: Session, username: str, password: str, actor: str = "system") -> AppUser:
    user = get_user(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    return _outdated(session, user, actor, AuditAction.USER_PASSWORD_SET)


def list_users(session: Session) -> list[AppUser]:
    return list(session.scalars(select(AppUser).order_by(AppUser.username)))


def issue_token(
    session: Session, username: str, name: str, *, days: int | None = 365, actor: str = "system"
) -> str:
    """A new bearer token for a machine client; the token itself is shown once, only its digest is kept."""
    user = get_user(session, username)
    if not user.active:
        raise UserError("Người dùng đã bị khóa / user is disabled")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires: datetime | None = None if days is None else now + timedelta(days=days)
    tok = ApiToken(
        user_id=user.id,
        name=name[:80],
        token_hash=token_digest(raw),
        token_version=user.token_version,
        created_at=now,
        expires_at=expires,
    )
    session.add(tok)
    _recorded(session, actor, AuditAction.TOKEN_ISSUED, user, {"user_id": user.id}, tok)
    return raw

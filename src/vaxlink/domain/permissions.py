"""Who may do what: permissions named `resource:action`, the roles that hold them, and jurisdiction levels.

One enum names every permission; every route declares the one it needs (the web layer keeps a registry
and a test fails when a route declares none). Where a role applies — which wards — is the jurisdiction,
enforced in SQL by the storage layer.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    SESSION_READ = "session:read"  # one's own session and profile; every role has it
    CASE_LIST = "case:list"
    CASE_READ = "case:read"
    CASE_ACT = "case:act"
    CASE_ASSIGN = "case:assign"
    CITIZEN_SEARCH = "citizen:search"
    CITIZEN_READ = "citizen:read"
    CITIZEN_CORRECT = "citizen:correct"
    CHANGE_APPROVE = "change:approve"
    VERIFICATION_SEND = "verification:send"
    VERIFICATION_ANSWER = "verification:answer"
    BATCH_UPLOAD = "batch:upload"
    BATCH_READ = "batch:read"
    STATS_READ = "stats:read"
    LOOKUP_STATUS = "lookup:status"
    USER_MANAGE = "user:manage"
    AUDIT_VERIFY = "audit:verify"


class Role(StrEnum):
    WARD_OFFICER = "ward_officer"
    SUPERVISOR = "supervisor"
    HEALTH_OFFICER = "health_officer"
    VERIFIER = "verifier"
    ADMIN = "admin"


class Level(StrEnum):
    """How far a user's jurisdiction reaches."""

    WARD = "ward"
    DISTRICT = "district"
    PROVINCE = "province"
    COUNTRY = "country"


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.WARD_OFFICER: frozenset(
        {
            P.SESSION_READ,
            P.CASE_LIST,
            P.CASE_READ,
            P.CASE_ACT,
            P.CITIZEN_SEARCH,
            P.CITIZEN_READ,
            P.CITIZEN_CORRECT,
            P.CHANGE_APPROVE,
            P.VERIFICATION_SEND,
            P.VERIFICATION_ANSWER,
        }
    ),
    # Supervisors watch and reassign; they read records but do not settle them.
    Role.SUPERVISOR: frozenset(
        {
            P.SESSION_READ,
            P.CASE_LIST,
            P.CASE_READ,
            P.CASE_ASSIGN,
            P.CITIZEN_SEARCH,
            P.CITIZEN_READ,
            P.CHANGE_APPROVE,
            P.BATCH_READ,
            P.STATS_READ,
        }
    ),
    Role.HEALTH_OFFICER: frozenset({P.SESSION_READ, P.BATCH_UPLOAD, P.BATCH_READ, P.STATS_READ}),
    # A checkpoint sees a status colour, never a record.
    Role.VERIFIER: frozenset({P.SESSION_READ, P.LOOKUP_STATUS}),
    Role.ADMIN: frozenset({P.SESSION_READ, P.USER_MANAGE, P.AUDIT_VERIFY, P.STATS_READ}),
}

# The levels each role may be bound to (a ward officer belongs to one ward).
ROLE_LEVELS: dict[Role, frozenset[Level]] = {
    Role.WARD_OFFICER: frozenset({Level.WARD}),
    Role.SUPERVISOR: frozenset({Level.DISTRICT, Level.PROVINCE, Level.COUNTRY}),
    Role.HEALTH_OFFICER: frozenset({Level.PROVINCE, Level.COUNTRY}),
    Role.VERIFIER: frozenset({Level.WARD, Level.DISTRICT, Level.PROVINCE, Level.COUNTRY}),
    Role.ADMIN: frozenset({Level.COUNTRY}),
}

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.WARD_OFFICER: ("Cán bộ công an phường/xã", "ward officer"),
    Role.SUPERVISOR: ("Cán bộ giám sát (huyện/tỉnh)", "supervisor"),
    Role.HEALTH_OFFICER: ("Cán bộ dữ liệu y tế", "health data officer"),
    Role.VERIFIER: ("Đơn vị kiểm tra", "verifier"),
    Role.ADMIN: ("Quản trị", "administrator"),
}


def permissions_of(role: str) -> frozenset[Permission]:
    """The permissions of a role name; none for a name that is not a role (a withdrawn or unknown role)."""
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()


def level_allowed(role: Role, level: Level) -> bool:
    return level in ROLE_LEVELS[role]

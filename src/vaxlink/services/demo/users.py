"""Demo users for the simulated province: officers of two wards, a district and a province supervisor,
a health data officer. Passwords are generated here (or given by the caller) and returned for printing:
none is stored anywhere but as an argon2 hash."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from vaxlink.domain.permissions import Level, Role
from vaxlink.services.access.users import create_user, set_password
from vaxlink.storage.models import AdminUnitRow, AppUser, Case
from vaxlink.storage.scope import Scope


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    scope: str
    display_name: str


def _busiest_wards(session: Session, province: str) -> list[str]:
    """A ward with conflicts to settle and the most open cases, and a sibling ward of the same district."""
    conflicts = func.sum(case((Case.kind == "conflict", 1), else_=0))
    rows = session.execute(
        select(Case.ward_code, AdminUnitRow.parent_code)
        .join(
            AdminUnitRow,
            (AdminUnitRow.code == Case.ward_code)
            & (AdminUnitRow.structure == Case.ward_units)
            & (AdminUnitRow.level == "ward"),
        )
        .where(Case.status == "open", AdminUnitRow.province_code == province)
        .group_by(Case.ward_code, AdminUnitRow.parent_code)
        # A ward with conflicts, and of those the one with the most open cases (the most people): the
        # demo's users need a ward busy enough for a day's work.
        .order_by(case((conflicts > 0, 1), else_=0).desc(), func.count().desc(), Case.ward_code)
    ).all()
    if rows:
        first, district = str(rows[0][0]), rows[0][1]
    else:
        district = session.scalar(
            select(AdminUnitRow.code)
            .where(
                AdminUnitRow.structure == "legacy",
                AdminUnitRow.level == "district",
                AdminUnitRow.parent_code == province,
            )
            .order_by(AdminUnitRow.code)
        )
        first = ""
    siblings = [str(w) for w, d in rows[1:] if d == district]
    siblings += list(
        session.scalars(
            select(AdminUnitRow.code)
            .where(
                AdminUnitRow.structure == "legacy",
                AdminUnitRow.level == "ward",
                AdminUnitRow.parent_code == district,
            )
            .order_by(AdminUnitRow.code)
        )
    )
    wards = [first] if first else []
    for w in siblings:
        if w not in wards:
            wards.append(w)
    return wards[:2]


def create_demo_users(
    session: Session, province: str = "77", passwords: dict[str, str] | None = None
) -> list[DemoUser]:
    """Create (or reset the passwords of) the demo users; returns them with their passwords."""
    given = passwords or {}
    made = []
    for username, name, role, scope in _plan(session, province):
        password = given.get(username) or secrets.token_urlsafe(12)
        exists = session.scalar(select(AppUser.id).where(AppUser.username == username))
        if exists is None:
            create_user(
                session,
                username=username,
                display_name=name,
                role=role,
                scope=scope,
                password=password,
                actor="demo",
            )
        else:
            set_password(session, username, password, actor="demo")
        made.append(DemoUser(username, password, role.value, scope.label, name))
    return made


def _plan(session: Session, province: str) -> list[tuple[str, str, Role, Scope]]:
    """Username, display name, role and scope of each demo user."""
    wards = _busiest_wards(session, province)
    district = session.scalar(
        select(AdminUnitRow.parent_code).where(
            AdminUnitRow.structure == "legacy", AdminUnitRow.level == "ward", AdminUnitRow.code == wards[0]
        )
    )

    def name_of(level: str, code: str | None) -> str:
        found = session.scalar(
            select(AdminUnitRow.name).where(
                AdminUnitRow.structure == "legacy", AdminUnitRow.level == level, AdminUnitRow.code == code
            )
        )
        return str(found or code)

    ward_a, ward_b = name_of("ward", wards[0]), name_of("ward", wards[1])
    plan = [
        ("phuong_a", f"Cán bộ {ward_a} (A)", Role.WARD_OFFICER, Level.WARD, wards[0]),
        ("phuong_a2", f"Cán bộ thứ hai {ward_a}", Role.WARD_OFFICER, Level.WARD, wards[0]),
        ("phuong_b", f"Cán bộ {ward_b} (B)", Role.WARD_OFFICER, Level.WARD, wards[1]),
        (
            "giamsat_huyen",
            f"Giám sát {name_of('district', district)}",
            Role.SUPERVISOR,
            Level.DISTRICT,
            district,
        ),
        ("giamsat_tinh", f"Giám sát tỉnh {province}", Role.SUPERVISOR, Level.PROVINCE, province),
        ("yte_tinh", f"Cán bộ dữ liệu y tế tỉnh {province}", Role.HEALTH_OFFICER, Level.PROVINCE, province),
        ("kiem_tra", f"Điểm kiểm tra tỉnh {province}", Role.VERIFIER, Level.PROVINCE, province),
    ]
    return [
        (username, name, role, Scope(level, "legacy", code)) for username, name, role, level, code in plan
    ]

"""A small world for the web tests: three wards (A, its sibling B in district 748 of province 77, and C in
province 79), a citizen and open cases in each, and users of every role bound to every jurisdiction
relation with ward A."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from vaxlink.domain.names import canonical_name, fold_name, split_name
from vaxlink.domain.permissions import Role
from vaxlink.services.access.auth import open_session
from vaxlink.services.access.users import issue_token
from vaxlink.settings import Settings
from vaxlink.storage.models import (
    AppUser,
    Batch,
    Case,
    Citizen,
    DoseRecord,
    MatchResult,
    VerificationRequest,
)

WARD_A, WARD_B, DISTRICT, PROVINCE = "26560", "26554", "748", "77"
WARD_C, PROVINCE_C = "26734", "79"  # Phường Bến Nghé, TP.HCM (legacy codes)
# Where a user's jurisdiction lies, relative to ward A where the records under test live: (level, units,
# code). Ward A's code is also a ward of the 2025 structure (Phường Bà Rịa, province 79 of 2025): a
# different place, whose officer must not see ward A.
RELATIONS: dict[str, tuple[str, str, str | None]] = {
    "own_ward": ("ward", "legacy", WARD_A),
    "sibling_ward": ("ward", "legacy", WARD_B),
    "parent_district": ("district", "legacy", DISTRICT),
    "own_province": ("province", "legacy", PROVINCE),
    "other_province": ("province", "legacy", PROVINCE_C),
    "same_code_2025_ward": ("ward", "2025", WARD_A),
    "country": ("country", "legacy", None),
}
COVERS_A = {"own_ward", "parent_district", "own_province", "country"}
# The no-ward cases waiting in a province's queue, and the relations that see each.
NO_WARD_SEEN_BY = {PROVINCE: {"own_province", "country"}, PROVINCE_C: {"other_province", "country"}}
PASSWORD = "mat-khau-thu-nghiem"
_serial = itertools.count(1)


@dataclass
class Actor:
    username: str
    role: str
    relation: str
    token: str = ""
    cookie: str = ""
    csrf: str = ""


@dataclass
class World:
    batch_id: int
    citizens: dict[str, int] = field(default_factory=dict)  # ward → citizen id
    cases: dict[str, int] = field(default_factory=dict)  # ward → open conflict case id
    no_ward_cases: dict[str, int] = field(default_factory=dict)  # province → open case without a ward
    actors: dict[tuple[str, str], Actor] = field(default_factory=dict)


def now() -> datetime:
    return datetime.now(UTC)


def add_citizen(
    session: Session,
    ward: str,
    name: str = "Nguyễn Văn An",
    born: date = date(1990, 3, 15),
    sex: str = "M",
    phone: str | None = None,
) -> Citizen:
    n = next(_serial)
    canon = canonical_name(name)
    parts = split_name(canon)
    pid = f"0{'77' if ward != WARD_C else '79'}{0 if sex == 'M' else 1}{born.year % 100:02d}{n:06d}"
    c = Citizen(
        personal_id=pid,
        full_name=canon,
        name_key=fold_name(canon),
        family_name=parts.family,
        middle_name=parts.middle,
        given_name=parts.given,
        birth_date=born,
        birth_precision="day",
        birth_year=born.year,
        sex=sex,
        permanent_ward_code=ward,
        permanent_units="legacy",
        current_ward_code=ward,
        current_units="legacy",
        address=f"Số {n}, phường {ward}",
        phone=phone,
        row_hash=f"{n:032d}",
        version=1,
        status="active",
        created_at=now(),
        updated_at=now(),
    )
    session.add(c)
    session.flush()
    return c


def add_case(
    session: Session,
    batch_id: int,
    citizen: Citizen,
    *,
    kind: str = "conflict",
    name: str | None = None,
    dob: str = "15/03/1990",
    reasons: str = "DOB_TYPO;AMBIGUOUS_CANDIDATES",
    created: datetime | None = None,
    priority: int = 2,
) -> Case:
    n = next(_serial)
    d = DoseRecord(
        batch_id=batch_id,
        source="test",
        record_id=f"R{n}",
        version=1,
        is_latest=True,
        line_no=n,
        full_name=name or citizen.full_name.upper(),
        date_of_birth=dob,
        sex="Nam" if citizen.sex == "M" else "Nữ",
        id_number=None,
        ward_code=citizen.current_ward_code,
        vaccination_date=date(2021, 9, 1),
        dose_number=1,
        vaccine="AstraZeneca",
        vaccine_code="EU/1/21/1529",
    )
    session.add(d)
    session.flush()
    session.add(
        MatchResult(
            dose_record_id=d.id,
            outcome="review" if kind == "conflict" else "unmatched",
            candidate_citizen_id=citizen.id,
            score=0.7,
            reasons=reasons,
            flags="",
            ward_code=citizen.current_ward_code,
            ward_units="legacy",
            decided_at=now(),
            version=1,
        )
    )
    k = Case(
        kind=kind,
        status="open",
        priority=priority,
        ward_code=citizen.current_ward_code,
        ward_units="legacy",
        province_code=PROVINCE_C if citizen.current_ward_code == WARD_C else PROVINCE,
        dose_record_id=d.id,
        citizen_id=citizen.id,
        details={
            "candidates": [
                {
                    "citizen_id": citizen.id,
                    "weight": 5.5,
                    "id": "ID_MISSING",
                    "name": "NAME_DIACRITICS",
                    "dob": "DOB_TYPO",
                    "sex": "SEX_SAME",
                    "ward": "WARD_SAME",
                    # Parts of the weight as the matcher stores them; 1.5 bits came from the person's other
                    # records.
                    "weights": {"prior": -16.0, "id": 0.0, "name": 9.0, "dob": 5.0, "sex": 1.0, "ward": 5.0},
                }
            ]
        },
        created_at=created or now() - timedelta(days=3),
        due_at=now() + timedelta(days=4),
        version=1,
    )
    session.add(k)
    session.flush()
    return k


def add_no_ward_case(session: Session, batch_id: int, province: str) -> Case:
    """An unmatched record no ward could be told for: it waits in the province's queue."""
    n = next(_serial)
    d = DoseRecord(
        batch_id=batch_id,
        source="test",
        record_id=f"R{n}",
        version=1,
        is_latest=True,
        line_no=n,
        full_name="NGUYEN VAN KHONG PHUONG",
        date_of_birth="01/01/1970",
        sex="Nam",
        id_number=None,
        ward_code=None,
        vaccination_date=date(2021, 9, 1),
        dose_number=1,
        vaccine="AstraZeneca",
        vaccine_code="EU/1/21/1529",
    )
    session.add(d)
    session.flush()
    k = Case(
        kind="unmatched",
        status="open",
        priority=1,
        ward_code=None,
        ward_units="legacy",
        province_code=province,
        dose_record_id=d.id,
        details={"candidates": []},
        created_at=now() - timedelta(days=2),
        due_at=now() + timedelta(days=5),
        version=1,
    )
    session.add(k)
    session.flush()
    return k


def add_user(
    session: Session, username: str, role: str, level: str, code: str | None, units: str = "legacy"
) -> AppUser:
    # Built directly: the matrix binds every role to every level, including ones `create_user` refuses,
    # to show that the permission alone decides.
    from vaxlink.services.access.auth import hash_password

    if PASSWORD not in _HASH_CACHE:
        _HASH_CACHE[PASSWORD] = hash_password(PASSWORD)
    u = AppUser(
        username=username,
        display_name=username,
        password_hash=_HASH_CACHE[PASSWORD],
        role=role,
        scope_level=level,
        scope_units=units,
        scope_code=code,
        active=True,
        token_version=1,
        failed_logins=0,
        created_at=now(),
        updated_at=now(),
    )
    session.add(u)
    session.flush()
    return u


_HASH_CACHE: dict[str, str] = {}


def build(session: Session, settings: Settings, *, actors: bool = True) -> World:
    b = Batch(
        source="test", checksum="x" * 64, file_name="t.csv", status="done", rows_total=0, created_at=now()
    )
    session.add(b)
    session.flush()
    w = World(batch_id=b.id)
    for ward, name, sex in (
        (WARD_A, "Trần Thị Bích", "F"),
        (WARD_B, "Lê Văn Cường", "M"),
        (WARD_C, "Phạm Minh Đức", "M"),
    ):
        c = add_citizen(session, ward, name, sex=sex, phone=f"09{next(_serial):08d}")
        w.citizens[ward] = c.id
        w.cases[ward] = add_case(session, b.id, c).id
    for province in (PROVINCE, PROVINCE_C):
        w.no_ward_cases[province] = add_no_ward_case(session, b.id, province).id
    if actors:
        for role in Role:
            for relation, (level, units, code) in RELATIONS.items():
                name = f"{role.value}_{relation}"
                u = add_user(session, name, role.value, level, code, units)
                raw, us = open_session(session, settings, u)
                a = Actor(name, role.value, relation, cookie=raw, csrf=us.csrf_secret)
                a.token = issue_token(session, name, "test", actor="test")
                w.actors[(role.value, relation)] = a
    session.flush()
    return w


def cookie_headers(a: Actor) -> dict[str, str]:
    return {"cookie": f"vaxlink_session={a.cookie}"}


def fingerprint(session: Session) -> tuple[Any, ...]:
    """Everything a request could change, audit aside."""
    from sqlalchemy import text

    q = {
        "cases": "SELECT count(*), coalesce(sum(version), 0), coalesce(sum(length(status)), 0) FROM work_case",
        "citizens": "SELECT count(*), coalesce(sum(version), 0) FROM citizen",
        "results": "SELECT count(*), coalesce(sum(version), 0) FROM match_result",
        "changes": "SELECT count(*) FROM citizen_change",
        "sessions": "SELECT count(*), count(revoked_at) FROM user_session",
        "users": "SELECT count(*), coalesce(sum(token_version), 0), coalesce(sum(failed_logins), 0) FROM app_user",
        "status": "SELECT count(*) FROM citizen_status",
    }
    return tuple(tuple(session.execute(text(sql)).one()) for sql in q.values())


def add_pending_change(session: Session, citizen: Citizen, requested_by: str = "someone_else") -> Case:
    k = Case(
        kind="register_change",
        status="pending_approval",
        priority=3,
        ward_code=citizen.current_ward_code,
        ward_units="legacy",
        province_code=PROVINCE_C if citizen.current_ward_code == WARD_C else PROVINCE,
        citizen_id=citizen.id,
        details={
            "field": "full_name",
            "old": citizen.full_name,
            "new": citizen.full_name + " Ngọc",
            "reason": "sai chính tả",
            "evidence": "CCCD",
            "requested_by": requested_by,
            "citizen_version": citizen.version,
            "source": "counter",
        },
        created_at=now(),
        due_at=now() + timedelta(days=3),
        version=1,
    )
    session.add(k)
    session.flush()
    return k


def add_verification_request(
    session: Session, from_ward: str, to_ward: str, person: dict[str, Any], created_by: str = "someone_else"
) -> VerificationRequest:
    """An open request from one ward to another, without a case behind it: a record the two wards (and
    the supervisors above them) may see, and no one else."""
    r = VerificationRequest(
        from_units="legacy",
        from_ward_code=from_ward,
        to_units="legacy",
        to_ward_code=to_ward,
        person=person,
        status="open",
        created_at=now(),
        created_by=created_by,
        due_at=now() + timedelta(days=7),
        version=1,
    )
    session.add(r)
    session.flush()
    return r

"""New residents: a person who has no personal identification number is entered in the register and given
one that follows the rules (place of birth registration, sex and century, birth year, a random part), and
a printable notice of it.

A number this system has issued is kept in `issued_number` for ever, so that it is never issued again,
not even after the citizen row is changed or its number cancelled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vaxlink.credentials.pdf import render_id_notice_pdf
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import RequestStatus
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.names import canonical_name, fold_name, split_name
from vaxlink.domain.personal_ids import compose_personal_id, is_known_place
from vaxlink.domain.phones import usable_phone
from vaxlink.domain.sex import Sex, parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench.casework import (
    audited,
    citizen_in_scope,
    created,
    keep_figures,
    ward_row,
)
from vaxlink.storage.models import (
    AuditEvent,
    Citizen,
    CitizenAlias,
    CitizenChange,
    IssuedNumber,
    VerificationRequest,
    utcnow,
)
from vaxlink.storage.register_log import register_changed

# A clash with a number already taken is about one in a million per draw for a given prefix; running out
# of tries means something other than chance (a full prefix, a broken generator).
MAX_DRAWS = 50


class SamePerson(Invalid):
    """The person may already have a number (in the register) or be about to get one (an open request).
    `details` (internal ids only) goes into the refusal's audit event, where a second officer's
    confirmation finds it."""

    status = 409
    code = "SAME_PERSON"

    def __init__(self, message_vi: str, message_en: str, details: dict[str, Any]) -> None:
        super().__init__(message_vi, message_en, "SAME_PERSON")
        self.details = details


# How long a first officer's refused attempt waits for a second officer's confirmation.
CONFIRM_WITHIN = timedelta(days=1)


def same_person(
    session: Session, name_key: str, born: PartialDate, sex: Sex, exclude_request: int | None = None
) -> dict[str, list[int]]:
    """Ids of the active citizens and open verification requests for a person of the same normalised name,
    birth date and sex."""
    citizens = list(
        session.scalars(
            select(Citizen.id)
            .where(
                Citizen.name_key == name_key,
                Citizen.birth_year == born.year,
                Citizen.birth_date == born.earliest(),
                Citizen.sex == sex.value,
                Citizen.status == "active",
            )
            .order_by(Citizen.id)
            .limit(5)
        )
    )
    requests = []
    for rid, person in session.execute(
        select(VerificationRequest.id, VerificationRequest.person)
        .where(VerificationRequest.status == RequestStatus.OPEN)
        .order_by(VerificationRequest.id)
    ):
        p = dict(person or {})
        theirs = parse_date(str(p.get("birth_date") or ""))
        if (
            rid != exclude_request
            and fold_name(canonical_name(str(p.get("full_name") or ""))) == name_key
            and isinstance(theirs, PartialDate)
            and theirs.earliest() == born.earliest()
            and parse_sex(str(p.get("sex") or "")) == sex
        ):
            requests.append(int(rid))
    return {"citizens": citizens, "requests": requests[:5]} if citizens or requests else {}


def _check_same_person(
    session: Session, actor: str, found: dict[str, list[int]], confirmed: bool
) -> str | None:
    """Refuse a new number for someone who may have one, unless a second officer confirms after another
    officer's attempt was refused for the same existing entries; returns the first officer's name."""
    if not found:
        return None
    if confirmed:
        since = utcnow() - CONFIRM_WITHIN
        for first, details in session.execute(
            select(AuditEvent.actor, AuditEvent.details)
            .where(
                AuditEvent.action == "action_refused",
                AuditEvent.reason == "SAME_PERSON",
                AuditEvent.at >= since,
            )
            .order_by(AuditEvent.id.desc())
            .limit(200)
        ):
            if first != actor and dict(details or {}).get("same_as") == found:
                return str(first)
    named = [f"hồ sơ công dân #{i}" for i in found.get("citizens", [])]
    named += [f"yêu cầu xác minh #{i}" for i in found.get("requests", [])]
    named_en = [f"citizen #{i}" for i in found.get("citizens", [])]
    named_en += [f"verification request #{i}" for i in found.get("requests", [])]
    second = (
        "; một cán bộ khác phải xác nhận đây là người khác"
        if not confirmed
        else "; lần xác nhận này phải do một cán bộ khác với người đã gửi lần đầu"
    )
    raise SamePerson(
        "Đã có người cùng họ tên, ngày sinh và giới tính: " + ", ".join(named) + second,
        "someone of the same name, birth date and sex is already there: "
        + ", ".join(named_en)
        + (
            "; another officer must confirm this is a different person"
            if not confirmed
            else "; the confirmation must come from an officer other than the first"
        ),
        {"same_as": found},
    )


class NumbersExhausted(Invalid):
    def __init__(self) -> None:
        super().__init__(
            "Không cấp được số định danh mới; hãy thử lại",
            "no new personal identification number could be drawn; try again",
            "NUMBER_EXHAUSTED",
        )


@dataclass
class NewPerson:
    """A person as an officer collected them."""

    full_name: str
    birth_date: str
    sex: str
    permanent_ward_code: str
    current_ward_code: str
    units: str = "legacy"
    address: str | None = None
    phone: str | None = None
    # Province (2 digits, pre-2025 code) where the birth was registered; by default the province of the
    # permanent residence, which is where most people's births were registered.
    birth_province: str | None = None


def _taken(session: Session, number: str) -> bool:
    return (
        session.scalar(select(IssuedNumber.personal_id).where(IssuedNumber.personal_id == number).limit(1))
        is not None
        or session.scalar(
            select(Citizen.id)
            .where(
                or_(
                    Citizen.personal_id == number,
                    Citizen.id.in_(select(CitizenAlias.citizen_id).where(CitizenAlias.alias == number)),
                )
            )
            .limit(1)
        )
        is not None
    )


def draw_number(place_code: str, sex: Sex, birth_year: int) -> str:
    """One candidate number: the fixed parts and six digits from the system's CSPRNG."""
    return compose_personal_id(place_code, sex, birth_year, secrets.randbelow(1_000_000))


def issue_number(session: Session, place_code: str, sex: Sex, birth_year: int, issued_by: str) -> str:
    """Reserve a new number in `issued_number` (its primary key makes a second issue impossible, even by
    two officers at the same moment: the loser's insert fails and it draws again)."""
    for _ in range(MAX_DRAWS):
        number = draw_number(place_code, sex, birth_year)
        if _taken(session, number):
            continue
        try:
            with session.begin_nested():
                session.add(IssuedNumber(personal_id=number, issued_at=utcnow(), issued_by=issued_by))
        except IntegrityError:
            continue
        return number
    raise NumbersExhausted()


def checked_identity(
    full_name: str, birth_date: str, sex_text: str, today: date
) -> tuple[str, PartialDate, Sex]:
    """A person's name, birth date (not after `today`) and sex as an officer typed them, read or refused."""
    name = canonical_name(full_name or "")
    if not name or any(ch.isdigit() for ch in name):
        raise Invalid("Họ tên không hợp lệ", "not a full name", "BAD_NAME")
    born = parse_date(birth_date or "")
    if not isinstance(born, PartialDate) or born.earliest() > today:
        raise Invalid("Ngày sinh không đọc được", "the date of birth cannot be read", "BAD_DATE")
    sex = parse_sex(sex_text)
    if sex is None:
        raise Invalid("Giới tính phải là Nam hoặc Nữ", "sex must be Nam or Nữ", "BAD_SEX")
    return name, born, sex


def _birth_place(session: Session, person: NewPerson) -> str:
    """The place code of the birth registration: the province given, or the permanent residence's (legacy
    units only); both wards must be in the catalogue."""
    permanent = ward_row(session, person.units, person.permanent_ward_code)
    if permanent is None or ward_row(session, person.units, person.current_ward_code) is None:
        raise Invalid("Mã phường/xã không có trong danh mục", "no ward with that code", "UNKNOWN_WARD")
    # Birth registration is read against the pre-2025 province table; a 2025 province code is not one.
    province = person.birth_province or (permanent.province_code if person.units == "legacy" else "")
    place = f"0{province}" if len(province) == 2 else province
    if not is_known_place(place):
        raise Invalid(
            "Cần mã tỉnh nơi đăng ký khai sinh (danh mục trước 2025)",
            "the province of birth registration (pre-2025 code) is needed",
            "BAD_BIRTH_PROVINCE",
        )
    return place


def _citizen_row(number: str, name: str, born: PartialDate, sex: Sex, person: NewPerson) -> Citizen:
    parts = split_name(name)
    now = utcnow()
    phone = usable_phone(person.phone)
    content = "|".join(
        [number, name, born.iso(), sex.value, person.permanent_ward_code, person.current_ward_code]
    )
    return Citizen(
        personal_id=number,
        full_name=name,
        name_key=fold_name(name),
        family_name=parts.family,
        middle_name=parts.middle,
        given_name=parts.given,
        birth_date=born.earliest(),
        birth_precision=born.precision.value,
        birth_year=born.year,
        sex=sex.value,
        permanent_ward_code=person.permanent_ward_code,
        permanent_units=person.units,
        current_ward_code=person.current_ward_code,
        current_units=person.units,
        address=(person.address or None) and person.address[:400],
        phone=phone,
        row_hash=hashlib.md5(content.encode(), usedforsecurity=False).hexdigest(),
        status="active",
        version=1,
        created_at=now,
        updated_at=now,
    )


def register_citizen(
    session: Session,
    actor: str,
    jurisdiction: str | None,
    person: NewPerson,
    source: str,
    *,
    confirm_other_person: bool = False,
    exclude_request: int | None = None,
) -> Citizen:
    """Enter a person without a number in the register: a new number, the citizen row, its history and
    the audit event, all in the caller's transaction.

    A person of the same normalised name, birth date and sex in the register or in an open verification
    request is refused (`SamePerson`, naming the entries), unless a second officer confirms
    (`confirm_other_person`) after another officer's attempt was refused for the same entries."""
    name, born, sex = checked_identity(person.full_name, person.birth_date, person.sex, date.today())
    first_officer = _check_same_person(
        session,
        actor,
        same_person(session, fold_name(name), born, sex, exclude_request),
        confirm_other_person,
    )
    place = _birth_place(session, person)
    try:
        number = issue_number(session, place, sex, born.year, actor)
    except ValueError:
        raise Invalid("Năm sinh không hợp lệ", "birth year out of range", "BAD_DATE") from None
    citizen = _citizen_row(number, name, born, sex, person)
    session.add(citizen)
    session.flush()
    issued = session.get(IssuedNumber, number)
    assert issued is not None
    issued.citizen_id = citizen.id
    session.add(
        CitizenChange(
            citizen_id=citizen.id,
            field="personal_id",
            old_value=None,
            new_value=number,
            reason="Cấp số định danh cho cư dân mới / number issued to a new resident",
            source=source[:60],
            changed_at=citizen.created_at,
            changed_by=actor,
        )
    )
    session.flush()
    register_changed(session.connection(), [citizen.id])
    created(session, citizens=[citizen.id])
    audit.record(
        session,
        actor=actor,
        action=AuditAction.CITIZEN_REGISTERED,
        resource_type="citizen",
        resource_id=citizen.id,
        jurisdiction=jurisdiction,
        details={"source": source, "ward_code": person.current_ward_code}
        | ({"same_person_first_officer": first_officer} if first_officer else {}),
    )
    return citizen


def register_in_ward(
    session: Session, who: Principal, person: NewPerson, *, confirm_other_person: bool = False
) -> Citizen:
    """An officer registers a person who lives in their own ward (the counter, a household visit)."""
    if who.scope.code is None or who.scope.level.value != "ward":
        raise Invalid(
            "Chỉ cán bộ phường/xã mới đăng ký cư dân", "only a ward officer registers residents", "NOT_A_WARD"
        )
    person.current_ward_code, person.units = who.scope.code, who.scope.units
    citizen = register_citizen(
        session, who.username, who.scope.label, person, "counter", confirm_other_person=confirm_other_person
    )
    keep_figures(session)
    return citizen


def id_notice(session: Session, who: Principal, citizen_id: int) -> bytes:
    """The printable notice of a citizen's number (PDF); a citizen outside the jurisdiction is not found."""
    c = citizen_in_scope(session, who, citizen_id)
    ward = ward_row(session, c.current_units, c.current_ward_code)
    unit = ward.name if ward is not None else None
    birth: PartialDate | date | str = c.birth_date
    if c.birth_precision == "year":
        birth = str(c.birth_year)
    audited(session, who, AuditAction.ID_NOTICE_PRINTED, "citizen", c.id)
    return render_id_notice_pdf(
        c.full_name,
        c.personal_id,
        birth,
        issued_on=date.today(),
        authority=f"Công an {unit}" if unit else "Công an phường/xã",
    )

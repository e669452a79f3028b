"""Collecting a new resident from a case: the person as the health record names them (to prefill the request
to the ward of permanent residence), or, when that ward is the officer's own, registered at once with a new
number, the case's record linked and the case closed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import CaseStatus, Resolution
from vaxlink.domain.dates import PartialDate, parse_birth_date
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.domain.sex import parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench.casework import audited, refresh_after_links
from vaxlink.services.workbench.new_residents import NewPerson, register_citizen
from vaxlink.services.workbench.ward_requests import (
    Person,
    clean_person,
    collection_case,
    link_doses,
    move_case,
    own_ward,
)
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import DoseRecord, utcnow
from vaxlink.storage.scope import cases_in


def register_own_resident(
    session: Session,
    who: Principal,
    person: Person,
    *,
    birth_province: str | None = None,
    case_id: int | None = None,
    case_version: int | None = None,
) -> int:
    """A collected person whose permanent residence is the officer's own ward: nobody else to ask, so the
    ward registers them at once (a new number), links the case's dose record and closes the case.
    Returns the new citizen's id."""
    ward = own_ward(who)
    units = who.scope.units
    cleaned = clean_person(session, units, person)
    if cleaned["permanent_ward_code"] != ward:
        raise Invalid(
            "Người thường trú ở phường/xã khác: hãy gửi yêu cầu xác minh",
            "the person's permanent residence is another ward: send a verification request",
            "OTHER_WARD",
        )
    case = collection_case(session, who, case_id, case_version) if case_id is not None else None
    citizen = register_citizen(
        session,
        who.username,
        who.scope.label,
        NewPerson(
            full_name=cleaned["full_name"],
            birth_date=cleaned["birth_date"],
            sex=cleaned["sex"],
            permanent_ward_code=ward,
            current_ward_code=ward,
            units=units,
            address=cleaned.get("address"),
            phone=cleaned.get("phone"),
            birth_province=birth_province or None,
        ),
        f"case:{case.id}" if case is not None else "counter",
    )
    now = utcnow()
    dose_ids = [case.dose_record_id] if case is not None and case.dose_record_id is not None else []
    _, previous = link_doses(session, who, dose_ids, citizen.id, now)
    if case is not None:
        move_case(
            session,
            case,
            status=CaseStatus.CLOSED,
            entry={"action": "registered", "citizen_id": citizen.id},
            by=who.username,
            now=now,
            resolution=Resolution.REGISTERED,
            resolution_note=None,
            closed_at=now,
            citizen_id=citizen.id,
        )
    refresh_after_links(session, {citizen.id, *previous})
    audited(
        session,
        who,
        AuditAction.RESIDENT_REGISTERED,
        "citizen",
        citizen.id,
        details={"case_id": case.id if case is not None else None, "dose_record_ids": dose_ids},
    )
    return citizen.id


def _shown_birth(born: object) -> str:
    if not isinstance(born, PartialDate):
        return ""
    return born.earliest().strftime("%d/%m/%Y") if born.day is not None else born.iso()


def collection_person(session: Session, who: Principal, case_id: int) -> tuple[CaseRow, Person]:
    """A case in collection and the person as the health record names them, to prefill the request."""
    case = collection_case(session, who, case_id, None)
    dose = session.get(DoseRecord, case.dose_record_id) if case.dose_record_id else None
    born = (
        parse_birth_date(dose.date_of_birth, dose_on=dose.vaccination_date)
        if dose and dose.date_of_birth
        else None
    )
    sex = parse_sex(dose.sex) if dose else None
    return case, Person(
        full_name=(dose.full_name if dose else "") or "",
        birth_date=_shown_birth(born),
        sex=sex.value if sex else "",
        permanent_ward_code="",
        personal_id=strip_separators(dose.id_number or "") if dose else None,
        phone=dose.phone if dose else None,
        address=dose.address if dose else None,
    )


def cases_awaiting_collection(session: Session, who: Principal) -> list[int]:
    """The hand-over point to verification between wards: cases in `collection` in the jurisdiction."""
    return list(
        session.scalars(
            select(CaseRow.id)
            .where(cases_in(who.scope), CaseRow.status == CaseStatus.COLLECTION)
            .order_by(CaseRow.id)
        )
    )

"""Verification between wards: the ward where a long-term temporary resident lives collects them and asks
the ward of permanent residence who they are; that ward confirms (an existing citizen, or a new register
entry) or rejects with a reason. On confirmation the person's dose records are linked.

A request concerns both wards and the supervisors above them: every query goes through
`storage.scope.verification_requests_in`, so that anyone else is told "not found". Answers are guarded by
the row's `version`: of two officers answering at once, one wins and the other gets a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import CaseStatus, RequestStatus, Resolution
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.names import fold_name
from vaxlink.domain.outcomes import WAITING_OUTCOMES, MatchOutcome
from vaxlink.domain.permissions import Level
from vaxlink.domain.personal_ids import PersonalId, parse_personal_id, strip_separators
from vaxlink.domain.phones import usable_phone
from vaxlink.services.access.auth import Principal
from vaxlink.services.certificates.issuance import revoke_for_doses
from vaxlink.services.errors import Conflict, Invalid, NotFound, NotTheAskedWard
from vaxlink.services.workbench.casework import (
    audited,
    created,
    digits,
    guarded_update,
    history,
    keep_figures,
    refresh_after_links,
    ward_row,
    watch,
)
from vaxlink.services.workbench.new_residents import NewPerson, checked_identity, register_citizen
from vaxlink.settings import Settings
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen, DoseRecord, MatchResult, VerificationRequest, utcnow
from vaxlink.storage.scope import cases_in, citizens_in, verification_requests_in, ward_clause

DUE = timedelta(days=7)
# Other open records of the same person are looked for among this many of the ward's open records.
SIBLING_SCAN = 500


def changed_meanwhile() -> Conflict:
    return Conflict(
        "Yêu cầu vừa được người khác xử lý; hãy tải lại trang",
        "someone else has just answered or changed this request; reload it",
        "VERSION_CONFLICT",
    )


@dataclass
class Person:
    full_name: str
    birth_date: str
    sex: str
    permanent_ward_code: str
    personal_id: str | None = None
    phone: str | None = None
    address: str | None = None


def clean_person(session: Session, units: str, p: Person) -> dict[str, Any]:
    """The person as the request stores them: identity checked, number and phone read, the ward known."""
    name, born, sex = checked_identity(p.full_name, p.birth_date, p.sex, utcnow().date())
    claimed = strip_separators(p.personal_id or "")
    if claimed:
        pid = parse_personal_id(claimed)
        if not isinstance(pid, PersonalId):
            raise Invalid("Số định danh không hợp lệ", "not a valid personal identification number", "BAD_ID")
        claimed = pid.number
    phone = usable_phone(p.phone) if digits(p.phone) else ""
    if phone is None:
        raise Invalid("Số điện thoại không hợp lệ", "not a phone number", "BAD_PHONE")
    ward = ward_row(session, units, p.permanent_ward_code)
    if ward is None:
        raise Invalid("Mã phường/xã không có trong danh mục", "no ward with that code", "UNKNOWN_WARD")
    return {
        "full_name": name,
        "birth_date": born.iso(),
        "sex": sex.value,
        "personal_id": claimed or None,
        "phone": phone or None,
        "address": (p.address or "").strip()[:400] or None,
        "permanent_ward_code": ward.code,
    }


def own_ward(who: Principal) -> str:
    if who.scope.level is not Level.WARD or who.scope.code is None:
        raise Invalid(
            "Chỉ cán bộ phường/xã gửi yêu cầu xác minh",
            "only a ward officer sends verification requests",
            "NOT_A_WARD",
        )
    return who.scope.code


def collection_case(session: Session, who: Principal, case_id: int, version: int | None) -> CaseRow:
    """A case of the jurisdiction in collection, at the version the officer read (if they name one)."""
    case = session.scalar(select(CaseRow).where(CaseRow.id == case_id, cases_in(who.scope)))
    if case is None:
        raise NotFound("case")
    if case.status != CaseStatus.COLLECTION or (version is not None and case.version != version):
        raise changed_meanwhile()
    return case


def send_request(
    session: Session,
    who: Principal,
    person: Person,
    *,
    case_id: int | None = None,
    case_version: int | None = None,
    due: timedelta = DUE,
) -> int:
    """Ask the ward of permanent residence to confirm who the collected person is. From a case in
    `collection` the case waits for the answer (guarded by its version); from the counter there is none."""
    from_ward = own_ward(who)
    units = who.scope.units
    cleaned = clean_person(session, units, person)
    if cleaned["permanent_ward_code"] == from_ward:
        raise Invalid(
            "Người thường trú tại phường/xã này: không cần xác minh",
            "the person's permanent residence is this ward: nothing to verify",
            "SAME_WARD",
        )
    now = utcnow()
    case = collection_case(session, who, case_id, case_version) if case_id is not None else None
    req = VerificationRequest(
        from_units=units,
        from_ward_code=from_ward,
        to_units=units,
        to_ward_code=cleaned["permanent_ward_code"],
        person=cleaned,
        case_id=case.id if case else None,
        status=RequestStatus.OPEN,
        created_at=now,
        created_by=who.username,
        due_at=now + due,
        version=1,
    )
    session.add(req)
    session.flush()
    created(session, verification_requests=[req.id])
    if case is not None:
        _case_waits(session, who, case, req, now)
    keep_figures(session)
    audited(
        session,
        who,
        AuditAction.VERIFICATION_SENT,
        "verification_request",
        req.id,
        details={"to_ward": req.to_ward_code, "case_id": req.case_id},
    )
    return req.id


def _case_waits(
    session: Session, who: Principal, case: CaseRow, req: VerificationRequest, now: datetime
) -> None:
    """The case in collection waits for the request's answer, due when the request is."""
    watch(session, cases=[case.id])
    entry = {"action": "verification_sent", "request_id": req.id, "to": req.to_ward_code}
    guarded_update(
        session,
        case,
        case.version,
        CaseRow.status == CaseStatus.COLLECTION,
        conflict=changed_meanwhile,
        due_at=req.due_at,
        details=history(case, who.username, now, entry),
    )
    session.expire(case)


def in_scope(session: Session, who: Principal, request_id: int) -> VerificationRequest:
    r = session.scalar(
        select(VerificationRequest).where(
            VerificationRequest.id == request_id, verification_requests_in(who.scope)
        )
    )
    if r is None:
        raise NotFound("verification_request")
    return r


def _person_records(session: Session, r: VerificationRequest, case: CaseRow | None) -> list[int]:
    """The person's open dose records: the case's, and other open records of the two wards that carry the
    same claimed number, or the same name (folded) and birth date."""
    ids: list[int] = []
    if case is not None and case.dose_record_id is not None:
        ids.append(case.dose_record_id)
    p = r.person or {}
    key = fold_name(p.get("full_name") or "")
    born = parse_date(p.get("birth_date") or "")
    rows = session.execute(
        select(DoseRecord.id, DoseRecord.full_name, DoseRecord.date_of_birth, DoseRecord.id_number)
        .join(MatchResult, MatchResult.dose_record_id == DoseRecord.id)
        .where(
            DoseRecord.is_latest,
            MatchResult.outcome.in_(WAITING_OUTCOMES),
            MatchResult.ward_units == r.from_units,
            MatchResult.ward_code.in_((r.from_ward_code, r.to_ward_code)),
        )
        .order_by(DoseRecord.id)
        .limit(SIBLING_SCAN)
    ).all()
    for dose_id, name, dob, id_number in rows:
        if dose_id in ids:
            continue
        same_id = bool(p.get("personal_id")) and strip_separators(id_number or "") == p["personal_id"]
        d = parse_date(dob) if dob else None
        same_person = (
            key
            and fold_name(name or "") == key
            and isinstance(d, PartialDate)
            and isinstance(born, PartialDate)
            and d == born
        )
        if same_id or same_person:
            ids.append(dose_id)
    return ids


@dataclass
class Answer:
    request_id: int
    status: str
    citizen_id: int | None
    linked_dose_records: list[int] = field(default_factory=list)


def update_open_request(
    session: Session, r: VerificationRequest, version: int, *where: Any, **values: Any
) -> None:
    """The guarded write on an open request: only the holder of `version` changes it; anyone else gets a
    Conflict."""
    open_now = VerificationRequest.status == RequestStatus.OPEN
    guarded_update(session, r, version, open_now, *where, conflict=changed_meanwhile, **values)
    session.expire(r)


def _open_asked(
    session: Session,
    who: Principal,
    request_id: int,
    version: int,
    *,
    confirm: bool,
    citizen_id: int | None,
    create_new: bool,
    reason: str,
) -> VerificationRequest:
    """The request, open at the version the officer read, asked of the officer's ward; and an answer that
    says enough (a reason to reject, one citizen to confirm)."""
    r = in_scope(session, who, request_id)
    asked = session.scalar(
        select(VerificationRequest.id).where(
            VerificationRequest.id == r.id,
            ward_clause(who.scope, VerificationRequest.to_units, VerificationRequest.to_ward_code),
        )
    )
    if asked is None:
        raise NotTheAskedWard()
    if r.status != RequestStatus.OPEN or r.version != version:
        raise changed_meanwhile()
    if not confirm and not reason:
        raise Invalid("Cần ghi lý do từ chối", "a reason is required to reject", "REASON_REQUIRED")
    if confirm and (citizen_id is None) == (not create_new):
        raise Invalid(
            "Chọn một công dân trong sổ hoặc đăng ký người mới",
            "choose a citizen of the register or register a new one",
            "CHOOSE_CITIZEN",
        )
    return r


def _answered(
    session: Session,
    who: Principal,
    r: VerificationRequest,
    version: int,
    status: RequestStatus,
    reason: str,
    now: datetime,
) -> None:
    """The guarded write: the loser of a race learns it before anything else is changed."""
    watch(session, verification_requests=[r.id])
    update_open_request(
        session,
        r,
        version,
        status=status,
        answered_at=now,
        answered_by=who.username,
        answer_reason=reason or None,
    )


def _rejected(
    session: Session, who: Principal, r: VerificationRequest, case: CaseRow | None, reason: str, now: datetime
) -> Answer:
    """A rejection: the requesting ward's case goes back to its worklist."""
    if case is not None and case.status == CaseStatus.COLLECTION:
        move_case(
            session,
            case,
            status=CaseStatus.OPEN,
            entry={"action": "verification_rejected", "request_id": r.id, "reason": reason[:400]},
            by=who.username,
            now=now,
        )
    keep_figures(session)
    audited(
        session,
        who,
        AuditAction.VERIFICATION_REJECTED,
        "verification_request",
        r.id,
        reason=reason,
        details={"case_id": r.case_id},
    )
    return Answer(r.id, RequestStatus.REJECTED, None)


def _confirmed_citizen(
    session: Session,
    who: Principal,
    r: VerificationRequest,
    *,
    citizen_id: int | None,
    create_new: bool,
    birth_province: str | None,
) -> Citizen:
    """The person the asked ward confirms: entered in the register now, or one of its citizens (living in
    the jurisdiction or registered there as permanent residents)."""
    if create_new:
        p = dict(r.person or {})
        return register_citizen(
            session,
            who.username,
            who.scope.label,
            NewPerson(
                full_name=p["full_name"],
                birth_date=p["birth_date"],
                sex=p["sex"],
                permanent_ward_code=r.to_ward_code,
                current_ward_code=r.from_ward_code,
                units=r.to_units,
                address=p.get("address"),
                phone=p.get("phone"),
                birth_province=birth_province or None,
            ),
            f"verification:{r.id}",
            exclude_request=r.id,
        )
    found = session.scalar(
        select(Citizen).where(
            Citizen.id == citizen_id,
            or_(
                citizens_in(who.scope),
                ward_clause(who.scope, Citizen.permanent_units, Citizen.permanent_ward_code),
            ),
        )
    )
    if found is None:
        raise NotFound("citizen")
    return found


def answer_request(
    session: Session,
    settings: Settings | None,
    who: Principal,
    request_id: int,
    version: int,
    *,
    confirm: bool,
    citizen_id: int | None = None,
    create_new: bool = False,
    birth_province: str | None = None,
    reason: str | None = None,
) -> Answer:
    """The asked ward's answer. Confirmed: the person is an existing citizen of the ward (found by search)
    or is entered in the register now; their dose records are linked and the requesting ward's case
    closes. Rejected: a reason is required and the requesting ward's case goes back to its worklist."""
    reason = (reason or "").strip()
    r = _open_asked(
        session,
        who,
        request_id,
        version,
        confirm=confirm,
        citizen_id=citizen_id,
        create_new=create_new,
        reason=reason,
    )
    now = utcnow()
    _answered(
        session, who, r, version, RequestStatus.CONFIRMED if confirm else RequestStatus.REJECTED, reason, now
    )
    case = session.get(CaseRow, r.case_id) if r.case_id is not None else None
    if not confirm:
        return _rejected(session, who, r, case, reason, now)
    citizen = _confirmed_citizen(
        session, who, r, citizen_id=citizen_id, create_new=create_new, birth_province=birth_province
    )
    session.execute(
        update(VerificationRequest)
        .where(VerificationRequest.id == r.id)
        .values(citizen_id=citizen.id)
        .execution_options(synchronize_session=False)
    )
    dose_ids = _person_records(session, r, case)
    moved, previous = link_doses(session, who, dose_ids, citizen.id, now)
    if settings is not None and moved:
        revoke_for_doses(
            session,
            settings,
            moved,
            "Mũi tiêm được gắn lại sau xác minh / dose re-linked after verification",
            actor=who.username,
        )
    closed = _close_cases(session, who, r, case, dose_ids, citizen.id, now)
    refresh_after_links(session, {citizen.id, *previous}, actor=who.username, settings=settings)
    audited(
        session,
        who,
        AuditAction.VERIFICATION_CONFIRMED,
        "verification_request",
        r.id,
        reason=reason or None,
        details={
            "citizen_id": citizen.id,
            "new_citizen": create_new,
            "dose_record_ids": dose_ids,
            "cases_closed": closed,
        },
    )
    return Answer(r.id, RequestStatus.CONFIRMED, citizen.id, dose_ids)


def link_doses(
    session: Session, who: Principal, dose_ids: list[int], citizen_id: int, now: datetime
) -> tuple[list[int], set[int]]:
    """Link the dose records to the citizen as a person's decision. Returns the records that were linked
    to someone else before (their certificates must go) and those earlier citizens."""
    if not dose_ids:
        return [], set()
    before = session.execute(
        select(MatchResult.dose_record_id, MatchResult.citizen_id).where(
            MatchResult.dose_record_id.in_(dose_ids)
        )
    ).all()
    moved = [d for d, c in before if c is not None and c != citizen_id]
    previous = {c for _, c in before if c is not None and c != citizen_id}
    watch(session, dose_records=dose_ids)
    session.execute(
        update(MatchResult)
        .where(MatchResult.dose_record_id.in_(dose_ids))
        .values(
            outcome=MatchOutcome.CONFIRMED.value,
            citizen_id=citizen_id,
            decided_by=who.username,
            decided_at=now,
            version=MatchResult.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return moved, previous


def move_case(
    session: Session,
    case: CaseRow,
    *,
    status: str,
    entry: dict[str, Any],
    by: str,
    now: datetime,
    **values: Any,
) -> None:
    watch(session, cases=[case.id])
    session.execute(
        update(CaseRow)
        .where(CaseRow.id == case.id, CaseRow.version == case.version)
        .values(
            version=CaseRow.version + 1,
            status=status,
            details=history(case, by, now, entry),
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(case)


def _close_cases(
    session: Session,
    who: Principal,
    r: VerificationRequest,
    case: CaseRow | None,
    dose_ids: list[int],
    citizen_id: int,
    now: datetime,
) -> list[int]:
    """The requesting ward's case, and any other open case on the same records, close as verified."""
    conds = [CaseRow.status.in_((CaseStatus.OPEN, CaseStatus.COLLECTION))]
    found: list[Any] = [CaseRow.dose_record_id.in_(dose_ids)] if dose_ids else []
    if case is not None:
        found.append(CaseRow.id == case.id)
    if not found:
        return []
    cases = list(session.scalars(select(CaseRow).where(*conds, or_(*found)).order_by(CaseRow.id)))
    for k in cases:
        move_case(
            session,
            k,
            status=CaseStatus.CLOSED,
            entry={"action": "verified", "request_id": r.id, "citizen_id": citizen_id},
            by=who.username,
            now=now,
            resolution=Resolution.VERIFIED,
            resolution_note=f"Xác minh bởi phường/xã {r.to_ward_code} / verified by ward {r.to_ward_code}",
            closed_at=now,
            citizen_id=citizen_id,
        )
    return [k.id for k in cases]

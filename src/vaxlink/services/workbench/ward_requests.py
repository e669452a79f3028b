"""Verification between wards: the ward where a long-term temporary resident lives collects them and asks
the ward of permanent residence who they are; that ward confirms (an existing citizen, or a new register
entry) or rejects with a reason. On confirmation the person's dose records are linked.

A request concerns both wards and the supervisors above them: every query goes through
`storage.scope.verification_requests_in`, so that anyone else is told "not found". Answers and
escalations are guarded by the row's `version`: of two officers answering at once, one wins and the other
gets a Conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.names import canonical_name, fold_name
from vaxlink.domain.permissions import Level
from vaxlink.domain.personal_ids import PersonalId, parse_personal_id, strip_separators
from vaxlink.domain.sex import parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.certificates.issuance import revoke_for_doses
from vaxlink.services.errors import Conflict, Invalid, NotFound, NotTheAskedWard
from vaxlink.services.workbench.casework import created, keep_figures, refresh_after_links, watch
from vaxlink.services.workbench.new_residents import NewPerson, register_citizen
from vaxlink.services.workbench.register import CitizenHit, search_citizens
from vaxlink.settings import Settings
from vaxlink.storage.models import AdminUnitRow, Citizen, DoseRecord, MatchResult, VerificationRequest, utcnow
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.scope import cases_in, citizens_in, verification_requests_in, ward_clause

DUE = timedelta(days=7)
OPEN = "open"
BOXES = ("incoming", "outgoing", "overdue", "all")
# Other open records of the same person are looked for among this many of the ward's open records.
SIBLING_SCAN = 500


def _changed_meanwhile() -> Conflict:
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


@dataclass
class RequestView:
    id: int
    status: str
    from_ward_code: str
    to_ward_code: str
    units: str
    person: dict[str, Any]
    case_id: int | None
    citizen_id: int | None
    created_at: datetime
    created_by: str
    due_at: datetime
    overdue: bool
    escalated_at: datetime | None
    answered_at: datetime | None
    answered_by: str | None
    answer_reason: str | None
    version: int
    incoming: bool = False
    outgoing: bool = False
    from_ward_name: str | None = None
    to_ward_name: str | None = None
    suggestions: list[CitizenHit] = field(default_factory=list)
    # Whether the reader's jurisdiction holds the citizen (and so their record and number notice).
    citizen_here: bool = False


def _view(r: VerificationRequest, who: Principal, now: datetime, names: dict[str, str]) -> RequestView:
    sc = who.scope
    return RequestView(
        id=r.id,
        status=r.status,
        from_ward_code=r.from_ward_code,
        to_ward_code=r.to_ward_code,
        units=r.to_units,
        person=dict(r.person or {}),
        case_id=r.case_id,
        citizen_id=r.citizen_id,
        created_at=r.created_at,
        created_by=r.created_by,
        due_at=r.due_at,
        overdue=r.status == OPEN and r.due_at < now,
        escalated_at=r.escalated_at,
        answered_at=r.answered_at,
        answered_by=r.answered_by,
        answer_reason=r.answer_reason,
        version=r.version,
        incoming=sc.level is Level.WARD and sc.code == r.to_ward_code and sc.units == r.to_units,
        outgoing=sc.level is Level.WARD and sc.code == r.from_ward_code and sc.units == r.from_units,
        from_ward_name=names.get(r.from_ward_code),
        to_ward_name=names.get(r.to_ward_code),
    )


def _ward_names(session: Session, units: str, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    return {
        code: name
        for code, name in session.execute(
            select(AdminUnitRow.code, AdminUnitRow.name).where(
                AdminUnitRow.structure == units, AdminUnitRow.level == "ward", AdminUnitRow.code.in_(codes)
            )
        ).all()
    }


def _clean_person(session: Session, units: str, p: Person) -> dict[str, Any]:
    name = canonical_name(p.full_name or "")
    if not name or any(ch.isdigit() for ch in name):
        raise Invalid("Họ tên không hợp lệ", "not a full name", "BAD_NAME")
    born = parse_date(p.birth_date or "")
    if not isinstance(born, PartialDate) or born.earliest() > utcnow().date():
        raise Invalid("Ngày sinh không đọc được", "the date of birth cannot be read", "BAD_DATE")
    sex = parse_sex(p.sex)
    if sex is None:
        raise Invalid("Giới tính phải là Nam hoặc Nữ", "sex must be Nam or Nữ", "BAD_SEX")
    claimed = strip_separators(p.personal_id or "")
    if claimed:
        pid = parse_personal_id(claimed)
        if not isinstance(pid, PersonalId):
            raise Invalid("Số định danh không hợp lệ", "not a valid personal identification number", "BAD_ID")
        claimed = pid.number
    phone = "".join(ch for ch in (p.phone or "") if ch.isascii() and ch.isdigit())
    if phone and not 9 <= len(phone) <= 11:
        raise Invalid("Số điện thoại không hợp lệ", "not a phone number", "BAD_PHONE")
    ward = session.scalar(
        select(AdminUnitRow.code).where(
            AdminUnitRow.structure == units,
            AdminUnitRow.level == "ward",
            AdminUnitRow.code == p.permanent_ward_code,
        )
    )
    if ward is None:
        raise Invalid("Mã phường/xã không có trong danh mục", "no ward with that code", "UNKNOWN_WARD")
    return {
        "full_name": name,
        "birth_date": born.iso(),
        "sex": sex.value,
        "personal_id": claimed or None,
        "phone": phone or None,
        "address": (p.address or "").strip()[:400] or None,
        "permanent_ward_code": ward,
    }


def _history(case: CaseRow, entry: dict[str, Any]) -> dict[str, Any]:
    details = dict(case.details or {})
    details["history"] = [*details.get("history", []), entry]
    return details


def _own_ward(who: Principal) -> str:
    if who.scope.level is not Level.WARD or who.scope.code is None:
        raise Invalid(
            "Chỉ cán bộ phường/xã gửi yêu cầu xác minh",
            "only a ward officer sends verification requests",
            "NOT_A_WARD",
        )
    return who.scope.code


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
    from_ward = _own_ward(who)
    units = who.scope.units
    cleaned = _clean_person(session, units, person)
    if cleaned["permanent_ward_code"] == from_ward:
        raise Invalid(
            "Người thường trú tại phường/xã này: không cần xác minh",
            "the person's permanent residence is this ward: nothing to verify",
            "SAME_WARD",
        )
    now = utcnow()
    case = None
    if case_id is not None:
        case = session.scalar(select(CaseRow).where(CaseRow.id == case_id, cases_in(who.scope)))
        if case is None:
            raise NotFound("case")
        if case.status != "collection" or (case_version is not None and case.version != case_version):
            raise _changed_meanwhile()
    req = VerificationRequest(
        from_units=units,
        from_ward_code=from_ward,
        to_units=units,
        to_ward_code=cleaned["permanent_ward_code"],
        person=cleaned,
        case_id=case.id if case else None,
        status=OPEN,
        created_at=now,
        created_by=who.username,
        due_at=now + due,
        version=1,
    )
    session.add(req)
    session.flush()
    created(session, verification_requests=[req.id])
    if case is not None:
        watch(session, cases=[case.id])
        n = session.execute(
            update(CaseRow)
            .where(CaseRow.id == case.id, CaseRow.version == case.version, CaseRow.status == "collection")
            .values(
                version=CaseRow.version + 1,
                due_at=req.due_at,
                details=_history(
                    case,
                    {
                        "at": now.isoformat(),
                        "by": who.username,
                        "action": "verification_sent",
                        "request_id": req.id,
                        "to": req.to_ward_code,
                    },
                ),
            )
            .execution_options(synchronize_session=False)
        )
        if int(getattr(n, "rowcount", 0) or 0) != 1:
            raise _changed_meanwhile()
        session.expire(case)
    keep_figures(session)
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.VERIFICATION_SENT,
        resource_type="verification_request",
        resource_id=req.id,
        jurisdiction=who.scope.label,
        reason=None,
        details={"to_ward": req.to_ward_code, "case_id": req.case_id},
    )
    return req.id


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
    ward = _own_ward(who)
    units = who.scope.units
    cleaned = _clean_person(session, units, person)
    if cleaned["permanent_ward_code"] != ward:
        raise Invalid(
            "Người thường trú ở phường/xã khác: hãy gửi yêu cầu xác minh",
            "the person's permanent residence is another ward: send a verification request",
            "OTHER_WARD",
        )
    case = None
    if case_id is not None:
        case = session.scalar(select(CaseRow).where(CaseRow.id == case_id, cases_in(who.scope)))
        if case is None:
            raise NotFound("case")
        if case.status != "collection" or (case_version is not None and case.version != case_version):
            raise _changed_meanwhile()
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
    _, previous = _link(session, who, dose_ids, citizen.id, now)
    if case is not None:
        _move_case(
            session,
            case,
            status="closed",
            entry={"action": "registered", "citizen_id": citizen.id},
            by=who.username,
            now=now,
            resolution="registered",
            resolution_note=None,
            closed_at=now,
            citizen_id=citizen.id,
        )
    refresh_after_links(session, {citizen.id, *previous})
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.RESIDENT_REGISTERED,
        resource_type="citizen",
        resource_id=citizen.id,
        jurisdiction=who.scope.label,
        reason=None,
        details={"case_id": case.id if case is not None else None, "dose_record_ids": dose_ids},
    )
    return citizen.id


def _box_clause(who: Principal, box: str) -> Any:
    sc = who.scope
    if box == "incoming":
        return ward_clause(sc, VerificationRequest.to_units, VerificationRequest.to_ward_code)
    if box == "outgoing":
        return ward_clause(sc, VerificationRequest.from_units, VerificationRequest.from_ward_code)
    if box == "overdue":
        return and_(VerificationRequest.status == OPEN, VerificationRequest.due_at < utcnow())
    return verification_requests_in(sc)


def list_requests(
    session: Session, who: Principal, box: str = "all", *, only_open: bool = False, limit: int = 200
) -> list[RequestView]:
    """Requests of the jurisdiction: those asked of it, those it sent, or the overdue ones (oldest due first)."""
    if box not in BOXES:
        raise Invalid("Hộp thư không hợp lệ", "unknown box", "BAD_BOX")
    conds = [verification_requests_in(who.scope), _box_clause(who, box)]
    if only_open:
        conds.append(VerificationRequest.status == OPEN)
    rows = list(
        session.scalars(
            select(VerificationRequest)
            .where(*conds)
            .order_by(
                (VerificationRequest.status == OPEN).desc(),
                VerificationRequest.due_at,
                VerificationRequest.id,
            )
            .limit(limit)
        )
    )
    now = utcnow()
    names = _ward_names(
        session, who.scope.units, {r.from_ward_code for r in rows} | {r.to_ward_code for r in rows}
    )
    out = [_view(r, who, now, names) for r in rows]
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.VERIFICATION_LIST_VIEWED,
        resource_type="verification_request",
        resource_id=None,
        jurisdiction=who.scope.label,
        reason=None,
        details={"box": box, "requests": [v.id for v in out]},
    )
    return out


def _in_scope(session: Session, who: Principal, request_id: int) -> VerificationRequest:
    r = session.scalar(
        select(VerificationRequest).where(
            VerificationRequest.id == request_id, verification_requests_in(who.scope)
        )
    )
    if r is None:
        raise NotFound("verification_request")
    return r


def request_detail(session: Session, who: Principal, request_id: int) -> RequestView:
    """One request; for the asked ward, the register entries that may be the person."""
    r = _in_scope(session, who, request_id)
    names = _ward_names(session, r.to_units, {r.from_ward_code, r.to_ward_code})
    view = _view(r, who, utcnow(), names)
    if r.citizen_id is not None:
        view.citizen_here = (
            session.scalar(select(Citizen.id).where(Citizen.id == r.citizen_id, citizens_in(who.scope)))
            is not None
        )
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.VERIFICATION_VIEWED,
        resource_type="verification_request",
        resource_id=r.id,
        jurisdiction=who.scope.label,
    )
    if r.status == OPEN and view.incoming:
        p = r.person or {}
        found: list[CitizenHit] = []
        if p.get("personal_id"):
            found = search_citizens(session, who, personal_id=p["personal_id"])
        if not found:
            found = search_citizens(session, who, name=p.get("full_name"), birth_date=p.get("birth_date"))
        view.suggestions = found
    return view


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
            MatchResult.outcome.in_(("review", "unmatched")),
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
    r = _in_scope(session, who, request_id)
    asked = session.scalar(
        select(VerificationRequest.id).where(
            VerificationRequest.id == r.id,
            ward_clause(who.scope, VerificationRequest.to_units, VerificationRequest.to_ward_code),
        )
    )
    if asked is None:
        raise NotTheAskedWard()
    if r.status != OPEN or r.version != version:
        raise _changed_meanwhile()
    if not confirm and not reason:
        raise Invalid("Cần ghi lý do từ chối", "a reason is required to reject", "REASON_REQUIRED")
    if confirm and (citizen_id is None) == (not create_new):
        raise Invalid(
            "Chọn một công dân trong sổ hoặc đăng ký người mới",
            "choose a citizen of the register or register a new one",
            "CHOOSE_CITIZEN",
        )
    now = utcnow()
    watch(session, verification_requests=[r.id])
    # The guarded write first: the loser of a race learns it before anything else is changed.
    n = session.execute(
        update(VerificationRequest)
        .where(
            VerificationRequest.id == r.id,
            VerificationRequest.version == version,
            VerificationRequest.status == OPEN,
        )
        .values(
            version=VerificationRequest.version + 1,
            status="confirmed" if confirm else "rejected",
            answered_at=now,
            answered_by=who.username,
            answer_reason=reason or None,
        )
        .execution_options(synchronize_session=False)
    )
    if int(getattr(n, "rowcount", 0) or 0) != 1:
        raise _changed_meanwhile()
    session.expire(r)
    case = session.get(CaseRow, r.case_id) if r.case_id is not None else None
    p = dict(r.person or {})
    if not confirm:
        if case is not None and case.status == "collection":
            _move_case(
                session,
                case,
                status="open",
                entry={"action": "verification_rejected", "request_id": r.id, "reason": reason[:400]},
                by=who.username,
                now=now,
            )
        keep_figures(session)
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.VERIFICATION_REJECTED,
            resource_type="verification_request",
            resource_id=r.id,
            jurisdiction=who.scope.label,
            reason=reason,
            details={"case_id": r.case_id},
        )
        return Answer(r.id, "rejected", None)
    if create_new:
        citizen = register_citizen(
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
    else:
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
        citizen = found
    session.execute(
        update(VerificationRequest)
        .where(VerificationRequest.id == r.id)
        .values(citizen_id=citizen.id)
        .execution_options(synchronize_session=False)
    )
    dose_ids = _person_records(session, r, case)
    moved, previous = _link(session, who, dose_ids, citizen.id, now)
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
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.VERIFICATION_CONFIRMED,
        resource_type="verification_request",
        resource_id=r.id,
        jurisdiction=who.scope.label,
        reason=reason or None,
        details={
            "citizen_id": citizen.id,
            "new_citizen": create_new,
            "dose_record_ids": dose_ids,
            "cases_closed": closed,
        },
    )
    return Answer(r.id, "confirmed", citizen.id, dose_ids)


def _link(
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
            outcome="confirmed",
            citizen_id=citizen_id,
            decided_by=who.username,
            decided_at=now,
            version=MatchResult.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return moved, previous


def _move_case(
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
            details=_history(case, {"at": now.isoformat(), "by": by, **entry}),
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
    conds = [CaseRow.status.in_(("open", "collection"))]
    found: list[Any] = [CaseRow.dose_record_id.in_(dose_ids)] if dose_ids else []
    if case is not None:
        found.append(CaseRow.id == case.id)
    if not found:
        return []
    cases = list(session.scalars(select(CaseRow).where(*conds, or_(*found)).order_by(CaseRow.id)))
    for k in cases:
        _move_case(
            session,
            k,
            status="closed",
            entry={"action": "verified", "request_id": r.id, "citizen_id": citizen_id},
            by=who.username,
            now=now,
            resolution="verified",
            resolution_note=f"Xác minh bởi phường/xã {r.to_ward_code} / verified by ward {r.to_ward_code}",
            closed_at=now,
            citizen_id=citizen_id,
        )
    return [k.id for k in cases]


def escalate(
    session: Session, who: Principal, request_id: int, version: int, note: str | None = None
) -> None:
    """A supervisor escalates an overdue request (once); the two wards see it flagged."""
    r = _in_scope(session, who, request_id)
    if r.status != OPEN or r.version != version or r.escalated_at is not None:
        raise _changed_meanwhile()
    if r.due_at >= utcnow():
        raise Invalid("Yêu cầu chưa quá hạn", "the request is not overdue yet", "NOT_OVERDUE")
    n = session.execute(
        update(VerificationRequest)
        .where(
            VerificationRequest.id == r.id,
            VerificationRequest.version == version,
            VerificationRequest.status == OPEN,
            VerificationRequest.escalated_at.is_(None),
        )
        .values(version=VerificationRequest.version + 1, escalated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if int(getattr(n, "rowcount", 0) or 0) != 1:
        raise _changed_meanwhile()
    session.expire(r)
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.VERIFICATION_ESCALATED,
        resource_type="verification_request",
        resource_id=r.id,
        jurisdiction=who.scope.label,
        reason=(note or "").strip()[:400] or None,
        details={"to_ward": r.to_ward_code, "from_ward": r.from_ward_code},
    )


def _shown_birth(born: object) -> str:
    if not isinstance(born, PartialDate):
        return ""
    return born.earliest().strftime("%d/%m/%Y") if born.day is not None else born.iso()


def collection_person(session: Session, who: Principal, case_id: int) -> tuple[CaseRow, Person]:
    """A case in collection and the person as the health record names them, to prefill the request."""
    case = session.scalar(select(CaseRow).where(CaseRow.id == case_id, cases_in(who.scope)))
    if case is None:
        raise NotFound("case")
    if case.status != "collection":
        raise _changed_meanwhile()
    dose = session.get(DoseRecord, case.dose_record_id) if case.dose_record_id else None
    born = parse_date(dose.date_of_birth) if dose and dose.date_of_birth else None
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

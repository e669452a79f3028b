"""The boxes of verification between wards: the requests asked of a ward, those it sent, the overdue ones a
supervisor follows (and escalates, once), and one request with the register entries that may be its person.
Every query goes through `storage.scope.verification_requests_in`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import RequestStatus
from vaxlink.domain.permissions import Level
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench.casework import audited
from vaxlink.services.workbench.citizen_search import CitizenHit, search_citizens
from vaxlink.services.workbench.ward_requests import changed_meanwhile, in_scope, update_open_request
from vaxlink.storage.models import AdminUnitRow, Citizen, VerificationRequest, utcnow
from vaxlink.storage.scope import citizens_in, verification_requests_in, ward_clause

BOXES = ("incoming", "outgoing", "overdue", "all")


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
        overdue=r.status == RequestStatus.OPEN and r.due_at < now,
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


def _box_clause(who: Principal, box: str) -> Any:
    sc = who.scope
    if box == "incoming":
        return ward_clause(sc, VerificationRequest.to_units, VerificationRequest.to_ward_code)
    if box == "outgoing":
        return ward_clause(sc, VerificationRequest.from_units, VerificationRequest.from_ward_code)
    if box == "overdue":
        return and_(VerificationRequest.status == RequestStatus.OPEN, VerificationRequest.due_at < utcnow())
    return verification_requests_in(sc)


def list_requests(
    session: Session, who: Principal, box: str = "all", *, only_open: bool = False, limit: int = 200
) -> list[RequestView]:
    """Requests of the jurisdiction: those asked of it, those it sent, or the overdue ones (oldest due first)."""
    if box not in BOXES:
        raise Invalid("Hộp thư không hợp lệ", "unknown box", "BAD_BOX")
    conds = [verification_requests_in(who.scope), _box_clause(who, box)]
    if only_open:
        conds.append(VerificationRequest.status == RequestStatus.OPEN)
    rows = list(
        session.scalars(
            select(VerificationRequest)
            .where(*conds)
            .order_by(
                (VerificationRequest.status == RequestStatus.OPEN).desc(),
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
    audited(
        session,
        who,
        AuditAction.VERIFICATION_LIST_VIEWED,
        "verification_request",
        details={"box": box, "requests": [v.id for v in out]},
    )
    return out


def request_detail(session: Session, who: Principal, request_id: int) -> RequestView:
    """One request; for the asked ward, the register entries that may be the person."""
    r = in_scope(session, who, request_id)
    names = _ward_names(session, r.to_units, {r.from_ward_code, r.to_ward_code})
    view = _view(r, who, utcnow(), names)
    if r.citizen_id is not None:
        view.citizen_here = (
            session.scalar(select(Citizen.id).where(Citizen.id == r.citizen_id, citizens_in(who.scope)))
            is not None
        )
    audited(session, who, AuditAction.VERIFICATION_VIEWED, "verification_request", r.id)
    if r.status == RequestStatus.OPEN and view.incoming:
        p = r.person or {}
        found: list[CitizenHit] = []
        if p.get("personal_id"):
            found = search_citizens(session, who, personal_id=p["personal_id"])
        if not found:
            found = search_citizens(session, who, name=p.get("full_name"), birth_date=p.get("birth_date"))
        view.suggestions = found
    return view


def escalate(
    session: Session, who: Principal, request_id: int, version: int, note: str | None = None
) -> None:
    """A supervisor escalates an overdue request (once); the two wards see it flagged."""
    r = in_scope(session, who, request_id)
    if r.status != RequestStatus.OPEN or r.version != version or r.escalated_at is not None:
        raise changed_meanwhile()
    if r.due_at >= utcnow():
        raise Invalid("Yêu cầu chưa quá hạn", "the request is not overdue yet", "NOT_OVERDUE")
    update_open_request(
        session, r, version, VerificationRequest.escalated_at.is_(None), escalated_at=utcnow()
    )
    audited(
        session,
        who,
        AuditAction.VERIFICATION_ESCALATED,
        "verification_request",
        r.id,
        reason=(note or "").strip()[:400] or None,
        details={"to_ward": r.to_ward_code, "from_ward": r.from_ward_code},
    )

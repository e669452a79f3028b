"""A citizen's record as a ward officer reads it: identity, doses, open cases, and the history of its
corrections and of the records officers settled for it (who, when, why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import ON_WORKLIST, CaseKind, CaseStatus, Resolution
from vaxlink.services.access.auth import Principal
from vaxlink.services.workbench.case_view import DoseView, linked_doses
from vaxlink.services.workbench.casework import audited, citizen_in_scope, display_names
from vaxlink.services.workbench.citizen_search import CitizenHit, citizen_hit
from vaxlink.services.workbench.worklist import WorkItem, work_item
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import CitizenAlias, CitizenChange, CitizenStatus, DoseRecord, utcnow
from vaxlink.storage.scope import cases_in

# How a settled record shows in the person's history.
SETTLED = (Resolution.LINKED, Resolution.HEALTH_WRONG, Resolution.VERIFIED, Resolution.REGISTERED)


@dataclass
class CitizenView:
    citizen: CitizenHit
    address: str | None
    phone: str | None
    permanent_ward_code: str
    aliases: list[tuple[str, str]]
    status: str
    doses: list[DoseView]
    open_cases: list[WorkItem]
    history: list[dict[str, Any]]
    pending_changes: list[int] = field(default_factory=list)
    # Display names of the officers the history names, by username.
    names: dict[str, str] = field(default_factory=dict)


def _open_cases(session: Session, who: Principal, citizen_id: int, now: datetime) -> list[WorkItem]:
    return [
        work_item(k, now)
        for k in session.scalars(
            select(CaseRow)
            .where(cases_in(who.scope), CaseRow.status.in_(ON_WORKLIST), CaseRow.citizen_id == citizen_id)
            .order_by(CaseRow.created_at)
        )
    ]


def _changes(session: Session, citizen_id: int) -> list[dict[str, Any]]:
    """The register's changes of the citizen, each with the second officer who approved it (if any)."""
    approvers = {
        (str((k.details or {}).get("field")), (k.details or {}).get("new")): (k.details or {}).get(
            "decided_by", k.assigned_to
        )
        for k in session.scalars(
            select(CaseRow)
            .where(
                CaseRow.citizen_id == citizen_id,
                CaseRow.kind == CaseKind.REGISTER_CHANGE,
                CaseRow.resolution == Resolution.APPROVED,
            )
            .order_by(CaseRow.id)
        )
    }
    return [
        {
            "field": h.field,
            "old": h.old_value,
            "new": h.new_value,
            "reason": h.reason.split("; duyệt bởi / approved by ")[0],
            "source": h.source,
            "at": h.changed_at,
            "by": h.changed_by,
            "approved_by": approvers.get((h.field, h.new_value)) if h.source != "import" else None,
        }
        for h in session.scalars(
            select(CitizenChange).where(CitizenChange.citizen_id == citizen_id).order_by(CitizenChange.id)
        )
    ]


def _settled(session: Session, citizen_id: int) -> list[dict[str, Any]]:
    """The person's records settled by officers (linked, or linked and found wrong in health): who, when, why."""
    settled = session.execute(
        select(CaseRow, DoseRecord.vaccination_date, DoseRecord.dose_number)
        .outerjoin(DoseRecord, DoseRecord.id == CaseRow.dose_record_id)
        .where(
            CaseRow.citizen_id == citizen_id,
            CaseRow.status == CaseStatus.CLOSED,
            CaseRow.resolution.in_(SETTLED),
        )
        .order_by(CaseRow.closed_at, CaseRow.id)
    ).all()
    return [
        {
            "case_id": k.id,
            "action": k.resolution,
            "reason": k.resolution_note,
            "at": k.closed_at,
            "by": k.assigned_to,
            "vaccination_date": vdate,
            "dose_number": dose_no,
        }
        for k, vdate, dose_no in settled
    ]


def citizen_detail(
    session: Session, who: Principal, citizen_id: int, *, action: AuditAction = AuditAction.CITIZEN_VIEWED
) -> CitizenView:
    c = citizen_in_scope(session, who, citizen_id)
    st = session.get(CitizenStatus, c.id)
    doses = linked_doses(session, [c.id])[c.id]
    now = utcnow()
    cases = _open_cases(session, who, c.id, now)
    history = _changes(session, c.id) + _settled(session, c.id)
    history.sort(key=lambda h: (h["at"] is None, h["at"] or now))
    aliases = [
        (a.alias, a.kind)
        for a in session.scalars(select(CitizenAlias).where(CitizenAlias.citizen_id == c.id))
    ]
    audited(session, who, action, "citizen", c.id)
    return CitizenView(
        citizen=citizen_hit(c),
        address=c.address,
        phone=c.phone,
        permanent_ward_code=c.permanent_ward_code,
        aliases=aliases,
        status=st.status if st else "none",
        doses=doses,
        open_cases=cases,
        history=history,
        pending_changes=[k.id for k in cases if k.kind == CaseKind.REGISTER_CHANGE],
        names=display_names(session, [str(h.get(k) or "") for h in history for k in ("by", "approved_by")]),
    )

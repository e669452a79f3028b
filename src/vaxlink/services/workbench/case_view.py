"""One case side by side with the register: the health record, the candidates the matcher ranked (those in
the user's jurisdiction) with what differs field by field, and the same person's other open records.

A case outside the user's scope is "not found", exactly like a missing id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.admin_units import Structure, admin_units
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import ACTIONABLE
from vaxlink.domain.dates import Precision
from vaxlink.domain.names import canonical_name
from vaxlink.domain.outcomes import LINKED_OUTCOMES
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.domain.phones import national_phone
from vaxlink.domain.sex import Sex, parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import NotFound
from vaxlink.services.workbench.casework import audited, birth_text, display_names, health_birth
from vaxlink.services.workbench.worklist import reason_codes
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen, DoseRecord, MatchResult
from vaxlink.storage.scope import cases_in, citizens_in


@dataclass
class FieldRow:
    field: str
    health: str | None
    registered: str | None
    differs: bool


@dataclass
class Candidate:
    citizen_id: int
    weight: float | None
    levels: dict[str, str]
    full_name: str
    birth: str
    sex: str
    personal_id: str
    ward_code: str
    version: int
    rows: list[FieldRow]
    # The doses the register already links to this person (what the case's records would join).
    doses: list[DoseView] = field(default_factory=list)
    # Each field's part of the weight (log2 of its Bayes factor), the prior, and what the same person's other
    # records added: the waterfall behind `weight`.
    weights: dict[str, float] = field(default_factory=dict)


def _weights(ranked: dict[str, Any]) -> dict[str, float]:
    parts = ranked.get("weights")
    if not isinstance(parts, dict):
        return {}
    out = {k: float(v) for k, v in parts.items() if isinstance(v, int | float)}
    total = ranked.get("weight")
    if isinstance(total, int | float) and out:
        lent = round(float(total) - sum(out.values()), 2)
        if lent > 0.005:
            out["other_records"] = lent
    return out


@dataclass
class DoseView:
    dose_record_id: int
    record_id: str
    source: str
    vaccination_date: date | None
    dose_number: int | None
    vaccine: str | None
    vaccine_code: str | None
    lot_number: str | None
    outcome: str | None
    flags: str


@dataclass
class CaseView:
    id: int
    kind: str
    status: str
    priority: int
    ward_code: str | None
    ward_units: str
    created_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    resolution_note: str | None
    version: int
    reasons: list[str]
    blame: str | None
    score: float | None
    outcome: str | None
    health: dict[str, Any] | None
    candidates: list[Candidate]
    hidden_candidates: int
    details: dict[str, Any]
    citizen_id: int | None
    citizen_name: str | None = None
    assigned_to: str | None = None
    # The same person's other open records at this desk, settled with this one by one action.
    siblings: list[Sibling] = field(default_factory=list)
    # Display names of the officers the page names (history, assignment, request), by username.
    names: dict[str, str] = field(default_factory=dict)


@dataclass
class Sibling:
    id: int
    kind: str
    version: int
    reasons: list[str]
    health: dict[str, Any]


def linked_doses(session: Session, citizen_ids: list[int]) -> dict[int, list[DoseView]]:
    """The doses the register links to each citizen (linked by the matcher or confirmed by an officer)."""
    out: dict[int, list[DoseView]] = {c: [] for c in citizen_ids}
    if not citizen_ids:
        return out
    for m, d in session.execute(
        select(MatchResult, DoseRecord)
        .join(DoseRecord, DoseRecord.id == MatchResult.dose_record_id)
        .where(
            MatchResult.citizen_id.in_(citizen_ids),
            MatchResult.outcome.in_(LINKED_OUTCOMES),
            DoseRecord.is_latest,
        )
        .order_by(DoseRecord.vaccination_date, DoseRecord.id)
    ).all():
        out.setdefault(m.citizen_id or 0, []).append(
            DoseView(
                d.id,
                d.record_id,
                d.source,
                d.vaccination_date,
                d.dose_number,
                d.vaccine,
                d.vaccine_code,
                d.lot_number,
                m.outcome,
                m.flags,
            )
        )
    return out


def siblings_of(session: Session, who: Principal, case: CaseRow) -> list[CaseRow]:
    """The other open cases of the case's person at the same desk (none for a case without a person key)."""
    if case.person_key is None:
        return []
    return list(
        session.scalars(
            select(CaseRow)
            .where(
                cases_in(who.scope),
                CaseRow.id != case.id,
                CaseRow.person_key == case.person_key,
                CaseRow.ward_units == case.ward_units,
                CaseRow.ward_code.is_not_distinct_from(case.ward_code),
                CaseRow.province_code.is_not_distinct_from(case.province_code),
                CaseRow.status.in_(ACTIONABLE),
            )
            .order_by(CaseRow.id)
        )
    )


def _same_birth(dose: DoseRecord, c: Citizen) -> bool:
    d = health_birth(dose.date_of_birth, dose.vaccination_date)
    if d is None:
        return False
    if d.precision is Precision.DAY and c.birth_precision == "day":
        return d.as_date() == c.birth_date
    return d.year == c.birth_year


def _ward_text(code: str | None, units: str | None) -> str | None:
    """A ward by its name and code, read in its own structure: the two sides of a comparison may be in two."""
    unit = admin_units().ward(code, Structure(units)) if code and units in tuple(Structure) else None
    return f"{unit.name} ({code})" if unit is not None else code


def compare(dose: DoseRecord, c: Citizen) -> list[FieldRow]:
    """The four fields verified against the register (and the helpful ones), with what differs."""
    hid = strip_separators(dose.id_number or "")
    sex = parse_sex(dose.sex)
    return [
        FieldRow(
            "full_name",
            dose.full_name,
            c.full_name,
            canonical_name(dose.full_name) != canonical_name(c.full_name),
        ),
        FieldRow("birth_date", dose.date_of_birth, birth_text(c), not _same_birth(dose, c)),
        FieldRow(
            "sex",
            dose.sex,
            Sex(c.sex).label_vi if c.sex in ("M", "F") else c.sex,
            sex is None or sex.value != c.sex,
        ),
        FieldRow("personal_id", dose.id_number, c.personal_id, hid != c.personal_id),
        FieldRow(
            "phone",
            dose.phone,
            c.phone,
            bool(dose.phone and c.phone and national_phone(dose.phone) != national_phone(c.phone)),
        ),
        FieldRow(
            "ward_code",
            _ward_text(dose.ward_code, dose.ward_units),
            _ward_text(c.current_ward_code, c.current_units),
            # A code of the other structure is the same ward when the old one went into the new one.
            bool(
                dose.ward_code
                and not admin_units().same_ward(
                    dose.ward_code, dose.ward_units, c.current_ward_code, c.current_units
                )
            ),
        ),
    ]


def case_in_scope(session: Session, who: Principal, case_id: int) -> CaseRow:
    case = session.scalar(select(CaseRow).where(CaseRow.id == case_id, cases_in(who.scope)))
    if case is None:
        raise NotFound("case")
    return case


def _health_dict(d: DoseRecord) -> dict[str, Any]:
    return {
        "dose_record_id": d.id,
        "source": d.source,
        "record_id": d.record_id,
        "full_name": d.full_name,
        "date_of_birth": d.date_of_birth,
        "sex": d.sex,
        "id_number": d.id_number,
        "phone": d.phone,
        "address": d.address,
        "ward_code": d.ward_code,
        "ward_units": d.ward_units,
        "vaccination_date": d.vaccination_date.isoformat() if d.vaccination_date else None,
        "dose_number": d.dose_number,
        "vaccine": d.vaccine,
        "vaccine_code": d.vaccine_code,
        "lot_number": d.lot_number,
        "site": d.site,
    }


def _candidate_ids(details: dict[str, Any], case: CaseRow, mr: MatchResult | None) -> list[int]:
    """The citizens the matcher ranked, then the case's citizen and the record's, each once."""
    ids: list[int] = []
    for c in details.get("candidates", []):
        if isinstance(c, dict) and isinstance(c.get("citizen_id"), int) and c["citizen_id"] not in ids:
            ids.append(c["citizen_id"])
    for extra in (case.citizen_id, mr.citizen_id if mr else None):
        if extra is not None and extra not in ids:
            ids.append(extra)
    return ids


def _candidates(
    session: Session, who: Principal, details: dict[str, Any], ids: list[int], dose: DoseRecord | None
) -> list[Candidate]:
    """The candidates in the jurisdiction, with the matcher's levels and weights and the doses they have."""
    ranked: list[dict[str, Any]] = [c for c in details.get("candidates", []) if isinstance(c, dict)]
    # Candidates who live outside the jurisdiction are not shown: their ward settles them.
    visible = (
        {c.id: c for c in session.scalars(select(Citizen).where(Citizen.id.in_(ids), citizens_in(who.scope)))}
        if ids
        else {}
    )
    levels_of = {c["citizen_id"]: c for c in ranked if isinstance(c.get("citizen_id"), int)}
    candidates = []
    for cid in ids:
        cit = visible.get(cid)
        if cit is None:
            continue
        lv = levels_of.get(cid, {})
        candidates.append(
            Candidate(
                citizen_id=cid,
                weight=lv.get("weight"),
                levels={
                    k: str(lv[k])
                    for k in ("id", "name", "dob", "sex", "ward", "address", "phone")
                    if lv.get(k)
                },
                weights=_weights(lv),
                full_name=cit.full_name,
                birth=birth_text(cit),
                sex=cit.sex,
                personal_id=cit.personal_id,
                ward_code=cit.current_ward_code,
                version=cit.version,
                rows=compare(dose, cit) if dose is not None else [],
            )
        )
    doses = linked_doses(session, [c.citizen_id for c in candidates])
    for cand in candidates:
        cand.doses = doses.get(cand.citizen_id, [])
    return candidates


def _siblings(session: Session, who: Principal, case: CaseRow) -> list[Sibling]:
    """The same person's other open records at this desk, while the case itself is open."""
    siblings = []
    for k in siblings_of(session, who, case) if case.status in ACTIONABLE else []:
        sd = session.get(DoseRecord, k.dose_record_id) if k.dose_record_id else None
        smr = session.get(MatchResult, k.dose_record_id) if k.dose_record_id else None
        siblings.append(
            Sibling(
                id=k.id,
                kind=k.kind,
                version=k.version,
                reasons=reason_codes(smr.reasons if smr else ""),
                health=_health_dict(sd) if sd is not None else {},
            )
        )
    return siblings


def _names(session: Session, case: CaseRow, details: dict[str, Any]) -> dict[str, str]:
    """The officers the page names: the assignee, the history's, the change's requester and decider."""
    return display_names(
        session,
        [
            case.assigned_to,
            *(str(h.get("by") or "") for h in details.get("history", []) if isinstance(h, dict)),
            str(details.get("requested_by") or ""),
            str(details.get("decided_by") or ""),
        ],
    )


def case_detail(session: Session, who: Principal, case_id: int) -> CaseView:
    case = case_in_scope(session, who, case_id)
    details = dict(case.details or {})
    dose = session.get(DoseRecord, case.dose_record_id) if case.dose_record_id else None
    mr = session.get(MatchResult, case.dose_record_id) if case.dose_record_id else None
    ids = _candidate_ids(details, case, mr)
    candidates = _candidates(session, who, details, ids, dose)
    siblings = _siblings(session, who, case)
    audited(
        session,
        who,
        AuditAction.CASE_VIEWED,
        "case",
        case.id,
        details={
            "citizens": [c.citizen_id for c in candidates],
            "dose_record_id": case.dose_record_id,
            "siblings": [k.id for k in siblings],
        },
    )
    shown_details = {k: v for k, v in details.items() if k != "candidates"}
    return CaseView(
        id=case.id,
        kind=case.kind,
        status=case.status,
        priority=case.priority,
        ward_code=case.ward_code,
        ward_units=case.ward_units,
        created_at=case.created_at,
        due_at=case.due_at,
        closed_at=case.closed_at,
        resolution=case.resolution,
        resolution_note=case.resolution_note,
        version=case.version,
        reasons=reason_codes(mr.reasons if mr else ""),
        blame=mr.blame if mr else None,
        score=mr.score if mr else None,
        outcome=mr.outcome if mr else None,
        health=_health_dict(dose) if dose is not None else None,
        candidates=candidates,
        hidden_candidates=len(ids) - len(candidates),
        details=shown_details,
        citizen_id=case.citizen_id,
        assigned_to=case.assigned_to,
        siblings=siblings,
        names=_names(session, case, details),
        citizen_name=session.scalar(
            select(Citizen.full_name).where(Citizen.id == case.citizen_id, citizens_in(who.scope))
        )
        if case.citizen_id is not None
        else None,
    )

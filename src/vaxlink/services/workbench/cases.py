"""Working a ward's cases: the worklist, a case side by side with the register, and the actions that
settle it (link, declare the health record wrong, correct the register, pass to another ward, start
collecting a new resident).

Every query goes through the jurisdiction clauses of `storage.scope`: a case, citizen or change outside
the user's scope is "not found", exactly like a missing id. Every action runs in the caller's transaction
with its audit event and is guarded by the row's `version`: of two officers settling the same case, one
wins and the other gets a Conflict.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.dates import Precision
from vaxlink.domain.names import canonical_name
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.domain.sex import Sex, parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import Conflict, Invalid, NotFound, ServiceError, changed_meanwhile
from vaxlink.services.workbench.casework import (
    birth_text,
    citizen_in_scope,
    display_names,
    health_birth,
    refresh_after_links,
    rowcount,
    watch,
)
from vaxlink.settings import Settings
from vaxlink.storage.models import (
    AdminUnitRow,
    Citizen,
    DoseRecord,
    MatchResult,
    VerificationRequest,
    utcnow,
)
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.scope import cases_in, citizens_in, verification_requests_in

# Statuses that keep a case on the worklist.
ON_WORKLIST = ("open", "pending_approval", "collection")
ACTIONABLE = ("open",)
KINDS = ("conflict", "unmatched", "correction", "verification", "register_change")


# --- the worklist -------------------------------------------------------------------------------


SORTS = ("priority", "date", "name")


@dataclass
class WorkFilter:
    kind: str | None = None
    reason: str | None = None
    min_age_days: int | None = None
    status: str | None = None
    # One ward inside the user's jurisdiction (a supervisor following a backlog row); the scope filter
    # still applies, so naming a ward outside it shows nothing.
    ward_units: str | None = None
    ward_code: str | None = None
    # Words the officer types ("thiếu tên đệm", "không tìm thấy"), given with the reason codes and the case
    # kinds whose words match (the page knows the words).
    words: str | None = None
    word_reasons: tuple[str, ...] = ()
    word_kinds: tuple[str, ...] = ()
    # Only the cases assigned to the user ("của tôi").
    mine: bool = False
    # priority (most important, then oldest), date (oldest first) or name (as health wrote it).
    sort: str = "priority"
    # One row per person: the open cases of one health identity at one desk shown as their lead case.
    by_person: bool = False


@dataclass
class WorkItem:
    id: int
    kind: str
    status: str
    priority: int
    ward_code: str | None
    created_at: datetime
    due_at: datetime | None
    reasons: list[str]
    health_name: str | None
    version: int
    overdue: bool
    # The field a citizen's request or a register change is about.
    subject: str | None = None
    # Open records of the same person at the same desk, this one included (with `by_person`).
    records: int = 1
    assigned_to: str | None = None


@dataclass
class Worklist:
    items: list[WorkItem]
    counts: dict[str, int]
    total: int
    next_cursor: str | None
    incoming_verifications: int
    # Dose records behind the rows (more than `total` when persons have several).
    records: int = 0


def _encode_cursor(sort: str, item: WorkItem) -> str:
    if sort == "name":
        keys: list[Any] = [item.health_name or ""]
    elif sort == "date":
        keys = [item.created_at.isoformat()]
    else:
        keys = [item.priority, item.created_at.isoformat()]
    raw = json.dumps([sort, *keys, item.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort keys and row id a page starts after; a cursor of another sort or a forged one is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or not values or values[0] != sort:
            raise ValueError("another sort")
        row = int(values[-1])
        # A forged cursor must not reach the database with values its columns cannot hold (an integer
        # past bigint, a time without its zone): that was a 500.
        if not 0 <= row < 2**53:
            raise ValueError("out of range")
        if sort == "name":
            (name,) = values[1:-1]
            if not isinstance(name, str) or len(name) > 200:
                raise ValueError("bad name")
            return [name, row]
        if sort == "date":
            (c,) = values[1:-1]
            return [_aware(datetime.fromisoformat(c)), row]
        p, c = values[1:-1]
        priority = int(p)
        if not -(2**31) <= priority < 2**31:
            raise ValueError("out of range")
        return [priority, _aware(datetime.fromisoformat(c)), row]
    except Exception:
        raise Invalid("Con trỏ trang không hợp lệ", "invalid page cursor", "BAD_CURSOR") from None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _same_desk(other: Any) -> ColumnElement[bool]:
    """`other` (an alias of work_case) is an open case of the same person at the same desk as the row."""
    return and_(
        other.person_key == CaseRow.person_key,
        other.ward_units == CaseRow.ward_units,
        other.ward_code.is_not_distinct_from(CaseRow.ward_code),
        other.province_code.is_not_distinct_from(CaseRow.province_code),
    )


def worklist(
    session: Session,
    who: Principal,
    filters: WorkFilter | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Worklist:
    """The open cases in the user's jurisdiction, most important and oldest first (or by date, or by name),
    one page at a time (keyset pagination: a page costs the same at the end of the list as at its start).
    With `by_person`, the open cases of one person at one desk are one row: the most important of them,
    carrying how many records it stands for."""
    f = filters or WorkFilter()
    sort = f.sort if f.sort in SORTS else "priority"
    now = utcnow()
    statuses = (f.status,) if f.status in ON_WORKLIST else ON_WORKLIST
    base = [cases_in(who.scope), CaseRow.status.in_(statuses)]
    if f.min_age_days:
        base.append(CaseRow.created_at <= now - timedelta(days=f.min_age_days))
    if f.ward_code:
        base.append(CaseRow.ward_code == f.ward_code)
        base.append(CaseRow.ward_units == (f.ward_units or "legacy"))
    every_record = list(base)
    sibling = aliased(CaseRow)
    records_col: Any = literal(1)
    if f.by_person:
        # The lead of a person's cases: no open case of theirs at this desk comes before it.
        before = and_(
            _same_desk(sibling),
            sibling.status.in_(statuses),
            or_(
                sibling.priority > CaseRow.priority,
                and_(sibling.priority == CaseRow.priority, sibling.id < CaseRow.id),
            ),
        )
        base.append(~exists().where(before))
        records_col = func.coalesce(
            select(func.count())
            .select_from(sibling)
            .where(_same_desk(sibling), sibling.status.in_(statuses))
            .correlate(CaseRow)
            .scalar_subquery(),
            1,
        )
    counts = {
        str(k): int(n)
        for k, n in session.execute(
            select(CaseRow.kind, func.count()).where(*base).group_by(CaseRow.kind)
        ).all()
    }
    records = (
        int(session.scalar(select(func.count()).select_from(CaseRow).where(*every_record)) or 0)
        if f.by_person
        else sum(counts.values())
    )
    conds = list(base)
    if f.kind:
        conds.append(CaseRow.kind == f.kind)
    if f.reason:
        code = "".join(c for c in f.reason.upper() if c.isalnum() or c == "_")[:40]
        conds.append(MatchResult.reasons.like(f"%{code}%"))
    if f.mine:
        conds.append(CaseRow.assigned_to == who.username)
    if f.words and f.words.strip():
        # Matched against the diagnosis and the kind as the officer reads them; a name is never put in a
        # URL, so names are looked for with the register search (a POST) instead.
        conds.append(
            or_(
                false(),
                *(MatchResult.reasons.like(f"%{code}%") for code in f.word_reasons[:40]),
                *((CaseRow.kind.in_(f.word_kinds),) if f.word_kinds else ()),
            )
        )
    name_col = func.coalesce(DoseRecord.full_name, Citizen.full_name, "")
    if sort == "name":
        order: list[Any] = [name_col, CaseRow.id]
    elif sort == "date":
        order = [CaseRow.created_at, CaseRow.id]
    else:
        order = [CaseRow.priority.desc(), CaseRow.created_at, CaseRow.id]
    if cursor:
        keys = _decode_cursor(cursor, sort)
        if sort == "name":
            n, i = keys
            conds.append(or_(name_col > n, and_(name_col == n, CaseRow.id > i)))
        elif sort == "date":
            c, i = keys
            conds.append(or_(CaseRow.created_at > c, and_(CaseRow.created_at == c, CaseRow.id > i)))
        else:
            p, c, i = keys
            conds.append(
                or_(
                    CaseRow.priority < p,
                    and_(
                        CaseRow.priority == p,
                        or_(CaseRow.created_at > c, and_(CaseRow.created_at == c, CaseRow.id > i)),
                    ),
                )
            )
    # The page's cases are chosen on work_case alone (with what the sort and the filters read), then joined to
    # what they show: a district's worklist would otherwise join every one of its tens of thousands of cases
    # before keeping fifty.
    page = select(CaseRow.id)
    if sort == "name":
        page = page.outerjoin(DoseRecord, DoseRecord.id == CaseRow.dose_record_id).outerjoin(
            Citizen, Citizen.id == CaseRow.citizen_id
        )
    if f.reason or (f.words and f.words.strip()):
        page = page.outerjoin(MatchResult, MatchResult.dose_record_id == CaseRow.dose_record_id)
    chosen = page.where(*conds).order_by(*order).limit(limit + 1).subquery()
    q = (
        select(
            CaseRow.id,
            CaseRow.kind,
            CaseRow.status,
            CaseRow.priority,
            CaseRow.ward_code,
            CaseRow.created_at,
            CaseRow.due_at,
            MatchResult.reasons,
            # A case without a dose record (a citizen's request, a register change) is named by its citizen.
            name_col,
            CaseRow.version,
            CaseRow.details,
            records_col,
            CaseRow.assigned_to,
        )
        .join(chosen, chosen.c.id == CaseRow.id)
        .outerjoin(MatchResult, MatchResult.dose_record_id == CaseRow.dose_record_id)
        .outerjoin(DoseRecord, DoseRecord.id == CaseRow.dose_record_id)
        .outerjoin(Citizen, Citizen.id == CaseRow.citizen_id)
        .order_by(*order)
    )
    rows = session.execute(q).all()
    items = [
        WorkItem(
            id=r[0],
            kind=r[1],
            status=r[2],
            priority=r[3],
            ward_code=r[4],
            created_at=r[5],
            due_at=r[6],
            reasons=[x for x in (r[7] or "").split(";") if x],
            health_name=r[8] or None,
            version=r[9],
            overdue=r[6] is not None and r[6] < now,
            subject=str((r[10] or {}).get("field") or "") or None,
            records=int(r[11] or 1),
            assigned_to=r[12],
        )
        for r in rows[:limit]
    ]
    incoming = (
        session.scalar(
            select(func.count())
            .select_from(VerificationRequest)
            .where(verification_requests_in(who.scope), VerificationRequest.status == "open")
        )
        or 0
    )
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CASE_LIST_VIEWED,
        resource_type="case",
        resource_id=None,
        jurisdiction=who.scope.label,
        reason=None,
        details={"cases": [i.id for i in items]},
    )
    return Worklist(
        items=items,
        counts=counts,
        total=sum(counts.values()),
        next_cursor=_encode_cursor(sort, items[-1]) if len(rows) > limit and items else None,
        incoming_verifications=int(incoming),
        records=records,
    )


# --- one case side by side with the register ----------------------------------------------------


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


def _linked_doses(session: Session, citizen_ids: list[int]) -> dict[int, list[DoseView]]:
    out: dict[int, list[DoseView]] = {c: [] for c in citizen_ids}
    if not citizen_ids:
        return out
    for m, d in session.execute(
        select(MatchResult, DoseRecord)
        .join(DoseRecord, DoseRecord.id == MatchResult.dose_record_id)
        .where(
            MatchResult.citizen_id.in_(citizen_ids),
            MatchResult.outcome.in_(("linked", "confirmed")),
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


def _siblings_of(session: Session, who: Principal, case: CaseRow) -> list[CaseRow]:
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


def _same_birth(text: str | None, c: Citizen) -> bool:
    d = health_birth(text)
    if d is None:
        return False
    if d.precision is Precision.DAY and c.birth_precision == "day":
        return d.as_date() == c.birth_date
    return d.year == c.birth_year


def _sex_label(value: str | None) -> str:
    s = parse_sex(value) if value else None
    return "" if s is None else s.label_vi


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
        FieldRow("birth_date", dose.date_of_birth, birth_text(c), not _same_birth(dose.date_of_birth, c)),
        FieldRow(
            "sex",
            dose.sex,
            Sex(c.sex).label_vi if c.sex in ("M", "F") else c.sex,
            sex is None or sex.value != c.sex,
        ),
        FieldRow("personal_id", dose.id_number, c.personal_id, hid != c.personal_id),
        FieldRow("phone", dose.phone, c.phone, bool(dose.phone and c.phone and dose.phone != c.phone)),
        FieldRow(
            "ward_code",
            dose.ward_code,
            c.current_ward_code,
            bool(dose.ward_code and dose.ward_code != c.current_ward_code),
        ),
    ]


def _case_in_scope(session: Session, who: Principal, case_id: int) -> CaseRow:
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
        "vaccination_date": d.vaccination_date.isoformat() if d.vaccination_date else None,
        "dose_number": d.dose_number,
        "vaccine": d.vaccine,
        "vaccine_code": d.vaccine_code,
        "lot_number": d.lot_number,
        "site": d.site,
    }


def case_detail(session: Session, who: Principal, case_id: int) -> CaseView:
    case = _case_in_scope(session, who, case_id)
    details = dict(case.details or {})
    dose = session.get(DoseRecord, case.dose_record_id) if case.dose_record_id else None
    mr = session.get(MatchResult, case.dose_record_id) if case.dose_record_id else None
    ranked: list[dict[str, Any]] = [c for c in details.get("candidates", []) if isinstance(c, dict)]
    ids: list[int] = []
    for c in ranked:
        if isinstance(c.get("citizen_id"), int) and c["citizen_id"] not in ids:
            ids.append(c["citizen_id"])
    for extra in (case.citizen_id, mr.citizen_id if mr else None):
        if extra is not None and extra not in ids:
            ids.append(extra)
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
    doses = _linked_doses(session, [c.citizen_id for c in candidates])
    for cand in candidates:
        cand.doses = doses.get(cand.citizen_id, [])
    siblings = []
    for k in _siblings_of(session, who, case) if case.status in ACTIONABLE else []:
        sd = session.get(DoseRecord, k.dose_record_id) if k.dose_record_id else None
        smr = session.get(MatchResult, k.dose_record_id) if k.dose_record_id else None
        siblings.append(
            Sibling(
                id=k.id,
                kind=k.kind,
                version=k.version,
                reasons=[x for x in (smr.reasons if smr else "").split(";") if x],
                health=_health_dict(sd) if sd is not None else {},
            )
        )
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CASE_VIEWED,
        resource_type="case",
        resource_id=case.id,
        jurisdiction=who.scope.label,
        reason=None,
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
        reasons=[x for x in (mr.reasons if mr else "").split(";") if x],
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
        names=display_names(
            session,
            [
                case.assigned_to,
                *(str(h.get("by") or "") for h in details.get("history", []) if isinstance(h, dict)),
                str(details.get("requested_by") or ""),
                str(details.get("decided_by") or ""),
            ],
        ),
        citizen_name=session.scalar(
            select(Citizen.full_name).where(Citizen.id == case.citizen_id, citizens_in(who.scope))
        )
        if case.citizen_id is not None
        else None,
    )


# --- actions ------------------------------------------------------------------------------------


def _actionable(session: Session, who: Principal, case_id: int, version: int) -> CaseRow:
    case = _case_in_scope(session, who, case_id)
    if case.status not in ACTIONABLE or case.version != version:
        raise changed_meanwhile()
    return case


def _settle(session: Session, case: CaseRow, version: int, **values: Any) -> None:
    """The guarded write: only the holder of `version` changes the row; anyone else gets a Conflict."""
    # Every action starts here: what the case counts for in the statistics is noted before it changes.
    watch(session, cases=[case.id])
    n = session.execute(
        update(CaseRow)
        .where(CaseRow.id == case.id, CaseRow.version == version, CaseRow.status.in_(ACTIONABLE))
        .values(version=CaseRow.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(n) != 1:
        raise changed_meanwhile()
    session.expire(case)


def _history(case: CaseRow, entry: dict[str, Any]) -> dict[str, Any]:
    details = dict(case.details or {})
    details["history"] = [*details.get("history", []), entry]
    return details


def _confirm_link(session: Session, who: Principal, case: CaseRow, citizen: Citizen) -> set[int]:
    """Attach the case's dose record to the citizen as a person's decision; returns the citizens touched."""
    touched = {citizen.id}
    mr = session.get(MatchResult, case.dose_record_id)
    if mr is None:
        raise Invalid("Hồ sơ không gắn với bản ghi mũi tiêm", "the case has no dose record", "NO_DOSE_RECORD")
    previous = mr.citizen_id
    if previous is not None:
        touched.add(previous)
    watch(session, dose_records=[mr.dose_record_id])
    session.execute(
        update(MatchResult)
        .where(MatchResult.dose_record_id == mr.dose_record_id)
        .values(
            outcome="confirmed",
            citizen_id=citizen.id,
            decided_by=who.username,
            decided_at=utcnow(),
            version=MatchResult.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.expire(mr)
    # A certificate of the former citizen resting on this dose is revoked by the aftermath of the action.
    return touched


Also = Sequence[tuple[int, int]]


def _with_siblings(
    session: Session, who: Principal, case_id: int, version: int, also: Also
) -> list[tuple[CaseRow, int]]:
    """The case and the same person's other open cases named with their versions, each actionable: one
    action settles them together or, if any changed meanwhile, none (Conflict). A case named that is not
    the same person's at the same desk is refused."""
    lead = _actionable(session, who, case_id, version)
    out = [(lead, version)]
    if not also:
        return out
    mates = {k.id: k for k in _siblings_of(session, who, lead)}
    seen = {lead.id}
    for sid, sver in also:
        if sid in seen:
            continue
        seen.add(sid)
        if sid not in mates:
            other = _case_in_scope(session, who, sid)  # out of scope: "not found", like a missing id
            if other.status not in ACTIONABLE or other.version != sver:
                raise changed_meanwhile()
            raise Invalid(
                "Hồ sơ không cùng một người", "the cases are not the same person's", "NOT_SAME_PERSON"
            )
        out.append((_actionable(session, who, sid, sver), sver))
    return out


def _with(case: CaseRow, lead_id: int) -> dict[str, int]:
    """Audit detail of a case settled with another (the one the officer acted on)."""
    return {} if case.id == lead_id else {"with_case": lead_id}


def link_case(
    session: Session,
    who: Principal,
    case_id: int,
    version: int,
    citizen_id: int,
    note: str | None = None,
    settings: Settings | None = None,
    also: Also = (),
) -> None:
    """Link the case's dose record to the suggested citizen or one found by search (in the jurisdiction),
    with the same person's other open cases named in `also` ((id, version) pairs). With `settings` (the
    signing keys), a certificate the move makes untrue is reissued at once."""
    group = _with_siblings(session, who, case_id, version, also)
    citizen = citizen_in_scope(session, who, citizen_id)
    now = utcnow()
    touched: set[int] = set()
    for case, ver in group:
        _settle(
            session,
            case,
            ver,
            status="closed",
            resolution="linked",
            resolution_note=note,
            closed_at=now,
            assigned_to=who.username,
            citizen_id=citizen.id,
            details=_history(
                case,
                {
                    "at": now.isoformat(),
                    "by": who.username,
                    "action": "linked",
                    "citizen_id": citizen.id,
                    **({"note": note[:400]} if note else {}),
                },
            ),
        )
        touched |= _confirm_link(session, who, case, citizen)
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.CASE_LINKED,
            resource_type="case",
            resource_id=case.id,
            jurisdiction=who.scope.label,
            reason=note,
            details={"citizen_id": citizen.id, "dose_record_id": case.dose_record_id, **_with(case, case_id)},
        )
    refresh_after_links(session, touched, actor=who.username, settings=settings)


def health_corrections(dose: DoseRecord, citizen: Citizen) -> dict[str, str]:
    """What health must change in its record so that it says what the register says."""
    out: dict[str, str] = {}
    for row in compare(dose, citizen):
        if row.field in ("full_name", "birth_date", "sex", "personal_id") and row.differs and row.registered:
            out[row.field] = row.registered
    return out


def declare_health_wrong(
    session: Session,
    who: Principal,
    case_id: int,
    version: int,
    citizen_id: int | None,
    note: str,
    also: Also = (),
) -> dict[str, str]:
    """The health record is wrong. With the citizen it belongs to, the record is linked and health is told
    the register's values for every differing field; without one, health is told to check the record. The
    same person's other open cases named in `also` are settled alike, each with its own record's fields.
    Returns the corrections of the first case."""
    note = (note or "").strip()
    if not note:
        raise Invalid("Cần ghi lý do", "a reason is required", "REASON_REQUIRED")
    group = _with_siblings(session, who, case_id, version, also)
    citizen = citizen_in_scope(session, who, citizen_id) if citizen_id is not None else None
    now = utcnow()
    touched: set[int] = set()
    first: dict[str, str] | None = None
    for case, ver in group:
        dose = session.get(DoseRecord, case.dose_record_id) if case.dose_record_id else None
        if dose is None:
            raise Invalid(
                "Hồ sơ không gắn với bản ghi mũi tiêm", "the case has no dose record", "NO_DOSE_RECORD"
            )
        corrections = health_corrections(dose, citizen) if citizen is not None else {}
        if first is None:
            first = corrections
        details = _history(
            case, {"at": now.isoformat(), "by": who.username, "action": "health_wrong", "note": note[:400]}
        )
        details["health_correction"] = {
            "fields": corrections,
            "note": note[:400],
            "ward_code": case.ward_code,
            "by": who.username,
            "at": now.isoformat(),
        }
        _settle(
            session,
            case,
            ver,
            status="closed",
            resolution="health_wrong",
            resolution_note=note,
            closed_at=now,
            assigned_to=who.username,
            citizen_id=citizen.id if citizen else case.citizen_id,
            details=details,
        )
        if citizen is not None:
            touched |= _confirm_link(session, who, case, citizen)
            session.execute(
                update(MatchResult)
                .where(MatchResult.dose_record_id == dose.id)
                .values(blame="health")
                .execution_options(synchronize_session=False)
            )
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.CASE_HEALTH_WRONG,
            resource_type="case",
            resource_id=case.id,
            jurisdiction=who.scope.label,
            reason=note,
            details={
                "citizen_id": citizen.id if citizen else None,
                "fields": sorted(corrections),
                **_with(case, case_id),
            },
        )
    refresh_after_links(session, touched, actor=who.username)
    return first or {}


def pass_case(
    session: Session,
    who: Principal,
    case_id: int,
    version: int,
    ward_code: str,
    reason: str,
    also: Also = (),
) -> None:
    """Hand the case (and the same person's other open cases named in `also`) to another ward (the person
    lives there): they leave this ward's worklist."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Cần ghi lý do", "a reason is required", "REASON_REQUIRED")
    group = _with_siblings(session, who, case_id, version, also)
    lead = group[0][0]
    target = session.scalar(
        select(AdminUnitRow).where(
            AdminUnitRow.structure == lead.ward_units,
            AdminUnitRow.level == "ward",
            AdminUnitRow.code == ward_code,
        )
    )
    if target is None:
        raise Invalid("Mã phường/xã không có trong danh mục", "no ward with that code", "UNKNOWN_WARD")
    if target.code == lead.ward_code:
        raise Invalid("Hồ sơ đã ở phường/xã này", "the case is already with that ward", "SAME_WARD")
    now = utcnow()
    for case, ver in group:
        _settle(
            session,
            case,
            ver,
            ward_code=target.code,
            province_code=target.province_code,
            assigned_to=None,
            details=_history(
                case,
                {
                    "at": now.isoformat(),
                    "by": who.username,
                    "action": "passed",
                    "from": case.ward_code,
                    "to": target.code,
                    "reason": reason[:400],
                },
            ),
        )
        if case.dose_record_id is not None:
            watch(session, dose_records=[case.dose_record_id])
            session.execute(
                update(MatchResult)
                .where(
                    MatchResult.dose_record_id == case.dose_record_id,
                    MatchResult.outcome.in_(("review", "unmatched")),
                )
                .values(ward_code=target.code, ward_units=target.structure)
                .execution_options(synchronize_session=False)
            )
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.CASE_PASSED,
            resource_type="case",
            resource_id=case.id,
            jurisdiction=who.scope.label,
            reason=reason,
            details={"to_ward": target.code, **_with(case, case_id)},
        )
    refresh_after_links(session, set())


def start_collection(
    session: Session, who: Principal, case_id: int, version: int, note: str | None = None
) -> None:
    """The person is not in the register: the ward collects them as a new resident.

    The case moves to status `collection`, where the verification-request flow takes it over (it sends
    the request to the ward of permanent residence and, on the answer, links the dose records). Until
    then the case stays on this ward's worklist as waiting."""
    case = _actionable(session, who, case_id, version)
    now = utcnow()
    details = _history(case, {"at": now.isoformat(), "by": who.username, "action": "collection"})
    details["collection"] = {
        "started_by": who.username,
        "started_at": now.isoformat(),
        "note": (note or "")[:400],
    }
    _settle(session, case, version, status="collection", assigned_to=who.username, details=details)
    refresh_after_links(session, set())
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CASE_COLLECTION_STARTED,
        resource_type="case",
        resource_id=case_id,
        jurisdiction=who.scope.label,
        reason=note,
    )


def take_case(session: Session, who: Principal, case_id: int, version: int, also: Also = ()) -> None:
    """The officer takes the case (with the same person's other open cases named in `also`): it shows
    under "của tôi" (mine) on their worklist."""
    now = utcnow()
    for case, ver in _with_siblings(session, who, case_id, version, also):
        _settle(
            session,
            case,
            ver,
            assigned_to=who.username,
            details=_history(case, {"at": now.isoformat(), "by": who.username, "action": "taken"}),
        )
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.CASE_TAKEN,
            resource_type="case",
            resource_id=case.id,
            jurisdiction=who.scope.label,
            reason=None,
            details=_with(case, case_id) or None,
        )


def close_request(session: Session, who: Principal, case_id: int, version: int, note: str) -> None:
    """A citizen's correction request handled (the register corrected from the citizen's record, the
    citizen contacted, or nothing to change): it closes with what was done."""
    note = (note or "").strip()
    if not note:
        raise Invalid("Cần ghi đã làm gì", "say what was done", "NOTE_REQUIRED")
    case = _actionable(session, who, case_id, version)
    if case.kind != "correction":
        raise Invalid(
            "Chỉ đóng được đề nghị của công dân", "only a citizen's request closes this way", "BAD_KIND"
        )
    now = utcnow()
    _settle(
        session,
        case,
        version,
        status="closed",
        resolution="answered",
        resolution_note=note[:400],
        closed_at=now,
        assigned_to=who.username,
        details=_history(
            case, {"at": now.isoformat(), "by": who.username, "action": "answered", "note": note[:400]}
        ),
    )
    refresh_after_links(session, set())
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CORRECTION_REQUEST_CLOSED,
        resource_type="case",
        resource_id=case_id,
        jurisdiction=who.scope.label,
        reason=note,
    )


def cases_awaiting_collection(session: Session, who: Principal) -> list[int]:
    """The hand-over point to verification between wards: cases in `collection` in the jurisdiction."""
    return list(
        session.scalars(
            select(CaseRow.id).where(cases_in(who.scope), CaseRow.status == "collection").order_by(CaseRow.id)
        )
    )


__all__ = ["ACTIONABLE", "KINDS", "ON_WORKLIST", "Conflict", "Invalid", "NotFound", "ServiceError"]

"""A ward's worklist: the open cases of the user's jurisdiction, filtered, sorted and paged, one row per person
if asked. Every query goes through the jurisdiction clauses of `storage.scope`."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import ON_WORKLIST, CaseKind, RequestStatus
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench.casework import audited
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen, DoseRecord, MatchResult, VerificationRequest, utcnow
from vaxlink.storage.scope import cases_in, verification_requests_in

KINDS = tuple(CaseKind)
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


def work_item(case: CaseRow, now: datetime, reasons: str | None = None) -> WorkItem:
    """A case as a row of a list (a citizen's record, the counter): no health name, the matcher's reasons."""
    return WorkItem(
        case.id,
        case.kind,
        case.status,
        case.priority,
        case.ward_code,
        case.created_at,
        case.due_at,
        reason_codes(reasons),
        None,
        case.version,
        case.due_at is not None and case.due_at < now,
    )


def reason_codes(reasons: str | None) -> list[str]:
    """The matcher's reason codes, stored as "A;B;C"."""
    return [x for x in (reasons or "").split(";") if x]


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


def _desk(who: Principal, f: WorkFilter, statuses: tuple[str, ...], now: datetime) -> list[Any]:
    """The cases the list counts: the jurisdiction's (or one ward's) on the worklist, old enough."""
    base = [cases_in(who.scope), CaseRow.status.in_(statuses)]
    if f.min_age_days:
        base.append(CaseRow.created_at <= now - timedelta(days=f.min_age_days))
    if f.ward_code:
        base.append(CaseRow.ward_code == f.ward_code)
        base.append(CaseRow.ward_units == (f.ward_units or "legacy"))
    return base


def _lead_cases(statuses: tuple[str, ...]) -> tuple[ColumnElement[bool], Any]:
    """With `by_person`: the clause keeping the lead of a person's cases (no open case of theirs at this desk
    comes before it) and the column counting the records it stands for."""
    sibling = aliased(CaseRow)
    before = and_(
        _same_desk(sibling),
        sibling.status.in_(statuses),
        or_(
            sibling.priority > CaseRow.priority,
            and_(sibling.priority == CaseRow.priority, sibling.id < CaseRow.id),
        ),
    )
    records_col = func.coalesce(
        select(func.count())
        .select_from(sibling)
        .where(_same_desk(sibling), sibling.status.in_(statuses))
        .correlate(CaseRow)
        .scalar_subquery(),
        1,
    )
    return ~exists().where(before), records_col


def _filters(who: Principal, f: WorkFilter) -> list[Any]:
    """What the officer filters by, on top of what the counts count."""
    conds: list[Any] = []
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
    return conds


def _order(sort: str, name_col: Any) -> list[Any]:
    if sort == "name":
        return [name_col, CaseRow.id]
    if sort == "date":
        return [CaseRow.created_at, CaseRow.id]
    return [CaseRow.priority.desc(), CaseRow.created_at, CaseRow.id]


def _after(sort: str, cursor: str, name_col: Any) -> ColumnElement[bool]:
    """The rows after the cursor's, in the order of `sort`."""
    keys = _decode_cursor(cursor, sort)
    if sort == "name":
        n, i = keys
        return or_(name_col > n, and_(name_col == n, CaseRow.id > i))
    if sort == "date":
        c, i = keys
        return or_(CaseRow.created_at > c, and_(CaseRow.created_at == c, CaseRow.id > i))
    p, c, i = keys
    return or_(
        CaseRow.priority < p,
        and_(
            CaseRow.priority == p,
            or_(CaseRow.created_at > c, and_(CaseRow.created_at == c, CaseRow.id > i)),
        ),
    )


def _page(f: WorkFilter, sort: str, conds: list[Any], order: list[Any], limit: int) -> Any:
    """The page's case ids, chosen on work_case alone (with what the sort and the filters read): a district's
    worklist would otherwise join every one of its tens of thousands of cases before keeping fifty."""
    page: Select[Any] = select(CaseRow.id)
    if sort == "name":
        page = page.outerjoin(DoseRecord, DoseRecord.id == CaseRow.dose_record_id).outerjoin(
            Citizen, Citizen.id == CaseRow.citizen_id
        )
    if f.reason or (f.words and f.words.strip()):
        page = page.outerjoin(MatchResult, MatchResult.dose_record_id == CaseRow.dose_record_id)
    return page.where(*conds).order_by(*order).limit(limit + 1).subquery()


def _rows(session: Session, chosen: Any, name_col: Any, records_col: Any, order: list[Any]) -> list[Any]:
    """The chosen cases joined to what the list shows of them."""
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
    return list(session.execute(q).all())


def _item(r: Any, now: datetime) -> WorkItem:
    return WorkItem(
        id=r[0],
        kind=r[1],
        status=r[2],
        priority=r[3],
        ward_code=r[4],
        created_at=r[5],
        due_at=r[6],
        reasons=reason_codes(r[7]),
        health_name=r[8] or None,
        version=r[9],
        overdue=r[6] is not None and r[6] < now,
        subject=str((r[10] or {}).get("field") or "") or None,
        records=int(r[11] or 1),
        assigned_to=r[12],
    )


def _incoming(session: Session, who: Principal) -> int:
    """Open verification requests of the jurisdiction (the worklist names how many wait)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(VerificationRequest)
            .where(verification_requests_in(who.scope), VerificationRequest.status == RequestStatus.OPEN)
        )
        or 0
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
    statuses: tuple[str, ...] = (f.status,) if f.status in ON_WORKLIST else ON_WORKLIST
    base = _desk(who, f, statuses, now)
    every_record = list(base)
    records_col: Any = literal(1)
    if f.by_person:
        lead, records_col = _lead_cases(statuses)
        base.append(lead)
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
    conds = [*base, *_filters(who, f)]
    name_col = func.coalesce(DoseRecord.full_name, Citizen.full_name, "")
    order = _order(sort, name_col)
    if cursor:
        conds.append(_after(sort, cursor, name_col))
    rows = _rows(session, _page(f, sort, conds, order, limit), name_col, records_col, order)
    items = [_item(r, now) for r in rows[:limit]]
    incoming = _incoming(session, who)
    audited(session, who, AuditAction.CASE_LIST_VIEWED, "case", details={"cases": [i.id for i in items]})
    return Worklist(
        items=items,
        counts=counts,
        total=sum(counts.values()),
        next_cursor=_encode_cursor(sort, items[-1]) if len(rows) > limit and items else None,
        incoming_verifications=incoming,
        records=records,
    )

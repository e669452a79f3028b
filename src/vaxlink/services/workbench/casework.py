"""What the workbench's services share: the jurisdiction check of a citizen, how birth dates are read and
shown, how a case is opened and its history kept, and the statistics that follow every action."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, Unpack

from sqlalchemy import ColumnElement, select, text, update
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import CaseKind, CaseStatus
from vaxlink.domain.dates import PartialDate, Precision, parse_birth_date
from vaxlink.domain.phones import ascii_digits
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import Conflict, NotFound, changed_meanwhile
from vaxlink.services.figures.stats_upkeep import CellChanges, Watched
from vaxlink.services.reconciliation.aftermath import after_links_moved
from vaxlink.settings import Settings
from vaxlink.storage.models import AdminUnitRow, AppUser, Citizen, VerificationRequest, utcnow
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.scope import citizens_in


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


_Versioned = TypeVar("_Versioned", CaseRow, Citizen, VerificationRequest)


def guarded_update(
    session: Session,
    row: _Versioned,
    version: int,
    *where: ColumnElement[bool],
    conflict: Callable[[], Conflict] = changed_meanwhile,
    **values: Any,
) -> None:
    """The guarded write: only the holder of `version` (the one the officer read) changes the row, where
    `where` holds too, and its version moves on; anyone else gets the Conflict `conflict` makes."""
    table = type(row)
    n = session.execute(
        update(table)
        .where(table.id == row.id, table.version == version, *where)
        .values(version=table.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(n) != 1:
        raise conflict()


def citizen_in_scope(session: Session, who: Principal, citizen_id: int) -> Citizen:
    c = session.scalar(select(Citizen).where(Citizen.id == citizen_id, citizens_in(who.scope)))
    if c is None:
        raise NotFound("citizen")
    return c


# The ASCII digits of what was typed (a number or a phone written with spaces, dots, dashes).
digits = ascii_digits


def ward_row(session: Session, units: str, ward_code: str | None) -> AdminUnitRow | None:
    """The ward of that code in the catalogue of `units` (legacy or 2025), or None."""
    return session.scalar(
        select(AdminUnitRow).where(
            AdminUnitRow.structure == units, AdminUnitRow.level == "ward", AdminUnitRow.code == ward_code
        )
    )


def audited(
    session: Session,
    who: Principal,
    action: AuditAction,
    resource_type: str,
    resource_id: str | int | None = None,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """The officer's action (or reading) recorded in the audit chain, in their name and jurisdiction."""
    audit.record(
        session,
        actor=who.username,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        jurisdiction=who.scope.label,
        reason=reason,
        details=details,
    )


def birth_text(c: Citizen) -> str:
    if c.birth_precision == Precision.YEAR.value:
        return str(c.birth_year)
    if c.birth_precision == Precision.MONTH.value:
        return f"{c.birth_date.month:02d}/{c.birth_date.year}"
    return c.birth_date.strftime("%d/%m/%Y")


def health_birth(text: str | None, dose_on: date | None = None) -> PartialDate | None:
    """A birth date as health or an officer writes it; on a dose record, read on `dose_on`, the day of the
    dose (a two-digit year: `parse_birth_date`)."""
    found = parse_birth_date(text, dose_on=dose_on) if text else None
    return found if isinstance(found, PartialDate) else None


# --- a case opened, its history kept ------------------------------------------------------------------


def open_case(
    session: Session,
    citizen: Citizen,
    *,
    kind: CaseKind,
    status: CaseStatus,
    priority: int,
    details: dict[str, Any],
    due: timedelta,
) -> CaseRow:
    """A new case about a citizen, on the worklist of the ward where they live (flushed, so that it has an
    id, and counted in the statistics once the action keeps its figures)."""
    ward = ward_row(session, citizen.current_units, citizen.current_ward_code)
    now = utcnow()
    case = CaseRow(
        kind=kind,
        status=status,
        priority=priority,
        ward_code=citizen.current_ward_code,
        ward_units=citizen.current_units,
        province_code=ward.province_code if ward is not None else None,
        citizen_id=citizen.id,
        details=details,
        created_at=now,
        due_at=now + due,
        version=1,
    )
    session.add(case)
    session.flush()
    created(session, cases=[case.id])
    return case


def history(case: CaseRow, by: str, now: datetime, entry: dict[str, Any]) -> dict[str, Any]:
    """The case's details with one more entry in its history: when, by whom, then what was done."""
    details = dict(case.details or {})
    details["history"] = [*details.get("history", []), {"at": now.isoformat(), "by": by, **entry}]
    return details


# --- the statistics follow every action -------------------------------------------------------------

_CHANGES = "statistics_cell_changes"


def _changes(session: Session) -> CellChanges:
    """The rows watched in this session's current transaction (a new transaction starts afresh)."""
    session.connection()
    tx = session.get_transaction()
    held = session.info.get(_CHANGES)
    if held is None or held[0] is not tx:
        held = session.info[_CHANGES] = (tx, CellChanges())
    return held[1]


def watch(session: Session, **rows: Unpack[Watched]) -> None:
    """Rows an action is about to change: what they count for in the statistics is noted first."""
    _changes(session).watch(session.connection(), **rows)


def created(
    session: Session,
    *,
    citizens: Iterable[int] = (),
    cases: Iterable[int] = (),
    verification_requests: Iterable[int] = (),
) -> None:
    """Rows an action has just created (flushed, so that they have ids)."""
    _changes(session).created(citizens=citizens, cases=cases, verification_requests=verification_requests)


def keep_figures(session: Session) -> None:
    """The statistics cells follow the rows watched and created so far, in the same transaction. Called by
    each action once its rows are changed, right before its audit event."""
    session.flush()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # The audit chain's lock, which the action's audit event takes next anyway: cells are then changed
        # by one action at a time, and never by one that waits for another holding that lock.
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.CHAIN_LOCK})
    _changes(session).apply(conn)


def refresh_after_links(
    session: Session, citizen_ids: set[int], *, actor: str = "system", settings: Settings | None = None
) -> None:
    """The end of every action that may move dose links: the one aftermath (`services/reconciliation/aftermath.py`:
    dose-sequence flags, status, certificates resting on a dose no longer linked to their holder revoked,
    reissued when `settings` give the signing keys, the holder told), then the statistics follow the rows
    the action watched (citizens, records, cases, requests), by difference."""
    ids = sorted(i for i in citizen_ids if i is not None)
    session.flush()
    if ids:
        watch(session, citizens=ids)
        sql = "SELECT id FROM citizen WHERE id IN (" + ", ".join(str(int(i)) for i in ids) + ")"
        after_links_moved(session, settings, sql, actor=actor)
    keep_figures(session)


def display_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """The officers' names as people read them ("Nguyễn Văn Bình"), by username; unknown ones left out."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    return {
        u: n
        for u, n in session.execute(
            select(AppUser.username, AppUser.display_name).where(AppUser.username.in_(wanted))
        ).all()
        if n
    }

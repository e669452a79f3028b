"""The actions that settle a ward's case: link the record, declare the health record wrong, pass the case to
another ward, start collecting a new resident, take it, close a citizen's request.

Every action runs in the caller's transaction with its audit event and is guarded by the row's `version`: of
two officers settling the same case, one wins and the other gets a Conflict. The same person's other open
cases at the desk, named with their versions, are settled by the same action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import ACTIONABLE, CaseKind, CaseStatus, Resolution
from vaxlink.domain.outcomes import WAITING_OUTCOMES, MatchOutcome
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid, changed_meanwhile
from vaxlink.services.workbench.case_view import case_in_scope, compare, siblings_of
from vaxlink.services.workbench.casework import (
    audited,
    citizen_in_scope,
    guarded_update,
    history,
    refresh_after_links,
    ward_row,
    watch,
)
from vaxlink.settings import Settings
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen, DoseRecord, MatchResult, utcnow


def _actionable(session: Session, who: Principal, case_id: int, version: int) -> CaseRow:
    case = case_in_scope(session, who, case_id)
    if case.status not in ACTIONABLE or case.version != version:
        raise changed_meanwhile()
    return case


def _settle(session: Session, case: CaseRow, version: int, **values: Any) -> None:
    """The guarded write: only the holder of `version` changes the row; anyone else gets a Conflict."""
    # Every action starts here: what the case counts for in the statistics is noted before it changes.
    watch(session, cases=[case.id])
    guarded_update(session, case, version, CaseRow.status.in_(ACTIONABLE), **values)
    session.expire(case)


def _close(
    session: Session,
    who: Principal,
    case: CaseRow,
    version: int,
    now: datetime,
    resolution: Resolution,
    note: str | None,
    entry: dict[str, Any],
    noted: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """The guarded write closing a case, settled by the officer: `entry` is what the case's history says
    was done, `noted` what else its details keep."""
    _settle(
        session,
        case,
        version,
        status=CaseStatus.CLOSED,
        resolution=resolution,
        resolution_note=note,
        closed_at=now,
        assigned_to=who.username,
        details=history(case, who.username, now, entry) | (noted or {}),
        **values,
    )


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
            outcome=MatchOutcome.CONFIRMED.value,
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
    mates = {k.id: k for k in siblings_of(session, who, lead)}
    seen = {lead.id}
    for sid, sver in also:
        if sid in seen:
            continue
        seen.add(sid)
        if sid not in mates:
            other = case_in_scope(session, who, sid)  # out of scope: "not found", like a missing id
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
        entry = {"action": "linked", "citizen_id": citizen.id, **({"note": note[:400]} if note else {})}
        _close(session, who, case, ver, now, Resolution.LINKED, note, entry, citizen_id=citizen.id)
        touched |= _confirm_link(session, who, case, citizen)
        audited(
            session,
            who,
            AuditAction.CASE_LINKED,
            "case",
            case.id,
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
        told = {
            "fields": corrections,
            "note": note[:400],
            "ward_code": case.ward_code,
            "by": who.username,
            "at": now.isoformat(),
        }
        _close(
            session,
            who,
            case,
            ver,
            now,
            Resolution.HEALTH_WRONG,
            note,
            {"action": "health_wrong", "note": note[:400]},
            {"health_correction": told},
            citizen_id=citizen.id if citizen else case.citizen_id,
        )
        if citizen is not None:
            touched |= _confirm_link(session, who, case, citizen)
            session.execute(
                update(MatchResult)
                .where(MatchResult.dose_record_id == dose.id)
                .values(blame="health")
                .execution_options(synchronize_session=False)
            )
        audited(
            session,
            who,
            AuditAction.CASE_HEALTH_WRONG,
            "case",
            case.id,
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
    target = ward_row(session, lead.ward_units, ward_code)
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
            details=history(
                case,
                who.username,
                now,
                {
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
                    MatchResult.outcome.in_(WAITING_OUTCOMES),
                )
                .values(ward_code=target.code, ward_units=target.structure)
                .execution_options(synchronize_session=False)
            )
        audited(
            session,
            who,
            AuditAction.CASE_PASSED,
            "case",
            case.id,
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
    details = history(case, who.username, now, {"action": "collection"})
    details["collection"] = {
        "started_by": who.username,
        "started_at": now.isoformat(),
        "note": (note or "")[:400],
    }
    _settle(session, case, version, status=CaseStatus.COLLECTION, assigned_to=who.username, details=details)
    refresh_after_links(session, set())
    audited(session, who, AuditAction.CASE_COLLECTION_STARTED, "case", case_id, reason=note)


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
            details=history(case, who.username, now, {"action": "taken"}),
        )
        audited(session, who, AuditAction.CASE_TAKEN, "case", case.id, details=_with(case, case_id) or None)


def close_request(session: Session, who: Principal, case_id: int, version: int, note: str) -> None:
    """A citizen's correction request handled (the register corrected from the citizen's record, the
    citizen contacted, or nothing to change): it closes with what was done."""
    note = (note or "").strip()
    if not note:
        raise Invalid("Cần ghi đã làm gì", "say what was done", "NOTE_REQUIRED")
    case = _actionable(session, who, case_id, version)
    if case.kind != CaseKind.CORRECTION:
        raise Invalid(
            "Chỉ đóng được đề nghị của công dân", "only a citizen's request closes this way", "BAD_KIND"
        )
    now = utcnow()
    entry = {"action": "answered", "note": note[:400]}
    _close(session, who, case, version, now, Resolution.ANSWERED, note[:400], entry)
    refresh_after_links(session, set())
    audited(session, who, AuditAction.CORRECTION_REQUEST_CLOSED, "case", case_id, reason=note)

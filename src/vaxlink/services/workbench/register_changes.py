"""Corrections of the register by a ward officer: the address at once; identity fields (name, birth date, sex,
number) and the phone (it receives the citizen's one-time codes) as a change a second officer approves, the
old number told when the phone changes.

An approval checks the field it changes, not the whole row: a change waiting for approval stays valid while
other fields of the citizen change, and is refused only when its own field changed meanwhile. The requester
reads the outcome (who decided, when, why) in their list of requests. Every change runs in the caller's
transaction with its audit event and is guarded by the row's `version`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import CaseKind, CaseStatus, ChangeOutcome
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.names import canonical_name, fold_name, official_name, split_name
from vaxlink.domain.personal_ids import PersonalId, parse_personal_id, strip_separators
from vaxlink.domain.phones import usable_phone
from vaxlink.domain.sex import parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.certificates import issuance as certificates
from vaxlink.services.errors import Invalid, NotFound, changed_meanwhile
from vaxlink.services.workbench.casework import (
    audited,
    citizen_in_scope,
    guarded_update,
    health_birth,
    keep_figures,
    open_case,
    watch,
)
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen, CitizenAlias, CitizenChange, OutboxMessage, utcnow
from vaxlink.storage.register_log import register_changed
from vaxlink.storage.scope import cases_in

IDENTITY_FIELDS = ("full_name", "birth_date", "sex", "personal_id")
# The phone receives the citizen's one-time codes: changing it hands over their self-service, so it needs
# the second officer as identity fields do.
CODE_FIELDS = ("phone",)
APPROVED_FIELDS = IDENTITY_FIELDS + CODE_FIELDS
OTHER_FIELDS = ("address",)
CHANGE_DUE = timedelta(days=3)


def _normalise_value(session: Session, citizen: Citizen, field_name: str, value: str) -> str:
    value = (value or "").strip()
    if field_name == "full_name":
        # The register's spelling as the officer writes it (NFC, single spaces); the canonical form only
        # decides whether it is a name at all.
        if not canonical_name(value) or any(ch.isdigit() for ch in value):
            raise Invalid("Họ tên không hợp lệ", "not a full name", "BAD_NAME")
        return official_name(value)
    if field_name == "birth_date":
        d = health_birth(value)
        if d is None or d.earliest() > date.today():
            raise Invalid("Ngày sinh không đọc được", "the date of birth cannot be read", "BAD_DATE")
        return d.iso()
    if field_name == "sex":
        s = parse_sex(value)
        if s is None:
            raise Invalid("Giới tính phải là Nam hoặc Nữ", "sex must be Nam or Nữ", "BAD_SEX")
        return s.value
    if field_name == "personal_id":
        pid = parse_personal_id(strip_separators(value))
        if not isinstance(pid, PersonalId):
            raise Invalid("Số định danh không hợp lệ", "not a valid personal identification number", "BAD_ID")
        taken = session.scalar(
            select(Citizen.id).where(Citizen.personal_id == pid.number, Citizen.id != citizen.id)
        )
        if taken is not None:
            # Neutral: a ward officer must not learn that a number exists elsewhere (the refusal is audited).
            raise Invalid("Không dùng được số định danh này", "this number cannot be used", "ID_UNUSABLE")
        return pid.number
    if field_name == "phone":
        phone = usable_phone(value)
        if phone is None:
            raise Invalid("Số điện thoại không hợp lệ", "not a phone number", "BAD_PHONE")
        return phone
    if field_name == "address":
        if not value or len(value) > 400:
            raise Invalid("Địa chỉ không hợp lệ", "not an address", "BAD_ADDRESS")
        return value
    raise Invalid("Trường không sửa được", "that field cannot be corrected", "BAD_FIELD")


def _current_value(c: Citizen, field_name: str) -> str | None:
    if field_name == "birth_date":
        return {"year": str(c.birth_year), "month": c.birth_date.isoformat()[:7]}.get(
            c.birth_precision, c.birth_date.isoformat()
        )
    value = getattr(c, field_name)
    return None if value is None else str(value)


def _apply(
    session: Session,
    citizen: Citizen,
    expected_version: int,
    field_name: str,
    new: str,
    reason: str,
    source: str,
    actor: str,
    approved_by: str | None = None,
) -> None:
    if approved_by:
        reason = f"{reason}; duyệt bởi / approved by {approved_by}"
    values: dict[str, Any] = {}
    if field_name == "full_name":
        parts = split_name(new)
        values = {
            "full_name": new,
            "name_key": fold_name(new),
            "family_name": parts.family,
            "middle_name": parts.middle,
            "given_name": parts.given,
        }
    elif field_name == "birth_date":
        d = parse_date(new)
        assert isinstance(d, PartialDate)
        values = {"birth_date": d.earliest(), "birth_precision": d.precision.value, "birth_year": d.year}
    else:
        values = {field_name: new}
    old = _current_value(citizen, field_name)
    watch(session, citizens=[citizen.id])
    guarded_update(session, citizen, expected_version, updated_at=utcnow(), **values)
    register_changed(session.connection(), [citizen.id])
    if field_name == "personal_id" and old:
        session.add(CitizenAlias(citizen_id=citizen.id, alias=old, kind="previous_id", created_at=utcnow()))
    if field_name in ("full_name", "birth_date"):
        # The certificate carries the name and birth date: the corrected identity makes it untrue at once
        # (a new one is issued on the next request, from the self-service page or by an officer).
        doses = [d for d, _day, _product in certificates.linked_doses(session, citizen.id)]
        certificates.revoke_for_doses(
            session,
            None,
            doses,
            "thông tin nhân thân được sửa / identity corrected",
            actor=actor,
            reissue=False,
        )
    session.add(
        CitizenChange(
            citizen_id=citizen.id,
            field=field_name,
            old_value=old,
            new_value=new,
            reason=reason[:400],
            source=source,
            changed_at=utcnow(),
            changed_by=actor,
        )
    )
    session.flush()
    session.expire(citizen)


@dataclass
class CorrectionResult:
    applied: bool
    change_id: int | None


def _checked_value(session: Session, c: Citizen, version: int, field_name: str, value: str) -> str:
    """The new value of a correction, read and checked against the officer's version of the record: a value
    the field can hold, and not the one it holds."""
    if c.version != version:
        raise changed_meanwhile()
    new = _normalise_value(session, c, field_name, value)
    if new == _current_value(c, field_name):
        raise Invalid("Giá trị mới trùng giá trị cũ", "the new value is the same as the old one", "UNCHANGED")
    return new


def _waiting_change(session: Session, c: Citizen, field_name: str) -> None:
    """A field has at most one change waiting for approval."""
    waiting = session.scalars(
        select(CaseRow.details).where(
            CaseRow.citizen_id == c.id,
            CaseRow.kind == CaseKind.REGISTER_CHANGE,
            CaseRow.status == CaseStatus.PENDING_APPROVAL,
        )
    ).all()
    if any((w or {}).get("field") == field_name for w in waiting):
        raise Invalid(
            "Trường này đã có một đề nghị sửa đang chờ duyệt",
            "a change of this field is already waiting for approval",
            "CHANGE_WAITING",
        )


def correct_citizen(
    session: Session,
    who: Principal,
    citizen_id: int,
    version: int,
    field_name: str,
    value: str,
    reason: str,
    evidence: str,
    case_id: int | None = None,
) -> CorrectionResult:
    """Correct the register. The address changes at once; identity fields (name, birth date, sex, number)
    and the phone wait as a change a second officer approves. Reason and evidence are required."""
    reason, evidence = (reason or "").strip(), (evidence or "").strip()
    if not reason or not evidence:
        raise Invalid("Cần ghi lý do và căn cứ", "a reason and the evidence are required", "REASON_REQUIRED")
    if field_name not in APPROVED_FIELDS + OTHER_FIELDS:
        raise Invalid("Trường không sửa được", "that field cannot be corrected", "BAD_FIELD")
    c = citizen_in_scope(session, who, citizen_id)
    new = _checked_value(session, c, version, field_name, value)
    source = f"case:{case_id}" if case_id else "counter"
    if field_name in APPROVED_FIELDS:
        _waiting_change(session, c, field_name)
    if field_name in OTHER_FIELDS:
        _apply(session, c, version, field_name, new, f"{reason} ({evidence})", source, who.username)
        keep_figures(session)
        audited(
            session,
            who,
            AuditAction.CITIZEN_CORRECTED,
            "citizen",
            c.id,
            reason=reason,
            details={"field": field_name, "source": source},
        )
        return CorrectionResult(True, None)
    change = open_case(
        session,
        c,
        kind=CaseKind.REGISTER_CHANGE,
        status=CaseStatus.PENDING_APPROVAL,
        priority=3,
        details={
            "field": field_name,
            "old": _current_value(c, field_name),
            "new": new,
            "reason": reason[:400],
            "evidence": evidence[:400],
            "requested_by": who.username,
            "citizen_version": c.version,
            "source": source,
        },
        due=CHANGE_DUE,
    )
    keep_figures(session)
    audited(
        session,
        who,
        AuditAction.REGISTER_CHANGE_REQUESTED,
        "citizen",
        c.id,
        reason=reason,
        details={"field": field_name, "change_id": change.id},
    )
    return CorrectionResult(False, change.id)


@dataclass
class ChangeView:
    id: int
    citizen_id: int | None
    field: str
    old: str | None
    new: str | None
    reason: str
    evidence: str
    requested_by: str
    created_at: datetime
    version: int


def _change_view(k: CaseRow) -> ChangeView:
    d = k.details or {}
    return ChangeView(
        k.id,
        k.citizen_id,
        str(d.get("field")),
        d.get("old"),
        d.get("new"),
        str(d.get("reason", "")),
        str(d.get("evidence", "")),
        str(d.get("requested_by", "")),
        k.created_at,
        k.version,
    )


def pending_changes(session: Session, who: Principal) -> list[ChangeView]:
    rows = session.scalars(
        select(CaseRow)
        .where(
            cases_in(who.scope),
            CaseRow.kind == CaseKind.REGISTER_CHANGE,
            CaseRow.status == CaseStatus.PENDING_APPROVAL,
        )
        .order_by(CaseRow.created_at, CaseRow.id)
        .limit(200)
    )
    out = [_change_view(k) for k in rows]
    audited(
        session,
        who,
        AuditAction.CHANGE_LIST_VIEWED,
        "citizen_change",
        details={"changes": [c.id for c in out]},
    )
    return out


def _tell_old_phone(session: Session, old: str | None, new: str) -> None:
    """The old number hears of the change, so that a citizen whose channel was taken over learns it."""
    if not old:
        return
    session.add(
        OutboxMessage(
            channel="sms",
            recipient=old,
            body=f"vaxlink: số điện thoại nhận mã xác thực của bạn đã được đổi sang số kết thúc bằng {new[-3:]}. "
            "Nếu bạn không đề nghị việc này, hãy báo công an phường/xã nơi bạn ở. / "
            f"The phone that receives your codes was changed to a number ending in {new[-3:]}. "
            "If you did not ask for this, tell your ward police.",
            created_at=utcnow(),
        )
    )


def _pending_change(session: Session, who: Principal, change_id: int, version: int) -> CaseRow:
    """The change waiting for approval, at the version the officer read; another officer's than the asker."""
    k = session.scalar(
        select(CaseRow).where(
            CaseRow.id == change_id, CaseRow.kind == CaseKind.REGISTER_CHANGE, cases_in(who.scope)
        )
    )
    if k is None:
        raise NotFound("change")
    if k.status != CaseStatus.PENDING_APPROVAL or k.version != version:
        raise changed_meanwhile()
    if (k.details or {}).get("requested_by") == who.username:
        audited(
            session,
            who,
            AuditAction.REGISTER_CHANGE_REFUSED,
            "citizen",
            k.citizen_id,
            reason="SAME_OFFICER",
            details={"change_id": k.id},
        )
        raise Invalid("Cần cán bộ thứ hai phê duyệt", "a second officer must approve", "SAME_OFFICER")
    return k


def _close_change(
    session: Session, who: Principal, k: CaseRow, version: int, outcome: ChangeOutcome, note: str | None
) -> dict[str, Any]:
    """The guarded write closing the change with its outcome; returns the change's details as written."""
    now = utcnow()
    d = dict(k.details or {})
    d["decided_by"], d["decided_at"], d["outcome"] = who.username, now.isoformat(), outcome
    d["history"] = [
        *d.get("history", []),
        {
            "at": now.isoformat(),
            "by": who.username,
            "action": f"change_{outcome}",
            "note": (note or "")[:400],
        },
    ]
    watch(session, cases=[k.id])
    guarded_update(
        session,
        k,
        version,
        CaseRow.status == CaseStatus.PENDING_APPROVAL,
        status=CaseStatus.CLOSED,
        closed_at=now,
        resolution=outcome,
        resolution_note=note,
        assigned_to=who.username,
        details=d,
    )
    return d


def _apply_change(session: Session, who: Principal, citizen: Citizen, d: dict[str, Any]) -> None:
    """An approved change written to the register, in the name of the officer who asked for it."""
    field_name = str(d.get("field"))
    if field_name == "personal_id":
        _normalise_value(session, citizen, field_name, str(d["new"]))  # still nobody else's number
    _apply(
        session,
        citizen,
        citizen.version,
        field_name,
        str(d["new"]),
        f"{d.get('reason')} ({d.get('evidence')})",
        str(d.get("source", "counter")),
        str(d.get("requested_by")),
        approved_by=who.username,
    )
    if field_name in CODE_FIELDS:
        _tell_old_phone(session, d.get("old"), str(d["new"]))


def decide_change(
    session: Session, who: Principal, change_id: int, version: int, approve: bool, note: str | None = None
) -> ChangeOutcome:
    """A second officer approves or rejects a pending change (never the one who asked for it).

    Only the changed field is checked: the change applies on top of whatever else changed meanwhile. If
    the field itself changed since the request, the change closes as outdated (it would overwrite a
    newer value) and the requester reads that in their list. Returns the outcome: `approved`, `rejected`
    or `outdated`."""
    k = _pending_change(session, who, change_id, version)
    citizen = session.get(Citizen, k.citizen_id) if k.citizen_id is not None else None
    if citizen is None:
        raise NotFound("citizen")
    field_name = str((k.details or {}).get("field"))
    outcome = ChangeOutcome.APPROVED if approve else ChangeOutcome.REJECTED
    if approve and _current_value(citizen, field_name) != (k.details or {}).get("old"):
        outcome = ChangeOutcome.OUTDATED
    d = _close_change(session, who, k, version, outcome, note)
    if outcome == ChangeOutcome.APPROVED:
        _apply_change(session, who, citizen, d)
    keep_figures(session)
    audited(
        session,
        who,
        AuditAction(f"register_change_{outcome}"),
        "citizen",
        citizen.id,
        reason=note,
        details={"change_id": k.id, "field": field_name},
    )
    return outcome


@dataclass
class RequestedChange:
    """One of the officer's own requests, with its outcome."""

    id: int
    citizen_id: int | None
    field: str
    new: str | None
    status: str
    outcome: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str | None
    created_at: datetime


def my_requests(session: Session, who: Principal, limit: int = 50) -> list[RequestedChange]:
    """The changes this officer asked for, newest first: waiting, approved, rejected or outdated."""
    rows = session.scalars(
        select(CaseRow)
        .where(cases_in(who.scope), CaseRow.kind == CaseKind.REGISTER_CHANGE)
        .order_by(CaseRow.created_at.desc(), CaseRow.id.desc())
        .limit(limit * 4)
    )
    out: list[RequestedChange] = []
    for k in rows:
        d = k.details or {}
        if d.get("requested_by") != who.username:
            continue
        out.append(
            RequestedChange(
                k.id,
                k.citizen_id,
                str(d.get("field")),
                d.get("new"),
                k.status,
                k.resolution,
                d.get("decided_by") or (k.assigned_to if k.status == CaseStatus.CLOSED else None),
                k.closed_at,
                k.resolution_note,
                k.created_at,
            )
        )
        if len(out) >= limit:
            break
    return out

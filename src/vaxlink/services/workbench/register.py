"""The register as a ward officer works it: finding a citizen (diacritic-insensitive name, date of birth,
ID, phone), a citizen's record with doses and open cases, and corrections — the address at once; identity
fields (name, birth date, sex, number) and the phone (it receives the citizen's one-time codes) as a change
a second officer approves, the old number told when the phone changes.

An approval checks the field it changes, not the whole row: a change waiting for approval stays valid
while other fields of the citizen change, and is refused only when its own field changed meanwhile. The
requester reads the outcome (who decided, when, why) in their list of requests.

Queries go through the jurisdiction clauses of `storage.scope`, like the cases of `services.workbench.cases`; every
change runs in the caller's transaction with its audit event and is guarded by the row's `version`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.dates import PartialDate, Precision, parse_date
from vaxlink.domain.names import canonical_name, fold_name, official_name, split_name
from vaxlink.domain.personal_ids import PersonalId, parse_personal_id, strip_separators
from vaxlink.domain.sex import parse_sex
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.certificates import issuance as certificates
from vaxlink.services.errors import Invalid, NotFound, changed_meanwhile
from vaxlink.services.workbench.cases import ON_WORKLIST, DoseView, WorkItem
from vaxlink.services.workbench.casework import (
    birth_text,
    citizen_in_scope,
    created,
    display_names,
    health_birth,
    keep_figures,
    rowcount,
    watch,
)
from vaxlink.storage.models import (
    AdminUnitRow,
    Citizen,
    CitizenAlias,
    CitizenChange,
    CitizenStatus,
    DoseRecord,
    MatchResult,
    OutboxMessage,
    utcnow,
)
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.register_log import register_changed
from vaxlink.storage.scope import cases_in, citizens_in

IDENTITY_FIELDS = ("full_name", "birth_date", "sex", "personal_id")
# The phone receives the citizen's one-time codes: changing it hands over their self-service, so it needs
# the second officer as identity fields do.
CODE_FIELDS = ("phone",)
APPROVED_FIELDS = IDENTITY_FIELDS + CODE_FIELDS
OTHER_FIELDS = ("address",)
CHANGE_DUE = timedelta(days=3)
Outcome = Literal["approved", "rejected", "outdated"]


@dataclass
class CitizenHit:
    id: int
    full_name: str
    birth: str
    sex: str
    personal_id: str
    ward_code: str
    version: int


def _hit(c: Citizen) -> CitizenHit:
    return CitizenHit(c.id, c.full_name, birth_text(c), c.sex, c.personal_id, c.current_ward_code, c.version)


def _digits(text: str | None) -> str:
    return "".join(ch for ch in (text or "") if ch.isascii() and ch.isdigit())


def search_citizens(
    session: Session,
    who: Principal,
    *,
    name: str | None = None,
    birth_date: str | None = None,
    personal_id: str | None = None,
    phone: str | None = None,
    limit: int = 20,
) -> list[CitizenHit]:
    """Citizens of the jurisdiction by name (without diacritics: «Nguyen Van An» finds «Nguyễn Văn An»),
    date of birth (any spelling; a year alone), number (12 digits, lost leading zero, old 9-digit card)
    and phone. At least one criterion; all given ones must hold."""
    conds: list[Any] = [citizens_in(who.scope)]
    used: list[str] = []
    key = fold_name(name) if name else ""
    if key:
        escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conds.append(Citizen.name_key.like(f"%{escaped}%", escape="\\"))
        used.append("name")
    if birth_date and birth_date.strip():
        d = health_birth(birth_date.strip())
        if d is None:
            raise Invalid("Ngày sinh không đọc được", "the date of birth cannot be read", "BAD_DATE")
        if d.precision is Precision.DAY:
            conds.append(
                or_(
                    Citizen.birth_date == d.as_date(),
                    and_(Citizen.birth_precision != "day", Citizen.birth_year == d.year),
                )
            )
        else:
            conds.append(Citizen.birth_year == d.year)
        used.append("birth_date")
    digits = _digits(personal_id)
    if digits:
        if len(digits) == 11:
            digits = "0" + digits
        if len(digits) == 12:
            conds.append(
                or_(
                    Citizen.personal_id == digits,
                    Citizen.id.in_(select(CitizenAlias.citizen_id).where(CitizenAlias.alias == digits)),
                )
            )
        elif len(digits) == 9:
            conds.append(Citizen.id.in_(select(CitizenAlias.citizen_id).where(CitizenAlias.alias == digits)))
        else:
            raise Invalid(
                "Số định danh cần 12 (hoặc CMND 9) chữ số", "the number needs 12 digits (or 9)", "BAD_ID"
            )
        used.append("personal_id")
    phone_digits = _digits(phone)
    if phone_digits:
        conds.append(Citizen.phone == phone_digits)
        used.append("phone")
    if not used:
        raise Invalid(
            "Cần ít nhất một tiêu chí tìm kiếm", "give at least one search criterion", "NO_CRITERIA"
        )
    found = list(
        session.scalars(select(Citizen).where(*conds).order_by(Citizen.name_key, Citizen.id).limit(limit))
    )
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CITIZEN_SEARCH,
        resource_type="citizen",
        resource_id=None,
        jurisdiction=who.scope.label,
        reason=None,
        details={"criteria": used, "results": [c.id for c in found]},
    )
    return [_hit(c) for c in found]


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


def citizen_detail(
    session: Session, who: Principal, citizen_id: int, *, action: AuditAction = AuditAction.CITIZEN_VIEWED
) -> CitizenView:
    c = citizen_in_scope(session, who, citizen_id)
    st = session.get(CitizenStatus, c.id)
    doses = [
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
        for m, d in session.execute(
            select(MatchResult, DoseRecord)
            .join(DoseRecord, DoseRecord.id == MatchResult.dose_record_id)
            .where(
                MatchResult.citizen_id == c.id,
                MatchResult.outcome.in_(("linked", "confirmed")),
                DoseRecord.is_latest,
            )
            .order_by(DoseRecord.vaccination_date, DoseRecord.id)
        ).all()
    ]
    now = utcnow()
    cases = [
        WorkItem(
            k.id,
            k.kind,
            k.status,
            k.priority,
            k.ward_code,
            k.created_at,
            k.due_at,
            [],
            None,
            k.version,
            k.due_at is not None and k.due_at < now,
        )
        for k in session.scalars(
            select(CaseRow)
            .where(cases_in(who.scope), CaseRow.status.in_(ON_WORKLIST), CaseRow.citizen_id == c.id)
            .order_by(CaseRow.created_at)
        )
    ]
    approvers = {
        (str((k.details or {}).get("field")), (k.details or {}).get("new")): (k.details or {}).get(
            "decided_by", k.assigned_to
        )
        for k in session.scalars(
            select(CaseRow)
            .where(
                CaseRow.citizen_id == c.id,
                CaseRow.kind == "register_change",
                CaseRow.resolution == "approved",
            )
            .order_by(CaseRow.id)
        )
    }
    history = [
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
            select(CitizenChange).where(CitizenChange.citizen_id == c.id).order_by(CitizenChange.id)
        )
    ]
    # The person's records settled by officers (linked, or linked and found wrong in health): who, when, why.
    settled = session.execute(
        select(CaseRow, DoseRecord.vaccination_date, DoseRecord.dose_number)
        .outerjoin(DoseRecord, DoseRecord.id == CaseRow.dose_record_id)
        .where(
            CaseRow.citizen_id == c.id,
            CaseRow.status == "closed",
            CaseRow.resolution.in_(("linked", "health_wrong", "verified", "registered")),
        )
        .order_by(CaseRow.closed_at, CaseRow.id)
    ).all()
    history += [
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
    history.sort(key=lambda h: (h["at"] is None, h["at"] or now))
    aliases = [
        (a.alias, a.kind)
        for a in session.scalars(select(CitizenAlias).where(CitizenAlias.citizen_id == c.id))
    ]
    audit.record(
        session,
        actor=who.username,
        action=action,
        resource_type="citizen",
        resource_id=c.id,
        jurisdiction=who.scope.label,
    )
    return CitizenView(
        citizen=_hit(c),
        address=c.address,
        phone=c.phone,
        permanent_ward_code=c.permanent_ward_code,
        aliases=aliases,
        status=st.status if st else "none",
        doses=doses,
        open_cases=cases,
        history=history,
        pending_changes=[k.id for k in cases if k.kind == "register_change"],
        names=display_names(session, [str(h.get(k) or "") for h in history for k in ("by", "approved_by")]),
    )


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
        digits = _digits(value)
        if not 9 <= len(digits) <= 11:
            raise Invalid("Số điện thoại không hợp lệ", "not a phone number", "BAD_PHONE")
        return digits
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
    n = session.execute(
        update(Citizen)
        .where(Citizen.id == citizen.id, Citizen.version == expected_version)
        .values(version=Citizen.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(n) != 1:
        raise changed_meanwhile()
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
    if c.version != version:
        raise changed_meanwhile()
    new = _normalise_value(session, c, field_name, value)
    if new == _current_value(c, field_name):
        raise Invalid("Giá trị mới trùng giá trị cũ", "the new value is the same as the old one", "UNCHANGED")
    source = f"case:{case_id}" if case_id else "counter"
    if field_name in APPROVED_FIELDS:
        waiting = session.scalars(
            select(CaseRow.details).where(
                CaseRow.citizen_id == c.id,
                CaseRow.kind == "register_change",
                CaseRow.status == "pending_approval",
            )
        ).all()
        if any((w or {}).get("field") == field_name for w in waiting):
            raise Invalid(
                "Trường này đã có một đề nghị sửa đang chờ duyệt",
                "a change of this field is already waiting for approval",
                "CHANGE_WAITING",
            )
    if field_name in OTHER_FIELDS:
        _apply(session, c, version, field_name, new, f"{reason} ({evidence})", source, who.username)
        keep_figures(session)
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.CITIZEN_CORRECTED,
            resource_type="citizen",
            resource_id=c.id,
            jurisdiction=who.scope.label,
            reason=reason,
            details={"field": field_name, "source": source},
        )
        return CorrectionResult(True, None)
    now = utcnow()
    change = CaseRow(
        kind="register_change",
        status="pending_approval",
        priority=3,
        ward_code=c.current_ward_code,
        ward_units=c.current_units,
        province_code=session.scalar(
            select(AdminUnitRow.province_code).where(
                AdminUnitRow.structure == c.current_units,
                AdminUnitRow.level == "ward",
                AdminUnitRow.code == c.current_ward_code,
            )
        ),
        citizen_id=c.id,
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
        created_at=now,
        due_at=now + CHANGE_DUE,
        version=1,
    )
    session.add(change)
    session.flush()
    created(session, cases=[change.id])
    keep_figures(session)
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.REGISTER_CHANGE_REQUESTED,
        resource_type="citizen",
        resource_id=c.id,
        jurisdiction=who.scope.label,
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
        .where(cases_in(who.scope), CaseRow.kind == "register_change", CaseRow.status == "pending_approval")
        .order_by(CaseRow.created_at, CaseRow.id)
        .limit(200)
    )
    out = [_change_view(k) for k in rows]
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.CHANGE_LIST_VIEWED,
        resource_type="citizen_change",
        resource_id=None,
        jurisdiction=who.scope.label,
        reason=None,
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


def decide_change(
    session: Session, who: Principal, change_id: int, version: int, approve: bool, note: str | None = None
) -> Outcome:
    """A second officer approves or rejects a pending change (never the one who asked for it).

    Only the changed field is checked: the change applies on top of whatever else changed meanwhile. If
    the field itself changed since the request, the change closes as outdated (it would overwrite a
    newer value) and the requester reads that in their list. Returns the outcome: `approved`, `rejected`
    or `outdated`."""
    k = session.scalar(
        select(CaseRow).where(CaseRow.id == change_id, CaseRow.kind == "register_change", cases_in(who.scope))
    )
    if k is None:
        raise NotFound("change")
    if k.status != "pending_approval" or k.version != version:
        raise changed_meanwhile()
    d = dict(k.details or {})
    if d.get("requested_by") == who.username:
        audit.record(
            session,
            actor=who.username,
            action=AuditAction.REGISTER_CHANGE_REFUSED,
            resource_type="citizen",
            resource_id=k.citizen_id,
            jurisdiction=who.scope.label,
            reason="SAME_OFFICER",
            details={"change_id": k.id},
        )
        raise Invalid("Cần cán bộ thứ hai phê duyệt", "a second officer must approve", "SAME_OFFICER")
    citizen = session.get(Citizen, k.citizen_id) if k.citizen_id is not None else None
    if citizen is None:
        raise NotFound("citizen")
    field_name = str(d.get("field"))
    outcome: Outcome = "approved" if approve else "rejected"
    if approve and _current_value(citizen, field_name) != d.get("old"):
        outcome = "outdated"
    now = utcnow()
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
    n = session.execute(
        update(CaseRow)
        .where(CaseRow.id == k.id, CaseRow.version == version, CaseRow.status == "pending_approval")
        .values(
            version=CaseRow.version + 1,
            status="closed",
            closed_at=now,
            resolution=outcome,
            resolution_note=note,
            assigned_to=who.username,
            details=d,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(n) != 1:
        raise changed_meanwhile()
    if outcome == "approved":
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
    keep_figures(session)
    audit.record(
        session,
        actor=who.username,
        action=AuditAction(f"register_change_{outcome}"),
        resource_type="citizen",
        resource_id=citizen.id,
        jurisdiction=who.scope.label,
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
        .where(cases_in(who.scope), CaseRow.kind == "register_change")
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
                d.get("decided_by") or (k.assigned_to if k.status == "closed" else None),
                k.closed_at,
                k.resolution_note,
                k.created_at,
            )
        )
        if len(out) >= limit:
            break
    return out

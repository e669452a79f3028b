"""A citizen's correction request filed online: once their identity is confirmed (number, birth date and a
one-time code, `services.access.otp`), what they say is wrong becomes a case on the worklist of the ward where
they live."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.cases import CaseKind, CaseStatus
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import Invalid, NotFound
from vaxlink.services.workbench.casework import keep_figures, open_case
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen

DUE = timedelta(days=7)
# Open requests one citizen may have at once: enough for real corrections, too few to flood a ward.
MAX_OPEN = 3
FIELDS = ("full_name", "birth_date", "sex", "personal_id", "phone", "address", "doses", "other")


def file_request(session: Session, citizen_id: int, field: str, text: str) -> int:
    text = (text or "").strip()
    if not text or len(text) > 1000:
        raise Invalid("Hãy mô tả điều cần sửa", "describe what is wrong", "TEXT_REQUIRED")
    if field not in FIELDS:
        raise Invalid("Mục cần sửa không hợp lệ", "unknown item", "BAD_FIELD")
    c = session.get(Citizen, citizen_id)
    if c is None:
        raise NotFound("citizen")
    open_now = session.scalar(
        select(func.count())
        .select_from(CaseRow)
        .where(
            CaseRow.citizen_id == c.id, CaseRow.kind == CaseKind.CORRECTION, CaseRow.status == CaseStatus.OPEN
        )
    )
    if (open_now or 0) >= MAX_OPEN:
        raise Invalid(
            "Bạn đã có đề nghị đang chờ xử lý; phường/xã sẽ liên hệ",
            "you already have requests waiting; the ward will contact you",
            "TOO_MANY_REQUESTS",
        )
    k = open_case(
        session,
        c,
        kind=CaseKind.CORRECTION,
        status=CaseStatus.OPEN,
        priority=2,
        details={"field": field, "text": text, "channel": "online"},
        due=DUE,
    )
    keep_figures(session)
    audit.record(
        session,
        actor=f"citizen:{c.id}",
        action=AuditAction.CORRECTION_REQUESTED,
        resource_type="case",
        resource_id=k.id,
        jurisdiction=f"ward:{c.current_units}:{c.current_ward_code}",
        details={"field": field},
    )
    return k.id

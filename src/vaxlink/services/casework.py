"""What the case and register services share: the errors the web layer maps to HTTP answers, the
jurisdiction check of a citizen, and how birth dates are read and shown."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vaxlink.domain.dates import PartialDate, Precision, parse_date
from vaxlink.domain.errors import VaxlinkError
from vaxlink.services.auth import Principal
from vaxlink.storage.models import Citizen
from vaxlink.storage.scope import citizens_in

# --- errors the web layer maps to HTTP answers --------------------------------------------------


class CaseError(VaxlinkError):
    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message_vi: str, message_en: str, code: str | None = None) -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi, self.message_en = message_vi, message_en
        if code is not None:
            self.code = code


class NotFound(CaseError):
    """Missing, or outside the user's jurisdiction: the two are told apart by no one."""

    status = 404
    code = "NOT_FOUND"

    def __init__(self, what: str = "record") -> None:
        super().__init__("Không tìm thấy", "not found", "NOT_FOUND")
        self.what = what


class Conflict(CaseError):
    status = 409
    code = "CONFLICT"


class Invalid(CaseError):
    status = 422
    code = "INVALID"


def rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def changed_meanwhile() -> Conflict:
    return Conflict(
        "Hồ sơ vừa được người khác xử lý; hãy tải lại trang",
        "someone else has just settled or changed this record; reload it",
        "VERSION_CONFLICT",
    )


def citizen_in_scope(session: Session, who: Principal, citizen_id: int) -> Citizen:
    c = session.scalar(select(Citizen).where(Citizen.id == citizen_id, citizens_in(who.scope)))
    if c is None:
        raise NotFound("citizen")
    return c


def birth_text(c: Citizen) -> str:
    if c.birth_precision == Precision.YEAR.value:
        return str(c.birth_year)
    if c.birth_precision == Precision.MONTH.value:
        return f"{c.birth_date.month:02d}/{c.birth_date.year}"
    return c.birth_date.strftime("%d/%m/%Y")


def health_birth(text: str | None) -> PartialDate | None:
    found = parse_date(text) if text else None
    return found if isinstance(found, PartialDate) else None

"""Finding citizens in the register as a ward officer does: a name without diacritics, a date of birth in any
spelling, a number (12 digits, a lost leading zero, an old 9-digit card) or a phone, within the user's
jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.dates import Precision
from vaxlink.domain.names import fold_name
from vaxlink.domain.phones import usable_phone
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench.casework import audited, birth_text, digits, health_birth
from vaxlink.storage.models import Citizen, CitizenAlias
from vaxlink.storage.scope import citizens_in


@dataclass
class CitizenHit:
    id: int
    full_name: str
    birth: str
    sex: str
    personal_id: str
    ward_code: str
    version: int
    ward_units: str


def citizen_hit(c: Citizen) -> CitizenHit:
    return CitizenHit(
        c.id,
        c.full_name,
        birth_text(c),
        c.sex,
        c.personal_id,
        c.current_ward_code,
        c.version,
        c.current_units,
    )


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
    number = digits(personal_id)
    if number:
        if len(number) == 11:
            number = "0" + number
        if len(number) == 12:
            conds.append(
                or_(
                    Citizen.personal_id == number,
                    Citizen.id.in_(select(CitizenAlias.citizen_id).where(CitizenAlias.alias == number)),
                )
            )
        elif len(number) == 9:
            conds.append(Citizen.id.in_(select(CitizenAlias.citizen_id).where(CitizenAlias.alias == number)))
        else:
            raise Invalid(
                "Số định danh cần 12 (hoặc CMND 9) chữ số", "the number needs 12 digits (or 9)", "BAD_ID"
            )
        used.append("personal_id")
    if phone_digits := digits(phone):
        # As the register stores it: the national form, else the digits as typed.
        conds.append(Citizen.phone == (usable_phone(phone) or phone_digits))
        used.append("phone")
    if not used:
        raise Invalid(
            "Cần ít nhất một tiêu chí tìm kiếm", "give at least one search criterion", "NO_CRITERIA"
        )
    found = list(
        session.scalars(select(Citizen).where(*conds).order_by(Citizen.name_key, Citizen.id).limit(limit))
    )
    audited(
        session,
        who,
        AuditAction.CITIZEN_SEARCH,
        "citizen",
        details={"criteria": used, "results": [c.id for c in found]},
    )
    return [citizen_hit(c) for c in found]

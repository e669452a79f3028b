"""A status lookup's answer: the register's row for a number, whether it agrees with what the holder
presented, and the minimum a verifier sees; never the address or the number."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.permissions import Level
from vaxlink.domain.status import Colour, ColourRules, StatusLevel, VaccinationStatus
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.lookup.presented import LookupInput
from vaxlink.settings import Settings

ACTION = AuditAction.STATUS_LOOKUP

STATUS_WORDS: dict[str, tuple[str, str]] = {
    StatusLevel.NONE: ("Chưa tiêm", "Not vaccinated"),
    StatusLevel.PARTIAL: ("Chưa đủ liều cơ bản", "Primary series not complete"),
    StatusLevel.COMPLETE: ("Đủ liều cơ bản", "Primary series complete"),
    StatusLevel.BOOSTER: ("Đã tiêm nhắc lại", "Booster received"),
}
COLOUR_WORDS: dict[str, tuple[str, str]] = {
    Colour.GREEN: ("Xanh", "Green"),
    Colour.YELLOW: ("Vàng", "Yellow"),
    Colour.RED: ("Đỏ", "Red"),
}


# Citizen, status and the province the citizen lives in, by personal id: one indexed row. The columns
# (and joins) are shared with the web layer's fast path, which reads them beside the token's.
STATUS_COLUMNS = """c.id AS citizen_id, c.full_name, c.birth_year, cu.province_code AS citizen_province,
  s.doses, s.first_dose_date, s.last_dose_date, s.complete_date, s.boosters,
  c.birth_date, c.birth_precision, c.sex"""
STATUS_JOINS = """LEFT JOIN citizen_status s ON s.citizen_id = c.id
LEFT JOIN admin_unit cu ON cu.structure = c.current_units AND cu.level = 'ward' AND cu.code = c.current_ward_code"""
STATUS_SQL = f"""SELECT {STATUS_COLUMNS}
FROM citizen c
{STATUS_JOINS}
WHERE c.personal_id = :pid"""


class StatusRow(Protocol):
    """A row holding `STATUS_COLUMNS`, read by name: an SQLAlchemy row of STATUS_SQL, or the fast path's."""

    @property
    def citizen_id(self) -> int | None: ...
    @property
    def full_name(self) -> str | None: ...
    @property
    def birth_year(self) -> Any: ...  # an int whenever citizen_id is not None
    @property
    def citizen_province(self) -> str | None: ...
    @property
    def doses(self) -> int | None: ...
    @property
    def first_dose_date(self) -> object: ...
    @property
    def last_dose_date(self) -> object: ...
    @property
    def complete_date(self) -> object: ...
    @property
    def boosters(self) -> int | None: ...
    @property
    def birth_date(self) -> object: ...
    @property
    def birth_precision(self) -> str | None: ...
    @property
    def sex(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    found: bool
    citizen_id: int | None = None  # for the audit event; never shown
    name: str | None = None
    birth_year: int | None = None
    status: str | None = None
    colour: str | None = None
    last_dose_date: date | None = None

    def public(self, lang: str = "vi") -> dict[str, Any]:
        """What a verifier may see."""
        i = 1 if lang == "en" else 0
        return {
            "found": self.found,
            "name": self.name,
            "birth_year": self.birth_year,
            "status": self.status,
            "status_text": STATUS_WORDS[self.status][i] if self.status else None,
            "colour": self.colour,
            "colour_text": COLOUR_WORDS[self.colour][i] if self.colour else None,
            "last_dose_date": self.last_dose_date.isoformat() if self.last_dose_date else None,
        }


@lru_cache(maxsize=8)
def colour_rules(config: str) -> ColourRules:
    return ColourRules.from_json(config)


def _d(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _folded(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def agrees(given: LookupInput | None, row: StatusRow) -> bool:
    """Whether what the holder presented agrees with the register's entry (a STATUS_SQL row): the birth
    date to the precision the register knows it, and for a card's QR also the name and sex."""
    if given is None or given.born is None:
        return False
    name, birth_year = row.full_name, row.birth_year
    birth, precision, sex = _d(row.birth_date), row.birth_precision or "day", row.sex
    born = given.born
    if birth_year is not None and born.year != int(birth_year):
        return False
    # What the register knows to the month or the day must be presented to the month or the day.
    if birth is not None and precision in ("day", "month"):
        day_differs = precision == "day" and born.day != birth.day
        if born.month != birth.month or day_differs:
            return False
    if given.full_name is not None and _folded(given.full_name) != _folded(str(name)):
        return False
    return not (given.sex is not None and sex and given.sex != sex)


def answer_from_row(
    row: StatusRow | None,
    settings: Settings,
    verifier_province: str | None,
    today: date,
    given: LookupInput | None = None,
) -> LookupAnswer:
    """The answer from a STATUS_SQL row (None: nobody has that number). A number whose entry does not agree
    with what the holder presented is answered as if nobody had it ("no record" and "does not match" are
    one answer, so that a number alone tells nothing). The colour follows the rule of the
    province where the check happens (the verifier's), else the citizen's."""
    if row is None or row.citizen_id is None or not agrees(given, row):
        return LookupAnswer(found=False)
    status = VaccinationStatus(
        doses=int(row.doses or 0),
        first_dose_date=_d(row.first_dose_date),
        last_dose_date=_d(row.last_dose_date),
        complete_date=_d(row.complete_date),
        boosters=int(row.boosters or 0),
    )
    rule = colour_rules(settings.colour_rules).for_province(verifier_province or row.citizen_province)
    return LookupAnswer(
        found=True,
        citizen_id=int(row.citizen_id),
        name=str(row.full_name),
        birth_year=int(row.birth_year),
        status=status.level.value,
        colour=rule.colour(status, today).value,
        last_dose_date=status.last_dose_date,
    )


_scope_provinces: dict[str, str | None] = {}


def scope_province(session: Session, who: Principal) -> str | None:
    """The province a user's jurisdiction lies in (None for the whole country); reference data, cached."""
    scope = who.scope
    if scope.level is Level.COUNTRY:
        return None
    if scope.label not in _scope_provinces:
        _scope_provinces[scope.label] = session.execute(
            text("SELECT province_code FROM admin_unit WHERE structure = :u AND level = :l AND code = :c"),
            {"u": scope.units, "l": scope.level.value, "c": scope.code},
        ).scalar()
    return _scope_provinces[scope.label]


def lookup_event(who: Principal, citizen_id: int | None, found: bool, via: str) -> audit.Event:
    """The audit event of a lookup (every path's): ids and the channel only, never the number."""
    return audit.Event(
        actor=who.username,
        action=ACTION,
        resource_type="citizen",
        resource_id=citizen_id,
        jurisdiction=who.scope.label,
        details={"found": found, "via": via},
    )


def lookup(session: Session, settings: Settings, who: Principal, given: LookupInput) -> LookupAnswer:
    """Look a citizen up and record the lookup in the caller's transaction (the page's path)."""
    row = session.execute(text(STATUS_SQL), {"pid": given.personal_id}).first()
    answer = answer_from_row(row, settings, scope_province(session, who), today_vn(), given)
    audit.record_event(session, lookup_event(who, answer.citizen_id, answer.found, given.via))
    return answer


VIETNAM = timezone(timedelta(hours=7))


def today_vn() -> date:
    # The colour turns green on a calendar day in Viet Nam, whatever the server's zone.
    return datetime.now(VIETNAM).date()

"""Jurisdiction as SQL: the one place that turns a user's scope into WHERE clauses.

Every query of cases, citizens, match results and verification requests made on behalf of a user goes
through these functions, so that a record outside the scope is never read at all: out of scope looks
exactly like missing. A ward scope is an equality on the (units, ward code) pair; a district or a
province scope a sub-select of its wards in `admin_unit` by parent code; the country, everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from vaxlink.domain.permissions import Level
from vaxlink.storage.models import AdminUnitRow, Case, Citizen, MatchResult, VerificationRequest


@dataclass(frozen=True, slots=True)
class Scope:
    level: Level
    units: str = "legacy"  # which unit structure `code` belongs to
    code: str | None = None  # NULL for the whole country

    def __post_init__(self) -> None:
        if self.level is not Level.COUNTRY and not self.code:
            raise ValueError("a ward, district or province scope needs its unit code")

    @property
    def label(self) -> str:
        """Short text for the audit log: `ward:legacy:26560`, `country`."""
        return "country" if self.level is Level.COUNTRY else f"{self.level.value}:{self.units}:{self.code}"


COUNTRY = Scope(Level.COUNTRY)


def _wards_of(scope: Scope) -> Any:
    """The ward codes a district or province scope covers, as a sub-select."""
    q = select(AdminUnitRow.code).where(AdminUnitRow.structure == scope.units, AdminUnitRow.level == "ward")
    if scope.level is Level.DISTRICT:
        return q.where(AdminUnitRow.parent_code == scope.code)
    return q.where(AdminUnitRow.province_code == scope.code)


def ward_clause(
    scope: Scope, units_col: Any, ward_col: Any, province_col: Any | None = None
) -> ColumnElement[bool]:
    """WHERE clause: the row's (units, ward code) lies in the scope.

    `province_col`, when given, lets a province scope also see rows no ward could be told for (a ward
    code of NULL): they wait in the province's queue. The province code is read in the row's units, which
    must be the scope's: legacy province 79 and 2025 province 79 are not the same land.
    """
    if scope.level is Level.COUNTRY:
        return true()
    if scope.level is Level.WARD:
        return and_(units_col == scope.units, ward_col == scope.code)
    inside = ward_col.in_(_wards_of(scope))
    if scope.level is Level.PROVINCE and province_col is not None:
        inside = or_(inside, and_(ward_col.is_(None), province_col == scope.code))
    return and_(units_col == scope.units, inside)


def cases_in(scope: Scope) -> ColumnElement[bool]:
    return ward_clause(scope, Case.ward_units, Case.ward_code, Case.province_code)


def citizens_in(scope: Scope) -> ColumnElement[bool]:
    """Citizens by where they live now: that ward's police knows them."""
    return ward_clause(scope, Citizen.current_units, Citizen.current_ward_code)


def match_results_in(scope: Scope) -> ColumnElement[bool]:
    return ward_clause(scope, MatchResult.ward_units, MatchResult.ward_code)


def verification_requests_in(scope: Scope) -> ColumnElement[bool]:
    """A request concerns both wards: the one that sent it and the one asked."""
    return or_(
        ward_clause(scope, VerificationRequest.from_units, VerificationRequest.from_ward_code),
        ward_clause(scope, VerificationRequest.to_units, VerificationRequest.to_ward_code),
    )


def nothing() -> ColumnElement[bool]:
    return false()

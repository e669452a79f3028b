"""The statistics API: a supervisor's figures within their jurisdiction as JSON, the same view the dashboard
page draws (`services/figures/dashboard.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from vaxlink.services.figures import stats
from vaxlink.services.figures.dashboard import DashboardView, dashboard_at
from vaxlink.web.params import StatsReading, UnitPath, ViewQuery
from vaxlink.web.security import DB

router = APIRouter(prefix="/api/v1/stats", tags=["statistics"])


class UnitFiguresOut(BaseModel):
    unit_code: str | None
    unit_name: str
    residents: int | None
    at_least_one_dose: int | None
    primary_complete: int | None
    booster: int | None
    unvaccinated: int | None
    linked_records: int | None
    review_records: int | None
    unmatched_records: int | None
    rejected_records: int | None
    corrections_to_health: int | None
    cases_open: int | None
    cases_overdue: int | None
    verification_open: int | None
    verification_overdue: int | None
    parent_code: str | None
    level: str
    units: str


class DayOut(BaseModel):
    day: date
    records: int
    linked: int


class VaccineOut(BaseModel):
    vaccine_code: str | None
    name: str
    records: int


class UnitOut(BaseModel):
    units: str
    level: str
    code: str
    name: str


class StatsOut(BaseModel):
    unit: UnitOut | None  # null: the whole country
    view: str
    level: str
    headline: stats.Headline
    coverage: list[UnitFiguresOut]
    doses_per_day: list[DayOut]
    doses_per_vaccine: list[VaccineOut]
    backlog: list[UnitFiguresOut]


def stats_out(v: DashboardView) -> StatsOut:
    def unit_figures(f: stats.UnitFigures) -> UnitFiguresOut:
        return UnitFiguresOut.model_validate(
            {k: x for k, x in f.as_dict().items() if k not in ("age_band", "sex")}
        )

    return StatsOut(
        unit=None
        if v.unit is None
        else UnitOut(units=v.unit.units.value, level=v.unit.level.value, code=v.unit.code, name=v.unit.name),
        view=v.view.value,
        level=v.child_level.value,
        headline=v.headline,
        coverage=[unit_figures(f) for f in v.children],
        doses_per_day=[DayOut(day=p.day, records=p.records, linked=p.linked) for p in v.series],
        doses_per_vaccine=[
            VaccineOut(vaccine_code=x.code, name=x.name, records=x.records) for x in v.vaccines
        ],
        backlog=[unit_figures(f) for f in v.backlog],
    )


PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid credentials"},
    403: {"description": "not allowed"},
    404: {"description": "no such unit in your jurisdiction"},
    422: {"description": "malformed input"},
}


@router.get("", response_model=StatsOut, responses=PROBLEMS)
def own_stats(session: DB, who: StatsReading, units: ViewQuery = None) -> StatsOut:
    """Your jurisdiction's figures: headline, coverage per unit one level down (in `units`), doses per
    day and per vaccine, the backlog per ward."""
    return stats_out(dashboard_at(session, who.scope, None, units))


@router.get("/{unit_units}/{level}/{code}", response_model=StatsOut, responses=PROBLEMS)
def unit_stats(session: DB, who: StatsReading, path: UnitPath, units: ViewQuery = None) -> StatsOut:
    """The same for one unit within your jurisdiction (a unit of the other structure only when it lies
    wholly within it)."""
    return stats_out(dashboard_at(session, who.scope, path, units))

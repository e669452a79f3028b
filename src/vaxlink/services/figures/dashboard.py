"""A supervisor's dashboard: the unit asked for, looked up within the reader's jurisdiction, and the view
of its figures that the dashboard page draws and the statistics API returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session

from vaxlink.domain.admin_units import CODE_WIDTH, Level, Structure
from vaxlink.domain.errors import InputError
from vaxlink.domain.permissions import Level as ScopeLevel
from vaxlink.domain.vaccines import vaccine_by_code
from vaxlink.services.errors import NotFound
from vaxlink.services.figures import stats
from vaxlink.storage.models import AdminUnitRow
from vaxlink.storage.scope import Scope
from vaxlink.storage.stats_models import StatsWardMap

_DEPTH = {Level.PROVINCE: 0, Level.DISTRICT: 1, Level.WARD: 2}


def _map_column(units: Structure, level: Level) -> Any:
    """The column of `stats_ward_map` holding a ward's unit of `level` in `units`."""
    return getattr(StatsWardMap, stats.unit_column(units, level))


def _scope_jurisdiction(scope: Scope) -> stats.Jurisdiction | None:
    return stats.jurisdiction_of(scope.level.value, scope.units, scope.code)


def _outside(within: stats.Jurisdiction) -> Any:
    """WHERE clause on `stats_ward_map`: the ward lies outside the jurisdiction."""
    scope_col = _map_column(within.units, within.level)
    return or_(scope_col.is_(None), scope_col != within.code)


def _same_structure_clause(scope: Scope) -> Any:
    """WHERE clause on `admin_unit`: the unit is the scope's unit or lies under it (same structure)."""
    u = AdminUnitRow
    if scope.level is ScopeLevel.WARD:
        return and_(u.level == Level.WARD.value, u.code == scope.code)
    if scope.level is ScopeLevel.DISTRICT:
        return or_(
            and_(u.level == Level.DISTRICT.value, u.code == scope.code),
            and_(u.level == Level.WARD.value, u.parent_code == scope.code),
        )
    return u.province_code == scope.code


def _wholly_within_clause(within: stats.Jurisdiction, units: Structure, level: Level, code: Any) -> Any:
    """WHERE clause: some ward maps into the unit, and none outside the jurisdiction does."""
    unit_col = _map_column(units, level)
    return and_(
        exists().where(unit_col == code),
        ~exists().where(unit_col == code, _outside(within)),
    )


@dataclass(frozen=True)
class Unit:
    units: Structure
    level: Level
    code: str
    name: str
    parent_code: str | None
    province_code: str

    @property
    def jurisdiction(self) -> stats.Jurisdiction:
        return stats.Jurisdiction(self.units, self.level, self.code)

    @property
    def path(self) -> str:
        return f"{self.units.value}/{self.level.value}/{self.code}"


def find_unit(session: Session, scope: Scope, units: str, level: str, code: str) -> Unit:
    """The unit, if it exists and lies within the scope; NotFound otherwise (the two look the same). The
    scope is in the WHERE clause; a unit of the other structure is found only when every ward that maps
    into it lies in the scope, so that its figures never include people from elsewhere."""
    structure, lv = Structure(units), Level(level)
    if len(code) != CODE_WIDTH[lv] or (structure is Structure.CURRENT and lv is Level.DISTRICT):
        raise NotFound("unit")
    u = AdminUnitRow
    q = select(u).where(u.structure == structure.value, u.level == lv.value, u.code == code)
    if scope.level is not ScopeLevel.COUNTRY:
        if scope.units == structure.value:
            q = q.where(_same_structure_clause(scope))
        else:
            within = _scope_jurisdiction(scope)
            assert within is not None
            q = q.where(_wholly_within_clause(within, structure, lv, u.code))
    row = session.scalars(q).first()
    if row is None:
        raise NotFound("unit")
    return Unit(structure, lv, row.code, row.name, row.parent_code, row.province_code)


def root_unit(session: Session, scope: Scope) -> Unit | None:
    """The reader's own jurisdiction as a unit; None for the whole country."""
    if scope.level is ScopeLevel.COUNTRY or scope.code is None:
        return None
    return find_unit(session, scope, scope.units, scope.level.value, scope.code)


def _linkable(
    session: Session, scope: Scope, units: Structure, level: Level, codes: Sequence[str]
) -> set[str]:
    """Those of `codes` (units of the breakdown) a reader may open: all of them within their own
    structure's tree, only the wholly included ones across structures."""
    if not codes:
        return set()
    if scope.level is ScopeLevel.COUNTRY or scope.units == units.value:
        return set(codes)
    within = _scope_jurisdiction(scope)
    assert within is not None
    unit_col = _map_column(units, level)
    outside = func.sum(case((_outside(within), 1), else_=0))
    rows = session.execute(
        select(unit_col)
        .where(unit_col.in_(bindparam("codes", expanding=True)))
        .group_by(unit_col)
        .having(outside == 0),
        {"codes": list(codes)},
    ).scalars()
    return {str(c) for c in rows}


# --- the view ---------------------------------------------------------------------------------------------


@dataclass
class Crumb:
    name: str
    href: str | None


@dataclass
class VaccineCount:
    code: str | None
    name: str
    records: int


@dataclass
class MonthCount:
    month: str
    records: int
    linked: int


@dataclass
class DashboardView:
    unit: Unit | None  # None: the whole country
    view: Structure
    child_level: Level
    headline: stats.Headline
    children: list[stats.UnitFigures]
    child_links: dict[str, str]
    backlog_links: dict[str, str]
    series: list[stats.DosePoint]
    months: list[MonthCount]
    vaccines: list[VaccineCount]
    backlog: list[stats.UnitFigures]
    own: bool  # the reader's own jurisdiction (the page at /dashboard)
    trail: list[Crumb] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The page's own path; the downloads hang under it."""
        return "/dashboard" if self.own or self.unit is None else f"/dashboard/{self.unit.path}"

    def chart_data(self) -> dict[str, Any]:
        """What dashboard.js draws; the page shows the same numbers as tables."""
        return {
            "coverage": {
                "labels": [f.unit_name for f in self.children],
                "residents": [f.residents for f in self.children],
                "at_least_one_dose": [f.at_least_one_dose for f in self.children],
                "primary_complete": [f.primary_complete for f in self.children],
                "booster": [f.booster for f in self.children],
            },
            "doses": _days(self.series),
            "vaccines": {
                "labels": [v.name for v in self.vaccines],
                "records": [v.records for v in self.vaccines],
            },
        }


def _days(series: Sequence[stats.DosePoint], longest: int = 3660) -> dict[str, list[Any]]:
    """Doses per day with the days without doses as zeros, so that the line's time axis is even (a
    category axis would otherwise put 1 March right after 1 January); left sparse over an implausible
    span."""
    if not series or (series[-1].day - series[0].day).days > longest:
        points = list(series)
    else:
        known = {p.day: p for p in series}
        span = (series[-1].day - series[0].day).days + 1
        days = [series[0].day + timedelta(days=i) for i in range(span)]
        points = [known.get(d) or stats.DosePoint(d, None, 0, 0) for d in days]
    return {
        "days": [p.day.isoformat() for p in points],
        "records": [p.records for p in points],
        "linked": [p.linked for p in points],
    }


def _trail(session: Session, root: Unit | None, unit: Unit | None, view: Structure) -> list[Crumb]:
    """From the reader's jurisdiction down to the unit shown (only the links the reader may open)."""
    suffix = f"?units={view.value}"
    # An empty name is the whole country, in the reader's language.
    top = Crumb(root.name if root is not None else "", "/dashboard" + suffix)
    if unit is None or (root is not None and unit == root):
        return [Crumb(top.name, None)]
    crumbs = [top]
    if root is None or root.units is unit.units:
        top_depth = -1 if root is None else _DEPTH[root.level]
        between: list[tuple[Level, str]] = []
        if unit.level is not Level.PROVINCE:
            between.append((Level.PROVINCE, unit.province_code))
        if unit.level is Level.WARD and unit.units is Structure.LEGACY and unit.parent_code:
            between.append((Level.DISTRICT, unit.parent_code))
        for lv, code in between:
            if _DEPTH[lv] <= top_depth:
                continue
            name = session.scalar(
                select(AdminUnitRow.name).where(
                    AdminUnitRow.structure == unit.units.value,
                    AdminUnitRow.level == lv.value,
                    AdminUnitRow.code == code,
                )
            )
            crumbs.append(Crumb(name or code, f"/dashboard/{unit.units.value}/{lv.value}/{code}{suffix}"))
    crumbs.append(Crumb(unit.name, None))
    return crumbs


def _months(series: Sequence[stats.DosePoint]) -> list[MonthCount]:
    out: dict[str, MonthCount] = {}
    for p in series:
        key = f"{p.day.year:04d}-{p.day.month:02d}"
        m = out.setdefault(key, MonthCount(key, 0, 0))
        m.records += p.records
        m.linked += p.linked
    return list(out.values())


def breakdown_level(unit: Unit | None, view: Structure) -> Level:
    """The units a page lists: one level down, or a ward itself (in the structure of the view)."""
    if unit is not None and unit.level is Level.WARD:
        return Level.WARD
    return stats.child_level(view, None if unit is None else unit.level)


def coverage_rows(
    session: Session, unit: Unit | None, view: Structure, *, suppress: int = 0
) -> list[stats.UnitFigures]:
    conn = session.connection()
    level = breakdown_level(unit, view)
    within = None if unit is None else unit.jurisdiction
    try:
        return stats.coverage(conn, level, view, within=within, suppress=suppress)
    except InputError:
        raise NotFound("unit") from None


def _doses(points: Sequence[stats.DosePoint]) -> tuple[list[stats.DosePoint], list[VaccineCount]]:
    """Doses per day and per vaccine from one pass over the day × vaccine cells (two GROUP BYs over the
    same cells cost twice as much on SQLite)."""
    days: dict[date, stats.DosePoint] = {}
    per_vaccine: dict[str | None, int] = {}
    for p in points:
        d = days.get(p.day)
        days[p.day] = stats.DosePoint(
            p.day, None, p.records + (d.records if d else 0), p.linked + (d.linked if d else 0)
        )
        per_vaccine[p.vaccine_code] = per_vaccine.get(p.vaccine_code, 0) + p.records
    vaccines = []
    for code, n in sorted(per_vaccine.items(), key=lambda x: (-x[1], x[0] or "")):
        v = vaccine_by_code(code) if code else None
        vaccines.append(VaccineCount(code, v.name if v is not None else (code or stats.UNKNOWN_NAME), n))
    return [days[d] for d in sorted(days)], vaccines


def _href(view: Structure, level: Level, code: str) -> str:
    return f"/dashboard/{view.value}/{level.value}/{code}?units={view.value}"


def dashboard_view(session: Session, scope: Scope, unit: Unit | None, view: Structure) -> DashboardView:
    conn = session.connection()
    within = None if unit is None else unit.jurisdiction
    level = breakdown_level(unit, view)
    children = coverage_rows(session, unit, view)
    codes = [f.unit_code for f in children if f.unit_code is not None]
    # A ward's page lists the ward itself (in its own structure): no link to the page being read.
    itself = unit.code if unit is not None and unit.level is Level.WARD and view is unit.units else None
    codes = [c for c in codes if c != itself]
    links = {c: _href(view, level, c) for c in _linkable(session, scope, view, level, codes)}
    waiting = stats.backlog(conn, within, view, level=Level.WARD)
    ward_codes = [f.unit_code for f in waiting if f.unit_code is not None and f.unit_code != itself]
    ward_links = {
        c: _href(view, Level.WARD, c) for c in _linkable(session, scope, view, Level.WARD, ward_codes)
    }
    series, vaccines = _doses(stats.doses_series(conn, within, by_vaccine=True))
    root = root_unit(session, scope)
    return DashboardView(
        unit=unit,
        view=view,
        child_level=level,
        headline=stats.headline(conn, within),
        children=children,
        child_links=links,
        backlog_links=ward_links,
        series=series,
        months=_months(series),
        vaccines=vaccines,
        backlog=waiting,
        own=unit == root,
        trail=_trail(session, root, unit, view),
    )


def unit_and_view(
    session: Session, scope: Scope, path: tuple[str, str, str] | None, view: str | None
) -> tuple[Unit | None, Structure]:
    """The unit at `path` (units, level, code; None: the reader's own jurisdiction) and the structure of
    its breakdown (`view`, else the unit's own)."""
    unit = root_unit(session, scope) if path is None else find_unit(session, scope, *path)
    default = unit.units if unit is not None else Structure(scope.units)
    return unit, Structure(view) if view else default


def dashboard_at(
    session: Session, scope: Scope, path: tuple[str, str, str] | None, view: str | None
) -> DashboardView:
    """`dashboard_view` of the unit at `path` (see `unit_and_view`)."""
    unit, structure = unit_and_view(session, scope, path, view)
    return dashboard_view(session, scope, unit, structure)

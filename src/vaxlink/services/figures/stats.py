"""Coverage statistics: people, not doses, per province, district and ward, in either structure; every
question is a GROUP BY over the statistics cells, within an optional jurisdiction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, Date, bindparam, text

from vaxlink.domain.admin_units import Level, Structure, normalise_code
from vaxlink.domain.errors import InputError
from vaxlink.storage.models import UtcDateTime

COVERAGE_COUNTS = ("residents", "at_least_one_dose", "primary_complete", "booster", "unvaccinated")
BACKLOG_COUNTS = (
    "linked_records",
    "review_records",
    "unmatched_records",
    "rejected_records",
    "corrections_to_health",
    "cases_open",
    "cases_overdue",
    "verification_open",
    "verification_overdue",
)
UNKNOWN_NAME = "Không rõ / unknown"


@dataclass(frozen=True)
class Jurisdiction:
    """A unit whose figures are wanted: a province, district (legacy only) or ward of either structure."""

    units: Structure
    level: Level
    code: str

    def __post_init__(self) -> None:
        unit_column(self.units, self.level)
        code = normalise_code(self.code, self.level)
        if code is None:
            raise InputError(f"Mã đơn vị không hợp lệ / bad unit code: {self.code!r}")
        object.__setattr__(self, "code", code)


def jurisdiction_of(scope_level: str, scope_units: str, scope_code: str | None) -> Jurisdiction | None:
    """A user's scope (`app_user.scope_level/scope_units/scope_code`) as a filter; None for the country."""
    if scope_level == "country" or scope_code is None:
        return None
    return Jurisdiction(Structure(scope_units), Level(scope_level), scope_code)


def unit_column(units: Structure, level: Level) -> str:
    """The column naming a cell's unit of `level` in `units` (in the cells and in `stats_ward_map`)."""
    if units is Structure.CURRENT and level is Level.DISTRICT:
        raise InputError("Cấu trúc 2025 không có cấp huyện / the 2025 structure has no district level")
    prefix = "legacy" if units is Structure.LEGACY else "new"
    return f"{prefix}_{level.value}_code"


def _where(within: Jurisdiction | None) -> tuple[str, dict[str, Any]]:
    if within is None:
        return "1 = 1", {}
    return f"{unit_column(within.units, within.level)} = :within", {"within": within.code}


def child_level(units: Structure, level: Level | None) -> Level:
    """The level a drill-down shows below `level` (None: the whole country → provinces)."""
    if level is None:
        return Level.PROVINCE
    if level is Level.PROVINCE:
        return Level.DISTRICT if units is Structure.LEGACY else Level.WARD
    return Level.WARD


@dataclass
class UnitFigures:
    """One row of `stats coverage`: the contract's columns first, then the rest."""

    unit_code: str | None
    unit_name: str
    residents: int | None = 0
    at_least_one_dose: int | None = 0
    primary_complete: int | None = 0
    booster: int | None = 0
    unvaccinated: int | None = 0
    age_band: str | None = None
    sex: str | None = None
    linked_records: int | None = 0
    review_records: int | None = 0
    unmatched_records: int | None = 0
    rejected_records: int | None = 0
    corrections_to_health: int | None = 0
    cases_open: int | None = 0
    cases_overdue: int | None = 0
    verification_open: int | None = 0
    verification_overdue: int | None = 0
    parent_code: str | None = None
    level: str = ""
    units: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _unit_name(name: str | None, code: str | None) -> str:
    """A unit's name, else its code, else "unknown" (figures with no unit are counted openly)."""
    return name or (UNKNOWN_NAME if code is None else str(code))


def coverage(
    conn: Connection,
    level: Level,
    units: Structure = Structure.LEGACY,
    *,
    within: Jurisdiction | None = None,
    by: Sequence[str] = (),
    suppress: int = 0,
    today: date | None = None,
) -> list[UnitFigures]:
    """Figures per unit of `level` in `units`, within an optional jurisdiction. `by` may hold "age_band"
    and/or "sex" (one row per unit and group; the reconciliation columns are then left empty). Counts
    from 1 to `suppress` - 1 become None (small-count suppression for public exports)."""
    col = unit_column(units, level)
    bad = set(by) - {"age_band", "sex"}
    if bad:
        raise InputError(f"unknown grouping {sorted(bad)}: use age_band, sex")
    groups = [g for g in ("age_band", "sex") if g in by]
    where, params = _where(within)
    extra = "".join(f", x.{g}" for g in groups)
    inner = "".join(f", {g}" for g in groups)
    params = {**params, "s": units.value, "lv": level.value}
    rows = conn.execute(
        text(f"""SELECT x.unit_code, u.name, u.parent_code, x.residents, x.dosed, x.complete, x.booster{extra}
        FROM (SELECT {col} AS unit_code{inner}, sum(residents) AS residents, sum(at_least_one_dose) AS dosed,
                sum(primary_complete) AS complete, sum(booster) AS booster
              FROM stats_coverage_cell WHERE {where} GROUP BY {col}{inner}) x
        LEFT JOIN admin_unit u ON u.structure = :s AND u.level = :lv AND u.code = x.unit_code"""),
        params,
    ).all()
    out: dict[tuple[Any, ...], UnitFigures] = {}
    for r in rows:
        key = (r[0], *r[7:])
        f = UnitFigures(
            unit_code=r[0],
            unit_name=_unit_name(r[1], r[0]),
            parent_code=r[2],
            residents=int(r[3]),
            at_least_one_dose=int(r[4]),
            primary_complete=int(r[5]),
            booster=int(r[6]),
            unvaccinated=int(r[3]) - int(r[4]),
            level=level.value,
            units=units.value,
        )
        for g, v in zip(groups, r[7:], strict=True):
            setattr(f, g, v)
        if groups:
            for name in BACKLOG_COUNTS:
                setattr(f, name, None)
        out[key] = f
    if not groups:
        for code, values in _backlog_by_unit(conn, col, units, level, within, today).items():
            found = out.get((code,))
            if found is None:
                found = out[(code,)] = UnitFigures(
                    unit_code=code,
                    unit_name=_unit_name(values.pop("_name"), code),
                    parent_code=values.pop("_parent"),
                    level=level.value,
                    units=units.value,
                )
            values.pop("_name", None)
            values.pop("_parent", None)
            for name, v in values.items():
                setattr(found, name, v)
    result = sorted(
        out.values(), key=lambda f: (f.unit_code is None, f.unit_code or "", f.age_band or "", f.sex or "")
    )
    return [suppress_small(f, suppress) for f in result] if suppress > 1 else result


_MEASURE_COLUMNS = {
    "linked": "linked_records",
    "confirmed": "linked_records",
    "review": "review_records",
    "unmatched": "unmatched_records",
    "rejected": "rejected_records",
    "corrections_to_health": "corrections_to_health",
    "case_open": "cases_open",
    "verification_open": "verification_open",
}
_USABLE_OUTCOMES = ("linked", "confirmed", "review", "unmatched")
_OVERDUE_COLUMNS = {"case_open": "cases_overdue", "verification_open": "verification_overdue"}


def _backlog_by_unit(
    conn: Connection,
    col: str,
    units: Structure,
    level: Level,
    within: Jurisdiction | None,
    today: date | None,
) -> dict[str | None, dict[str, Any]]:
    where, params = _where(within)
    rows = conn.execute(
        text(f"""SELECT x.unit_code, u.name, u.parent_code, x.measure, x.n, x.overdue
        FROM (SELECT {col} AS unit_code, measure, sum(n) AS n,
                sum(CASE WHEN due_day < :today THEN n ELSE 0 END) AS overdue
              FROM stats_backlog_cell WHERE {where} GROUP BY {col}, measure) x
        LEFT JOIN admin_unit u ON u.structure = :s AND u.level = :lv AND u.code = x.unit_code""").bindparams(
            _today(today)
        ),
        {**params, "s": units.value, "lv": level.value},
    ).all()
    out: dict[str | None, dict[str, Any]] = {}
    for code, name, parent, measure, n, overdue in rows:
        _count_measure(out.setdefault(code, {"_name": name, "_parent": parent}), measure, n, overdue)
    return out


def _count_measure(values: dict[str, Any], measure: str, n: int, overdue: int) -> None:
    """Add one backlog measure's count, and its overdue part, to the columns it counts in."""
    column = _MEASURE_COLUMNS.get(measure)
    if column is None:
        return
    values[column] = values.get(column, 0) + int(n)
    if measure in _OVERDUE_COLUMNS:
        values[_OVERDUE_COLUMNS[measure]] = values.get(_OVERDUE_COLUMNS[measure], 0) + int(overdue)


def _today(today: date | None) -> BindParameter[date]:
    """`:today`, the day before which a due day is overdue (default: today, UTC)."""
    return bindparam("today", today or datetime.now(UTC).date(), type_=Date)


def suppress_small(figures: UnitFigures, threshold: int) -> UnitFigures:
    """Counts from 1 to threshold - 1 become None; zeros stay (an empty cell discloses nobody)."""
    if threshold <= 1:
        return figures
    for name in (*COVERAGE_COUNTS, *BACKLOG_COUNTS):
        v = getattr(figures, name)
        if v is not None and 0 < v < threshold:
            setattr(figures, name, None)
    return figures


def drill_down(
    conn: Connection,
    within: Jurisdiction | None,
    units: Structure = Structure.LEGACY,
    *,
    suppress: int = 0,
    today: date | None = None,
) -> list[UnitFigures]:
    """The units one level below `within` (the whole country: its provinces), in `units`."""
    level = child_level(units, None if within is None else within.level)
    return coverage(conn, level, units, within=within, suppress=suppress, today=today)


@dataclass(frozen=True)
class Headline:
    residents: int
    at_least_one_dose: int
    primary_complete: int
    booster: int
    unvaccinated: int
    dose_records: int
    linked_records: int
    review_records: int
    unmatched_records: int
    rejected_records: int
    corrections_to_health: int
    cases_open: int
    cases_overdue: int
    verification_open: int
    verification_overdue: int
    refreshed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def headline(conn: Connection, within: Jurisdiction | None = None, *, today: date | None = None) -> Headline:
    """The numbers at the top of a supervisor's page, for the jurisdiction (the whole country when None)."""
    where, params = _where(within)
    cov = conn.execute(
        text(f"""SELECT coalesce(sum(residents), 0), coalesce(sum(at_least_one_dose), 0),
            coalesce(sum(primary_complete), 0), coalesce(sum(booster), 0)
        FROM stats_coverage_cell WHERE {where}"""),
        params,
    ).one()
    back: dict[str, int] = {}
    doses = 0
    for measure, n, overdue in conn.execute(
        text(f"""SELECT measure, sum(n), sum(CASE WHEN due_day < :today THEN n ELSE 0 END)
        FROM stats_backlog_cell WHERE {where} GROUP BY measure""").bindparams(_today(today)),
        params,
    ).all():
        _count_measure(back, measure, n, overdue)
        if measure in _USABLE_OUTCOMES:
            # Every usable record has a vaccination day: the same total as the doses per day, read from
            # a few hundred cells instead of a few hundred thousand.
            doses += int(n)
    refreshed = last_refresh(conn)
    residents, dosed = int(cov[0]), int(cov[1])
    return Headline(
        residents=residents,
        at_least_one_dose=dosed,
        primary_complete=int(cov[2]),
        booster=int(cov[3]),
        unvaccinated=residents - dosed,
        dose_records=int(doses),
        refreshed_at=refreshed,
        **{name: back.get(name, 0) for name in BACKLOG_COUNTS},
    )


@dataclass(frozen=True)
class DosePoint:
    day: date
    vaccine_code: str | None
    records: int
    linked: int


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def doses_series(
    conn: Connection, within: Jurisdiction | None = None, *, by_vaccine: bool = False
) -> list[DosePoint]:
    """Dose records per vaccination day (and per vaccine when asked), oldest first."""
    where, params = _where(within)
    vaccine = "vaccine_code" if by_vaccine else "NULL"
    group = ", vaccine_code" if by_vaccine else ""
    rows = conn.execute(
        text(f"""SELECT day, {vaccine}, sum(records), sum(linked) FROM stats_dose_day WHERE {where}
        GROUP BY day{group} ORDER BY day{group}"""),
        params,
    ).all()
    return [DosePoint(_as_date(d), v, int(n), int(k)) for d, v, n, k in rows]


def doses_by_vaccine(conn: Connection, within: Jurisdiction | None = None) -> dict[str | None, int]:
    """Dose records per vaccine (EU product code), most given first."""
    where, params = _where(within)
    rows = conn.execute(
        text(f"""SELECT vaccine_code, sum(records) FROM stats_dose_day WHERE {where}
        GROUP BY vaccine_code ORDER BY 2 DESC"""),
        params,
    ).all()
    return {v: int(n) for v, n in rows}


def backlog(
    conn: Connection,
    within: Jurisdiction | None = None,
    units: Structure = Structure.LEGACY,
    *,
    level: Level = Level.WARD,
    today: date | None = None,
) -> list[UnitFigures]:
    """Per unit (wards by default): records in review and unmatched, open and overdue cases and
    verification requests, corrections for health; units with nothing waiting are left out; the
    largest backlog first."""
    rows = coverage(conn, level, units, within=within, today=today)
    waiting = [
        f
        for f in rows
        if (f.review_records or 0)
        + (f.unmatched_records or 0)
        + (f.cases_open or 0)
        + (f.verification_open or 0)
    ]
    return sorted(
        waiting,
        key=lambda f: -((f.review_records or 0) + (f.unmatched_records or 0) + (f.verification_open or 0)),
    )


def last_refresh(conn: Connection) -> datetime | None:
    return conn.execute(
        text("SELECT refreshed_at FROM stats_refresh ORDER BY id DESC LIMIT 1").columns(
            refreshed_at=UtcDateTime()
        )
    ).scalar()

"""Coverage statistics: people, not doses, per province, district and ward, in either structure.

`refresh_statistics` rebuilds small aggregate tables (`storage/stats_models.py`) with a few GROUP BYs at
the end of an ingest and of the re-examination after a register import; an officer's action (a case, a
register correction, a verification request, a new resident) moves only the cells its rows count in, in
its own transaction (`stats_upkeep.CellChanges`). Every question (coverage at a level, drill-down, the doses time
series, the backlog) is a GROUP BY over a few thousand cells, filtered by an optional jurisdiction.

Attribution:
- A resident counts in the ward of current residence as the register stores it.
- A linked dose counts in its citizen's current ward; a record in review or unmatched in the ward
  whose worklist holds it (`match_result.ward_code`), else under "unknown" (NULL codes): counted
  openly, never dropped. A rejected record counts under its own ward code when that is a legacy ward.
- Corrections returned to health: linked or confirmed records whose differences are health's to fix
  (blame health or both).
- Structures: every stored ward (legacy or 2025) is mapped once to a ward of each structure
  (`stats_ward_map`). A legacy ward converted whole maps to its 2025 ward. A **split** legacy ward's
  people are counted once, in its *main successor* (`main_successor`): the part that took the whole
  population, else the part that kept the old code, else the remainder, else the lowest new code.
  People the register already places in a 2025 ward count in that ward exactly. In the legacy view a
  2025 ward made of several legacy wards is attributed to its *main source* (the legacy ward whose
  code it kept, else the lowest code of those merged whole): exact for provinces, approximate for
  wards and districts, and only for people registered with 2025 codes.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Date, bindparam, text

from vaxlink.domain.admin_units import Level, Structure, WardConversion, admin_units, normalise_code
from vaxlink.domain.errors import InputError
from vaxlink.domain.status import AGE_BAND_STARTS, age_band_labels
from vaxlink.services.figures.status import bulk_memory
from vaxlink.storage.models import UtcDateTime, utcnow

PARTS = ("coverage", "records", "work")
LINKED = "('linked', 'confirmed')"
RECORD_MEASURES = ("linked", "confirmed", "review", "unmatched", "rejected", "corrections_to_health")
WORK_MEASURES = ("case_open", "verification_open")
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
log = logging.getLogger("vaxlink.stats")


# --- the ward map of both structures ---------------------------------------------------------------


def _fold(note: str) -> str:
    folded = unicodedata.normalize("NFD", note.lower()).replace("đ", "d")
    return "".join(c for c in folded if not unicodedata.combining(c))


def main_successor(old_code: str, rows: Sequence[WardConversion]) -> WardConversion:
    """The one 2025 ward a split legacy ward's people are counted in when the register gives no 2025 ward:
    the part that took the whole population ("toàn bộ dân số"), else the whole area, else the part that
    kept the old code, else the remainder after the split ("phần còn lại"), else the lowest new code."""

    def rank(c: WardConversion) -> tuple[int, str]:
        note = _fold(c.note)
        if "toan bo dan so" in note:
            return (0, c.new_code)
        if "toan bo dien tich" in note:
            return (1, c.new_code)
        if c.new_code == old_code:
            return (2, c.new_code)
        if "phan con lai" in note:
            return (3, c.new_code)
        return (4, c.new_code)

    return min(rows, key=rank)


def main_source(new_code: str, rows: Sequence[WardConversion]) -> WardConversion:
    """The one legacy ward a 2025 ward made of several is attributed to in legacy reports: the one whose
    code it kept, else the lowest code among those merged whole, else the lowest code."""
    same = [c for c in rows if c.old_code == new_code]
    if same:
        return same[0]
    return min(rows, key=lambda c: (not c.whole, c.old_code))


def ward_map_rows() -> list[dict[str, Any]]:
    """One row per official ward of either structure, with its wards in both (see the module docstring)."""
    reg = admin_units()
    out: list[dict[str, Any]] = []
    for w in reg.wards(Structure.LEGACY):
        rows = [c for c in reg.convert_ward(w.code)]
        targets = {c.new_code for c in rows}
        row: dict[str, Any] = {
            "src_units": Structure.LEGACY.value,
            "src_ward_code": w.code,
            "legacy_province_code": w.province_code,
            "legacy_district_code": w.parent_code,
            "legacy_ward_code": w.code,
            "new_province_code": None,
            "new_ward_code": None,
            "rule": "none",
        }
        if rows:
            chosen = rows[0] if len(targets) == 1 else main_successor(w.code, rows)
            row["new_ward_code"] = chosen.new_code
            row["new_province_code"] = chosen.new_province_code or None
            row["rule"] = "whole" if len(targets) == 1 else "split_main"
        out.append(row)
    legacy = {w.code: w for w in reg.wards(Structure.LEGACY)}
    for w in reg.wards(Structure.CURRENT):
        sources = [c for c in reg.legacy_sources(w.code) if c.old_code]
        row = {
            "src_units": Structure.CURRENT.value,
            "src_ward_code": w.code,
            "legacy_province_code": None,
            "legacy_district_code": None,
            "legacy_ward_code": None,
            "new_province_code": w.province_code,
            "new_ward_code": w.code,
            "rule": "none",
        }
        if sources:
            old_codes = {c.old_code for c in sources}
            chosen = sources[0] if len(old_codes) == 1 else main_source(w.code, sources)
            unit = legacy.get(chosen.old_code)
            row["legacy_ward_code"] = chosen.old_code if unit is not None else None
            row["legacy_district_code"] = (
                unit.parent_code if unit is not None else chosen.old_district_code or None
            )
            row["legacy_province_code"] = (
                unit.province_code if unit is not None else chosen.old_province_code or None
            )
            row["rule"] = "whole" if len(old_codes) == 1 else "merged_main"
        out.append(row)
    return out


def ensure_ward_map(conn: Connection) -> int:
    """Load `stats_ward_map` when it does not cover the official wards stored in `admin_unit`."""
    stored = conn.exec_driver_sql("SELECT count(*) FROM stats_ward_map").scalar_one()
    official = conn.exec_driver_sql("SELECT count(*) FROM admin_unit WHERE level = 'ward'").scalar_one()
    if stored == official and stored > 0:
        return int(stored)
    rows = ward_map_rows()
    conn.exec_driver_sql("DELETE FROM stats_ward_map")
    conn.execute(
        text("""INSERT INTO stats_ward_map (src_units, src_ward_code, legacy_province_code,
            legacy_district_code, legacy_ward_code, new_province_code, new_ward_code, rule)
        VALUES (:src_units, :src_ward_code, :legacy_province_code, :legacy_district_code, :legacy_ward_code,
            :new_province_code, :new_ward_code, :rule)"""),
        rows,
    )
    return len(rows)


# PostgreSQL advisory locks, in a two-key space of their own: a full refresh holds (REFRESH_LOCKS, 0) exclusively
# from its start to its commit, an action's cell changes share it; (REFRESH_LOCKS + 1, hash of a cell) serialises
# the creation of one cell.
REFRESH_LOCKS = 0x76787374


# --- refresh ---------------------------------------------------------------------------------------

MAPPED = (
    "legacy_province_code",
    "legacy_district_code",
    "legacy_ward_code",
    "new_province_code",
    "new_ward_code",
)
_MAPPED_COLS = ", ".join(MAPPED)
_MAPPED_W = ", ".join(f"w.{c}" for c in MAPPED)


def _age_band_sql(age: str) -> str:
    labels = age_band_labels()
    whens = " ".join(
        f"WHEN {age} >= {start} THEN '{label}'"
        for start, label in reversed(list(zip(AGE_BAND_STARTS, labels, strict=True)))
        if start > 0
    )
    return f"CASE {whens} ELSE '{labels[0]}' END"


def _day_sql(conn: Connection, column: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"CAST(({column} AT TIME ZONE 'UTC') AS DATE)"
    return f"date({column})"


@dataclass
class RefreshResult:
    parts: tuple[str, ...]
    coverage_cells: int = 0
    dose_day_cells: int = 0
    backlog_cells: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def refresh_statistics(
    conn: Connection, *, parts: Iterable[str] = PARTS, today: date | None = None
) -> RefreshResult:
    """Rebuild the statistics aggregates in the caller's transaction (never commits).

    `parts`: "coverage" (residents and their status: run after `refresh_status`), "records" (doses per
    day and vaccine, record outcomes, corrections to health: after an ingest or re-examination),
    "work" (open cases and verification requests). `today` sets the reference year of the age bands
    (default: today, UTC)."""
    chosen = tuple(p for p in PARTS if p in set(parts))
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown statistics parts: {sorted(unknown)}")
    today = today or datetime.now(UTC).date()
    result = RefreshResult(chosen)
    started = time.perf_counter()
    t = started
    if conn.dialect.name == "postgresql":
        # Until this transaction ends, actions leave the cells alone (`stats_upkeep.CellChanges`); those under way finish
        # first, so that the cells replaced below include their changes.
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, 0)"), {"space": REFRESH_LOCKS})
    ensure_ward_map(conn)
    result.seconds["ward_map"] = time.perf_counter() - t
    is_pg = conn.dialect.name == "postgresql"
    with bulk_memory(conn):
        if "coverage" in chosen:
            t = time.perf_counter()
            result.coverage_cells = _refresh_coverage(conn, today.year)
            result.seconds["coverage"] = time.perf_counter() - t
        if "records" in chosen:
            t = time.perf_counter()
            result.dose_day_cells, n = _refresh_records(conn)
            result.backlog_cells += n
            result.seconds["records"] = time.perf_counter() - t
        if "work" in chosen:
            t = time.perf_counter()
            result.backlog_cells += _refresh_work(conn)
            result.seconds["work"] = time.perf_counter() - t
    if is_pg:
        # Fresh statistics for the planner: the cells were just replaced wholesale.
        t = time.perf_counter()
        for table in ("stats_coverage_cell", "stats_dose_day", "stats_backlog_cell"):
            conn.exec_driver_sql(f"ANALYZE {table}")
        result.seconds["analyze"] = time.perf_counter() - t
    total = time.perf_counter() - started
    result.seconds["total"] = total
    conn.execute(
        text("""INSERT INTO stats_refresh (refreshed_at, parts, reference_year, seconds)
        VALUES (:at, :parts, :year, :s)""").bindparams(bindparam("at", utcnow(), type_=UtcDateTime)),
        {"parts": ",".join(chosen), "year": today.year, "s": total},
    )
    return result


_COVERAGE_COLS = (
    "src_units, src_ward_code, age_band, sex, residents, at_least_one_dose, primary_complete, booster"
)
_BACKLOG_COLS = "src_units, src_ward_code, measure, due_day, n"
_DOSE_DAY_COLS = "src_units, src_ward_code, day, vaccine_code, records, linked"
_WARD = "LEFT JOIN stats_ward_map w ON w.src_units = x.units AND w.src_ward_code = x.ward"


def coverage_cells(reference_year: int, citizens: str = "1 = 1") -> str:
    """The coverage cells (`_COVERAGE_COLS`, then the mapped units) of the citizens `citizens` selects."""
    band = _age_band_sql(f"({int(reference_year)} - c.birth_year)")
    return f"""SELECT x.units, x.ward, x.band, x.sex, x.residents, x.dosed, x.complete, x.booster, {_MAPPED_W}
        FROM (
          SELECT c.current_units AS units, c.current_ward_code AS ward, {band} AS band, c.sex AS sex,
            count(*) AS residents, count(s.citizen_id) AS dosed,
            sum(CASE WHEN s.complete_date IS NOT NULL THEN 1 ELSE 0 END) AS complete,
            sum(CASE WHEN s.boosters > 0 THEN 1 ELSE 0 END) AS booster
          FROM citizen c LEFT JOIN citizen_status s ON s.citizen_id = c.id
          WHERE c.status = 'active' AND {citizens}
          GROUP BY c.current_units, c.current_ward_code, {band}, c.sex) x
        {_WARD}"""


def _refresh_coverage(conn: Connection, reference_year: int) -> int:
    conn.exec_driver_sql("DELETE FROM stats_coverage_cell")
    n = conn.exec_driver_sql(
        f"INSERT INTO stats_coverage_cell ({_COVERAGE_COLS}, {_MAPPED_COLS}) {coverage_cells(reference_year)}"
    ).rowcount
    return int(n or 0)


def record_rows(dose_records: str = "1 = 1") -> tuple[str, str]:
    """Two SELECTs of (units, ward, outcome, day, vaccine_code, to_health, n) for the latest dose records
    `dose_records` selects (a condition on `m.dose_record_id`): the usable ones, then the rejected ones.
    Rejected records are few: their ward is looked up apart, so that the big pass joins only citizens."""
    usable = f"""SELECT
          CASE WHEN m.outcome IN {LINKED} THEN c.current_units ELSE m.ward_units END AS units,
          CASE WHEN m.outcome IN {LINKED} THEN c.current_ward_code ELSE m.ward_code END AS ward,
          m.outcome AS outcome, d.vaccination_date AS day, d.vaccine_code AS vaccine_code,
          CASE WHEN m.outcome IN {LINKED} AND m.blame IN ('health', 'both') THEN 1 ELSE 0 END AS to_health,
          count(*) AS n
        FROM dose_record d
        JOIN match_result m ON m.dose_record_id = d.id
        LEFT JOIN citizen c ON c.id = m.citizen_id
        WHERE d.is_latest AND m.outcome <> 'rejected' AND {dose_records}
        GROUP BY 1, 2, 3, 4, 5, 6"""
    rejected = f"""SELECT r.structure, r.code, 'rejected', NULL, NULL, 0, count(*)
        FROM match_result m
        JOIN dose_record d ON d.id = m.dose_record_id
        LEFT JOIN admin_unit r ON r.structure = 'legacy' AND r.level = 'ward' AND r.code = d.ward_code
        WHERE m.outcome = 'rejected' AND d.is_latest AND {dose_records}
        GROUP BY r.structure, r.code"""
    return usable, rejected


def dose_day_cells(rec: str) -> str:
    """The doses-per-day cells (`_DOSE_DAY_COLS`, then the mapped units) of the record rows in `rec`."""
    return f"""SELECT x.units, x.ward, x.day, x.vaccine_code, x.records, x.linked, {_MAPPED_W}
        FROM (
          SELECT units, ward, day, vaccine_code, sum(n) AS records,
            sum(CASE WHEN outcome IN {LINKED} THEN n ELSE 0 END) AS linked
          FROM {rec} WHERE outcome <> 'rejected' AND day IS NOT NULL
          GROUP BY units, ward, day, vaccine_code) x
        {_WARD}"""


def record_backlog_cells(rec: str) -> str:
    """The backlog cells of record outcomes and corrections to health (`_BACKLOG_COLS`, then the mapped
    units) of the record rows in `rec`."""
    return f"""SELECT x.units, x.ward, x.measure, NULL, x.n, {_MAPPED_W}
        FROM (
          SELECT units, ward, outcome AS measure, sum(n) AS n FROM {rec} GROUP BY units, ward, outcome
          UNION ALL
          SELECT units, ward, 'corrections_to_health', sum(n) FROM {rec} WHERE to_health = 1
          GROUP BY units, ward) x
        {_WARD}"""


def _refresh_records(conn: Connection) -> tuple[int, int]:
    usable, rejected = record_rows()
    conn.exec_driver_sql("DROP TABLE IF EXISTS stats_rec")
    # One pass over the latest dose records (millions); everything else is derived from this small table.
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE stats_rec AS {usable}")
    conn.exec_driver_sql(
        f"INSERT INTO stats_rec (units, ward, outcome, day, vaccine_code, to_health, n) {rejected}"
    )
    conn.exec_driver_sql("DELETE FROM stats_dose_day")
    days = conn.exec_driver_sql(
        f"INSERT INTO stats_dose_day ({_DOSE_DAY_COLS}, {_MAPPED_COLS}) {dose_day_cells('stats_rec')}"
    ).rowcount
    measures = ", ".join(f"'{m}'" for m in RECORD_MEASURES)
    conn.exec_driver_sql(f"DELETE FROM stats_backlog_cell WHERE measure IN ({measures})")
    backlog = conn.exec_driver_sql(
        f"INSERT INTO stats_backlog_cell ({_BACKLOG_COLS}, {_MAPPED_COLS}) {record_backlog_cells('stats_rec')}"
    ).rowcount
    conn.exec_driver_sql("DROP TABLE stats_rec")
    return int(days or 0), int(backlog or 0)


def work_cells(conn: Connection, cases: str = "1 = 1", requests: str = "1 = 1") -> str:
    """The backlog cells of open cases and verification requests (`_BACKLOG_COLS`, then the mapped units)
    of the cases `cases` and requests `requests` select (conditions on their `id`)."""
    due = _day_sql(conn, "due_at")
    return f"""SELECT x.units, x.ward, x.measure, x.due_day, x.n, {_MAPPED_W}
        FROM (
          SELECT CASE WHEN ward_code IS NOT NULL THEN ward_units END AS units, ward_code AS ward,
            'case_open' AS measure, {due} AS due_day, count(*) AS n
          FROM work_case WHERE status <> 'closed' AND {cases}
          GROUP BY 1, 2, 4
          UNION ALL
          SELECT to_units, to_ward_code, 'verification_open', {due}, count(*)
          FROM verification_request WHERE status = 'open' AND {requests}
          GROUP BY 1, 2, 4) x
        {_WARD}"""


def _refresh_work(conn: Connection) -> int:
    measures = ", ".join(f"'{m}'" for m in WORK_MEASURES)
    conn.exec_driver_sql(f"DELETE FROM stats_backlog_cell WHERE measure IN ({measures})")
    n = conn.exec_driver_sql(
        f"INSERT INTO stats_backlog_cell ({_BACKLOG_COLS}, {_MAPPED_COLS}) {work_cells(conn)}"
    ).rowcount
    return int(n or 0)


def batch_citizens_sql(batch_id: int) -> str:
    """A SELECT of the citizens whose status a batch can change: those linked to any version of any
    record the batch carries (a new version can move a dose from one citizen to another)."""
    return f"""SELECT m.citizen_id FROM match_result m
        JOIN dose_record d ON d.id = m.dose_record_id
        JOIN dose_record b ON b.source = d.source AND b.record_id = d.record_id
        WHERE b.batch_id = {int(batch_id)} AND m.citizen_id IS NOT NULL"""


# --- questions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Jurisdiction:
    """A unit whose figures are wanted: a province, district (legacy only) or ward of either structure."""

    units: Structure
    level: Level
    code: str

    def __post_init__(self) -> None:
        _column(self.units, self.level)
        code = normalise_code(self.code, self.level)
        if code is None:
            raise InputError(f"Mã đơn vị không hợp lệ / bad unit code: {self.code!r}")
        object.__setattr__(self, "code", code)


def jurisdiction_of(scope_level: str, scope_units: str, scope_code: str | None) -> Jurisdiction | None:
    """A user's scope (`app_user.scope_level/scope_units/scope_code`) as a filter; None for the country."""
    if scope_level == "country" or scope_code is None:
        return None
    return Jurisdiction(Structure(scope_units), Level(scope_level), scope_code)


def _column(units: Structure, level: Level) -> str:
    if units is Structure.CURRENT and level is Level.DISTRICT:
        raise InputError("Cấu trúc 2025 không có cấp huyện / the 2025 structure has no district level")
    prefix = "legacy" if units is Structure.LEGACY else "new"
    return f"{prefix}_{level.value}_code"


def _where(within: Jurisdiction | None) -> tuple[str, dict[str, Any]]:
    if within is None:
        return "1 = 1", {}
    return f"{_column(within.units, within.level)} = :within", {"within": within.code}


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
    col = _column(units, level)
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
            unit_name=r[1] or (UNKNOWN_NAME if r[0] is None else str(r[0])),
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
                    unit_name=values.pop("_name") or (UNKNOWN_NAME if code is None else str(code)),
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
    today = today or datetime.now(UTC).date()
    rows = conn.execute(
        text(f"""SELECT x.unit_code, u.name, u.parent_code, x.measure, x.n, x.overdue
        FROM (SELECT {col} AS unit_code, measure, sum(n) AS n,
                sum(CASE WHEN due_day < :today THEN n ELSE 0 END) AS overdue
              FROM stats_backlog_cell WHERE {where} GROUP BY {col}, measure) x
        LEFT JOIN admin_unit u ON u.structure = :s AND u.level = :lv AND u.code = x.unit_code""").bindparams(
            bindparam("today", today, type_=Date)
        ),
        {**params, "s": units.value, "lv": level.value},
    ).all()
    out: dict[str | None, dict[str, Any]] = {}
    for code, name, parent, measure, n, overdue in rows:
        values = out.setdefault(code, {"_name": name, "_parent": parent})
        column = _MEASURE_COLUMNS.get(measure)
        if column is None:
            continue
        values[column] = values.get(column, 0) + int(n)
        if measure in _OVERDUE_COLUMNS:
            values[_OVERDUE_COLUMNS[measure]] = values.get(_OVERDUE_COLUMNS[measure], 0) + int(overdue)
    return out


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
    today = today or datetime.now(UTC).date()
    back: dict[str, int] = {}
    doses = 0
    for measure, n, overdue in conn.execute(
        text(f"""SELECT measure, sum(n), sum(CASE WHEN due_day < :today THEN n ELSE 0 END)
        FROM stats_backlog_cell WHERE {where} GROUP BY measure""").bindparams(
            bindparam("today", today, type_=Date)
        ),
        params,
    ).all():
        column = _MEASURE_COLUMNS.get(measure)
        if column is not None:
            back[column] = back.get(column, 0) + int(n)
        if measure in _OVERDUE_COLUMNS:
            back[_OVERDUE_COLUMNS[measure]] = int(overdue)
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

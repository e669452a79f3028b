"""The statistics cells (`storage/stats_models.py`) rebuilt from the records: the SELECT of each cell table,
shared with `stats_upkeep`, and the full refresh at the end of an ingest or a re-examination."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pyarrow as pa
from sqlalchemy import Connection, bindparam, text

from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.domain.status import AGE_BAND_STARTS, age_band_labels
from vaxlink.services.figures.status import bulk_memory
from vaxlink.services.figures.ward_map import ensure_ward_map
from vaxlink.storage import bulk
from vaxlink.storage.models import UtcDateTime, utcnow

PARTS = ("coverage", "records", "work")
RECORD_MEASURES = ("linked", "confirmed", "review", "unmatched", "rejected", "corrections_to_health")
WORK_MEASURES = ("case_open", "verification_open")

# PostgreSQL advisory locks, in a two-key space of their own: a full refresh holds (REFRESH_LOCKS, 0) exclusively
# from its start to its commit, an action's cell changes share it; (REFRESH_LOCKS + 1, hash of a cell) serialises
# the creation of one cell.
REFRESH_LOCKS = 0x76787374

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
    conn: Connection,
    *,
    parts: Iterable[str] = PARTS,
    today: date | None = None,
    usable_rows: pa.RecordBatchReader | None = None,
) -> RefreshResult:
    """Rebuild the statistics aggregates in the caller's transaction (never commits).

    `parts`: "coverage" (residents and their status: run after `refresh_status`), "records" (doses per
    day and vaccine, record outcomes, corrections to health: after an ingest or re-examination),
    "work" (open cases and verification requests). `today` sets the reference year of the age bands
    (default: today, UTC). `usable_rows`: the rows of `record_rows`' first SELECT over every record of
    the database, computed where they are (a first batch: in DuckDB) instead of in one pass here."""
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
            with _timed(result.seconds, "coverage"):
                result.coverage_cells = _replace_cells(
                    conn, "stats_coverage_cell", _COVERAGE_COLS, coverage_cells(today.year)
                )
        if "records" in chosen:
            with _timed(result.seconds, "records"):
                result.dose_day_cells, n = _refresh_records(conn, usable_rows)
                result.backlog_cells += n
        if "work" in chosen:
            with _timed(result.seconds, "work"):
                result.backlog_cells += _replace_cells(
                    conn, "stats_backlog_cell", _BACKLOG_COLS, work_cells(conn), WORK_MEASURES
                )
    if is_pg:
        # Fresh statistics for the planner: the cells were just replaced wholesale.
        with _timed(result.seconds, "analyze"):
            for table in ("stats_coverage_cell", "stats_dose_day", "stats_backlog_cell"):
                conn.exec_driver_sql(f"ANALYZE {table}")
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
    """The coverage cells (`_COVERAGE_COLS`, then the mapped units) of the citizens `citizens` selects. A
    resident counts in the ward of current residence as the register stores it."""
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


@contextmanager
def _timed(seconds: dict[str, float], name: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    seconds[name] = time.perf_counter() - t


def _replace_cells(
    conn: Connection, table: str, columns: str, cells: str, measures: Sequence[str] | None = None
) -> int:
    """Replace the cells of `table` (only those of `measures`, when given) by those the SELECT `cells`
    returns (`columns`, then the mapped units). Returns the number of cells."""
    if measures is None:
        conn.exec_driver_sql(f"DELETE FROM {table}")
    else:
        listed = ", ".join(f"'{m}'" for m in measures)
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE measure IN ({listed})")
    n = conn.exec_driver_sql(f"INSERT INTO {table} ({columns}, {_MAPPED_COLS}) {cells}").rowcount
    return int(n or 0)


def record_rows(
    dose_records: str = "1 = 1",
    *,
    records: str = "dose_record",
    results: str = "match_result",
    homes: str = "citizen",
) -> tuple[str, str]:
    """Two SELECTs of (units, ward, outcome, day, vaccine_code, to_health, n) for the latest dose records
    `dose_records` selects (a condition on `m.dose_record_id`): the usable ones, then the rejected ones.
    Rejected records are few: their ward is looked up apart, so that the big pass joins only citizens.
    The usable ones read `records`, `results` and `homes` (id, current_units, current_ward_code): the
    database's tables, or a first batch's own in DuckDB (`dose_ingest._first_batch_records`).

    A linked dose counts in its citizen's current ward; a record in review or unmatched in the ward whose
    worklist holds it (`match_result.ward_code`), else under "unknown" (NULL codes): counted openly, never
    dropped. A rejected record counts under its own ward code when that is a legacy ward."""
    usable = f"""SELECT
          CASE WHEN m.outcome IN {LINKED_SQL} THEN c.current_units ELSE m.ward_units END AS units,
          CASE WHEN m.outcome IN {LINKED_SQL} THEN c.current_ward_code ELSE m.ward_code END AS ward,
          m.outcome AS outcome, d.vaccination_date AS day, d.vaccine_code AS vaccine_code,
          CASE WHEN m.outcome IN {LINKED_SQL} AND m.blame IN ('health', 'both') THEN 1 ELSE 0 END AS to_health,
          count(*) AS n
        FROM {records} d
        JOIN {results} m ON m.dose_record_id = d.id
        LEFT JOIN {homes} c ON c.id = m.citizen_id
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
            sum(CASE WHEN outcome IN {LINKED_SQL} THEN n ELSE 0 END) AS linked
          FROM {rec} WHERE outcome <> 'rejected' AND day IS NOT NULL
          GROUP BY units, ward, day, vaccine_code) x
        {_WARD}"""


def record_backlog_cells(rec: str) -> str:
    """The backlog cells of record outcomes and corrections to health (`_BACKLOG_COLS`, then the mapped
    units) of the record rows in `rec`. Corrections to health: linked or confirmed records whose
    differences are health's to fix (blame health or both)."""
    return f"""SELECT x.units, x.ward, x.measure, NULL, x.n, {_MAPPED_W}
        FROM (
          SELECT units, ward, outcome AS measure, sum(n) AS n FROM {rec} GROUP BY units, ward, outcome
          UNION ALL
          SELECT units, ward, 'corrections_to_health', sum(n) FROM {rec} WHERE to_health = 1
          GROUP BY units, ward) x
        {_WARD}"""


def _refresh_records(conn: Connection, usable_rows: pa.RecordBatchReader | None = None) -> tuple[int, int]:
    usable, rejected = record_rows()
    conn.exec_driver_sql("DROP TABLE IF EXISTS stats_rec")
    if usable_rows is None:
        # One pass over the latest dose records (millions); everything else is derived from this small table.
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE stats_rec AS {usable}")
    else:
        # The table the pass would have made, its columns typed as it types them, filled from the rows.
        conn.exec_driver_sql(f"CREATE TEMPORARY TABLE stats_rec AS SELECT * FROM ({usable}) x LIMIT 0")
        bulk.load_batches(conn, "stats_rec", usable_rows)
    conn.exec_driver_sql(
        f"INSERT INTO stats_rec (units, ward, outcome, day, vaccine_code, to_health, n) {rejected}"
    )
    days = _replace_cells(conn, "stats_dose_day", _DOSE_DAY_COLS, dose_day_cells("stats_rec"))
    backlog = _replace_cells(
        conn, "stats_backlog_cell", _BACKLOG_COLS, record_backlog_cells("stats_rec"), RECORD_MEASURES
    )
    conn.exec_driver_sql("DROP TABLE stats_rec")
    return days, backlog


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


def batch_citizens_sql(batch_id: int) -> str:
    """A SELECT of the citizens whose status a batch can change: those linked to any version of any
    record the batch carries (a new version can move a dose from one citizen to another)."""
    return f"""SELECT m.citizen_id FROM match_result m
        JOIN dose_record d ON d.id = m.dose_record_id
        JOIN dose_record b ON b.source = d.source AND b.record_id = d.record_id
        WHERE b.batch_id = {int(batch_id)} AND m.citizen_id IS NOT NULL"""

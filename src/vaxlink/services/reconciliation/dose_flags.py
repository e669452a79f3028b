"""Dose-sequence flags: the doses linked to one person checked together (duplicates, order, intervals),
on the database for stored links and in DuckDB for a batch's new ones, by the same rule."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, text

from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.services.figures.status import linked_doses_of, probes
from vaxlink.storage import bulk
from vaxlink.storage.extract import arrow_schema, query_arrow

# Shortest plausible gap between two doses of one person (the shortest schedule, Abdala, is 14 days).
MIN_DOSE_INTERVAL_DAYS = 14
_EARLIER_SCHEMA = arrow_schema("id:int64 citizen_id:int64 vaccination_date:date32 dose_number:int32 flags")
_CHANGED_EARLIER = "FROM all_flags WHERE NOT new AND flags <> coalesce(old_flags, '')"


def dose_flags_sql(doses: str, days_between: Callable[[str, str], str]) -> str:
    """The dose-sequence check as one SELECT over `doses` (a query with id, citizen_id, vaccination_date,
    dose_number and any further columns, kept): the same day or the same dose number twice
    (DOSE_DUPLICATE), a higher dose number given before a lower one (DOSE_ORDER), two doses closer than the
    shortest schedule (DOSE_INTERVAL). `days_between(a, b)` is the backend's day count from date a to b."""
    gap = days_between("prev_date", "vaccination_date")
    return f"""WITH w AS (
          SELECT *,
            count(*) OVER (PARTITION BY citizen_id, vaccination_date) AS same_day,
            count(*) OVER (PARTITION BY citizen_id, dose_number) AS same_number,
            max(dose_number) OVER (PARTITION BY citizen_id ORDER BY vaccination_date, id
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS max_before,
            lag(vaccination_date) OVER (PARTITION BY citizen_id ORDER BY vaccination_date, id) AS prev_date
          FROM ({doses}) doses)
        SELECT w.*, rtrim(
            CASE WHEN same_day > 1 OR same_number > 1 THEN 'DOSE_DUPLICATE;' ELSE '' END ||
            CASE WHEN max_before > dose_number THEN 'DOSE_ORDER;' ELSE '' END ||
            CASE WHEN prev_date IS NOT NULL AND {gap} > 0 AND {gap} < {MIN_DOSE_INTERVAL_DAYS}
                 THEN 'DOSE_INTERVAL;' ELSE '' END, ';') AS flags
        FROM w"""


def flag_dose_sequences(db: Connection, citizens_sql: str | None = None) -> int:
    """Check the linked doses of the citizens `citizens_sql` selects (all when None) and store their flags
    (see `dose_flags_sql`)."""
    is_pg = db.dialect.name == "postgresql"

    def days(a: str, b: str) -> str:
        return f"({b} - {a})" if is_pg else f"(julianday({b}) - julianday({a}))"

    touched = "" if citizens_sql is None else f"AND m.citizen_id IN ({citizens_sql})"
    doses = f"""SELECT m.dose_record_id AS id, m.citizen_id, d.vaccination_date, d.dose_number
          FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
          WHERE d.is_latest AND m.outcome IN {LINKED_SQL} {touched}"""
    some = citizens_sql is not None and is_pg
    if some:
        # The set's doses first, through the indexes (see `status.linked_doses_of`): under the window
        # functions the planner read every linked dose of the register to find the set's.
        db.exec_driver_sql("DROP TABLE IF EXISTS flag_doses")
        with probes(db):
            db.exec_driver_sql(f"CREATE TEMPORARY TABLE flag_doses AS {linked_doses_of(str(citizens_sql))}")
        db.exec_driver_sql("ANALYZE flag_doses")
        doses = "SELECT id, citizen_id, vaccination_date, dose_number, flags AS old_flags FROM flag_doses"
    db.exec_driver_sql("DROP TABLE IF EXISTS dose_flags")
    # For a set, only the doses whose flags change are kept, so that the UPDATE below probes match_result's
    # key for those few rather than joining all of it.
    changed = "WHERE f.flags <> f.old_flags" if some else ""
    db.exec_driver_sql(
        f"CREATE TEMPORARY TABLE dose_flags AS SELECT id, flags FROM ({dose_flags_sql(doses, days)}) f {changed}"
    )
    db.exec_driver_sql("CREATE UNIQUE INDEX ix_dose_flags ON dose_flags (id)")
    if is_pg:
        db.exec_driver_sql("ANALYZE dose_flags")
    # A join, not a correlated subquery: without an index PostgreSQL would scan dose_flags once per row.
    n = db.exec_driver_sql("""UPDATE match_result SET flags = f.flags FROM dose_flags f
        WHERE f.id = match_result.dose_record_id AND match_result.flags <> f.flags""").rowcount
    db.exec_driver_sql("DROP TABLE dose_flags")
    if some:
        db.exec_driver_sql("DROP TABLE flag_doses")
    return int(n or 0)


def judge_staged_flags(db: Connection, duck: DuckDBPyConnection) -> None:
    """Dose-sequence flags (see `flag_dose_sequences`) of the batch's newly linked doses, judged together
    with the doses already linked to the same people; table `new_flags` (id, flags), and `all_flags`,
    whose earlier doses' changes `apply_flag_changes` writes. Reads only (a temporary table aside)."""
    duck.execute("""CREATE OR REPLACE TABLE linked_now AS
        SELECT dose_record_id AS id, citizen_id, vaccination_date, dose_number, true AS new
        FROM results WHERE citizen_id IS NOT NULL""")
    duck.register("earlier_doses", _earlier_doses(db, duck))
    doses = """SELECT id, citizen_id, vaccination_date, dose_number, new, NULL AS old_flags FROM linked_now
          UNION ALL
          SELECT id, citizen_id, vaccination_date, dose_number, false, flags FROM earlier_doses"""
    duck.execute(
        "CREATE OR REPLACE TABLE all_flags AS SELECT id, new, old_flags, flags FROM ("
        + dose_flags_sql(doses, lambda a, b: f"date_diff('day', {a}, {b})")
        + ")"
    )
    duck.unregister("earlier_doses")
    duck.execute("CREATE OR REPLACE TABLE new_flags AS SELECT id, flags FROM all_flags WHERE new")


def _earlier_doses(db: Connection, duck: DuckDBPyConnection) -> pa.Table:
    """The doses already linked to the people of `linked_now`, with their stored flags."""
    if not db.execute(text("SELECT 1 FROM match_result WHERE citizen_id IS NOT NULL LIMIT 1")).first():
        return _EARLIER_SCHEMA.empty_table()
    db.exec_driver_sql("DROP TABLE IF EXISTS flag_people")
    db.exec_driver_sql("CREATE TEMPORARY TABLE flag_people (citizen_id BIGINT PRIMARY KEY)")
    bulk.load_batches(
        db,
        "flag_people",
        duck.sql("SELECT DISTINCT citizen_id FROM linked_now").to_arrow_reader(200_000),
    )
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("ANALYZE flag_people")
    # On PostgreSQL through the indexes, the set's doses only (see `status.linked_doses_of`).
    doses = (
        f"""SELECT id, citizen_id, vaccination_date, dose_number, flags
        FROM ({linked_doses_of("SELECT citizen_id FROM flag_people")}) x"""
        if db.dialect.name == "postgresql"
        else f"""SELECT m.dose_record_id, m.citizen_id, d.vaccination_date, d.dose_number, m.flags
        FROM flag_people p JOIN match_result m ON m.citizen_id = p.citizen_id
        JOIN dose_record d ON d.id = m.dose_record_id
        WHERE d.is_latest AND m.outcome IN {LINKED_SQL}"""
    )
    with probes(db):
        before = query_arrow(db, doses, _EARLIER_SCHEMA)
    db.exec_driver_sql("DROP TABLE flag_people")
    return before


def apply_flag_changes(db: Connection, duck: DuckDBPyConnection) -> None:
    """Earlier doses whose flags `judge_staged_flags` changed are updated in place."""
    if int(duck.execute(f"SELECT count(*) {_CHANGED_EARLIER}").fetchall()[0][0]):
        db.exec_driver_sql("DROP TABLE IF EXISTS changed_flags")
        db.exec_driver_sql("CREATE TEMPORARY TABLE changed_flags (id BIGINT PRIMARY KEY, flags VARCHAR(200))")
        changed = duck.sql(f"SELECT id, flags {_CHANGED_EARLIER}")
        bulk.load_batches(db, "changed_flags", changed.to_arrow_reader(200_000))
        db.exec_driver_sql("""UPDATE match_result SET flags = f.flags FROM changed_flags f
            WHERE f.id = match_result.dose_record_id""")
        db.exec_driver_sql("DROP TABLE changed_flags")

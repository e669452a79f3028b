"""Each citizen's vaccination status (`citizen_status`), recomputed in SQL from the doses linked to them:
the rule of `vaxlink.domain.status`, set-based, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, bindparam, text

from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.domain.status import (
    DEFAULT_MIN_INTERVAL,
    DEFAULT_SERIES_LENGTH,
    INTERVAL_GRACE_DAYS,
    NOT_VACCINATED,
    PRIMARY_SERIES,
    ColourRules,
    VaccinationStatus,
    min_interval,
)
from vaxlink.storage import bulk
from vaxlink.storage.models import UtcDateTime, utcnow

# Room for the sorts and hash tables of a few million rows: the defaults (4 MB of work memory on
# PostgreSQL, a 2 MB page cache on SQLite) make these statements spill to disk or re-read pages.
WORK_MEM = "256MB"
SQLITE_CACHE_KIB = 262_144


@contextmanager
def bulk_memory(conn: Connection) -> Iterator[None]:
    """Raise the memory of the connection for one bulk statement group, then put it back."""
    if conn.dialect.name == "postgresql":
        old = conn.exec_driver_sql("SELECT current_setting('work_mem')").scalar_one()
        conn.exec_driver_sql(f"SELECT set_config('work_mem', '{WORK_MEM}', true)")
        try:
            yield
        finally:
            conn.exec_driver_sql("SELECT set_config('work_mem', %(v)s, true)", {"v": old})
        return
    old = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(old)}")


@contextmanager
def probes(conn: Connection) -> Iterator[None]:
    """For statements over a set of citizens, records or cases given by id (a batch's thousands, an
    action's few), on PostgreSQL: nested loops through the indexes, a probe per id, for the length of the
    group. Left to itself the planner hashed the set and read every row of the joined tables instead (all
    of citizen_status to count 10,000 citizens' cells), a cost that grows with the database instead of the
    set. Only for plain joins: a recursive query joining its own rows needs its hash joins."""
    if conn.dialect.name != "postgresql":
        yield
        return
    names = ("enable_hashjoin", "enable_mergejoin")
    old = {n: conn.exec_driver_sql(f"SELECT current_setting('{n}')").scalar_one() for n in names}
    for n in names:
        conn.exec_driver_sql(f"SELECT set_config('{n}', 'off', true)")
    try:
        yield
    finally:
        for n in names:
            conn.exec_driver_sql("SELECT set_config(%(n)s, %(v)s, true)", {"n": n, "v": old[n]})


def _series_values() -> str:
    # Codes come from the domain's own list (no user input); quoted as SQL literals all the same.
    rows = ", ".join(
        f"('{code.replace(chr(39), chr(39) * 2)}', {int(n)}, {int(min_interval(code))})"
        for code, n in PRIMARY_SERIES.items()
    )
    return f"series_length(vaccine_code, n, gap) AS (VALUES {rows})"


def linked_doses_of(citizen_ids_sql: str) -> str:
    """PostgreSQL: a SELECT of (id, citizen_id, vaccination_date, dose_number, vaccine_code, dose_kind,
    flags) of the latest linked doses of the citizens `citizen_ids_sql` selects, to be run under `probes`.

    The set is made an array first and looked up in one scan of the index on match_result's citizen, then
    dose_record's key probed per dose: as a join the planner hashed the set and read every linked dose to
    find theirs (for 10,000 citizens of a 1 M register), a cost that grows with the register instead of
    the set. At 200 k citizens: 0.26 s for 9,000 citizens' 22,000 doses, against 0.5 s for the join and
    1.7 s for a lookup per citizen."""
    return f"""SELECT m.dose_record_id AS id, m.citizen_id, d.vaccination_date, d.dose_number, d.vaccine_code,
          d.dose_kind, m.flags
        FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
        WHERE m.citizen_id = ANY(ARRAY({citizen_ids_sql})) AND m.outcome IN {LINKED_SQL} AND d.is_latest"""


def dose_days_select(citizen_ids_sql: str | None = None, doses: str | None = None) -> str:
    """SELECT citizen_id, day, need, gap, additional: each linked dose day of the citizens `citizen_ids_sql`
    selects (all when None), what the walk of `status_select` reads; with `doses`, from their rows of
    `linked_doses_of` (a table or a parenthesised query) instead."""
    if doses is None:
        touched = "" if citizen_ids_sql is None else f"AND m.citizen_id IN ({citizen_ids_sql})"
        source = f"""match_result m JOIN dose_record d ON d.id = m.dose_record_id
      LEFT JOIN series_length l ON l.vaccine_code = d.vaccine_code
      WHERE m.outcome IN {LINKED_SQL} AND d.is_latest AND d.vaccination_date IS NOT NULL
        AND m.citizen_id IS NOT NULL {touched}"""
        who = "m.citizen_id"
    else:
        source = f"""{doses} d LEFT JOIN series_length l ON l.vaccine_code = d.vaccine_code
      WHERE d.vaccination_date IS NOT NULL"""
        who = "d.citizen_id"
    return f"""WITH {_series_values()}
      SELECT {who}, d.vaccination_date AS day, max(coalesce(l.n, {DEFAULT_SERIES_LENGTH})) AS need,
        max(coalesce(l.gap, {DEFAULT_MIN_INTERVAL})) AS gap,
        min(CASE WHEN d.dose_kind = 'additional' THEN 1 ELSE 0 END) AS additional
      FROM {source}
      GROUP BY {who}, d.vaccination_date"""


def status_select(
    citizen_ids_sql: str | None = None, dialect: str = "sqlite", dose_days: str | None = None
) -> str:
    """SELECT citizen_id, doses, first_dose_date, last_dose_date, complete_date, boosters, status for the
    citizens `citizen_ids_sql` selects (all when None) that have at least one linked dose; with
    `dose_days`, a table of their rows of `dose_days_select` made beforehand, for those in it.

    The series is walked day by day (a recursive query, as the rule reads): a day counts when it comes at
    least the minimum interval after the last counted day, and the walk stops at completion."""
    # Dates subtract to days on PostgreSQL and DuckDB; SQLite keeps them as text.
    gap = "(julianday(r.day) - julianday(w.last_day))" if dialect == "sqlite" else "(r.day - w.last_day)"
    ok = f"{gap} >= w.last_gap - {INTERVAL_GRACE_DAYS}"
    need_now = "CASE WHEN r.need > w.need_so_far THEN r.need ELSE w.need_so_far END"
    days = (
        f"SELECT citizen_id, day, need, gap, additional FROM {dose_days}"
        if dose_days is not None
        else dose_days_select(citizen_ids_sql)
    )
    return f"""WITH RECURSIVE dose_day AS ({days}),
    ranked AS (
      SELECT citizen_id, day, need, gap, additional,
        row_number() OVER (PARTITION BY citizen_id ORDER BY day) AS k
      FROM dose_day),
    walk (citizen_id, k, last_day, last_gap, counted, need_so_far, complete_k) AS (
      SELECT citizen_id, k, day, gap, 1, need, CASE WHEN need <= 1 THEN k END FROM ranked WHERE k = 1
      UNION ALL
      SELECT w.citizen_id, r.k,
        CASE WHEN {ok} THEN r.day ELSE w.last_day END,
        CASE WHEN {ok} THEN r.gap ELSE w.last_gap END,
        CASE WHEN {ok} THEN w.counted + 1 ELSE w.counted END,
        CASE WHEN {ok} THEN {need_now} ELSE w.need_so_far END,
        CASE WHEN {ok} AND w.counted + 1 >= {need_now} THEN r.k END
      FROM walk w JOIN ranked r ON r.citizen_id = w.citizen_id AND r.k = w.k + 1
      WHERE w.complete_k IS NULL),
    done AS (SELECT citizen_id, min(complete_k) AS complete_k FROM walk GROUP BY citizen_id),
    summed AS (
      SELECT r.citizen_id, count(*) AS doses, min(r.day) AS first_dose_date, max(r.day) AS last_dose_date,
        max(x.complete_k) AS complete_k,
        sum(CASE WHEN r.k > x.complete_k AND r.additional = 0 THEN 1 ELSE 0 END) AS boosters
      FROM ranked r JOIN done x ON x.citizen_id = r.citizen_id GROUP BY r.citizen_id)
    SELECT s.citizen_id, s.doses, s.first_dose_date, s.last_dose_date, r.day AS complete_date,
      CASE WHEN s.complete_k IS NULL THEN 0 ELSE s.boosters END AS boosters,
      CASE WHEN s.complete_k IS NULL THEN 'partial' WHEN s.boosters > 0 THEN 'booster'
           ELSE 'complete' END AS status
    FROM summed s LEFT JOIN ranked r ON r.citizen_id = s.citizen_id AND r.k = s.complete_k"""


def refresh_status(conn: Connection, citizen_ids_sql: str | None = None) -> int:
    """Recompute the `citizen_status` rows of the citizens `citizen_ids_sql` selects (a SELECT returning
    citizen ids, e.g. "SELECT citizen_id FROM result_stage"), or of everyone when None.

    Only citizens with at least one linked dose have a row (no row means not vaccinated): those in the
    set without one lose theirs. Called after anything that changes links (ingest, re-examination, case
    actions, corrections). Flushes nothing of its own and never commits: it runs in the caller's
    transaction. Returns the number of rows written."""
    # The walk is not under `probes`: its recursive join over its own rows needs its hash join (forced into
    # nested loops, 10,000 citizens' statuses took 77 s at 1 M citizens instead of 1 s). For a set of
    # citizens, their dose days are read first, through the indexes (`linked_doses_of`): in the walk's
    # statement the planner hashed the set and read every linked dose of the register to find theirs.
    is_pg = conn.dialect.name == "postgresql"
    days = None
    if citizen_ids_sql is not None and is_pg:
        days = "status_dose_day"
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {days}")
        doses = f"({linked_doses_of(citizen_ids_sql)})"
        with probes(conn):
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {days} AS {dose_days_select(doses=doses)}")
        conn.exec_driver_sql(f"ANALYZE {days}")
    with bulk_memory(conn):
        if citizen_ids_sql is None:
            conn.exec_driver_sql("DELETE FROM citizen_status")
        else:
            with probes(conn):
                conn.exec_driver_sql(f"DELETE FROM citizen_status WHERE citizen_id IN ({citizen_ids_sql})")
        now = bindparam("now", utcnow(), type_=UtcDateTime)
        n = conn.execute(
            text(f"""INSERT INTO citizen_status (citizen_id, doses, first_dose_date, last_dose_date,
                complete_date, boosters, status, updated_at)
            SELECT citizen_id, doses, first_dose_date, last_dose_date, complete_date, boosters, status, :now
            FROM ({status_select(citizen_ids_sql, conn.dialect.name, days)}) x""").bindparams(now)
        ).rowcount
        if is_pg and citizen_ids_sql is None:
            conn.exec_driver_sql("ANALYZE citizen_status")
    if days is not None:
        conn.exec_driver_sql(f"DROP TABLE {days}")
    return int(n or 0)


def write_every_status(conn: Connection, duck: DuckDBPyConnection, doses: str) -> int:
    """Every citizen's status written into an empty `citizen_status`, computed in DuckDB from `doses` (a
    DuckDB table or parenthesised query in the shape of `linked_doses_of`) by the same statements as
    `refresh_status`, and loaded in one bulk load. For a first batch: all the doses the database links
    are its own and already in DuckDB, so the register-sized walk (13 s in PostgreSQL at 1 M citizens)
    runs where the rows are. Returns the number of rows written."""
    if conn.execute(text("SELECT 1 FROM citizen_status LIMIT 1")).first() is not None:
        raise ValueError("write_every_status writes into an empty citizen_status only")
    duck.execute(f"CREATE OR REPLACE TEMP TABLE status_dose_day AS {dose_days_select(doses=doses)}")
    reader = duck.sql(f"""SELECT CAST(citizen_id AS BIGINT) AS citizen_id, CAST(doses AS INTEGER) AS doses,
          first_dose_date, last_dose_date, complete_date, CAST(boosters AS INTEGER) AS boosters, status
        FROM ({status_select(None, "duckdb", "status_dose_day")}) x ORDER BY citizen_id""").to_arrow_reader(
        200_000
    )
    n = bulk.load_batches(conn, "citizen_status", reader, constants={"updated_at": utcnow()})
    duck.execute("DROP TABLE status_dose_day")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE citizen_status")
    return n


def _as_date(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def status_of(conn: Connection, citizen_id: int) -> VaccinationStatus:
    """The stored status of one citizen (not vaccinated when there is no row)."""
    row = conn.execute(
        text("""SELECT doses, first_dose_date, last_dose_date, complete_date, boosters
        FROM citizen_status WHERE citizen_id = :c"""),
        {"c": citizen_id},
    ).first()
    if row is None:
        return NOT_VACCINATED
    return VaccinationStatus(
        doses=int(row[0]),
        first_dose_date=_as_date(row[1]),
        last_dose_date=_as_date(row[2]),
        complete_date=_as_date(row[3]),
        boosters=int(row[4]),
    )


def colour_of(
    conn: Connection, citizen_id: int, rules: ColourRules, province_code: str | None, today: date
) -> str:
    """The colour a verifier sees for one citizen under the province's rule."""
    return rules.for_province(province_code).colour(status_of(conn, citizen_id), today).value

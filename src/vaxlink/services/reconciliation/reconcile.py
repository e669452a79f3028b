"""Reconcile dose records against the register: match a chosen set of records and store the outcome.

Used by the ingest (the new batch's records) and after a register change (the records it can affect).
Stored outcomes of records a person has already settled (`confirmed`) are never touched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, bindparam, text
from sqlalchemy.orm import Session

from vaxlink.matching import normalise, register_store
from vaxlink.matching.prepare import prepare_records, prepare_register
from vaxlink.matching.run import RunStats, run_matching
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.figures.refresh import refresh_statistics
from vaxlink.services.figures.status import linked_doses_of, probes
from vaxlink.services.reconciliation.match_parameters import current_spec
from vaxlink.settings import Settings
from vaxlink.storage import bulk
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import UtcDateTime, utcnow
from vaxlink.storage.register_log import RegisterVersion, changed_since, current_version

Progress = Callable[[str, int, int | None], None]
CASE_DUE = timedelta(days=7)
# Shortest plausible gap between two doses of one person (the shortest schedule, Abdala, is 14 days).
MIN_DOSE_INTERVAL_DAYS = 14

REGISTER_SCHEMA = pa.schema(
    [
        ("citizen_id", pa.int64()),
        ("personal_id", pa.string()),
        ("full_name", pa.string()),
        ("birth_date", pa.date32()),
        ("birth_precision", pa.string()),
        ("birth_year", pa.int32()),
        ("sex", pa.string()),
        ("current_ward_code", pa.string()),
        ("current_units", pa.string()),
        ("permanent_ward_code", pa.string()),
        ("phone", pa.string()),
        ("household_id", pa.string()),
        ("address", pa.string()),
    ]
)
RECORD_SCHEMA = pa.schema(
    [
        ("rec_id", pa.int64()),
        ("full_name", pa.string()),
        ("date_of_birth", pa.string()),
        ("sex", pa.string()),
        ("id_number", pa.string()),
        ("phone", pa.string()),
        ("ward_code", pa.string()),
        ("address", pa.string()),
    ]
)
RESULT_STAGE = (
    ("dose_record_id", "BIGINT"),
    ("outcome", "VARCHAR(10)"),
    ("citizen_id", "BIGINT"),
    ("candidate_citizen_id", "BIGINT"),
    ("score", "DOUBLE PRECISION"),
    ("reasons", "VARCHAR(400)"),
    ("blame", "VARCHAR(10)"),
    ("candidates", "TEXT"),
    ("person_key", "VARCHAR(40)"),
)

# The health identity of each matched record, as a key that names the person in this run: the smallest
# dose record id of its group (`group_identities`). Open cases sharing it are one person's.
PERSON_KEY_SQL = """SELECT m.rec_id, 'r' || CAST(min(m.rec_id) OVER (PARTITION BY i.group_id) AS VARCHAR) AS person_key
    FROM rec_map m JOIN rec_ident i USING (ident_id)"""


_REGISTER_SQL = """SELECT id, personal_id, full_name, birth_date, birth_precision, birth_year, sex,
        current_ward_code, current_units, permanent_ward_code, phone, household_id, address
        FROM citizen WHERE status = 'active'"""
ALIAS_SCHEMA = pa.schema([("citizen_id", pa.int64()), ("alias", pa.string()), ("kind", pa.string())])


@dataclass
class RegisterLoad:
    """How the register reached the matcher: `stored` (read in part from the prepared register kept in
    the work directory), `patched` (the kept one with the changed citizens prepared again), `built`
    (prepared whole from the database)."""

    how: str
    citizens: int  # in the register
    read: int  # of them read for this batch
    seconds: float


def load_register(
    conn: Connection,
    con: DuckDBPyConnection,
    settings: Settings | None = None,
    spec: MatchSpec | None = None,
) -> RegisterLoad:
    """The register prepared for matching in `con` (`reg`, `reg_alias`, `reg_size`, and `reg_home`: where
    each citizen lives now, the ward whose worklist gets a record in doubt about them).

    With `settings` and `spec`, and the batch's identities already in `rec_ident`, the prepared register
    is kept in the work directory between batches and only the citizens the batch can reach are read from
    it (`matching/register_store.py`); it is brought up to date first when the register has changed since
    (its changed citizens prepared again, or the whole of it after an import). The outcomes are the same
    either way. Without them, the whole register is prepared from the database."""
    started = time.perf_counter()
    if settings is None or spec is None:
        _build_register(conn, con)
        return RegisterLoad("built", _count(con, "reg"), _count(con, "reg"), time.perf_counter() - started)
    # Read before the citizens: a change committed in between is seen as a newer version next time.
    version = current_version(conn)
    base = settings.work_dir / "register"
    digest = register_store.prepare_digest(spec)
    stored = register_store.find(base, digest, (version.version, version.token))
    if stored is not None:
        read = register_store.load_reached(con, stored, spec)
        return RegisterLoad("stored", stored.citizens, read, time.perf_counter() - started)
    older = register_store.find(base, digest)
    changed = None
    if older is not None:
        changed = changed_since(conn, RegisterVersion(older.version, older.token))
    if older is not None and changed is not None:
        _patch_register(conn, con, older, changed)
        how = "patched"
    else:
        _build_register(conn, con)
        how = "built"
    stored = register_store.save(con, base, digest, version.version, version.token)
    # The whole register is at hand: this batch is matched against all of it.
    return RegisterLoad(how, stored.citizens, stored.citizens, time.perf_counter() - started)


def _count(con: DuckDBPyConnection, table: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _build_register(conn: Connection, con: DuckDBPyConnection) -> None:
    """Copy the active register and its aliases into DuckDB and prepare them whole."""
    reg = query_arrow(conn, _REGISTER_SQL, REGISTER_SCHEMA)
    aliases = query_arrow(conn, "SELECT citizen_id, alias, kind FROM citizen_alias", ALIAS_SCHEMA)
    con.register("register_in", reg)
    con.register("alias_in", aliases)
    prepare_register(con, "register_in", "alias_in")
    con.execute(
        "CREATE OR REPLACE TABLE reg_home AS SELECT citizen_id, current_ward_code AS ward, current_units AS units "
        "FROM register_in"
    )
    con.unregister("register_in")
    con.unregister("alias_in")


def _patch_register(
    conn: Connection, con: DuckDBPyConnection, stored: register_store.Stored, changed: list[int]
) -> None:
    """The kept register with the rows of the `changed` citizens read again from the database."""
    # At most `register_log.PATCH_LIMIT` numbers, written into the queries: both backends take the list.
    ids = ", ".join(str(int(c)) for c in changed) or "NULL"
    reg = query_arrow(conn, f"{_REGISTER_SQL} AND id IN ({ids})", REGISTER_SCHEMA)
    aliases = query_arrow(
        conn, f"SELECT citizen_id, alias, kind FROM citizen_alias WHERE citizen_id IN ({ids})", ALIAS_SCHEMA
    )
    con.register("register_in", reg)
    con.register("alias_in", aliases)
    con.register("changed_in", pa.table({"citizen_id": pa.array(changed, pa.int64())}))
    con.execute(
        "CREATE OR REPLACE TABLE changed_home AS SELECT citizen_id, current_ward_code AS ward, "
        "current_units AS units FROM register_in"
    )
    register_store.patch(
        con, stored, "SELECT citizen_id FROM changed_in", "register_in", "alias_in", "changed_home"
    )
    for view in ("register_in", "alias_in", "changed_in"):
        con.unregister(view)
    con.execute("DROP TABLE changed_home")


def match_records(
    conn: Connection,
    con: DuckDBPyConnection,
    where: str,
    spec: MatchSpec,
    note: Progress | None = None,
    settings: Settings | None = None,
) -> RunStats:
    """Match the latest usable dose records selected by `where` (SQL over `dose_record d`) and store results."""
    records = query_arrow(
        conn,
        f"""SELECT d.id, d.full_name, d.date_of_birth, d.sex, d.id_number, d.phone,
        d.ward_code, d.address FROM dose_record d LEFT JOIN match_result m ON m.dose_record_id = d.id
        WHERE d.is_latest AND d.problems IS NULL AND coalesce(m.outcome, '') <> 'confirmed' AND ({where})""",
        RECORD_SCHEMA,
    )
    con.register("records_in", records)
    prepare_records(con, "records_in")
    con.unregister("records_in")
    loaded = load_register(conn, con, settings, spec)
    if settings is None:
        stats = run_matching(con, spec, progress=note)
    else:
        stats = run_matching(con, spec, engine=settings.engine, work_dir=settings.work_dir, progress=note)
    stats.register = asdict(loaded)
    _store_results(conn, con, spec)
    return stats


def _store_results(conn: Connection, con: DuckDBPyConnection, spec: MatchSpec) -> None:
    """Replace the match results of the matched records, settle or open their ward cases, check dose sequences."""
    is_pg = conn.dialect.name == "postgresql"
    double = "DOUBLE PRECISION" if is_pg else "REAL"
    conn.exec_driver_sql("DROP TABLE IF EXISTS result_stage")
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE result_stage ("
        + ", ".join(f"{c} {t.replace('DOUBLE PRECISION', double)}" for c, t in RESULT_STAGE)
        + ")"
    )
    reader = con.sql(
        """
        SELECT m.rec_id AS dose_record_id, c.outcome,
               CASE WHEN c.outcome = 'linked' THEN c.best_citizen_id END AS citizen_id,
               CASE WHEN c.outcome <> 'linked' THEN c.best_citizen_id END AS candidate_citizen_id,
               CASE WHEN c.best_weight IS NULL THEN 0.0 ELSE 1.0 - c.wrong_link END AS score,
               c.reasons, CASE WHEN c.outcome = 'linked' AND c.reasons <> '' THEN c.blame END AS blame,
               CASE WHEN c.outcome <> 'linked' THEN k.candidates END AS candidates,
               CASE WHEN c.outcome <> 'linked' THEN pk.person_key END AS person_key
        FROM rec_map m JOIN classified c USING (ident_id)
        LEFT JOIN ("""
        + PERSON_KEY_SQL
        + """) pk ON pk.rec_id = m.rec_id
        LEFT JOIN (
          -- The ranked candidates a ward officer sees for a record in doubt, with each field's level.
          SELECT ident_id, CAST(to_json({'candidates': list({'citizen_id': citizen_id, 'weight': round(weight, 2),
                 'id': id_level, 'name': name_level, 'dob': dob_level, 'sex': sex_level, 'ward': ward_level,
                 'address': address_level, 'phone': phone_level, 'borrowed': borrowed,
                 'weights': {'prior': round(w_prior, 2), 'id': round(w_id, 2), 'name': round(w_name, 2),
                   'dob': round(w_dob, 2), 'sex': round(w_sex, 2), 'ward': round(w_ward, 2),
                   'address': round(w_address, 2), 'phone': round(w_phone, 2)}} ORDER BY rank)}) AS VARCHAR) AS candidates
          FROM ranked WHERE rank <= 3 GROUP BY ident_id) k USING (ident_id)
        ORDER BY m.rec_id"""
    ).to_arrow_reader(200_000)
    bulk.load_batches(conn, "result_stage", reader)
    conn.exec_driver_sql("CREATE UNIQUE INDEX ix_result_stage ON result_stage (dose_record_id)")
    if is_pg:
        conn.exec_driver_sql("ANALYZE result_stage")
    now = bindparam("now", utcnow(), type_=UtcDateTime)
    # A record now linked needs no officer: its open case closes by itself.
    conn.execute(
        text("""UPDATE work_case SET status = 'closed', resolution = 'auto_linked', closed_at = :now,
            version = version + 1
        WHERE status = 'open' AND dose_record_id IN (
          SELECT dose_record_id FROM result_stage WHERE outcome = 'linked')""").bindparams(now)
    )
    # The citizens whose doses these results can move: linked before (a link may drop to review) or now.
    conn.exec_driver_sql("DROP TABLE IF EXISTS relinked_citizen")
    conn.exec_driver_sql("CREATE TEMPORARY TABLE relinked_citizen (citizen_id BIGINT PRIMARY KEY)")
    conn.exec_driver_sql("""INSERT INTO relinked_citizen (citizen_id)
        SELECT citizen_id FROM match_result
        WHERE citizen_id IS NOT NULL AND dose_record_id IN (SELECT dose_record_id FROM result_stage)
        UNION
        SELECT citizen_id FROM result_stage WHERE citizen_id IS NOT NULL""")
    if is_pg:
        conn.exec_driver_sql("ANALYZE relinked_citizen")
    conn.exec_driver_sql(
        "DELETE FROM match_result WHERE dose_record_id IN (SELECT dose_record_id FROM result_stage)"
    )
    conn.execute(
        text("""INSERT INTO match_result (dose_record_id, outcome, citizen_id, candidate_citizen_id, score,
            reasons, flags, blame, ward_code, ward_units, spec_version, decided_at, version)
        SELECT s.dose_record_id, s.outcome, s.citizen_id, s.candidate_citizen_id, s.score, s.reasons, '', s.blame,
            CASE WHEN s.outcome IN ('review', 'unmatched') THEN coalesce(c.current_ward_code, w.code) END,
            CASE WHEN s.outcome IN ('review', 'unmatched') THEN coalesce(c.current_units, w.structure) END,
            :v, :now, 1
        FROM result_stage s
        JOIN dose_record d ON d.id = s.dose_record_id
        LEFT JOIN citizen c ON c.id = s.candidate_citizen_id
        LEFT JOIN admin_unit w ON w.structure = coalesce(d.ward_units, 'legacy') AND w.level = 'ward'
          AND w.code = d.ward_code""").bindparams(now),
        {"v": spec.version},
    )
    due = bindparam("due", utcnow() + CASE_DUE, type_=UtcDateTime)
    details = "CAST(s.candidates AS JSON)" if is_pg else "s.candidates"
    conn.execute(
        text(f"""INSERT INTO work_case (kind, status, priority, ward_code, ward_units, province_code,
            dose_record_id, citizen_id, details, person_key, created_at, due_at, version)
        SELECT CASE WHEN m.outcome = 'review' THEN 'conflict' ELSE 'unmatched' END, 'open',
            CASE WHEN m.outcome = 'review' THEN 2 ELSE 1 END, m.ward_code, coalesce(m.ward_units, 'legacy'),
            coalesce(u.province_code, (SELECT p.code FROM admin_unit p WHERE p.structure = 'legacy'
              AND p.level = 'province' AND p.code = {id_province_sql_backend(is_pg, "d.id_number")})),
            m.dose_record_id, m.candidate_citizen_id, {details}, s.person_key, :now, :due, 1
        FROM result_stage s JOIN match_result m ON m.dose_record_id = s.dose_record_id
        JOIN dose_record d ON d.id = s.dose_record_id
        LEFT JOIN admin_unit u ON u.structure = m.ward_units AND u.level = 'ward' AND u.code = m.ward_code
        WHERE m.outcome IN ('review', 'unmatched') AND NOT EXISTS (
          SELECT 1 FROM work_case k WHERE k.dose_record_id = m.dose_record_id AND k.status <> 'closed')""").bindparams(
            now, due
        )
    )
    conn.exec_driver_sql("DROP TABLE result_stage")
    # The aftermath (flags, status, certificates) for everyone touched, those who lost a dose as well as
    # those who gained one, follows in the caller with `relinked_citizen`; the caller drops it.


def id_province_sql_backend(is_pg: bool, id_number: str) -> str:
    """`id_province_sql` on SQLite or PostgreSQL (the id as typed; separators are rare in stored ids)."""
    digits = f"coalesce({id_number}, '')"
    return f"""(CASE WHEN length({digits}) = 12 AND substr({digits}, 1, 1) = '0' THEN substr({digits}, 2, 2)
        WHEN length({digits}) = 11 THEN substr({digits}, 1, 2) END)"""


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


def flag_dose_sequences(conn: Connection, citizens_sql: str | None = None) -> int:
    """Check the linked doses of the citizens `citizens_sql` selects (all when None) and store their flags
    (see `dose_flags_sql`)."""
    is_pg = conn.dialect.name == "postgresql"

    def days(a: str, b: str) -> str:
        return f"({b} - {a})" if is_pg else f"(julianday({b}) - julianday({a}))"

    touched = "" if citizens_sql is None else f"AND m.citizen_id IN ({citizens_sql})"
    doses = f"""SELECT m.dose_record_id AS id, m.citizen_id, d.vaccination_date, d.dose_number
          FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
          WHERE d.is_latest AND m.outcome IN ('linked', 'confirmed') {touched}"""
    some = citizens_sql is not None and is_pg
    if some:
        # The set's doses first, through the indexes (see `status.linked_doses_of`): under the window
        # functions the planner read every linked dose of the register to find the set's.
        conn.exec_driver_sql("DROP TABLE IF EXISTS flag_doses")
        with probes(conn):
            conn.exec_driver_sql(f"CREATE TEMPORARY TABLE flag_doses AS {linked_doses_of(str(citizens_sql))}")
        conn.exec_driver_sql("ANALYZE flag_doses")
        doses = "SELECT id, citizen_id, vaccination_date, dose_number, flags AS old_flags FROM flag_doses"
    conn.exec_driver_sql("DROP TABLE IF EXISTS dose_flags")
    # For a set, only the doses whose flags change are kept, so that the UPDATE below probes match_result's
    # key for those few rather than joining all of it.
    changed = "WHERE f.flags <> f.old_flags" if some else ""
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE dose_flags AS SELECT id, flags FROM ({dose_flags_sql(doses, days)}) f {changed}"
    )
    conn.exec_driver_sql("CREATE UNIQUE INDEX ix_dose_flags ON dose_flags (id)")
    if is_pg:
        conn.exec_driver_sql("ANALYZE dose_flags")
    # A join, not a correlated subquery: without an index PostgreSQL would scan dose_flags once per row.
    n = conn.exec_driver_sql("""UPDATE match_result SET flags = f.flags FROM dose_flags f
        WHERE f.id = match_result.dose_record_id AND match_result.flags <> f.flags""").rowcount
    conn.exec_driver_sql("DROP TABLE dose_flags")
    if some:
        conn.exec_driver_sql("DROP TABLE flag_doses")
    return int(n or 0)


@dataclass
class ReexamineResult:
    records: int
    outcomes: dict[str, int]


def reexamine_after_import(
    session: Session,
    settings: Settings,
    import_id: int,
    spec: MatchSpec | None = None,
    progress: Progress | None = None,
) -> ReexamineResult:
    """After a register import: match again the records it can affect, and only those: every record still
    waiting (review / unmatched), and the automatic links of citizens the import changed."""
    spec = spec or current_spec(settings)
    conn = session.connection()
    where = f"""m.outcome IN ('review', 'unmatched') OR (m.outcome = 'linked' AND m.citizen_id IN (
        SELECT id FROM citizen WHERE last_import_id = {int(import_id)}))
        OR (m.outcome IS NULL)"""
    # Cases an officer has taken in hand are left to the officer.
    where = (
        f"({where}) AND NOT EXISTS (SELECT 1 FROM work_case k WHERE k.dose_record_id = d.id "
        "AND k.status <> 'closed' AND k.assigned_to IS NOT NULL)"
    )
    con = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        stats = match_records(conn, con, where, spec, progress, settings)
        outcomes = dict(
            con.execute(
                "SELECT outcome, count(*) FROM rec_map JOIN classified USING (ident_id) GROUP BY 1"
            ).fetchall()
        )
    finally:
        con.close()
    # The one aftermath of moved links; its module builds on the case services, which build on this one.
    from vaxlink.services.reconciliation.aftermath import after_links_moved

    after_links_moved(session, settings, "SELECT citizen_id FROM relinked_citizen", actor="register-import")
    conn.exec_driver_sql("DROP TABLE relinked_citizen")
    # Citizens moved, links and cases changed: the figures follow in the same transaction, as after an
    # ingest, so that a register import alone leaves them current.
    refresh_statistics(conn)
    session.flush()
    return ReexamineResult(
        int(sum(outcomes.values())) if outcomes else stats.identities,
        {str(k): int(v) for k, v in outcomes.items()},
    )


# --- a new batch: everything decided in DuckDB, written once ----------------------------------------

RESULT_COLUMNS = (
    "dose_record_id",
    "outcome",
    "citizen_id",
    "candidate_citizen_id",
    "score",
    "reasons",
    "flags",
    "blame",
    "ward_code",
    "ward_units",
    "spec_version",
    "decided_at",
    "version",
)
CASE_COLUMNS = (
    "kind",
    "status",
    "priority",
    "ward_code",
    "ward_units",
    "province_code",
    "dose_record_id",
    "citizen_id",
    "details",
    "person_key",
    "created_at",
    "due_at",
    "version",
)


def match_new_records(
    conn: Connection,
    con: DuckDBPyConnection,
    settings: Settings,
    spec: MatchSpec,
    note: Progress | None = None,
) -> RunStats:
    """Match a new batch whose rows DuckDB holds in `staged` (as just written to dose_record), then write
    their match results, cases and dose-sequence flags with one bulk load each.

    New records have no stored result or case yet, so nothing is deleted or compared row by row; only the
    flags of earlier doses of the same people can change, and those few are updated."""
    stats = match_staged(conn, con, settings, spec, note)
    store_staged_matches(conn, con, spec)
    return stats


def match_staged(
    conn: Connection,
    con: DuckDBPyConnection,
    settings: Settings,
    spec: MatchSpec,
    note: Progress | None = None,
) -> RunStats:
    """The matching of `staged` against the register into DuckDB's table `results`: reads only, so that it
    can run before the ingest's transaction writes anything."""
    con.execute("""CREATE OR REPLACE VIEW records_in AS
        SELECT id AS rec_id, full_name, date_of_birth, sex, id_number, phone, ward_code, address
        FROM staged WHERE is_latest AND problems IS NULL""")
    prepare_records(con, "records_in")
    loaded = load_register(conn, con, settings, spec)
    stats = run_matching(con, spec, engine=settings.engine, work_dir=settings.work_dir, progress=note)
    stats.register = asdict(loaded)
    _load_ward_units(conn, con)
    con.execute(
        """CREATE OR REPLACE TABLE results AS
        SELECT m.rec_id AS dose_record_id, c.outcome,
               CASE WHEN c.outcome = 'linked' THEN c.best_citizen_id END AS citizen_id,
               CASE WHEN c.outcome <> 'linked' THEN c.best_citizen_id END AS candidate_citizen_id,
               CASE WHEN c.best_weight IS NULL THEN 0.0 ELSE 1.0 - c.wrong_link END AS score,
               c.reasons, CASE WHEN c.outcome = 'linked' AND c.reasons <> '' THEN c.blame END AS blame,
               CASE WHEN c.outcome <> 'linked' THEN coalesce(h.ward, w.code) END AS ward_code,
               CASE WHEN c.outcome <> 'linked' THEN CASE WHEN h.ward IS NOT NULL THEN h.units ELSE w.structure END
                    END AS ward_units,
               d.vaccination_date, d.dose_number
        FROM rec_map m JOIN classified c USING (ident_id)
        JOIN staged d ON d.id = m.rec_id
        LEFT JOIN reg_home h ON h.citizen_id = c.best_citizen_id
        LEFT JOIN ward_units w ON w.structure = d.ward_units AND w.code = d.ward_code
        UNION ALL
        SELECT id, 'rejected', NULL, NULL, NULL, problems, NULL, NULL, NULL, NULL, NULL
        FROM staged WHERE is_latest AND problems IS NOT NULL"""
    )
    return stats


def store_staged_matches(
    conn: Connection, con: DuckDBPyConnection, spec: MatchSpec, *, results_stored: bool = False
) -> None:
    """Write `results` (from `match_staged`): dose-sequence flags, match results, cases.

    `results_stored`: the flags were judged (`judge_staged_flags`), the cases prepared
    (`prepare_staged_cases`) and the match results written (`staged_results`) beforehand, in short
    transactions of their own; what is left is the earlier doses' changed flags and the cases, which must
    appear with the batch's last transaction."""
    now = utcnow()
    if not results_stored:
        judge_staged_flags(conn, con)
        prepare_staged_cases(conn, con, now)
    _apply_flag_changes(conn, con)
    if not results_stored:
        bulk.load_batches(conn, "match_result", staged_results(conn, con, spec, now))
    _open_cases(conn, con)


def staged_results(
    conn: Connection,
    con: DuckDBPyConnection,
    spec: MatchSpec,
    decided_at: datetime,
    ids: tuple[int, int] | None = None,
) -> pa.RecordBatchReader:
    """The match_result rows of `results` (flags from `judge_staged_flags`), those of dose record ids
    `ids` (first, last) only when given."""
    cols = ", ".join(RESULT_COLUMNS)
    where = "" if ids is None else f"WHERE r.dose_record_id BETWEEN {int(ids[0])} AND {int(ids[1])}"
    return con.sql(
        f"""SELECT {cols} FROM (
          SELECT r.* EXCLUDE (vaccination_date, dose_number), coalesce(f.flags, '') AS flags, ? AS spec_version,
                 ? AS decided_at, 1 AS version
          FROM results r LEFT JOIN new_flags f ON f.id = r.dose_record_id {where}) ORDER BY dose_record_id""",
        params=[spec.version, _stamp(conn, decided_at)],
    ).to_arrow_reader(200_000)


def _stamp(conn: Connection, at: datetime) -> str:
    # The text each backend keeps for a UtcDateTime (SQLite: naive UTC, as the type stores it).
    return (
        at.isoformat(sep=" ") if conn.dialect.name == "postgresql" else at.replace(tzinfo=None).isoformat(" ")
    )


def _load_ward_units(conn: Connection, con: DuckDBPyConnection) -> None:
    wards = query_arrow(
        conn,
        "SELECT structure, code, province_code FROM admin_unit WHERE level = 'ward'",
        pa.schema([("structure", pa.string()), ("code", pa.string()), ("province_code", pa.string())]),
    )
    con.register("ward_units_in", wards)
    con.execute("CREATE OR REPLACE TABLE ward_units AS SELECT * FROM ward_units_in")
    con.unregister("ward_units_in")
    # The legacy provinces' names, for the province queue of a record whose address names one.
    provinces = query_arrow(
        conn,
        "SELECT level, code, province_code, name FROM admin_unit WHERE level = 'province' AND structure = 'legacy'",
        pa.schema(
            [
                ("level", pa.string()),
                ("code", pa.string()),
                ("province_code", pa.string()),
                ("name", pa.string()),
            ]
        ),
    )
    con.register("province_in", provinces)
    con.execute("CREATE OR REPLACE TABLE ward_units_names AS SELECT * FROM province_in")
    con.unregister("province_in")


def judge_staged_flags(conn: Connection, con: DuckDBPyConnection) -> None:
    """Dose-sequence flags (see `flag_dose_sequences`) of the batch's newly linked doses, judged together
    with the doses already linked to the same people; table `new_flags` (id, flags), and `all_flags`,
    whose earlier doses' changes `_apply_flag_changes` writes. Reads only (a temporary table aside)."""
    con.execute("""CREATE OR REPLACE TABLE linked_now AS
        SELECT dose_record_id AS id, citizen_id, vaccination_date, dose_number, true AS new
        FROM results WHERE citizen_id IS NOT NULL""")
    earlier = pa.schema(
        [
            ("id", pa.int64()),
            ("citizen_id", pa.int64()),
            ("vaccination_date", pa.date32()),
            ("dose_number", pa.int32()),
            ("flags", pa.string()),
        ]
    )
    before = earlier.empty_table()
    if conn.execute(text("SELECT 1 FROM match_result WHERE citizen_id IS NOT NULL LIMIT 1")).first():
        conn.exec_driver_sql("DROP TABLE IF EXISTS flag_people")
        conn.exec_driver_sql("CREATE TEMPORARY TABLE flag_people (citizen_id BIGINT PRIMARY KEY)")
        bulk.load_batches(
            conn,
            "flag_people",
            con.sql("SELECT DISTINCT citizen_id FROM linked_now").to_arrow_reader(200_000),
        )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE flag_people")
        # On PostgreSQL through the indexes, the set's doses only (see `status.linked_doses_of`).
        doses = (
            f"""SELECT id, citizen_id, vaccination_date, dose_number, flags
            FROM ({linked_doses_of("SELECT citizen_id FROM flag_people")}) x"""
            if conn.dialect.name == "postgresql"
            else """SELECT m.dose_record_id, m.citizen_id, d.vaccination_date, d.dose_number, m.flags
            FROM flag_people p JOIN match_result m ON m.citizen_id = p.citizen_id
            JOIN dose_record d ON d.id = m.dose_record_id
            WHERE d.is_latest AND m.outcome IN ('linked', 'confirmed')"""
        )
        with probes(conn):
            before = query_arrow(conn, doses, earlier)
        conn.exec_driver_sql("DROP TABLE flag_people")
    con.register("earlier_doses", before)
    doses = """SELECT id, citizen_id, vaccination_date, dose_number, new, NULL AS old_flags FROM linked_now
          UNION ALL
          SELECT id, citizen_id, vaccination_date, dose_number, false, flags FROM earlier_doses"""
    con.execute(
        "CREATE OR REPLACE TABLE all_flags AS SELECT id, new, old_flags, flags FROM ("
        + dose_flags_sql(doses, lambda a, b: f"date_diff('day', {a}, {b})")
        + ")"
    )
    con.unregister("earlier_doses")
    con.execute("CREATE OR REPLACE TABLE new_flags AS SELECT id, flags FROM all_flags WHERE new")


def _apply_flag_changes(conn: Connection, con: DuckDBPyConnection) -> None:
    """Earlier doses whose flags `judge_staged_flags` changed are updated in place."""
    changed = con.sql("SELECT id, flags FROM all_flags WHERE NOT new AND flags <> coalesce(old_flags, '')")
    if int(
        con.execute(
            "SELECT count(*) FROM all_flags WHERE NOT new AND flags <> coalesce(old_flags, '')"
        ).fetchall()[0][0]
    ):
        conn.exec_driver_sql("DROP TABLE IF EXISTS changed_flags")
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE changed_flags (id BIGINT PRIMARY KEY, flags VARCHAR(200))"
        )
        bulk.load_batches(conn, "changed_flags", changed.to_arrow_reader(200_000))
        conn.exec_driver_sql("""UPDATE match_result SET flags = f.flags FROM changed_flags f
            WHERE f.id = match_result.dose_record_id""")
        conn.exec_driver_sql("DROP TABLE changed_flags")


def id_province_sql(id_number: str) -> str:
    """The legacy province a 12-digit personal id (or one that lost its leading zero) was registered in:
    its prefix 001-096 is the province's code with a leading zero (Decree 137/2015); NULL otherwise."""
    digits = f"regexp_replace(coalesce({id_number}, ''), '[^0-9]', '', 'g')"
    return f"""CASE WHEN length({digits}) = 12 AND substr({digits}, 1, 1) = '0' THEN substr({digits}, 2, 2)
        WHEN length({digits}) = 11 THEN substr({digits}, 1, 2) END"""


def _fallback_desks(con: DuckDBPyConnection) -> None:
    """Table `fallback_desk` (id, province_code): the province queue of each open record no ward could be
    told for, so that every open case has a desk. In order: the province the record's address names, the
    province of the personal id it carries, the province most of the batch's routed records belong to."""
    con.execute("""CREATE OR REPLACE TABLE province_names AS
        SELECT DISTINCT province_code,
          trim(regexp_replace(lower(strip_accents(replace(replace(name, 'đ', 'd'), 'Đ', 'D'))),
               '^(tinh|thanh pho) ', '')) AS folded
        FROM ward_units_names WHERE level = 'province'""")
    con.execute(f"""CREATE OR REPLACE TABLE fallback_desk AS
        WITH open_rec AS (
          SELECT r.dose_record_id AS id, d.address, d.id_number FROM results r JOIN staged d ON d.id = r.dose_record_id
          LEFT JOIN ward_units u ON u.structure = r.ward_units AND u.code = r.ward_code
          WHERE r.outcome IN ('review', 'unmatched') AND u.code IS NULL),
        by_address AS (
          SELECT o.id, min(p.province_code) AS province_code, count(DISTINCT p.province_code) AS n
          FROM open_rec o JOIN province_names p
            ON contains(lower(strip_accents(replace(replace(o.address, 'đ', 'd'), 'Đ', 'D'))), p.folded)
          GROUP BY o.id),
        by_id AS (
          SELECT o.id, p.province_code FROM open_rec o
          JOIN (SELECT DISTINCT province_code FROM province_names) p ON p.province_code = {id_province_sql("o.id_number")}),
        batch_home AS (
          SELECT u.province_code FROM results r JOIN ward_units u ON u.structure = r.ward_units AND u.code = r.ward_code
          GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1)
        SELECT o.id, coalesce(CASE WHEN a.n = 1 THEN a.province_code END, i.province_code,
                              (SELECT province_code FROM batch_home)) AS province_code
        FROM open_rec o LEFT JOIN by_address a ON a.id = o.id LEFT JOIN by_id i ON i.id = o.id""")


def _open_cases(conn: Connection, con: DuckDBPyConnection) -> None:
    """A ward case for each record in doubt (review) or without a citizen (unmatched): the rows of
    `prepare_staged_cases`."""
    reader = con.sql("SELECT * FROM case_rows ORDER BY dose_record_id").to_arrow_reader(200_000)
    bulk.load_batches(conn, "work_case", reader)


def prepare_staged_cases(conn: Connection, con: DuckDBPyConnection, now: datetime) -> None:
    """DuckDB's table `case_rows`: the cases to open, with the ranked candidates the officer will see,
    made before the transaction that writes them (`conn` only tells the backend's timestamp form)."""
    _fallback_desks(con)
    cols = ", ".join(CASE_COLUMNS)
    con.execute(
        f"""CREATE OR REPLACE TABLE case_rows AS SELECT {cols} FROM (
          SELECT CASE WHEN r.outcome = 'review' THEN 'conflict' ELSE 'unmatched' END AS kind, 'open' AS status,
                 CASE WHEN r.outcome = 'review' THEN 2 ELSE 1 END AS priority, r.ward_code,
                 coalesce(r.ward_units, 'legacy') AS ward_units,
                 CASE WHEN u.code IS NOT NULL THEN u.province_code ELSE f.province_code END AS province_code,
                 r.dose_record_id,
                 r.candidate_citizen_id AS citizen_id, k.candidates AS details, pk.person_key,
                 ? AS created_at, ? AS due_at, 1 AS version
          FROM results r JOIN rec_map m ON m.rec_id = r.dose_record_id
          LEFT JOIN ({PERSON_KEY_SQL}) pk ON pk.rec_id = r.dose_record_id
          LEFT JOIN ward_units u ON u.structure = r.ward_units AND u.code = r.ward_code
          LEFT JOIN fallback_desk f ON f.id = r.dose_record_id
          LEFT JOIN (
            SELECT ident_id, CAST(to_json({{'candidates': list({{'citizen_id': citizen_id, 'weight': round(weight, 2),
                   'id': id_level, 'name': name_level, 'dob': dob_level, 'sex': sex_level, 'ward': ward_level,
                   'address': address_level, 'phone': phone_level, 'borrowed': borrowed,
                   'weights': {{'prior': round(w_prior, 2), 'id': round(w_id, 2), 'name': round(w_name, 2),
                     'dob': round(w_dob, 2), 'sex': round(w_sex, 2), 'ward': round(w_ward, 2),
                     'address': round(w_address, 2), 'phone': round(w_phone, 2)}}}} ORDER BY rank)}}) AS VARCHAR) AS candidates
            FROM ranked WHERE rank <= 3 GROUP BY ident_id) k ON k.ident_id = m.ident_id
          WHERE r.outcome IN ('review', 'unmatched'))""",
        [_stamp(conn, now), _stamp(conn, now + CASE_DUE)],
    )

"""What a match decides for each record, in one place for every path: outcome, score, blame, the ranked
candidates an officer sees, the case kind and priority; and the writer of a re-examined set's outcomes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import BindParameter, Connection, bindparam, text

from vaxlink.matching.spec import MatchSpec
from vaxlink.services.reconciliation.duck_views import run_over
from vaxlink.storage import bulk
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import UtcDateTime, utcnow

CASE_DUE = timedelta(days=7)

# The identities left to an officer (review, unmatched): only theirs need a person key and candidates.
_DOUBTED_SQL = "SELECT ident_id FROM classified WHERE outcome <> 'linked'"
# The health identity of each matched record, as a key that names the person in this run: the smallest
# dose record id of its group (`group_identities`). Open cases sharing it are one person's. Computed for
# the groups that hold a record left to an officer, with all of their records.
PERSON_KEY_SQL = f"""SELECT m.rec_id, 'r' || CAST(min(m.rec_id) OVER (PARTITION BY i.group_id) AS VARCHAR) AS person_key
    FROM rec_map m JOIN rec_ident i USING (ident_id)
    WHERE i.group_id IN (SELECT group_id FROM rec_ident WHERE ident_id IN ({_DOUBTED_SQL}))"""

# The ranked candidates a ward officer sees for a record in doubt, with each field's level.
_CANDIDATES_SQL = (
    """SELECT ident_id, CAST(to_json({'candidates': list({'citizen_id': citizen_id, 'weight': round(weight, 2),
         'id': id_level, 'name': name_level, 'dob': dob_level, 'sex': sex_level, 'ward': ward_level,
         'address': address_level, 'phone': phone_level, 'borrowed': borrowed,
         'weights': {'prior': round(w_prior, 2), 'id': round(w_id, 2), 'name': round(w_name, 2),
           'dob': round(w_dob, 2), 'sex': round(w_sex, 2), 'ward': round(w_ward, 2),
           'address': round(w_address, 2), 'phone': round(w_phone, 2)}} ORDER BY rank)}) AS VARCHAR) AS candidates
  FROM ranked WHERE rank <= 3 AND ident_id IN ("""
    + _DOUBTED_SQL
    + ") GROUP BY ident_id"
)

# The columns of a match_result row, as a new batch's are written.
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
# The columns of a work_case row, as a new batch's are written.
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
# `outcomes_sql` staged in the database for a re-examined set.
_RESULT_STAGE = (
    ("dose_record_id", "BIGINT"),
    ("outcome", "VARCHAR(10)"),
    ("citizen_id", "BIGINT"),
    ("candidate_citizen_id", "BIGINT"),
    ("score", "DOUBLE PRECISION"),
    ("reasons", "VARCHAR(400)"),
    ("blame", "VARCHAR(10)"),
    ("candidates", "TEXT"),
    ("person_key", "VARCHAR(40)"),
    ("case_kind", "VARCHAR(10)"),
    ("case_priority", "INTEGER"),
    ("ward_code", "VARCHAR(20)"),
    ("ward_units", "VARCHAR(20)"),
)


def outcomes_sql(records: str, columns: str = "") -> str:
    """A DuckDB SELECT of one row per matched record (`rec_map m JOIN classified c`): its outcome, the
    citizen linked or the best candidate, score, reasons and blame, and for a record left to an officer
    (review, unmatched) the candidates, the person key, the kind and priority of its case and the ward
    whose worklist gets it: where its best candidate lives, else the record's own ward.

    `records` (as `d`) holds the matched records' id, ward_code and ward_units; `ward_units` must be
    loaded (`load_ward_units`), and `reg_home` with the register. `columns` (each led by a comma) adds to
    the row."""
    return f"""SELECT m.rec_id AS dose_record_id, c.outcome,
               CASE WHEN c.outcome = 'linked' THEN c.best_citizen_id END AS citizen_id,
               CASE WHEN c.outcome <> 'linked' THEN c.best_citizen_id END AS candidate_citizen_id,
               CASE WHEN c.best_weight IS NULL THEN 0.0 ELSE 1.0 - c.wrong_link END AS score,
               c.reasons, CASE WHEN c.outcome = 'linked' AND c.reasons <> '' THEN c.blame END AS blame,
               CASE WHEN c.outcome <> 'linked' THEN k.candidates END AS candidates,
               CASE WHEN c.outcome <> 'linked' THEN pk.person_key END AS person_key,
               CASE c.outcome WHEN 'review' THEN 'conflict' WHEN 'unmatched' THEN 'unmatched' END AS case_kind,
               CASE c.outcome WHEN 'review' THEN 2 WHEN 'unmatched' THEN 1 END AS case_priority,
               CASE WHEN c.outcome <> 'linked' THEN coalesce(h.ward, w.code) END AS ward_code,
               CASE WHEN c.outcome <> 'linked' THEN CASE WHEN h.ward IS NOT NULL THEN h.units ELSE w.structure END
                    END AS ward_units{columns}
        FROM rec_map m JOIN classified c USING (ident_id)
        LEFT JOIN ({PERSON_KEY_SQL}) pk ON pk.rec_id = m.rec_id
        LEFT JOIN ({_CANDIDATES_SQL}) k USING (ident_id)
        JOIN {records} d ON d.id = m.rec_id
        LEFT JOIN reg_home h ON h.citizen_id = c.best_citizen_id
        -- Records stored before ward codes carried their structure are in the legacy units.
        LEFT JOIN ward_units w ON w.structure = coalesce(d.ward_units, 'legacy') AND w.code = d.ward_code"""


def load_ward_units(db: Connection, duck: DuckDBPyConnection) -> None:
    """DuckDB's tables `ward_units` (every ward of both structures) and `ward_units_names` (the legacy
    provinces' names, for the province queue of a record whose address names one)."""
    text = pa.string()
    _copy(
        db,
        duck,
        "SELECT structure, code, province_code FROM admin_unit WHERE level = 'ward'",
        pa.schema([("structure", text), ("code", text), ("province_code", text)]),
        "ward_units",
    )
    _copy(
        db,
        duck,
        "SELECT level, code, province_code, name FROM admin_unit WHERE level = 'province' AND structure = 'legacy'",
        pa.schema([("level", text), ("code", text), ("province_code", text), ("name", text)]),
        "ward_units_names",
    )


def _copy(db: Connection, duck: DuckDBPyConnection, sql: str, schema: pa.Schema, table: str) -> None:
    """DuckDB's table `table`: the rows of `sql` read from the database."""
    run_over(
        duck,
        f"{table}_in",
        query_arrow(db, sql, schema),
        f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {table}_in",
    )


def id_province_sql(id_number: str) -> str:
    """The legacy province a 12-digit personal id (or one that lost its leading zero) was registered in:
    its prefix 001-096 is the province's code with a leading zero (Decree 137/2015); NULL otherwise."""
    digits = f"regexp_replace(coalesce({id_number}, ''), '[^0-9]', '', 'g')"
    return f"""CASE WHEN length({digits}) = 12 AND substr({digits}, 1, 1) = '0' THEN substr({digits}, 2, 2)
        WHEN length({digits}) = 11 THEN substr({digits}, 1, 2) END"""


def id_province_sql_backend(is_pg: bool, id_number: str) -> str:
    """`id_province_sql` on SQLite or PostgreSQL (the id as typed; separators are rare in stored ids)."""
    digits = f"coalesce({id_number}, '')"
    return f"""(CASE WHEN length({digits}) = 12 AND substr({digits}, 1, 1) = '0' THEN substr({digits}, 2, 2)
        WHEN length({digits}) = 11 THEN substr({digits}, 1, 2) END)"""


def store_results(db: Connection, duck: DuckDBPyConnection, spec: MatchSpec) -> None:
    """Replace the match results of the matched records, settle or open their ward cases.

    The citizens whose doses these results can move (linked before, a link may drop to review, or now)
    are left in the temporary table `relinked_citizen`, for the caller's aftermath (flags, status,
    certificates); the caller drops it."""
    load_ward_units(db, duck)
    _stage_outcomes(db, duck)
    now = bindparam("now", utcnow(), type_=UtcDateTime)
    # A record now linked needs no officer: its open case closes by itself.
    db.execute(
        text("""UPDATE work_case SET status = 'closed', resolution = 'auto_linked', closed_at = :now,
            version = version + 1
        WHERE status = 'open' AND dose_record_id IN (
          SELECT dose_record_id FROM result_stage WHERE outcome = 'linked')""").bindparams(now)
    )
    _note_relinked(db)
    db.exec_driver_sql(
        "DELETE FROM match_result WHERE dose_record_id IN (SELECT dose_record_id FROM result_stage)"
    )
    db.execute(
        text("""INSERT INTO match_result (dose_record_id, outcome, citizen_id, candidate_citizen_id, score,
            reasons, flags, blame, ward_code, ward_units, spec_version, decided_at, version)
        SELECT dose_record_id, outcome, citizen_id, candidate_citizen_id, score, reasons, '', blame, ward_code,
            ward_units, :v, :now, 1
        FROM result_stage""").bindparams(now),
        {"v": spec.version},
    )
    _open_cases(db, now)
    db.exec_driver_sql("DROP TABLE result_stage")


def _stage_outcomes(db: Connection, duck: DuckDBPyConnection) -> None:
    """The temporary table `result_stage`: `outcomes_sql` of the matched records, copied in."""
    double = "DOUBLE PRECISION" if db.dialect.name == "postgresql" else "REAL"
    db.exec_driver_sql("DROP TABLE IF EXISTS result_stage")
    db.exec_driver_sql(
        "CREATE TEMPORARY TABLE result_stage ("
        + ", ".join(f"{c} {t.replace('DOUBLE PRECISION', double)}" for c, t in _RESULT_STAGE)
        + ")"
    )
    reader = duck.sql(f"{outcomes_sql('rec_wards')} ORDER BY m.rec_id").to_arrow_reader(200_000)
    bulk.load_batches(db, "result_stage", reader)
    db.exec_driver_sql("CREATE UNIQUE INDEX ix_result_stage ON result_stage (dose_record_id)")
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("ANALYZE result_stage")


def _note_relinked(db: Connection) -> None:
    """The temporary table `relinked_citizen`: the citizens whose doses the staged results can move."""
    db.exec_driver_sql("DROP TABLE IF EXISTS relinked_citizen")
    db.exec_driver_sql("CREATE TEMPORARY TABLE relinked_citizen (citizen_id BIGINT PRIMARY KEY)")
    db.exec_driver_sql("""INSERT INTO relinked_citizen (citizen_id)
        SELECT citizen_id FROM match_result
        WHERE citizen_id IS NOT NULL AND dose_record_id IN (SELECT dose_record_id FROM result_stage)
        UNION
        SELECT citizen_id FROM result_stage WHERE citizen_id IS NOT NULL""")
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("ANALYZE relinked_citizen")


def _open_cases(db: Connection, now: BindParameter[Any]) -> None:
    """A ward case for each staged record left to an officer that has none open yet."""
    is_pg = db.dialect.name == "postgresql"
    due = bindparam("due", utcnow() + CASE_DUE, type_=UtcDateTime)
    details = "CAST(s.candidates AS JSON)" if is_pg else "s.candidates"
    db.execute(
        text(f"""INSERT INTO work_case (kind, status, priority, ward_code, ward_units, province_code,
            dose_record_id, citizen_id, details, person_key, created_at, due_at, version)
        SELECT s.case_kind, 'open', s.case_priority, m.ward_code, coalesce(m.ward_units, 'legacy'),
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

"""A new batch's outcomes, decided in DuckDB from its matching and written with one bulk load each: match
results, dose-sequence flags and the cases, with the desk of every record left to an officer."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection

from vaxlink.matching.spec import MatchSpec
from vaxlink.services.reconciliation.dose_flags import apply_flag_changes, judge_staged_flags
from vaxlink.services.reconciliation.outcomes import (
    CASE_COLUMNS,
    CASE_DUE,
    RESULT_COLUMNS,
    id_province_sql,
    load_ward_units,
    outcomes_sql,
)
from vaxlink.storage import bulk
from vaxlink.storage.models import utcnow


def decide_staged(db: Connection, duck: DuckDBPyConnection) -> None:
    """DuckDB's table `results` from the matching of `staged`: `outcomes_sql` with the dose's date and
    number; the rejected records too."""
    load_ward_units(db, duck)
    duck.execute(
        f"""CREATE OR REPLACE TABLE results AS
        {outcomes_sql("staged", ", d.vaccination_date, d.dose_number")}
        UNION ALL
        SELECT id, 'rejected', NULL, NULL, NULL, problems, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM staged WHERE is_latest AND problems IS NOT NULL"""
    )


def store_staged_matches(
    db: Connection,
    duck: DuckDBPyConnection,
    spec: MatchSpec,
    *,
    results_stored: bool = False,
    frozen: tuple[str, ...] = (),
) -> None:
    """Write `results` (from `decide_staged`): dose-sequence flags, match results, cases.

    `results_stored`: the flags were judged (`judge_staged_flags`), the cases prepared
    (`prepare_staged_cases`) and the match results written (`staged_results`) beforehand, in short
    transactions of their own; what is left is the earlier doses' changed flags and the cases, which must
    appear with the batch's last transaction. `frozen`: tables truncated in this transaction, whose rows
    are copied frozen."""
    now = utcnow()
    if not results_stored:
        judge_staged_flags(db, duck)
        prepare_staged_cases(db, duck, now)
    apply_flag_changes(db, duck)
    if not results_stored:
        bulk.load_batches(
            db, "match_result", staged_results(db, duck, spec, now), freeze="match_result" in frozen
        )
    # A ward case for each record in doubt (review) or without a citizen (unmatched).
    bulk.load_batches(
        db,
        "work_case",
        duck.sql("SELECT * FROM case_rows ORDER BY dose_record_id").to_arrow_reader(200_000),
        freeze="work_case" in frozen,
    )


def staged_results(
    db: Connection,
    duck: DuckDBPyConnection,
    spec: MatchSpec,
    decided_at: datetime,
    ids: tuple[int, int] | None = None,
) -> pa.RecordBatchReader:
    """The match_result rows of `results` (flags from `judge_staged_flags`), those of dose record ids
    `ids` (first, last) only when given."""
    cols = ", ".join(RESULT_COLUMNS)
    where = "" if ids is None else f"WHERE r.dose_record_id BETWEEN {int(ids[0])} AND {int(ids[1])}"
    return duck.sql(
        f"""SELECT {cols} FROM (
          SELECT r.* EXCLUDE (vaccination_date, dose_number), coalesce(f.flags, '') AS flags, ? AS spec_version,
                 ? AS decided_at, 1 AS version
          FROM results r LEFT JOIN new_flags f ON f.id = r.dose_record_id {where}) ORDER BY dose_record_id""",
        params=[spec.version, _stamp(db, decided_at)],
    ).to_arrow_reader(200_000)


def prepare_staged_cases(db: Connection, duck: DuckDBPyConnection, now: datetime) -> None:
    """DuckDB's table `case_rows`: the cases to open, with the ranked candidates the officer will see,
    made before the transaction that writes them (`db` only tells the backend's timestamp form)."""
    _fallback_desks(duck)
    cols = ", ".join(CASE_COLUMNS)
    duck.execute(
        f"""CREATE OR REPLACE TABLE case_rows AS SELECT {cols} FROM (
          SELECT r.case_kind AS kind, 'open' AS status, r.case_priority AS priority, r.ward_code,
                 coalesce(r.ward_units, 'legacy') AS ward_units,
                 CASE WHEN u.code IS NOT NULL THEN u.province_code ELSE f.province_code END AS province_code,
                 r.dose_record_id,
                 r.candidate_citizen_id AS citizen_id, r.candidates AS details, r.person_key,
                 ? AS created_at, ? AS due_at, 1 AS version
          FROM results r JOIN rec_map m ON m.rec_id = r.dose_record_id
          LEFT JOIN ward_units u ON u.structure = r.ward_units AND u.code = r.ward_code
          LEFT JOIN fallback_desk f ON f.id = r.dose_record_id
          WHERE r.outcome IN ('review', 'unmatched'))""",
        [_stamp(db, now), _stamp(db, now + CASE_DUE)],
    )


def _stamp(db: Connection, at: datetime) -> str:
    # The text each backend keeps for a UtcDateTime (SQLite: naive UTC, as the type stores it).
    return (
        at.isoformat(sep=" ") if db.dialect.name == "postgresql" else at.replace(tzinfo=None).isoformat(" ")
    )


def _fallback_desks(duck: DuckDBPyConnection) -> None:
    """Table `fallback_desk` (id, province_code): the province queue of each open record no ward could be
    told for, so that every open case has a desk. In order: the province the record's address names, the
    province of the personal id it carries, the province most of the batch's routed records belong to."""
    duck.execute("""CREATE OR REPLACE TABLE province_names AS
        SELECT DISTINCT province_code,
          trim(regexp_replace(lower(strip_accents(replace(replace(name, 'đ', 'd'), 'Đ', 'D'))),
               '^(tinh|thanh pho) ', '')) AS folded
        FROM ward_units_names WHERE level = 'province'""")
    duck.execute(f"""CREATE OR REPLACE TABLE fallback_desk AS
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

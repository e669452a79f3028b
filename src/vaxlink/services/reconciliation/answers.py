"""What goes back out: the reconciliation result (contract) and the per-batch answer for health.

The answer tells health, for each record, whether it was verified against the register and which
fields to correct, the way the real process answered "correct / wrong" per record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection, text

from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.files.write import write_table
from vaxlink.storage.extract import arrow_schema, query_arrow

RESULT_SCHEMA = arrow_schema(
    "record_id outcome personal_id candidate_personal_id score:float64 reasons ward_code source blame flags"
    " batch_id:int64 version:int32"
)

RESULT_SQL = """
SELECT d.record_id, m.outcome, c.personal_id, k.personal_id, CAST(m.score AS NUMERIC(9, 6)), m.reasons, m.ward_code, d.source,
       m.blame, m.flags, d.batch_id, d.version
FROM dose_record d
JOIN match_result m ON m.dose_record_id = d.id
LEFT JOIN citizen c ON c.id = m.citizen_id
LEFT JOIN citizen k ON k.id = m.candidate_citizen_id
WHERE d.is_latest {where}
ORDER BY d.source, d.record_id"""

ANSWER_SCHEMA = arrow_schema(
    "record_id line:int32 verified outcome reasons blame full_name correct_full_name date_of_birth"
    " correct_date_of_birth sex correct_sex id_number correct_id_number"
)

# The answer is no ID oracle (a made-up row linked automatically must not bring back a real number, and a
# review must not say that a number exists under another name): a citizen's ID number goes back only where
# the record carried one (to correct it) or an officer confirmed the link; otherwise the row says "linked,
# ID withheld". Records not linked say only that they are not verified: no reasons, no blame.
WITHHELD = "Đã gắn, không trả số định danh / linked, ID withheld"
ANSWER_SQL = (
    """
SELECT d.record_id, d.line_no,
       CASE WHEN m.outcome IN """
    + LINKED_SQL
    + """ AND coalesce(m.reasons, '') LIKE '%ID_%'
                 AND coalesce(d.id_number, '') = '' AND m.outcome <> 'confirmed' THEN '"""
    + WITHHELD
    + """'
            WHEN m.outcome IN """
    + LINKED_SQL
    + """ AND coalesce(m.reasons, '') = '' THEN 'Đúng'
            WHEN m.outcome IN """
    + LINKED_SQL
    + """ THEN 'Đúng, cần sửa'
            WHEN m.outcome = 'rejected' THEN 'Không dùng được'
            ELSE 'Chưa xác minh' END,
       m.outcome,
       CASE WHEN m.outcome IN ('review', 'unmatched') THEN NULL ELSE m.reasons END,
       CASE WHEN m.outcome IN ('review', 'unmatched') THEN NULL ELSE m.blame END,
       d.full_name, CASE WHEN c.id IS NOT NULL AND c.full_name <> coalesce(d.full_name, '') THEN c.full_name END,
       d.date_of_birth,
       CASE WHEN c.id IS NOT NULL AND m.reasons LIKE '%DOB_%' THEN
         CASE WHEN c.birth_precision = 'year' THEN CAST(c.birth_year AS VARCHAR(4))
              ELSE CAST(c.birth_date AS VARCHAR(10)) END END,
       d.sex, CASE WHEN c.id IS NOT NULL AND m.reasons LIKE '%SEX_%' THEN
         CASE WHEN c.sex = 'M' THEN 'Nam' ELSE 'Nữ' END END,
       d.id_number,
       CASE WHEN c.id IS NOT NULL AND m.reasons LIKE '%ID_%'
                 AND (coalesce(d.id_number, '') <> '' OR m.outcome = 'confirmed') THEN c.personal_id END
FROM dose_record d
JOIN match_result m ON m.dose_record_id = d.id
LEFT JOIN citizen c ON c.id = m.citizen_id
WHERE d.batch_id = {batch_id} AND d.is_latest
ORDER BY d.line_no"""
)


def _write(table: pa.Table, out: Path) -> Path:
    return write_table(table, out)


def export_results(db: Connection, out: Path, *, source: str | None = None) -> int:
    """Write one row per dose record ever ingested (its latest version). Returns the number of rows."""
    where = ""
    if source is not None:
        where = "AND d.source = '" + source.replace("'", "''") + "'"
    table = query_arrow(db, RESULT_SQL.format(where=where), RESULT_SCHEMA)
    _write(table, out)
    return int(table.num_rows)


def export_answer(db: Connection, batch_id: int, out: Path) -> int:
    """Write health's answer for one batch (CSV or XLSX), with the corrections wards have declared."""
    table = query_arrow(db, ANSWER_SQL.format(batch_id=int(batch_id)), ANSWER_SCHEMA)
    table = with_ward_corrections(db, batch_id, table)
    _write(table, out)
    return int(table.num_rows)


# Where a ward's declared correction goes in the answer.
CORRECTION_COLUMNS = {
    "full_name": "correct_full_name",
    "birth_date": "correct_date_of_birth",
    "sex": "correct_sex",
    "personal_id": "correct_id_number",
}


def ward_corrections(db: Connection, batch_id: int) -> dict[str, dict[str, Any]]:
    """record_id → the correction a ward declared when it found the health record wrong."""
    rows = db.execute(
        text("""SELECT d.record_id, k.details FROM work_case k JOIN dose_record d ON d.id = k.dose_record_id
        WHERE d.batch_id = :b AND d.is_latest AND k.resolution = 'health_wrong'
        ORDER BY k.closed_at, k.id"""),
        {"b": int(batch_id)},
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for record_id, details in rows:
        if isinstance(details, str):
            details = json.loads(details)
        found = (details or {}).get("health_correction")
        if isinstance(found, dict):
            out[str(record_id)] = found
    return out


# The rows of the corrections download (`services.reconciliation.batches.health_corrections` of the answer): health is
# to blame, the register gives another value for a field, or a ward found the record wrong. Counted in SQL
# from the answer's own query, so that the batch page's figure is the download's row count.
CORRECTIONS_COUNT_SQL = (
    """WITH answer (record_id, line, verified, outcome, reasons, blame, full_name, correct_full_name,
    date_of_birth, correct_date_of_birth, sex, correct_sex, id_number, correct_id_number) AS ("""
    + ANSWER_SQL
    + """)
SELECT count(*) FROM answer WHERE blame = 'health' OR correct_full_name IS NOT NULL
  OR correct_date_of_birth IS NOT NULL OR correct_sex IS NOT NULL OR correct_id_number IS NOT NULL
  OR record_id IN (SELECT d.record_id FROM work_case k JOIN dose_record d ON d.id = k.dose_record_id
                   WHERE d.batch_id = {batch_id} AND d.is_latest AND k.resolution = 'health_wrong')"""
)


def corrections_count(db: Connection, batch_id: int) -> int:
    """How many rows the batch's corrections for health hold."""
    return int(db.execute(text(CORRECTIONS_COUNT_SQL.format(batch_id=int(batch_id)))).scalar() or 0)


def with_ward_corrections(db: Connection, batch_id: int, table: pa.Table) -> pa.Table:
    corrections = ward_corrections(db, batch_id)
    if not corrections:
        return table
    columns = {name: table.column(name).to_pylist() for name in table.schema.names}
    for i, record_id in enumerate(columns["record_id"]):
        found = corrections.get(record_id)
        if found is None:
            continue
        fields = found.get("fields") or {}
        columns["verified"][i] = "Sai, phường/xã đã xác định" if fields else "Sai, y tế cần kiểm tra"
        columns["blame"][i] = "health"
        for field, column in CORRECTION_COLUMNS.items():
            if field in fields:
                columns[column][i] = str(fields[field])
    return pa.table(columns, schema=table.schema)

"""A batch's records as new versions: ids and version numbers decided before anything is written, records
identical to their current version left out, earlier versions superseded (their open cases settled)."""

from __future__ import annotations

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, bindparam, text

from vaxlink.files.fhir import DOSE_FIELDS
from vaxlink.services.figures.stats_upkeep import CellChanges
from vaxlink.services.reconciliation.dose_staging import STORED, stage_select
from vaxlink.services.reconciliation.duck_views import run_over
from vaxlink.services.reconciliation.reconcile import Progress
from vaxlink.storage import bulk
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import UtcDateTime, utcnow

# What makes two versions of a record the same: every field health sends (the dose contract's fields but the
# record id), as stored.
CONTENT = tuple(f for f in DOSE_FIELDS if f != "record_id")


CURRENT_SCHEMA = pa.schema(
    [("record_id", pa.string())]
    + [
        (c, pa.date32() if c == "vaccination_date" else pa.int32() if c == "dose_number" else pa.string())
        for c in CONTENT
    ]
)


def _load_batch_record_ids(db: Connection, duck: DuckDBPyConnection) -> None:
    """Temporary table `batch_rid` in the database: the distinct record ids of `stage`, for joins there."""
    db.exec_driver_sql("DROP TABLE IF EXISTS batch_rid")
    db.exec_driver_sql("CREATE TEMPORARY TABLE batch_rid (record_id VARCHAR(80) PRIMARY KEY)")
    bulk.load_batches(
        db, "batch_rid", duck.sql("SELECT DISTINCT record_id FROM stage").to_arrow_reader(200_000)
    )
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("ANALYZE batch_rid")


def _record_sources(db: Connection) -> list[str]:
    """The sources dose records came from (a handful), read off the (source, record_id, version) index one
    by one, without a pass over the records."""
    return [
        str(r[0])
        for r in db.exec_driver_sql("""WITH RECURSIVE s(source) AS (
            SELECT min(source) FROM dose_record
            UNION ALL
            SELECT (SELECT min(d.source) FROM dose_record d WHERE d.source > s.source) FROM s
            WHERE s.source IS NOT NULL)
          SELECT source FROM s WHERE source IS NOT NULL""")
    ]


def _batch_records_sql(db: Connection, sources: list[str], columns: str, where: str = "1 = 1") -> str:
    """A SELECT of `columns` of the stored versions `d` (those `where` keeps) of the record ids in
    `batch_rid`, under any of `sources`: looked up by (source, record id) in the index, a probe per id.
    Joined by record id alone, or even with the source, PostgreSQL read every stored record (a whole pass
    over millions for a batch of thousands); a lateral subquery it cannot flatten keeps it to the probes."""
    if not sources:
        return f"SELECT {columns} FROM dose_record d WHERE 1 = 0"
    listed = ", ".join(_literal(x) for x in sources)
    if db.dialect.name == "postgresql":
        values = ", ".join(f"({_literal(x)})" for x in sources)
        return f"""SELECT x.* FROM batch_rid t CROSS JOIN (VALUES {values}) s(source),
            LATERAL (SELECT {columns} FROM dose_record d
              WHERE d.source = s.source AND d.record_id = t.record_id AND {where} OFFSET 0) x"""
    return f"""SELECT {columns} FROM batch_rid t
        JOIN dose_record d ON d.source IN ({listed}) AND d.record_id = t.record_id WHERE {where}"""


def _drop_unchanged(db: Connection, duck: DuckDBPyConnection) -> int:
    """Take out of `stage` the records whose last row in the file is identical to their current version
    (any source label: a file sent again under another name changes nothing). Returns the rows taken out."""
    if db.execute(text("SELECT 1 FROM dose_record LIMIT 1")).first() is None:
        return 0
    _load_batch_record_ids(db, duck)
    current = query_arrow(
        db,
        _batch_records_sql(
            db, _record_sources(db), f"d.record_id, {', '.join('d.' + c for c in CONTENT)}", "d.is_latest"
        ),
        CURRENT_SCHEMA,
    )
    db.exec_driver_sql("DROP TABLE batch_rid")
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM c.{c}" for c in CONTENT)
    run_over(
        duck,
        "current_in",
        current,
        f"""CREATE OR REPLACE TABLE same_rid AS
        SELECT DISTINCT s.record_id FROM stage s JOIN current_in c ON c.record_id = s.record_id
        WHERE s.is_latest AND {same}""",
    )
    n = int(
        duck.execute(
            "SELECT count(*) FROM stage WHERE record_id IN (SELECT record_id FROM same_rid)"
        ).fetchall()[0][0]
    )
    if n:
        duck.execute("DELETE FROM stage WHERE record_id IN (SELECT record_id FROM same_rid)")
    return n


def stage_versions(
    db: Connection, duck: DuckDBPyConnection, batch_id: int, source: str, units: str | None = None
) -> tuple[int, int, int, int]:
    """The batch's rows as new dose_record versions in DuckDB's table `staged`, with their ids and
    versions decided there, reading only. Ids follow the record ids, so that both the key and the
    (source, record_id, version) index grow in order: loading 1.8 M rows in file order cost PostgreSQL
    twice as long, in random index page updates. The ids are numbered on the narrow columns and the wide rows
    sorted once, by number. Records identical to their current version are left
    out. Returns (rows left out as unchanged, rows staged, first id, earlier versions found)."""
    duck.execute(f"CREATE OR REPLACE TABLE stage AS {stage_select(batch_id, units)}")
    unchanged = _drop_unchanged(db, duck)
    total = int(duck.execute("SELECT count(*) FROM stage").fetchall()[0][0])
    earlier = _earlier_versions(db, duck, source)
    first = bulk.reserve_ids(db, "dose_record", total)
    duck.execute(
        f"""CREATE OR REPLACE TABLE staged AS
        SELECT CAST({first} - 1 + o.n AS BIGINT) AS id,
               CAST({int(batch_id)} AS BIGINT) AS batch_id, ? AS source,
               CAST(coalesce(e.v, 0) + s.file_rank AS INTEGER) AS version, s.* EXCLUDE (file_rank)
        FROM (SELECT rowid AS row_at, row_number() OVER (ORDER BY record_id, line_no) AS n FROM stage) o
        JOIN stage s ON s.rowid = o.row_at LEFT JOIN earlier e ON e.record_id = s.record_id
        ORDER BY o.n""",
        [source],
    )
    duck.execute("DROP TABLE stage")
    return unchanged, total, first, earlier


def _earlier_versions(db: Connection, duck: DuckDBPyConnection, source: str) -> int:
    """Table `earlier` (record_id, v): the highest stored version of each of the batch's record ids that
    was seen before. Returns how many there are (none at all for a source's first batch)."""
    duck.execute("CREATE OR REPLACE TABLE earlier (record_id VARCHAR, v INTEGER)")
    seen = db.execute(text("SELECT 1 FROM dose_record WHERE source = :s LIMIT 1"), {"s": source}).first()
    if seen is None:
        return 0
    _load_batch_record_ids(db, duck)
    versions = _batch_records_sql(db, [source], "d.record_id, d.version")
    found = query_arrow(
        db,
        f"SELECT record_id, max(version) FROM ({versions}) v GROUP BY record_id",
        pa.schema([("record_id", pa.string()), ("v", pa.int32())]),
    )
    db.exec_driver_sql("DROP TABLE batch_rid")
    run_over(duck, "earlier_in", found, "INSERT INTO earlier SELECT record_id, v FROM earlier_in")
    return int(found.num_rows)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def write_versions(
    db: Connection,
    duck: DuckDBPyConnection,
    batch_id: int,
    source: str,
    note: Progress,
    changes: CellChanges | None,
    earlier: int,
    total: int,
    frozen: tuple[str, ...] = (),
) -> None:
    """Write `staged` to dose_record with one COPY, nothing read back; earlier versions stop being the
    latest. `frozen`: tables truncated in this transaction, whose rows are copied frozen."""
    cols = ", ".join(("id", "batch_id", "source", "version", *STORED))
    # `staged` is stored in id order (`stage_versions`) and a scan keeps it: no sort holds the first row back
    # while the server waits.
    reader = duck.sql(f"SELECT {cols} FROM staged").to_arrow_reader(100_000)
    bulk.load_batches(
        db, "dose_record", reader, lambda n: note("load", n, total), freeze="dose_record" in frozen
    )
    if earlier:
        supersede(db, duck, batch_id, source, changes)


def supersede(
    db: Connection, duck: DuckDBPyConnection, batch_id: int, source: str, changes: CellChanges | None
) -> None:
    """Earlier versions of the batch's records stop being the latest; their open cases are settled."""
    db.exec_driver_sql("DROP TABLE IF EXISTS superseded_rid")
    db.exec_driver_sql("CREATE TEMPORARY TABLE superseded_rid (record_id VARCHAR(80) PRIMARY KEY)")
    bulk.load_batches(
        db, "superseded_rid", duck.sql("SELECT record_id FROM earlier").to_arrow_reader(200_000)
    )
    params = {"src": source, "b": batch_id}
    if changes is not None and changes.kept(db):
        # What the versions about to be superseded, and their open cases, count for now.
        old = [
            (int(r[0]), r[1])
            for r in db.execute(
                text("""SELECT d.id, k.id FROM dose_record d
                LEFT JOIN work_case k ON k.dose_record_id = d.id AND k.status <> 'closed'
                WHERE d.source = :src AND d.is_latest AND d.batch_id <> :b
                  AND d.record_id IN (SELECT record_id FROM superseded_rid)"""),
                params,
            )
        ]
        changes.watch(db, dose_records=[d for d, _ in old], cases=[k for _, k in old if k is not None])
    db.execute(
        text("""UPDATE dose_record SET is_latest = false
        WHERE source = :src AND is_latest AND batch_id <> :b
          AND record_id IN (SELECT record_id FROM superseded_rid)"""),
        params,
    )
    db.execute(
        text("""UPDATE work_case SET status = 'closed', resolution = 'superseded', closed_at = :now,
            version = version + 1
        WHERE status <> 'closed' AND dose_record_id IN (
          SELECT d.id FROM dose_record d WHERE d.source = :src AND NOT d.is_latest
            AND d.record_id IN (SELECT record_id FROM superseded_rid))""").bindparams(
            bindparam("now", utcnow(), type_=UtcDateTime)
        ),
        params,
    )
    db.exec_driver_sql("DROP TABLE superseded_rid")


def undo_partial(db: Connection, batch_id: int, rows: int) -> int:
    """Remove up to `rows` of the records a killed chunked run left for a batch still `staging` (with their
    match results, and any case opened on them since); returns how many were removed (0: none left)."""
    ids = [
        int(r[0])
        for r in db.execute(
            text("SELECT id FROM dose_record WHERE batch_id = :b ORDER BY id LIMIT :n"),
            {"b": batch_id, "n": max(int(rows), 1)},
        )
    ]
    if not ids:
        return 0
    params = {"b": batch_id, "lo": ids[0], "hi": ids[-1]}
    mine = "SELECT id FROM dose_record WHERE batch_id = :b AND id BETWEEN :lo AND :hi"
    db.execute(text(f"DELETE FROM work_case WHERE dose_record_id IN ({mine})"), params)
    db.execute(text(f"DELETE FROM match_result WHERE dose_record_id IN ({mine})"), params)
    db.execute(text("DELETE FROM dose_record WHERE batch_id = :b AND id BETWEEN :lo AND :hi"), params)
    return len(ids)

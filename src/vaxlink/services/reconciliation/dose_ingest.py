"""Ingest a dose batch from health: stage, validate, version, reconcile against the register, route, answer.

A batch is identified by its content checksum: the same file again is a no-op, whatever its name or
source label. A row whose record_id was seen before is a new version of that record (history kept, latest
wins), unless it is identical to the record's current version: then it changes nothing (`unchanged`). Every input
row ends in exactly one counted outcome. The whole ingest is one transaction: a killed run leaves
nothing behind, and running it again finishes the work once.

The server's background ingest (`services/reconciliation/ingest_jobs.py`) stops that transaction after the records,
their results and cases (`finish=False`: status `linking`) and brings the citizens' statuses and the
statistics up to date in short transactions of their own, so that SQLite's one writer is never held for
the whole batch; every one of those steps recomputes from what is stored, so a killed run resumes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, Engine, bindparam, select, text
from sqlalchemy.orm import Session

from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.interchange import DOSE_COLUMNS
from vaxlink.domain.reasons import REJECTION_REASONS
from vaxlink.domain.vaccines import resolve_vaccine
from vaxlink.files.fhir import DOSE_FIELDS
from vaxlink.files.read import checksum, contract_select, load_file
from vaxlink.matching import normalise
from vaxlink.matching.normalise import map_distinct
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.audit import log as audit
from vaxlink.services.figures.stats import batch_citizens_sql, refresh_statistics
from vaxlink.services.figures.stats_upkeep import CellChanges
from vaxlink.services.reconciliation.aftermath import after_links_moved
from vaxlink.services.reconciliation.dose_flags import judge_staged_flags
from vaxlink.services.reconciliation.match_parameters import current_spec
from vaxlink.services.reconciliation.reconcile import match_staged
from vaxlink.services.reconciliation.staged_outcomes import (
    prepare_staged_cases,
    staged_results,
    store_staged_matches,
)
from vaxlink.settings import Settings
from vaxlink.storage import bulk
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import Batch, UtcDateTime, utcnow

log = logging.getLogger("vaxlink.ingest")
Progress = Callable[[str, int, int | None], None]
OUTCOMES = ("linked", "review", "unmatched", "rejected", "superseded", "unchanged")
# A batch whose records and results are stored, its citizens' statuses and the statistics still to follow.
LINKING = "linking"
# Batches up to this many rows (and touching up to this many citizens) move the statistics by difference,
# as officers' actions do: only the cells their records, cases and citizens count in. Larger ones refresh
# every cell (cheaper in one pass, and within SQLite's limit of bound parameters).
DIFFERENCE_LIMIT = 20_000
# Vaccination in Viet Nam began in March 2021; anything before December 2020 is an entry error.
EARLIEST_VACCINATION = date(2020, 12, 1)

REASONS = REJECTION_REASONS


@dataclass
class IngestResult:
    batch_id: int
    source: str
    rows: int
    counts: dict[str, int]
    already_ingested: bool = False
    reasons: dict[str, int] = field(default_factory=dict)
    unknown_vaccines: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    register: dict[str, Any] = field(default_factory=dict)
    # Where the ingest's time went, phase by phase (wall seconds): what a batch costs beyond its matching.
    phases: dict[str, float] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return sum(self.counts.get(o, 0) for o in OUTCOMES) == self.rows


def _date_or_problem(v: str) -> tuple[Any, str | None, int | None]:
    d = parse_date(v)
    if isinstance(d, Problem) or not isinstance(d, PartialDate):
        return None, "BAD", None
    return d.as_date(), None if d.precision.value == "day" else "IMPRECISE", d.year


def _vaccine(v: str) -> tuple[str | None]:
    vac = resolve_vaccine(v)
    return (None if vac is None else vac.code,)


def ingest_batch(
    session: Session,
    settings: Settings,
    path: Path,
    *,
    source: str = "default",
    spec: MatchSpec | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    uploaded_by: str | None = None,
    units: str | None = None,
    finish: bool = True,
    before_writes: Callable[[], None] | None = None,
    write_chunk: Callable[[], AbstractContextManager[Connection]] | None = None,
    chunk_rows: int = 5_000,
) -> IngestResult:
    """Ingest and reconcile one file in the session's transaction (flushes, never commits).

    `finish=False` leaves the aftermath (statuses, certificates, statistics) to `finish_links`: the
    batch is left `linking`. `before_writes` is called once, before the first write (after the file is
    read and checked): the moment a caller on SQLite must hold the one writer's lock.

    `write_chunk` (with `finish=False` and `before_writes`: the server's worker) opens one short write
    transaction of the caller's, committed when it closes: the batch's records and their match results are
    then written `chunk_rows` at a time, each chunk in one of these, and only the rest (earlier versions
    superseded, earlier doses' flags, the cases, the batch's counts) in the session's transaction. A run
    killed between chunks leaves records of a batch still `staging`: the caller removes them
    (`undo_partial`) before it runs the batch again.

    `units` (legacy / 2025) says which structure the file's ward codes are in when a row does not say it
    in its own `ward_units`; when neither does, a code in only one list is read in that list, and a code in
    both by the vaccination date (from 1 July 2025, the 2025 units)."""
    if units not in (None, "legacy", "2025"):
        raise ValueError(f"units must be legacy or 2025, not {units!r}")
    if write_chunk is not None and (finish or before_writes is None):
        raise ValueError("write_chunk is for finish=False with before_writes")
    note = progress or (lambda _s, _d, _t: None)
    phases: dict[str, float] = {}
    clock = [time.perf_counter()]

    def phase(name: str) -> None:
        now = time.perf_counter()
        phases[name] = round(phases.get(name, 0.0) + now - clock[0], 3)
        clock[0] = now

    spec = spec or current_spec(settings)
    today = today or date.today()
    digest = checksum(path)
    # The same content under another file name or source label is the same batch.
    done = session.scalar(
        select(Batch).where(Batch.checksum == digest, Batch.status == "done").order_by(Batch.id).limit(1)
    )
    if done is not None:
        counts = dict((done.counts or {}).get("outcomes", {}))
        return IngestResult(done.id, done.source, done.rows_total, counts, already_ingested=True)
    seen = session.scalar(select(Batch).where(Batch.source == source, Batch.checksum == digest))
    refreshed: int | None = None
    con = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        loaded = load_file(con, path, "raw", progress=lambda n: note("read", n, None))
        columns_sql = contract_select(loaded, DOSE_COLUMNS)
        _validate(con, columns_sql, today)
        # With `before_writes` (the server's worker: nothing of its own uncommitted) everything up to the
        # first write reads through a connection of its own, so that the transaction that writes starts
        # only then: on SQLite a transaction that has read may not write once another has committed.
        bind = session.get_bind()
        reads: AbstractContextManager[Connection] = (
            bind.connect()
            if before_writes is not None and isinstance(bind, Engine)
            else nullcontext(session.connection())
        )
        with reads as rconn:
            _ward_lists(rconn, con)
            note("check", loaded.rows, loaded.rows)
            phase("read")
            batch = seen
            if batch is None:  # a new batch (the command line): its row first, for its id
                if before_writes is not None:
                    before_writes()
                    before_writes = None
                batch = Batch(source=source, checksum=digest, file_name=path.name, status="matching")
                session.add(batch)
                session.flush()
            batch_id = batch.id
            unchanged, total, first, earlier = _stage_versions(rconn, con, batch_id, source, units)
            phase("versions")
            stats = match_staged(rconn, con, settings, spec, note)
            phase("match")
            if write_chunk is not None:
                judge_staged_flags(rconn, con)
                prepare_staged_cases(rconn, con, utcnow())
                # The last refresh before the chunks are written: one after it has counted them already.
                refreshed = _last_refresh(rconn)
        if write_chunk is not None:
            _write_in_chunks(write_chunk, con, spec, first, total, chunk_rows, note)
            phase("chunks")
        if before_writes is not None:
            before_writes()
        conn = session.connection()
        if (
            write_chunk is None
            and conn.dialect.name == "sqlite"
            and total
            and first != bulk.reserve_ids(conn, "dose_record", total)
        ):
            # Another ingest wrote records since the ids were taken (a command beside the server): the
            # worker tries again. PostgreSQL's ids come from its sequence, reserved for good.
            raise RuntimeError("dose_record ids taken meanwhile")
        batch.status, batch.rows_total, batch.uploaded_by = "matching", loaded.rows, uploaded_by
        batch.spec_version, batch.spec = spec.version, spec.to_dict()
        session.add(batch)
        session.flush()
        # The statistics by difference for a small batch. The server's worker (`finish=False`) moves here
        # the cells of the batch's records and cases, in the transaction that leaves the batch `linking`;
        # the statuses' cells follow with each chunk of statuses (`ingest_jobs.finish_links`). Its chunks
        # were committed before this transaction: a refresh since then has counted them, and the figures
        # are then refreshed at the end instead.
        changes = CellChanges() if loaded.rows <= DIFFERENCE_LIMIT else None
        if changes is not None and write_chunk is not None and _last_refresh(conn) != refreshed:
            changes = None
        if write_chunk is None:
            _write_versions(conn, con, batch_id, source, note, changes, earlier, total)
        elif earlier:
            _supersede(conn, con, batch_id, source, changes)
        phase("records")
        store_staged_matches(conn, con, spec, results_stored=write_chunk is not None)
        phase("results")
        # The spec the batch was decided with: its parameters as estimated on this batch and register.
        if stats.spec is not None:
            batch.spec = stats.spec.to_dict()
        # The aftermath of the links moved (flags, status, certificates), then the statistics, in the same
        # transaction. New links' flags were judged with the batch; those who lost a dose to a record's
        # new version are judged here.
        first_links = conn.execute(text("SELECT 1 FROM citizen_status LIMIT 1")).first() is None
        touched = None if first_links else _batch_citizens(conn, batch.id)
        if not finish:
            if changes is not None and (first_links or not changes.kept(conn)):
                changes = None
            if changes is not None:
                _move_figures(session, changes, batch.id)
        elif changes is not None and touched is not None and changes.kept(conn):
            citizens = [
                int(r[0]) for r in conn.execute(text(f"SELECT DISTINCT citizen_id FROM ({touched}) t"))
            ]
            if len(citizens) <= DIFFERENCE_LIMIT:
                changes.watch(conn, citizens=citizens)
            else:
                changes = None
        else:
            changes = None
        phase("touched")
        if finish:
            # Only a record's new version takes a dose from someone (its earlier version's citizen): without
            # earlier versions every touched citizen only gained doses, whose flags `store_staged_matches`
            # judged with the same rule over the same doses.
            after_links_moved(
                session,
                settings,
                touched,
                actor=uploaded_by or "ingest",
                flags=not first_links and earlier > 0,
            )
            phase("aftermath")
            if changes is None:
                refresh_statistics(conn)
            else:
                _move_figures(session, changes, batch.id)
            phase("statistics")
            note("status", 1, 1)
        if touched is not None:
            conn.exec_driver_sql("DROP TABLE batch_citizen")

        counts = {o: 0 for o in OUTCOMES}
        counts.update(
            {
                str(k): int(v)
                for k, v in con.execute("""
            SELECT CASE WHEN NOT s.is_latest THEN 'superseded' ELSE r.outcome END, count(*)
            FROM staged s LEFT JOIN results r ON r.dose_record_id = s.id GROUP BY 1""").fetchall()
            }
        )
        counts["unchanged"] = unchanged
        stored = conn.execute(
            text("SELECT count(*) FROM dose_record WHERE batch_id = :b"), {"b": batch.id}
        ).scalar_one()
        if stored + unchanged != loaded.rows:  # pragma: no cover - the bulk load is all or nothing
            raise RuntimeError(f"{stored} dose records stored for {loaded.rows} rows")
        reasons = {
            str(k): int(v)
            for k, v in con.execute(
                "SELECT r, count(*) FROM (SELECT unnest(string_split(problems, ';')) r FROM checked "
                "WHERE problems IS NOT NULL) GROUP BY r ORDER BY 2 DESC"
            ).fetchall()
        }
        unknown = {
            str(k): int(v)
            for k, v in con.execute(
                "SELECT vaccine, count(*) FROM checked WHERE vaccine IS NOT NULL AND vaccine_code IS NULL "
                "GROUP BY 1 ORDER BY 2 DESC LIMIT 50"
            ).fetchall()
        }
        batch.counts = {
            "outcomes": counts,
            "rejections": reasons,
            "unknown_vaccines": unknown,
            "match": {
                "pairs": stats.pairs,
                "identities": stats.identities,
                "linked": stats.linked,
                "expected_wrong_links": round(stats.expected_wrong_links, 6),
            },
        }
        if finish:
            batch.status, batch.finished_at = "done", utcnow()
        else:
            batch.status = LINKING
            batch.counts["linking"] = {"first_links": first_links, "by_difference": changes is not None}
        session.flush()
        phase("counts")
        log.info("batch %d: %d rows; seconds by phase %s", batch.id, loaded.rows, phases)
        result = IngestResult(
            batch.id,
            source,
            loaded.rows,
            counts,
            reasons=reasons,
            unknown_vaccines=unknown,
            seconds=stats.seconds,
            register=stats.register,
            phases=phases,
        )
        if not result.balanced:  # pragma: no cover - would mean a row was lost or counted twice
            raise RuntimeError(f"ingest counts do not add up: {counts} for {loaded.rows} rows")
        return result
    finally:
        con.close()


def _batch_citizens(conn: Connection, batch_id: int) -> str:
    """The citizens whose status the batch can change, kept in a table with its row count known to the
    planner: as a subquery over a batch just loaded (no statistics yet), PostgreSQL took a 10,000-record
    batch for one row and walked each citizen's doses against every other's."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS batch_citizen")
    conn.exec_driver_sql("CREATE TEMPORARY TABLE batch_citizen (citizen_id BIGINT PRIMARY KEY)")
    conn.exec_driver_sql(
        f"INSERT INTO batch_citizen (citizen_id) SELECT DISTINCT citizen_id FROM ({batch_citizens_sql(batch_id)}) t"
    )
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE batch_citizen")
    return "SELECT citizen_id FROM batch_citizen"


def _last_refresh(conn: Connection) -> int | None:
    """The id of the statistics' last full refresh (none before the first)."""
    found = conn.execute(text("SELECT max(id) FROM stats_refresh")).scalar()
    return None if found is None else int(found)


def _move_figures(session: Session, changes: CellChanges, batch_id: int) -> None:
    """The statistics by difference: the batch's new records and cases counted for nothing before."""
    session.flush()
    conn = session.connection()
    records = [
        int(r[0])
        for r in conn.execute(text("SELECT id FROM dose_record WHERE batch_id = :b"), {"b": batch_id})
    ]
    opened = [
        int(r[0])
        for r in conn.execute(
            text(
                "SELECT k.id FROM work_case k JOIN dose_record d ON d.id = k.dose_record_id WHERE d.batch_id = :b"
            ),
            {"b": batch_id},
        )
    ]
    changes.created(dose_records=records, cases=opened)
    if conn.dialect.name == "postgresql":
        # The lock officers' actions take before moving cells (see `casework.keep_figures`).
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.CHAIN_LOCK})
    changes.apply(conn)


def _validate(con: DuckDBPyConnection, columns_sql: str, today: date) -> None:
    con.execute(f"""CREATE OR REPLACE TABLE src AS SELECT _line AS line_no, _malformed AS malformed,
        {columns_sql} FROM raw""")
    date_schema = pa.schema([("d", pa.date32()), ("problem", pa.string()), ("year", pa.int32())])
    map_distinct(con, "SELECT date_of_birth FROM src", _date_or_problem, date_schema, "v_dob")
    map_distinct(con, "SELECT vaccination_date FROM src", _date_or_problem, date_schema, "v_vdate")
    map_distinct(con, "SELECT vaccine FROM src", _vaccine, pa.schema([("code", pa.string())]), "v_vaccine")
    con.execute(f"""CREATE OR REPLACE TABLE checked AS
        SELECT s.*, vd.d AS vaccination_day, vx.code AS vaccine_code,
          TRY_CAST(regexp_replace(s.dose_number, '\\.0+$', '') AS INTEGER) AS dose_no,
          nullif(array_to_string(list_filter([
            -- A FHIR reader's finding keeps its own code and text (';' is the list's separator).
            CASE WHEN s.malformed LIKE 'FHIR\\_%' ESCAPE '\\' THEN left(replace(s.malformed, ';', ','), 240)
                 WHEN s.malformed IS NOT NULL THEN 'MALFORMED_ROW' END,
            CASE WHEN s.record_id IS NULL THEN 'MISSING_RECORD_ID' END,
            CASE WHEN s.full_name IS NULL THEN 'MISSING_NAME' END,
            CASE WHEN s.date_of_birth IS NULL THEN 'MISSING_DOB' WHEN b.problem = 'BAD' THEN 'BAD_DOB' END,
            CASE WHEN s.vaccination_date IS NULL THEN 'MISSING_VACCINATION_DATE'
                 WHEN vd.problem IS NOT NULL THEN 'BAD_VACCINATION_DATE'
                 WHEN vd.d > DATE '{today.isoformat()}' THEN 'VACCINATION_DATE_FUTURE'
                 WHEN vd.d < DATE '{EARLIEST_VACCINATION.isoformat()}' THEN 'VACCINATION_DATE_TOO_EARLY'
                 WHEN b.year IS NOT NULL AND year(vd.d) < b.year THEN 'VACCINATION_BEFORE_BIRTH'
                 WHEN b.d IS NOT NULL AND vd.d < b.d THEN 'VACCINATION_BEFORE_BIRTH' END,
            CASE WHEN coalesce(TRY_CAST(regexp_replace(s.dose_number, '\\.0+$', '') AS INTEGER), 0) NOT BETWEEN 1 AND 20
                 THEN 'BAD_DOSE_NUMBER' END,
            CASE WHEN s.vaccine IS NOT NULL AND vx.code IS NULL THEN 'UNKNOWN_VACCINE'
                 WHEN s.vaccine IS NULL THEN 'UNKNOWN_VACCINE' END
          ], lambda r: r IS NOT NULL), ';'), '') AS problems,
          row_number() OVER (PARTITION BY s.record_id ORDER BY s.line_no) AS file_rank,
          count(*) OVER (PARTITION BY s.record_id) AS file_versions
        FROM src s
        LEFT JOIN v_dob b ON b.value = s.date_of_birth
        LEFT JOIN v_vdate vd ON vd.value = s.vaccination_date
        LEFT JOIN v_vaccine vx ON vx.value = s.vaccine""")


# The day the 2025 units came into force: a code in both lists is read in the structure of its date.
UNITS_2025_FROM = date(2025, 7, 1)


def _ward_lists(conn: Connection, con: DuckDBPyConnection) -> None:
    """Table `ward_lists` (code, in_legacy, in_2025): the ward codes of both official lists."""
    wards = query_arrow(
        conn,
        "SELECT code, structure FROM admin_unit WHERE level = 'ward'",
        pa.schema([("code", pa.string()), ("structure", pa.string())]),
    )
    con.register("ward_lists_in", wards)
    con.execute("""CREATE OR REPLACE TABLE ward_lists AS
        SELECT code, bool_or(structure = 'legacy') AS in_legacy, bool_or(structure = '2025') AS in_2025
        FROM ward_lists_in GROUP BY code""")
    con.unregister("ward_lists_in")


# The columns of a dose_record row as written by the ingest (after `id`, `batch_id`, `source`, `version`).
STORED = (
    "record_id",
    "is_latest",
    "line_no",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "phone",
    "address",
    "ward_code",
    "ward_units",
    "dose_kind",
    "vaccination_date",
    "dose_number",
    "vaccine",
    "vaccine_code",
    "lot_number",
    "site",
    "extra",
    "problems",
)


# What health calls the dose: an additional dose (liều bổ sung) is part of the primary series, a booster
# (liều nhắc lại) comes after it; anything else is not said.
_KIND = "lower(strip_accents(replace(replace(c.dose_kind, 'đ', 'd'), 'Đ', 'D')))"
_DOSE_KIND_SQL = f"""CASE WHEN {_KIND} IN ('additional', 'bo sung', 'lieu bo sung', 'mui bo sung') THEN 'additional'
        WHEN {_KIND} IN ('booster', 'nhac lai', 'lieu nhac lai', 'mui nhac lai') THEN 'booster'
        WHEN {_KIND} IN ('primary', 'co ban', 'lieu co ban', 'mui co ban') THEN 'primary' END"""


def _units_sql(units: str | None) -> str:
    """The structure of a row's ward code: the row's own `ward_units`, else the file's `units`, else the
    one list that has the code, else (in both) the list in force on the vaccination date; NULL when the
    code is in neither list."""
    given = "CASE WHEN lower(c.ward_units) IN ('2025', 'new', 'moi', 'mới') THEN '2025' " + (
        "WHEN lower(c.ward_units) IN ('legacy', 'old', 'cu', 'cũ') THEN 'legacy' END"
    )
    default = "NULL" if units is None else f"'{units}'"
    return f"""CASE WHEN c.ward_code IS NULL THEN NULL
        WHEN coalesce({given}, {default}) IS NOT NULL THEN coalesce({given}, {default})
        WHEN wl.in_legacy AND wl.in_2025 THEN
          CASE WHEN c.vaccination_day >= DATE '{UNITS_2025_FROM.isoformat()}' THEN '2025' ELSE 'legacy' END
        WHEN wl.in_legacy THEN 'legacy' WHEN wl.in_2025 THEN '2025' END"""


def _stage_select(batch_id: int, units: str | None = None) -> str:
    # A row without a record id cannot be versioned: it is kept under a marked id of its own line.
    return f"""SELECT line_no, coalesce(left(record_id, 80), '~line-' || line_no || '@batch-{batch_id}') AS record_id,
        CAST(file_rank AS INTEGER) AS file_rank, record_id IS NULL OR file_rank = file_versions AS is_latest,
        left(full_name, 200) AS full_name, left(date_of_birth, 40) AS date_of_birth, left(sex, 20) AS sex,
        left(id_number, 40) AS id_number, left(phone, 40) AS phone, left(address, 400) AS address,
        left(ward_code, 10) AS ward_code, ward_units_read AS ward_units, {_DOSE_KIND_SQL} AS dose_kind,
        vaccination_day AS vaccination_date,
        CAST(CASE WHEN dose_no BETWEEN 1 AND 20 THEN dose_no END AS INTEGER) AS dose_number,
        left(vaccine, 120) AS vaccine, vaccine_code, left(lot_number, 60) AS lot_number, left(site, 200) AS site,
        extra, problems
        FROM (SELECT c.*, {_units_sql(units)} AS ward_units_read FROM checked c
              LEFT JOIN ward_lists wl ON wl.code = c.ward_code) c"""


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


def _load_batch_record_ids(conn: Connection, con: DuckDBPyConnection) -> None:
    """Temporary table `batch_rid` in the database: the distinct record ids of `stage`, for joins there."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS batch_rid")
    conn.exec_driver_sql("CREATE TEMPORARY TABLE batch_rid (record_id VARCHAR(80) PRIMARY KEY)")
    bulk.load_batches(
        conn, "batch_rid", con.sql("SELECT DISTINCT record_id FROM stage").to_arrow_reader(200_000)
    )
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE batch_rid")


def _record_sources(conn: Connection) -> list[str]:
    """The sources dose records came from (a handful), read off the (source, record_id, version) index one
    by one, without a pass over the records."""
    return [
        str(r[0])
        for r in conn.exec_driver_sql("""WITH RECURSIVE s(source) AS (
            SELECT min(source) FROM dose_record
            UNION ALL
            SELECT (SELECT min(d.source) FROM dose_record d WHERE d.source > s.source) FROM s
            WHERE s.source IS NOT NULL)
          SELECT source FROM s WHERE source IS NOT NULL""")
    ]


def _batch_records_sql(conn: Connection, sources: list[str], columns: str, where: str = "1 = 1") -> str:
    """A SELECT of `columns` of the stored versions `d` (those `where` keeps) of the record ids in
    `batch_rid`, under any of `sources`: looked up by (source, record id) in the index, a probe per id.
    Joined by record id alone, or even with the source, PostgreSQL read every stored record (a whole pass
    over millions for a batch of thousands); a lateral subquery it cannot flatten keeps it to the probes."""
    if not sources:
        return f"SELECT {columns} FROM dose_record d WHERE 1 = 0"
    listed = ", ".join(_literal(x) for x in sources)
    if conn.dialect.name == "postgresql":
        values = ", ".join(f"({_literal(x)})" for x in sources)
        return f"""SELECT x.* FROM batch_rid t CROSS JOIN (VALUES {values}) s(source),
            LATERAL (SELECT {columns} FROM dose_record d
              WHERE d.source = s.source AND d.record_id = t.record_id AND {where} OFFSET 0) x"""
    return f"""SELECT {columns} FROM batch_rid t
        JOIN dose_record d ON d.source IN ({listed}) AND d.record_id = t.record_id WHERE {where}"""


def _drop_unchanged(conn: Connection, con: DuckDBPyConnection) -> int:
    """Take out of `stage` the records whose last row in the file is identical to their current version
    (any source label: a file sent again under another name changes nothing). Returns the rows taken out."""
    if conn.execute(text("SELECT 1 FROM dose_record LIMIT 1")).first() is None:
        return 0
    _load_batch_record_ids(conn, con)
    current = query_arrow(
        conn,
        _batch_records_sql(
            conn, _record_sources(conn), f"d.record_id, {', '.join('d.' + c for c in CONTENT)}", "d.is_latest"
        ),
        CURRENT_SCHEMA,
    )
    conn.exec_driver_sql("DROP TABLE batch_rid")
    con.register("current_in", current)
    same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM c.{c}" for c in CONTENT)
    con.execute(f"""CREATE OR REPLACE TABLE same_rid AS
        SELECT DISTINCT s.record_id FROM stage s JOIN current_in c ON c.record_id = s.record_id
        WHERE s.is_latest AND {same}""")
    con.unregister("current_in")
    n = int(
        con.execute(
            "SELECT count(*) FROM stage WHERE record_id IN (SELECT record_id FROM same_rid)"
        ).fetchall()[0][0]
    )
    if n:
        con.execute("DELETE FROM stage WHERE record_id IN (SELECT record_id FROM same_rid)")
    return n


def _stage_versions(
    conn: Connection, con: DuckDBPyConnection, batch_id: int, source: str, units: str | None = None
) -> tuple[int, int, int, int]:
    """The batch's rows as new dose_record versions in DuckDB's table `staged`, with their ids and
    versions decided there, reading only. Ids follow the record ids, so that both the key and the
    (source, record_id, version) index grow in order: loading 1.8 M rows in file order cost PostgreSQL
    twice as long, in random index page updates. Records identical to their current version are left
    out. Returns (rows left out as unchanged, rows staged, first id, earlier versions found)."""
    con.execute(f"CREATE OR REPLACE TABLE stage AS {_stage_select(batch_id, units)}")
    unchanged = _drop_unchanged(conn, con)
    total = int(con.execute("SELECT count(*) FROM stage").fetchall()[0][0])
    earlier = _earlier_versions(conn, con, source)
    first = bulk.reserve_ids(conn, "dose_record", total)
    con.execute(
        f"""CREATE OR REPLACE TABLE staged AS
        SELECT CAST({first} - 1 + row_number() OVER (ORDER BY s.record_id, s.line_no) AS BIGINT) AS id,
               CAST({int(batch_id)} AS BIGINT) AS batch_id, ? AS source,
               CAST(coalesce(e.v, 0) + s.file_rank AS INTEGER) AS version, s.* EXCLUDE (file_rank)
        FROM stage s LEFT JOIN earlier e ON e.record_id = s.record_id""",
        [source],
    )
    con.execute("DROP TABLE stage")
    return unchanged, total, first, earlier


def _write_versions(
    conn: Connection,
    con: DuckDBPyConnection,
    batch_id: int,
    source: str,
    note: Progress,
    changes: CellChanges | None,
    earlier: int,
    total: int,
) -> None:
    """Write `staged` to dose_record with one COPY, nothing read back; earlier versions stop being the
    latest."""
    cols = ", ".join(("id", "batch_id", "source", "version", *STORED))
    reader = con.sql(f"SELECT {cols} FROM staged ORDER BY id").to_arrow_reader(100_000)
    bulk.load_batches(conn, "dose_record", reader, lambda n: note("load", n, total))
    if earlier:
        _supersede(conn, con, batch_id, source, changes)


def _write_in_chunks(
    write_chunk: Callable[[], AbstractContextManager[Connection]],
    con: DuckDBPyConnection,
    spec: MatchSpec,
    first: int,
    total: int,
    rows: int,
    note: Progress,
) -> None:
    """`staged` and its match results, `rows` records per transaction of `write_chunk`, in id order."""
    cols = ", ".join(("id", "batch_id", "source", "version", *STORED))
    decided = utcnow()
    step = max(int(rows), 1)
    for lo in range(first, first + total, step):
        hi = min(lo + step, first + total) - 1
        with write_chunk() as wconn:
            if (
                lo == first
                and wconn.dialect.name == "sqlite"
                and first != bulk.reserve_ids(wconn, "dose_record", total)
            ):
                raise RuntimeError("dose_record ids taken meanwhile")
            records = con.sql(f"SELECT {cols} FROM staged WHERE id BETWEEN {lo} AND {hi} ORDER BY id")
            bulk.load_batches(wconn, "dose_record", records.to_arrow_reader(100_000))
            bulk.load_batches(wconn, "match_result", staged_results(wconn, con, spec, decided, (lo, hi)))
        note("load", hi - first + 1, total)


def undo_partial(conn: Connection, batch_id: int, rows: int) -> int:
    """Remove up to `rows` of the records a killed chunked run left for a batch still `staging` (with their
    match results, and any case opened on them since); returns how many were removed (0: none left)."""
    ids = [
        int(r[0])
        for r in conn.execute(
            text("SELECT id FROM dose_record WHERE batch_id = :b ORDER BY id LIMIT :n"),
            {"b": batch_id, "n": max(int(rows), 1)},
        )
    ]
    if not ids:
        return 0
    params = {"b": batch_id, "lo": ids[0], "hi": ids[-1]}
    mine = "SELECT id FROM dose_record WHERE batch_id = :b AND id BETWEEN :lo AND :hi"
    conn.execute(text(f"DELETE FROM work_case WHERE dose_record_id IN ({mine})"), params)
    conn.execute(text(f"DELETE FROM match_result WHERE dose_record_id IN ({mine})"), params)
    conn.execute(text("DELETE FROM dose_record WHERE batch_id = :b AND id BETWEEN :lo AND :hi"), params)
    return len(ids)


def _earlier_versions(conn: Connection, con: DuckDBPyConnection, source: str) -> int:
    """Table `earlier` (record_id, v): the highest stored version of each of the batch's record ids that
    was seen before. Returns how many there are (none at all for a source's first batch)."""
    con.execute("CREATE OR REPLACE TABLE earlier (record_id VARCHAR, v INTEGER)")
    seen = conn.execute(text("SELECT 1 FROM dose_record WHERE source = :s LIMIT 1"), {"s": source}).first()
    if seen is None:
        return 0
    _load_batch_record_ids(conn, con)
    versions = _batch_records_sql(conn, [source], "d.record_id, d.version")
    found = query_arrow(
        conn,
        f"SELECT record_id, max(version) FROM ({versions}) v GROUP BY record_id",
        pa.schema([("record_id", pa.string()), ("v", pa.int32())]),
    )
    conn.exec_driver_sql("DROP TABLE batch_rid")
    con.register("earlier_in", found)
    con.execute("INSERT INTO earlier SELECT record_id, v FROM earlier_in")
    con.unregister("earlier_in")
    return int(found.num_rows)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _supersede(
    conn: Connection, con: DuckDBPyConnection, batch_id: int, source: str, changes: CellChanges | None
) -> None:
    """Earlier versions of the batch's records stop being the latest; their open cases are settled."""
    conn.exec_driver_sql("DROP TABLE IF EXISTS superseded_rid")
    conn.exec_driver_sql("CREATE TEMPORARY TABLE superseded_rid (record_id VARCHAR(80) PRIMARY KEY)")
    bulk.load_batches(
        conn, "superseded_rid", con.sql("SELECT record_id FROM earlier").to_arrow_reader(200_000)
    )
    params = {"src": source, "b": batch_id}
    if changes is not None and changes.kept(conn):
        # What the versions about to be superseded, and their open cases, count for now.
        old = [
            (int(r[0]), r[1])
            for r in conn.execute(
                text("""SELECT d.id, k.id FROM dose_record d
                LEFT JOIN work_case k ON k.dose_record_id = d.id AND k.status <> 'closed'
                WHERE d.source = :src AND d.is_latest AND d.batch_id <> :b
                  AND d.record_id IN (SELECT record_id FROM superseded_rid)"""),
                params,
            )
        ]
        changes.watch(conn, dose_records=[d for d, _ in old], cases=[k for _, k in old if k is not None])
    conn.execute(
        text("""UPDATE dose_record SET is_latest = false
        WHERE source = :src AND is_latest AND batch_id <> :b
          AND record_id IN (SELECT record_id FROM superseded_rid)"""),
        params,
    )
    conn.execute(
        text("""UPDATE work_case SET status = 'closed', resolution = 'superseded', closed_at = :now,
            version = version + 1
        WHERE status <> 'closed' AND dose_record_id IN (
          SELECT d.id FROM dose_record d WHERE d.source = :src AND NOT d.is_latest
            AND d.record_id IN (SELECT record_id FROM superseded_rid))""").bindparams(
            bindparam("now", utcnow(), type_=UtcDateTime)
        ),
        params,
    )
    conn.exec_driver_sql("DROP TABLE superseded_rid")

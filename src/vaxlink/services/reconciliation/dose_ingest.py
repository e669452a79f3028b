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
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from vaxlink.domain.interchange import DOSE_COLUMNS
from vaxlink.domain.outcomes import LINKED_SQL
from vaxlink.domain.reasons import REJECTION_REASONS
from vaxlink.files.read import checksum, contract_select, load_file
from vaxlink.matching import normalise
from vaxlink.matching.run import RunStats
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.audit import log as audit
from vaxlink.services.figures.refresh import batch_citizens_sql, record_rows, refresh_statistics
from vaxlink.services.figures.stats_upkeep import CellChanges
from vaxlink.services.figures.status import write_every_status
from vaxlink.services.reconciliation.aftermath import after_links_moved
from vaxlink.services.reconciliation.dose_flags import judge_staged_flags
from vaxlink.services.reconciliation.dose_staging import STORED, validate, ward_lists
from vaxlink.services.reconciliation.dose_versions import stage_versions, supersede, write_versions
from vaxlink.services.reconciliation.match_parameters import current_spec
from vaxlink.services.reconciliation.reconcile import Progress, match_staged
from vaxlink.services.reconciliation.staged_outcomes import (
    prepare_staged_cases,
    staged_results,
    store_staged_matches,
)
from vaxlink.settings import Settings
from vaxlink.storage import bulk
from vaxlink.storage.deferred_keys import deferred_keys, may_defer, truncatable
from vaxlink.storage.models import Batch, utcnow

log = logging.getLogger("vaxlink.ingest")
OUTCOMES = ("linked", "review", "unmatched", "rejected", "superseded", "unchanged")
# A batch whose records and results are stored, its citizens' statuses and the statistics still to follow.
LINKING = "linking"
# Batches up to this many rows (and touching up to this many citizens) move the statistics by difference,
# as officers' actions do: only the cells their records, cases and citizens count in. Larger ones refresh
# every cell (cheaper in one pass, and within SQLite's limit of bound parameters).
DIFFERENCE_LIMIT = 20_000
# The tables a first batch fills with its keys deferred, and how it knows it is the first.
FIRST_LOAD_TABLES = ("dose_record", "match_result")
_ANY_RECORD = "SELECT 1 FROM dose_record LIMIT 1"
# The batch's latest linked doses in DuckDB, in the shape of `status.linked_doses_of`.
_LINKED_STAGED = f"""(SELECT s.id, r.citizen_id, s.vaccination_date, s.dose_number, s.vaccine_code, s.dose_kind,
      NULL AS flags FROM staged s JOIN results r ON r.dose_record_id = s.id
    WHERE s.is_latest AND r.outcome IN {LINKED_SQL} AND r.citizen_id IS NOT NULL)"""

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
    phase = _Phases()
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
    duck = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        run = _Ingest(session, settings, spec, duck, phase, source, progress, uploaded_by, finish)
        run.before_writes, run.write_chunk, run.chunk_rows = before_writes, write_chunk, chunk_rows
        run.read_and_match(path, digest, seen, today, units)
        run.write_records()
        run.follow_links()
        return run.count()
    finally:
        duck.close()


class _Phases:
    """Where the ingest's time went: wall seconds by phase, each call closing the phase named."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._at = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._at, 3)
        self._at = now


class _Ingest:
    """One run of `ingest_batch`, step by step: read and match (reading only), write the records and
    their outcomes, follow the links moved, count."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        spec: MatchSpec,
        duck: DuckDBPyConnection,
        phase: _Phases,
        source: str,
        progress: Progress | None,
        uploaded_by: str | None,
        finish: bool,
    ) -> None:
        self.session, self.settings, self.spec, self.duck, self.phase = session, settings, spec, duck, phase
        self.source, self.uploaded_by, self.finish = source, uploaded_by, finish
        self.note: Progress = progress or (lambda _s, _d, _t: None)
        self.before_writes: Callable[[], None] | None = None
        self.write_chunk: Callable[[], AbstractContextManager[Connection]] | None = None
        self.chunk_rows = 5_000
        self.refreshed: int | None = None
        self.changes: CellChanges | None = None
        self.first_links = self.first_load = False
        self.rows = self.unchanged = self.total = self.first = self.earlier = 0

    def _reads(self) -> AbstractContextManager[Connection]:
        # With `before_writes` (the server's worker: nothing of its own uncommitted) everything up to the
        # first write reads through a connection of its own, so that the transaction that writes starts
        # only then: on SQLite a transaction that has read may not write once another has committed.
        bind = self.session.get_bind()
        if self.before_writes is not None and isinstance(bind, Engine):
            return bind.connect()
        return nullcontext(self.session.connection())

    def read_and_match(
        self, path: Path, digest: str, seen: Batch | None, today: date, units: str | None
    ) -> None:
        """Read and check the file, stage its records as new versions and match them, writing nothing but
        a new batch's row."""
        loaded = load_file(self.duck, path, "raw", progress=lambda n: self.note("read", n, None))
        self.rows = loaded.rows
        validate(self.duck, contract_select(loaded, DOSE_COLUMNS), today)
        with self._reads() as rdb:
            ward_lists(rdb, self.duck)
            self.note("check", loaded.rows, loaded.rows)
            self.phase("read")
            self.batch = seen if seen is not None else self._new_batch(path, digest)
            staged = stage_versions(rdb, self.duck, self.batch.id, self.source, units)
            self.unchanged, self.total, self.first, self.earlier = staged
            self.phase("versions")
            self.stats: RunStats = match_staged(rdb, self.duck, self.settings, self.spec, self.note)
            self.phase("match")
            if self.write_chunk is not None:
                judge_staged_flags(rdb, self.duck)
                prepare_staged_cases(rdb, self.duck, utcnow())
                # The last refresh before the chunks are written: one after it has counted them already.
                self.refreshed = _last_refresh(rdb)

    def _new_batch(self, path: Path, digest: str) -> Batch:
        """A new batch (the command line): its row first, for its id."""
        if self.before_writes is not None:
            self.before_writes()
            self.before_writes = None
        batch = Batch(source=self.source, checksum=digest, file_name=path.name, status="matching")
        self.session.add(batch)
        self.session.flush()
        return batch

    def write_records(self) -> None:
        """The records (in chunks of their own, or here), earlier versions superseded, match results,
        flags and cases."""
        if self.write_chunk is not None:
            _write_in_chunks(
                self.write_chunk, self.duck, self.spec, self.first, self.total, self.chunk_rows, self.note
            )
            self.phase("chunks")
        if self.before_writes is not None:
            self.before_writes()
        db = self.session.connection()
        if (
            self.write_chunk is None
            and db.dialect.name == "sqlite"
            and self.total
            and self.first != bulk.reserve_ids(db, "dose_record", self.total)
        ):
            # Another ingest wrote records since the ids were taken (a command beside the server): the
            # worker tries again. PostgreSQL's ids come from its sequence, reserved for good.
            raise RuntimeError("dose_record ids taken meanwhile")
        batch = self.batch
        batch.status, batch.rows_total, batch.uploaded_by = "matching", self.rows, self.uploaded_by
        batch.spec_version, batch.spec = self.spec.version, self.spec.to_dict()
        self.session.add(batch)
        self.session.flush()
        # The statistics by difference for a small batch. The server's worker (`finish=False`) moves here
        # the cells of the batch's records and cases, in the transaction that leaves the batch `linking`;
        # the statuses' cells follow with each chunk of statuses (`ingest_jobs.finish_links`). Its chunks
        # were committed before this transaction: a refresh since then has counted them, and the figures
        # are then refreshed at the end instead.
        changes = CellChanges() if self.rows <= DIFFERENCE_LIMIT else None
        if changes is not None and self.write_chunk is not None and _last_refresh(db) != self.refreshed:
            changes = None
        self.changes = changes
        # The first batch into an empty database: its records and results are loaded with their tables'
        # secondary keys dropped, and the keys built once after (`storage/deferred_keys.py`), when this
        # role owns the tables (the service's own role does not: its first batch keeps them).
        self.first_load = self.write_chunk is None and db.execute(text(_ANY_RECORD)).first() is None
        # On PostgreSQL, when those tables and every table that refers to them are empty, they are truncated
        # in this transaction and the rows copied frozen: never to be frozen again by vacuum, nor their
        # pages written again when first read (by the key builds that follow).
        defer = self.first_load and may_defer(db, FIRST_LOAD_TABLES)
        frozen = (truncatable(db, FIRST_LOAD_TABLES) if defer else None) or ()
        if frozen:
            db.exec_driver_sql(f"TRUNCATE {', '.join(frozen)}")
        with deferred_keys(db, FIRST_LOAD_TABLES) if defer else nullcontext():
            if self.write_chunk is None:
                write_versions(
                    db, self.duck, batch.id, self.source, self.note, changes, self.earlier, self.total, frozen
                )
            elif self.earlier:
                supersede(db, self.duck, batch.id, self.source, changes)
            self.phase("records")
            store_staged_matches(
                db, self.duck, self.spec, results_stored=self.write_chunk is not None, frozen=frozen
            )
            self.phase("results")
        self.phase("keys")
        # The spec the batch was decided with: its parameters as estimated on this batch and register.
        if self.stats.spec is not None:
            batch.spec = self.stats.spec.to_dict()

    def follow_links(self) -> None:
        """The aftermath of the links moved (flags, status, certificates), then the statistics, in the same
        transaction. New links' flags were judged with the batch; those who lost a dose to a record's new
        version are judged here."""
        db = self.session.connection()
        batch_id = self.batch.id
        self.first_links = db.execute(text("SELECT 1 FROM citizen_status LIMIT 1")).first() is None
        touched = None if self.first_links else _batch_citizens(db, batch_id)
        changes = self.changes
        if not self.finish:
            if changes is not None and (self.first_links or not changes.kept(db)):
                changes = None
            if changes is not None:
                _move_figures(self.session, changes, batch_id)
        elif changes is not None and touched is not None and changes.kept(db):
            citizens = [int(r[0]) for r in db.execute(text(f"SELECT DISTINCT citizen_id FROM ({touched}) t"))]
            if len(citizens) <= DIFFERENCE_LIMIT:
                changes.watch(db, citizens=citizens)
            else:
                changes = None
        else:
            changes = None
        self.changes = changes
        self.phase("touched")
        if self.finish:
            # A first batch into an empty database: every linked dose is one of its own, in DuckDB, where
            # the statuses and the records' figures are counted.
            every = self.first_links and self.first_load
            # Only a record's new version takes a dose from someone (its earlier version's citizen): without
            # earlier versions every touched citizen only gained doses, whose flags `store_staged_matches`
            # judged with the same rule over the same doses.
            after_links_moved(
                self.session,
                self.settings,
                touched,
                actor=self.uploaded_by or "ingest",
                flags=not self.first_links and self.earlier > 0,
                statuses=(lambda conn: write_every_status(conn, self.duck, _LINKED_STAGED))
                if every
                else None,
            )
            self.phase("aftermath")
            if changes is None:
                refresh_statistics(db, usable_rows=_first_batch_records(self.duck) if every else None)
            else:
                _move_figures(self.session, changes, batch_id)
            self.phase("statistics")
            self.note("status", 1, 1)
        if touched is not None:
            db.exec_driver_sql("DROP TABLE batch_citizen")

    def count(self) -> IngestResult:
        """Every row's outcome counted, the batch's counts and status stored."""
        db, duck, batch = self.session.connection(), self.duck, self.batch
        counts = {o: 0 for o in OUTCOMES}
        counts.update(
            _tally(
                duck,
                """SELECT CASE WHEN NOT s.is_latest THEN 'superseded' ELSE r.outcome END, count(*)
                FROM staged s LEFT JOIN results r ON r.dose_record_id = s.id GROUP BY 1""",
            )
        )
        counts["unchanged"] = self.unchanged
        stored = db.execute(
            text("SELECT count(*) FROM dose_record WHERE batch_id = :b"), {"b": batch.id}
        ).scalar_one()
        if stored + self.unchanged != self.rows:  # pragma: no cover - the bulk load is all or nothing
            raise RuntimeError(f"{stored} dose records stored for {self.rows} rows")
        reasons = _tally(
            duck,
            "SELECT r, count(*) FROM (SELECT unnest(string_split(problems, ';')) r FROM checked "
            "WHERE problems IS NOT NULL) GROUP BY r ORDER BY 2 DESC",
        )
        unknown = _tally(
            duck,
            "SELECT vaccine, count(*) FROM checked WHERE vaccine IS NOT NULL AND vaccine_code IS NULL "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 50",
        )
        stats = self.stats
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
        if self.finish:
            batch.status, batch.finished_at = "done", utcnow()
        else:
            batch.status = LINKING
            batch.counts["linking"] = {
                "first_links": self.first_links,
                "by_difference": self.changes is not None,
            }
        self.session.flush()
        self.phase("counts")
        log.info("batch %d: %d rows; seconds by phase %s", batch.id, self.rows, self.phase.seconds)
        result = IngestResult(
            batch.id,
            self.source,
            self.rows,
            counts,
            reasons=reasons,
            unknown_vaccines=unknown,
            seconds=stats.seconds,
            register=stats.register,
            phases=self.phase.seconds,
        )
        if not result.balanced:  # pragma: no cover - would mean a row was lost or counted twice
            raise RuntimeError(f"ingest counts do not add up: {counts} for {self.rows} rows")
        return result


def _write_in_chunks(
    write_chunk: Callable[[], AbstractContextManager[Connection]],
    duck: DuckDBPyConnection,
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
            records = duck.sql(f"SELECT {cols} FROM staged WHERE id BETWEEN {lo} AND {hi} ORDER BY id")
            bulk.load_batches(wconn, "dose_record", records.to_arrow_reader(100_000))
            bulk.load_batches(wconn, "match_result", staged_results(wconn, duck, spec, decided, (lo, hi)))
        note("load", hi - first + 1, total)


def _first_batch_records(duck: DuckDBPyConnection) -> pa.RecordBatchReader:
    """The statistics' record rows (`record_rows`) of a first batch, every record of the database, counted
    in DuckDB from its own tables by the same statement: records in `staged`, outcomes in `results`, the
    linked citizens' homes in `reg_home` (the whole register, prepared for the batch)."""
    duck.execute("""CREATE OR REPLACE TEMP VIEW stats_home AS
        SELECT citizen_id AS id, units AS current_units, ward AS current_ward_code FROM reg_home""")
    usable, _rejected = record_rows(records="staged", results="results", homes="stats_home")
    return duck.sql(f"""SELECT units, ward, outcome, day, vaccine_code, CAST(to_health AS INTEGER) AS to_health,
          CAST(n AS BIGINT) AS n FROM ({usable}) x""").to_arrow_reader(200_000)


def _tally(duck: DuckDBPyConnection, sql: str) -> dict[str, int]:
    """(name, count) rows of `sql` as a mapping, in their order."""
    return {str(k): int(v) for k, v in duck.execute(sql).fetchall()}


def _batch_citizens(db: Connection, batch_id: int) -> str:
    """The citizens whose status the batch can change, kept in a table with its row count known to the
    planner: as a subquery over a batch just loaded (no statistics yet), PostgreSQL took a 10,000-record
    batch for one row and walked each citizen's doses against every other's."""
    db.exec_driver_sql("DROP TABLE IF EXISTS batch_citizen")
    db.exec_driver_sql("CREATE TEMPORARY TABLE batch_citizen (citizen_id BIGINT PRIMARY KEY)")
    db.exec_driver_sql(
        f"INSERT INTO batch_citizen (citizen_id) SELECT DISTINCT citizen_id FROM ({batch_citizens_sql(batch_id)}) t"
    )
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("ANALYZE batch_citizen")
    return "SELECT citizen_id FROM batch_citizen"


def _last_refresh(db: Connection) -> int | None:
    """The id of the statistics' last full refresh (none before the first)."""
    found = db.execute(text("SELECT max(id) FROM stats_refresh")).scalar()
    return None if found is None else int(found)


def _move_figures(session: Session, changes: CellChanges, batch_id: int) -> None:
    """The statistics by difference: the batch's new records and cases counted for nothing before."""
    session.flush()
    db = session.connection()
    records = [
        int(r[0]) for r in db.execute(text("SELECT id FROM dose_record WHERE batch_id = :b"), {"b": batch_id})
    ]
    opened = [
        int(r[0])
        for r in db.execute(
            text(
                "SELECT k.id FROM work_case k JOIN dose_record d ON d.id = k.dose_record_id WHERE d.batch_id = :b"
            ),
            {"b": batch_id},
        )
    ]
    changes.created(dose_records=records, cases=opened)
    if db.dialect.name == "postgresql":
        # The lock officers' actions take before moving cells (see `casework.keep_figures`).
        db.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.CHAIN_LOCK})
    changes.apply(db)

"""Uploaded batches ingested off the request path, by a worker thread of the server, resumably.

An upload is stored under `uploads/batch-<id>-<checksum>/` in the work directory and its batch row
committed as `staging` by the request, which answers at once. The worker (one thread per server process)
takes the batches that wait, one at a time:

1. `staging`: the file is read, checked and matched without writing; its records and their match results
   are then written `CHUNK_ROWS` at a time, a short transaction each, and the rest (earlier versions
   superseded, the cases, the counts) in a last one, which leaves the batch `linking`. A run killed before
   that last commit leaves the batch `staging` with some of its records: the next run removes them, a
   chunk at a time, before it starts again, so nothing is lost or stored twice;
2. `linking`: the citizens the batch touches get their dose flags, status and certificates recomputed, a
   few thousand citizens per transaction, and the statistics cells they count in move by the difference
   in the same transaction (the cells of the batch's records and cases moved with step 1's last one);
   then the batch is `done`. A batch whose cells cannot be kept so (its links are the first, a large
   batch, a refresh between its chunks) has its statistics refreshed instead at the end. Each of these
   recomputes from what is stored, so doing one twice changes nothing.

On SQLite every transaction of the worker takes the app's write lock, as requests do, and only from its
first write: between two transactions pages and lookups get their turn. At start-up, and every
`RESCAN_SECONDS`, the worker looks for batches left waiting (a server killed in the middle, a process
gone on another host); on PostgreSQL a session advisory lock held for the length of a job keeps two
processes from taking the same batch, and is released by the database when a process dies.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from vaxlink.domain.errors import InputError, VaxlinkError
from vaxlink.files.read import checksum
from vaxlink.services.audit import log as audit
from vaxlink.services.figures.refresh import batch_citizens_sql, refresh_statistics
from vaxlink.services.figures.stats_upkeep import CellChanges
from vaxlink.services.reconciliation.aftermath import after_links_moved
from vaxlink.services.reconciliation.dose_ingest import LINKING, ingest_batch
from vaxlink.services.reconciliation.dose_versions import undo_partial
from vaxlink.settings import Settings
from vaxlink.storage.models import Batch, utcnow

log = logging.getLogger("vaxlink.ingest")
WAITING = ("staging", LINKING)
RESCAN_SECONDS = 30.0
# Citizens whose statuses are recomputed in one transaction: a few hundred milliseconds on SQLite.
CHUNK_CITIZENS = 2_000
# Dose records (with their match results) written in one transaction of step 1: a few hundred milliseconds
# on SQLite.
CHUNK_ROWS = 5_000
# Batches being run by a worker of this process (SQLite has one server process; PostgreSQL adds a lock
# shared by every process).
_RUNNING: set[tuple[str, int]] = set()
_RUNNING_LOCK = threading.Lock()
# Seconds the worker leaves SQLite's writer free after each of its transactions.
WRITER_PAUSE = 0.02
# A job that fails this often in one process is left to the next start (or to an operator).
MAX_ATTEMPTS = 3


_COLUMN = re.compile(r"[a-z][a-z0-9_]{0,39}")


def public_refusal(message: str) -> tuple[str, str]:
    """(Vietnamese, English) words of a reader's refusal without what the file holds. The reader's message
    ("vi / en: detail") was written for an operator at a terminal: its detail may quote the file (a header
    row that is really a person's record, a value a parser choked on, the file's name). An answer on the
    web travels further (proxies, browser history, support tickets), so it keeps the detail only when it is
    a list of the contract's column names (the required columns missing)."""
    head, _, detail = message.partition(": ")
    head = re.sub(r" ?'[^']*'", "", head)
    vi, _, en = head.partition(" / ")
    names = [n.strip() for n in detail.split(" (", 1)[0].split(",")]
    columns = ": " + ", ".join(names) if detail and all(_COLUMN.fullmatch(n) for n in names) else ""
    return vi + columns, (en or vi) + columns


def job_folder(settings: Settings, batch_id: int, digest: str) -> Path:
    """Where a batch's upload waits for the worker: named by the batch and its content, so that a folder
    left by a request that rolled back is never taken for another batch that reuses the id."""
    return Path(settings.work_dir) / "uploads" / f"batch-{int(batch_id)}-{digest[:16]}"


def park_upload(settings: Settings, path: Path, batch_id: int, digest: str) -> Path:
    """Move a stored upload to its batch's folder; returns the file's new path."""
    folder = job_folder(settings, batch_id, digest)
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    path.parent.rename(folder)
    return folder / path.name


def _upload_of(settings: Settings, b: Batch) -> Path | None:
    folder = job_folder(settings, b.id, b.checksum)
    if not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if p.is_file()]
    return files[0] if len(files) == 1 else None


def _keep_figures(conn: Connection, changes: CellChanges) -> None:
    """Move the cells by the difference, as the command line's ingest and officers' actions do."""
    if conn.dialect.name == "postgresql":
        # The lock officers' actions take before moving cells (see `casework.keep_figures`).
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": audit.CHAIN_LOCK})
    changes.apply(conn)


class IngestJobs:
    """The server process's ingest worker. `submit` wakes it for a batch just committed; `start` also
    resumes what was left waiting."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        sessions: sessionmaker[Session],
        audit_key: bytes,
        write_lock: threading.Lock | None,
        chunk_citizens: int = CHUNK_CITIZENS,
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.audit_key = audit_key
        self.write_lock = write_lock
        self.chunk_citizens = chunk_citizens
        self.chunk_rows = chunk_rows
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._attempts: dict[int, int] = {}
        self.idle = threading.Event()

    # --- control --------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="vaxlink-ingest", daemon=True)
                    self._thread.start()

    def submit(self, batch_id: int) -> None:
        self.start()
        self.idle.clear()
        self._queue.put(batch_id)

    def close(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        self.run_waiting()
        while not self._stop.is_set():
            try:
                item = self._queue.get(timeout=RESCAN_SECONDS)
            except queue.Empty:
                item = -1
            if item is None or self._stop.is_set():
                return
            if item > 0:
                self._await_commit(item)
            self.run_waiting()

    def _await_commit(self, batch_id: int) -> None:
        # The request commits the batch row after it hands the batch over.
        for _ in range(300):
            with self.sessions() as s:
                if s.scalar(select(Batch.status).where(Batch.id == batch_id)) is not None:
                    return
            if self._stop.wait(0.1):
                return

    def run_waiting(self) -> int:
        """Run every batch left waiting, oldest first; returns how many were finished."""
        finished = 0
        try:
            while not self._stop.is_set():
                with self.sessions() as s:
                    ids = list(
                        s.scalars(select(Batch.id).where(Batch.status.in_(WAITING)).order_by(Batch.id))
                    )
                ids = [i for i in ids if self._attempts.get(i, 0) < MAX_ATTEMPTS]
                ran = False
                for batch_id in ids:
                    with self._claim(batch_id) as mine:
                        if not mine:
                            continue
                        ran = True
                        if self.run_one(batch_id):
                            finished += 1
                if not ran:
                    break
        except Exception as e:  # the database away: the next wake-up or rescan tries again
            log.error("ingest worker: %s", type(e).__name__)
        finally:
            if self._queue.empty():
                self.idle.set()
        return finished

    @contextlib.contextmanager
    def _claim(self, batch_id: int) -> Iterator[bool]:
        """Hold the batch for this worker (PostgreSQL: also a session advisory lock on a connection of its
        own, for every process and host)."""
        key = (self.engine.url.render_as_string(hide_password=True), int(batch_id))
        with _RUNNING_LOCK:
            if key in _RUNNING:
                mine = False
            else:
                _RUNNING.add(key)
                mine = True
        if not mine:
            yield False
            return
        try:
            with self._claim_shared(batch_id) as shared:
                yield shared
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(key)

    @contextlib.contextmanager
    def _claim_shared(self, batch_id: int) -> Iterator[bool]:
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        with self.engine.connect() as conn:
            key = f"vaxlink:ingest:{int(batch_id)}"
            got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).scalar_one()
            conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
                    conn.commit()

    # --- one batch ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        lock = self.write_lock
        if lock is not None:
            lock.acquire()
        try:
            yield
        finally:
            if lock is not None:
                lock.release()
                # A lock is not handed to the longest waiter: without a pause the worker would take it back
                # for its next chunk before a waiting request's thread woke.
                time.sleep(WRITER_PAUSE)

    @contextlib.contextmanager
    def _chunk(self) -> Iterator[Connection]:
        """One short write transaction of the worker's own, committed on exit, the writer then left free."""
        with self._writing(), self.engine.begin() as conn:
            yield conn

    def run_one(self, batch_id: int) -> bool:
        """Take one waiting batch as far as it goes; True when it is done."""
        with self.sessions() as s:
            b = s.get(Batch, batch_id)
            if b is None or b.status not in WAITING:
                return False
            status, source, uploaded_by = b.status, b.source, b.uploaded_by
            path = _upload_of(self.settings, b)
            digest = b.checksum
        try:
            if status == "staging":
                if path is None or checksum(path) != digest:
                    self._fail(batch_id, "Không còn tệp tải lên", "the uploaded file is gone")
                    return False
                self._undo_partial(batch_id)
                self._ingest(batch_id, path, source, uploaded_by)
                shutil.rmtree(path.parent, ignore_errors=True)
            self.finish_links(batch_id)
            return True
        except (InputError, VaxlinkError) as e:
            if status == "staging":
                self._fail(batch_id, *public_refusal(str(e)))
                if path is not None:
                    shutil.rmtree(path.parent, ignore_errors=True)
            else:
                self._attempts[batch_id] = self._attempts.get(batch_id, 0) + 1
        except Exception as e:  # the thread has no caller: the row carries the outcome, the log the type
            log.error("batch %s: %s", batch_id, type(e).__name__)
            self._attempts[batch_id] = self._attempts.get(batch_id, 0) + 1
            if status == "staging" and self._attempts[batch_id] >= MAX_ATTEMPTS:
                self._fail(batch_id, "Lỗi khi xử lý lô", "the batch could not be processed")
        return False

    def _undo_partial(self, batch_id: int) -> None:
        """What a killed run of step 1 wrote of the batch, removed a chunk at a time."""
        while True:
            with self._chunk() as conn:
                if not undo_partial(conn, batch_id, self.chunk_rows):
                    return

    def _ingest(self, batch_id: int, path: Path, source: str, uploaded_by: str | None) -> None:
        """Step 1: records and results in chunks, then the rest in one transaction; on SQLite the write
        lock only for each of them."""
        held = False

        def before_writes() -> None:
            nonlocal held
            if self.write_lock is not None and not held:
                self.write_lock.acquire()
                held = True

        try:
            with self.sessions() as s, s.begin():
                audit.bind_key(s, self.audit_key)
                ingest_batch(
                    s,
                    self.settings,
                    path,
                    source=source,
                    uploaded_by=uploaded_by,
                    finish=False,
                    before_writes=before_writes,
                    write_chunk=self._chunk,
                    chunk_rows=self.chunk_rows,
                )
        finally:
            if held and self.write_lock is not None:
                self.write_lock.release()

    def finish_links(self, batch_id: int) -> None:
        """Step 2: statuses and certificates of the batch's citizens in short transactions, then the
        statistics; the batch is `done`."""
        with self.sessions() as s:
            b = s.get(Batch, batch_id)
            if b is None or b.status != LINKING:
                return
            linking = (b.counts or {}).get("linking") or {}
            first_links = bool(linking.get("first_links"))
            # The records' and cases' cells were moved with step 1 (see `ingest_batch`): the statuses' follow
            # chunk by chunk. Otherwise (the first links, a refresh meanwhile, a large batch) a refresh.
            by_difference = bool(linking.get("by_difference"))
            actor = b.uploaded_by or "ingest"
            touched = (
                "SELECT citizen_id FROM match_result WHERE citizen_id IS NOT NULL"
                if first_links
                else batch_citizens_sql(batch_id)
            )
            citizens = [
                int(r[0])
                for r in s.execute(text(f"SELECT DISTINCT citizen_id FROM ({touched}) t ORDER BY 1"))
            ]
        step = max(self.chunk_citizens, 1)
        for i in range(0, len(citizens), step):
            # The chunk's citizens by their ids (integers read above), not as a range of the batch's query:
            # that query, run again for each chunk, cost about a second each on a 100 k-record batch.
            ids = ",".join(str(int(c)) for c in citizens[i : i + step])
            chunk = f"SELECT id AS citizen_id FROM citizen WHERE id IN ({ids})"
            with self._writing(), self.sessions() as s, s.begin():
                audit.bind_key(s, self.audit_key)
                changes = CellChanges() if by_difference else None
                if changes is not None:
                    # What the chunk's citizens count for before their statuses are recomputed; done again
                    # after a crash, the chunk moves nothing, as its statuses are already what they become.
                    changes.watch(s.connection(), citizens=citizens[i : i + step])
                after_links_moved(s, self.settings, chunk, actor=actor, flags=not first_links)
                if changes is not None:
                    s.flush()
                    _keep_figures(s.connection(), changes)
        with self._writing(), self.sessions() as s, s.begin():
            audit.bind_key(s, self.audit_key)
            if not by_difference:
                refresh_statistics(s.connection())
            b = s.get(Batch, batch_id)
            if b is not None and b.status == LINKING:
                counts: dict[str, Any] = dict(b.counts or {})
                counts.pop("linking", None)
                b.counts, b.status, b.finished_at = counts, "done", utcnow()

    def _fail(self, batch_id: int, error_vi: str, error_en: str) -> None:
        # A batch that fails in step 1 keeps none of the records its chunks wrote.
        self._undo_partial(batch_id)
        with self._writing(), self.sessions() as s, s.begin():
            b = s.get(Batch, batch_id)
            if b is not None and b.status in WAITING:
                b.status, b.finished_at = "failed", utcnow()
                b.counts = {"error": error_vi[:400], "error_en": error_en[:400]}

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """For tests and benchmarks: wait until nothing is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle.wait(0.05) and self._queue.empty():
                return True
        return False

"""Health's side: a health data officer uploads a dose file, follows its ingest, and downloads the per-record
answer and the corrections health must make; records settled by wards since show in both.

A batch belongs to the jurisdiction its uploader held when it was uploaded (stored on the batch); a reader
sees the batches whose jurisdiction lies inside theirs (a province's health officers see each other's
batches, the country sees all, including those loaded from the command line). The clause is SQL over
`batch` and `admin_unit`, like every other jurisdiction filter.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from vaxlink.domain.audit_actions import AuditAction
from vaxlink.domain.outcomes import MatchOutcome
from vaxlink.domain.permissions import Level
from vaxlink.files import write as safe_files
from vaxlink.files.read import checksum
from vaxlink.services.access.auth import Principal
from vaxlink.services.audit import log as audit
from vaxlink.services.errors import Invalid, NotFound
from vaxlink.services.reconciliation.answers import corrections_count, export_answer
from vaxlink.services.reconciliation.ingest_jobs import WAITING, IngestJobs, park_upload, public_refusal
from vaxlink.settings import Settings
from vaxlink.storage.models import AdminUnitRow, Batch, DoseRecord, MatchResult, utcnow
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.scope import Scope

log = logging.getLogger("vaxlink.batches")
# Through the API, files up to this size are ingested within the request (a few seconds); larger ones,
# and every upload from the pages, by the server's ingest worker, the page following the batch's status.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024
SUFFIXES = (".csv", ".xlsx", ".parquet", ".jsonl", ".json", ".ndjson", ".tsv", ".txt")
CORRECTION_COLUMNS = ("correct_full_name", "correct_date_of_birth", "correct_sex", "correct_id_number")


def batches_in(scope: Scope) -> ColumnElement[bool]:
    """Batches whose own jurisdiction lies inside `scope` (SQL over the batch's columns and `admin_unit`).
    A batch keeps the jurisdiction it was uploaded in: a later change of its uploader's role changes
    nothing of who reads it."""
    if scope.level is Level.COUNTRY:
        return true()
    same = and_(Batch.scope_level == scope.level.value, Batch.scope_code == scope.code)
    if scope.level is Level.WARD:
        return and_(Batch.scope_units == scope.units, same)
    below = select(AdminUnitRow.code).where(AdminUnitRow.structure == scope.units)
    if scope.level is Level.DISTRICT:
        wards = below.where(AdminUnitRow.level == "ward", AdminUnitRow.parent_code == scope.code)
        return and_(
            Batch.scope_units == scope.units,
            or_(same, and_(Batch.scope_level == "ward", Batch.scope_code.in_(wards))),
        )
    districts = below.where(AdminUnitRow.level == "district", AdminUnitRow.province_code == scope.code)
    wards = below.where(AdminUnitRow.level == "ward", AdminUnitRow.province_code == scope.code)
    return and_(
        Batch.scope_units == scope.units,
        or_(
            same,
            and_(Batch.scope_level == "district", Batch.scope_code.in_(districts)),
            and_(Batch.scope_level == "ward", Batch.scope_code.in_(wards)),
        ),
    )


def _belongs_to(b: Batch, who: Principal) -> None:
    """A batch uploaded for the first time takes its uploader's jurisdiction, for good."""
    if b.scope_level is None:
        b.scope_level, b.scope_units, b.scope_code = who.scope.level.value, who.scope.units, who.scope.code


@dataclass
class BatchView:
    id: int
    source: str
    file_name: str
    status: str
    rows_total: int
    counts: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    uploaded_by: str | None
    # Records of the batch a ward has settled since the ingest (linked by hand or found wrong in health).
    settled_by_wards: int
    health_wrong: int
    # Rows of the corrections for health (the download, the answer with corrections=1), once done.
    corrections: int = 0


def _view(b: Batch, settled: int = 0, wrong: int = 0) -> BatchView:
    return BatchView(
        b.id,
        b.source,
        b.file_name,
        b.status,
        b.rows_total or 0,
        dict(b.counts or {}),
        b.created_at,
        b.finished_at,
        b.uploaded_by,
        settled,
        wrong,
    )


def list_batches(session: Session, who: Principal, limit: int = 100) -> list[BatchView]:
    rows = list(
        session.scalars(
            select(Batch)
            .where(batches_in(who.scope))
            .order_by(Batch.created_at.desc(), Batch.id.desc())
            .limit(limit)
        )
    )
    return [_view(b) for b in rows]


def _batch_in_scope(session: Session, who: Principal, batch_id: int) -> Batch:
    b = session.scalar(
        select(Batch)
        .where(Batch.id == batch_id, batches_in(who.scope))
        .execution_options(populate_existing=True)
    )
    if b is None:
        raise NotFound("batch")
    return b


def batch_detail(session: Session, who: Principal, batch_id: int) -> BatchView:
    b = _batch_in_scope(session, who, batch_id)
    settled = session.scalar(
        select(func.count())
        .select_from(MatchResult)
        .join(DoseRecord, DoseRecord.id == MatchResult.dose_record_id)
        .where(
            DoseRecord.batch_id == b.id,
            DoseRecord.is_latest,
            MatchResult.outcome == MatchOutcome.CONFIRMED.value,
        )
    )
    wrong = session.scalar(
        select(func.count())
        .select_from(CaseRow)
        .join(DoseRecord, DoseRecord.id == CaseRow.dose_record_id)
        .where(DoseRecord.batch_id == b.id, DoseRecord.is_latest, CaseRow.resolution == "health_wrong")
    )
    view = _view(b, int(settled or 0), int(wrong or 0))
    if b.status == "done":
        view.corrections = corrections_count(session.connection(), b.id)
    return view


_SAFE = re.compile(r"[^0-9A-Za-z._-]+")


def save_upload(settings: Settings, file_name: str, stream: BinaryIO) -> Path:
    """Copy an uploaded file to the work directory under a fresh folder, keeping a harmless form of its
    name (the reader goes by the suffix)."""
    name = _SAFE.sub("_", Path(file_name or "upload.csv").name)[-120:] or "upload.csv"
    if not name.lower().endswith(SUFFIXES):
        raise Invalid(
            "Định dạng tệp không hỗ trợ (CSV, XLSX, Parquet, JSON Lines)",
            "unsupported file type (CSV, XLSX, Parquet, JSON Lines)",
            "BAD_FILE_TYPE",
        )
    folder = Path(settings.work_dir) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise Invalid("Tệp quá lớn", "file too large", "FILE_TOO_LARGE")
                out.write(chunk)
        if size == 0:
            raise Invalid("Tệp rỗng", "empty file", "EMPTY_FILE")
    except BaseException:
        discard_upload(path)
        raise
    return path


def discard_upload(path: Path) -> None:
    """Remove a stored upload and its folder (a refused file must not stay on disk)."""
    shutil.rmtree(path.parent, ignore_errors=True)


def _source(source: str | None) -> str:
    s = (source or "").strip()[:80]
    return s or "default"


def ingest_in_background(
    session: Session, settings: Settings, jobs: IngestJobs, who: Principal, path: Path, source: str | None
) -> int:
    """Register the batch in the request's transaction (status `staging`), park the upload in the batch's
    folder and hand it to the server's ingest worker, which takes it once the row is committed; the row's
    status tells how far it got (`linking`, `done`, `failed`). The same content already waiting or done
    is that batch."""
    src = _source(source)
    digest = checksum(path)
    b = session.scalar(select(Batch).where(Batch.source == src, Batch.checksum == digest))
    if b is not None and b.status in ("done", *WAITING, "matching"):
        discard_upload(path)
        return b.id
    if b is None:
        b = Batch(
            source=src,
            checksum=digest,
            file_name=path.name,
            status="staging",
            rows_total=0,
            created_at=utcnow(),
            uploaded_by=who.username,
        )
        session.add(b)
    else:
        b.status, b.uploaded_by, b.finished_at = "staging", who.username, None
    _belongs_to(b, who)
    session.flush()
    batch_id = b.id
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.BATCH_UPLOADED,
        resource_type="batch",
        resource_id=batch_id,
        jurisdiction=who.scope.label,
        details={"background": True},
    )
    park_upload(settings, path, batch_id, digest)
    jobs.submit(batch_id)
    return batch_id


def receive_upload(
    session: Session,
    settings: Settings,
    jobs: IngestJobs,
    who: Principal,
    file_name: str | None,
    stream: BinaryIO,
    source: str | None,
) -> int:
    """Store an upload and hand it to the server's ingest worker (`ingest_in_background`): the request
    answers at once, whatever the file's size, and never holds the database's writer for an ingest."""
    path = save_upload(settings, file_name or "upload.csv", stream)
    try:
        return ingest_in_background(session, settings, jobs, who, path, source)
    except BaseException as e:
        # A refused (or failed) file is not kept; a file handed to the worker stays until it is done.
        discard_upload(path)
        if isinstance(e, Invalid) and e.code == "BAD_FILE":
            # In the reader's own words but without what the file holds (see `ingest_jobs.public_refusal`).
            vi, en = public_refusal(e.message_vi)
            raise Invalid(vi, en, e.code) from None
        raise


def _answer_table(session: Session, settings: Settings, batch_id: int) -> pa.Table:
    # The work directory may not exist yet on a server that has ingested nothing since it started.
    Path(settings.work_dir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(settings.work_dir)) as tmp:
        out = Path(tmp) / "answer.parquet"
        export_answer(session.connection(), batch_id, out)
        return pq.read_table(out)


def health_corrections(table: pa.Table) -> pa.Table:
    """The rows health must change: a ward found the record wrong, or the register says otherwise."""
    keep = pc.equal(table.column("blame"), "health")
    for name in CORRECTION_COLUMNS:
        keep = pc.or_kleene(keep, pc.invert(pc.is_null(table.column(name))))
    return table.filter(pc.fill_null(keep, False))


def answer_file(
    session: Session,
    settings: Settings,
    who: Principal,
    batch_id: int,
    fmt: str,
    *,
    corrections: bool = False,
    localise: Callable[[pa.Table], pa.Table] | None = None,
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the batch's answer, or of the corrections only; `localise` puts
    the contract's headers and codes in the reader's words (a download for people)."""
    b = _batch_in_scope(session, who, batch_id)
    if b.status != "done":
        raise Invalid("Lô dữ liệu chưa xử lý xong", "the batch is not processed yet", "BATCH_NOT_DONE")
    table = _answer_table(session, settings, b.id)
    if corrections:
        table = health_corrections(table)
    name = f"{'y-te-can-sua' if corrections else 'ket-qua'}-lo-{b.id}.{fmt}"
    audit.record(
        session,
        actor=who.username,
        action=AuditAction.BATCH_ANSWER_DOWNLOADED,
        resource_type="batch",
        resource_id=b.id,
        jurisdiction=who.scope.label,
        details={"corrections": corrections, "rows": table.num_rows, "format": fmt},
    )
    if localise is not None:
        table = localise(table)
    if fmt == "csv":
        return safe_files.csv_bytes(table, bom=True), "text/csv; charset=utf-8", name
    if fmt == "xlsx":
        return safe_files.xlsx_bytes(table, "ket-qua"), safe_files.XLSX_MEDIA, name
    raise Invalid("Định dạng không hỗ trợ", "unsupported format", "BAD_FORMAT")

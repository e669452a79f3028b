"""Health's batches: upload a dose file (multipart, with a bearer token; always processed by the server's
ingest worker, the upload answering 202 at once), follow its progress, download the
per-record answer and the corrections health must make."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel

from vaxlink.services.reconciliation import batches
from vaxlink.web.api.models import problems
from vaxlink.web.params import BatchReading, RowId, Uploading
from vaxlink.web.security import DB, state

router = APIRouter(prefix="/api/v1/batches", tags=["batches"])
Source = Annotated[str, Form(max_length=80, pattern=r"^[0-9A-Za-z._:-]*$")]
PROBLEMS = problems(
    {404: "no such batch in your jurisdiction", 422: "malformed file or input, or the batch is not done"}
)


class UploadOut(BaseModel):
    batch_id: int
    # staging | matching | linking | done | failed
    status: str
    # Where the batch's progress and counts are read (GET, the same token).
    status_url: str


@router.post("", response_model=UploadOut, status_code=202, responses=PROBLEMS)
def upload(
    request: Request,
    response: Response,
    session: DB,
    who: Uploading,
    file: Annotated[UploadFile, File()],
    source: Source = "",
) -> UploadOut:
    """Upload a dose file (CSV, XLSX, Parquet, JSON Lines). Every file is accepted with 202 and processed
    in the background: follow `status_url` (GET /batches/{id}) until `status` is `done` (or `failed`, with
    the reason in `counts.error` / `counts.error_en`). The same content sent again is the same batch."""
    st = state(request)
    batch_id = batches.receive_upload(
        session, st.settings, st.jobs, who, file.filename, file.file, source or None
    )
    b = batches.batch_detail(session, who, batch_id)
    url = f"{router.prefix}/{batch_id}"
    response.headers["location"] = url
    return UploadOut(batch_id=batch_id, status=b.status, status_url=url)


@router.get("", response_model=list[batches.BatchView], responses=PROBLEMS)
def list_batches(session: DB, who: BatchReading) -> Any:
    """Batches uploaded by users of your jurisdiction, newest first."""
    return batches.list_batches(session, who)


@router.get("/{batch_id}", response_model=batches.BatchView, responses=PROBLEMS)
def get_batch(batch_id: RowId, session: DB, who: BatchReading) -> Any:
    """Status and counts; `settled_by_wards` grows as wards settle the batch's records."""
    return batches.batch_detail(session, who, batch_id)


@router.get("/{batch_id}/answer", responses=PROBLEMS)
def answer(
    request: Request,
    batch_id: RowId,
    session: DB,
    who: BatchReading,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    corrections: bool = False,
) -> Response:
    """The per-record answer (or with `corrections=true` only the rows health must correct)."""
    body, media, name = batches.answer_file(
        session, state(request).settings, who, batch_id, format, corrections=corrections
    )
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})

"""Health's batches as pages: the list with an upload form, one batch's progress and its downloads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from vaxlink.files import write as safe_files
from vaxlink.services.reconciliation import batches
from vaxlink.web.i18n import answer_words
from vaxlink.web.params import BatchReading, RowId, Uploading
from vaxlink.web.render import render
from vaxlink.web.security import DB, state

router = APIRouter(include_in_schema=False)


@router.get("/batches")
def list_page(request: Request, session: DB, who: BatchReading) -> Response:
    return render(request, "batches.html", {"items": batches.list_batches(session, who)})


@router.post("/batches")
def upload(
    request: Request,
    session: DB,
    who: Uploading,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form(max_length=80, pattern=r"^[0-9A-Za-z._:-]*$")] = "",
) -> Response:
    # The file is stored and the answer goes at once; the batch's page follows the worker's progress.
    st = state(request)
    batch_id = batches.receive_upload(
        session, st.settings, st.jobs, who, file.filename, file.file, source or None
    )
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)


@router.get("/batches/{batch_id}")
def batch_page(request: Request, batch_id: RowId, session: DB, who: BatchReading) -> Response:
    return render(request, "batch.html", {"b": batches.batch_detail(session, who, batch_id)})


@router.get("/batches/{batch_id}/answer.{fmt}")
def answer(
    request: Request,
    batch_id: RowId,
    fmt: Annotated[str, Path(pattern="^(csv|xlsx)$")],
    session: DB,
    who: BatchReading,
    corrections: Annotated[int, Query(ge=0, le=1)] = 0,
    lang: Annotated[str, Query(pattern="^(vi|en)$")] = "vi",
) -> Response:
    # People's download: Vietnamese headers and words by default; `lang=en` is the contract (English
    # column names, codes), as programs read it.
    said = answer_words(lang)
    body, media, name = batches.answer_file(
        session,
        state(request).settings,
        who,
        batch_id,
        fmt,
        corrections=bool(corrections),
        localise=(lambda t: safe_files.localise_table(t, *said)) if said is not None else None,
    )
    return Response(body, media_type=media, headers={"content-disposition": f'attachment; filename="{name}"'})

"""A citizen asks online for a correction. Identity is confirmed by the self-service sign-in (number, birth
date, one-time code by SMS, `pages.citizen_self`); its pass cookie admits the citizen here. Nothing
personal goes into the URL."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from vaxlink.services.errors import Invalid
from vaxlink.services.workbench import citizen_requests
from vaxlink.web.i18n import message_of
from vaxlink.web.pages.citizen_self import _citizen_of, _csrf_ok, _page
from vaxlink.web.security import DB, Public

router = APIRouter(include_in_schema=False)


@router.get("/self/correction", dependencies=[Public])
def form(request: Request, session: DB) -> Response:
    if _citizen_of(request, session) is None:
        return RedirectResponse("/self", status_code=303)
    return _page(
        request, "self_correction.html", {"error": None, "filed": None, "fields": citizen_requests.FIELDS}
    )


@router.post("/self/correction", dependencies=[Public])
def file(
    request: Request,
    session: DB,
    field: Annotated[str, Form(max_length=20)] = "other",
    text: Annotated[str, Form(max_length=1000)] = "",
    self_csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    found = _citizen_of(request, session)
    if found is None or not _csrf_ok(request, self_csrf):
        return RedirectResponse("/self", status_code=303)
    try:
        case_id = citizen_requests.file_request(session, found[0], field, text)
    except Invalid as e:
        message = message_of(request, e)
        return _page(
            request,
            "self_correction.html",
            {
                "error": message,
                "filed": None,
                "fields": citizen_requests.FIELDS,
                "chosen": field,
                "text": text,
            },
            status=422,
        )
    return _page(
        request, "self_correction.html", {"error": None, "filed": case_id, "fields": citizen_requests.FIELDS}
    )

"""Verifier pages: a chip card's status by its QR text, a picture or the number; and an `HC1:` certificate
checked in plain words."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from vaxlink.services.access.auth import Principal
from vaxlink.services.certificates.checks import MAX_HC1, MAX_PICTURE, verify_and_record
from vaxlink.services.errors import LookupInputError
from vaxlink.services.lookup.answer import lookup
from vaxlink.services.lookup.presented import MAX_TEXT, LookupInput, parse_input, parse_picture
from vaxlink.web.i18n import CATALOG, MESSAGES, lang_of, message_of, translator
from vaxlink.web.lookup_runtime import limited_sync, record_invalid, watch_sync
from vaxlink.web.params import Checking
from vaxlink.web.render import render
from vaxlink.web.security import DB, state

router = APIRouter(include_in_schema=False)

WORDS = CATALOG["verify"]
CHECK_WORDS = CATALOG["verify_checks"]
# The checks that decode the code: their failures are told in the words of "unreadable".
DECODING = ("prefix", "base45", "zlib", "cose", "cwt")


def _in_words(result: dict[str, Any], lang: str) -> dict[str, Any]:
    i = 1 if lang == "en" else 0
    checks = []
    for c in result.get("checks", []):
        message = c["message_en"] if i else c["message_vi"]
        if c["status"] == "failed" and c["name"] in DECODING:
            message = WORDS["unreadable"][i]
        name = CHECK_WORDS.get(c["name"], (c["name"], c["name"]))[i]
        status = MESSAGES.get(f"check_{c['status']}", (c["status"], c["status"]))[i]
        checks.append({**c, "label": name, "status_text": status, "message": message})
    failed = next((c for c in checks if c["status"] == "failed"), None)
    return {**result, "checks": checks, "reason": failed["message"] if failed else None}


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return render(request, name, {"w": translator(lang_of(request), WORDS), **context}, status=status)


def _too_many(
    request: Request, refused: Response, name: str, context: dict[str, Any], what_en: str, what_vi: str
) -> Response:
    """The page of a verifier over the rate (lookups and certificate checks share it)."""
    seconds = refused.headers["retry-after"]
    error = (
        f"Too many {what_en}; try again in {seconds} s"
        if lang_of(request) == "en"
        else f"{what_vi} quá nhiều; thử lại sau {seconds} giây"
    )
    response = _page(request, name, {**context, "error": error}, status=429)
    response.headers["retry-after"] = seconds
    return response


def _lookup_page(
    request: Request, session: Any, who: Principal, read: Any, typed: str = "", born: str | None = None
) -> Response:
    refused = limited_sync(request, session, who)
    if refused is not None:
        return _too_many(request, refused, "verify_lookup.html", {"answer": None}, "lookups", "Tra cứu")
    try:
        given: LookupInput = read()
    except LookupInputError as e:
        record_invalid(session, who)
        error = message_of(request, e)
        return _page(
            request,
            "verify_lookup.html",
            {"error": error, "answer": None, "text": typed, "born": born or ""},
            status=422,
        )
    watch_sync(request, session, who, given)
    answer = lookup(session, state(request).settings, who, given)
    status = 200 if answer.found else 404
    return _page(
        request,
        "verify_lookup.html",
        {"error": None, "answer": answer.public(lang_of(request))},
        status=status,
    )


@router.get("/verify")
def lookup_form(request: Request, who: Checking) -> Response:
    return _page(request, "verify_lookup.html", {"error": None, "answer": None})


@router.post("/verify")
def lookup_text(
    request: Request,
    session: DB,
    who: Checking,
    text: Annotated[str, Form(max_length=MAX_TEXT)],
    date_of_birth: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    return _lookup_page(
        request, session, who, lambda: parse_input(text, birth_date=date_of_birth), text, date_of_birth
    )


@router.post("/verify/image")
def lookup_image(
    request: Request,
    session: DB,
    who: Checking,
    file: Annotated[UploadFile, File()],
    date_of_birth: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    def read() -> LookupInput:
        data = file.file.read(MAX_PICTURE + 1)
        if len(data) > MAX_PICTURE:
            raise LookupInputError("Ảnh quá lớn", "the picture is too large", "PICTURE_TOO_LARGE")
        return parse_picture(data, date_of_birth)

    return _lookup_page(request, session, who, read)


@router.get("/verify/certificate")
def certificate_form(request: Request, who: Checking) -> Response:
    return _page(request, "verify_certificate.html", {"result": None, "error": None})


@router.post("/verify/certificate")
def certificate_check(
    request: Request,
    session: DB,
    who: Checking,
    text: Annotated[str, Form(max_length=MAX_HC1)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    refused = limited_sync(request, session, who)
    if refused is not None:
        return _too_many(request, refused, "verify_certificate.html", {"result": None}, "checks", "Kiểm tra")
    data: str | bytes = text.strip()
    if not data and file is not None:
        data = file.file.read(MAX_PICTURE + 1)[: MAX_PICTURE + 1]
    if not data or len(data) > MAX_PICTURE:
        error = translator(lang_of(request))("cert_required")
        return _page(request, "verify_certificate.html", {"result": None, "error": error}, status=422)
    result = verify_and_record(session, state(request).settings, who, data)
    return _page(request, "verify_certificate.html", {"result": _in_words(result, lang_of(request))})

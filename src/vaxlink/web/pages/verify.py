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
from vaxlink.web.i18n import lang_of, message_of
from vaxlink.web.lookup_runtime import limited_sync, record_invalid, watch_sync
from vaxlink.web.params import Checking
from vaxlink.web.render import render
from vaxlink.web.security import DB, state

router = APIRouter(include_in_schema=False)

WORDS: dict[str, tuple[str, str]] = {
    "title": ("Kiểm tra tình trạng tiêm chủng", "Vaccination status check"),
    "prompt": (
        "Quét mã QR trên thẻ CCCD (hoặc mã vạch trên giấy thông báo số định danh), hoặc nhập số định danh, rồi nhấn Enter",
        "Scan the chip card's QR code (or the ID notice's barcode), or type the ID number, then press Enter",
    ),
    "picture": ("Hoặc chọn ảnh chụp mã", "Or choose a picture of the code"),
    "check": ("Kiểm tra", "Check"),
    "name": ("Họ và tên", "Name"),
    "birth_year": ("Năm sinh", "Year of birth"),
    "status": ("Tình trạng", "Status"),
    "colour": ("Màu", "Colour"),
    "last_dose": ("Ngày tiêm mũi gần nhất", "Date of last dose"),
    "not_found": ("Không có hồ sơ khớp với giấy tờ được xuất trình", "No record matches what was presented"),
    "born_prompt": (
        "Ngày sinh ghi trên thẻ (bắt buộc khi nhập số hoặc quét mã vạch giấy thông báo)",
        "Birth date on the card (needed with a typed number or the notice's barcode)",
    ),
    "cert_title": ("Kiểm tra chứng nhận tiêm chủng (HC1)", "Check a vaccination certificate (HC1)"),
    "cert_prompt": (
        "Dán mã HC1: hoặc chọn ảnh mã QR",
        "Paste the HC1: text or choose a picture of the QR code",
    ),
    "valid": ("HỢP LỆ", "VALID"),
    "invalid": ("KHÔNG HỢP LỆ", "INVALID"),
    "holder": ("Người được cấp", "Holder"),
    "dob": ("Ngày sinh", "Date of birth"),
    "dose": ("Mũi", "Dose"),
    "uvci": ("Mã chứng nhận", "Certificate id"),
    "expires": ("Hết hạn", "Expires"),
    "checks": ("Các bước kiểm tra", "Checks"),
    "other": ("Kiểm tra chứng nhận HC1", "Check an HC1 certificate"),
    "back": ("Kiểm tra thẻ CCCD", "Check a chip card"),
    "revoke_reason": ("Lý do thu hồi", "Reason for revocation"),
    "verdict_ok": ("ĐẠT", "PASS"),
    "verdict_not_ok": ("KHÔNG ĐẠT", "FAIL"),
    "cert_required": (
        "Hãy dán mã HC1: hoặc chọn ảnh mã QR",
        "Paste the HC1: text or choose a picture of the QR code",
    ),
}

# Each check in words; a code that cannot be decoded is told in these words, never in the decoding
# library's own message.
CHECK_WORDS: dict[str, tuple[str, str]] = {
    "image": ("Đọc ảnh mã QR", "Reading the QR picture"),
    "prefix": ("Tiền tố HC1:", "HC1: prefix"),
    "base45": ("Mã hóa Base45", "Base45 encoding"),
    "zlib": ("Nén dữ liệu", "Compression"),
    "cose": ("Cấu trúc chữ ký (COSE)", "Signature structure (COSE)"),
    "cwt": ("Nội dung chứng nhận (CWT)", "Certificate content (CWT)"),
    "kid": ("Khóa của nơi cấp", "Issuer's key"),
    "signature": ("Chữ ký số", "Digital signature"),
    "validity": ("Thời hạn", "Validity period"),
    "revocation": ("Thu hồi", "Revocation"),
    "schema": ("Cấu trúc dữ liệu", "Data structure"),
    "value_sets": ("Danh mục giá trị", "Value sets"),
    "key_usage": ("Phạm vi của khóa", "Key usage"),
}
DECODING = ("prefix", "base45", "zlib", "cose", "cwt")
UNREADABLE = ("Mã không đọc được hoặc đã bị sửa đổi", "The code cannot be read or has been altered")
STATUS_WORDS = {"ok": ("Đạt", "Passed"), "failed": ("Không đạt", "Failed"), "skipped": ("Bỏ qua", "Skipped")}


def _in_words(result: dict[str, Any], lang: str) -> dict[str, Any]:
    i = 1 if lang == "en" else 0
    checks = []
    for c in result.get("checks", []):
        message = c["message_en"] if i else c["message_vi"]
        if c["status"] == "failed" and c["name"] in DECODING:
            message = UNREADABLE[i]
        name = CHECK_WORDS.get(c["name"], (c["name"], c["name"]))[i]
        status = STATUS_WORDS.get(c["status"], (c["status"], c["status"]))[i]
        checks.append({**c, "label": name, "status_text": status, "message": message})
    failed = next((c for c in checks if c["status"] == "failed"), None)
    return {**result, "checks": checks, "reason": failed["message"] if failed else None}


def words(lang: str) -> Any:
    i = 1 if lang == "en" else 0
    return lambda key: WORDS[key][i]


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    return render(request, name, {"w": words(lang_of(request)), **context}, status=status)


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
        error = WORDS["cert_required"][1 if lang_of(request) == "en" else 0]
        return _page(request, "verify_certificate.html", {"result": None, "error": error}, status=422)
    result = verify_and_record(session, state(request).settings, who, data)
    return _page(request, "verify_certificate.html", {"result": _in_words(result, lang_of(request))})

"""What a verifier's holder presents: a chip card's QR text (or a picture of it), or the 12-digit number,
typed or from the ID notice's barcode, with the birth date on the card; read into a `LookupInput`."""

from __future__ import annotations

from dataclasses import dataclass

from vaxlink.credentials import codes
from vaxlink.domain.chip_qr import parse_chip_qr
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.personal_ids import strip_separators
from vaxlink.services.errors import LookupInputError

MAX_TEXT = 1000
MAX_PICTURE = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LookupInput:
    personal_id: str
    via: str  # qr | number | image
    # What the holder presented beside the number, to agree with the register.
    born: PartialDate | None = None
    full_name: str | None = None
    sex: str | None = None


def _birth_date(raw: str | None) -> PartialDate:
    d = parse_date((raw or "").strip()[:20]) if raw and raw.strip() else None
    if not isinstance(d, PartialDate):
        raise LookupInputError(
            "Hãy nhập cả ngày sinh ghi trên thẻ (ngày/tháng/năm)",
            "give the birth date on the card too (day/month/year)",
            "BIRTH_DATE_NEEDED",
        )
    return d


def parse_input(raw: str, *, via_image: bool = False, birth_date: str | None = None) -> LookupInput:
    """What the holder presents: a chip card's QR text (its own name, birth date and sex), or a
    typed/scanned number (a barcode scanner types the ID notice's Code 128 as digits) with the birth date
    on the card. Raises LookupInputError, whose words never echo the input."""
    body = (raw or "").replace("\ufeff", "").strip()
    if len(body) > MAX_TEXT:
        raise LookupInputError("Nội dung quá dài", "the input is too long")
    if "|" in body:
        card = parse_chip_qr(body)
        if isinstance(card, Problem):
            raise LookupInputError(card.message_vi, card.message_en, card.code)
        return LookupInput(
            card.personal_id,
            "image" if via_image else "qr",
            born=card.date_of_birth,
            full_name=card.full_name,
            sex=card.sex.value,
        )
    digits = strip_separators(body)
    if len(digits) == 12 and digits.isascii() and digits.isdigit():
        return LookupInput(digits, "image" if via_image else "number", born=_birth_date(birth_date))
    raise LookupInputError(
        "Hãy quét mã QR trên thẻ CCCD, mã vạch trên giấy thông báo số định danh, hoặc nhập số định danh 12 chữ số",
        "scan the chip card's QR code or the ID notice's barcode, or type the 12-digit number",
    )


def parse_picture(data: bytes, birth_date: str | None = None) -> LookupInput:
    """A picture of the card's QR code, or of the ID notice's barcode (with the birth date on the card)."""
    try:
        read = codes.read_code(data)
    except codes.ImageError as e:
        vi, _, en = str(e).partition(" / ")
        raise LookupInputError(vi, en or vi, "BAD_PICTURE") from None
    return parse_input(read.text, via_image=True, birth_date=birth_date)

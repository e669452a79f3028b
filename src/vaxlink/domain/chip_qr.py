"""The QR text printed on a chip ID card (CCCD gắn chíp): `ID|old CMND|name|ddmmyyyy|Nam/Nữ|address|ddmmyyyy`.

Readers differ (an omitted empty CMND field, a further expiry field), so fields are recognised by content.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from vaxlink.domain.dates import PartialDate, Precision, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.personal_ids import (
    CMND_LENGTH,
    LENGTH,
    PersonalId,
    consistency_problems,
    parse_personal_id,
    strip_separators,
)
from vaxlink.domain.sex import Sex, parse_sex


@dataclass(frozen=True, slots=True)
class ChipCard:
    personal_id: str
    old_id: str | None
    full_name: str
    date_of_birth: PartialDate
    sex: Sex
    address: str
    issue_date: PartialDate | None
    extra: tuple[str, ...]


_ASCII_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r"\s+")
# Name, date of birth, sex and address must be there; the issue date and anything after it may not be.
_REQUIRED_AFTER_IDS = 4


def _problem(code: str, vi: str, en: str) -> Problem:
    return Problem(code=code, message_vi=vi, message_en=en)


def _clean(field: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", field)).strip()


def _not_chip_card(vi: str, en: str) -> Problem:
    return _problem(
        "QR_NOT_CHIP_CARD",
        f"Không phải mã QR của thẻ CCCD gắn chíp: {vi}",
        f"Not the QR code of a chip ID card: {en}",
    )


def parse_chip_qr(text: str, *, today: date | None = None) -> ChipCard | Problem:
    """Read the card's QR text; a Problem says why it cannot be a chip card. Never raises."""
    try:
        return _parse(text, today or date.today())
    except Exception:  # the text is not even a string we can split
        return _not_chip_card("không đọc được nội dung", "the content cannot be read")


def _parse(text: str, today: date) -> ChipCard | Problem:
    if not isinstance(text, str):
        return _not_chip_card("nội dung không phải văn bản", "the content is not text")
    body = text.replace("\ufeff", "").strip()
    if not body:
        return _problem("QR_EMPTY", "Mã QR không có nội dung", "The QR code is empty")
    if body[:4].upper() == "HC1:":
        return _not_chip_card("đây là chứng nhận tiêm chủng (HC1:)", "this is a health certificate (HC1:)")
    if "|" not in body:
        return _not_chip_card("không có các trường ngăn bởi «|»", "there are no «|»-separated fields")
    fields = [_clean(f) for f in body.split("|")]
    while fields and not fields[-1]:
        fields.pop()
    if not fields:
        return _not_chip_card("mọi trường đều trống", "every field is empty")

    id_text = strip_separators(fields[0])
    if not _ASCII_DIGITS.fullmatch(id_text):
        return _not_chip_card("trường đầu không phải số định danh", "the first field is not an id number")
    pid = parse_personal_id(id_text, today=today)
    if isinstance(pid, Problem):
        return _problem(
            "QR_BAD_ID",
            f"Số định danh trên thẻ không hợp lệ: {pid.message_vi}",
            f"The card's id number is invalid: {pid.message_en}",
        )

    rest = fields[1:]
    old_id: str | None = None
    # The old-number field is empty or all digits; a name never is, so its absence shows.
    if rest and (not rest[0] or _ASCII_DIGITS.fullmatch(strip_separators(rest[0]))):
        old = strip_separators(rest[0])
        if old and len(old) not in (CMND_LENGTH, LENGTH):
            return _problem(
                "QR_BAD_OLD_ID",
                f"Số CMND cũ trên thẻ có {len(old)} chữ số (cần 9 hoặc 12)",
                f"The card's old id has {len(old)} digits (9 or 12 expected)",
            )
        old_id = old or None
        rest = rest[1:]
    if len(rest) < _REQUIRED_AFTER_IDS:
        return _problem(
            "QR_TOO_FEW_FIELDS",
            "Mã QR thiếu trường: cần họ tên, ngày sinh, giới tính và nơi thường trú",
            "The QR code lacks fields: name, date of birth, sex and permanent address are needed",
        )
    name, dob_text, sex_text, address = rest[:4]
    if not any(c.isalpha() for c in name) or any(c.isdigit() for c in name):
        return _problem(
            "QR_BAD_NAME", f"«{name[:40]}» không phải họ tên", f"«{name[:40]}» is not a full name"
        )
    dob = _card_date(dob_text, today, "ngày sinh", "date of birth", partial=True)
    if isinstance(dob, Problem):
        return dob
    sex = parse_sex(sex_text)
    if sex is None:
        return _problem(
            "QR_BAD_SEX",
            f"Giới tính «{sex_text[:20]}» không phải Nam/Nữ",
            f"Sex «{sex_text[:20]}» is neither Nam nor Nữ",
        )
    issue: PartialDate | None = None
    if len(rest) > _REQUIRED_AFTER_IDS and rest[4]:
        found = _card_date(rest[4], today, "ngày cấp", "issue date", partial=False)
        if isinstance(found, Problem):
            return found
        issue = found
    mismatches = consistency_problems(pid, sex, dob.year)
    if mismatches:
        return _mismatch(pid, mismatches)
    return ChipCard(
        personal_id=pid.number,
        old_id=old_id,
        full_name=name,
        date_of_birth=dob,
        sex=sex,
        address=address,
        issue_date=issue,
        extra=tuple(rest[_REQUIRED_AFTER_IDS + 1 :]),
    )


def _card_date(text: str, today: date, what_vi: str, what_en: str, *, partial: bool) -> PartialDate | Problem:
    """ddmmyyyy or another day-first spelling; a birth date may be partial (00: day or month unknown)."""
    spelled = text
    if _ASCII_DIGITS.fullmatch(text):
        # Bare digits on a card are ddmmyyyy or a year, never a spreadsheet serial.
        # ddmmyyyy with 00 for an unknown day or month is read by the same rule as a batch's dates.
        if len(text) == 8:
            spelled = f"{text[:2]}/{text[2:4]}/{text[4:]}"
        elif len(text) != 4:
            spelled = ""
    found = parse_date(spelled, max_date=today) if spelled else None
    if isinstance(found, PartialDate):
        if partial or found.precision is Precision.DAY:
            return found
        found = None
    reason_vi = f": {found.message_vi}" if found is not None else ""
    reason_en = f": {found.message_en}" if found is not None else ""
    return _problem(
        "QR_BAD_DATE",
        f"Trường {what_vi} «{text[:20]}» không phải ngày ddmmyyyy{reason_vi}",
        f"The {what_en} field «{text[:20]}» is not a ddmmyyyy date{reason_en}",
    )


def _mismatch(pid: PersonalId, problems: list[Problem]) -> Problem:
    return _problem(
        "QR_ID_MISMATCH",
        "Nội dung mã QR tự mâu thuẫn: " + "; ".join(p.message_vi for p in problems),
        "The QR content contradicts itself: " + "; ".join(p.message_en for p in problems),
    )

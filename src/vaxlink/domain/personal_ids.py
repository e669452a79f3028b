"""The 12-digit personal identification number (`PPP G YY NNNNNN`) and the other numbers health records carry.

The number has no check digit: a well-formed number can still be someone else's, so structure is all we test.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from vaxlink.domain.errors import Problem, safe_text, shown
from vaxlink.domain.sex import Sex

# The 63 two-digit province codes in force before 1 July 2025: column `Mã TP` of the National Statistics
# Office list shipped as data/admin_units/wards-legacy-2025-01-04.csv. PPP = "0" + one of these. The
# prefix is always read against this table, because the 2025 reform gave some codes new meanings.
LEGACY_PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "01",
        "02",
        "04",
        "06",
        "08",
        "10",
        "11",
        "12",
        "14",
        "15",
        "17",
        "19",
        "20",
        "22",
        "24",
        "25",
        "26",
        "27",
        "30",
        "31",
        "33",
        "34",
        "35",
        "36",
        "37",
        "38",
        "40",
        "42",
        "44",
        "45",
        "46",
        "48",
        "49",
        "51",
        "52",
        "54",
        "56",
        "58",
        "60",
        "62",
        "64",
        "66",
        "67",
        "68",
        "70",
        "72",
        "74",
        "75",
        "77",
        "79",
        "80",
        "82",
        "83",
        "84",
        "86",
        "87",
        "89",
        "91",
        "92",
        "93",
        "94",
        "95",
        "96",
    }
)
# Births registered abroad carry a country code in this range instead of a province.
ABROAD_PLACE_CODES = range(101, 296)
FIRST_BIRTH_YEAR = 1900
LAST_BIRTH_YEAR = 2399  # G = 8/9 is the last century the scheme can express

LENGTH = 12
CMND_LENGTH = 9

# Spaces (any Unicode whitespace), dots and dashes are how people group the digits when they type them; an
# apostrophe (straight, curly or a backtick) is how a spreadsheet is told to keep a number as text ('0770...).
_SEPARATORS = re.compile(r"[\s.\-'\u2018\u2019`]")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_ASCII_ALNUM = re.compile(r"[0-9A-Za-z]+")
# A float printed back as text ("77090001234.0"): nine or more digits cannot be dot-grouped thousands.
_FLOAT_TEXT = re.compile(r"([0-9]{9,12})\.0+")
_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?[eE][+]?[0-9]{1,2}")
# How software spells a missing value once it has been turned into text.
_BLANK_WORDS = frozenset({"nan", "none", "null", "nat", "<na>", "n/a", "#n/a"})
# Letters typed for the digits they resemble; a number that is all digits after this was mistyped.
_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})
_PASSPORT_LENGTH = range(6, 21)


def is_known_place(place_code: str) -> bool:
    """PPP is a pre-2025 province code with a leading zero, or a country code 101–295."""
    if len(place_code) != 3 or not _ASCII_DIGITS.fullmatch(place_code):
        return False
    if place_code[0] == "0":
        return place_code[1:] in LEGACY_PROVINCE_CODES
    return int(place_code) in ABROAD_PLACE_CODES


@dataclass(frozen=True, slots=True)
class PersonalId:
    """A structurally valid personal identification number, decoded."""

    number: str
    place_code: str
    sex: Sex
    birth_year: int
    serial: str
    born_abroad: bool
    province_code: str | None

    def __str__(self) -> str:
        return self.number

    @property
    def province_name(self) -> str | None:
        """Name of the province (pre-2025 structure) where the birth was registered; None when abroad."""
        if self.province_code is None:
            return None
        # Imported here: the unit lists are only needed by callers who ask for a name.
        from vaxlink.domain.admin_units import admin_units

        unit = admin_units().province(self.province_code)
        return None if unit is None else unit.name


def _problem(code: str, vi: str, en: str) -> Problem:
    return Problem(code=code, message_vi=vi, message_en=en)


def _missing_pid() -> Problem:
    return _problem("ID_EMPTY", "Thiếu số định danh cá nhân", "The personal identification number is missing")


def strip_separators(text: str) -> str:
    """Remove the whitespace, dots and dashes people put between groups of digits."""
    return _SEPARATORS.sub("", text)


def parse_personal_id(text: str, *, today: date | None = None) -> PersonalId | Problem:
    """Strict: 12 ASCII digits once separators are removed, a known place, a birth year not in the future."""
    if text is None:
        return _missing_pid()
    if not isinstance(text, str):
        return _problem(
            "ID_NOT_TEXT",
            f"Số định danh phải là văn bản, nhận được kiểu {type(text).__name__}",
            f"A personal identification number must be text, got {type(text).__name__}",
        )
    digits = strip_separators(text)
    if not digits:
        return _missing_pid()
    if not _ASCII_DIGITS.fullmatch(digits):
        return _problem(
            "ID_NOT_DIGITS",
            f"Số định danh chỉ gồm chữ số, nhận được «{shown(text)}»",
            f"A personal identification number has digits only, got «{shown(text)}»",
        )
    if len(digits) != LENGTH:
        return _problem(
            "ID_LENGTH",
            f"Số định danh cá nhân có 12 chữ số, số này có {len(digits)}",
            f"A personal identification number has 12 digits, this one has {len(digits)}",
        )
    place, g, yy, serial = digits[:3], int(digits[3]), int(digits[4:6]), digits[6:]
    if not is_known_place(place):
        return _problem(
            "ID_UNKNOWN_PLACE",
            f"Mã nơi đăng ký khai sinh {place} không phải mã tỉnh (trước 7/2025) hay mã quốc gia (101–295)",
            f"Place code {place} is neither a province code (before July 2025) nor a country code (101–295)",
        )
    birth_year = FIRST_BIRTH_YEAR + 100 * (g // 2) + yy
    year_now = (today or date.today()).year
    if birth_year > year_now:
        return _problem(
            "ID_BIRTH_YEAR_FUTURE",
            f"Số định danh mã hoá năm sinh {birth_year}, sau năm hiện tại {year_now}",
            f"The number encodes birth year {birth_year}, after the current year {year_now}",
        )
    return PersonalId(
        number=digits,
        place_code=place,
        sex=Sex.MALE if g % 2 == 0 else Sex.FEMALE,
        birth_year=birth_year,
        serial=serial,
        born_abroad=place[0] != "0",
        province_code=place[1:] if place[0] == "0" else None,
    )


class IdKind(StrEnum):
    PERSONAL_ID = "personal_id"
    LOST_ZERO = "lost_zero"
    CMND = "cmnd"
    OTHER = "other"
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class IdNumber:
    """What a record's id column holds. `kind` is the shape; `problem` is None only when it is usable as such.

    `digits`: the 12 digits for PERSONAL_ID and LOST_ZERO (leading zeros restored), 9 for CMND, the upper-case
    letters and digits for OTHER when there are only those, None for EMPTY and unreadable text.
    """

    raw: str
    kind: IdKind
    digits: str | None
    personal_id: PersonalId | None
    problem: Problem | None


def read_id_number(value: object, *, today: date | None = None) -> IdNumber:
    """Classify a health record's id column: personal id, one that lost leading zeros, CMND, other, empty."""
    try:
        return _read_id_number(value, today)
    except Exception:  # a foreign object whose str() or comparison fails still gets an answer
        return IdNumber(
            raw=safe_text(value), kind=IdKind.OTHER, digits=None, personal_id=None, problem=_unreadable(value)
        )


def _read_id_number(value: object, today: date | None) -> IdNumber:
    if value is None:
        return _empty("")
    if isinstance(value, bool):
        return _other(str(value), None, _unreadable(value))
    if isinstance(value, numbers.Integral):
        n = int(value)
        if n < 0:
            return _other(str(value), None, _unreadable(value))
        return _classify(str(value), str(n), today)
    if isinstance(value, Decimal | numbers.Real):
        return _from_number(value, today)
    raw = value if isinstance(value, str) else str(value)
    text = raw.strip().lstrip("\ufeff").strip()
    if text.lower() in _BLANK_WORDS:
        return _empty(raw)
    float_text = _FLOAT_TEXT.fullmatch(text)
    if float_text:
        return _classify(raw, float_text.group(1), today)
    if _SCIENTIFIC.fullmatch(text):
        return _other(
            raw,
            None,
            _problem(
                "ID_SCIENTIFIC",
                f"Bảng tính đã hiện số ở dạng lũy thừa («{shown(text)}»); các chữ số cuối có thể đã mất",
                f"A spreadsheet showed the number in scientific notation («{shown(text)}»); "
                "trailing digits may be lost",
            ),
        )
    return _classify(raw, strip_separators(text), today)


def _from_number(value: float | Decimal | numbers.Real, today: date | None) -> IdNumber:
    raw = str(value)
    if isinstance(value, Decimal):
        if value.is_nan():
            return _empty(raw)
        if not value.is_finite() or value != value.to_integral_value() or value < 0:
            return _other(raw, None, _unreadable(value))
        return _classify(raw, str(int(value)), today)
    f = float(value)
    if math.isnan(f):
        return _empty(raw)
    # A spreadsheet cell holds a double: whole values up to 2**53 are exact, so the digits are all there.
    if not math.isfinite(f) or not f.is_integer() or f < 0:
        return _other(raw, None, _unreadable(value))
    return _classify(raw, str(int(f)), today)


def _classify(raw: str, text: str, today: date | None) -> IdNumber:
    if not text:
        return _empty(raw)
    if _ASCII_DIGITS.fullmatch(text):
        return _classify_digits(raw, text, today)
    if _ASCII_ALNUM.fullmatch(text):
        if len(text) in (LENGTH, CMND_LENGTH) and _ASCII_DIGITS.fullmatch(text.translate(_LOOKALIKES)):
            return _other(
                raw,
                text.upper(),
                _problem(
                    "ID_LOOKALIKE_LETTERS",
                    f"«{shown(text)}» có chữ cái ở chỗ chữ số (O thay 0, I thay 1?)",
                    f"«{shown(text)}» has letters where digits belong (O for 0, I for 1?)",
                ),
            )
        if len(text) in _PASSPORT_LENGTH and not text.isalpha():
            return _other(raw, text.upper(), None)
        return _other(raw, text.upper(), _unreadable(raw))
    return _other(raw, None, _unreadable(raw))


def _classify_digits(raw: str, digits: str, today: date | None) -> IdNumber:
    kind = {LENGTH: IdKind.PERSONAL_ID, CMND_LENGTH: IdKind.CMND}.get(len(digits), IdKind.OTHER)
    # Whole runs of one digit are what people type when they have no number to give.
    if len(digits) >= 6 and len(set(digits)) == 1:
        return IdNumber(
            raw=raw,
            kind=kind,
            digits=digits,
            personal_id=None,
            problem=_problem(
                "ID_PLACEHOLDER",
                f"«{digits}» là số điền tạm, không phải số giấy tờ",
                f"«{digits}» is a placeholder, not a document number",
            ),
        )
    if kind is IdKind.PERSONAL_ID:
        parsed = parse_personal_id(digits, today=today)
        if isinstance(parsed, Problem):
            return IdNumber(raw=raw, kind=kind, digits=digits, personal_id=None, problem=parsed)
        return IdNumber(raw=raw, kind=kind, digits=digits, personal_id=parsed, problem=None)
    if kind is IdKind.CMND:
        return IdNumber(raw=raw, kind=kind, digits=digits, personal_id=None, problem=None)
    # Spreadsheets turn "077…" into a number and drop the zero; "001…" (Hà Nội) and the other 00x
    # provinces lose two. Restore them only when the result is a valid number.
    if len(digits) in (LENGTH - 2, LENGTH - 1):
        restored = parse_personal_id(digits.zfill(LENGTH), today=today)
        if isinstance(restored, PersonalId):
            return IdNumber(
                raw=raw, kind=IdKind.LOST_ZERO, digits=restored.number, personal_id=restored, problem=None
            )
        return _other(
            raw,
            digits,
            _problem(
                "ID_LENGTH",
                f"{len(digits)} chữ số; thêm lại số 0 ở đầu vẫn không thành số định danh hợp lệ "
                f"({restored.message_vi})",
                f"{len(digits)} digits; putting back leading zeros does not give a valid personal id "
                f"({restored.message_en})",
            ),
        )
    return _other(
        raw,
        digits,
        _problem(
            "ID_LENGTH",
            f"{len(digits)} chữ số: không phải số định danh (12) hay CMND (9)",
            f"{len(digits)} digits: neither a personal id (12) nor a CMND (9)",
        ),
    )


def _empty(raw: str) -> IdNumber:
    return IdNumber(
        raw=raw,
        kind=IdKind.EMPTY,
        digits=None,
        personal_id=None,
        problem=_problem(
            "ID_EMPTY",
            "Thiếu số giấy tờ",
            "The id number is missing",
        ),
    )


def _other(raw: str, digits: str | None, problem: Problem | None) -> IdNumber:
    return IdNumber(raw=raw, kind=IdKind.OTHER, digits=digits, personal_id=None, problem=problem)


def _unreadable(value: object) -> Problem:
    return _problem(
        "ID_UNREADABLE",
        f"«{shown(value)}» không phải số định danh, CMND hay số hộ chiếu",
        f"«{shown(value)}» is not a personal id, a CMND or a passport number",
    )


def consistency_problems(pid: PersonalId, sex: Sex | None, birth_year: int | None) -> list[Problem]:
    """The number against the stated sex and birth year; a mismatch hints at a typo or a relative's number."""
    out: list[Problem] = []
    if sex is not None and sex != pid.sex:
        out.append(
            _problem(
                "ID_SEX_MISMATCH",
                f"Số định danh {pid.number} mã hoá giới tính {pid.sex.label_vi}, hồ sơ ghi {sex.label_vi}",
                f"Number {pid.number} encodes sex {_SEX_EN[pid.sex]}, the record says {_SEX_EN[sex]}",
            )
        )
    if birth_year is not None and birth_year != pid.birth_year:
        out.append(
            _problem(
                "ID_BIRTH_YEAR_MISMATCH",
                f"Số định danh {pid.number} mã hoá năm sinh {pid.birth_year}, hồ sơ ghi {birth_year}",
                f"Number {pid.number} encodes birth year {pid.birth_year}, the record says {birth_year}",
            )
        )
    return out


_SEX_EN = {Sex.MALE: "male", Sex.FEMALE: "female"}


def century_digit(sex: Sex, birth_year: int) -> int:
    """G: even for men, odd for women, one pair per century from 1900."""
    if not FIRST_BIRTH_YEAR <= birth_year <= LAST_BIRTH_YEAR:
        raise ValueError(f"birth year {birth_year} outside {FIRST_BIRTH_YEAR}..{LAST_BIRTH_YEAR}")
    return 2 * ((birth_year - FIRST_BIRTH_YEAR) // 100) + (1 if sex is Sex.FEMALE else 0)


def compose_personal_id(place_code: str, sex: Sex, birth_year: int, serial: str | int) -> str:
    """Build a number from its parts; raises ValueError on parts no valid number has."""
    if not is_known_place(place_code):
        raise ValueError(f"unknown place code {place_code!r}")
    if not isinstance(sex, Sex):
        raise ValueError(f"sex must be a Sex, got {sex!r}")
    g = century_digit(sex, birth_year)
    if isinstance(serial, bool):
        raise ValueError("serial must be an int or six digits, not a bool")
    if isinstance(serial, int):
        if not 0 <= serial <= 999_999:
            raise ValueError(f"serial {serial} outside 0..999999")
        serial_text = f"{serial:06d}"
    elif isinstance(serial, str) and len(serial) == 6 and _ASCII_DIGITS.fullmatch(serial):
        serial_text = serial
    else:
        raise ValueError(f"serial must be six digits, got {serial!r}")
    return f"{place_code}{g}{birth_year % 100:02d}{serial_text}"

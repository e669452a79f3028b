"""Dates as records carry them (day-first text, ISO, spreadsheet serials, year only), keeping their precision.

A year-only date of birth stays a year: it is never widened to 1 January, so it cannot contradict a full date.
"""

from __future__ import annotations

import calendar
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from vaxlink.domain.errors import Problem, safe_text, shown


class Precision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date known to the day, the month or the year. Ordered by (year, month, day), a coarser date first."""

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        problem = _impossible(self.year, self.month, self.day)
        if problem is not None:
            raise ValueError(problem.message_en)

    @property
    def precision(self) -> Precision:
        if self.month is None:
            return Precision.YEAR
        return Precision.MONTH if self.day is None else Precision.DAY

    def earliest(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> date:
        if self.month is None:
            return date(self.year, 12, 31)
        return date(self.year, self.month, self.day or calendar.monthrange(self.year, self.month)[1])

    def iso(self) -> str:
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def as_date(self) -> date | None:
        return self.earliest() if self.day is not None else None

    def contains(self, day: date) -> bool:
        return self.earliest() <= day <= self.latest()

    def __str__(self) -> str:
        return self.iso()

    # Written out rather than `order=True`: the generated comparison would compare None with int.
    def _key(self) -> tuple[int, int, int]:
        return (self.year, self.month or 0, self.day or 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() >= other._key()


# Spreadsheet serials read as dates: 1927-05-18 .. 2199-12-31. Smaller whole numbers in these data are
# years (four digits) or ages, never dates; larger ones are ddmmyyyy typed as a number, or noise.
EXCEL_SERIAL_RANGE = range(10_000, 109_575)
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_FAKE_LEAP_DAY = 60

_BLANK_WORDS = frozenset({"nan", "none", "null", "nat", "<na>", "n/a", "#n/a"})
_SEP = r"[-/.]"
# A time of day after a full date, as databases and spreadsheets print it; the date part is what counts.
_TIME = r"(?:(?:T|\s+)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?(?:Z|\s*[+-]\d{2}(?::?\d{2})?)?)?"
_YMD = re.compile(rf"(\d{{4}})({_SEP})(\d{{1,2}})\2(\d{{1,2}}){_TIME}", re.ASCII)
_DMY = re.compile(rf"(\d{{1,2}})({_SEP})(\d{{1,2}})\2(\d{{4}}){_TIME}", re.ASCII)
_DMY_SHORT_YEAR = re.compile(rf"(\d{{1,2}})({_SEP})(\d{{1,2}})\2(\d{{2}})", re.ASCII)
# The same, within a form's words ("Ngày sinh: 20/08/98").
_SHORT_YEAR_IN = re.compile(rf"(?<!\d)(\d{{1,2}})({_SEP})(\d{{1,2}})\2(\d{{2}})(?!\d)", re.ASCII)
_MY = re.compile(rf"(\d{{1,2}}){_SEP}(\d{{4}})", re.ASCII)
_YM = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}})", re.ASCII)
_DIGITS = re.compile(r"\d+", re.ASCII)
_ZERO_FRACTION = re.compile(r"(\d+)[.,]0+", re.ASCII)
_DECIMAL = re.compile(r"(\d+)[.,](\d+)", re.ASCII)
_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", re.ASCII)
# Vietnamese written out, with or without its marks: "ngày 15 tháng 3 năm 1990", "tháng 3/1990", "năm 1990";
# and "Ngày 15/03/1990", a form's label left before the date.
_DAY_WORD = re.compile(r"ng[aà]y\s*:?\s*")
_VI_DMY = re.compile(r"(\d{1,2})\s*th[aá]ng\s*(\d{1,2})\s*(?:n[aă]m|[-/.,])\s*(\d{4})")
_VI_MY = re.compile(r"th[aá]ng\s*(\d{1,2})\s*(?:n[aă]m|[-/.,])\s*(\d{4})")
_VI_Y = re.compile(r"n[aă]m\s*(\d{4})")


def _problem(code: str, vi: str, en: str) -> Problem:
    return Problem(code=code, message_vi=vi, message_en=en)


def _impossible(year: object, month: object, day: object) -> Problem | None:
    ok = (
        type(year) is int
        and 1 <= year <= 9999
        and (month is None or (type(month) is int and 1 <= month <= 12))
        and (day is None or (type(day) is int and month is not None))
    )
    if ok and isinstance(day, int) and isinstance(month, int) and isinstance(year, int):
        ok = 1 <= day <= calendar.monthrange(year, month)[1]
    if ok:
        return None
    shown = "-".join(
        (f"{p:04d}" if i == 0 else f"{p:02d}") if type(p) is int else safe_text(p)
        for i, p in enumerate((year, month, day))
        if p is not None
    )
    return _problem(
        "DATE_IMPOSSIBLE",
        f"Ngày không có thật: {shown} (năm-tháng-ngày)",
        f"No such date: {shown} (year-month-day)",
    )


def _make(year: int, month: int | None = None, day: int | None = None) -> PartialDate | Problem:
    problem = _impossible(year, month, day)
    return problem if problem is not None else PartialDate(year, month, day)


def from_excel_serial(serial: float) -> date | None:
    """Day of a 1900-system spreadsheet serial; None for 60 (29 Feb 1900, which never was) and non-dates."""
    if not math.isfinite(serial) or serial < 1:
        return None
    whole = int(serial)
    if whole == _EXCEL_FAKE_LEAP_DAY:
        return None
    # Below 60 the spreadsheet still agrees with the calendar, so day 1 is 1900-01-01.
    offset = whole if whole > _EXCEL_FAKE_LEAP_DAY else whole + 1
    try:
        return _EXCEL_EPOCH + timedelta(days=offset)
    except OverflowError:
        return None


def parse_date(value: object, *, min_year: int = 1890, max_date: date | None = None) -> PartialDate | Problem:
    """Read a date from text, a number or a date object; a Problem says why not. Never raises."""
    try:
        found = _read(value)
    except Exception:  # an object whose str() or comparison fails is still only an unreadable value
        return _unreadable(value)
    if isinstance(found, Problem):
        return found
    if found.year < min_year:
        return _problem(
            "DATE_TOO_EARLY",
            f"Ngày {_vi(found)} trước năm {min_year}",
            f"Date {found.iso()} is before the year {min_year}",
        )
    if max_date is not None and found.earliest() > max_date:
        return _problem(
            "DATE_TOO_LATE",
            f"Ngày {_vi(found)} sau ngày {max_date:%d/%m/%Y}",
            f"Date {found.iso()} is after {max_date.isoformat()}",
        )
    return found


# The ages a vaccinee can have had on the day of a dose, by which a birth year written with two digits is read:
# the vaccines were given from the age of 5, and a window of a hundred years holds one year ending in any
# two digits.
VACCINEE_AGES = range(5, 105)


def parse_birth_date(value: object, *, dose_on: date | None = None) -> PartialDate | Problem:
    """A date of birth on a dose record: `parse_date`, and a day-first date with a two-digit year ("20/08/98")
    read in the one century that makes the person of a vaccinee's age (`VACCINEE_AGES`) on `dose_on`, the
    day of the dose, as a clerk reading the record would: 20/08/98 on a dose of 2021 is 20 August 1998,
    15/03/12 is 2012. Without the day of the dose a two-digit year stays refused."""
    found = parse_date(value)
    if not isinstance(found, Problem) or found.code != "DATE_TWO_DIGIT_YEAR" or dose_on is None:
        return found
    m = _SHORT_YEAR_IN.search(value if isinstance(value, str) else str(value))
    if m is None:  # pragma: no cover - parse_date found one
        return found
    day, month, two = int(m[1]), int(m[3]), int(m[4])
    for century in (dose_on.year // 100 * 100 - 100, dose_on.year // 100 * 100):
        born = _day_first(day, month, century + two)
        if isinstance(born, PartialDate) and _age_on(born, dose_on) in VACCINEE_AGES:
            return born
    return found


def _age_on(born: PartialDate, day: date) -> int:
    birth = born.earliest()
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def parse_partial_iso(text: str) -> PartialDate | Problem:
    """The exact inverse of PartialDate.iso(): `YYYY`, `YYYY-MM` or `YYYY-MM-DD`."""
    m = _ISO.fullmatch(text) if isinstance(text, str) else None
    if m is None:
        return _problem(
            "DATE_NOT_ISO",
            f"«{shown(text)}» không có dạng YYYY, YYYY-MM hay YYYY-MM-DD",
            f"«{shown(text)}» is not YYYY, YYYY-MM or YYYY-MM-DD",
        )
    y, mo, d = m.groups()
    return _make(int(y), None if mo is None else int(mo), None if d is None else int(d))


def _read(value: object) -> PartialDate | Problem:
    if value is None:
        return _empty()
    if isinstance(value, PartialDate):
        return value
    if isinstance(value, bool):
        return _unreadable(value)
    if isinstance(value, numbers.Integral):
        return _from_whole(int(value), str(int(value)), value)
    if isinstance(value, Decimal):
        if value.is_nan():
            return _empty()
        if not value.is_finite():
            return _unreadable(value)
        if value == value.to_integral_value():
            return _from_whole(int(value), str(int(value)), value)
        return _from_fraction(float(value), value)
    if isinstance(value, numbers.Real):
        f = float(value)
        if math.isnan(f):
            return _empty()
        if not math.isfinite(f):
            return _unreadable(value)
        if f.is_integer():
            return _from_whole(int(f), str(int(f)), value)
        return _from_fraction(f, value)
    # Missing markers from data frames (NaT and the like) are the only values unequal to themselves.
    if value != value:
        return _empty()
    if isinstance(value, datetime):
        return _make(value.year, value.month, value.day)
    if isinstance(value, date):
        return _make(value.year, value.month, value.day)
    text = value if isinstance(value, str) else str(value)
    return _from_text(text.strip().lstrip("\ufeff").strip(), value)


def _from_text(text: str, value: object) -> PartialDate | Problem:
    if not text or text.lower() in _BLANK_WORDS:
        return _empty()
    if not text.isascii() or text[:1].isalpha():
        words = unicodedata.normalize("NFC", text).lower()
        if m := _DAY_WORD.match(words):
            words = words[m.end() :]
            if words[:1].isdigit() and not _VI_DMY.fullmatch(words):
                return _from_text(words, value)
        if m := _VI_DMY.fullmatch(words):
            return _day_first(int(m[1]), int(m[2]), int(m[3]))
        if m := _VI_MY.fullmatch(words):
            return _make(int(m[2]), int(m[1]))
        if m := _VI_Y.fullmatch(words):
            return _make(int(m[1]))
    if m := _YMD.fullmatch(text):
        return _make(int(m[1]), int(m[3]), int(m[4]))
    if m := _DMY.fullmatch(text):
        return _day_first(int(m[1]), int(m[3]), int(m[4]))
    if _DMY_SHORT_YEAR.fullmatch(text):
        return _problem(
            "DATE_TWO_DIGIT_YEAR",
            f"«{shown(text)}» chỉ có hai số cuối của năm; cần đủ bốn chữ số",
            f"«{shown(text)}» gives only two digits of the year; four are needed",
        )
    # "1990.0": a number printed back as text; its zero fraction is not a month.
    if m := _ZERO_FRACTION.fullmatch(text):
        return _from_whole(int(m[1]), m[1], value)
    if m := _MY.fullmatch(text):
        return _make(int(m[2]), int(m[1]))
    if m := _YM.fullmatch(text):
        return _make(int(m[1]), int(m[2]))
    if _DIGITS.fullmatch(text):
        if len(text) == 8:
            return _eight_digits(text)
        # A serial is printed without leading zeros; "010190" is someone's ddmmyy, not day 10190.
        if text[0] == "0":
            return _unreadable(value)
        return _from_whole(int(text), text, value)
    if m := _DECIMAL.fullmatch(text):
        return _from_fraction(float(f"{m[1]}.{m[2]}"), value)
    return _unreadable(value)


def _from_whole(n: int, digits: str, value: object) -> PartialDate | Problem:
    if n < 0:
        return _unreadable(value)
    if 1000 <= n <= 9999:
        return _make(n)
    if len(digits) == 8:
        return _eight_digits(digits)
    if n in EXCEL_SERIAL_RANGE:
        return _serial(n)
    return _unreadable(value)


def _from_fraction(f: float, value: object) -> PartialDate | Problem:
    # The fraction is a time of day; only a serial carries one.
    if EXCEL_SERIAL_RANGE.start <= f < EXCEL_SERIAL_RANGE.stop:
        return _serial(f)
    return _unreadable(value)


def _serial(serial: float) -> PartialDate | Problem:
    d = from_excel_serial(serial)
    if d is None:
        return _unreadable(serial)
    return PartialDate(d.year, d.month, d.day)


def _eight_digits(text: str) -> PartialDate | Problem:
    """ddmmyyyy as on the chip-card QR; yyyymmdd only when ddmmyyyy is impossible (its month is 19 or 20)."""
    day_first = _day_first(int(text[:2]), int(text[2:4]), int(text[4:]))
    if isinstance(day_first, PartialDate):
        return day_first
    year_first = _make(int(text[:4]), int(text[4:6]), int(text[6:]))
    return year_first if isinstance(year_first, PartialDate) else day_first


def _day_first(day: int, month: int, year: int) -> PartialDate | Problem:
    # One rule for every day-first date, batch or chip card: 00 is the register's "unknown" (00/00/1950 a
    # year, 00/03/1950 a month); a known day in an unknown month is no date.
    if day == 0 and month == 0:
        return _make(year)
    if day == 0:
        return _make(year, month)
    found = _make(year, month, day)
    if isinstance(found, PartialDate):
        return found
    if month > 12 and 1 <= day <= 12 and _impossible(year, day, month) is None:
        return _problem(
            "DATE_DAY_MONTH_SWAPPED",
            f"Không có tháng {month}: có lẽ ngày và tháng bị đảo ({month:02d}/{day:02d}/{year}?)",
            f"There is no month {month}: day and month look swapped ({month:02d}/{day:02d}/{year}?)",
        )
    return found


def _empty() -> Problem:
    return _problem("DATE_EMPTY", "Thiếu ngày", "The date is missing")


def _unreadable(value: object) -> Problem:
    return _problem(
        "DATE_UNREADABLE",
        f"Không đọc được ngày từ «{shown(value)}»",
        f"Cannot read a date from «{shown(value)}»",
    )


def _vi(d: PartialDate) -> str:
    if d.month is None:
        return f"{d.year}"
    if d.day is None:
        return f"{d.month:02d}/{d.year}"
    return f"{d.day:02d}/{d.month:02d}/{d.year}"

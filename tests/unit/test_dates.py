"""Dates: every spelling health records use, read with its precision kept, or refused with a reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vaxlink.domain.dates import (
    EXCEL_SERIAL_RANGE,
    VACCINEE_AGES,
    PartialDate,
    Precision,
    from_excel_serial,
    parse_birth_date,
    parse_date,
    parse_partial_iso,
)
from vaxlink.domain.errors import Problem

TODAY = date(2025, 6, 1)
EXCEL_EPOCH = date(1899, 12, 30)


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


class _NotEqualToItself:
    """What a data frame's missing-date marker (NaT) looks like from here."""

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


odd_objects = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.fractions(),
    st.complex_numbers(),
    st.text(),
    st.binary(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.builds(object),
    st.just(NotImplemented),
    st.just(...),
    st.builds(_Unprintable),
)


@st.composite
def partial_dates(draw: st.DrawFn, min_year: int = 1, max_year: int = 9999) -> PartialDate:
    d = draw(st.dates(date(min_year, 1, 1), date(max_year, 12, 31)))
    precision = draw(st.sampled_from(list(Precision)))
    if precision is Precision.YEAR:
        return PartialDate(d.year)
    if precision is Precision.MONTH:
        return PartialDate(d.year, d.month)
    return PartialDate(d.year, d.month, d.day)


def code(result: object) -> str | None:
    return result.code if isinstance(result, Problem) else None


def iso(result: object) -> str:
    assert isinstance(result, PartialDate), result
    return result.iso()


# ---------------------------------------------------------------- the value


def test_precision_follows_what_is_known():
    assert PartialDate(1990).precision is Precision.YEAR
    assert PartialDate(1990, 3).precision is Precision.MONTH
    assert PartialDate(1990, 3, 15).precision is Precision.DAY


@pytest.mark.parametrize(
    ("value", "earliest", "latest", "text"),
    [
        (PartialDate(1990), date(1990, 1, 1), date(1990, 12, 31), "1990"),
        (PartialDate(2000, 2), date(2000, 2, 1), date(2000, 2, 29), "2000-02"),
        (PartialDate(1900, 2), date(1900, 2, 1), date(1900, 2, 28), "1900-02"),
        (PartialDate(1990, 3, 15), date(1990, 3, 15), date(1990, 3, 15), "1990-03-15"),
        (PartialDate(7), date(7, 1, 1), date(7, 12, 31), "0007"),
    ],
)
def test_a_partial_date_is_a_span(value, earliest, latest, text):
    assert (value.earliest(), value.latest(), value.iso(), str(value)) == (earliest, latest, text, text)
    assert value.contains(earliest)
    assert value.contains(latest)
    assert not value.contains(latest + timedelta(days=1))


def test_as_date_only_when_the_day_is_known():
    assert PartialDate(1990, 3, 15).as_date() == date(1990, 3, 15)
    assert PartialDate(1990, 3).as_date() is None
    assert PartialDate(1990).as_date() is None


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [
        (1990, 2, 30),
        (1990, 13, None),
        (1990, 0, None),
        (1990, None, 5),
        (0, None, None),
        (10000, None, None),
        (1990, 4, 31),
        (2023, 2, 29),
    ],
)
def test_an_impossible_partial_date_cannot_be_built(year, month, day):
    with pytest.raises(ValueError, match="No such date"):
        PartialDate(year, month, day)


def test_order_puts_a_coarser_date_before_the_finer_ones_it_contains():
    dates = [
        PartialDate(1990, 3, 15),
        PartialDate(1990),
        PartialDate(1989, 12, 31),
        PartialDate(1990, 3),
        PartialDate(1990, 1, 1),
    ]
    assert sorted(dates) == [
        PartialDate(1989, 12, 31),
        PartialDate(1990),
        PartialDate(1990, 1, 1),
        PartialDate(1990, 3),
        PartialDate(1990, 3, 15),
    ]
    assert PartialDate(1990) <= PartialDate(1990) < PartialDate(1990, 1)
    assert PartialDate(1991) >= PartialDate(1990, 12, 31) > PartialDate(1990, 12)


def test_order_is_only_among_partial_dates():
    with pytest.raises(TypeError):
        _ = PartialDate(1990) < date(1990, 1, 1)  # type: ignore[operator]


@given(partial_dates(), partial_dates())
def test_order_is_total_and_agrees_with_equality(a, b):
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)
    assert (a >= b) == (a > b or a == b)
    if a.earliest() < b.earliest():
        assert a < b


@given(partial_dates())
def test_iso_round_trips(d):
    assert parse_partial_iso(d.iso()) == d


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-3-15", "DATE_NOT_ISO"),
        ("15/03/1990", "DATE_NOT_ISO"),
        ("1990-03-15T00:00", "DATE_NOT_ISO"),
        (" 1990", "DATE_NOT_ISO"),
        ("90", "DATE_NOT_ISO"),
        ("", "DATE_NOT_ISO"),
        ("1990-02-30", "DATE_IMPOSSIBLE"),
        ("1990-00", "DATE_IMPOSSIBLE"),
        ("0000", "DATE_IMPOSSIBLE"),
    ],
)
def test_partial_iso_is_strict(text, expected):
    assert code(parse_partial_iso(text)) == expected


def test_partial_iso_on_something_else_is_a_problem():
    assert code(parse_partial_iso(None)) == "DATE_NOT_ISO"  # type: ignore[arg-type]


@given(st.text())
def test_partial_iso_is_total(text):
    assert isinstance(parse_partial_iso(text), PartialDate | Problem)


# ---------------------------------------------------------------- reading dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-03-15", "1990-03-15"),
        ("1990-3-5", "1990-03-05"),
        ("1990/03/15", "1990-03-15"),
        ("1990-03-15T08:30:00", "1990-03-15"),
        ("1990-03-15T08:30:00.123+07:00", "1990-03-15"),
        ("1990-03-15T00:00:00Z", "1990-03-15"),
        ("1990-03-15 00:00:00", "1990-03-15"),
        ("15/03/1990", "1990-03-15"),
        ("5/3/1990", "1990-03-05"),
        ("05-03-1990", "1990-03-05"),
        ("05.03.1990", "1990-03-05"),
        ("15/03/1990 12:00:00 AM", "1990-03-15"),
        ("15031990", "1990-03-15"),
        ("19900315", "1990-03-15"),  # only readable year first: month 19 does not exist
        ("1990", "1990"),
        ("03/1990", "1990-03"),
        ("3/1990", "1990-03"),
        ("03.1990", "1990-03"),
        ("1990-03", "1990-03"),
        ("  15/03/1990\n", "1990-03-15"),
        ("\ufeff15/03/1990", "1990-03-15"),
        ("32947", "1990-03-15"),
        ("32947.0", "1990-03-15"),
        ("32947.75", "1990-03-15"),
        ("1990.0", "1990"),
        (32947, "1990-03-15"),
        (32947.75, "1990-03-15"),
        (Decimal("32947"), "1990-03-15"),
        (Decimal("32947.5"), "1990-03-15"),
        (1990, "1990"),
        (1990.0, "1990"),
        (15031990, "1990-03-15"),
        (date(1990, 3, 15), "1990-03-15"),
        (datetime(1990, 3, 15, 23, 59), "1990-03-15"),
        (PartialDate(1990, 3), "1990-03"),
        # Vietnamese written out, with or without its marks, and a form's label before the date.
        ("ngày 15 tháng 3 năm 1990", "1990-03-15"),
        ("15 tháng 03 năm 1990", "1990-03-15"),
        ("NGÀY 5 THÁNG 12 NĂM 2001", "2001-12-05"),
        ("ngay 15 thang 3 nam 1990", "1990-03-15"),
        ("15 tháng 3, 1990", "1990-03-15"),
        ("tháng 3 năm 1990", "1990-03"),
        ("Tháng 3/1990", "1990-03"),
        ("năm 1990", "1990"),
        ("Ngày 15/03/1990", "1990-03-15"),
        ("Ngày: 15/03/1990", "1990-03-15"),
    ],
)
def test_accepted_spellings(value, expected):
    assert iso(parse_date(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "DATE_EMPTY"),
        ("", "DATE_EMPTY"),
        ("   ", "DATE_EMPTY"),
        ("NaN", "DATE_EMPTY"),
        ("NaT", "DATE_EMPTY"),
        ("#N/A", "DATE_EMPTY"),
        (float("nan"), "DATE_EMPTY"),
        (Decimal("NaN"), "DATE_EMPTY"),
        (_NotEqualToItself(), "DATE_EMPTY"),
        ("abc", "DATE_UNREADABLE"),
        ("15 tháng 3", "DATE_UNREADABLE"),
        ("ngày", "DATE_UNREADABLE"),
        ("ngày 15 tháng 3", "DATE_UNREADABLE"),
        ("Nguyễn Văn An", "DATE_UNREADABLE"),
        ("1/2/3/4", "DATE_UNREADABLE"),
        ("65", "DATE_UNREADABLE"),  # an age, not day 65 of a spreadsheet
        (65, "DATE_UNREADABLE"),
        ("010190", "DATE_UNREADABLE"),
        ("150390", "DATE_UNREADABLE"),
        ("12.5", "DATE_UNREADABLE"),
        (12.5, "DATE_UNREADABLE"),
        (-32947, "DATE_UNREADABLE"),
        (10**12, "DATE_UNREADABLE"),
        (float("inf"), "DATE_UNREADABLE"),
        (Decimal("Infinity"), "DATE_UNREADABLE"),
        (True, "DATE_UNREADABLE"),
        (b"15/03/1990", "DATE_UNREADABLE"),
        (_Unprintable(), "DATE_UNREADABLE"),
        ("31/02/1990", "DATE_IMPOSSIBLE"),
        ("29/02/2023", "DATE_IMPOSSIBLE"),
        ("1990-13-01", "DATE_IMPOSSIBLE"),
        ("15/00/1990", "DATE_IMPOSSIBLE"),
        ("13/1990", "DATE_IMPOSSIBLE"),
        ("1990-00", "DATE_IMPOSSIBLE"),
        ("32131990", "DATE_IMPOSSIBLE"),
        ("03/15/1990", "DATE_DAY_MONTH_SWAPPED"),
        ("12/31/1990", "DATE_DAY_MONTH_SWAPPED"),
        ("15/03/90", "DATE_TWO_DIGIT_YEAR"),
        ("ngày 31 tháng 2 năm 1990", "DATE_IMPOSSIBLE"),
        ("ngày 15/03/90", "DATE_TWO_DIGIT_YEAR"),
        ("1.1.05", "DATE_TWO_DIGIT_YEAR"),
        ("1889", "DATE_TOO_EARLY"),
        ("31/12/1889", "DATE_TOO_EARLY"),
    ],
)
def test_refused_with_a_reason(value, expected):
    problem = parse_date(value)
    assert code(problem) == expected
    assert isinstance(problem, Problem)
    assert problem.message_vi
    assert problem.message_en


def test_the_swap_message_suggests_the_other_reading():
    problem = parse_date("03/15/1990")
    assert isinstance(problem, Problem)
    assert "15/03/1990" in problem.message_vi


def test_range_is_the_callers():
    assert code(parse_date("2025-06-02", max_date=TODAY)) == "DATE_TOO_LATE"
    assert iso(parse_date("2025-06-01", max_date=TODAY)) == "2025-06-01"
    # A month or year that starts by the limit is not after it.
    assert iso(parse_date("06/2025", max_date=TODAY)) == "2025-06"
    assert iso(parse_date("2025", max_date=TODAY)) == "2025"
    assert code(parse_date("07/2025", max_date=TODAY)) == "DATE_TOO_LATE"
    assert code(parse_date("2020-01-01", min_year=2021)) == "DATE_TOO_EARLY"
    assert iso(parse_date("1850", min_year=1800)) == "1850"
    assert code(parse_date(PartialDate(1800))) == "DATE_TOO_EARLY"


def test_excel_serials_follow_the_1900_system_with_its_leap_day():
    assert from_excel_serial(1) == date(1900, 1, 1)
    assert from_excel_serial(59) == date(1900, 2, 28)
    assert from_excel_serial(60) is None  # 29 February 1900, which Excel counts and the calendar does not
    assert from_excel_serial(61) == date(1900, 3, 1)
    assert from_excel_serial(43831) == date(2020, 1, 1)
    assert from_excel_serial(43831.99) == date(2020, 1, 1)
    assert from_excel_serial(0) is None
    assert from_excel_serial(float("nan")) is None
    assert from_excel_serial(1e12) is None


def test_the_plausible_serial_range():
    first, last = EXCEL_SERIAL_RANGE.start, EXCEL_SERIAL_RANGE.stop - 1
    assert iso(parse_date(first)) == "1927-05-18"
    assert iso(parse_date(last)) == "2199-12-31"
    assert code(parse_date(last + 1)) == "DATE_UNREADABLE"
    assert iso(parse_date(9999)) == "9999"  # four digits are a year


day_dates = st.dates(date(1890, 1, 1), TODAY)


@given(day_dates)
def test_every_day_reads_back_from_every_spelling(d):
    expected = PartialDate(d.year, d.month, d.day)
    spellings: list[object] = [
        d,
        datetime(d.year, d.month, d.day, 13, 45),
        d.isoformat(),
        f"{d.isoformat()}T00:00:00",
        f"{d.isoformat()} 00:00:00",
        d.strftime("%d/%m/%Y"),
        f"{d.day}/{d.month}/{d.year}",
        d.strftime("%d-%m-%Y"),
        d.strftime("%d.%m.%Y"),
        d.strftime("%d%m%Y"),
        f" {d:%d/%m/%Y} ",
    ]
    for spelling in spellings:
        assert parse_date(spelling, max_date=TODAY) == expected, spelling


@given(st.dates(date(1927, 5, 18), date(2199, 12, 31)), st.floats(0, 0.999))
def test_serials_read_back_as_their_day(d, time_of_day):
    serial = (d - EXCEL_EPOCH).days
    expected = PartialDate(d.year, d.month, d.day)
    assert parse_date(serial) == expected
    assert parse_date(str(serial)) == expected
    assert parse_date(float(serial)) == expected
    assert parse_date(serial + time_of_day) == expected


@given(st.dates(date(1890, 1, 1), TODAY))
def test_month_precision_and_year_precision_are_kept(d):
    assert parse_date(f"{d.month:02d}/{d.year}") == PartialDate(d.year, d.month)
    assert parse_date(f"{d.year}-{d.month:02d}") == PartialDate(d.year, d.month)
    assert parse_date(str(d.year)) == PartialDate(d.year)
    assert parse_date(d.year) == PartialDate(d.year)


@given(st.dates(date(1890, 1, 1), TODAY))
def test_a_month_first_date_is_caught_when_the_day_is_over_12(d):
    assume(d.day > 12)
    assert code(parse_date(f"{d.month:02d}/{d.day:02d}/{d.year}")) == "DATE_DAY_MONTH_SWAPPED"


@given(partial_dates(1890, 2199))
def test_a_partial_date_passes_through(d):
    assert parse_date(d) == d
    assert parse_date(d.iso()) == d


@given(st.text())
def test_parse_is_total_on_text(text):
    assert isinstance(parse_date(text), PartialDate | Problem)


@given(odd_objects, st.integers(1, 3000), st.none() | st.dates())
def test_parse_is_total_and_keeps_to_the_range(value, min_year, max_date):
    result = parse_date(value, min_year=min_year, max_date=max_date)
    assert isinstance(result, PartialDate | Problem)
    if isinstance(result, PartialDate):
        assert result.year >= min_year
        assert max_date is None or result.earliest() <= max_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00/00/1950", PartialDate(1950)),
        ("00/03/1950", PartialDate(1950, 3)),
        ("00001950", PartialDate(1950)),
    ],
)
def test_zero_day_and_month_are_unknown_as_on_the_chip_card(value, expected):
    # One rule for a batch's dates and the chip card's QR: 00 is an unknown day or month.
    from vaxlink.domain.chip_qr import parse_chip_qr

    assert parse_date(value) == expected
    digits = "".join(ch for ch in value if ch.isdigit())
    card = parse_chip_qr(f"077050001234||Nguyễn Văn An|{digits}|Nam|Phước Trung, Bà Rịa|20042021")
    assert card.date_of_birth == expected


@pytest.mark.parametrize(
    ("value", "dose_on", "expected"),
    [
        ("20/08/98", date(2021, 8, 1), "1998-08-20"),
        ("20-08-98", date(2021, 8, 1), "1998-08-20"),
        ("1.1.05", date(2021, 8, 1), "2005-01-01"),
        ("15/03/12", date(2022, 5, 1), "2012-03-15"),
        ("ngày 15/03/12", date(2022, 5, 1), "2012-03-15"),
        # At least 5 on the day of the dose: a child born in March 2017 was 5 in 2022, not yet in 2021.
        ("15/03/17", date(2022, 5, 1), "2017-03-15"),
        ("15/03/17", date(2021, 5, 1), "1917-03-15"),
        ("15/03/17", date(2022, 3, 14), "1917-03-15"),
        ("15/03/17", date(2022, 3, 15), "2017-03-15"),
        # At most 104: born in 1921 a person is 100 in 2021; in 2021 nobody vaccinated was born in 2021.
        ("01/01/21", date(2021, 8, 1), "1921-01-01"),
        ("00/00/98", date(2021, 8, 1), "1998"),
        ("00/03/98", date(2021, 8, 1), "1998-03"),
        # A date with four digits is read as written, whatever the day of the dose.
        ("20/08/1998", date(2021, 8, 1), "1998-08-20"),
        ("1998", date(2021, 8, 1), "1998"),
    ],
)
def test_a_two_digit_birth_year_is_read_on_the_day_of_the_dose(value, dose_on, expected):
    found = parse_birth_date(value, dose_on=dose_on)
    assert isinstance(found, PartialDate), found
    assert found.iso() == expected


@pytest.mark.parametrize(
    ("value", "dose_on", "expected"),
    [
        ("20/08/98", None, "DATE_TWO_DIGIT_YEAR"),
        ("31/02/98", date(2021, 8, 1), "DATE_TWO_DIGIT_YEAR"),
        ("20/13/98", date(2021, 8, 1), "DATE_TWO_DIGIT_YEAR"),
        ("20/08/9", date(2021, 8, 1), "DATE_UNREADABLE"),
        ("", date(2021, 8, 1), "DATE_EMPTY"),
    ],
)
def test_a_two_digit_birth_year_that_cannot_be_read_stays_refused(value, dose_on, expected):
    assert code(parse_birth_date(value, dose_on=dose_on)) == expected


@given(
    st.dates(min_value=date(1910, 1, 1), max_value=date(2020, 12, 31)),
    st.dates(min_value=date(2021, 1, 1), max_value=date(2030, 12, 31)),
)
def test_a_vaccinees_birth_date_written_with_two_digits_is_read_back(born, dose_on):
    age = dose_on.year - born.year - ((dose_on.month, dose_on.day) < (born.month, born.day))
    assume(age in VACCINEE_AGES)
    found = parse_birth_date(f"{born.day:02d}/{born.month:02d}/{born.year % 100:02d}", dose_on=dose_on)
    assert isinstance(found, PartialDate)
    assert found.as_date() == born

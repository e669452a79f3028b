"""Personal identification numbers: structure `PPP G YY NNNNNN`, and the id column of health records."""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from vaxlink.domain.errors import Problem
from vaxlink.domain.personal_ids import (
    LEGACY_PROVINCE_CODES,
    IdKind,
    IdNumber,
    PersonalId,
    century_digit,
    compose_personal_id,
    consistency_problems,
    is_known_place,
    parse_personal_id,
    read_id_number,
)
from vaxlink.domain.sex import Sex

TODAY = date(2025, 6, 1)

VALID_PLACES = sorted({"0" + c for c in LEGACY_PROVINCE_CODES} | {f"{n}" for n in range(101, 296)})
INVALID_PLACES = sorted({f"{n:03d}" for n in range(1000)} - set(VALID_PLACES))

places = st.sampled_from(VALID_PLACES)
sexes = st.sampled_from(list(Sex))
birth_years = st.integers(1900, TODAY.year)
serials = st.integers(0, 999_999)


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


# Anything a spreadsheet or data frame cell can hold, and some things it cannot.
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


def parse(text: str) -> PersonalId | Problem:
    return parse_personal_id(text, today=TODAY)


def read(value: object) -> IdNumber:
    return read_id_number(value, today=TODAY)


def code(result: object) -> str | None:
    return result.code if isinstance(result, Problem) else None


# ---------------------------------------------------------------- the province table


def test_province_codes_are_the_63_of_the_shipped_legacy_list():
    data = resources.files("vaxlink.domain") / "data" / "admin_units"
    text = (data / "wards-legacy-2025-01-04.csv").read_text("utf-8-sig")
    from_csv = {row["Mã TP"] for row in csv.DictReader(io.StringIO(text))}
    assert from_csv == LEGACY_PROVINCE_CODES
    assert len(LEGACY_PROVINCE_CODES) == 63


@pytest.mark.parametrize("place", ["001", "077", "079", "096", "101", "200", "295"])
def test_known_places(place):
    assert is_known_place(place)


@pytest.mark.parametrize("place", ["000", "003", "097", "099", "100", "296", "999", "77", "0077", "O77", ""])
def test_unknown_places(place):
    assert not is_known_place(place)


# ---------------------------------------------------------------- reading a number


def test_the_example_from_the_domain_notes_decodes():
    pid = parse("077090001234")
    assert pid == PersonalId(
        number="077090001234",
        place_code="077",
        sex=Sex.MALE,
        birth_year=1990,
        serial="001234",
        born_abroad=False,
        province_code="77",
    )
    assert str(pid) == "077090001234"


@pytest.mark.parametrize(
    ("g", "sex", "birth_year"),
    [(0, Sex.MALE, 1985), (1, Sex.FEMALE, 1985), (2, Sex.MALE, 2005), (3, Sex.FEMALE, 2005)],
)
def test_the_fourth_digit_gives_sex_and_century(g, sex, birth_year):
    pid = parse(f"079{g}{birth_year % 100:02d}123456")
    assert isinstance(pid, PersonalId)
    assert (pid.sex, pid.birth_year) == (sex, birth_year)


@pytest.mark.parametrize(("g", "century"), [(4, 2100), (5, 2100), (6, 2200), (7, 2200), (8, 2300), (9, 2300)])
def test_later_centuries_decode_once_they_are_not_in_the_future(g, century):
    pid = parse_personal_id(f"001{g}05000001", today=date(century + 10, 1, 1))
    assert isinstance(pid, PersonalId)
    assert pid.birth_year == century + 5
    assert pid.sex is (Sex.MALE if g % 2 == 0 else Sex.FEMALE)


@pytest.mark.parametrize(
    "text",
    [
        "077 090 001 234",
        "077.090.001.234",
        "077-090-001-234",
        " 077090001234\n",
        "0770\t9000 1234",
        "077\u00a0090\u00a0001\u00a0234",
    ],
)
def test_spaces_dots_and_dashes_between_digits_are_ignored(text):
    pid = parse(text)
    assert isinstance(pid, PersonalId)
    assert pid.number == "077090001234"


@pytest.mark.parametrize("place", ["101", "295"])
def test_births_registered_abroad_have_no_province(place):
    pid = parse(f"{place}090001234")
    assert isinstance(pid, PersonalId)
    assert pid.born_abroad
    assert pid.province_code is None
    assert pid.province_name is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("077090001234", "Bà Rịa"), ("079090001234", "Hồ Chí Minh"), ("001090001234", "Hà Nội")],
)
def test_province_name_reads_the_pre_2025_table(text, fragment):
    pid = parse(text)
    assert isinstance(pid, PersonalId)
    assert pid.province_name is not None
    assert fragment in pid.province_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "ID_EMPTY"),
        ("   ", "ID_EMPTY"),
        (".-. -", "ID_EMPTY"),
        ("07709000123A", "ID_NOT_DIGITS"),
        ("CCCD 077090001234", "ID_NOT_DIGITS"),
        ("０７７０９０００１２３４", "ID_NOT_DIGITS"),  # full-width digits are not ASCII digits
        ("077090001234/", "ID_NOT_DIGITS"),
        ("77090001234", "ID_LENGTH"),
        ("0770900012345", "ID_LENGTH"),
        ("273456789", "ID_LENGTH"),
        ("003090001234", "ID_UNKNOWN_PLACE"),
        ("097090001234", "ID_UNKNOWN_PLACE"),
        ("100090001234", "ID_UNKNOWN_PLACE"),
        ("296090001234", "ID_UNKNOWN_PLACE"),
        ("000090001234", "ID_UNKNOWN_PLACE"),
        ("077290001234", "ID_BIRTH_YEAR_FUTURE"),  # G=2 → 2090
        ("077426000001", "ID_BIRTH_YEAR_FUTURE"),  # G=4 → 2126
    ],
)
def test_every_invalid_number_says_why(text, expected):
    problem = parse(text)
    assert isinstance(problem, Problem)
    assert problem.code == expected
    assert problem.message_vi
    assert problem.message_en


def test_not_text_is_a_problem_not_an_exception():
    assert code(parse_personal_id(None)) == "ID_EMPTY"  # type: ignore[arg-type]
    assert code(parse_personal_id(77090001234)) == "ID_NOT_TEXT"  # type: ignore[arg-type]


def test_birth_year_may_be_this_year_but_not_next():
    assert isinstance(parse_personal_id("001225000001", today=date(2025, 1, 1)), PersonalId)
    assert code(parse_personal_id("001226000001", today=date(2025, 12, 31))) == "ID_BIRTH_YEAR_FUTURE"


@given(st.text())
def test_parse_is_total_on_text(text):
    result = parse(text)
    assert isinstance(result, PersonalId | Problem)


@given(st.text(alphabet="0123456789 .-", max_size=16))
def test_a_valid_number_is_twelve_digits_with_a_known_place_and_a_past_year(text):
    result = parse(text)
    if isinstance(result, PersonalId):
        assert len(result.number) == 12
        assert result.number.isdigit()
        assert is_known_place(result.place_code)
        assert 1900 <= result.birth_year <= TODAY.year
        assert result.number == result.place_code + result.number[3:6] + result.serial


@given(st.sampled_from(INVALID_PLACES), st.integers(0, 10**9 - 1))
def test_any_other_prefix_is_an_unknown_place(place, rest):
    assert code(parse(f"{place}{rest:09d}")) == "ID_UNKNOWN_PLACE"


# ---------------------------------------------------------------- composing a number


@pytest.mark.parametrize(
    ("sex", "year", "g"),
    [
        (Sex.MALE, 1900, 0),
        (Sex.FEMALE, 1999, 1),
        (Sex.MALE, 2000, 2),
        (Sex.FEMALE, 2099, 3),
        (Sex.MALE, 2100, 4),
        (Sex.FEMALE, 2250, 7),
        (Sex.MALE, 2399, 8),
    ],
)
def test_century_digit(sex, year, g):
    assert century_digit(sex, year) == g


@pytest.mark.parametrize("year", [1899, 2400, -1])
def test_century_digit_outside_the_scheme_raises(year):
    with pytest.raises(ValueError, match="birth year"):
        century_digit(Sex.MALE, year)


def test_compose_the_example():
    assert compose_personal_id("077", Sex.MALE, 1990, 1234) == "077090001234"
    assert compose_personal_id("077", Sex.FEMALE, 2003, "000042") == "077303000042"


@pytest.mark.parametrize(
    ("place", "year", "serial"),
    [
        ("77", 1990, 1),
        ("097", 1990, 1),
        ("abc", 1990, 1),
        ("077", 1899, 1),
        ("077", 2400, 1),
        ("077", 1990, -1),
        ("077", 1990, 1_000_000),
        ("077", 1990, "12345"),
        ("077", 1990, "12345a"),
        ("077", 1990, True),
        ("077", 1990, 1.0),
    ],
)
def test_compose_rejects_impossible_parts(place, year, serial):
    with pytest.raises(ValueError):
        compose_personal_id(place, Sex.MALE, year, serial)


def test_compose_rejects_a_sex_that_is_not_a_sex():
    with pytest.raises(ValueError):
        compose_personal_id("077", "M", 1990, 1)  # type: ignore[arg-type]


@given(places, sexes, birth_years, serials)
def test_compose_then_parse_round_trips(place, sex, year, serial):
    number = compose_personal_id(place, sex, year, serial)
    pid = parse(number)
    assert isinstance(pid, PersonalId)
    assert (pid.place_code, pid.sex, pid.birth_year, int(pid.serial)) == (place, sex, year, serial)
    assert pid.born_abroad == (place[0] != "0")
    assert pid.province_code == (place[1:] if place[0] == "0" else None)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_parse_then_compose_round_trips(text):
    pid = parse(text)
    if isinstance(pid, PersonalId):
        assert compose_personal_id(pid.place_code, pid.sex, pid.birth_year, pid.serial) == text


# ---------------------------------------------------------------- consistency with the record


def test_consistent_record_has_no_problems():
    pid = parse("077090001234")
    assert isinstance(pid, PersonalId)
    assert consistency_problems(pid, Sex.MALE, 1990) == []
    assert consistency_problems(pid, None, None) == []


def test_sex_and_birth_year_mismatches_are_each_reported():
    pid = parse("077090001234")
    assert isinstance(pid, PersonalId)
    assert [p.code for p in consistency_problems(pid, Sex.FEMALE, 1990)] == ["ID_SEX_MISMATCH"]
    assert [p.code for p in consistency_problems(pid, Sex.MALE, 1991)] == ["ID_BIRTH_YEAR_MISMATCH"]
    both = consistency_problems(pid, Sex.FEMALE, 1909)
    assert [p.code for p in both] == ["ID_SEX_MISMATCH", "ID_BIRTH_YEAR_MISMATCH"]
    assert "Nữ" in both[0].message_vi
    assert "1909" in both[1].message_en


@given(places, sexes, birth_years, serials, st.none() | sexes, st.none() | birth_years)
def test_consistency_is_exactly_the_differences(place, sex, year, serial, stated_sex, stated_year):
    pid = parse(compose_personal_id(place, sex, year, serial))
    assert isinstance(pid, PersonalId)
    codes = {p.code for p in consistency_problems(pid, stated_sex, stated_year)}
    assert ("ID_SEX_MISMATCH" in codes) == (stated_sex is not None and stated_sex != sex)
    assert ("ID_BIRTH_YEAR_MISMATCH" in codes) == (stated_year is not None and stated_year != year)


# ---------------------------------------------------------------- the id column of a health record


@pytest.mark.parametrize(
    ("value", "kind", "digits", "problem"),
    [
        ("077090001234", IdKind.PERSONAL_ID, "077090001234", None),
        ("077 090 001 234", IdKind.PERSONAL_ID, "077090001234", None),
        ("77090001234", IdKind.LOST_ZERO, "077090001234", None),
        (77090001234, IdKind.LOST_ZERO, "077090001234", None),
        (77090001234.0, IdKind.LOST_ZERO, "077090001234", None),
        ("77090001234.0", IdKind.LOST_ZERO, "077090001234", None),
        (Decimal("77090001234"), IdKind.LOST_ZERO, "077090001234", None),
        (1090001234, IdKind.LOST_ZERO, "001090001234", None),  # Hà Nội 001 loses two zeros
        ("273456789", IdKind.CMND, "273456789", None),
        (273456789, IdKind.CMND, "273456789", None),
        ("C1234567", IdKind.OTHER, "C1234567", None),
        ("c 1234567", IdKind.OTHER, "C1234567", None),
        ("E12345678", IdKind.OTHER, "E12345678", None),
        (None, IdKind.EMPTY, None, "ID_EMPTY"),
        ("", IdKind.EMPTY, None, "ID_EMPTY"),
        ("  ", IdKind.EMPTY, None, "ID_EMPTY"),
        ("-", IdKind.EMPTY, None, "ID_EMPTY"),
        (float("nan"), IdKind.EMPTY, None, "ID_EMPTY"),
        (Decimal("NaN"), IdKind.EMPTY, None, "ID_EMPTY"),
        ("NaN", IdKind.EMPTY, None, "ID_EMPTY"),
        ("N/A", IdKind.EMPTY, None, "ID_EMPTY"),
        ("097090001234", IdKind.PERSONAL_ID, "097090001234", "ID_UNKNOWN_PLACE"),
        ("077290001234", IdKind.PERSONAL_ID, "077290001234", "ID_BIRTH_YEAR_FUTURE"),
        ("99090001234", IdKind.OTHER, "99090001234", "ID_LENGTH"),  # "099…" is no place either
        ("12345678", IdKind.OTHER, "12345678", "ID_LENGTH"),
        ("1234567890123", IdKind.OTHER, "1234567890123", "ID_LENGTH"),
        ("000000000", IdKind.CMND, "000000000", "ID_PLACEHOLDER"),
        ("111111111111", IdKind.PERSONAL_ID, "111111111111", "ID_PLACEHOLDER"),
        ("7.709E+10", IdKind.OTHER, None, "ID_SCIENTIFIC"),
        ("7,7090001234e10", IdKind.OTHER, None, "ID_SCIENTIFIC"),
        ("O77090001234", IdKind.OTHER, "O77090001234", "ID_LOOKALIKE_LETTERS"),
        ("27345678l", IdKind.OTHER, "27345678L", "ID_LOOKALIKE_LETTERS"),
        ("không có", IdKind.OTHER, None, "ID_UNREADABLE"),
        ("KHONG", IdKind.OTHER, "KHONG", "ID_UNREADABLE"),
        ("CCCD: 077090001234", IdKind.OTHER, None, "ID_UNREADABLE"),
        (True, IdKind.OTHER, None, "ID_UNREADABLE"),
        (-77090001234, IdKind.OTHER, None, "ID_UNREADABLE"),
        (77090001234.5, IdKind.OTHER, None, "ID_UNREADABLE"),
        (float("inf"), IdKind.OTHER, None, "ID_UNREADABLE"),
        (Decimal("77090001234.5"), IdKind.OTHER, None, "ID_UNREADABLE"),
    ],
)
def test_what_the_id_column_holds(value, kind, digits, problem):
    result = read(value)
    assert (result.kind, result.digits, code(result.problem)) == (kind, digits, problem)


def test_raw_keeps_what_was_read():
    assert read(77090001234.0).raw == "77090001234.0"
    assert read(" 077090001234 ").raw == " 077090001234 "
    assert read(None).raw == ""


def test_an_object_that_cannot_be_printed_is_unreadable():
    result = read(_Unprintable())
    assert (result.kind, code(result.problem)) == (IdKind.OTHER, "ID_UNREADABLE")


@given(odd_objects)
def test_read_is_total_and_its_fields_agree(value):
    result = read(value)
    assert isinstance(result, IdNumber)
    if result.kind is IdKind.EMPTY:
        assert result.digits is None
        assert result.personal_id is None
    if result.kind in (IdKind.PERSONAL_ID, IdKind.LOST_ZERO):
        assert result.digits is not None
        assert len(result.digits) == 12
    if result.kind is IdKind.LOST_ZERO:
        assert result.personal_id is not None
    if result.kind is IdKind.CMND:
        assert result.digits is not None
        assert len(result.digits) == 9
    if result.personal_id is not None:
        assert result.problem is None
        assert result.personal_id.number == result.digits
    if result.problem is None:
        assert result.kind is not IdKind.EMPTY


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_eleven_digits_get_their_zero_back_only_when_that_is_valid(digits):
    assume(len(set(digits)) > 1)
    result = read(digits)
    restored = parse("0" + digits)
    if isinstance(restored, PersonalId):
        assert result.kind is IdKind.LOST_ZERO
        assert result.digits == "0" + digits
        assert result.personal_id == restored
    else:
        assert result.kind is IdKind.OTHER
        assert result.personal_id is None
        assert code(result.problem) == "ID_LENGTH"


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_ten_digits_get_two_zeros_back_only_when_that_is_valid(digits):
    assume(len(set(digits)) > 1)
    result = read(digits)
    restored = parse("00" + digits)
    assert (result.kind is IdKind.LOST_ZERO) == isinstance(restored, PersonalId)
    if result.kind is IdKind.LOST_ZERO:
        assert result.digits == "00" + digits


@given(places, sexes, birth_years, serials)
def test_a_number_that_went_through_a_spreadsheet_comes_back(place, sex, year, serial):
    number = compose_personal_id(place, sex, year, serial)
    assume(len(set(number)) > 1)
    as_number = IdKind.LOST_ZERO if number.startswith("0") else IdKind.PERSONAL_ID
    cells = [
        (number, IdKind.PERSONAL_ID),
        (int(number), as_number),
        (float(int(number)), as_number),
        (f"{int(number)}.0", as_number),
        (Decimal(int(number)), as_number),
    ]
    for cell, kind in cells:
        result = read(cell)
        assert (result.kind, result.digits) == (kind, number)
        assert result.personal_id is not None


@given(st.floats(allow_nan=False))
def test_floats_are_read_as_whole_numbers_or_refused(f):
    result = read(f)
    if not math.isfinite(f) or not f.is_integer() or f < 0:
        assert code(result.problem) == "ID_UNREADABLE"

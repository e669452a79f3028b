"""The id column at its edges: zero and the largest exact numbers, the passport lengths, placeholders of
exactly six digits, objects that are not text, and how long texts are shown in messages."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from vaxlink.domain.personal_ids import IdKind, IdNumber, PersonalId, parse_personal_id, read_id_number

TODAY = date(2025, 6, 1)
# 2**53 + 1: the first whole number a double cannot hold; an integer or a Decimal keeps every digit.
BEYOND_DOUBLE = 9_007_199_254_740_993


@pytest.mark.parametrize("zero", [0, 0.0, Decimal(0)])
def test_zero_is_a_one_digit_number_not_an_unreadable_value(zero: object) -> None:
    r = read_id_number(zero, today=TODAY)
    assert (r.kind, r.digits) == (IdKind.OTHER, "0")
    assert r.problem is not None and r.problem.code == "ID_LENGTH"
    assert r.problem.message_en == "1 digits: neither a personal id (12) nor a CMND (9)"


@pytest.mark.parametrize(("negative", "shown"), [(-1, "-1"), (-1.0, "-1.0"), (Decimal(-1), "-1")])
def test_negative_numbers_are_unreadable(negative: object, shown: str) -> None:
    r = read_id_number(negative, today=TODAY)
    assert (r.kind, r.digits, r.raw) == (IdKind.OTHER, None, shown)
    assert r.problem is not None and r.problem.code == "ID_UNREADABLE"
    assert r.problem.message_en == f"«{shown}» is not a personal id, a CMND or a passport number"


@pytest.mark.parametrize("value", [BEYOND_DOUBLE, Decimal(BEYOND_DOUBLE)])
def test_integers_and_decimals_keep_every_digit(value: object) -> None:
    r = read_id_number(value, today=TODAY)
    assert r.digits == "9007199254740993"
    assert r.problem is not None and r.problem.code == "ID_LENGTH"


def test_a_double_beyond_exact_whole_numbers_gives_the_digits_it_holds() -> None:
    assert read_id_number(float(BEYOND_DOUBLE), today=TODAY).digits == "9007199254740992"


class _Text:
    """An object a spreadsheet library might hand over: not a str, but printing as the number."""

    def __str__(self) -> str:
        return " 079 090 001 234 "


def test_an_object_printing_as_a_number_is_read_as_that_number() -> None:
    r = read_id_number(_Text(), today=TODAY)
    assert (r.kind, r.digits, r.problem) == (IdKind.PERSONAL_ID, "079090001234", None)
    assert r.raw == " 079 090 001 234 "


@pytest.mark.parametrize(
    ("text", "usable"),
    [
        ("C12345", True),  # 6: the shortest passport number
        ("C1234", False),  # 5
        ("C" + "1" * 19, True),  # 20: the longest
        ("C" + "1" * 20, False),  # 21
        ("ABCDEFG", False),  # letters only: a word, not a document number
        ("N1234567", True),
    ],
)
def test_passport_numbers_by_length(text: str, usable: bool) -> None:
    r = read_id_number(text, today=TODAY)
    assert r.kind is IdKind.OTHER
    assert r.digits == text.upper()
    if usable:
        assert r.problem is None
    else:
        assert r.problem is not None and r.problem.code == "ID_UNREADABLE"


@pytest.mark.parametrize(("digits", "placeholder"), [("111111", True), ("11111", False), ("0000000", True)])
def test_runs_of_one_digit_from_six_are_placeholders(digits: str, placeholder: bool) -> None:
    r = read_id_number(digits, today=TODAY)
    assert r.problem is not None
    assert (r.problem.code == "ID_PLACEHOLDER") is placeholder
    if not placeholder:
        assert r.problem.code == "ID_LENGTH"


def test_lengths_that_are_no_number() -> None:
    seven = read_id_number("1234567", today=TODAY)
    assert (seven.kind, seven.digits) == (IdKind.OTHER, "1234567")
    assert seven.problem is not None
    assert seven.problem.message_en == "7 digits: neither a personal id (12) nor a CMND (9)"
    # Ten digits whose restored zeros give an unknown place (009): not a lost-zero number either.
    ten = read_id_number("9912345678", today=TODAY)
    assert (ten.kind, ten.digits) == (IdKind.OTHER, "9912345678")
    assert ten.problem is not None and ten.problem.code == "ID_LENGTH"
    assert ten.problem.message_en.startswith("10 digits; putting back leading zeros does not give a valid")


@pytest.mark.parametrize(
    ("length", "shown"),
    [(39, "!" * 39), (40, "!" * 40), (41, "!" * 39 + "…"), (60, "!" * 39 + "…")],
)
def test_long_values_are_cut_in_messages(length: int, shown: str) -> None:
    r = read_id_number("!" * length, today=TODAY)
    assert r.problem is not None
    assert r.problem.message_en == f"«{shown}» is not a personal id, a CMND or a passport number"


def test_decoded_values_are_immutable() -> None:
    pid = parse_personal_id("079090001234", today=TODAY)
    assert isinstance(pid, PersonalId)
    assert pid.province_name is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        pid.number = "x"  # type: ignore[misc]
    r = read_id_number("079090001234", today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.kind = IdKind.EMPTY  # type: ignore[misc]
    # Slotted: millions of them are made during an import.
    assert "__slots__" in PersonalId.__dict__ and "__slots__" in IdNumber.__dict__
    abroad = parse_personal_id("101090001234", today=TODAY)
    assert isinstance(abroad, PersonalId) and abroad.province_name is None

"""A dose's number as exports write it: one rule for every file format."""

from __future__ import annotations

import pytest

from vaxlink.domain.vaccines import parse_dose_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", 1),
        ("2.0", 2),
        ("02", 2),
        (2, 2),
        (3.0, 3),
        (" 3 ", 3),
        ("20", 20),
        ("Mũi 2", 2),
        ("MŨI 1", 1),
        ("mũi thứ 2", 2),
        ("Mũi số 3", 3),
        ("Mũi thứ nhất", 1),
        ("mũi thứ hai", 2),
        ("Mui thu ba", 3),
        ("Liều 2", 2),
        ("Lần 2", 2),
        ("Dose 2", 2),
        ("dose #2", 2),
        # No number from 1 to 20, or more than one: refused, not guessed.
        ("0", None),
        ("21", None),
        ("2.5", None),
        ("1/2", None),
        ("nhắc lại", None),
        ("Mũi 1 nhắc lại", None),
        ("Mũi", None),
        ("", None),
        (None, None),
        ("１", None),
    ],
)
def test_parse_dose_number(value: object, expected: int | None) -> None:
    assert parse_dose_number(value) == expected

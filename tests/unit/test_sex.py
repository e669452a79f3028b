"""Sex as other systems write it, read by the one rule every import and the matcher use."""

from __future__ import annotations

import unicodedata

import pytest

from vaxlink.domain.sex import Sex, parse_sex


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nam", Sex.MALE),
        ("NAM", Sex.MALE),
        (" nam ", Sex.MALE),
        ("Nữ", Sex.FEMALE),
        ("NỮ", Sex.FEMALE),
        ("nu", Sex.FEMALE),
        (unicodedata.normalize("NFD", "Nữ"), Sex.FEMALE),
        ("M", Sex.MALE),
        ("f", Sex.FEMALE),
        ("Male", Sex.MALE),
        ("FEMALE", Sex.FEMALE),
        ("Nam giới", Sex.MALE),
        ("Nữ giới", Sex.FEMALE),
        ("nu gioi", Sex.FEMALE),
        # Numbers mean Nam in one system and Nữ in another: not guessed.
        ("1", None),
        ("0", None),
        ("2", None),
        ("Khác", None),
        ("", None),
        (None, None),
        ("Nguyễn", None),
    ],
)
def test_parse_sex(text: object, expected: Sex | None) -> None:
    assert parse_sex(text) is expected

"""Sex as the register and the ID number encode it."""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"

    @property
    def label_vi(self) -> str:
        return "Nam" if self is Sex.MALE else "Nữ"


_WORDS = {
    "m": Sex.MALE,
    "nam": Sex.MALE,
    "male": Sex.MALE,
    "f": Sex.FEMALE,
    "nu": Sex.FEMALE,
    "nữ": Sex.FEMALE,
    "female": Sex.FEMALE,
    # "Giới tính: Nam giới"
    "nam giới": Sex.MALE,
    "nam gioi": Sex.MALE,
    "nữ giới": Sex.FEMALE,
    "nu gioi": Sex.FEMALE,
}


def parse_sex(text: object) -> Sex | None:
    """`Nam`/`Nữ` (or `Nam giới`/`Nữ giới`), `M`/`F`, `male`/`female` in any case or Unicode form, with or
    without marks; None when absent or unknown."""
    if text is None:
        return None
    s = unicodedata.normalize("NFC", str(text)).strip().lower()
    if s in _WORDS:
        return _WORDS[s]
    stripped = "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))
    return _WORDS.get(stripped)

"""Addresses written another way, and addresses moved to another ward, for the dose batch's error kinds.

The simulator writes a home's address in one of three styles (population.ADDRESS_STYLES): the local part
("Số 12, Đường Lê Lợi" or "Tổ 3, Ấp Suối Nhum"; "12 Lê Lợi" or "Ấp Suối Nhum" in the short style), then
the ward, the district, and in the third style the province, joined by ", ". The functions here work on
those texts one record at a time: they run on the few records that carry the error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

# Components after the local part, per address style (full, short, with province).
TAIL_PARTS = (2, 2, 3)
ABBREVIATIONS = (
    ("Thành phố ", "TP. "),
    ("Thị trấn ", "TT. "),
    ("Thị xã ", "TX. "),
    ("Đường ", "Đ. "),
    ("Phường ", "P. "),
    ("Huyện ", "H. "),
    ("Quận ", "Q. "),
    ("Xã ", "X. "),
)
ALLEY_WORDS = ("Hẻm", "Ngõ", "hẻm", "ngõ")
_NUMBERED = re.compile(r"^Số (\d+(?:/\d+)?), (.*)$")
_BARE_NUMBER = re.compile(r"^\d")
_ALLEY = re.compile(r"^(?:Số )?(\d+)/(\d+)(,?) (.*)$")
_GROUP_FIRST = re.compile(r"^(Tổ \d+), ([^,]+)(.*)$")


def strip_marks(text: str) -> str:
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare.replace("đ", "d").replace("Đ", "D"))


def _abbreviated(text: str, rng: np.random.Generator, style: int) -> str | None:
    out = text
    for long, short in ABBREVIATIONS:
        out = out.replace(long, short)
    return out if out != text else None


def _number_form(text: str, rng: np.random.Generator, style: int) -> str | None:
    """ "Số 12, Đường Lê Lợi" → "12 Đường Lê Lợi"; "12 Lê Lợi" → "Số 12 Lê Lợi"."""
    if m := _NUMBERED.match(text):
        return f"{m.group(1)} {m.group(2)}"
    if _BARE_NUMBER.match(text):
        return f"Số {text}"
    return None


def _alley_first(text: str, rng: np.random.Generator, style: int) -> str | None:
    """House 12 in alley 5 written "Hẻm 5, số 12, ..." instead of "Số 12/5, ..."."""
    if not (m := _ALLEY.match(text)):
        return None
    house, alley, comma, rest = m.groups()
    word = ALLEY_WORDS[int(rng.integers(0, len(ALLEY_WORDS)))]
    return f"{word} {alley}, số {house}{comma} {rest}"


def _group_last(text: str, rng: np.random.Generator, style: int) -> str | None:
    """ "Tổ 3, Ấp Suối Nhum, ..." → "Ấp Suối Nhum, Tổ 3, ..."."""
    if not (m := _GROUP_FIRST.match(text)):
        return None
    group, hamlet, rest = m.groups()
    return f"{hamlet}, {group}{rest}"


def _tail_dropped(text: str, rng: np.random.Generator, style: int) -> str | None:
    """The district (and province), or the ward too, left out."""
    parts = text.split(", ")
    tail = min(TAIL_PARTS[style], len(parts) - 1)
    if tail < 1:
        return None
    return ", ".join(parts[: len(parts) - int(rng.integers(1, tail + 1))])


REWRITES: tuple[Callable[[str, np.random.Generator, int], str | None], ...] = (
    _abbreviated,
    _number_form,
    _alley_first,
    _group_last,
    _tail_dropped,
)


def address_variants(
    rng: np.random.Generator, texts: Sequence[str | None], styles: npt.NDArray[np.int64], plain: float = 0.3
) -> list[str | None]:
    """Each address written another way: one of the rewrites that applies to it, chosen at random, and
    with probability `plain` also without diacritics. Every rewrite changes the text even once folded
    (case, marks and đ), and keeps the numbers of the house (house, alley, group)."""
    out: list[str | None] = []
    for text, style in zip(texts, styles.tolist(), strict=True):
        if text is None:
            out.append(None)
            continue
        order = rng.permutation(len(REWRITES))
        new = next(
            (r for i in order if (r := REWRITES[int(i)](text, rng, style)) is not None),
            None,
        )
        new = text if new is None else new
        out.append(strip_marks(new) if rng.random() < plain else new)
    return out


def in_other_ward(
    texts: Sequence[str | None],
    styles: npt.NDArray[np.int64],
    ward_names: Sequence[str],
    district_names: Sequence[str],
) -> list[str | None]:
    """The same house number and street (or hamlet) with another ward and district written after them."""
    out: list[str | None] = []
    for text, style, ward, district in zip(texts, styles.tolist(), ward_names, district_names, strict=True):
        if text is None:
            out.append(None)
            continue
        parts = text.split(", ")
        at = len(parts) - TAIL_PARTS[style]
        if at < 1:
            out.append(text)
            continue
        parts[at], parts[at + 1] = ward, district
        out.append(", ".join(parts))
    return out

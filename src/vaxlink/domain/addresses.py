"""Street addresses reduced to what tells one home from another: the house number and the street or hamlet.

Health writes addresses many ways ("Số 12, Đường Lê Lợi, Phường Phước Trung, Thành phố Bà Rịa", "12 Lê Lợi,
Phước Trung, Bà Rịa", "so 12 duong le loi", "12/3 Lê Lợi"); the register keeps one. The ward, district and
province that follow are compared through the ward code, not here. What remains of the address is:
- the house number (with its alley part: "12/3", "12a"), or the group number of a rural hamlet ("Tổ 5");
- the street or hamlet name, folded like names (case, marks, đ), without the words that only say what kind
  of place it is ("Đường", "Phố", "Ấp", "Thôn", "Số"...); a hamlet named by a number ("Ấp 5", "Thôn 6",
  "Khu phố 3") keeps its number as its name.
Two addresses agree when both parts do; a shared street alone says "neighbours", not "the same home".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Words that name the kind of place, not the place: dropped wherever they stand. Folded spellings.
_KIND_WORDS = frozenset(
    {
        "so",
        "duong",
        "d",
        "pho",
        "ap",
        "thon",
        "xom",
        "ban",
        "buon",
        "khom",
        "khu",
        "kp",
        "to",
        "ngo",
        "ngach",
        "hem",
        "kiet",
        "hxh",
        "nha",
        "can",
        "sn",
        "dia",
        "chi",
    }
)
# Words that name a hamlet: a number right after one is the hamlet's name ("Ấp 5", "Thôn 6", "Khu phố 3"),
# not a house number. A hamlet is always written with its word; a street named by a number often is not
# ("12 Đường 30/4", "12 30/4"), so a street's number is left as it was (dropped after the house number).
_HAMLET_WORDS = frozenset({"ap", "thon", "xom", "ban", "buon", "khom", "khu", "kp", "pho"})
# Words that open the ward / district / province part: everything from them on is left to the ward code.
_UNIT_WORDS = frozenset(
    {"phuong", "xa", "thi", "quan", "huyen", "thanh", "tinh", "tp", "tx", "tt", "p", "q", "h"}
)
_NUMBER = re.compile(r"^\d+[a-z]?(?:/\d+[a-z]?)*$")
_SPLIT = re.compile(r"[,;\n]+")
_TOKEN = re.compile(r"[a-z0-9/]+")


@dataclass(frozen=True, slots=True)
class AddressKey:
    house: str  # "" when the address names no number
    street: str  # folded street or hamlet words, "" when none

    def __bool__(self) -> bool:
        return bool(self.house or self.street)


def _fold_exact(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare).lower()


def _latin_bases() -> dict[int, str]:
    """Each precomposed Latin letter whose decomposition is an ASCII letter and marks only (ấ, Ở, ñ...),
    mapped to that letter; đ and Đ to d and D."""
    table = {ord("đ"): "d", ord("Đ"): "D"}
    for cp in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        parts = unicodedata.normalize("NFD", chr(cp))
        if len(parts) > 1 and parts[0].isascii() and all(unicodedata.category(m) == "Mn" for m in parts[1:]):
            table[cp] = parts[0]
    return table


_LATIN_BASES = _latin_bases()


def _fold(text: str) -> str:
    """Case, marks and đ folded away (`_fold_exact`). A text of ASCII and precomposed Latin letters, as
    addresses are, folds letter by letter: its decomposition has no marks side by side to reorder, and
    what is left once the marks go is ASCII, which composition leaves alone. Any other text takes the
    whole way."""
    letters = text.translate(_LATIN_BASES)
    return letters.lower() if letters.isascii() else _fold_exact(text)


def address_key(text: object) -> AddressKey:
    """The house number and the street of a free-text address (see the module's doc)."""
    if not isinstance(text, str) or not text.strip():
        return AddressKey("", "")
    house = ""
    street: list[str] = []
    for i, segment in enumerate(_SPLIT.split(_fold(text))):
        # "p.", "q." and "d." are abbreviations: the dot goes, the letter stays a word of its own.
        tokens = _TOKEN.findall(segment.replace(".", " "))
        if not tokens:
            continue
        # From the second segment on, a segment opening with a unit word is the ward and what follows.
        if i > 0 and tokens[0] in _UNIT_WORDS and (house or street):
            break
        words: list[str] = []
        hamlet = False  # the token before was a hamlet's word ("so" may stand between: Ấp số 5)
        for tok in tokens:
            if _NUMBER.match(tok) and hamlet and not words:
                words.append(tok)
                continue
            hamlet = tok in _HAMLET_WORDS or (hamlet and tok == "so")
            if _NUMBER.match(tok):
                if not house:
                    house = tok
                continue
            if tok in _KIND_WORDS or tok.isdigit():
                continue
            words.append(tok)
        if words and not street:
            street = words
        if house and street:
            break
    return AddressKey(house, " ".join(street))

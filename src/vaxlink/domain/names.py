"""Vietnamese personal names: the official spelling kept as registered, one canonical spelling and a
diacritic-free key for matching only, and the family/middle/given split.

The register's spelling is the law: `official_name` keeps it (Unicode form and spacing settled, nothing
else), and that is what is stored and printed. `canonical_name` and `fold_name` exist to compare names.
Every function here is total: any object (None, NaN, numbers, bytes, arbitrary Unicode) gives a string.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

# The five Vietnamese tones as combining marks; U+0340/U+0341 decompose to grave/acute, so NFKD covers them.
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
# Vowel-quality marks (circumflex, breve, horn) and the vowels each one may sit on: â ê ô, ă, ơ ư.
_QUALITIES = {"\u0302": "aeo", "\u0306": "a", "\u031b": "ou"}
_VOWELS = frozenset("aeiouy")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")
_D_STROKE = "đ"

_Unit = tuple[str, tuple[str, ...]]


def _stable(c: str) -> bool:
    return len(c) == 1 and unicodedata.normalize("NFKD", c) == c


def _lower(c: str) -> str:
    # Some case mappings expand ("İ", "ß") or leave NFKD; keeping the letter then is what makes the
    # result a fixed point of canonical_name.
    lo = c.lower()
    return lo if _stable(lo) else c


def _upper(c: str) -> str:
    up = c.upper()
    return up if _stable(up) else c


def _as_text(value: object) -> str:
    """The text of a cell, or "" for None, NaN, NaT, pandas NA and objects that cannot be printed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    try:
        if value != value:
            return ""
    except Exception:
        # pandas.NA refuses to be a bool; it means "missing" as well.
        return ""
    try:
        return str(value)
    except Exception:
        return ""


def _syllable_units(text: str) -> list[list[_Unit]]:
    """Split NFKD text into syllables of (lower-case letter, its combining marks) units.

    Letters build syllables; digits and format characters (soft hyphen, zero-width joiner) vanish
    without splitting a word, so "Th1ảo" stays one syllable; everything else separates syllables.
    """
    syllables: list[list[_Unit]] = []
    current: list[_Unit] = []
    marks: list[str] = []
    base = ""
    attached = False

    def close_unit() -> None:
        nonlocal base, marks
        if base:
            current.append((base, tuple(marks)))
        base, marks = "", []

    for c in text:
        cat = unicodedata.category(c)
        if cat in ("Lu", "Ll", "Lt", "Lo"):
            close_unit()
            base = _lower(c)
            attached = True
        elif cat[0] == "M":
            if attached:
                marks.append(c)
        elif cat[0] == "N":
            # A mark after a digit belongs to the digit and goes with it.
            close_unit()
            attached = False
        elif cat == "Cf":
            continue
        else:
            close_unit()
            attached = False
            if current:
                syllables.append(current)
                current = []
    close_unit()
    if current:
        syllables.append(current)
    return syllables


def _place_tone(units: list[_Unit]) -> list[_Unit]:
    """Move the tone mark of a Vietnamese syllable to its traditional place; other words pass unchanged.

    The rule: a vowel with a quality mark takes the tone (the ơ of ươ); otherwise the last vowel when
    a final consonant follows (hoàn, huỳnh); otherwise the middle of three vowels (ngoài, khuỷu) or the
    first of two (hòa, thủy, khỏe, mùa). The u of qu- and the i of gi- before another vowel belong
    to the onset, so quý, quả, giàu, giỏi.
    """
    tone = ""
    bases: list[str] = []
    quals: list[str] = []
    for base, marks in units:
        if base not in _ASCII_LETTERS and base != _D_STROKE:
            return units
        qual = ""
        for m in marks:
            if m in _TONES and not tone and base in _VOWELS:
                tone = m
            elif m in _QUALITIES and base in _QUALITIES[m] and not qual:
                qual = m
            else:
                return units
        bases.append(base)
        quals.append(qual)
    if not tone:
        return units

    n = len(bases)
    start = 0
    while start < n and bases[start] not in _VOWELS:
        start += 1
    in_onset = (
        start + 1 < n
        and bases[start + 1] in _VOWELS
        and (
            (start > 0 and bases[start - 1] == "q" and bases[start] == "u" and not quals[start])
            or (start == 1 and bases[0] == "g" and bases[1] == "i")
        )
    )
    if in_onset:
        start += 1
    end = start
    while end < n and bases[end] in _VOWELS:
        end += 1
    if any(b in _VOWELS for b in bases[end:]) or not 1 <= end - start <= 3:
        return units

    marked = [i for i in range(start, end) if quals[i]]
    if marked:
        target = marked[-1]
    elif end < n:
        target = end - 1
    elif end - start == 3:
        target = start + 1
    else:
        # Two vowels in an open syllable: the traditional style keeps the tone on the first (hòa, thủy).
        target = start

    # The quality mark goes before the tone: both are class 230 above the letter, and NFC composes
    # them only in that order (ấ = a + circumflex + acute).
    return [
        (b, (q,) if q else ()) if i != target else (b, (q, tone) if q else (tone,))
        for i, (b, q) in enumerate(zip(bases, quals, strict=True))
    ]


@lru_cache(maxsize=65536)
def _canonical_syllable(units: tuple[_Unit, ...]) -> str:
    placed = _place_tone(list(units))
    first_base, first_marks = placed[0]
    placed[0] = (_upper(first_base), first_marks)
    return "".join(b + "".join(m) for b, m in placed)


# Vietnamese typed with the input method off: the letters of the Telex method are left in the text
# ("Nguyeenx Vawn Hoangf" for Nguyễn Văn Hoàng). A tone key (s f r x j) stands after the vowels, at the end or
# before the final consonants, where no Vietnamese letter can; a doubled vowel or a w marks a vowel's quality
# (aa â, aw ă, ee ê, oo ô, ow ơ, uw ư, uow ươ), dd is đ.
_TELEX_TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
_TELEX_QUALITIES = (
    ("uwow", "u\u031bo\u031b"),
    ("uow", "u\u031bo\u031b"),
    ("aa", "a\u0302"),
    ("aw", "a\u0306"),
    ("ee", "e\u0302"),
    ("oo", "o\u0302"),
    ("ow", "o\u031b"),
    ("uw", "u\u031b"),
)
# A w alone is ư (Tw Tư, Nhw Như), never before another vowel (Kwon is no Vietnamese word).
_TELEX_W = re.compile("w(?![aeiouy])")
# A Vietnamese syllable without its tone: onset, one to three vowels, a final consonant.
_SYLLABLE = re.compile(
    "(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    "[aăâeêioôơuưy\u0302\u0306\u031b]{1,5}(?:ch|nh|ng|[cmnpt])?"
)


@lru_cache(maxsize=65536)
def from_telex(word: str) -> str | None:
    """The syllable a word typed in Telex without the input method stands for, as NFKD text ("Hoangf" →
    "Hoàng", "Nguyeexn" → "Nguyễn", "Ddinhf" → "Đình"); None when the word carries no Telex letters or
    what they spell is no Vietnamese syllable ("Hoang", "Ksor", "James" stay as they are)."""
    return telex_reading(word)[0]


# How sure a word's Telex reading is (`telex_reading`): none, a tone key alone (a letter a slip may also
# leave: "Anj" for Anh), a vowel's quality or đ (aa, ow, dd...: no slip writes those).
TELEX_NONE, TELEX_TONE, TELEX_QUALITY = 0, 1, 2


@lru_cache(maxsize=65536)
def telex_reading(word: str) -> tuple[str | None, int]:
    """`from_telex`'s reading of `word`, and how sure it is (`TELEX_NONE`, `TELEX_TONE`, `TELEX_QUALITY`)."""
    if not word.isascii() or not word.isalpha() or len(word) < 2:
        return None, TELEX_NONE
    low = word.lower()
    tone = ""
    # The tone key: after the last vowel, where only final consonants may stand.
    last_vowel = max((i for i, c in enumerate(low) if c in _VOWELS), default=-1)
    for i in range(len(low) - 1, last_vowel, -1):
        if low[i] in _TELEX_TONES and i > 0:
            tone = _TELEX_TONES[low[i]]
            low = low[:i] + low[i + 1 :]
            break
    body = ("đ" + low[2:]) if low.startswith("dd") else low
    for typed, letters in _TELEX_QUALITIES:
        body = body.replace(typed, letters)
    body = _TELEX_W.sub("u\u031b", body)
    if (not tone and body == low) or not _SYLLABLE.fullmatch(body):
        return None, TELEX_NONE
    return _with_tone(body, tone), TELEX_QUALITY if body != low else TELEX_TONE


def reads_as_telex(sureness: list[int]) -> bool:
    """Whether a name typed wholly without marks, whose words' Telex readings are this sure, was typed in Telex:
    one word with a vowel's quality or đ, or two words with a tone key. One tone key alone is as likely a slip
    of a neighbouring key ("Phan Van Anj" for Anh)."""
    return TELEX_QUALITY in sureness or sum(1 for k in sureness if k != TELEX_NONE) >= 2


def read_telex(text: object) -> str:
    """A name typed wholly without marks, its words typed in Telex with the input method off read as the
    syllables they stand for (`from_telex`): "Hoangf Minh Taam" → "Hoàng Minh Tâm", when the readings are
    sure enough (`reads_as_telex`). A name with a mark anywhere was typed with the input method on, and a
    stray letter in it is a slip ("Đỗ Văn Anx"): it passes unchanged, as does "Phan Van Anj". For comparing
    names only, like `canonical_name`, which it precedes."""
    words = _as_text(text).split()
    readings = [telex_reading(w) for w in words]
    if not all(w.isascii() for w in words) or not reads_as_telex([k for _, k in readings]):
        return " ".join(words)
    return " ".join(
        _canonical_word(read) if read else w for w, (read, _) in zip(words, readings, strict=True)
    )


def _with_tone(body: str, tone: str) -> str:
    """`body` with the tone mark on its first vowel (`_place_tone` moves it to its place)."""
    if not tone:
        return body
    i = next(i for i, c in enumerate(body) if c in _VOWELS)
    # After the vowel's quality mark, if any: the order NFC composes.
    j = i + 1
    while j < len(body) and body[j] in "\u0302\u0306\u031b":
        j += 1
    return body[:j] + tone + body[j:]


# Apostrophes as the names of the Central Highlands write them (H'Hen, Y'Hin, Ksor H'Bia), whatever the
# keyboard typed; inside a word they join its parts instead of separating syllables.
_APOSTROPHES = "'\u2019\u02bc\u2018\u00b4`"


def _run_on_words(word: str) -> list[str]:
    """`word` (NFKD) cut where a capital follows a small letter, when it holds more than one syllable's vowels
    (two groups of vowels apart: "PhanMỹ"); a single syllable in any case mixture ("nGuYễN") stays whole, and
    an apostrophe's parts stay joined ("Ab'A" as "AB'A": the apostrophe already marks the capital). A word's
    first letter, small before a capital, is not a word of its own but the capital's neighbour typed first
    ("uHỳnh" for Huỳnh, "oHàng" for Hoàng): no cut after it."""
    letters = [(i, c) for i, c in enumerate(word) if unicodedata.category(c)[0] == "L"]
    cuts = [
        i
        for n, ((j, a), (i, b)) in enumerate(pairwise(letters))
        if n > 0 and a.islower() and b.isupper() and not any(c in _APOSTROPHES for c in word[j + 1 : i])
    ]
    if not cuts:
        return [word]
    folded = "".join(_lower(c) for _, c in letters)
    if len(re.findall("[aeiouy]+", folded)) < 2:
        return [word]
    return [word[a:b] for a, b in zip([0, *cuts], [*cuts, len(word)], strict=True)]


@lru_cache(maxsize=262144)
def _canonical_word(word: str) -> str:
    # Names repeat a small vocabulary of syllables, so caching per whitespace-separated word pays off
    # over millions of rows; words are independent because whitespace always separates syllables.
    parts = _run_on_words(word)
    if len(parts) > 1:
        return " ".join(w for w in map(_canonical_word, parts) if w)
    joined: list[str] = []
    for piece in re.split(f"[{_APOSTROPHES}]", word):
        syllables = [_canonical_syllable(tuple(units)) for units in _syllable_units(piece)]
        if syllables:
            joined.append(" ".join(syllables))
    # "H'Hen" stays one word "H'Hen" (each part capitalised); an apostrophe at an edge just drops out.
    return unicodedata.normalize("NFC", "'".join(joined))


def canonical_name(text: object) -> str:
    """NFC, traditional tone placement, single spaces, each syllable capitalised, no punctuation or digits.

    "NGUYỄN thị  thu hà" → "Nguyễn Thị Thu Hà"; "Hoà" → "Hòa"; "Thuỷ" → "Thủy". "" when there is no name.
    """
    words = unicodedata.normalize("NFKD", _as_text(text)).split()
    return " ".join(w for w in map(_canonical_word, words) if w)


# A syllable whose only vowel is a final y after a consonant onset is written with i as well (Lý / Lí,
# Quý / Quí, Kỳ / Kì, Mỹ / Mĩ): the two spellings are one name, and the official unit lists themselves
# disagree in exactly this way. "Y" alone (the Ê Đê men's prefix) and the diphthong uy (Thúy) stay.
_Y_AS_I = re.compile(r"\b(b|c|ch|d|g|gh|h|k|kh|l|m|n|ng|ngh|nh|p|ph|qu|r|s|t|th|tr|v|x)y\b")


def _fold_canonical(canon: str) -> str:
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", canon):
        if unicodedata.category(c)[0] == "M" or c == "'":
            continue
        # Stripping accents leaves đ alone (it is a letter of its own, not d plus a mark).
        out.append("d" if c in "đĐ" else _lower(c))
    return _Y_AS_I.sub(r"\1i", "".join(out))


@lru_cache(maxsize=262144)
def _fold_word(word: str) -> str:
    return _fold_canonical(_canonical_word(word))


def fold_name(text: object) -> str:
    """The comparison key without diacritics: "Nguyễn Thị Thu Hà" → "nguyen thi thu ha"; Đ/đ → d; a lone
    final y after a consonant as i ("Lý" → "li", "Quý" → "qui"); apostrophes drop ("H'Hen" → "hhen")."""
    words = unicodedata.normalize("NFKD", _as_text(text)).split()
    return " ".join(w for w in map(_fold_word, words) if w)


@dataclass(frozen=True, slots=True)
class NameParts:
    family: str
    middle: str
    given: str


def canonical_parts(text: object) -> NameParts:
    """The positional split of the canonical form that matching compares (first word, middle words, last
    word); for matching only. The parts of a person's name are `split_name`'s."""
    canon = canonical_name(text)
    if not canon:
        return NameParts("", "", "")
    words = canon.split(" ")
    if len(words) == 1:
        return NameParts("", "", words[0])
    return NameParts(words[0], " ".join(words[1:-1]), words[-1])


def official_name(text: object) -> str:
    """The name exactly as the register writes it: NFC and single spaces, nothing else changed (tone
    placement, case and apostrophes kept: "Đỗ Thị Thuý" stays "Thuý"). "" when there is no letter."""
    words = unicodedata.normalize("NFC", _as_text(text)).split()
    if not any(unicodedata.category(c)[0] == "L" for w in words for c in w):
        return ""
    return " ".join(words)


# Clan names of the Central Highlands peoples (Gia Rai, Ê Đê, Ba Na...) written first, as in "Ksor H'Bia",
# "Rơ Mah Hơ Ra", "Siu Đen"; two-word clans first so that "Rơ Mah" is taken whole. Compared folded.
_CLANS_FIRST: tuple[tuple[str, ...], ...] = (
    ("ro", "mah"),
    ("ro", "cham"),
    ("ro", "o"),
    ("ro", "lan"),
    ("ksor",),
    ("siu",),
    ("kpa",),
    ("nay",),
    ("rahlan",),
    ("puih",),
    ("rcom",),
    ("kpuil",),
    ("hmok",),
)


def name_layout(first: str, second: str = "") -> str:
    """How a name of two or more words divides, from its first two words as written: `clan_last` (a
    Central Highlands personal name with its gender prefix first: H'Hen, H'Bia for women, Y Bih, Y'Hin for
    men; the clan is the last word), `clan_first_1` / `clan_first_2` (a clan of one or two words first:
    Ksor, Siu, Rơ Mah), else `kinh` (family, middle(s), given)."""
    if first[:2].upper() in ("H'", "H\u2019", "Y'", "Y\u2019") or first in ("Y", "y"):
        return "clan_last"
    a = _fold_word(unicodedata.normalize("NFKD", first))
    b = _fold_word(unicodedata.normalize("NFKD", second)) if second else ""
    if second and (a, b) in _CLANS_FIRST:
        return "clan_first_2"
    return "clan_first_1" if (a,) in _CLANS_FIRST else "kinh"


def split_name(text: object) -> NameParts:
    """Family, middle and given name of the official spelling, as written; one word is a given name alone.

    Kinh names are family, middle(s), given ("Nguyễn Thị Thu Hà"). Names of the Central Highlands keep
    their own order (`name_layout`): "H'Hen Niê" is family Niê, given H'Hen; "Y Bih Aleo" family Aleo,
    given "Y Bih"; "Ksor H'Bia" family Ksor, given H'Bia; "Rơ Mah Hơ Ra" family "Rơ Mah", given "Hơ Ra"."""
    words = official_name(text).split(" ")
    if words == [""]:
        return NameParts("", "", "")
    if len(words) == 1:
        return NameParts("", "", words[0])
    layout = name_layout(words[0], words[1])
    if layout == "clan_last":
        return NameParts(words[-1], "", " ".join(words[:-1]))
    if layout == "clan_first_2" and len(words) > 2:
        return NameParts(" ".join(words[:2]), "", " ".join(words[2:]))
    if layout == "clan_first_1":
        return NameParts(words[0], "", " ".join(words[1:]))
    return NameParts(words[0], " ".join(words[1:-1]), words[-1])


def name_variants_equal(a: object, b: object) -> bool:
    """The same name written differently (Unicode form, tone placement, case, spacing, punctuation).

    A blank name is never a variant of anything, itself included: two missing names do not agree.
    """
    ca = canonical_name(a)
    return bool(ca) and ca == canonical_name(b)


def has_diacritics(text: str) -> bool:
    """Whether the text carries any combining mark or đ/Đ, i.e. was not typed as plain ASCII letters."""
    if not isinstance(text, str):
        return False
    return any(unicodedata.category(c)[0] == "M" or c in "đĐ" for c in unicodedata.normalize("NFKD", text))


# What a person is called at home, written where the given name belongs: a place among the siblings (Hai the
# eldest in the South, Ba, Tư... Út the youngest) or a child's pet name (Bé, Bi, Tí, Tèo...). In canonical
# spelling: "Tám" (eighth) is a nickname, "Tâm" a given name.
NICKNAMES: frozenset[str] = frozenset(
    {
        *("Cả", "Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười", "Út"),
        *(
            "Bé",
            "Bi",
            "Bin",
            "Bon",
            "Bo",
            "Cu",
            "Tí",
            "Tý",
            "Tít",
            "Tèo",
            "Ken",
            "Su",
            "Na",
            "Mít",
            "Bống",
            "Cún",
        ),
    }
)


COMMON_FAMILY_NAMES: tuple[str, ...] = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Đoàn",
    "Trương",
    "Lâm",
    "Mai",
    "Trịnh",
    "Đào",
    "Cao",
    "Lương",
    "Hà",
    "Tạ",
    "Lưu",
    "Tô",
    "Châu",
    "Quách",
    "Thái",
    "Vương",
    "Triệu",
    "Kiều",
    "Hứa",
    "La",
    "Tăng",
)

_FAMILY_CANONICAL = frozenset(COMMON_FAMILY_NAMES)
_FAMILY_FOLDED = frozenset(_fold_canonical(n) for n in COMMON_FAMILY_NAMES)


def _is_common_family(syllable: str) -> bool:
    # Typed without diacritics, "Le" may be Lê; typed with them, "Lệ" is a given name and not Lê.
    if has_diacritics(syllable):
        return syllable in _FAMILY_CANONICAL
    return _fold_canonical(syllable) in _FAMILY_FOLDED


def looks_given_first(text: object) -> bool:
    """Whether the name seems written given name first ("Thu Hà Nguyễn"): it ends, but does not start, with
    a common family name."""
    words = canonical_name(text).split(" ")
    return len(words) >= 2 and _is_common_family(words[-1]) and not _is_common_family(words[0])

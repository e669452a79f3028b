"""Name syllables as one indexed vocabulary with the variant spellings the error model writes, laid out as
[plain, other tone placement, typo 0..3] × vocabulary so that a variant of a whole column is one `take`."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vaxlink.simulation import name_tables
from vaxlink.simulation.columns import FloatArray, IntArray

PLAIN = 0
TONE_ALT = 1
TYPO_FIRST = 2
TYPO_VARIANTS = 4
N_VARIANTS = TYPO_FIRST + TYPO_VARIANTS

_TONE_MARKS = ("\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
# Neighbouring keys on a QWERTY keyboard, the usual source of a wrong letter.
_KEY_NEIGHBOURS = {
    "a": "sq",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "x": "zc",
    "y": "tu",
}
_TYPO_SEED = 20211101


@dataclass(frozen=True)
class MiddleTable:
    first: IntArray  # token of the first middle syllable, -1 for none
    second: IntArray  # token of the second middle syllable, -1 for none
    p: FloatArray


@dataclass(frozen=True)
class NameVocab:
    tokens: list[str]
    variants: pa.StringArray  # N_VARIANTS * len(tokens) spellings, variant-major
    has_tone_alt: npt.NDArray[np.bool_]
    ascii_only: npt.NDArray[np.bool_]  # per spelling in `variants`
    decomposable: npt.NDArray[np.bool_]  # per spelling: NFD differs (đ alone does not decompose)
    family: IntArray
    family_p: FloatArray
    given: tuple[IntArray, IntArray]  # by sex: 0 male, 1 female
    given_p: tuple[FloatArray, FloatArray]
    middle_older: tuple[MiddleTable, MiddleTable]
    middle_younger: tuple[MiddleTable, MiddleTable]

    @property
    def size(self) -> int:
        return len(self.tokens)


def modern_tone_placement(word: str) -> str:
    """The other common spelling of an open oa/oe/uy syllable: the tone on the second vowel (Hòa → Hoà).

    Words without such a syllable come back unchanged.
    """
    out: list[str] = []
    for syllable in word.split(" "):
        d = unicodedata.normalize("NFD", syllable)
        letters = [i for i, c in enumerate(d) if not unicodedata.combining(c)]
        low = "".join(d[i] for i in letters).lower()
        tone_at = next((i for i, c in enumerate(d) if c in _TONE_MARKS), -1)
        movable = (
            len(letters) >= 2
            and low[-2:] in ("oa", "oe", "uy")
            and not low.endswith("quy")
            and letters[-2] < tone_at < letters[-1] == len(d) - 1
        )
        if movable:
            syllable = unicodedata.normalize("NFC", d[:tone_at] + d[tone_at + 1 :] + d[tone_at])
        out.append(syllable)
    return " ".join(out)


def _retone(ch: str, rng: np.random.Generator) -> str | None:
    d = unicodedata.normalize("NFD", ch)
    base = "".join(c for c in d if c not in _TONE_MARKS)
    current = next((c for c in d if c in _TONE_MARKS), "")
    choices = [t for t in ("", *_TONE_MARKS) if t != current]
    new = unicodedata.normalize("NFC", base + choices[int(rng.integers(len(choices)))])
    return new if len(new) == 1 else None


def typo_variants(token: str, rng: np.random.Generator) -> list[str]:
    """Four one-character mistakes: a letter dropped, two letters swapped, a neighbouring key, a tone."""
    chars = list(token)
    letters = [i for i, c in enumerate(chars) if c != " "]
    vowels = [i for i in letters if unicodedata.normalize("NFD", chars[i])[0].lower() in "aeiouy"]
    out: list[str] = []
    # Dropped letter (never the capital, so the name still starts like itself).
    if len(letters) > 2:
        i = letters[1 + int(rng.integers(len(letters) - 1))]
        out.append("".join(chars[:i] + chars[i + 1 :]))
    # Two neighbouring letters swapped.
    pairs = [i for i in letters[1:-1] if chars[i] != chars[i + 1] and chars[i + 1] != " "]
    if pairs:
        i = pairs[int(rng.integers(len(pairs)))]
        swapped = chars.copy()
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        out.append("".join(swapped))
    # A neighbouring key instead of the intended one.
    keyed = [i for i in letters[1:] if chars[i] in _KEY_NEIGHBOURS]
    if keyed:
        i = keyed[int(rng.integers(len(keyed)))]
        options = _KEY_NEIGHBOURS[chars[i]]
        out.append("".join([*chars[:i], options[int(rng.integers(len(options)))], *chars[i + 1 :]]))
    # The wrong tone on a vowel, the commonest slip when typing Vietnamese (Telex/VNI).
    if vowels:
        toned = [i for i in vowels if any(c in _TONE_MARKS for c in unicodedata.normalize("NFD", chars[i]))]
        i = toned[0] if toned else vowels[int(rng.integers(len(vowels)))]
        retoned = _retone(chars[i], rng)
        if retoned is not None:
            out.append("".join([*chars[:i], retoned, *chars[i + 1 :]]))
    out = [v for v in out if v != token and v.strip()]
    # A doubled letter fills any slot the token is too short for.
    while len(out) < TYPO_VARIANTS:
        i = letters[int(rng.integers(len(letters)))]
        out.append("".join(chars[: i + 1] + chars[i:]))
    return out[:TYPO_VARIANTS]


def _zipf(n: int, s: float = 1.05, offset: float = 3.0) -> FloatArray:
    w = 1.0 / (np.arange(n, dtype=np.float64) + offset) ** s
    return np.asarray(w / w.sum(), dtype=np.float64)


@functools.cache
def name_vocab() -> NameVocab:
    tokens: list[str] = []
    index: dict[str, int] = {}

    def tok(s: str) -> int:
        if s not in index:
            index[s] = len(tokens)
            tokens.append(s)
        return index[s]

    family = np.asarray([tok(n) for n, _ in name_tables.FAMILY_NAMES], dtype=np.int64)
    fw = np.asarray([w for _, w in name_tables.FAMILY_NAMES], dtype=np.float64)

    def middle(table: tuple[tuple[tuple[str, ...], float], ...]) -> MiddleTable:
        first = np.asarray([tok(m[0]) if len(m) > 0 else -1 for m, _ in table], dtype=np.int64)
        second = np.asarray([tok(m[1]) if len(m) > 1 else -1 for m, _ in table], dtype=np.int64)
        w = np.asarray([w for _, w in table], dtype=np.float64)
        return MiddleTable(first, second, w / w.sum())

    mid_old = (middle(name_tables.MIDDLE_MALE_OLDER), middle(name_tables.MIDDLE_FEMALE_OLDER))
    mid_young = (middle(name_tables.MIDDLE_MALE_YOUNGER), middle(name_tables.MIDDLE_FEMALE_YOUNGER))
    given_m = np.asarray([tok(n) for n in name_tables.GIVEN_MALE], dtype=np.int64)
    given_f = np.asarray([tok(n) for n in name_tables.GIVEN_FEMALE], dtype=np.int64)

    rng = np.random.default_rng(_TYPO_SEED)
    alt = [modern_tone_placement(t) for t in tokens]
    typos = [typo_variants(t, rng) for t in tokens]
    columns = [tokens, alt] + [[v[k] for v in typos] for k in range(TYPO_VARIANTS)]
    flat = [s for col in columns for s in col]
    return NameVocab(
        tokens=tokens,
        variants=pa.array(flat, pa.string()),
        has_tone_alt=np.asarray([a != t for a, t in zip(alt, tokens, strict=True)], dtype=np.bool_),
        ascii_only=np.asarray([t.isascii() for t in flat], dtype=np.bool_),
        decomposable=np.asarray([unicodedata.normalize("NFD", t) != t for t in flat], dtype=np.bool_),
        family=family,
        family_p=fw / fw.sum(),
        given=(given_m, given_f),
        given_p=(_zipf(len(given_m)), _zipf(len(given_f))),
        middle_older=mid_old,
        middle_younger=mid_young,
    )

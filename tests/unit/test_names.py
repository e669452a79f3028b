"""Vietnamese names: canonical spelling, folded key, split, given-name-first detection."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.domain.names import (
    COMMON_FAMILY_NAMES,
    NameParts,
    canonical_name,
    fold_name,
    from_telex,
    has_diacritics,
    looks_given_first,
    name_variants_equal,
    official_name,
    read_telex,
    split_name,
)

GRAVE, ACUTE, TILDE, HOOK, DOT = "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"
TONES = (GRAVE, ACUTE, TILDE, HOOK, DOT)

ONSETS = (
    "",
    "b",
    "c",
    "ch",
    "d",
    "đ",
    "gh",
    "h",
    "k",
    "kh",
    "l",
    "m",
    "n",
    "ng",
    "ngh",
    "nh",
    "p",
    "ph",
    "r",
    "s",
    "t",
    "th",
    "tr",
    "v",
    "x",
)
CODAS = ("c", "ch", "m", "n", "ng", "nh", "p", "t")

# Nucleus → index of the vowel that takes the tone in the traditional style, in an open syllable and
# before a final consonant (None where the nucleus does not occur that way). Written out by hand from
# the orthography, independently of the code under test.
NUCLEI: dict[str, tuple[int | None, int | None]] = {
    "a": (0, 0),
    "ă": (None, 0),
    "â": (None, 0),
    "e": (0, 0),
    "ê": (0, 0),
    "i": (0, 0),
    "o": (0, 0),
    "ô": (0, 0),
    "ơ": (0, 0),
    "u": (0, 0),
    "ư": (0, 0),
    "y": (0, None),
    "ai": (0, None),
    "ao": (0, None),
    "au": (0, None),
    "ay": (0, None),
    "âu": (0, None),
    "ây": (0, None),
    "eo": (0, None),
    "êu": (0, None),
    "ia": (0, None),
    "iu": (0, None),
    "oi": (0, None),
    "ôi": (0, None),
    "ơi": (0, None),
    "ua": (0, None),
    "ui": (0, None),
    "ưa": (0, None),
    "ưi": (0, None),
    "ưu": (0, None),
    "oa": (0, 1),
    "oe": (0, 1),
    "uy": (0, 1),
    "uê": (1, 1),
    "uơ": (1, None),
    "iê": (None, 1),
    "yê": (None, 1),
    "uô": (None, 1),
    "ươ": (None, 1),
    "oă": (None, 1),
    "uâ": (None, 1),
    "iêu": (1, None),
    "yêu": (1, None),
    "oai": (1, None),
    "oay": (1, None),
    "oeo": (1, None),
    "uây": (1, None),
    "uôi": (1, None),
    "ươi": (1, None),
    "ươu": (1, None),
    "uyu": (1, None),
    "uyê": (None, 2),
}
# After qu- the u is a consonant; after gi- the i is, when another vowel follows.
QU_NUCLEI: dict[str, tuple[int | None, int | None]] = {
    "a": (0, 0),
    "ă": (None, 0),
    "â": (None, 0),
    "e": (0, 0),
    "ê": (0, 0),
    "y": (0, 0),
    "ơ": (0, None),
    "ai": (0, None),
    "ao": (0, None),
    "ay": (0, None),
    "ây": (0, None),
    "eo": (0, None),
    "yê": (None, 1),
}
GI_NUCLEI: dict[str, tuple[int | None, int | None]] = {
    "a": (0, 0),
    "ă": (None, 0),
    "â": (None, 0),
    "e": (0, 0),
    "ê": (0, 0),
    "o": (0, 0),
    "ô": (0, 0),
    "ơ": (0, 0),
    "u": (0, 0),
    "ư": (0, 0),
    "ai": (0, None),
    "ao": (0, None),
    "au": (0, None),
    "ay": (0, None),
    "âu": (0, None),
    "ây": (0, None),
    "eo": (0, None),
    "oi": (0, None),
    "ôi": (0, None),
    "ơi": (0, None),
    "ưa": (0, None),
    "uô": (None, 1),
    "ươ": (None, 1),
    "ươi": (1, None),
}


def _with_tone(onset: str, nucleus: str, coda: str, tone: str, at: int) -> str:
    marked = nucleus[: at + 1] + tone + nucleus[at + 1 :]
    return unicodedata.normalize("NFC", onset + marked + coda)


@st.composite
def syllables(draw: st.DrawFn) -> tuple[str, str, str, str, int]:
    """(onset, nucleus, coda, tone, traditional tone index) of a well-formed toned syllable."""
    kind = draw(st.sampled_from(("plain", "qu", "gi")))
    table = {"plain": NUCLEI, "qu": QU_NUCLEI, "gi": GI_NUCLEI}[kind]
    nucleus = draw(st.sampled_from(sorted(table)))
    open_at, closed_at = table[nucleus]
    choices = ([""] if open_at is not None else []) + (list(CODAS) if closed_at is not None else [])
    coda = draw(st.sampled_from(choices))
    at = open_at if coda == "" else closed_at
    assert at is not None
    onset = {"plain": draw(st.sampled_from(ONSETS)), "qu": "qu", "gi": "gi"}[kind]
    return onset, nucleus, coda, draw(st.sampled_from(TONES)), at


vietnamese_names = st.lists(
    syllables().map(lambda s: _with_tone(s[0], s[1], s[2], s[3], s[4])), min_size=1, max_size=5
).map(" ".join)

anything = st.one_of(
    st.none(),
    st.text(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(),
    st.booleans(),
    st.dates(),
    st.lists(st.text(max_size=3), max_size=3),
)


# --- totality and idempotence ------------------------------------------------------------------


@given(anything)
def test_canonical_and_fold_are_total_and_idempotent(value: object) -> None:
    canon = canonical_name(value)
    folded = fold_name(value)
    assert isinstance(canon, str) and isinstance(folded, str)
    assert canonical_name(canon) == canon
    assert fold_name(folded) == folded
    assert unicodedata.is_normalized("NFC", canon)
    assert canon == canon.strip() and "  " not in canon


@given(st.text())
def test_fold_of_canonical_is_fold(text: str) -> None:
    assert fold_name(canonical_name(text)) == fold_name(text)


@given(st.text())
def test_nfc_and_nfd_give_the_same_canonical_form(text: str) -> None:
    expected = canonical_name(unicodedata.normalize("NFC", text))
    assert canonical_name(unicodedata.normalize("NFD", text)) == expected


@given(vietnamese_names)
def test_unicode_forms_of_vietnamese_names_agree(name: str) -> None:
    forms = {canonical_name(unicodedata.normalize(f, name)) for f in ("NFC", "NFD", "NFKC", "NFKD")}
    assert len(forms) == 1


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text")


class _NotABool:
    """Like pandas.NA: comparing it gives something that refuses to be a bool."""

    def __ne__(self, other: object) -> object:
        return self

    def __bool__(self) -> bool:
        raise TypeError("ambiguous")


@pytest.mark.parametrize(
    "value", [None, float("nan"), "", "   \t\n", 12345, 3.5, "...", "1990", _Unprintable(), _NotABool()]
)
def test_no_name_gives_empty(value: object) -> None:
    assert canonical_name(value) == ""
    assert fold_name(value) == ""
    assert split_name(value) == NameParts("", "", "")


# --- tone placement ----------------------------------------------------------------------------


@given(syllables())
def test_tone_placement_does_not_matter(syl: tuple[str, str, str, str, int]) -> None:
    onset, nucleus, coda, tone, at = syl
    expected = _with_tone(onset, nucleus, coda, tone, at)
    expected = expected[0].upper() + expected[1:]
    for anywhere in range(len(nucleus)):
        assert canonical_name(_with_tone(onset, nucleus, coda, tone, anywhere)) == expected


@given(st.sampled_from(ONSETS), st.sampled_from(("oa", "oe", "uy")), st.sampled_from(TONES))
def test_new_style_oa_oe_uy_becomes_traditional(onset: str, nucleus: str, tone: str) -> None:
    new_style = _with_tone(onset, nucleus, "", tone, 1)
    traditional = _with_tone(onset, nucleus, "", tone, 0)
    assert canonical_name(new_style) == canonical_name(traditional)
    decomposed = unicodedata.normalize("NFD", canonical_name(new_style)).lower()
    assert decomposed.endswith(nucleus[0] + tone + nucleus[1])


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Hoà", "Hòa"),
        ("Thuỷ", "Thủy"),
        ("Khoẻ", "Khỏe"),
        ("Huỷ", "Hủy"),
        ("Thuý", "Thúy"),
        ("Loè", "Lòe"),
        ("Hoàng", "Hoàng"),
        ("Toàn", "Toàn"),
        ("Huỳnh", "Huỳnh"),
        ("Khuỷu", "Khuỷu"),
        ("Ngoài", "Ngoài"),
        ("Nguyễn", "Nguyễn"),
        ("Tuấn", "Tuấn"),
        ("Người", "Người"),
        ("Thuở", "Thuở"),
        ("Mùa", "Mùa"),
        ("Qúy", "Quý"),
        ("Quý", "Quý"),
        ("Quỳnh", "Quỳnh"),
        ("Quả", "Quả"),
        ("Quyền", "Quyền"),
        ("Gía", "Giá"),
        ("Giàu", "Giàu"),
        ("Giỏi", "Giỏi"),
        ("Giữa", "Giữa"),
        ("Gì", "Gì"),
        ("Gìn", "Gìn"),
    ],
)
def test_traditional_tone_placement(written: str, canonical: str) -> None:
    assert canonical_name(written) == canonical
    assert canonical_name(unicodedata.normalize("NFD", written)) == canonical


def test_tone_and_quality_mark_in_either_order() -> None:
    # Some keyboards emit the tone before the circumflex; the letter meant is still ấ.
    assert canonical_name("Tua\u0301\u0302n") == "Tuấn"


def test_foreign_words_keep_their_marks() -> None:
    assert canonical_name("MÜLLER josé") == "Müller José"


# --- case, spacing, punctuation ----------------------------------------------------------------


@given(vietnamese_names, st.data())
def test_case_and_spacing_do_not_matter(name: str, data: st.DataObject) -> None:
    spaces = st.sampled_from([" ", "  ", "\t", "\u00a0", "\n", " , ", ". "])
    words = name.split(" ")
    recased = ["".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in w) for w in words]
    messy = data.draw(spaces) + "".join(w + data.draw(spaces) for w in recased)
    assert canonical_name(messy) == canonical_name(name)
    assert fold_name(messy) == fold_name(name)


@given(vietnamese_names)
def test_fold_of_vietnamese_is_ascii_letters_and_spaces(name: str) -> None:
    assert re.fullmatch(r"[a-z]+( [a-z]+)*", fold_name(name))
    assert not has_diacritics(fold_name(name))


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("NGUYỄN thị  thu hà", "Nguyễn Thị Thu Hà"),
        ("  nguyễn   văn AN ", "Nguyễn Văn An"),
        ("Nguyễn.Văn, An", "Nguyễn Văn An"),
        ("Trần Văn An 2", "Trần Văn An"),
        ("Lê-Thị Hoa", "Lê Thị Hoa"),
        ("ĐẶNG VĂN ĐỨC", "Đặng Văn Đức"),
        ("Ngu\u00adyễn Văn An", "Nguyễn Văn An"),
    ],
)
def test_canonical_examples(written: str, canonical: str) -> None:
    assert canonical_name(written) == canonical


# --- folding (the domain's list of differences that are not another person) ----------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Nguyễn Thị Thu Hà", "nguyen thi thu ha"),
        ("Nguyễn Văn An", "NGUYEN VAN AN"),
        ("Đặng Văn Đức", "Dang Van Duc"),
        ("đỗ thị hoà", "DO THI HOA"),
        ("Trần Thị Thuỷ", "Tran Thi Thuy"),
        (unicodedata.normalize("NFD", "Phạm Thị Khoẻ"), "Pham Thi Khoe"),
    ],
)
def test_fold_examples(a: str, b: str) -> None:
    assert fold_name(a) == fold_name(b) == b.lower()


def test_fold_removes_d_stroke_which_accent_stripping_keeps() -> None:
    assert unicodedata.normalize("NFD", "Đ")[0] == "Đ"
    assert fold_name("Đinh Đức") == "dinh duc"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("Nguyễn Thị Hoà", "NGUYỄN  THỊ HÒA", True),
        (unicodedata.normalize("NFD", "Lê Thuỷ"), "Lê Thủy", True),
        ("Lê Thủy", "Le Thuy", False),  # the same key, but not the same spelling
        ("Nguyễn Văn An", "Nguyễn Văn Anh", False),
        (None, None, False),
        ("", "  ", False),
    ],
)
def test_name_variants_equal(a: object, b: object, equal: bool) -> None:
    assert name_variants_equal(a, b) is equal
    assert name_variants_equal(b, a) is equal


def test_has_diacritics() -> None:
    assert has_diacritics("Hà")
    assert has_diacritics("Dương Đình")
    assert has_diacritics("Đ")
    assert not has_diacritics("Nguyen Van An")
    assert not has_diacritics("")


# --- parts and order ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Nguyễn Thị Thu Hà", NameParts("Nguyễn", "Thị Thu", "Hà")),
        # The parts keep the official spelling as written: case, tone placement and all.
        ("nguyễn văn an", NameParts("nguyễn", "văn", "an")),
        ("Lê Hoà", NameParts("Lê", "", "Hoà")),
        ("Tôn Nữ Thị Hoàng Oanh", NameParts("Tôn", "Nữ Thị Hoàng", "Oanh")),
        ("Hoà", NameParts("", "", "Hoà")),
        # Names of the Central Highlands: prefix and personal name first, clan last; or clan first.
        ("H'Hen Niê", NameParts("Niê", "", "H'Hen")),
        ("Y Bih Aleo", NameParts("Aleo", "", "Y Bih")),
        ("Ksor H'Bia", NameParts("Ksor", "", "H'Bia")),
        ("Rơ Mah Hơ Ra", NameParts("Rơ Mah", "", "Hơ Ra")),
        (None, NameParts("", "", "")),
    ],
)
def test_split_name(text: object, parts: NameParts) -> None:
    assert split_name(text) == parts


@given(vietnamese_names)
def test_split_name_uses_every_word_of_the_official_form(name: str) -> None:
    p = split_name(name)
    words = " ".join(x for x in (p.family, p.middle, p.given) if x).split()
    assert sorted(words) == sorted(official_name(name).split())


def test_common_family_names_are_canonical_and_distinct() -> None:
    assert 30 <= len(COMMON_FAMILY_NAMES) <= 45
    assert len(set(COMMON_FAMILY_NAMES)) == len(COMMON_FAMILY_NAMES)
    for family in COMMON_FAMILY_NAMES:
        assert canonical_name(family) == family
    for family in (
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
    ):
        assert family in COMMON_FAMILY_NAMES


@pytest.mark.parametrize(
    ("text", "given_first"),
    [
        ("Thu Hà Nguyễn", True),
        ("An Nguyen", True),
        ("Văn An Trần", True),
        ("Nguyễn Thị Mai", False),  # Mai is a family name too, but the name starts with Nguyễn
        ("Nguyễn Văn An", False),
        ("Hùng Lệ", False),  # Lệ is a given name; only "Le" without marks may be Lê
        ("Lê", False),
        ("", False),
    ],
)
def test_looks_given_first(text: str, given_first: bool) -> None:
    assert looks_given_first(text) is given_first


@pytest.mark.parametrize("name", ["Đỗ Thị Thuý", "H'Hen Niê", "Ksor H'Bia", "NGUYỄN Văn An", "Lí Văn Quí"])
def test_official_name_is_kept_as_written(name: str) -> None:
    assert official_name(unicodedata.normalize("NFD", f"  {name}  ")) == name


def test_apostrophes_of_highland_names_survive_canonical_form() -> None:
    assert canonical_name("H'Hen Niê") == "H'Hen Niê"
    assert canonical_name("Ksor H’Bia") == "Ksor H'Bia"
    # One word, as written, so that the name keeps its number of words in every form.
    assert fold_name("H'Hen Niê") == "hhen nie"


@pytest.mark.parametrize(
    ("a", "b"), [("Lý Văn Quý", "Lí Văn Quí"), ("Trần Kỳ", "Trần Kì"), ("Hoàng Mỹ Linh", "Hoàng Mĩ Linh")]
)
def test_i_and_y_spellings_fold_alike(a: str, b: str) -> None:
    assert fold_name(a) == fold_name(b)


@pytest.mark.parametrize(("a", "b"), [("Nguyễn Thị Thúy", "Nguyễn Thị Thúi"), ("Y Bih", "I Bih")])
def test_y_that_is_not_a_lone_final_vowel_stays(a: str, b: str) -> None:
    assert fold_name(a) != fold_name(b)


# --- Vietnamese typed with the input method off (Telex letters left in the text) ------------------------


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Hoangf Minh Taam", "Hoàng Minh Tâm"),
        ("Nguyeenx Vawn Ddinhf", "Nguyễn Văn Đình"),
        ("Nguyeexn Thij Hieeus", "Nguyễn Thị Hiếu"),
        ("TRUOWNGF QUOOCS", "Trường Quốc"),
        ("Phuwowngf Tw", "Phường Tư"),
        ("Le Thij Thuyr", "Le Thị Thủy"),
        ("Hoafng Vawn", "Hoàng Văn"),
        ("Ddaof Nhw Hoaf", "Đào Như Hòa"),
    ],
)
def test_telex_letters_are_read_as_the_marks_they_stand_for(typed: str, name: str) -> None:
    assert canonical_name(read_telex(typed)) == name
    assert fold_name(read_telex(typed)) == fold_name(name)


@pytest.mark.parametrize(
    "word",
    # Plain words without marks, clan and foreign names: no Telex letter, or no Vietnamese syllable spelt.
    [
        "Hoang",
        "Nguyen",
        "Xuan",
        "Sang",
        "Tuyet",
        "Giang",
        "Quang",
        "Ksor",
        "Alex",
        "Chris",
        "James",
        "Ross",
        "Kwon",
    ],
)
def test_words_without_telex_letters_stay_as_written(word: str) -> None:
    assert from_telex(word) is None
    assert read_telex(word) == word


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzADFHJNOSW", min_size=1, max_size=9))
def test_a_telex_reading_is_one_syllable_and_stable(word: str) -> None:
    read = read_telex(word)
    canon = canonical_name(read)
    assert " " not in read and canonical_name(canon) == canon
    # A reading carries marks, and is read once: its words are no Telex of anything else.
    assert read == word or has_diacritics(read)
    assert read_telex(read) == read


@pytest.mark.parametrize("typed", ["PHAN VAN ANJ", "Le Thi Thuyr", "Nguyen Minj", "Hoafng"])
def test_one_tone_key_alone_may_be_a_slip_of_a_neighbouring_key(typed: str) -> None:
    """j beside h, r beside e and t: one tone key, and nothing else of Telex, is not read."""
    assert read_telex(typed) == typed


def test_a_name_with_a_mark_was_typed_with_the_input_method_on() -> None:
    """A stray letter in a name whose other words carry their marks is a slip, not Telex."""
    assert read_telex("Đỗ Văn Anx") == "Đỗ Văn Anx"
    assert read_telex("Lê Thị Mạnhx") == "Lê Thị Mạnhx"
    assert read_telex("Nguyeenx\u00a0Vawn  Anx") == "Nguyễn Văn Ãn"


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("PhanMỹ Uyên", "Phan Mỹ Uyên"),
        ("PhạmThị Bảo", "Phạm Thị Bảo"),
        ("TrầnVĂN An", "Trần Văn An"),
        ("NGUYỄN", "Nguyễn"),
    ],
)
def test_a_capital_after_a_small_letter_begins_a_word(typed: str, name: str) -> None:
    assert canonical_name(typed) == name


@pytest.mark.parametrize(
    ("typed", "name"),
    [("uHỳnh Văn Tiến", "Uhỳnh Văn Tiến"), ("oHàng ThịTrâm", "Ohàng Thị Trâm"), ("aNh", "Anh")],
)
def test_a_first_small_letter_before_a_capital_is_a_swapped_letter_not_a_word(typed: str, name: str) -> None:
    # "uHỳnh" is Huỳnh with its first two letters swapped: one word, two edits from the name.
    assert canonical_name(typed) == name


@pytest.mark.parametrize("typed", ["AB'A", "Ab'A", "H'Hen", "Ksor H’Bia"])
def test_a_capital_after_an_apostrophe_stays_in_its_word(typed: str) -> None:
    # The apostrophe joins the parts of one word, whatever their case: the canonical form reads as itself.
    once = canonical_name(typed)
    assert len(once.split()) == len(typed.split())
    assert canonical_name(once) == once
    assert fold_name(once) == fold_name(typed)

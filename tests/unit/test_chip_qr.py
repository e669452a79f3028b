"""The chip ID card QR: fields recognised by content, whatever the reader added, dropped or padded."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.domain.chip_qr import ChipCard, parse_chip_qr
from vaxlink.domain.dates import PartialDate
from vaxlink.domain.errors import Problem
from vaxlink.domain.personal_ids import LEGACY_PROVINCE_CODES, compose_personal_id
from vaxlink.domain.sex import Sex

TODAY = date(2025, 6, 1)
EXAMPLE = "077090001234|273456789|Nguyễn Văn An|15031990|Nam|Phước Trung, Bà Rịa, Bà Rịa - Vũng Tàu|20042021"
EXAMPLE_CARD = ChipCard(
    personal_id="077090001234",
    old_id="273456789",
    full_name="Nguyễn Văn An",
    date_of_birth=PartialDate(1990, 3, 15),
    sex=Sex.MALE,
    address="Phước Trung, Bà Rịa, Bà Rịa - Vũng Tàu",
    issue_date=PartialDate(2021, 4, 20),
    extra=(),
)


def parse(text: str) -> ChipCard | Problem:
    return parse_chip_qr(text, today=TODAY)


def code(result: object) -> str | None:
    return result.code if isinstance(result, Problem) else None


def test_the_example_from_the_domain_notes():
    assert parse(EXAMPLE) == EXAMPLE_CARD


@pytest.mark.parametrize(
    "text",
    [
        EXAMPLE + "\n",
        EXAMPLE + "\r\n",
        "\ufeff" + EXAMPLE,
        "  " + EXAMPLE + "  \n",
        EXAMPLE.replace("|", " | "),
        EXAMPLE.replace("|", "| "),
        EXAMPLE + "|",
        unicodedata.normalize("NFD", EXAMPLE),
        EXAMPLE.replace("Nguyễn Văn An", "Nguyễn  Văn   An"),
    ],
)
def test_what_readers_add_around_the_fields_is_ignored(text):
    assert parse(text) == EXAMPLE_CARD


def test_an_empty_old_id_field_means_no_old_id():
    text = "077090001234||Nguyễn Văn An|15031990|Nam|Phước Trung|20042021"
    card = parse(text)
    assert isinstance(card, ChipCard)
    assert card.old_id is None
    assert card.full_name == "Nguyễn Văn An"


def test_an_omitted_old_id_field_is_recognised_by_the_name_in_its_place():
    card = parse("077090001234|Nguyễn Văn An|15031990|Nam|Phước Trung|20042021")
    assert isinstance(card, ChipCard)
    assert (card.old_id, card.full_name, card.issue_date) == (None, "Nguyễn Văn An", PartialDate(2021, 4, 20))


def test_a_further_field_is_kept_in_extra():
    card = parse(EXAMPLE + "|20042036")
    assert isinstance(card, ChipCard)
    assert card.extra == ("20042036",)
    assert card.issue_date == PartialDate(2021, 4, 20)


def test_seven_fields_without_the_old_id_but_with_an_expiry():
    card = parse("077090001234|Nguyễn Văn An|15031990|Nam|Phước Trung|20042021|15032065")
    assert isinstance(card, ChipCard)
    assert (card.old_id, card.issue_date, card.extra) == (None, PartialDate(2021, 4, 20), ("15032065",))


def test_a_card_without_an_issue_date():
    card = parse("077090001234|273456789|Nguyễn Văn An|15031990|Nam|Phước Trung")
    assert isinstance(card, ChipCard)
    assert card.issue_date is None


def test_a_twelve_digit_old_number_is_kept():
    card = parse("077090001234|077090009999|Nguyễn Văn An|15031990|Nam|Phước Trung|20042021")
    assert isinstance(card, ChipCard)
    assert card.old_id == "077090009999"


def test_a_woman_born_in_the_2000s():
    card = parse("001305012345||Trần Thị Thu Hà|01012005|Nữ|Phường Phúc Xá, Ba Đình, Hà Nội|10102022")
    assert isinstance(card, ChipCard)
    assert (card.sex, card.date_of_birth) == (Sex.FEMALE, PartialDate(2005, 1, 1))


@pytest.mark.parametrize(
    ("dob", "expected"),
    [
        ("00001950", PartialDate(1950)),
        ("00031950", PartialDate(1950, 3)),
        ("1950", PartialDate(1950)),
        ("15/03/1950", PartialDate(1950, 3, 15)),
    ],
)
def test_a_date_of_birth_known_only_in_part(dob, expected):
    card = parse(f"077050001234||Lê Văn Bảy|{dob}|Nam|Phước Trung|20042021")
    assert isinstance(card, ChipCard)
    assert card.date_of_birth == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "QR_EMPTY"),
        ("  \n", "QR_EMPTY"),
        ("\ufeff", "QR_EMPTY"),
        ("077090001234", "QR_NOT_CHIP_CARD"),
        ("https://example.vn/verify?id=1", "QR_NOT_CHIP_CARD"),
        ("HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N", "QR_NOT_CHIP_CARD"),
        ("hc1:NCFOXN|abc", "QR_NOT_CHIP_CARD"),
        ("Nguyễn Văn An|077090001234|15031990|Nam|Phước Trung|20042021", "QR_NOT_CHIP_CARD"),
        ("a|b|c", "QR_NOT_CHIP_CARD"),
        ("|||", "QR_NOT_CHIP_CARD"),
        ("097090001234|273456789|Nguyễn Văn An|15031990|Nam|Phước Trung|20042021", "QR_BAD_ID"),
        ("77090001234|273456789|Nguyễn Văn An|15031990|Nam|Phước Trung|20042021", "QR_BAD_ID"),
        ("077290001234|273456789|Nguyễn Văn An|15032090|Nam|Phước Trung|20042021", "QR_BAD_ID"),
        ("077090001234|27345678|Nguyễn Văn An|15031990|Nam|Phước Trung|20042021", "QR_BAD_OLD_ID"),
        ("077090001234|273456789|Nguyễn Văn An|15031990|Nam", "QR_TOO_FEW_FIELDS"),
        ("077090001234|", "QR_TOO_FEW_FIELDS"),
        ("077090001234|273456789|Nguyễn Văn 4n|15031990|Nam|Phước Trung|20042021", "QR_BAD_NAME"),
        ("077090001234|273456789|--|15031990|Nam|Phước Trung|20042021", "QR_BAD_NAME"),
        ("077090001234|273456789|Nguyễn Văn An|31021990|Nam|Phước Trung|20042021", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An|15001990|Nam|Phước Trung|20042021", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An|32947|Nam|Phước Trung|20042021", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An|1503199|Nam|Phước Trung|20042021", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An||Nam|Phước Trung|20042021", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An|15031990|Nam|Phước Trung|20042030", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An|15031990|Nam|Phước Trung|2004", "QR_BAD_DATE"),
        ("077090001234|273456789|Nguyễn Văn An|15031990|X|Phước Trung|20042021", "QR_BAD_SEX"),
        ("077090001234|273456789|Nguyễn Văn An|15031990|Phước Trung|Nam|20042021", "QR_BAD_SEX"),
        ("077090001234|273456789|Nguyễn Thị An|15031990|Nữ|Phước Trung|20042021", "QR_ID_MISMATCH"),
        ("077090001234|273456789|Nguyễn Văn An|15031991|Nam|Phước Trung|20042021", "QR_ID_MISMATCH"),
    ],
)
def test_refused_with_a_reason(text, expected):
    problem = parse(text)
    assert code(problem) == expected
    assert isinstance(problem, Problem)
    assert problem.message_vi
    assert problem.message_en


def test_a_bad_id_says_what_is_wrong_with_the_number():
    problem = parse(EXAMPLE.replace("077090001234", "097090001234"))
    assert isinstance(problem, Problem)
    assert "097" in problem.message_en


def test_not_text_is_not_a_card():
    assert code(parse_chip_qr(None)) == "QR_NOT_CHIP_CARD"  # type: ignore[arg-type]
    assert code(parse_chip_qr(b"077090001234|")) == "QR_NOT_CHIP_CARD"  # type: ignore[arg-type]


NAMES = ("Nguyễn Văn An", "Trần Thị Thu Hà", "Lê Hoàng", "Phạm Minh Khoa", "Đặng Thuỳ Dương", "Y Nhi Êban")
PLACES = sorted("0" + c for c in LEGACY_PROVINCE_CODES)


@st.composite
def cards(draw: st.DrawFn) -> ChipCard:
    sex = draw(st.sampled_from(list(Sex)))
    dob = draw(st.dates(date(1900, 1, 1), date(2020, 12, 31)))
    number = compose_personal_id(draw(st.sampled_from(PLACES)), sex, dob.year, draw(st.integers(0, 999_999)))
    issue = draw(st.dates(date(2021, 1, 1), TODAY))
    return ChipCard(
        personal_id=number,
        old_id=draw(st.none() | st.from_regex(r"[0-9]{9}", fullmatch=True)),
        full_name=draw(st.sampled_from(NAMES)),
        date_of_birth=PartialDate(dob.year, dob.month, dob.day),
        sex=sex,
        address=draw(
            st.sampled_from(
                (
                    "Phước Trung, Bà Rịa, Bà Rịa - Vũng Tàu",
                    "Phúc Xá, Ba Đình, Hà Nội",
                    "Số 5, ngõ 12/3, Phường 7, Quận 3",
                )
            )
        ),
        issue_date=PartialDate(issue.year, issue.month, issue.day),
        extra=draw(st.just(()) | st.tuples(st.from_regex(r"[0-9]{8}", fullmatch=True))),
    )


def _ddmmyyyy(d: PartialDate) -> str:
    return f"{d.day:02d}{d.month:02d}{d.year}"


@given(
    cards(),
    st.booleans(),
    st.sampled_from(("|", " | ", "| ")),
    st.sampled_from(("", "\n", "\r\n", " ")),
    st.booleans(),
)
def test_a_card_reads_back_from_its_qr_however_the_reader_lays_it_out(card, omit_empty, sep, tail, bom):
    assert card.issue_date is not None
    fields = [
        card.personal_id,
        card.old_id or "",
        card.full_name,
        _ddmmyyyy(card.date_of_birth),
        card.sex.label_vi,
        card.address,
        _ddmmyyyy(card.issue_date),
        *card.extra,
    ]
    if omit_empty and card.old_id is None:
        del fields[1]
    text = ("\ufeff" if bom else "") + sep.join(fields) + tail
    assert parse(text) == card


@given(st.text())
def test_parse_is_total_on_text(text):
    assert isinstance(parse(text), ChipCard | Problem)


@given(
    st.lists(
        st.one_of(
            st.text(max_size=14),
            st.from_regex(r"[0-9]{8,12}", fullmatch=True),
            st.sampled_from(("Nam", "Nữ", "", "077090001234", "15031990", "Nguyễn Văn An")),
        ),
        max_size=9,
    )
)
def test_parse_is_total_on_field_soup(fields):
    result = parse("|".join(fields))
    assert isinstance(result, ChipCard | Problem)
    if isinstance(result, ChipCard):
        assert len(result.personal_id) == 12
        assert result.date_of_birth.year == int(result.personal_id[4:6]) + 1900 + 100 * (
            int(result.personal_id[3]) // 2
        )

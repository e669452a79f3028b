"""UVCI check characters, ICAO transliteration and the payload built from plain data."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.credentials.payload import (
    UVCI_CHARSET,
    Dose,
    Name,
    build_payload,
    dose_from_product,
    dose_numbering,
    doses_from_history,
    is_vietnamese_uvci,
    latest_dose,
    make_uvci,
    transliterate,
    uvci_check_character,
    uvci_is_valid,
)
from vaxlink.domain.dates import PartialDate

opaque = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/", min_size=1, max_size=40)


@pytest.mark.parametrize(
    "uvci",
    [
        # Issued by other countries (from the EU conformance suite): the check covers the "URN:UVCI:" prefix.
        "URN:UVCI:01:AT:10807843F94AEE0EE5093FBC254BD813#B",
        "URN:UVCI:01:AT:858CC18CFCF5965EF82F60E493349AA5#K",
        "URN:UVCI:01:DK:0EF88044F7935DF2B4A938A38C14C97C#C",
        "URN:UVCI:01:DK:AAF8DC68A9B655528BA581CA0D04353F#Y",
    ],
)
def test_check_character_agrees_with_issuers(uvci: str) -> None:
    assert uvci_is_valid(uvci)


@given(opaque)
def test_made_uvcis_are_valid(part: str) -> None:
    uvci = make_uvci(part)
    assert uvci.startswith("URN:UVCI:01:VN:")
    assert is_vietnamese_uvci(uvci)


@given(opaque, st.data())
def test_any_single_substitution_is_detected(part: str, data: st.DataObject) -> None:
    uvci = make_uvci(part)
    body = uvci[:-2]
    i = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.sampled_from([c for c in UVCI_CHARSET if c != body[i]]))
    changed = body[:i] + replacement + body[i + 1 :] + uvci[-2:]
    assert not uvci_is_valid(changed)


def test_random_uvcis_differ_and_fit_the_schema() -> None:
    ids = {make_uvci() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(u) <= 50 and is_vietnamese_uvci(u) for u in ids)


def test_bad_uvci_inputs() -> None:
    with pytest.raises(ValueError):
        make_uvci("abc")
    with pytest.raises(ValueError):
        uvci_check_character("URN#X")
    assert not uvci_is_valid("")
    assert not uvci_is_valid("URN:UVCI:01:VN:ABC")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nguyễn Thị Thu Hà", "NGUYEN<THI<THU<HA"),
        ("Đặng Văn Đức", "DANG<VAN<DUC"),
        ("đoàn", "DOAN"),
        ("Trần  Thị   Ánh", "TRAN<THI<ANH"),
        ("Musterfrau-Gößinger", "MUSTERFRAU<GOESSINGER"),
        ("d'Červenková Panklová", "DCERVENKOVA<PANKLOVA"),
        ("", ""),
    ],
)
def test_transliteration(name: str, expected: str) -> None:
    assert transliterate(name) == expected


@given(st.text(max_size=200))
def test_transliteration_fits_the_schema(name: str) -> None:
    out = transliterate(name)
    assert re.fullmatch(r"[A-Z<]*", out)
    assert len(out) <= 80
    assert not out.startswith("<") and not out.endswith("<")
    assert "<<" not in out


def test_payload_from_plain_data() -> None:
    uvci = make_uvci("TEST1")
    dose = dose_from_product(dt.date(2022, 1, 5), 3, "BBIBP-CorV")
    payload = build_payload(Name("Lê", "Thị", "Mỹ"), PartialDate(1985), dose, uvci)
    assert payload == {
        "ver": "1.3.0",
        "nam": {"fn": "Lê", "fnt": "LE", "gn": "Thị Mỹ", "gnt": "THI<MY"},
        "dob": "1985",
        "v": [
            {
                "tg": "840539006",
                "vp": "1157024006",
                "mp": "BBIBP-CorV",
                "ma": "ORG-100020693",
                "dn": 3,
                "sd": 3,
                "dt": "2022-01-05",
                "co": "VN",
                "is": "Bộ Y tế Việt Nam / Ministry of Health of Viet Nam",
                "ci": uvci,
            }
        ],
    }


def test_no_personal_id_can_enter_a_payload() -> None:
    # The builder takes no ID argument at all; a name that carries digits keeps them out of fnt/gnt.
    payload = build_payload(
        Name("Phạm", "", "An 077090001234"),
        "1990-01-01",
        dose_from_product(dt.date(2021, 8, 1), 1, "EU/1/20/1525"),
        make_uvci(),
    )
    assert "077090001234" not in payload["nam"]["gnt"]  # type: ignore[index]


def test_one_dose_series_and_boosters() -> None:
    assert dose_numbering(1, 1) == (1, 1)
    assert dose_numbering(2, 1) == (2, 1)  # booster after a one-dose series
    assert dose_numbering(3, 1) == (3, 1)
    assert dose_numbering(1, 2) == (1, 2)
    assert dose_numbering(2, 2) == (2, 2)
    assert dose_numbering(3, 2) == (3, 3)  # booster after a two-dose series
    assert dose_numbering(4, 3) == (4, 4)
    janssen = dose_from_product(dt.date(2021, 8, 1), 1, "Jcovden")
    assert (janssen.dose_number, janssen.series_total) == (1, 1)
    with pytest.raises(ValueError):
        dose_numbering(0, 2)
    with pytest.raises(ValueError):
        dose_from_product(dt.date(2021, 8, 1), 1, "no such vaccine")


def test_latest_dose_is_certified() -> None:
    a = Dose(dt.date(2021, 1, 1), 1, 2, "EU/1/20/1528")
    b = Dose(dt.date(2021, 2, 1), 2, 2, "EU/1/20/1528")
    assert latest_dose([b, a]) is b
    with pytest.raises(ValueError):
        latest_dose([])


def test_payload_refuses_bad_inputs() -> None:
    dose = dose_from_product(dt.date(2022, 1, 5), 1, "EU/1/20/1528")
    with pytest.raises(ValueError):
        build_payload(Name("A", "", "B"), "1990", dose, "URN:UVCI:01:VN:X#A")  # wrong check character
    with pytest.raises(ValueError):
        build_payload(Name("A", "", "B"), "15/03/1990", dose, make_uvci())
    with pytest.raises(ValueError):
        build_payload(Name("A", "", "B"), "1990", Dose(dt.date(2022, 1, 1), 1, 1, "Unknown-X"), make_uvci())


def test_history_numbering_uses_the_first_product() -> None:
    doses = doses_from_history(
        [(dt.date(2022, 1, 10), "Pfizer"), (dt.date(2021, 8, 1), "Janssen"), (dt.date(2022, 7, 1), "Moderna")]
    )
    assert [(d.product, d.dose_number, d.series_total) for d in doses] == [
        ("EU/1/20/1525", 1, 1),
        ("EU/1/20/1528", 2, 1),
        ("EU/1/20/1507", 3, 1),
    ]
    two = doses_from_history(
        [(dt.date(2021, 8, 1), "Vero Cell"), (dt.date(2021, 9, 1), "Vero Cell"), (dt.date(2022, 1, 1), "AZ")]
    )
    assert [(d.dose_number, d.series_total) for d in two] == [(1, 2), (2, 2), (3, 3)]
    assert doses_from_history([]) == []


def test_a_one_word_name_is_the_primary_name() -> None:
    # Schema 1.3.0 requires fnt; a person with a single name has it as the primary name, with no gn.
    dose = dose_from_product(dt.date(2022, 1, 5), 1, "EU/1/20/1528")
    payload = build_payload(Name("", "", "Bình"), "1990", dose, make_uvci())
    assert payload["nam"] == {"fn": "Bình", "fnt": "BINH"}


def test_highland_names_keep_their_apostrophe_in_the_name_and_drop_it_in_the_icao_form() -> None:
    dose = dose_from_product(dt.date(2022, 1, 5), 1, "EU/1/20/1528")
    payload = build_payload(Name("Niê", "", "H'Hen"), "1990", dose, make_uvci())
    assert payload["nam"] == {"fn": "Niê", "fnt": "NIE", "gn": "H'Hen", "gnt": "HHEN"}

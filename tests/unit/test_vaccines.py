"""Vaccines: codes held to the shipped EU DCC value sets, and the names exports use resolved to them."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.domain.vaccines import (
    DISEASE_AGENT_TARGETED,
    VACCINES,
    Vaccine,
    resolve_vaccine,
    vaccine_by_code,
)

VALUE_SET_FILES = (
    "vaccine-medicinal-product.json",
    "vaccine-mah-manf.json",
    "vaccine-prophylaxis.json",
    "disease-agent-targeted.json",
    "vaccine-encoding-instructions.json",
)
# SHA-256 of the upstream files (eu-dcc-valuesets, the dates in the data README): the shipped copies must
# be these bytes, unchanged.
UPSTREAM_SHA256 = {
    "vaccine-medicinal-product.json": "683f0c023fa58925ff4a55ee43c0dda3433ea4e73de98a7d8718ff8271e72f27",
    "vaccine-mah-manf.json": "def9790bdfe756ab846822b54424b92044edd1b4c40963f6306818737bca6382",
    "vaccine-prophylaxis.json": "d955b8d269bfc53c2191a2d40a89f65302481c0088d21c4ebe88a5145912a08b",
    "disease-agent-targeted.json": "d4bfba1fd9f2eb29dfb2938220468ccb0b481d348f192e6015d36da4b911a83a",
    "vaccine-encoding-instructions.json": "4b12accd569eb581c65bec7e2b8cf573121cd48d1efb8e168694d024bbd2fd3f",
    "LICENSE": "c71d239df91726fc519c6eb72d318ec65820627232b2f796219e87dcf35d0ab4",
}


def _value_set(name: str) -> dict[str, Any]:
    text = resources.files("vaxlink.domain").joinpath("data", "dcc_valuesets", name).read_text("utf-8")
    values: dict[str, Any] = json.loads(text)["valueSetValues"]
    return values


PRODUCTS = _value_set("vaccine-medicinal-product.json")
MANUFACTURERS = _value_set("vaccine-mah-manf.json")
PROPHYLAXIS = _value_set("vaccine-prophylaxis.json")
DISEASES = _value_set("disease-agent-targeted.json")
INSTRUCTIONS = {v["vaccine-code"]: v for v in _value_set("vaccine-encoding-instructions.json").values()}

ALIASES = {
    "Vero Cell": "BBIBP-CorV",
    "Sinopharm (Vero Cell)": "BBIBP-CorV",
    "Vero-Cell": "BBIBP-CorV",
    "Sinopharm": "BBIBP-CorV",
    "BBIBP-CorV": "BBIBP-CorV",
    "Vắc xin Vero Cell": "BBIBP-CorV",
    "Pfizer": "EU/1/20/1528",
    "Pfizer-BioNTech": "EU/1/20/1528",
    "Comirnaty": "EU/1/20/1528",
    "Pfizer BioNTech (Comirnaty)": "EU/1/20/1528",
    "AZ": "EU/1/21/1529",
    "ChAdOx1 nCoV-19": "EU/1/21/1529",
    "AstraZeneca": "EU/1/21/1529",
    "Vaxzevria": "EU/1/21/1529",
    "Vắc xin AstraZeneca": "EU/1/21/1529",
    "Vắc xin phòng COVID-19 AstraZeneca": "EU/1/21/1529",
    "Gam-COVID-Vac": "Sputnik-V",
    "Sputnik V": "Sputnik-V",
    "Sputnik-V": "Sputnik-V",
    "Sputnik Light": "Sputnik-Light",
    "Janssen": "EU/1/20/1525",
    "J&J": "EU/1/20/1525",
    "Johnson & Johnson": "EU/1/20/1525",
    "Jcovden": "EU/1/20/1525",
    "Moderna": "EU/1/20/1507",
    "Spikevax": "EU/1/20/1507",
    "Abdala": "Abdala",
    "Hayat-Vax": "Hayat-Vax",
    "Hayat-Vax (Vero Cell)": "Hayat-Vax",
    "Covaxin": "Covaxin",
    "CoronaVac": "CoronaVac",
    "Sinovac": "CoronaVac",
    "Covishield": "Covishield",
    "EU/1/21/1529": "EU/1/21/1529",
    "EU/1/20/1528": "EU/1/20/1528",
    "EU/1/20/1507": "EU/1/20/1507",
    "EU/1/20/1525": "EU/1/20/1525",
}


# --- the table against the value sets ------------------------------------------------------------


@pytest.mark.parametrize("vaccine", VACCINES, ids=lambda v: v.code)
def test_codes_exist_in_the_value_sets(vaccine: Vaccine) -> None:
    assert PRODUCTS[vaccine.code]["active"] is True
    assert MANUFACTURERS[vaccine.manufacturer_code]["active"] is True
    assert PROPHYLAXIS[vaccine.prophylaxis_code]["active"] is True


@pytest.mark.parametrize("vaccine", VACCINES, ids=lambda v: v.code)
def test_codes_follow_the_encoding_instructions(vaccine: Vaccine) -> None:
    instruction = INSTRUCTIONS[vaccine.code]
    assert vaccine.manufacturer_code == instruction["vaccine-manufacturer"]
    assert vaccine.prophylaxis_code in instruction["sct-codes"]


def test_mrna_vaccines_use_the_mrna_code() -> None:
    mrna = {v.code for v in VACCINES if v.prophylaxis_code == "1119349007"}
    assert mrna == {"EU/1/20/1528", "EU/1/20/1507"}


def test_disease_agent_targeted_is_covid_19() -> None:
    assert DISEASES[DISEASE_AGENT_TARGETED]["display"] == "COVID-19"


def test_the_vaccines_used_in_vietnam_are_there() -> None:
    codes = {v.code for v in VACCINES}
    assert {
        "EU/1/21/1529",
        "EU/1/20/1528",
        "EU/1/20/1507",
        "EU/1/20/1525",
        "BBIBP-CorV",
        "Sputnik-V",
        "Abdala",
        "Hayat-Vax",
        "Covaxin",
        "CoronaVac",
    } <= codes
    assert len(codes) == len(VACCINES)


@pytest.mark.parametrize(
    ("code", "doses"),
    [
        ("EU/1/20/1525", 1),
        ("Sputnik-Light", 1),
        ("Abdala", 3),
        ("EU/1/21/1529", 2),
        ("EU/1/20/1528", 2),
        ("EU/1/20/1507", 2),
        ("BBIBP-CorV", 2),
        ("Sputnik-V", 2),
        ("Hayat-Vax", 2),
    ],
)
def test_primary_series(code: str, doses: int) -> None:
    vaccine = vaccine_by_code(code)
    assert vaccine is not None and vaccine.primary_doses == doses


def test_shipped_value_sets_are_the_upstream_files() -> None:
    shipped = resources.files("vaxlink.domain").joinpath("data", "dcc_valuesets")
    assert set(UPSTREAM_SHA256) == {*VALUE_SET_FILES, "LICENSE"}
    for name, digest in UPSTREAM_SHA256.items():
        assert hashlib.sha256(shipped.joinpath(name).read_bytes()).hexdigest() == digest, name


# --- resolution ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code"), sorted(ALIASES.items()))
def test_alias_resolves(text: str, code: str) -> None:
    vaccine = resolve_vaccine(text)
    assert vaccine is not None and vaccine.code == code


@pytest.mark.parametrize("vaccine", VACCINES, ids=lambda v: v.code)
def test_every_declared_alias_resolves_to_its_vaccine(vaccine: Vaccine) -> None:
    for text in (vaccine.code, vaccine.name, *vaccine.aliases):
        assert resolve_vaccine(text) is vaccine, text


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "Unknown",
        "Vắc xin",
        "COVID-19",
        "Nuvaxovid",
        "EU/1/21/1618",
        "123",
        "Pfizer + Moderna",
        "AstraZeneca hoặc Pfizer",
        float("nan"),
        1528,
    ],
)
def test_unknown_or_ambiguous_names_give_none(text: object) -> None:
    assert resolve_vaccine(text) is None


def _sprinkle(text: str, data: st.DataObject) -> str:
    """The same name with random case, diacritics on letters, and spaces or hyphens between letters."""
    marks = st.sampled_from(["", "", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302"])
    seps = st.sampled_from(["", "", "", " ", "  ", "-", "\t"])
    out = []
    for c in text:
        c = c.upper() if data.draw(st.booleans()) else c.lower()
        if c.isalpha():
            c += data.draw(marks)
        out.append(c + data.draw(seps))
    return unicodedata.normalize(data.draw(st.sampled_from(["NFC", "NFD"])), "".join(out))


@given(st.sampled_from(sorted(ALIASES.items())), st.data())
def test_resolution_ignores_case_diacritics_and_spacing(item: tuple[str, str], data: st.DataObject) -> None:
    text, code = item
    vaccine = resolve_vaccine(_sprinkle(text, data))
    assert vaccine is not None and vaccine.code == code


@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=True), st.binary()))
def test_resolution_is_total(value: object) -> None:
    assert resolve_vaccine(value) is None or isinstance(resolve_vaccine(value), Vaccine)


def test_vaccine_by_code() -> None:
    for vaccine in VACCINES:
        assert vaccine_by_code(vaccine.code) is vaccine
    assert vaccine_by_code(" bbibp-corv ") is vaccine_by_code("BBIBP-CorV")
    assert vaccine_by_code("AstraZeneca") is None
    assert vaccine_by_code("") is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # The ministry's list: Sinovac's product is "COVID-19 Vaccine (Vero Cell), Inactivated";
        # Sinopharm's (BIBP) is "SARS-CoV-2 Vaccine (Vero Cell), Inactivated", in Vietnam "Vero Cell".
        ("COVID-19 Vaccine (Vero Cell), Inactivated", "CoronaVac"),
        ("SARS-CoV-2 Vaccine (Vero Cell), Inactivated", "BBIBP-CorV"),
        ("Vắc xin Vero Cell", "BBIBP-CorV"),
        ("Sinopharm (Vero Cell)", "BBIBP-CorV"),
        # "Sputnik" alone and the common typo are Sputnik V; "Sputnik Light" stays its own product.
        ("Sputnik", "Sputnik-V"),
        ("Spuntik V", "Sputnik-V"),
        ("Sputnik Light", "Sputnik-Light"),
        ("CVX 208", "EU/1/20/1528"),
        ("CVX:210", "EU/1/21/1529"),
    ],
)
def test_names_as_the_ministry_lists_them(text: str, code: str) -> None:
    found = resolve_vaccine(text)
    assert found is not None and found.code == code


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("http://hl7.org/fhir/sid/cvx", "208", "EU/1/20/1528"),
        ("http://hl7.org/fhir/sid/cvx", "207", "EU/1/20/1507"),
        ("http://hl7.org/fhir/sid/cvx", "210", "EU/1/21/1529"),
        ("http://hl7.org/fhir/sid/cvx", "212", "EU/1/20/1525"),
        ("http://hl7.org/fhir/sid/cvx", "510", "BBIBP-CorV"),
        ("http://hl7.org/fhir/sid/cvx", "511", "CoronaVac"),
        ("http://snomed.info/sct", "1031000172108", "EU/1/20/1528"),
        ("http://snomed.info/sct", "1119349007", None),
        ("https://ec.europa.eu/health/documents/community-register/html/", "EU/1/20/1528", "EU/1/20/1528"),
        ("http://hl7.org/fhir/sid/cvx", "999", None),
    ],
)
def test_coded_vaccines_map_to_products(system: str, code: str, expected: str | None) -> None:
    from vaxlink.domain.vaccines import vaccine_by_system_code

    found = vaccine_by_system_code(system, code)
    assert (found.code if found else None) == expected

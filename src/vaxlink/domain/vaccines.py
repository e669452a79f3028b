"""COVID-19 vaccines used in Vietnam, coded with the EU DCC value sets, and the names exports give them.

The codes are those of the shipped value sets in `data/dcc_valuesets/`; the unit tests hold them to it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DISEASE_AGENT_TARGETED = "840539006"  # SNOMED CT: COVID-19

# Prophylaxis (vp) codes, the most specific one the encoding instructions allow for each product.
_MRNA = "1119349007"
_VIRAL_VECTOR = "29061000087103"
_INACTIVATED = "1157024006"
_COVID19_VACCINE = "28531000087107"


@dataclass(frozen=True, slots=True)
class Vaccine:
    code: str
    name: str
    manufacturer_code: str
    prophylaxis_code: str
    primary_doses: int
    aliases: tuple[str, ...]
    # Shortest interval in days from a primary-series dose of this product to the next (WHO SAGE interim
    # recommendations per product; the ministry's guidance follows them); 0 for a one-dose series.
    min_interval_days: int = 0
    # Codes of other systems that name exactly this product: CVX (CDC) and SNOMED CT.
    cvx: tuple[str, ...] = ()
    snomed: tuple[str, ...] = ()


VACCINES: tuple[Vaccine, ...] = (
    Vaccine(
        "EU/1/21/1529",
        "Vaxzevria (AstraZeneca)",
        "ORG-100001699",
        _VIRAL_VECTOR,
        2,
        (
            "Vaxzevria",
            "AstraZeneca",
            "Astra Zeneca",
            "Astra",
            "AZ",
            "Oxford AstraZeneca",
            "AZD1222",
            "ChAdOx1-S",
            "ChAdOx1",
            "ChAdOx1 nCoV-19",
            "COVID-19 Vaccine AstraZeneca",
        ),
        min_interval_days=28,
        cvx=("210",),
        snomed=("10891000172107",),
    ),
    Vaccine(
        "EU/1/20/1528",
        "Comirnaty (Pfizer-BioNTech)",
        "ORG-100030215",
        _MRNA,
        2,
        ("Comirnaty", "Pfizer", "Pfizer-BioNTech", "Pfizer BioNTech", "BioNTech", "BNT162b2", "Tozinameran"),
        min_interval_days=21,
        cvx=("208", "217", "218", "219", "300", "301", "302"),
        snomed=("1031000172108", "125071000220108"),
    ),
    Vaccine(
        "EU/1/20/1507",
        "Spikevax (Moderna)",
        "ORG-100031184",
        _MRNA,
        2,
        ("Spikevax", "Moderna", "mRNA-1273", "COVID-19 Vaccine Moderna", "Elasomeran"),
        min_interval_days=28,
        cvx=("207", "221", "227", "228", "229", "230"),
        snomed=("10871000172106",),
    ),
    Vaccine(
        "EU/1/20/1525",
        "Jcovden (Janssen)",
        "ORG-100001417",
        _VIRAL_VECTOR,
        1,
        (
            "Jcovden",
            "Janssen",
            "J&J",
            "JnJ",
            "Johnson & Johnson",
            "Johnson and Johnson",
            "Johnson",
            "Ad26.COV2.S",
            "COVID-19 Vaccine Janssen",
        ),
        min_interval_days=0,
        cvx=("212",),
        snomed=("10901000172106",),
    ),
    # Vietnam's "Vero Cell" is Sinopharm's Beijing product (BBIBP-CorV), not the Wuhan one (WIBP-CorV).
    Vaccine(
        "BBIBP-CorV",
        "Sinopharm BBIBP-CorV (Vero Cell)",
        "ORG-100020693",
        _INACTIVATED,
        2,
        (
            "Sinopharm",
            "Vero Cell",
            "Sinopharm (Vero Cell)",
            "Sinopharm Beijing",
            "BIBP",
            "Covilo",
            # The ministry's list and WHO's EUL name it so; "COVID-19 Vaccine (Vero Cell)" is Sinovac's.
            "SARS-CoV-2 Vaccine (Vero Cell), Inactivated",
            "SARS-CoV-2 Vaccine (Vero Cell), Inactivated (InCov)",
            "Vắc xin Vero Cell",
        ),
        min_interval_days=21,
        cvx=("510",),
    ),
    Vaccine(
        "Sputnik-V",
        "Sputnik V (Gamaleya)",
        "Gamaleya-Research-Institute",
        _VIRAL_VECTOR,
        2,
        ("Sputnik V", "Sputnik", "Spuntik V", "Spuntik", "Gam-COVID-Vac", "Gam-COVID-Vac Combined"),
        min_interval_days=21,
        cvx=("505",),
    ),
    Vaccine(
        "Sputnik-Light",
        "Sputnik Light (Gamaleya)",
        "Gamaleya-Research-Institute",
        _VIRAL_VECTOR,
        1,
        ("Sputnik Light", "Sputnik Lite"),
        min_interval_days=0,
        cvx=("504",),
    ),
    # Abdala's primary series is three doses (days 0, 14, 28), as licensed in Cuba and in Vietnam.
    Vaccine(
        "Abdala",
        "Abdala (CIGB)",
        "CIGB",
        _COVID19_VACCINE,
        3,
        ("Abdala", "CIGB-66"),
        min_interval_days=14,
    ),
    # Hayat-Vax is BBIBP-CorV filled in the UAE; "Hayat-Vax (Vero Cell)" must not read as Sinopharm.
    Vaccine(
        "Hayat-Vax",
        "Hayat-Vax (Gulf Pharmaceutical Industries)",
        "ORG-100023050",
        _INACTIVATED,
        2,
        ("Hayat-Vax", "Hayat", "Hayat-Vax (Vero Cell)", "Sinopharm Hayat-Vax", "Julphar"),
        min_interval_days=21,
    ),
    Vaccine(
        "Covaxin",
        "Covaxin (Bharat Biotech)",
        "Bharat-Biotech",
        _INACTIVATED,
        2,
        ("Covaxin", "BBV152", "Bharat Biotech"),
        min_interval_days=28,
        cvx=("502",),
    ),
    Vaccine(
        "CoronaVac",
        "CoronaVac (Sinovac)",
        "Sinovac-Biotech",
        _INACTIVATED,
        2,
        (
            "CoronaVac",
            "Sinovac",
            "Sinovac CoronaVac",
            # Sinovac's product name in WHO's EUL and the ministry's list (not Sinopharm's).
            "COVID-19 Vaccine (Vero Cell), Inactivated",
            "COVID-19 Vaccine (Vero Cell), Inactivated / CoronaVac",
            "Sinovac (Vero Cell)",
        ),
        min_interval_days=14,
        cvx=("511",),
    ),
    # The value sets code Covishield apart from Vaxzevria, though it is the same AstraZeneca formula.
    Vaccine(
        "Covishield",
        "Covishield (Serum Institute of India)",
        "ORG-100001981",
        _VIRAL_VECTOR,
        2,
        ("Covishield", "Serum Institute of India"),
        min_interval_days=28,
    ),
)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    try:
        return str(value)
    except Exception:
        return ""


def _tokens(text: str) -> list[str]:
    """Lower-case ASCII-folded alphanumeric runs: case, diacritics, spacing and punctuation drop out."""
    tokens: list[str] = []
    current: list[str] = []
    for c in unicodedata.normalize("NFKD", text):
        if unicodedata.category(c)[0] == "M":
            continue
        if c in "đĐ":
            c = "d"
        if c.isalnum():
            current.append(c.lower())
        elif current:
            tokens.append("".join(current))
            current = []
    if current:
        tokens.append("".join(current))
    return tokens


def _key(text: str) -> str:
    return "".join(_tokens(text))


def _build_index() -> dict[str, Vaccine]:
    index: dict[str, Vaccine] = {}
    for vaccine in VACCINES:
        for alias in (vaccine.code, vaccine.name, *vaccine.aliases):
            key = _key(alias)
            if not key:
                raise ValueError(f"vaccine alias {alias!r} has no letters or digits")
            other = index.setdefault(key, vaccine)
            if other is not vaccine:
                raise ValueError(f"vaccine alias {alias!r} names both {other.code} and {vaccine.code}")
    return index


_BY_ALIAS = _build_index()
_BY_CVX = {c: v for v in VACCINES for c in v.cvx}
_BY_SNOMED = {c: v for v in VACCINES for c in v.snomed}
for _v in VACCINES:
    for _c in _v.cvx:
        # "CVX 208" / "CVX:208" in a text column; a bare number names no product.
        _BY_ALIAS.setdefault("cvx" + _c, _v)
    for _c in _v.snomed:
        _BY_ALIAS.setdefault("sct" + _c, _v)
        _BY_ALIAS.setdefault("snomed" + _c, _v)
_LONGEST_ALIAS = max(len(k) for k in _BY_ALIAS)
_BY_CODE = {v.code: v for v in VACCINES}
_BY_CODE_FOLDED = {v.code.casefold(): v for v in VACCINES}


def resolve_vaccine(text: object) -> Vaccine | None:
    """The vaccine an export means, or None when the text names none, or more than one, of them.

    The whole text is tried first ("Sinopharm (Vero Cell)", "J & J", "EU/1/21/1529"); then every run of
    words in it, so that "Vắc xin AstraZeneca" or "Comirnaty (Pfizer-BioNTech)" resolve. A run inside a
    longer matching run does not count ("Sputnik" in "Sputnik Light"); two different vaccines make it None.
    """
    tokens = _tokens(_text(text))
    whole = "".join(tokens)
    if not whole:
        return None
    if whole in _BY_ALIAS:
        return _BY_ALIAS[whole]

    spans: list[tuple[int, int, Vaccine]] = []
    for start in range(len(tokens)):
        joined = ""
        for end in range(start, len(tokens)):
            joined += tokens[end]
            if len(joined) > _LONGEST_ALIAS:
                break
            found = _BY_ALIAS.get(joined)
            if found is not None:
                spans.append((start, end, found))
    # Sorted by start, longest first, a run lies inside an earlier one exactly when an earlier run
    # reaches at least as far.
    outermost: set[Vaccine] = set()
    reach = -1
    for _, end, vaccine in sorted(spans, key=lambda span: (span[0], -span[1])):
        if end > reach:
            outermost.add(vaccine)
            reach = end
    return outermost.pop() if len(outermost) == 1 else None


def vaccine_by_code(code: str) -> Vaccine | None:
    """The vaccine with this EU value-set product code (`mp`), or None; case and outer spaces are ignored."""
    if not isinstance(code, str):
        return None
    return _BY_CODE.get(code) or _BY_CODE_FOLDED.get(code.strip().casefold())


CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
SNOMED_SYSTEM = "http://snomed.info/sct"


def vaccine_by_system_code(system: str | None, code: str | None) -> Vaccine | None:
    """The product a coded vaccine names: CVX (CVX 208 is Comirnaty) or SNOMED CT product codes; EU
    value-set codes whatever the system. None for a code that names no single product (a SNOMED CT
    vaccine type such as "SARS-CoV-2 mRNA vaccine" fits Comirnaty and Spikevax alike)."""
    if not isinstance(code, str) or not code.strip():
        return None
    code = code.strip()
    system = (system or "").strip().lower()
    if "cvx" in system:
        return _BY_CVX.get(code.lstrip("0") or "0") or _BY_CVX.get(code)
    if "snomed" in system:
        return _BY_SNOMED.get(code)
    return vaccine_by_code(code)


# "Mũi thứ nhất", "thứ hai"...: the ordinal words of a dose, without their marks.
_ORDINALS = {"nhat": 1, "mot": 1, "hai": 2, "ba": 3, "tu": 4, "bon": 4, "nam": 5, "sau": 6}
_DOSE_WORDS = frozenset({"mui", "so", "thu", "lieu", "dose", "no", "lan"})
# A whole number, or one a spreadsheet printed with a zero fraction (2.0).
_WHOLE = re.compile(r"(\d{1,3})(?:\.0*)?", re.ASCII)
MAX_DOSE_NUMBER = 20


def parse_dose_number(value: object) -> int | None:
    """A dose's number as exports write it: `2`, `2.0` (a spreadsheet's number), `Mũi 2`, `mũi thứ 2`, `Mũi
    thứ hai`, `Liều 2`, `Dose 2`; None when it names no number from 1 to 20 (`nhắc lại` alone, `1/2`)."""
    text = unicodedata.normalize("NFD", _text(value).lower()).replace("đ", "d")
    text = "".join(c for c in text if not unicodedata.combining(c))
    words = [w for w in text.replace(":", " ").replace("#", " ").split() if w not in _DOSE_WORDS]
    if len(words) != 1:
        return None
    number = _WHOLE.fullmatch(words[0])
    n = int(number[1]) if number else _ORDINALS.get(words[0], 0)
    return n if 1 <= n <= MAX_DOSE_NUMBER else None

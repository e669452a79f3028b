"""The DCC vaccination payload (schema 1.3.x) from plain data: names, ICAO transliteration, UVCIs.

The personal identification number never enters a payload: it can be recovered from its structure even
when hashed, so the holder shows the ID card beside the certificate instead.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from vaxlink.domain.dates import PartialDate
from vaxlink.domain.vaccines import DISEASE_AGENT_TARGETED, Vaccine, resolve_vaccine, vaccine_by_code

SCHEMA_VERSION = "1.3.0"
COUNTRY = "VN"
ISSUER = "Bộ Y tế Việt Nam / Ministry of Health of Viet Nam"
MAX_NAME = 80

# ------------------------------------------------------------------------------------------------ UVCI

UVCI_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
_OPAQUE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
UVCI_PREFIX = "URN:UVCI:01:VN:"
_UVCI_RE = re.compile(r"^URN:UVCI:01:VN:[A-Z0-9/]{1,60}#[A-Z0-9/:]$")


def uvci_check_character(text: str) -> str:
    """The Luhn mod N check character of the EU UVCI guideline (N = 38 over A–Z, 0–9, '/', ':').

    Computed over the whole identifier before '#', prefix included ("URN:UVCI:01:VN:..."), as the
    issuers in the conformance suite do.
    """
    n = len(UVCI_CHARSET)
    factor, total = 2, 0
    for c in reversed(text):
        index = UVCI_CHARSET.find(c)
        if index < 0:
            raise ValueError(f"character {c!r} is outside the UVCI check alphabet")
        addend = factor * index
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return UVCI_CHARSET[(n - total % n) % n]


def uvci_is_valid(uvci: str) -> bool:
    """True when the identifier ends in '#' and the right check character."""
    if len(uvci) < 3 or uvci[-2] != "#":
        return False
    try:
        return uvci_check_character(uvci[:-2]) == uvci[-1]
    except ValueError:
        return False


def make_uvci(opaque: str | None = None) -> str:
    """`URN:UVCI:01:VN:<opaque>#<check>`; a random 24-character opaque part (about 124 bits) by default."""
    if opaque is None:
        opaque = "".join(secrets.choice(_OPAQUE_ALPHABET) for _ in range(24))
    if not re.fullmatch(r"[A-Z0-9/]{1,60}", opaque):
        raise ValueError("the opaque part of a UVCI is 1–60 characters of A–Z, 0–9 and '/'")
    body = UVCI_PREFIX + opaque
    return f"{body}#{uvci_check_character(body)}"


def is_vietnamese_uvci(uvci: str) -> bool:
    return bool(_UVCI_RE.match(uvci)) and uvci_is_valid(uvci)


# ------------------------------------------------------------------------------------------------ names

# ICAO 9303 Part 3 transliterations for Latin letters that are not a base letter plus marks.
_ICAO_SPECIAL = {
    "Ä": "AE",
    "Ö": "OE",
    "Ü": "UE",
    "Å": "AA",
    "Æ": "AE",
    "Ø": "OE",
    "Œ": "OE",
    "ß": "SS",
    "Þ": "TH",
    "Ð": "D",
    "Đ": "D",
    "Ħ": "H",
    "Ł": "L",
    "Ŀ": "L",
    "Ŋ": "N",
    "Ŧ": "T",
    "Ĳ": "IJ",
    "ı": "I",
}


def transliterate(name: str) -> str:
    """ICAO 9303 machine-readable form: no diacritics, Đ→D, upper case, spaces and hyphens as '<'.

    "Nguyễn Thị Thu Hà" → "NGUYEN<THI<THU<HA"; apostrophes and other signs drop out; at most 80 characters.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", name).upper():
        special = _ICAO_SPECIAL.get(ch) or _ICAO_SPECIAL.get(ch.upper())
        if special:
            out.append(special)
            continue
        for c in unicodedata.normalize("NFKD", ch):
            if "A" <= c <= "Z":
                out.append(c)
            elif c.isspace() or c in "-‐‑–,":
                out.append("<")
    text = re.sub("<+", "<", "".join(out)).strip("<")
    return text[:MAX_NAME].rstrip("<")


def _clean(text: str) -> str:
    # Names arrive canonical from the register; only the Unicode form and spacing are settled here.
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True, slots=True)
class Name:
    family: str
    middle: str
    given: str

    @property
    def forenames(self) -> str:
        return " ".join(p for p in (self.middle, self.given) if p)

    def payload(self) -> dict[str, str]:
        nam: dict[str, str] = {}
        family = _clean(self.family)[:MAX_NAME]
        forenames = _clean(self.forenames)[:MAX_NAME]
        if not family and forenames:
            # A one-word name is the primary name: schema 1.3.0 requires fnt, and its guidance puts a
            # single name in fn/fnt with gn/gnt left out.
            family, forenames = forenames, ""
        if family:
            nam["fn"] = family
        nam["fnt"] = transliterate(family)
        if forenames:
            nam["gn"] = forenames
            nam["gnt"] = transliterate(forenames)
        return nam


# ------------------------------------------------------------------------------------------------ doses


@dataclass(frozen=True, slots=True)
class Dose:
    """One administered dose as the certificate states it."""

    date: dt.date
    dose_number: int
    series_total: int
    product: str
    manufacturer: str | None = None
    prophylaxis: str | None = None
    country: str = COUNTRY


def dose_numbering(index: int, primary_doses: int) -> tuple[int, int]:
    """(dn, sd) for the index-th dose (1-based), as the EU encodes boosters since December 2021 so that a
    booster never reads as a completed primary series: n/n after a primary series of two or more doses
    (3/3), n/1 after a one-dose series (2/1)."""
    if index < 1 or primary_doses < 1:
        raise ValueError("dose index and primary series length start at 1")
    if index <= primary_doses:
        return index, primary_doses
    return index, 1 if primary_doses == 1 else index


def _vaccine(product: str) -> Vaccine:
    vaccine = vaccine_by_code(product) or resolve_vaccine(product)
    if vaccine is None:
        raise ValueError(f"unknown vaccine {product!r}")
    return vaccine


def dose_from_product(date: dt.date, index: int, product: str, *, primary_doses: int | None = None) -> Dose:
    """The index-th dose (1-based) of a product given by EU code or by any name the domain resolves
    ("Vero Cell", "AZ"...): `ma` and `vp` come from the domain's vaccine table, and so does the primary
    series length unless given (a booster's series is that of the first dose's product)."""
    vaccine = _vaccine(product)
    dn, sd = dose_numbering(index, primary_doses or vaccine.primary_doses)
    return Dose(date, dn, sd, vaccine.code, vaccine.manufacturer_code, vaccine.prophylaxis_code)


def doses_from_history(history: Sequence[tuple[dt.date, str]]) -> list[Dose]:
    """A person's doses (date, product) numbered in date order; the first product sets the primary series."""
    ordered = sorted(history, key=lambda d: d[0])
    if not ordered:
        return []
    primary = _vaccine(ordered[0][1]).primary_doses
    return [dose_from_product(d, i, p, primary_doses=primary) for i, (d, p) in enumerate(ordered, start=1)]


def _dob(value: PartialDate | dt.date | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, PartialDate):
        return value.iso()
    if isinstance(value, dt.date):
        return value.isoformat()
    if re.fullmatch(r"((19|20)[0-9]{2}(-[0-9]{2}){0,2})?", value):
        return value
    raise ValueError("date of birth must be YYYY, YYYY-MM or YYYY-MM-DD")


def build_payload(
    name: Name,
    date_of_birth: PartialDate | dt.date | str | None,
    dose: Dose,
    uvci: str,
    *,
    issuer: str = ISSUER,
) -> dict[str, object]:
    """The schema 1.3.x payload for one vaccination event (the scheme carries the latest dose only)."""
    if not uvci_is_valid(uvci):
        raise ValueError("UVCI check character is wrong")
    vaccine = vaccine_by_code(dose.product)
    manufacturer = dose.manufacturer or (vaccine.manufacturer_code if vaccine else None)
    prophylaxis = dose.prophylaxis or (vaccine.prophylaxis_code if vaccine else None)
    if not manufacturer or not prophylaxis:
        raise ValueError(f"manufacturer and prophylaxis codes are needed for {dose.product!r}")
    if dose.dose_number < 1 or dose.series_total < 1:
        raise ValueError("dose number and series total start at 1")
    return {
        "ver": SCHEMA_VERSION,
        "nam": name.payload(),
        "dob": _dob(date_of_birth),
        "v": [
            {
                "tg": DISEASE_AGENT_TARGETED,
                "vp": prophylaxis,
                "mp": dose.product,
                "ma": manufacturer,
                "dn": dose.dose_number,
                "sd": dose.series_total,
                "dt": dose.date.isoformat(),
                "co": dose.country,
                "is": issuer[:MAX_NAME],
                "ci": uvci,
            }
        ],
    }


def latest_dose(doses: Sequence[Dose]) -> Dose:
    if not doses:
        raise ValueError("a vaccination certificate needs at least one dose")
    return max(doses, key=lambda d: (d.date, d.dose_number))

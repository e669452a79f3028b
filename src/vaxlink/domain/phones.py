"""Phone numbers in their national form, written once for the matcher's SQL and for the pages.

Vietnamese numbers are written nationally with a leading 0: a mobile `0` and 9 digits (`0901 234 567`), a
landline `0`, an area code from 2 and 8 digits (`028 3822 1234`). Exports also carry them:
- internationally: `+84 901 234 567`, `0084 901 234 567` (the 0 gives way to the country code);
- through a spreadsheet that read them as numbers: `901234567`, `2838221234` (the leading 0 lost).

A number in one of these forms is read as the national one; any other digits are kept as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Form:
    """Digits that begin with one of `starts` and have one of `lengths` digits: the national number is 0
    and the digits after the first `drop`."""

    starts: tuple[str, ...]
    lengths: tuple[int, ...]
    drop: int


FORMS = (
    _Form(("0084",), (13, 14), 4),
    _Form(("84",), (11, 12), 2),
    # A mobile's first digit after its 0 (03x, 05x, 07x, 08x, 09x).
    _Form(("3", "5", "7", "8", "9"), (9,), 0),
    # A landline's area code begins with 2.
    _Form(("2",), (10,), 0),
)


def ascii_digits(text: str | None) -> str:
    """The ASCII digits of what was typed (a number or a phone written with spaces, dots, dashes, a +)."""
    return "".join(c for c in text or "" if "0" <= c <= "9")


def national_phone(text: str | None) -> str:
    """The national form of a written phone ('' when it holds no digit)."""
    d = ascii_digits(text)
    for f in FORMS:
        if len(d) in f.lengths and d.startswith(f.starts):
            return "0" + d[f.drop :]
    return d


def national_phone_sql(digits: str) -> str:
    """The same as `national_phone`, as an SQL expression over the column or expression `digits` that
    holds the digits alone (DuckDB and Spark SQL)."""
    whens = []
    for f in FORMS:
        starts = " OR ".join(f"{digits} LIKE '{s}%'" for s in f.starts)
        lengths = ", ".join(str(n) for n in f.lengths)
        whens.append(
            f"WHEN length({digits}) IN ({lengths}) AND ({starts}) THEN '0' || substr({digits}, {f.drop + 1})"
        )
    return f"CASE {' '.join(whens)} ELSE {digits} END"


# A number in its national form: 0 and 9 digits (a mobile) or 10 (a landline).
NATIONAL_SHAPE = "0[0-9]{9,10}"
# The first number written in a text ("0901 234 567 / 0902 345 678", "ĐT: 0901 234 567").
FIRST_NUMBER = r"[+0-9][0-9 .\-]*"


def usable_phone(text: str | None) -> str | None:
    """The national form of a written phone, or else of the first number written in it, when it has the
    shape of a Vietnamese number; else None."""
    first = re.search(FIRST_NUMBER, text or "")
    for candidate in (text, first.group(0) if first else None):
        national = national_phone(candidate)
        if re.fullmatch(NATIONAL_SHAPE, national):
            return national
    return None


def stored_phone_sql(text: str) -> str:
    """SQL over the written phone `text`: what `usable_phone` reads, else the text as written (a note: an
    officer reads it)."""

    def national(expr: str) -> str:
        return national_phone_sql(f"(regexp_replace({expr}, '[^0-9]', '', 'g'))")

    whole, first = national(text), national(f"regexp_extract({text}, '{FIRST_NUMBER}', 0)")
    # Most registers write the national form already: it is kept without rewriting.
    return f"""CASE WHEN regexp_full_match({text}, '{NATIONAL_SHAPE}') THEN {text}
        WHEN regexp_full_match({whole}, '{NATIONAL_SHAPE}') THEN {whole}
        WHEN regexp_full_match({first}, '{NATIONAL_SHAPE}') THEN {first} ELSE {text} END"""

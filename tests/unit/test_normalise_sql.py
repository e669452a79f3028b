"""The set-based SQL mirror of the personal-id rule agrees with the domain's parser on every input."""

from __future__ import annotations

from datetime import date

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.domain.errors import Problem
from vaxlink.domain.personal_ids import LEGACY_PROVINCE_CODES, parse_personal_id
from vaxlink.matching.normalise import personal_id_sql

TODAY = date(2026, 11, 25)
CON = duckdb.connect()
EXPR = personal_id_sql("v", today=TODAY)
SQL = f"SELECT {EXPR['problem']}, {EXPR['sex']}, {EXPR['birth_year']} FROM (SELECT ?::VARCHAR AS v)"

places = st.one_of(
    st.sampled_from(sorted("0" + c for c in LEGACY_PROVINCE_CODES)),
    st.integers(0, 999).map(lambda n: f"{n:03d}"),
)
plausible = st.builds(lambda p, rest: p + rest, places, st.text("0123456789", min_size=0, max_size=11))
noisy = st.text(alphabet="0123456789 .-aZ\u00a0\u3000\x0b\t\u2009'`\u2018\u2019", max_size=16)


def sql(value: str) -> tuple[str | None, str, int | None]:
    return CON.execute(SQL, [value]).fetchall()[0]  # type: ignore[return-value]


@settings(max_examples=150, deadline=None)
@given(st.one_of(plausible, noisy))
def test_sql_rule_equals_domain_rule(text: str) -> None:
    problem, sex, year = sql(text)
    parsed = parse_personal_id(text, today=TODAY)
    if isinstance(parsed, Problem):
        assert problem == parsed.code
    else:
        assert problem is None
        assert sex == parsed.sex.value
        assert year == parsed.birth_year


def test_examples() -> None:
    assert sql("077090001234") == (None, "M", 1990)
    assert sql("079 301 000 111")[0:2] == (None, "F")
    assert sql("'077090001234") == (None, "M", 1990)  # kept as text by a spreadsheet
    assert sql("\u2019077090001234") == (None, "M", 1990)
    assert sql("")[0] == "ID_EMPTY"
    assert sql("098090001234")[0] == "ID_UNKNOWN_PLACE"
    assert sql("101090001234")[0] is None  # born abroad
    assert sql("077290001234")[0] == "ID_BIRTH_YEAR_FUTURE"  # 2090

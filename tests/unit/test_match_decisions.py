"""The decisions at their boundaries: the link, the review floor, the rivals, each veto and what overrides it,
and the comparison levels with their near misses. Every expectation is computed here from the spec's
numbers, not from the pipeline's own functions."""

from __future__ import annotations

import math

import duckdb
import pytest

from vaxlink.matching.pipeline import LEVEL_COLUMNS, WEIGHT_COLUMNS, decide_steps, veto_sql
from vaxlink.matching.spec import MatchSpec

# The boundaries below are written for a precision of 1 in 10,000 per link (a 13.29-bit threshold).
SPEC = MatchSpec(max_wrong_link=1e-4)
CLEAN = {
    "id_level": "ID_EXACT",
    "name_level": "NAME_EXACT",
    "dob_level": "DOB_EXACT",
    "sex_level": "SEX_SAME",
    "ward_level": "WARD_SAME",
    "address_level": "ADDRESS_SAME",
    "phone_level": "PHONE_SAME",
}


def _scored_table(con: duckdb.DuckDBPyConnection) -> None:
    cols = ", ".join(f"{c} VARCHAR" for c in LEVEL_COLUMNS)
    weights = ", ".join(f"{c} DOUBLE" for c in WEIGHT_COLUMNS)
    con.execute(
        "CREATE TABLE scored (ident_id BIGINT, group_id BIGINT, citizen_id BIGINT, reg_has_marks BOOLEAN, "
        f"reg_dob_precision VARCHAR, {cols}, {weights}, weight DOUBLE, veto INTEGER)"
    )


def _insert(
    con: duckdb.DuckDBPyConnection,
    ident: int,
    group: int,
    citizen: int,
    weight: float,
    veto: int,
    levels: dict,
) -> None:
    lv = {**CLEAN, **levels}
    parts = [weight] + [0.0] * (len(WEIGHT_COLUMNS) - 1)
    marks = ", ".join("?" * (len(LEVEL_COLUMNS) + len(WEIGHT_COLUMNS)))
    con.execute(
        f"INSERT INTO scored VALUES (?, ?, ?, true, 'day', {marks}, ?, ?)",
        [ident, group, citizen, *[lv[c] for c in LEVEL_COLUMNS], *parts, weight, veto],
    )


def _decide(
    rows: list[tuple[int, int, float, int, dict[str, str]]], spec: MatchSpec = SPEC
) -> dict[int, tuple]:
    """rows: (ident, citizen, weight, veto, levels); one group per identity. Returns ident -> classified row."""
    con = duckdb.connect()
    idents = sorted({r[0] for r in rows} | {99})
    con.execute("CREATE TABLE rec_ident (ident_id BIGINT, group_id BIGINT)")
    con.executemany("INSERT INTO rec_ident VALUES (?, ?)", [(i, i) for i in idents])
    _scored_table(con)
    for ident, citizen, weight, veto, levels in rows:
        _insert(con, ident, ident, citizen, weight, veto, levels)
    for step in decide_steps(spec):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    out = con.execute(
        "SELECT ident_id, outcome, best_citizen_id, wrong_link, reasons FROM classified ORDER BY ident_id"
    ).fetchall()
    return {r[0]: r[1:] for r in out}


def _wrong(best: float, rivals: list[float]) -> float:
    odds = 2.0**-best + sum(2.0 ** (w - best) for w in rivals)
    return odds / (1 + odds)


def test_threshold_is_the_precision_asked() -> None:
    assert MatchSpec().max_wrong_link == 1e-2
    assert MatchSpec().max_wrong_citizen == 1e-3
    assert MatchSpec().link_threshold == pytest.approx(math.log2(99))
    assert MatchSpec().min_margin == pytest.approx(math.log2(999))
    assert SPEC.link_threshold == pytest.approx(math.log2(9999))
    assert SPEC.min_margin == pytest.approx(math.log2(9999))
    assert SPEC.review_threshold == pytest.approx(math.log2(0.05 / 0.95))


DEFAULT = MatchSpec()


@pytest.mark.parametrize("delta, outcome", [(0.01, "linked"), (-0.01, "review")])
def test_a_lone_candidate_at_the_default_bound_of_1_in_100(delta: float, outcome: str) -> None:
    w = math.log2(99) + delta
    got = _decide([(1, 10, w, 0, {})], DEFAULT)[1]
    assert got[0] == outcome
    assert got[2] == pytest.approx(_wrong(w, []))


@pytest.mark.parametrize("gap, outcome", [(10.0, "linked"), (9.9, "review")])
def test_another_citizen_is_held_to_1_in_1000(gap: float, outcome: str) -> None:
    # Best at 40 bits: nobody-in-the-register odds are nil, the rival is all. log2(999) ≈ 9.964 bits.
    got = _decide([(1, 10, 40.0, 0, {}), (1, 11, 40.0 - gap, 0, {})], DEFAULT)[1]
    assert got[0] == outcome and got[1] == 10
    assert ("AMBIGUOUS_CANDIDATES" in got[3]) == (outcome == "review")


def test_the_two_bounds_add_up_for_a_lone_candidate_with_a_rival() -> None:
    # 1 in 200 that the person is nobody in the register, a rival 1 in 1,200: each within its own bound, the
    # sum 1 in 171 within 1 in 100: linked. A rival 1 in 900 breaks the tighter bound alone.
    w = math.log2(199)
    assert _decide([(1, 10, w, 0, {}), (1, 11, w - math.log2(1200), 0, {})], DEFAULT)[1][0] == "linked"
    assert _decide([(1, 10, w, 0, {}), (1, 11, w - math.log2(900), 0, {})], DEFAULT)[1][0] == "review"


@pytest.mark.parametrize("delta, outcome", [(0.01, "linked"), (-0.01, "review")])
def test_a_lone_candidate_links_just_above_the_threshold(delta: float, outcome: str) -> None:
    w = SPEC.link_threshold + delta
    got = _decide([(1, 10, w, 0, {})])[1]
    assert got[0] == outcome
    assert got[2] == pytest.approx(_wrong(w, []))


@pytest.mark.parametrize("delta, outcome", [(0.01, "review"), (-0.01, "unmatched")])
def test_the_review_floor(delta: float, outcome: str) -> None:
    assert _decide([(1, 10, SPEC.review_threshold + delta, 0, {})])[1][0] == outcome


def test_no_candidate_is_unmatched() -> None:
    got = _decide([(1, 10, 30.0, 0, {})])
    assert got[99][0] == "unmatched" and got[99][3] == "NO_CANDIDATE"


@pytest.mark.parametrize("gap, outcome", [(14.0, "linked"), (13.0, "review")])
def test_a_rival_stops_the_link_by_its_odds(gap: float, outcome: str) -> None:
    # Best at 40 bits: only the rival matters. It must stay log2(9999) ≈ 13.29 bits below.
    got = _decide([(1, 10, 40.0, 0, {}), (1, 11, 40.0 - gap, 0, {})])[1]
    assert got[0] == outcome and got[1] == 10
    assert got[2] == pytest.approx(_wrong(40.0, [40.0 - gap]))
    assert ("AMBIGUOUS_CANDIDATES" in got[3]) == (outcome == "review")


def test_rivals_add_up() -> None:
    # Each rival alone would allow the link; together they do not.
    got = _decide([(1, 10, 40.0, 0, {}), (1, 11, 26.5, 0, {}), (1, 12, 26.5, 0, {}), (1, 13, 26.5, 0, {})])[1]
    assert got[0] == "review"
    assert _decide([(1, 10, 40.0, 0, {}), (1, 11, 26.5, 0, {})])[1][0] == "linked"


def test_tied_candidates_are_reviewed_with_the_lower_citizen_first() -> None:
    got = _decide([(1, 11, 30.0, 0, {}), (1, 10, 30.0, 0, {})])[1]
    assert got[0] == "review" and got[1] == 10


def test_a_veto_stops_any_weight() -> None:
    assert _decide([(1, 10, 60.0, 1, {})])[1][0] == "review"


@pytest.mark.parametrize(
    "levels",
    [{"name_level": "NAME_GIVEN_DIFFERS"}, {"name_level": "NAME_DIFFERENT"}],
    ids=["given", "different"],
)
def test_name_vetoes_hold_even_with_the_strongest_agreement(levels: dict[str, str]) -> None:
    assert _veto({**CLEAN, **levels}) == 1


@pytest.mark.parametrize("dob", ["DOB_SAME_YEAR", "DOB_DIFFERENT"])
def test_birth_date_vetoes_yield_to_number_and_name_only(dob: str) -> None:
    assert _veto({**CLEAN, "dob_level": dob}) == 0
    for breaker in (
        {"id_level": "ID_TYPO"},
        {"id_level": "ID_MISSING"},
        {"id_level": "ID_OF_HOUSEHOLD_MEMBER"},
        {"name_level": "NAME_TYPO"},
        {"sex_level": "SEX_DIFFERS"},
    ):
        assert _veto({**CLEAN, "dob_level": dob, **breaker}) == 1, breaker


def test_name_marks_veto_yields_to_the_number_or_to_birth_date_and_home() -> None:
    marks = {**CLEAN, "name_level": "NAME_MARKS_DIFFER"}
    assert _veto(marks) == 0
    no_id = {**marks, "id_level": "ID_MISSING"}
    # The full birth date and one sign of the home: address, phone or ward.
    assert _veto(no_id) == 0
    away = {
        **no_id,
        "address_level": "ADDRESS_DIFFERS",
        "phone_level": "PHONE_DIFFERS",
        "ward_level": "WARD_DIFFERS",
    }
    assert _veto(away) == 1
    for home in (
        {"address_level": "ADDRESS_SAME"},
        {"phone_level": "PHONE_SAME"},
        {"ward_level": "WARD_SAME"},
    ):
        assert _veto({**away, **home}) == 0, home
        assert _veto({**away, **home, "dob_level": "DOB_TYPO"}) == 1, home
        assert _veto({**away, **home, "sex_level": "SEX_DIFFERS"}) == 1, home
    assert _veto({**away, "phone_level": "PHONE_OF_HOUSEHOLD"}) == 1


@pytest.mark.parametrize("dob", ["DOB_NEAR", "DOB_YEAR_NEAR", "DOB_TYPO", "DOB_DAY_MONTH_SWAPPED"])
def test_near_birth_dates_are_evidence_not_vetoes(dob: str) -> None:
    assert _veto({**CLEAN, "dob_level": dob, "id_level": "ID_MISSING"}) == 0


def _veto(levels: dict[str, str]) -> int:
    con = duckdb.connect()
    cols = ", ".join(f"'{levels[c]}' AS {c}" for c in LEVEL_COLUMNS)
    return int(con.execute(f"SELECT {veto_sql(SPEC)} FROM (SELECT {cols})").fetchall()[0][0])


def test_a_group_lends_evidence_only_to_a_candidate_the_record_singles_out() -> None:
    con_rows = [
        # identity 1 (no number): citizen 10 well ahead of 11; identity 2, same group, names 10 strongly.
        (1, 10, 9.0, 0, {"id_level": "ID_MISSING"}),
        (1, 11, -5.0, 0, {"id_level": "ID_MISSING"}),
        (2, 10, 35.0, 0, {}),
    ]
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE rec_ident AS SELECT * FROM (VALUES (1, 1), (2, 1), (3, 3), (4, 3)) t(ident_id, group_id)"
    )
    _scored_table(con)
    # identities 3 and 4: a namesake born the same day (citizens 20 and 21 tie for 3): no lending.
    con_rows += [(3, 20, 9.0, 0, {}), (3, 21, 9.0, 0, {}), (4, 20, 35.0, 0, {})]
    for ident, citizen, weight, veto, levels in con_rows:
        _insert(con, ident, 1 if ident in (1, 2) else 3, citizen, weight, veto, levels)
    for step in decide_steps(SPEC):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    got = dict(con.execute("SELECT ident_id, outcome FROM classified").fetchall())
    assert got == {1: "linked", 2: "linked", 3: "review", 4: "linked"}
    borrowed = dict(con.execute("SELECT ident_id, borrowed FROM classified").fetchall())
    assert borrowed[1] == 1 and borrowed[3] == 0

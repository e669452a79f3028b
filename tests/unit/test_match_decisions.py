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
        f"reg_dob_precision VARCHAR, {cols}, {weights}, weight DOUBLE, veto INTEGER, another INTEGER)"
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
        f"INSERT INTO scored VALUES (?, ?, ?, true, 'day', {marks}, ?, ?, NULL)",
        [ident, group, citizen, *[lv[c] for c in LEVEL_COLUMNS], *parts, weight, veto],
    )
    # The spec's own condition for a candidate that is another person, on the row's levels.
    con.execute(
        f"UPDATE scored SET another = CASE WHEN {SPEC.another_person} THEN 1 ELSE 0 END WHERE another IS NULL"
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
    away = {**CLEAN, "address_level": "ADDRESS_DIFFERS"}
    # A slip of a letter or two in the name (never a name of the household) is still the citizen's name.
    assert _veto({**away, "dob_level": dob, "name_level": "NAME_TYPO"}) == 0
    for breaker in (
        {"id_level": "ID_TYPO"},
        {"id_level": "ID_MISSING"},
        {"id_level": "ID_OF_HOUSEHOLD_MEMBER"},
        {"name_level": "NAME_SIMILAR"},
        {"name_level": "NAME_GIVEN_TYPO"},
        {"sex_level": "SEX_DIFFERS"},
    ):
        assert _veto({**away, "dob_level": dob, **breaker}) == 1, breaker
    # Without the number, the whole name at the house and on the own phone lifts a date astray within its year,
    # not a date of another year (a relative's).
    for no_number in ({"id_level": "ID_TYPO"}, {"id_level": "ID_MISSING"}):
        assert _veto({**CLEAN, "dob_level": dob, **no_number}) == int(dob == "DOB_DIFFERENT"), no_number
    assert _veto({**CLEAN, "dob_level": dob, "id_level": "ID_OF_HOUSEHOLD_MEMBER"}) == 1


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
        assert _veto({**away, **home, "sex_level": "SEX_DIFFERS"}) == 1, home
        # A slip of the date as well: the house or the own phone still vouch for it, the ward alone does not.
        assert _veto({**away, **home, "dob_level": "DOB_TYPO"}) == int("ward_level" in home), home
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


# --- every boundary of the decision, met exactly -----------------------------------------------------------

ROW = (
    "outcome",
    "best_citizen_id",
    "best_weight",
    "second_citizen_id",
    "second_weight",
    "n_candidates",
    "wrong_link",
    "borrowed",
    "reasons",
    "blame",
)


def _classified(
    rows: list[tuple[int, int, int, float, int, dict[str, str]]],
    *,
    register: dict[int, tuple[bool, str]] | None = None,
    spec: MatchSpec = SPEC,
) -> dict[int, dict[str, object]]:
    """rows: (ident, group, citizen, weight, veto, levels); `register`: citizen -> (has marks, birth date
    precision), else marked and known to the day. Returns ident -> the classified row by column."""
    con = duckdb.connect()
    idents = sorted({(r[0], r[1]) for r in rows})
    con.execute("CREATE TABLE rec_ident (ident_id BIGINT, group_id BIGINT)")
    con.executemany("INSERT INTO rec_ident VALUES (?, ?)", [*idents, (99, 99)])
    _scored_table(con)
    for ident, group, citizen, weight, veto, levels in rows:
        _insert(con, ident, group, citizen, weight, veto, levels)
        marks, precision = (register or {}).get(citizen, (True, "day"))
        con.execute(
            "UPDATE scored SET reg_has_marks = ?, reg_dob_precision = ? WHERE citizen_id = ?",
            [marks, precision, citizen],
        )
    for step in decide_steps(spec):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    out = con.execute(f"SELECT ident_id, {', '.join(ROW)} FROM classified").fetchall()
    return {r[0]: dict(zip(ROW, r[1:], strict=True)) for r in out}


# The precision these tests are written for, and the bounds that follow from it (computed here).
MAX_WRONG_LINK = 1e-4
LINK_BITS = math.log2((1 - MAX_WRONG_LINK) / MAX_WRONG_LINK)  # 13.2877
REVIEW_BITS = math.log2(0.05 / 0.95)  # -4.2479
RANK_FLOOR = min(REVIEW_BITS, -LINK_BITS)  # -13.2877: weaker candidates are rivals, never shown


def test_the_bounds_are_those_computed_here() -> None:
    assert SPEC.max_wrong_link == MAX_WRONG_LINK
    assert SPEC.link_threshold == pytest.approx(LINK_BITS, abs=1e-9)
    assert SPEC.min_margin == pytest.approx(LINK_BITS, abs=1e-9)
    assert SPEC.review_threshold == pytest.approx(REVIEW_BITS, abs=1e-9)


def test_a_lone_candidate_exactly_at_the_threshold_links() -> None:
    got = _classified([(1, 1, 10, SPEC.link_threshold, 0, {})])[1]
    assert got["outcome"] == "linked"
    assert got["wrong_link"] == pytest.approx(MAX_WRONG_LINK, rel=1e-9)


def test_a_candidate_exactly_at_the_review_floor_is_reviewed() -> None:
    got = _classified([(1, 1, 10, SPEC.review_threshold, 0, {})])[1]
    assert got["outcome"] == "review" and got["best_citizen_id"] == 10


@pytest.mark.parametrize(
    "weight, shown",
    [(-SPEC.min_margin, True), (-SPEC.min_margin - 0.01, False), (-10.0, True), (REVIEW_BITS - 0.01, True)],
    ids=["at the floor", "below the floor", "between the floor and the review bound", "just under review"],
)
def test_the_ranking_floor(weight: float, shown: bool) -> None:
    got = _classified([(1, 1, 10, 40.0, 0, {}), (1, 1, 11, weight, 0, {})])[1]
    assert got["n_candidates"] == (2 if shown else 1)
    assert got["second_citizen_id"] == (11 if shown else None)
    # Shown or not, the weaker candidate is a rival: it counts in the probability of a wrong link.
    assert got["wrong_link"] == pytest.approx(_wrong(40.0, [weight]), rel=1e-6)


def test_the_second_candidate_is_the_second_strongest() -> None:
    got = _classified([(1, 1, 10, 40.0, 0, {}), (1, 1, 12, 20.0, 0, {}), (1, 1, 11, 25.0, 0, {})])[1]
    assert (got["best_citizen_id"], got["second_citizen_id"], got["n_candidates"]) == (10, 11, 3)
    assert (got["best_weight"], got["second_weight"]) == (40.0, 25.0)
    assert got["outcome"] == "linked"


def test_a_rival_exactly_at_the_precision_leaves_the_link() -> None:
    # The rival's odds against the best, 1e-4, are just under the 1e-4 / (1 - 1e-4) the link allows.
    gap = -math.log2(MAX_WRONG_LINK)
    got = _classified([(1, 1, 10, 40.0, 0, {}), (1, 1, 11, 40.0 - gap, 0, {})])[1]
    assert got["outcome"] == "linked" and got["reasons"] == ""
    closer = _classified([(1, 1, 10, 40.0, 0, {}), (1, 1, 11, 40.0 - gap + 0.01, 0, {})])[1]
    assert closer["outcome"] == "review" and closer["reasons"] == "AMBIGUOUS_CANDIDATES"


def test_no_candidate_has_nothing_to_show() -> None:
    got = _classified([(1, 1, 10, 30.0, 0, {})])[99]
    assert got == {
        "outcome": "unmatched",
        "best_citizen_id": None,
        "best_weight": None,
        "second_citizen_id": None,
        "second_weight": None,
        "n_candidates": 0,
        "wrong_link": None,
        "borrowed": 0,
        "reasons": "NO_CANDIDATE",
        "blame": "health",
    }


@pytest.mark.parametrize(
    "levels, reasons",
    [
        ({}, ""),
        ({"id_level": "ID_TYPO"}, "ID_TYPO"),
        ({"name_level": "NAME_ORDER"}, "NAME_ORDER"),
        ({"dob_level": "DOB_NEAR"}, "DOB_NEAR"),
        ({"sex_level": "SEX_DIFFERS"}, "SEX_DIFFERS"),
        ({"sex_level": "SEX_MISSING"}, "SEX_MISSING"),
        ({"ward_level": "WARD_DIFFERS"}, "WARD_DIFFERS"),
        (
            {
                "ward_level": "WARD_MISSING",
                "address_level": "ADDRESS_DIFFERS",
                "phone_level": "PHONE_DIFFERS",
            },
            "",
        ),
        (
            {
                "id_level": "ID_MISSING",
                "name_level": "NAME_DIACRITICS",
                "dob_level": "DOB_YEAR_ONLY",
                "sex_level": "SEX_MISSING",
                "ward_level": "WARD_DIFFERS",
            },
            "ID_MISSING;NAME_DIACRITICS;DOB_YEAR_ONLY;SEX_MISSING;WARD_DIFFERS",
        ),
    ],
)
def test_the_reasons_name_each_field_short_of_agreement(levels: dict[str, str], reasons: str) -> None:
    got = _classified([(1, 1, 10, 30.0, 0, levels)])[1]
    assert got["outcome"] == "linked" and got["reasons"] == reasons


@pytest.mark.parametrize(
    "levels, register, blame",
    [
        ({"name_level": "NAME_DIACRITICS"}, (False, "day"), "register"),
        ({"name_level": "NAME_DIACRITICS"}, (True, "day"), "health"),
        ({"name_level": "NAME_EXACT"}, (False, "day"), "health"),
        ({"dob_level": "DOB_YEAR_ONLY"}, (True, "year"), "register"),
        ({"dob_level": "DOB_YEAR_ONLY"}, (True, "month"), "register"),
        ({"dob_level": "DOB_YEAR_ONLY"}, (True, "day"), "health"),
        ({"dob_level": "DOB_SAME_YEAR"}, (True, "year"), "health"),
    ],
)
def test_the_blame_falls_on_the_side_that_lacks(
    levels: dict[str, str], register: tuple[bool, str], blame: str
) -> None:
    assert _classified([(1, 1, 10, 30.0, 0, levels)], register={10: register})[1]["blame"] == blame


# --- one person's several records ---------------------------------------------------------------------------

MARGIN = 6.0  # bits by which a record's own best must lead before it takes its siblings' evidence


def test_the_borrow_margin_is_the_spec_s() -> None:
    assert SPEC.borrow_margin == MARGIN


@pytest.mark.parametrize(
    "second, borrowed",
    [(None, 1), (9.0 - MARGIN - 0.01, 1), (9.0 - MARGIN, 0)],
    ids=["alone", "just outside the margin", "at the margin"],
)
def test_a_record_borrows_only_past_the_margin(second: float | None, borrowed: int) -> None:
    rows = [(1, 1, 10, 9.0, 0, {"id_level": "ID_MISSING"}), (2, 1, 10, 35.0, 0, {})]
    if second is not None:
        rows.append((1, 1, 11, second, 0, {"id_level": "ID_MISSING"}))
    got = _classified(rows)[1]
    assert got["borrowed"] == borrowed
    assert got["best_weight"] == (35.0 if borrowed else 9.0)
    assert got["outcome"] == ("linked" if borrowed else "review")


def test_equal_evidence_is_not_borrowed() -> None:
    got = _classified([(1, 1, 10, 20.0, 0, {}), (2, 1, 10, 20.0, 0, {})])
    assert got[1]["borrowed"] == 0 and got[2]["borrowed"] == 0


def test_a_vetoed_record_neither_lends_nor_borrows() -> None:
    given = {"name_level": "NAME_GIVEN_DIFFERS"}
    lent = _classified([(1, 1, 10, 9.0, 0, {"id_level": "ID_MISSING"}), (2, 1, 10, 35.0, 1, given)])
    assert lent[1]["borrowed"] == 0 and lent[1]["best_weight"] == 9.0
    took = _classified([(1, 1, 10, 9.0, 1, given), (2, 1, 10, 35.0, 0, {})])
    assert took[1]["borrowed"] == 0 and took[1]["outcome"] == "review"


def test_records_of_other_groups_lend_nothing() -> None:
    got = _classified([(1, 1, 10, 9.0, 0, {"id_level": "ID_MISSING"}), (2, 2, 10, 35.0, 0, {})])
    assert got[1]["borrowed"] == 0 and got[1]["best_weight"] == 9.0


def test_the_probability_of_a_wrong_link_is_rounded_to_twelve_places() -> None:
    # A sum of the rivals' odds depends on the order the engine adds them in; the outcome must not.
    got = _classified([(1, 1, 10, 20.0, 0, {}), (1, 1, 11, 1.0, 0, {})])[1]
    exact = _wrong(20.0, [1.0])
    assert got["wrong_link"] == round(exact, 12) != exact


def test_a_record_takes_the_strongest_of_its_siblings_evidence() -> None:
    rows = [(1, 1, 10, 9.0, 0, {"id_level": "ID_MISSING"}), (2, 1, 10, 20.0, 0, {}), (3, 1, 10, 35.0, 0, {})]
    got = _classified(rows)[1]
    assert (got["borrowed"], got["best_weight"]) == (1, 35.0)


def test_rivals_too_weak_to_show_are_not_named_ambiguous() -> None:
    # The best is too weak for review and its only rival is below the ranking floor: unmatched, and the
    # rival, though its odds are far above what a link allows, is shown nowhere.
    got = _classified([(1, 1, 10, -5.0, 0, {}), (1, 1, 11, RANK_FLOOR - 1.0, 0, {})])[1]
    assert got["outcome"] == "unmatched" and got["n_candidates"] == 1
    assert got["reasons"] == ""


def test_a_rival_at_exactly_the_allowed_odds_is_not_named_ambiguous() -> None:
    # At a precision of one in two the allowed odds are exactly 1: a tied rival's odds, exactly 1, are not
    # above them (a tie still keeps the record from a link, by the probability).
    spec = MatchSpec(max_wrong_link=0.5, max_wrong_citizen=0.5)
    got = _classified([(1, 1, 10, 30.0, 0, {}), (1, 1, 11, 30.0, 0, {})], spec=spec)[1]
    assert got["outcome"] == "review" and got["reasons"] == ""
    above = _classified(
        [(1, 1, 10, 30.0, 0, {}), (1, 1, 11, 30.0, 0, {}), (1, 1, 12, 20.0, 0, {})], spec=spec
    )[1]
    assert above["reasons"] == "AMBIGUOUS_CANDIDATES"


def test_each_ranked_candidate_shows_its_own_pair_s_levels_and_weights() -> None:
    """`ranked` takes the levels and each field's weight from `scored` for its own (identity, citizen): a
    citizen who is a candidate of two identities, and an identity with two candidates, each keep theirs.
    The total is the evidence's (borrowed where the group lends), the parts the record's own."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE rec_ident AS SELECT * FROM (VALUES (1, 1), (2, 1), (3, 3)) t(ident_id, group_id)"
    )
    _scored_table(con)
    levels = {
        (1, 10): {"id_level": "ID_MISSING", "sex_level": "SEX_MISSING"},
        (1, 11): {"id_level": "ID_MISSING", "name_level": "NAME_TYPO", "dob_level": "DOB_TYPO"},
        (2, 10): {"ward_level": "WARD_DIFFERS"},
        (2, 12): {"name_level": "NAME_ORDER", "phone_level": "PHONE_DIFFERS"},
        (3, 11): {"address_level": "ADDRESS_SAME_STREET"},
    }
    weights = {(1, 10): 9.0, (1, 11): -5.0, (2, 10): 35.0, (2, 12): 1.0, (3, 11): 20.0}
    for n, ((ident, citizen), lv) in enumerate(levels.items()):
        _insert(con, ident, 3 if ident == 3 else 1, citizen, weights[(ident, citizen)], 0, lv)
        # Parts that tell every pair apart (they need not add up here: only the total decides).
        parts = ", ".join(f"{c} = {n * 10 + i}" for i, c in enumerate(WEIGHT_COLUMNS))
        con.execute(f"UPDATE scored SET {parts} WHERE ident_id = ? AND citizen_id = ?", [ident, citizen])
    con.execute("UPDATE scored SET reg_has_marks = false, reg_dob_precision = 'year' WHERE citizen_id = 11")
    for step in decide_steps(SPEC):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    own = ["citizen_id", "reg_has_marks", "reg_dob_precision", *LEVEL_COLUMNS, *WEIGHT_COLUMNS]
    columns = [r[0] for r in con.execute("DESCRIBE ranked").fetchall()]
    assert columns == ["ident_id", *own, "weight", "veto", "another", "borrowed", "rank", "n_candidates"]
    got = con.execute(
        f"SELECT ident_id, {', '.join(own)}, weight, borrowed, rank FROM ranked ORDER BY ident_id, rank"
    ).fetchall()
    want = con.execute(
        f"SELECT ident_id, {', '.join(own)} FROM scored ORDER BY ident_id, citizen_id"
    ).fetchall()
    assert sorted(r[: len(own) + 1] for r in got) == sorted(want)
    by_pair = {(r[0], r[1]): r[-3:] for r in got}
    # Identity 1 singles out citizen 10, and identity 2 of its group names 10 at 35 bits: borrowed.
    assert by_pair == {
        (1, 10): (35.0, 1, 1),
        (1, 11): (-5.0, 0, 2),
        (2, 10): (35.0, 0, 1),
        (2, 12): (1.0, 0, 2),
        (3, 11): (20.0, 0, 1),
    }


# --- a candidate that is another person ----------------------------------------------------------------------

# The number's holder, a generation from the record's birth date and with another given name: a parent's
# number on a child's dose.
PARENT = {"id_level": "ID_OLD_CMND", "name_level": "NAME_GIVEN_DIFFERS", "dob_level": "DOB_OTHER_GENERATION"}
# The child: the name and the birth date, and a number of somebody else.
CHILD = {"id_level": "ID_OF_OTHER_PERSON"}


def test_another_person_ranks_after_a_candidate_who_could_be_the_record_s() -> None:
    # The parent outweighs the child by five bits; the child is still the best, and the parent no rival.
    got = _classified([(1, 1, 10, 25.0, 0, CHILD), (1, 1, 11, 30.0, 1, PARENT)])[1]
    assert (got["best_citizen_id"], got["second_citizen_id"]) == (10, 11)
    assert got["outcome"] == "linked" and got["reasons"] == "ID_OF_OTHER_PERSON"
    assert got["wrong_link"] == pytest.approx(_wrong(25.0, []), rel=1e-9)


def test_another_person_is_nobody_s_rival() -> None:
    # A parent five bits below the child: counted as a rival it would hold the record for an officer.
    got = _classified([(1, 1, 10, 25.0, 0, CHILD), (1, 1, 11, 20.0, 1, PARENT)])[1]
    assert got["outcome"] == "linked" and "AMBIGUOUS_CANDIDATES" not in got["reasons"]
    assert got["wrong_link"] == pytest.approx(_wrong(25.0, []), rel=1e-9)
    # The same candidate with the name of the record (not another person) is a rival.
    own_name = {**PARENT, "name_level": "NAME_EXACT"}
    held = _classified([(1, 1, 10, 25.0, 0, CHILD), (1, 1, 11, 20.0, 1, own_name)])[1]
    assert held["outcome"] == "review" and "AMBIGUOUS_CANDIDATES" in held["reasons"]
    assert held["wrong_link"] == pytest.approx(_wrong(25.0, [20.0]), rel=1e-6)


def test_a_record_whose_every_candidate_is_another_person_is_to_collect() -> None:
    got = _classified(
        [(1, 1, 11, 30.0, 1, PARENT), (1, 1, 12, 10.0, 0, {**PARENT, "id_level": "ID_MISSING"})]
    )[1]
    assert got["outcome"] == "unmatched" and got["best_citizen_id"] == 11
    # Another person among the rivals of a weaker candidate does not make that candidate the best alone.
    weak = _classified([(1, 1, 10, 5.0, 0, CHILD), (1, 1, 11, 30.0, 1, PARENT)])[1]
    assert weak["outcome"] == "review" and weak["best_citizen_id"] == 10


def test_another_person_keeps_its_place_before_a_candidate_who_could_not_be_linked() -> None:
    # A sibling (another given name, vetoed) beside the parent whose number the record carries: the record
    # is of somebody the register does not hold, to collect, with the parent's reasons.
    sibling = {
        "id_level": "ID_OF_HOUSEHOLD_MEMBER",
        "name_level": "NAME_GIVEN_DIFFERS",
        "dob_level": "DOB_DIFFERENT",
    }
    got = _classified([(1, 1, 10, 25.0, 1, sibling), (1, 1, 11, 30.0, 1, PARENT)])[1]
    assert (got["outcome"], got["best_citizen_id"], got["second_citizen_id"]) == ("unmatched", 11, 10)
    # The sibling, not another person, is the parent's rival.
    assert got["reasons"] == "ID_OLD_CMND;NAME_GIVEN_DIFFERS;DOB_OTHER_GENERATION;AMBIGUOUS_CANDIDATES"
    assert got["wrong_link"] == pytest.approx(_wrong(30.0, [25.0]), rel=1e-9)
    # Another person free of veto (a spec may leave it so) is no candidate who could be the record's either.
    free = _classified([(1, 1, 10, 25.0, 1, sibling), (1, 1, 11, 30.0, 0, PARENT)])[1]
    assert (free["outcome"], free["best_citizen_id"]) == ("unmatched", 11)
    # A candidate free of veto but too weak for a review does not displace it either.
    weak = _classified([(1, 1, 10, REVIEW_BITS - 0.01, 0, CHILD), (1, 1, 11, 30.0, 1, PARENT)])[1]
    assert (weak["outcome"], weak["best_citizen_id"]) == ("unmatched", 11)
    at = _classified([(1, 1, 10, REVIEW_BITS, 0, CHILD), (1, 1, 11, 30.0, 1, PARENT)])[1]
    assert (at["outcome"], at["best_citizen_id"]) == ("review", 10)

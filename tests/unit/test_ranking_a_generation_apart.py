"""The ranking steps over hand-made scored pairs: a candidate a generation from the record's birth date ranks
after the member of its household whom the record's number names and whose birth date the record carries, and
only then (`MatchSpec.generation_apart`, `MatchSpec.dated_member`)."""

from __future__ import annotations

import duckdb
import pytest

from vaxlink.matching.pipeline import (
    COMPARISONS,
    LEVEL_COLUMNS,
    WEIGHT_COLUMNS,
    evidence_steps,
    rank_steps,
)
from vaxlink.matching.spec import MatchSpec
from vaxlink.matching.tables import GROUP_SUPPORT, OWN_TOP, RANKED, SCORED

PARENT, CHILD = 1, 2
# The parent's pair: his number and name, the record's date a generation from his.
PARENT_LEVELS = {"id": "ID_EXACT", "name": "NAME_EXACT", "dob": "DOB_OTHER_GENERATION"}
# The child's pair as the blocking finds it by the household the number names, on the date.
CHILD_LEVELS = {"id": "ID_OF_HOUSEHOLD_MEMBER", "name": "NAME_OF_HOUSEHOLD_MEMBER", "dob": "DOB_EXACT"}


def _pair(ident: int, citizen: int, levels: dict[str, str], weight: float) -> str:
    cols = [f"{ident} AS ident_id", f"{ident} AS group_id", f"{citizen} AS citizen_id"]
    cols += ["true AS reg_has_marks", "'day' AS reg_dob_precision"]
    cols += [f"'{levels.get(c, c.upper() + '_SAME')}' AS {col}" for c, col in zip(COMPARISONS, LEVEL_COLUMNS)]
    cols += [f"0.0 AS {w}" for w in WEIGHT_COLUMNS]
    # Both pairs carry a veto (the parent's date, the child's name): neither is linked by the data alone.
    cols += [f"{weight} AS weight", "1 AS veto", "0 AS another"]
    return "SELECT " + ", ".join(cols)


def _first(parent: dict[str, str], child: dict[str, str], child_weight: float) -> int:
    """Who ranks first of the parent (weight 27.6) and the child."""
    spec = MatchSpec()
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE {SCORED} AS {_pair(1, PARENT, parent, 27.6)} UNION ALL {_pair(1, CHILD, child, child_weight)}"
    )
    con.execute(
        f"CREATE TABLE {OWN_TOP} AS SELECT 1 AS ident_id, {PARENT} AS citizen_id, {child_weight} AS second"
    )
    con.execute(
        f"CREATE TABLE {GROUP_SUPPORT} AS SELECT 1 AS ident_id, 1 AS citizen_id, 0.0 AS weight LIMIT 0"
    )
    for step in evidence_steps(spec)[-1:] + rank_steps(spec):
        con.execute(f"CREATE TABLE {step.name} AS {step.sql}")
    order = [r[0] for r in con.execute(f"SELECT citizen_id FROM {RANKED} ORDER BY rank").fetchall()]
    assert sorted(order) == [PARENT, CHILD]
    return order[0]


def test_the_child_whose_birth_date_the_dose_carries_ranks_first():
    assert _first(PARENT_LEVELS, CHILD_LEVELS, 18.6) == CHILD


@pytest.mark.parametrize(
    ("what", "parent", "child", "child_weight"),
    [
        # A member the record is too far from to be worth a review: the parent keeps his place.
        ("member below review", PARENT_LEVELS, CHILD_LEVELS, -6.0),
        # The member's birth date known to the year only: the record's date does not name her.
        ("member's year only", PARENT_LEVELS, {**CHILD_LEVELS, "dob": "DOB_YEAR_ONLY"}, 18.6),
        # The number not a member's: nothing says whose household the date belongs to.
        ("not the number's household", PARENT_LEVELS, {**CHILD_LEVELS, "id": "ID_DIFFERENT"}, 18.6),
        # The first candidate's date of another year, but the same generation: not the parent's identity.
        ("same generation", {**PARENT_LEVELS, "dob": "DOB_DIFFERENT"}, CHILD_LEVELS, 18.6),
    ],
)
def test_otherwise_the_stronger_candidate_ranks_first(what, parent, child, child_weight):
    assert _first(parent, child, child_weight) == PARENT, what

"""Which links the dose check holds to (`spec.taken_dose_check`): a link the record's own data do not wholly
carry. Each level is checked alone on an otherwise whole pair (the citizen's number, name, birth date and sex),
against the lists written here."""

from __future__ import annotations

import duckdb
import pytest

from vaxlink.matching.spec import MatchSpec

SPEC = MatchSpec()
WHOLE = {
    "id_level": "ID_EXACT",
    "name_level": "NAME_EXACT",
    "dob_level": "DOB_EXACT",
    "sex_level": "SEX_SAME",
}
# The levels that leave a link to the rest of the record's data: no number of the citizen's, a birth date not
# the citizen's, the other sex, a name not the citizen's own.
PARTIAL = {
    "id": {
        "ID_OF_HOUSEHOLD_MEMBER",
        "ID_OF_OTHER_PERSON",
        "ID_UNKNOWN_SAME_PREFIX",
        "ID_MISSING",
        "ID_OTHER_DOCUMENT",
        "ID_CMND_OTHER",
        "ID_CMND_UNKNOWN",
        "ID_OTHER_NUMBER",
        "ID_DIFFERENT",
    },
    "name": {"NAME_OTHER_SEX", "NAME_OF_HOUSEHOLD_MEMBER", "NAME_GIVEN_OTHER", "NAME_UNRECOGNISED"},
    "dob": {"DOB_MISSING", "DOB_SAME_YEAR", "DOB_YEAR_NEAR", "DOB_DIFFERENT", "DOB_OTHER_GENERATION"},
    "sex": {"SEX_DIFFERS"},
}
LEVELS = [(c.name, lv.name) for c in SPEC.comparisons if c.name in PARTIAL for lv in c.levels]


def _partial(levels: dict[str, str]) -> bool:
    con = duckdb.connect()
    cols = ", ".join(f"'{v}' AS {k}" for k, v in levels.items())
    return bool(con.execute(f"SELECT {SPEC.taken_dose_check} FROM (SELECT {cols})").fetchall()[0][0])


def test_a_whole_pair_is_not_held() -> None:
    assert not _partial(WHOLE)


@pytest.mark.parametrize(("comparison", "level"), LEVELS, ids=[lv for _, lv in LEVELS])
def test_each_level_alone(comparison: str, level: str) -> None:
    assert _partial({**WHOLE, f"{comparison}_level": level}) == (level in PARTIAL[comparison])

"""A slip in the given name against a sibling's or a twin's name, through the real preparation and the spec's
SQL: a word nobody is called (Sỹỹ, Qyý), or a real name one edit away (Thy for Thúy) that nobody of the
citizen's household carries, is NAME_GIVEN_TYPO; any other given name nobody of the household carries is
NAME_GIVEN_OTHER; a name of the household (a twin's), or another middle name, stays NAME_GIVEN_DIFFERS. Also: the given name written first with the middle name left
out, the veto of a given-name slip, and the blocking that finds a record with neither number nor ward."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pytest

from vaxlink.matching.pipeline import LEVEL_COLUMNS, compare_step, lookup_step, steps, veto_sql
from vaxlink.matching.prepare import prepare_records, prepare_register, register_names
from vaxlink.matching.spec import MatchSpec

SPEC = MatchSpec()
BORN = date(1990, 3, 15)
# citizen_id, name, household, ward
CITIZENS = [
    (1, "Phan Minh Sỹ", "H1", "26560"),
    (2, "Bùi Thị Thúy", "H2", "26560"),
    (3, "Lê Thị Thy", "H3", "26554"),  # makes "Thy" a name the register knows
    (4, "Trần Văn Tâm", "H4", "26560"),  # twins, born the same day
    (5, "Trần Văn Tân", "H4", "26560"),
    (6, "Võ Văn Quý", "H5", "26560"),
    (7, "Lê Thị Mạnh", "H6", "26560"),
    (8, "Trần Thị Mai", "H7", "26554"),  # makes "Mai" a name the register knows
    (9, "Hồ Quốc Anh", "H8", "26560"),
    (10, "Đỗ Văn An", "H9", "26560"),
]
# (record's name, citizen compared, expected name level)
CASES = [
    ("Phan Minh Sỹỹ", 1, "NAME_GIVEN_TYPO"),  # nobody is called Sỹỹ; y and i alike
    ("Phan Minh Sĩ", 1, "NAME_MARKS_DIFFER"),  # i/y folded alike: the same letters, written otherwise
    ("Võ Văn Qyý", 6, "NAME_GIVEN_TYPO"),  # two edits, not a name
    ("Võ Văn Qyýxz", 6, "NAME_GIVEN_OTHER"),  # three edits: another name, nobody's in the household
    ("Bùi Thị Thy", 2, "NAME_GIVEN_TYPO"),  # a real name one edit away, not of the household
    ("Bùi Thúy", 2, "NAME_MIDDLE_DROPPED"),
    ("Bùi Thy", 2, "NAME_GIVEN_TYPO"),  # the middle name left out as well
    ("Bùi Văn Thy", 2, "NAME_GIVEN_DIFFERS"),  # another middle name
    ("Trần Văn Tân", 4, "NAME_GIVEN_DIFFERS"),  # the twin's name: one edit, but a name of the household
    ("Trần Văn Tân", 5, "NAME_EXACT"),
    ("Trần Vn Tâm", 4, "NAME_TYPO"),  # a slip elsewhere: the household's own given name is the citizen's
    ("Trần Văn Tần", 4, "NAME_GIVEN_DIFFERS"),  # the twin's name with other marks
    ("Trần Văn Tâmm", 4, "NAME_TYPO"),  # one letter in the whole name
    ("Lê Thị Mai", 7, "NAME_GIVEN_OTHER"),  # a real name two edits away, nobody's in the household
    ("Lê Thị Mạnhx", 7, "NAME_TYPO"),
    ("Đỗ Văn Aqz", 10, "NAME_GIVEN_OTHER"),  # two edits from a two-letter name
    ("Đỗ Văn Anx", 10, "NAME_TYPO"),  # one edit
    ("Anh Hồ", 9, "NAME_MIDDLE_DROPPED"),  # the given name first, the middle name left out
    ("Anh Hồ Quốc", 9, "NAME_ORDER"),
    ("Anh Hồ Văn", 9, "NAME_UNRECOGNISED"),  # given first, but another middle name
]


def _sex_of(name: str) -> str:
    return "Nữ" if "Thị" in name.split() else "Nam"


def _register(con: duckdb.DuckDBPyConnection) -> None:
    n = len(CITIZENS)
    reg = pa.table(
        {
            "citizen_id": pa.array([c[0] for c in CITIZENS], pa.int64()),
            "personal_id": [f"0770900{c[0]:05d}" for c in CITIZENS],
            "full_name": [c[1] for c in CITIZENS],
            "birth_date": pa.array([BORN] * n, pa.date32()),
            "birth_precision": ["day"] * n,
            "birth_year": pa.array([BORN.year] * n, pa.int32()),
            "sex": ["F" if _sex_of(c[1]) == "Nữ" else "M" for c in CITIZENS],
            "current_ward_code": [c[3] for c in CITIZENS],
            "permanent_ward_code": [c[3] for c in CITIZENS],
            "phone": pa.array([None] * n, pa.string()),
            "household_id": [c[2] for c in CITIZENS],
            "address": pa.array([None] * n, pa.string()),
        }
    )
    con.register("reg_in", reg)
    con.register(
        "alias_in",
        pa.table(
            {
                "citizen_id": pa.array([], pa.int64()),
                "alias": pa.array([], pa.string()),
                "kind": pa.array([], pa.string()),
            }
        ),
    )
    prepare_register(con, "reg_in", "alias_in")


def _records(con: duckdb.DuckDBPyConnection, rows: list[dict[str, str | None]]) -> None:
    names = ("full_name", "date_of_birth", "sex", "id_number", "phone", "ward_code", "address")
    table = {"rec_id": list(range(1, len(rows) + 1))}
    table.update({k: [r.get(k) for r in rows] for k in names})
    con.register(
        "rec_in",
        pa.table(table, schema=pa.schema([("rec_id", pa.int64())] + [(k, pa.string()) for k in names])),
    )
    prepare_records(con, "rec_in")


@pytest.fixture(scope="module")
def compared() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    _register(con)
    _records(
        con,
        [
            # A woman's record where the name has Thị: a record of the other sex is another level of its own.
            {"full_name": name, "date_of_birth": "15/03/1990", "sex": _sex_of(name), "ward_code": "26560"}
            for name, _c, _l in CASES
        ],
    )
    con.execute("CREATE TABLE pairs AS SELECT i.ident_id, c.citizen_id FROM rec_ident i CROSS JOIN reg c")
    for step in (lookup_step(), compare_step(SPEC)):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    return con


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_name_level(case: tuple[str, int, str], compared: duckdb.DuckDBPyConnection) -> None:
    i = CASES.index(case) + 1
    got = compared.execute(
        """SELECT x.name_level FROM compared x JOIN rec_map m ON m.ident_id = x.ident_id
        WHERE m.rec_id = ? AND x.citizen_id = ?""",
        [i, case[1]],
    ).fetchall()
    assert got == [(case[2],)]


def test_a_rare_word_is_a_slip_only_where_the_register_is_large_enough_to_know_it() -> None:
    """A word carried by more than one citizen in a million is a name: two edits from the citizen's given name,
    it is another person's name."""
    lv = SPEC.comparison("name").level("NAME_GIVEN_TYPO")
    assert "1000000" in lv.condition.replace("_", "")
    con = duckdb.connect()
    _register(con)
    _records(con, [{"full_name": "Võ Văn Qaz", "date_of_birth": "15/03/1990", "ward_code": "26560"}])
    con.execute("CREATE TABLE pairs AS SELECT i.ident_id, 6 AS citizen_id FROM rec_ident i")
    assert _name_level(con) == "NAME_GIVEN_TYPO"  # two edits from Quý, and nobody is called Qaz
    # Qaz made a name: one citizen of the ten carries it.
    con.execute("UPDATE reg SET given_key = 'qaz' WHERE citizen_id = 3")
    register_names(con)
    assert _name_level(con) == "NAME_GIVEN_OTHER"  # another name, nobody's in Quý's household
    assert con.execute("SELECT given_n FROM rec_lookup").fetchall() == [(1,)]


def _name_level(con: duckdb.DuckDBPyConnection) -> str:
    for step in (lookup_step(), compare_step(SPEC)):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    return str(con.execute("SELECT name_level FROM compared").fetchall()[0][0])


def _veto(levels: dict[str, str]) -> int:
    con = duckdb.connect()
    cols = ", ".join(f"'{levels[c]}' AS {c}" for c in LEVEL_COLUMNS)
    return int(con.execute(f"SELECT {veto_sql(SPEC)} FROM (SELECT {cols})").fetchall()[0][0])


SLIP = {
    "id_level": "ID_EXACT",
    "name_level": "NAME_GIVEN_TYPO",
    "dob_level": "DOB_EXACT",
    "sex_level": "SEX_SAME",
    "ward_level": "WARD_DIFFERS",
    "address_level": "ADDRESS_DIFFERS",
    "phone_level": "PHONE_DIFFERS",
}


def test_a_given_name_slip_links_only_with_the_full_birth_date_and_the_number_or_the_home() -> None:
    assert _veto(SLIP) == 0
    for strong_id in ("ID_LOST_ZERO", "ID_OLD_CMND"):
        assert _veto({**SLIP, "id_level": strong_id}) == 0
    # Any birth-date slip besides: a sibling's or a parent's record may look so.
    for dob in ("DOB_TYPO", "DOB_NEAR", "DOB_YEAR_NEAR", "DOB_SAME_YEAR", "DOB_YEAR_ONLY", "DOB_DIFFERENT"):
        assert _veto({**SLIP, "dob_level": dob}) == 1, dob
    # Day and month swapped in the same year: with the number, a slip of the record's too.
    assert _veto({**SLIP, "dob_level": "DOB_DAY_MONTH_SWAPPED"}) == 0
    # The number carries the sex: with it and the full birth date, a sex that differs is the record's slip.
    assert _veto({**SLIP, "sex_level": "SEX_DIFFERS"}) == 0
    assert _veto({**SLIP, "sex_level": "SEX_DIFFERS", "dob_level": "DOB_DAY_MONTH_SWAPPED"}) == 1
    no_id = {**SLIP, "id_level": "ID_MISSING"}
    assert _veto(no_id) == 1
    for weak_id in ("ID_TYPO", "ID_OF_OTHER_PERSON", "ID_UNKNOWN_SAME_PREFIX"):
        assert _veto({**SLIP, "id_level": weak_id}) == 1, weak_id
    # The number of another member of the household names the house, as the house does.
    for home in (
        {"address_level": "ADDRESS_SAME"},
        {"phone_level": "PHONE_SAME"},
        {"ward_level": "WARD_SAME"},
        {"id_level": "ID_OF_HOUSEHOLD_MEMBER"},
    ):
        assert _veto({**no_id, **home}) == 0, home
        assert _veto({**no_id, **home, "sex_level": "SEX_DIFFERS"}) == 1, home
    assert _veto({**no_id, "address_level": "ADDRESS_SAME_STREET"}) == 1
    assert _veto({**no_id, "phone_level": "PHONE_OF_HOUSEHOLD"}) == 1
    # The house or the own phone, and the same sex, vouch for a birth date as far as it is known (its year
    # where one side says no more) or a slip from it; the ward does not, nor a date of another year.
    for dob in ("DOB_YEAR_ONLY", "DOB_DAY_MONTH_SWAPPED", "DOB_TYPO", "DOB_NEAR"):
        for home in (
            {"address_level": "ADDRESS_SAME"},
            {"phone_level": "PHONE_SAME"},
            {"id_level": "ID_OF_HOUSEHOLD_MEMBER"},
        ):
            assert _veto({**no_id, **home, "dob_level": dob}) == 0, (dob, home)
            assert _veto({**no_id, **home, "dob_level": dob, "sex_level": "SEX_MISSING"}) == 1, (dob, home)
        assert _veto({**no_id, "ward_level": "WARD_SAME", "dob_level": dob}) == 1, dob
    for dob in ("DOB_YEAR_NEAR", "DOB_SAME_YEAR", "DOB_DIFFERENT", "DOB_MISSING"):
        assert (
            _veto({**no_id, "address_level": "ADDRESS_SAME", "phone_level": "PHONE_SAME", "dob_level": dob})
            == 1
        )


def test_a_given_name_slip_does_not_lift_a_birth_date_veto() -> None:
    # The number and the name up to its writing override a birth-date disagreement; a slip in the given name
    # is not "the name up to its writing".
    assert _veto({**SLIP, "name_level": "NAME_EXACT", "dob_level": "DOB_DIFFERENT"}) == 0
    assert _veto({**SLIP, "dob_level": "DOB_DIFFERENT"}) == 1


def test_no_birth_date_is_lifted_by_the_number_and_the_name_only() -> None:
    assert _veto({**SLIP, "name_level": "NAME_EXACT", "dob_level": "DOB_MISSING"}) == 0
    # The name, the phone and the ward without a number: not without a person.
    home = {"ward_level": "WARD_SAME", "address_level": "ADDRESS_SAME", "phone_level": "PHONE_SAME"}
    no_number = {**SLIP, **home, "id_level": "ID_MISSING", "name_level": "NAME_EXACT"}
    assert _veto({**no_number, "dob_level": "DOB_EXACT"}) == 0
    assert (
        _veto(
            {
                **no_number,
                "ward_level": "WARD_SAME",
                "address_level": "ADDRESS_DIFFERS",
                "dob_level": "DOB_MISSING",
            }
        )
        == 1
    )
    # The whole name at the citizen's house and on the citizen's own phone names the person as the number does:
    # a missing birth date, or one astray within its year, is the record's slip. Each part is needed.
    for dob in ("DOB_MISSING", "DOB_SAME_YEAR"):
        assert _veto({**no_number, "dob_level": dob}) == 0, dob
        assert _veto({**no_number, "dob_level": dob, "name_level": "NAME_DIACRITICS"}) == 0, dob
        for breaker in (
            {"address_level": "ADDRESS_SAME_STREET"},
            {"phone_level": "PHONE_OF_HOUSEHOLD"},
            {"sex_level": "SEX_MISSING"},
            {"name_level": "NAME_ORDER"},
            {"id_level": "ID_OF_OTHER_PERSON"},
            {"id_level": "ID_OF_HOUSEHOLD_MEMBER"},
        ):
            assert _veto({**no_number, "dob_level": dob, **breaker}) == 1, (dob, breaker)
    # A date of another year with a relative's name, house and phone is the relative's: not lifted.
    assert _veto({**no_number, "dob_level": "DOB_DIFFERENT"}) == 1


def test_a_birth_date_a_generation_apart_is_never_overridden() -> None:
    # A parent's number and name on a child's dose: everything but the date agrees with the parent.
    assert _veto({**SLIP, "name_level": "NAME_EXACT", "dob_level": "DOB_OTHER_GENERATION"}) == 1


def _pairs_found(con: duckdb.DuckDBPyConnection) -> set[tuple[int, int]]:
    for step in steps(SPEC):
        if step.name in ("compared", "scored"):
            break
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    return {
        (int(r), int(c))
        for r, c in con.execute(
            "SELECT m.rec_id, p.citizen_id FROM pairs p JOIN rec_map m ON m.ident_id = p.ident_id"
        ).fetchall()
    }


def test_a_record_without_number_or_ward_is_searched_in_the_batch_province() -> None:
    con = duckdb.connect()
    _register(con)
    _records(
        con,
        [
            # No number, no ward, a slip in the given name: only the province-scoped rules can find it.
            {"full_name": "Phan Minh Sỹỹ", "date_of_birth": "15/03/1990"},
            # Letters swapped in the given name, nothing else to go by.
            {"full_name": "Phan Minh Sỹ", "date_of_birth": "15/03/1990", "ward_code": "26560"},
            {"full_name": "Bùi Thị Thúy", "date_of_birth": "15/03/1990", "ward_code": "26560"},
            {"full_name": "Bùi Thị Tuhý", "date_of_birth": "15/03/1990"},
        ],
    )
    provinces = con.execute(
        "SELECT m.rec_id, i.province FROM rec_ident i JOIN rec_map m USING (ident_id) ORDER BY 1"
    ).fetchall()
    batch_province = provinces[1][1]
    assert batch_province is not None
    assert provinces == [(1, batch_province), (2, batch_province), (3, batch_province), (4, batch_province)]
    found = _pairs_found(con)
    assert (1, 1) in found  # the family and middle names with the birth date, in the province
    assert (4, 2) in found  # the name's letters with the birth date


def test_no_province_at_all_stays_none() -> None:
    con = duckdb.connect()
    _register(con)
    _records(con, [{"full_name": "Phan Minh Sỹ", "date_of_birth": "15/03/1990"}])
    assert con.execute("SELECT province FROM rec_ident").fetchall() == [(None,)]


def _lifted_only_by_the_number_the_full_birth_date_and_the_same_sex(
    name_level: str, dates: tuple[str, ...]
) -> None:
    """`name_level` is lifted by the citizen's own number (or its lost zero, or the old CMND) with the full birth
    date and the same sex, and by nothing less: not by a slip of the number, a birth date `dates` or missing
    sex, nor by the home in the number's place."""
    other = {**SLIP, "name_level": name_level}
    assert _veto(other) == 0
    for strong_id in ("ID_LOST_ZERO", "ID_OLD_CMND"):
        assert _veto({**other, "id_level": strong_id}) == 0
    breakers = [
        {"id_level": "ID_MISSING"},
        {"id_level": "ID_TYPO"},
        {"id_level": "ID_OF_HOUSEHOLD_MEMBER"},
        *({"dob_level": d} for d in dates),
        {"sex_level": "SEX_MISSING"},
        {"sex_level": "SEX_DIFFERS"},
    ]
    for breaker in breakers:
        assert _veto({**other, **breaker}) == 1, breaker
    home = {"address_level": "ADDRESS_SAME", "phone_level": "PHONE_SAME", "ward_level": "WARD_SAME"}
    assert _veto({**other, **home, "id_level": "ID_MISSING"}) == 1


def test_a_given_name_nobody_of_the_household_carries_is_lifted_only_by_the_number_and_the_full_birth_date() -> (
    None
):
    _lifted_only_by_the_number_the_full_birth_date_and_the_same_sex(
        "NAME_GIVEN_OTHER", ("DOB_TYPO", "DOB_YEAR_ONLY", "DOB_DAY_MONTH_SWAPPED")
    )
    # A name of the household (a twin's) is never lifted.
    assert _veto({**SLIP, "name_level": "NAME_GIVEN_DIFFERS"}) == 1


def test_a_name_of_the_other_sex_is_lifted_only_by_the_number_the_full_birth_date_and_the_same_sex() -> None:
    # Thị on a man's record, Văn on a woman's: a relative's name written in the person's place.
    _lifted_only_by_the_number_the_full_birth_date_and_the_same_sex(
        "NAME_OTHER_SEX", ("DOB_TYPO", "DOB_YEAR_ONLY", "DOB_SAME_YEAR")
    )


def test_a_name_not_read_as_the_citizen_s_is_lifted_only_by_the_number_the_full_birth_date_and_the_same_sex() -> (
    None
):
    # Garbled past every slip the levels read, or another person's name, where no twin of the citizen is.
    _lifted_only_by_the_number_the_full_birth_date_and_the_same_sex(
        "NAME_UNRECOGNISED", ("DOB_TYPO", "DOB_NEAR", "DOB_YEAR_ONLY", "DOB_SAME_YEAR", "DOB_MISSING")
    )
    # Where a twin is, never.
    assert _veto({**SLIP, "name_level": "NAME_DIFFERENT"}) == 1

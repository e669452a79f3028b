"""Blocking rules at national scale: the rules that forgive part of a birth date or of a name are scoped to
the province of residence and capped; the rules on numbers and on the whole name with the exact date stay
national. The pair estimate the guard and the partitioning rely on is exact for every rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from vaxlink.domain.admin_units import admin_units
from vaxlink.matching.blocking import DEFAULT_BLOCKING
from vaxlink.matching.levels import BlockingRule
from vaxlink.matching.pipeline import blocking_steps, pair_estimate_sql
from vaxlink.matching.prepare import prepare_inputs, prepare_records, prepare_register
from vaxlink.matching.spec import MatchSpec
from vaxlink.simulation import simulate
from vaxlink.simulation.inputs import matcher_inputs

BA_RIA = "26560"  # a legacy ward of Bà Rịa–Vũng Tàu (77), in Hồ Chí Minh City (79) since July 2025
HA_NOI = "00004"  # Phường Ba Đình, Hà Nội (01)


def _rule(name: str) -> BlockingRule:
    return next(r for r in DEFAULT_BLOCKING if r.name == name)


def _pairs(con: duckdb.DuckDBPyConnection, rule: BlockingRule) -> set[tuple[int, int]]:
    before, select = blocking_steps(rule)
    for step in before:
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    return {(int(a), int(b)) for a, b in con.execute(select).fetchall()}


def test_ward_provinces_follow_the_2025_provinces() -> None:
    wp = admin_units().ward_provinces()
    assert wp[BA_RIA] == "79"
    assert wp[HA_NOI] == "01"
    assert len(set(wp.values())) == 34


def test_province_scoped_rules_are_the_ones_that_forgive() -> None:
    scoped = {r.name for r in DEFAULT_BLOCKING if "province" in r.keys}
    national = {r.name for r in DEFAULT_BLOCKING} - scoped
    assert {"id", "old_id", "name_dob", "sorted_name_dob"} <= national
    assert {"name_year_month", "name_year_day", "name_month_day", "given_dob", "family_middle_dob"} <= scoped
    assert {"name_lunar_first", "name_lunar_last"} <= scoped
    # Every scoped rule is capped: a province of 14 M people must not make a common name a hopeless block.
    assert all(r.max_citizens_per_key for r in DEFAULT_BLOCKING if r.name in scoped)


@pytest.fixture()
def small() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    reg = pa.table(
        {
            "citizen_id": pa.array([1, 2], pa.int64()),
            "personal_id": ["077080000111", "001080000222"],
            "full_name": ["Trần Văn Bình", "Đỗ Thị Mai"],
            "birth_date": pa.array([pa.scalar(3784, pa.date32()).as_py()] * 2, pa.date32()),  # 1980-05-12
            "birth_precision": ["day", "day"],
            "birth_year": pa.array([1980, 1980], pa.int32()),
            "sex": ["M", "F"],
            "current_ward_code": [BA_RIA, HA_NOI],
            "permanent_ward_code": [BA_RIA, HA_NOI],
            "phone": [None, None],
            "household_id": ["H1", "H2"],
        }
    )
    con.register("reg_in", reg)
    con.register("alias_in", pa.table({"citizen_id": pa.array([], pa.int64()), "alias": [], "kind": []}))
    prepare_register(con, "reg_in", "alias_in")
    recs = pa.table(
        {
            "rec_id": pa.array([1, 2, 3, 4], pa.int64()),
            "full_name": ["Trần Văn Bình"] * 4,
            # A day typo at home; the same typo in Hà Nội; the exact date in Hà Nội; the typo, no ward.
            "date_of_birth": ["13/05/1980", "13/05/1980", "12/05/1980", "13/05/1980"],
            "sex": ["Nam"] * 4,
            "id_number": [None] * 4,
            "phone": [None] * 4,
            "ward_code": [BA_RIA, HA_NOI, HA_NOI, None],
        }
    )
    con.register("rec_in", recs)
    prepare_records(con, "rec_in")
    return con


def _ident(con: duckdb.DuckDBPyConnection, rec_id: int) -> int:
    return int(con.execute("SELECT ident_id FROM rec_map WHERE rec_id = ?", [rec_id]).fetchall()[0][0])


def test_a_typo_is_forgiven_within_the_province_only(small: duckdb.DuckDBPyConnection) -> None:
    typo_home, typo_away, exact_away, typo_nowhere = (_ident(small, i) for i in (1, 2, 3, 4))
    day_typo = _pairs(small, _rule("name_year_month"))
    assert (typo_home, 1) in day_typo
    assert not {p for p in day_typo if p[0] in (typo_away, typo_nowhere)}
    # Vaccinated away from home with the right birth date: found by a national rule.
    assert (exact_away, 1) in _pairs(small, _rule("name_dob"))


def test_a_lunar_birth_date_finds_the_citizen_in_the_province(small: duckdb.DuckDBPyConnection) -> None:
    # Trần Văn Bình, born 12 May 1980 in Bà Rịa; records without a number, the birth date 19 and 51 days
    # before (the lunar calendar's lag), three months before, 20 days after, and 19 days before in Hà Nội;
    # and 19 days before with a 12-digit number (another's), which the rules on numbers find, or with an old
    # CMND (the register may not know it).
    # (The rules pair by the month the lag reaches; the level counts the days.)
    recs = pa.table(
        {
            "rec_id": pa.array([11, 12, 13, 14, 15, 16, 17], pa.int64()),
            "full_name": ["TRAN VAN BINH"] * 7,
            "date_of_birth": [
                "23/04/1980",
                "22/03/1980",
                "10/02/1980",
                "01/06/1980",
                "23/04/1980",
                "23/04/1980",
                "23/04/1980",
            ],
            "sex": ["Nam"] * 7,
            "id_number": [None] * 5 + ["077080000999", "273000111"],
            "phone": [None] * 7,
            "ward_code": [BA_RIA, BA_RIA, BA_RIA, BA_RIA, HA_NOI, BA_RIA, BA_RIA],
        }
    )
    small.register("rec_lunar", recs)
    prepare_records(small, "rec_lunar")
    found = _pairs(small, _rule("name_lunar_first")) | _pairs(small, _rule("name_lunar_last"))
    near, far, too_far, after, away, numbered, cmnd = (_ident(small, i) for i in (11, 12, 13, 14, 15, 16, 17))
    assert {(near, 1), (far, 1)} <= found
    assert not {p for p in found if p[0] in (too_far, after, away)}
    # The same lag with a 12-digit number: the number's rules, not these; with an old CMND, these.
    assert len({near, numbered, cmnd}) == 3
    assert not {p for p in found if p[0] == numbered}
    assert (cmnd, 1) in found
    # Neither is found by another rule.
    others = set().union(*(_pairs(small, r) for r in DEFAULT_BLOCKING if not r.name.startswith("name_lunar")))
    assert not {p for p in others if p[0] in (near, far)}


def test_the_cap_drops_only_crowded_keys(small: duckdb.DuckDBPyConnection) -> None:
    rule = _rule("name_year_month")
    assert _pairs(small, BlockingRule(rule.name, rule.keys, 1))
    small.execute(
        "INSERT INTO reg SELECT * REPLACE (citizen_id + 100 AS citizen_id) FROM reg WHERE citizen_id = 1"
    )
    assert not _pairs(small, BlockingRule(rule.name, rule.keys, 1))
    assert _pairs(small, BlockingRule(rule.name, rule.keys, 2))


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    data: Path = tmp_path_factory.mktemp("sim")
    simulate(data, province="77", citizens=3000, seed=11, file_format="parquet")
    con = duckdb.connect()
    prepare_inputs(con, *matcher_inputs(data))
    return con


def _exact_pairs(con: duckdb.DuckDBPyConnection, rule: BlockingRule) -> set[tuple[int, int]]:
    """The rule's pairs by its definition, on the key columns themselves: every key equal and not blank,
    each side's filter, and a key shared by more citizens than the cap pairs nobody."""
    side = "reg_alias" if rule.keys == ("id9",) else "reg"
    sides = rule.sides()
    blank_r = " AND ".join(f"r.{a} IS NOT NULL AND CAST(r.{a} AS VARCHAR) <> ''" for a, _ in sides)
    blank_c = " AND ".join(f"c.{b} IS NOT NULL AND CAST(c.{b} AS VARCHAR) <> ''" for _, b in sides)
    rf = f" AND ({rule.record_filter})" if rule.record_filter else ""
    cf = f" AND ({rule.citizen_filter})" if rule.citizen_filter else ""
    on = " AND ".join(f"r.{a} = c.{b}" for a, b in sides)
    capped = ""
    if rule.max_citizens_per_key is not None:
        cols = ", ".join(f"c.{b}" for _, b in sides)
        same = " AND ".join(f"k.{b} = c.{b}" for _, b in sides)
        capped = f"""AND EXISTS (SELECT 1 FROM (SELECT {cols} FROM {side} c WHERE {blank_c}{cf}
                     GROUP BY {cols} HAVING count(*) <= {rule.max_citizens_per_key}) k WHERE {same})"""
    # The household, given name and birth date of whoever holds the record's number, or its old CMND.
    holder = """coalesce((SELECT min(h.citizen_id) FROM reg h WHERE h.id12 = i.id12),
                         (SELECT min(a.citizen_id) FROM reg_alias a WHERE a.id9 = i.id9))"""
    records = f"""(SELECT i.*, (SELECT h.household_id FROM reg h WHERE h.citizen_id = {holder}) AS id_household,
                         (SELECT h.given_key FROM reg h WHERE h.citizen_id = {holder}) AS holder_given_key,
                         (SELECT h.dob FROM reg h WHERE h.citizen_id = {holder}) AS holder_dob
                  FROM rec_ident i)"""
    sql = f"""SELECT r.ident_id, c.citizen_id FROM {records} r JOIN {side} c ON {on}
              WHERE {blank_r}{rf} AND {blank_c}{cf} {capped}"""
    return {(int(a), int(b)) for a, b in con.execute(sql).fetchall()}


@pytest.mark.parametrize("rule", MatchSpec().blocking, ids=lambda r: r.name)
def test_the_estimate_is_the_pairs_each_rule_generates(province: duckdb.DuckDBPyConnection, rule) -> None:
    """The pairs joined on hashed keys are the pairs of the keys themselves, and the estimate counts them."""
    generated = _pairs(province, rule)
    assert generated == _exact_pairs(province, rule)
    assert _estimate(province, rule) == len(generated)
    if rule.name in ("name_dob", "given_dob", "name_year_month", "id_household_given", "id_household_dob"):
        assert generated, "the simulated province gives these rules pairs to check"


def _estimate(con: duckdb.DuckDBPyConnection, rule: BlockingRule) -> int:
    for step in blocking_steps(rule)[0]:
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    return int(con.execute(pair_estimate_sql(rule)).fetchall()[0][0])


@pytest.fixture()
def imprecise() -> duckdb.DuckDBPyConnection:
    """Citizens 1 (known to the year) and 2 (to the day) named Lê Văn Tư, 3 and 4 without a middle name; records
    of Lê Văn Tư with the full date and with the year only, and of Trần Bình."""
    con = duckdb.connect()
    reg = pa.table(
        {
            "citizen_id": pa.array([1, 2, 3, 4], pa.int64()),
            "personal_id": ["077040000001", "077040000002", "077080000003", "077080000004"],
            "full_name": ["Lê Văn Tư", "Lê Văn Tư", "Trần Bình", "Trần Thị Bình"],
            "birth_date": pa.array(
                [date(1940, 1, 1), date(1940, 5, 12), date(1980, 5, 12), date(1980, 5, 12)]
            ),
            "birth_precision": ["year", "day", "day", "day"],
            "birth_year": pa.array([1940, 1940, 1980, 1980], pa.int32()),
            "sex": ["M", "M", "M", "F"],
            "current_ward_code": [BA_RIA] * 4,
            "permanent_ward_code": [BA_RIA] * 4,
            "phone": [None] * 4,
            "household_id": ["H1", "H2", "H3", "H4"],
        }
    )
    con.register("reg_in", reg)
    con.register("alias_in", pa.table({"citizen_id": pa.array([], pa.int64()), "alias": [], "kind": []}))
    prepare_register(con, "reg_in", "alias_in")
    recs = pa.table(
        {
            "rec_id": pa.array([1, 2, 3], pa.int64()),
            "full_name": ["Lê Văn Tư", "Lê Văn Tư", "Trần Bình"],
            "date_of_birth": ["12/05/1940", "1940", "12/05/1980"],
            "sex": ["Nam"] * 3,
            "id_number": [None] * 3,
            "phone": [None] * 3,
            "ward_code": [BA_RIA] * 3,
        }
    )
    con.register("rec_in", recs)
    prepare_records(con, "rec_in")
    return con


def test_the_imprecise_rules_pair_only_the_dates_known_to_the_year(
    imprecise: duckdb.DuckDBPyConnection,
) -> None:
    full, year = _ident(imprecise, 1), _ident(imprecise, 2)
    # The record's date is the imprecise one: its year meets both namesakes.
    record_side = _rule("name_year_record_imprecise")
    assert _pairs(imprecise, record_side) == {(year, 1), (year, 2)}
    # The citizen's date is the imprecise one: both records meet the citizen known to the year only.
    citizen_side = _rule("name_year_citizen_imprecise")
    assert _pairs(imprecise, citizen_side) == {(full, 1), (year, 1)}
    assert _estimate(imprecise, record_side) == 2
    assert _estimate(imprecise, citizen_side) == 2


def test_a_blank_key_pairs_nobody(imprecise: duckdb.DuckDBPyConnection) -> None:
    full, binh = _ident(imprecise, 1), _ident(imprecise, 3)
    # Trần Bình has no middle name: the rule on the middle name pairs only Lê Văn Tư born the same day.
    assert _pairs(imprecise, _rule("family_middle_dob")) == {(full, 2)}
    assert _estimate(imprecise, _rule("family_middle_dob")) == 1
    assert _pairs(imprecise, _rule("family_given_dob")) == {(full, 2), (binh, 3), (binh, 4)}
    assert _estimate(imprecise, _rule("family_given_dob")) == 3
    # No record carries a number: the rules on numbers pair nobody, and the estimate says so.
    assert _pairs(imprecise, _rule("id")) == set()
    assert _estimate(imprecise, _rule("id")) == 0
    assert _pairs(imprecise, _rule("old_id")) == set()
    assert _estimate(imprecise, _rule("old_id")) == 0


def test_the_estimate_drops_the_crowded_keys_as_the_pairs_do(small: duckdb.DuckDBPyConnection) -> None:
    rule = _rule("name_year_month")
    one = BlockingRule(rule.name, rule.keys, 1)
    assert _estimate(small, one) == len(_pairs(small, one)) == 1
    small.execute(
        "INSERT INTO reg SELECT * REPLACE (citizen_id + 100 AS citizen_id) FROM reg WHERE citizen_id = 1"
    )
    assert _estimate(small, one) == len(_pairs(small, one)) == 0
    two = BlockingRule(rule.name, rule.keys, 2)
    assert _estimate(small, two) == len(_pairs(small, two)) == 2

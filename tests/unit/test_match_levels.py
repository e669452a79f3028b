"""Every comparison level with its near misses, through the real preparation and the spec's own SQL: a record
is compared with one named citizen and the level each field lands on is asserted. The tf weights are checked
against the formula written out here."""

from __future__ import annotations

import math
from datetime import date

import duckdb
import pyarrow as pa
import pytest

from vaxlink.domain.phones import national_phone, national_phone_sql, stored_phone_sql, usable_phone
from vaxlink.matching.pipeline import compare_step, lookup_step, score_step
from vaxlink.matching.prepare import prepare_records, prepare_register
from vaxlink.matching.spec import MatchSpec

SPEC = MatchSpec()
ADDR = "Số 12, Đường Lê Lợi, Phường Phước Trung, Thành phố Bà Rịa"
# citizen_id, personal_id, name, birth date, precision, sex, current ward, permanent ward, phone, household, address
CITIZENS = [
    (
        1,
        "077090001234",
        "Nguyễn Văn An",
        date(1990, 3, 15),
        "day",
        "M",
        "26560",
        "26560",
        "0901000001",
        "H1",
        ADDR,
    ),
    (
        2,
        "077190004321",
        "Nguyễn Thị Hòa",
        date(1990, 7, 2),
        "day",
        "F",
        "26554",
        "26560",
        "0901000002",
        "H1",
        ADDR,
    ),
    (
        3,
        "077203000111",
        "Trần Minh Khôi",
        date(2003, 1, 1),
        "year",
        "M",
        "26554",
        "26554",
        "+84 901 000 003",  # written internationally in the register
        "H2",
        "Tổ 5, Ấp Bắc",
    ),
    (4, "077185000555", "Lê Thị Mai", date(1985, 12, 31), "day", "F", "26554", "26554", None, "H3", None),
    # An's daughter, with no phone of her own.
    (5, "077315000666", "Nguyễn Thị Cúc", date(2015, 5, 5), "day", "F", "26560", "26560", None, "H1", ADDR),
    # Twins.
    (6, "077201000701", "Trần Văn Tâm", date(2001, 7, 7), "day", "M", "26554", "26554", None, "H4", None),
    (7, "077201000702", "Trần Văn Tân", date(2001, 7, 7), "day", "M", "26554", "26554", None, "H4", None),
]
BASE = {
    "name": "Nguyễn Văn An",
    "dob": "15/03/1990",
    "sex": "Nam",
    "id": "077090001234",
    "phone": "",
    "ward": "",
    "address": "",
}
# (field to change, value, citizen, comparison, expected level)
CASES = [
    ("id", "077090001234", 1, "id", "ID_EXACT"),
    ("id", "77090001234", 1, "id", "ID_LOST_ZERO"),
    ("id", "273456789", 1, "id", "ID_OLD_CMND"),
    ("id", "077190004321", 1, "id", "ID_OF_HOUSEHOLD_MEMBER"),  # Hòa's number, An's household
    ("id", "077185000555", 1, "id", "ID_OF_OTHER_PERSON"),  # Mai's number, another household
    ("id", "077090001235", 1, "id", "ID_TYPO"),
    ("id", "077090001243", 1, "id", "ID_TRANSPOSED"),
    ("id", "077090001335", 1, "id", "ID_UNKNOWN_SAME_PREFIX"),  # two digits off: not a typo
    ("id", "079091999999", 1, "id", "ID_DIFFERENT"),
    ("id", "", 1, "id", "ID_MISSING"),
    ("id", "B1234567", 1, "id", "ID_OTHER_DOCUMENT"),
    ("id", "123456780", 1, "id", "ID_CMND_OTHER"),  # An's own CMND on record is far from it
    ("id", "273456780", 1, "id", "ID_CMND_UNKNOWN"),  # An's own with one digit slipped
    ("id", "123456780", 2, "id", "ID_CMND_UNKNOWN"),  # Hòa has none on record
    ("id", "123456780", 3, "id", "ID_CMND_UNKNOWN"),  # Khôi has two: the register holds no one card of his
    ("name", "Nguyễn Văn An", 1, "name", "NAME_EXACT"),
    ("name", "NGUYEN VAN AN", 1, "name", "NAME_DIACRITICS"),
    ("name", "Nguyễn Văn Ấn", 1, "name", "NAME_MARKS_DIFFER"),
    ("name", "An Nguyễn Văn", 1, "name", "NAME_ORDER"),
    ("name", "Nguyễn An", 1, "name", "NAME_MIDDLE_DROPPED"),
    ("name", "Nguyễn Văn Aan", 1, "name", "NAME_TYPO"),
    ("name", "Nguyễn Văn Bình", 1, "name", "NAME_GIVEN_OTHER"),  # nobody of his household is Bình
    ("name", "Nguyễn Văn Bìn", 1, "name", "NAME_GIVEN_OTHER"),  # a typo of another given name
    ("name", "Trần Văn Lan", 1, "name", "NAME_UNRECOGNISED"),  # nobody of An's household born on his day
    ("name", "Lê Văn Hùng", 6, "name", "NAME_DIFFERENT"),  # Tâm's twin Tân is
    ("name", "Trần Thị Lan", 1, "name", "NAME_OTHER_SEX"),  # a woman's name on a man's record: a relative's
    ("dob", "15/03/1990", 1, "dob", "DOB_EXACT"),
    ("dob", "1990", 1, "dob", "DOB_YEAR_ONLY"),
    ("dob", "2003", 3, "dob", "DOB_YEAR_ONLY"),  # the register knows the year only
    ("dob", "07/02/1990", 2, "dob", "DOB_DAY_MONTH_SWAPPED"),
    ("dob", "07/03/1990", 2, "dob", "DOB_SAME_YEAR"),  # one side only: month = day, day <> month
    ("dob", "15/03/1991", 1, "dob", "DOB_TYPO"),
    ("dob", "14/03/1990", 1, "dob", "DOB_TYPO"),
    ("dob", "15/03/1980", 1, "dob", "DOB_TYPO"),  # ten years off: one digit
    ("dob", "01/01/1986", 4, "dob", "DOB_NEAR"),  # the next day, across the year's end
    ("dob", "15/03/1989", 1, "dob", "DOB_YEAR_NEAR"),  # a year off: two digits
    ("dob", "28/03/1990", 1, "dob", "DOB_SAME_YEAR"),  # two digits, thirteen days: neither
    ("dob", "20/06/1990", 1, "dob", "DOB_SAME_YEAR"),
    ("dob", "15/03/1992", 1, "dob", "DOB_TYPO"),
    ("dob", "15/03/1988", 1, "dob", "DOB_DIFFERENT"),  # two years off
    ("sex", "Nam", 1, "sex", "SEX_SAME"),
    ("sex", "Nữ", 1, "sex", "SEX_DIFFERS"),
    ("sex", "", 1, "sex", "SEX_MISSING"),
    ("ward", "26560", 1, "ward", "WARD_SAME"),
    ("ward", "26560", 2, "ward", "WARD_SAME"),  # the permanent ward
    ("ward", "26554", 1, "ward", "WARD_DIFFERS"),
    ("ward", "", 1, "ward", "WARD_MISSING"),
    ("address", "12 Lê Lợi, Phước Trung, Bà Rịa", 1, "address", "ADDRESS_SAME"),
    ("address", "so 12 duong le loi", 1, "address", "ADDRESS_SAME"),
    ("address", "15 Lê Lợi", 1, "address", "ADDRESS_SAME_STREET"),
    ("address", "12 Trần Hưng Đạo", 1, "address", "ADDRESS_DIFFERS"),
    ("address", "", 1, "address", "ADDRESS_MISSING"),
    ("address", "12 Lê Lợi", 4, "address", "ADDRESS_MISSING"),  # the register has none
    ("phone", "0901000001", 1, "phone", "PHONE_SAME"),
    ("phone", "+84 901 000 001", 1, "phone", "PHONE_SAME"),
    ("phone", "901000001", 1, "phone", "PHONE_SAME"),  # through a spreadsheet: the leading 0 lost
    ("phone", "0084 901 000 001", 1, "phone", "PHONE_SAME"),
    ("phone", "0901.000.003", 3, "phone", "PHONE_SAME"),  # the register's +84 901 000 003
    ("phone", "0901000002", 1, "phone", "PHONE_OF_HOUSEHOLD"),  # Hòa's phone, An's household
    ("phone", "0901000003", 1, "phone", "PHONE_DIFFERS"),  # another household's phone
    ("phone", "0901000001", 3, "phone", "PHONE_DIFFERS"),
    ("phone", "", 1, "phone", "PHONE_MISSING"),
    ("phone", "0901000001", 4, "phone", "PHONE_MISSING"),  # the register has no phone for her: no evidence
    ("phone", "0901000002", 5, "phone", "PHONE_OF_HOUSEHOLD"),  # none of her own; her mother Hòa's
]


@pytest.fixture(scope="module")
def compared() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    cols = list(zip(*CITIZENS, strict=True))
    reg = pa.table(
        {
            "citizen_id": pa.array(cols[0], pa.int64()),
            "personal_id": pa.array(cols[1], pa.string()),
            "full_name": pa.array(cols[2], pa.string()),
            "birth_date": pa.array(cols[3], pa.date32()),
            "birth_precision": pa.array(cols[4], pa.string()),
            "birth_year": pa.array([d.year for d in cols[3]], pa.int32()),
            "sex": pa.array(cols[5], pa.string()),
            "current_ward_code": pa.array(cols[6], pa.string()),
            "permanent_ward_code": pa.array(cols[7], pa.string()),
            "phone": pa.array(cols[8], pa.string()),
            "household_id": pa.array(cols[9], pa.string()),
            "address": pa.array(cols[10], pa.string()),
        }
    )
    con.register("reg_in", reg)
    # An's old CMND; Khôi has two on record (a card issued again), so neither is taken for his one.
    aliases = {
        "citizen_id": [1, 3, 3],
        "alias": ["273456789", "273000111", "275999222"],
        "kind": ["cmnd"] * 3,
    }
    con.register("alias_in", pa.table(aliases))
    prepare_register(con, "reg_in", "alias_in")
    rows = []
    for i, (field, value, *_rest) in enumerate(CASES):
        r = {**BASE, field: value}
        rows.append((i + 1, r["name"], r["dob"], r["sex"], r["id"], r["phone"], r["ward"], r["address"]))
    names = ("rec_id", "full_name", "date_of_birth", "sex", "id_number", "phone", "ward_code", "address")
    rec = pa.table(
        {n: [row[j] or None for row in rows] if j else [row[0] for row in rows] for j, n in enumerate(names)}
    )
    con.register("rec_in", rec)
    prepare_records(con, "rec_in")
    con.execute("CREATE TABLE pairs AS SELECT i.ident_id, c.citizen_id FROM rec_ident i CROSS JOIN reg c")
    for step in (lookup_step(), compare_step(SPEC), score_step(SPEC)):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    return con


@pytest.mark.parametrize("case", CASES, ids=[f"{c[3]}-{c[4]}-{c[1]}" for c in CASES])
def test_level(case: tuple, compared: duckdb.DuckDBPyConnection) -> None:
    i = CASES.index(case) + 1
    _field, _value, citizen, comparison, expected = case
    got = compared.execute(
        f"""SELECT x.{comparison}_level FROM compared x JOIN rec_map m ON m.ident_id = x.ident_id
        WHERE m.rec_id = ? AND x.citizen_id = ?""",
        [i, citizen],
    ).fetchall()
    assert got == [(expected,)]


def _weight(compared: duckdb.DuckDBPyConnection, case_index: int, citizen: int, comparison: str) -> float:
    return float(
        compared.execute(
            f"""SELECT s.w_{comparison} FROM scored s JOIN rec_map m ON m.ident_id = s.ident_id
            WHERE m.rec_id = ? AND s.citizen_id = ?""",
            [case_index + 1, citizen],
        ).fetchall()[0][0]
    )


def _tf_weight(level_name: str, comparison: str, n: int, total: int) -> float:
    c = SPEC.comparison(comparison)
    lv = c.level(level_name)
    share = (n + SPEC.tf_prior_citizens * lv.share) / (total + SPEC.tf_prior_citizens)
    return min(c.tf_max_weight, -math.log2(share) + math.log2(lv.m / lv.u))


def test_the_ward_weighs_by_its_share_of_the_register(compared: duckdb.DuckDBPyConnection) -> None:
    i = next(k for k, c in enumerate(CASES) if c[1] == "26560" and c[2] == 1)
    # Two of the seven citizens live in 26560 now.
    assert _weight(compared, i, 1, "ward") == pytest.approx(_tf_weight("WARD_SAME", "ward", 2, 7), abs=1e-5)
    j = next(k for k, c in enumerate(CASES) if c[4] == "WARD_DIFFERS")
    assert _weight(compared, j, 1, "ward") == pytest.approx(
        SPEC.comparison("ward").level("WARD_DIFFERS").weight, abs=1e-5
    )


def test_a_unique_number_weighs_by_the_register_size(compared: duckdb.DuckDBPyConnection) -> None:
    i = next(k for k, c in enumerate(CASES) if c[4] == "ID_EXACT")
    assert _weight(compared, i, 1, "id") == pytest.approx(_tf_weight("ID_EXACT", "id", 1, 7), abs=1e-5)


def test_tf_weights_are_capped() -> None:
    spec = MatchSpec()
    # A name carried by nobody else in a register of ten million: the cap, not more.
    assert _tf_weight("NAME_EXACT", "name", 1, 10**12) == spec.comparison("name").tf_max_weight


def test_missing_fields_weigh_nothing(compared: duckdb.DuckDBPyConnection) -> None:
    for k, c in enumerate(CASES):
        if c[4].endswith("_MISSING") or c[4] == "ID_OTHER_DOCUMENT":
            assert _weight(compared, k, c[2], c[3]) == 0.0, c


@pytest.mark.parametrize(
    ("written", "national"),
    [
        ("0901000001", "0901000001"),
        ("0901.000.001", "0901000001"),
        ("+84 901 000 001", "0901000001"),
        ("0084 901 000 001", "0901000001"),
        ("901000001", "0901000001"),  # a mobile's leading 0 lost
        ("356789012", "0356789012"),
        ("+84-90-100-0001 (nhà)", "0901000001"),
        ("\uff10\uff19\uff10\uff11 000 001", "000001"),  # ASCII digits only, as the SQL reads them
        ("2838221234", "02838221234"),  # a landline's leading 0 lost
        ("+84 28 3822 1234", "02838221234"),
        ("028 3822 1234", "02838221234"),
        ("101000001", "101000001"),  # no mobile begins with 1: kept
        ("1234567", "1234567"),
        ("8490100000", "8490100000"),  # 84 and too few digits: kept
        ("", ""),
    ],
)
def test_a_phone_is_read_in_its_national_form(written: str, national: str) -> None:
    """By the pages' function and by the matcher's SQL alike."""
    assert national_phone(written) == national
    con = duckdb.connect()
    digits = "regexp_replace(w, '[^0-9]', '', 'g')"
    sql = f"SELECT {national_phone_sql('d')} FROM (SELECT {digits} AS d FROM (SELECT ? AS w))"
    assert con.execute(sql, [written]).fetchall() == [(national,)]


# What is stored of a written phone: its national form, else that of the first number in it, else the text.
STORED_PHONES = {
    "0901000001": "0901000001",
    "+84 901 000 001": "0901000001",
    "901000001": "0901000001",
    "028 3822 1234": "02838221234",
    "0901 000 001 / 0902 000 002": "0901000001",
    "ĐT: 0901.000.001": "0901000001",
    "12345": "12345",
    "không": "không",
    "Nhà 12 - 0901000001": "Nhà 12 - 0901000001",  # "12 - 0901000001" is one run of digits: not a phone
}


@pytest.mark.parametrize(("written", "stored"), STORED_PHONES.items())
def test_the_register_stores_a_phone_in_its_national_form_or_as_written(written: str, stored: str) -> None:
    """What an import stores (SQL) is what an officer's correction stores (`usable_phone`), else the text."""
    con = duckdb.connect()
    assert con.execute(f"SELECT {stored_phone_sql('w')} FROM (SELECT ? AS w)", [written]).fetchall() == [
        (stored,)
    ]
    assert usable_phone(written) == (stored if stored[:1] == "0" else None)

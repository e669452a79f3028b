"""Prepare the two sides of a match on DuckDB: the register (`reg`, `reg_alias`) and the health identities (`rec`).

Everything the comparisons need is computed here once, with the domain's rules, so that the matching
steps themselves are plain portable SQL (the same text runs on DuckDB and, transpiled, on Spark).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection

from vaxlink.domain.admin_units import admin_units
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.sex import parse_sex
from vaxlink.matching.normalise import ID_SEPARATORS, map_distinct, name_table, personal_id_sql


def dob_parts(value: str) -> tuple[Any, ...]:
    d = parse_date(value)
    if isinstance(d, Problem) or not isinstance(d, PartialDate):
        return None, None, None, None, None
    return d.precision.value, d.year, d.month, d.day, d.iso()


DOB_SCHEMA = pa.schema(
    [
        ("precision", pa.string()),
        ("y", pa.int32()),
        ("m", pa.int32()),
        ("d", pa.int32()),
        ("iso", pa.string()),
    ]
)


def _dob_str(y: str, m: str, d: str) -> str:
    # 'YYYYMMDD' with zeros for unknown parts: compared position by position for one-digit typos.
    return (
        f"lpad(CAST({y} AS VARCHAR), 4, '0') || lpad(CAST(coalesce({m}, 0) AS VARCHAR), 2, '0') || "
        f"lpad(CAST(coalesce({d}, 0) AS VARCHAR), 2, '0')"
    )


def _ward_provinces(con: DuckDBPyConnection) -> None:
    """Table `ward_province` (ward, province): the 2025 province of every ward code, for the blocking rules
    scoped to a province."""
    wp = admin_units().ward_provinces()
    table = pa.table({"ward": list(wp), "province": list(wp.values())})
    con.register("_ward_province_in", table)
    con.execute("CREATE OR REPLACE TABLE ward_province AS SELECT * FROM _ward_province_in")
    con.unregister("_ward_province_in")


def prepare_register(con: DuckDBPyConnection, source: str, aliases: str) -> None:
    """`source`: citizen_id, personal_id, full_name, birth_date, birth_precision, birth_year, sex,
    current_ward_code, permanent_ward_code, phone, household_id. `aliases`: citizen_id, alias, kind."""
    name_table(con, f"SELECT full_name FROM {source}", "reg_names")
    _ward_provinces(con)
    y, m, d = "year(s.birth_date)", "month(s.birth_date)", "day(s.birth_date)"
    month = f"CASE WHEN s.birth_precision IN ('day', 'month') THEN {m} END"
    day = f"CASE WHEN s.birth_precision = 'day' THEN {d} END"
    con.execute(f"""CREATE OR REPLACE TABLE reg AS
        SELECT s.citizen_id, s.personal_id, n.canonical AS full_name, n.name_key, n.family_key, n.middle_key,
               n.given_key, n.sorted_key, n.name_sig, n.has_marks, s.birth_precision AS dob_precision, CAST({y} AS INTEGER) AS dob_year,
               CAST({month} AS INTEGER) AS dob_month, CAST({day} AS INTEGER) AS dob_day,
               {_dob_str(y, month, day)} AS dob_str,
               CASE WHEN s.birth_precision = 'day' THEN {_dob_str(y, m, d)} END AS dob,
               s.sex, s.current_ward_code AS ward, wp.province, s.permanent_ward_code AS home_ward,
               regexp_replace(coalesce(s.phone, ''), '[^0-9]', '', 'g') AS phone, s.household_id,
               s.personal_id AS id12, substr(s.personal_id, 1, 6) AS id_head, substr(s.personal_id, 7, 6) AS id_tail
        FROM {source} s JOIN reg_names n ON n.value = s.full_name
        LEFT JOIN ward_province wp ON wp.ward = s.current_ward_code""")
    con.execute(f"""CREATE OR REPLACE TABLE reg_alias AS
        SELECT DISTINCT citizen_id, alias AS id9 FROM {aliases} WHERE kind = 'cmnd'""")
    # Name frequencies, kept on each citizen: of the folded key (for agreements up to diacritics) and of
    # the exact canonical name (Hưng and Hùng fold alike; an exact agreement is judged by how common the
    # exact name is). reg_size holds the register's size for the prior.
    con.execute("""CREATE OR REPLACE TABLE reg AS
        SELECT *, count(*) OVER (PARTITION BY name_key) AS tf_key_n,
               count(*) OVER (PARTITION BY full_name) AS tf_exact_n,
               count(*) OVER (PARTITION BY ward) AS tf_ward_n FROM reg""")
    con.execute("CREATE OR REPLACE TABLE reg_size AS SELECT count(*) AS total FROM reg")


def _phone(digits: str) -> str:
    """`digits`: the phone's digits; +84 91... and 091... are the same number."""
    return f"CASE WHEN {digits} LIKE '84%' AND length({digits}) = 11 THEN '0' || substr({digits}, 3) ELSE {digits} END"


def prepare_records(con: DuckDBPyConnection, source: str) -> None:
    """`source`: rec_id plus the health record's identity fields as text: full_name, date_of_birth, sex,
    id_number, phone, ward_code. Builds `rec_ident` (one row per distinct identity) and `rec_map`
    (rec_id → ident_id): a person's several doses usually carry the same identity and are matched once."""
    name_table(con, f"SELECT full_name FROM {source}", "rec_names")
    map_distinct(con, f"SELECT date_of_birth FROM {source}", dob_parts, DOB_SCHEMA, "rec_dobs")
    map_distinct(
        con,
        f"SELECT sex FROM {source}",
        lambda v: (None if (s := parse_sex(v)) is None else s.value,),
        pa.schema([("sex", pa.string())]),
        "rec_sexes",
    )
    # Spreadsheets turn numbers into floats: '77090001234.0' is the number 77090001234.
    clean = f"regexp_replace(regexp_replace(coalesce(value, ''), '{ID_SEPARATORS}', '', 'g'), '\\.0+$', '')"
    p12 = personal_id_sql("digits", cleaned=True)
    # A spreadsheet drops the leading zeros of a number: one for most provinces, two for 001-009.
    padded = personal_id_sql("lpad(digits, 12, '0')", cleaned=True)
    con.execute(f"""CREATE OR REPLACE TABLE rec_ids AS
        SELECT value, digits,
          CASE WHEN digits = '' THEN 'empty'
               WHEN ({p12["problem"]}) IS NULL THEN 'personal_id'
               WHEN regexp_full_match(digits, '[0-9]{{10,11}}') AND ({padded["problem"]}) IS NULL THEN 'lost_zero'
               WHEN regexp_full_match(digits, '[0-9]{{9}}') THEN 'cmnd'
               ELSE 'other' END AS kind
        FROM (SELECT value, {clean} AS digits FROM (SELECT DISTINCT id_number AS value FROM {source}
              WHERE id_number IS NOT NULL))""")
    con.execute(f"""CREATE OR REPLACE TABLE rec_norm AS
        SELECT s.rec_id, n.canonical AS full_name, n.name_key, n.family_key, n.middle_key, n.given_key,
               n.sorted_key, n.name_sig, n.has_marks,
               d.precision AS dob_precision, d.y AS dob_year, d.m AS dob_month, d.d AS dob_day,
               CASE WHEN d.y IS NOT NULL THEN {_dob_str("d.y", "d.m", "d.d")} END AS dob_str,
               CASE WHEN d.precision = 'day' THEN {_dob_str("d.y", "d.m", "d.d")} END AS dob,
               x.sex,
               nullif(regexp_replace(coalesce(s.ward_code, ''), '[^0-9]', '', 'g'), '') AS ward_raw,
               nullif({_phone("s.phone_digits")}, '') AS phone,
               coalesce(i.kind, 'empty') AS id_kind,
               CASE WHEN i.kind = 'personal_id' THEN i.digits WHEN i.kind = 'lost_zero' THEN lpad(i.digits, 12, '0') END
                 AS id12,
               CASE WHEN i.kind = 'cmnd' THEN i.digits END AS id9
        FROM (SELECT *, regexp_replace(phone, '[^0-9]', '', 'g') AS phone_digits FROM {source}) s
        LEFT JOIN rec_names n ON n.value = s.full_name
        LEFT JOIN rec_dobs d ON d.value = s.date_of_birth
        LEFT JOIN rec_sexes x ON x.value = s.sex
        LEFT JOIN rec_ids i ON i.value = s.id_number""")
    ident_cols = ("full_name", "dob_str", "dob_precision", "sex", "ward", "phone", "id_kind", "id12", "id9")
    key = "md5(concat_ws('|', " + ", ".join(f"coalesce(CAST({c} AS VARCHAR), '~')" for c in ident_cols) + "))"
    con.execute(f"""CREATE OR REPLACE TABLE rec_keyed AS
        SELECT *, {key} AS ident_key FROM (
          SELECT * EXCLUDE (ward_raw), CASE WHEN length(ward_raw) <= 5 THEN lpad(ward_raw, 5, '0') END AS ward
          FROM rec_norm)""")
    # One representative row per identity (the first record carrying it): a join on a number, not an
    # aggregate over every column.
    _ward_provinces(con)
    con.execute("""CREATE OR REPLACE TABLE rec_ident AS
        SELECT row_number() OVER (ORDER BY f.first_rec) AS ident_id, k.* EXCLUDE (rec_id),
               substr(k.id12, 1, 6) AS id_head, substr(k.id12, 7, 6) AS id_tail, wp.province
        FROM (SELECT ident_key, min(rec_id) AS first_rec FROM rec_keyed GROUP BY ident_key) f
        JOIN rec_keyed k ON k.rec_id = f.first_rec
        LEFT JOIN ward_province wp ON wp.ward = k.ward""")
    con.execute("""CREATE OR REPLACE TABLE rec_map AS
        SELECT k.rec_id, i.ident_id FROM rec_keyed k JOIN rec_ident i USING (ident_key)""")

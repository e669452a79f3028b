"""Prepare the two sides of a match on DuckDB: the register (`reg`, `reg_alias`, ...) and the health identities
(`rec_ident`, `rec_map`); `tables.py` names every table a match shares.

Everything the comparisons need is computed here once, with the domain's rules, so that the matching
steps themselves are plain portable SQL (the same text runs on DuckDB and, transpiled, on Spark).
"""

from __future__ import annotations

import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from duckdb import DuckDBPyConnection

from vaxlink.domain.addresses import address_key
from vaxlink.domain.admin_units import admin_units, units_digest
from vaxlink.domain.dates import VACCINEE_AGES, PartialDate, parse_birth_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.phones import national_phone_sql
from vaxlink.domain.sex import parse_sex
from vaxlink.matching.normalise import ID_SEPARATORS, map_distinct, name_table, personal_id_sql
from vaxlink.matching.tables import (
    REC_IDENT,
    REC_MAP,
    REG,
    REG_GIVEN_NAMES,
    REG_HOUSEHOLD_NAMES,
    REG_SIZE,
    exists,
)


def dob_parts(value: str, dose_on: date | None = None) -> tuple[Any, ...]:
    """A record's birth date in parts (precision, year, month, day, ISO); read on `dose_on`, the day of its
    dose, when its year has two digits (`parse_birth_date`)."""
    d = parse_birth_date(value, dose_on=dose_on)
    if isinstance(d, Problem) or not isinstance(d, PartialDate):
        return None, None, None, None, None
    return d.precision.value, d.year, d.month, d.day, d.iso()


def _dob_parts_on(keyed: str) -> tuple[Any, ...]:
    """`dob_parts` of `text || chr(31) || ISO day of the dose` (the keys of `rec_dobs_on`)."""
    text, _, day = keyed.rpartition("\x1f")
    return dob_parts(text, date.fromisoformat(day))


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


ADDRESS_SCHEMA = pa.schema([("house", pa.string()), ("street", pa.string())])


def _address_table(con: DuckDBPyConnection, source: str, target: str) -> str:
    """`target` (value, house, street) for the source's addresses; the SQL giving a row's address (NULL
    when the source has no address column: older callers and files without one)."""
    expr = _column_or_null(con, source, "address")
    map_distinct(
        con,
        f"SELECT {expr} FROM {source} s",
        lambda v: ((k := address_key(v)).house, k.street),
        ADDRESS_SCHEMA,
        target,
    )
    return expr


def _column_or_null(con: DuckDBPyConnection, source: str, column: str) -> str:
    """`s.{column}` when the source has it, else a NULL of text: the optional columns of older callers."""
    has = any(str(r[0]).lower() == column for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall())
    return f"s.{column}" if has else "CAST(NULL AS VARCHAR)"


# A birth date written in the lunar calendar (as many of the elderly know theirs) reads as a solar date this
# many days before the real one: the lunar year begins between 21 January and 20 February, so its months run
# some three to seven weeks behind the solar ones.
LUNAR_DAYS = range(19, 52)


def _lunar_month(p: str, y: str, m: str, d: str, days: int) -> str:
    """The year and month (YYYYMM) of the solar date `days` after a full birth date read as lunar: the month
    the citizen's real birth date falls in, at one end of `LUNAR_DAYS` (the blocking's key, `dob_ym`)."""
    later = f"make_date({y}, {m}, {d}) + INTERVAL {days} DAY"
    return f"CASE WHEN {p} = 'day' THEN CAST(year({later}) * 100 + month({later}) AS INTEGER) END"


def _days(y: str, m: str, d: str) -> str:
    """Days since 1970-01-01 of a full date (portable: no engine's date type is needed by the steps)."""
    return f"CAST(date_diff('day', DATE '1970-01-01', make_date({y}, {m}, {d})) AS INTEGER)"


# The tables `unit_tables` makes from the administrative units, with their columns.
UNIT_TABLES = {
    "ward_province": pa.schema([("ward", pa.string()), ("province", pa.string())]),
    "ward_targets": pa.schema([("ward", pa.string()), ("targets", pa.list_(pa.string()))]),
}


def _unit_arrow() -> dict[str, pa.Table]:
    units = admin_units()
    wp, wt = units.ward_provinces(), units.ward_targets()
    return {
        "ward_province": pa.table([list(wp), list(wp.values())], schema=UNIT_TABLES["ward_province"]),
        "ward_targets": pa.table(
            [list(wt), [list(v) for v in wt.values()]], schema=UNIT_TABLES["ward_targets"]
        ),
    }


def _units_kept(con: DuckDBPyConnection, kept: Path) -> bool:
    """The tables read from `kept` (written by `_keep_units`); False when they are not there whole."""
    if not (kept / "done").exists():
        return False
    try:
        for name in UNIT_TABLES:
            con.execute(
                f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_parquet('{kept / name}.parquet')"
            )
    except duckdb.Error:
        return False
    return True


def _keep_units(con: DuckDBPyConnection, kept: Path) -> None:
    """Write the tables beside the others of their digest, made visible whole by a rename (another process
    may be writing the same); a directory that cannot be written is passed over: they are made again."""
    tmp = kept.with_name(f".tmp-{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir(parents=True)
        for name in UNIT_TABLES:
            con.execute(f"COPY {name} TO '{tmp / name}.parquet' (FORMAT parquet)")
        (tmp / "done").write_text("")
        tmp.rename(kept)
    except (OSError, duckdb.Error):
        shutil.rmtree(tmp, ignore_errors=True)


def unit_tables(con: DuckDBPyConnection, keep_in: Path | None = None) -> None:
    """Tables `ward_province` (ward, province): the 2025 province of every ward code, for the blocking rules
    scoped to a province; and `ward_targets` (ward, targets): every legacy ward code with the 2025 wards it
    went into, for the comparison of a ward written in one structure with one written in the other (see
    `WARD_SAME`). Made once per connection. With `keep_in` (a directory) they are kept there under the
    digest of the shipped lists and of the code that reads them, and read back by later runs: the lists
    themselves take a quarter of a second to read."""
    if all(exists(con, name) for name in UNIT_TABLES):
        return
    kept = None if keep_in is None else keep_in / units_digest()
    if kept is not None and _units_kept(con, kept):
        return
    for name, table in _unit_arrow().items():
        con.register("_units_in", table)
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _units_in")
        con.unregister("_units_in")
    if kept is not None:
        _keep_units(con, kept)


def _targets_sql(joined: str, units: str) -> str:
    """The 2025 wards a legacy ward went into (`joined`: its row of `ward_targets`, `units`: its structure);
    NULL for a 2025 ward, or when the structure is not known."""
    return f"CASE WHEN {units} = 'legacy' THEN {joined}.targets END"


def prepare_inputs(con: DuckDBPyConnection, register: pa.Table, aliases: pa.Table, records: pa.Table) -> None:
    """The matcher's inputs in `con` from Arrow tables: a register and its aliases (`prepare_register`'s
    columns) and a batch's records (`prepare_records`')."""
    con.register("reg_in", register)
    con.register("alias_in", aliases)
    con.register("rec_in", records)
    prepare_register(con, "reg_in", "alias_in")
    prepare_records(con, "rec_in")


def prepare_register(con: DuckDBPyConnection, source: str, aliases: str) -> None:
    """`source`: citizen_id, personal_id, full_name, birth_date, birth_precision, birth_year, sex,
    current_ward_code, permanent_ward_code, phone, household_id. `aliases`: citizen_id, alias, kind."""
    prepare_citizens(con, source, aliases)
    add_frequencies(con)


# The value counts `add_frequencies` keeps on each citizen, and the values each counts.
_COUNTED: dict[str, tuple[str, ...]] = {
    "tf_key_n": ("name_key",),
    "tf_exact_n": ("full_name",),
    "tf_ward_n": ("ward",),
    "tf_dob_n": ("dob",),
    "tf_year_n": ("dob_year",),
    "tf_addr_n": ("addr_house", "addr_street"),
    "tf_phone_n": ("phone",),
    # Members of the citizen's household born on the citizen's birth date, the citizen among them: more than
    # one is a twin. (Citizens of no household count together: none of them is taken for a twin's sibling.)
    "born_alike_n": ("household_id", "dob"),
}
FREQUENCY_COLUMNS = tuple(_COUNTED)


def prepare_citizens(con: DuckDBPyConnection, source: str, aliases: str, target: str = REG) -> None:
    """`target` (one row per citizen of `source`, every key the comparisons and the blocking rules need)
    and `{target}_alias`; without the value counts, which are the whole register's (`add_frequencies`).
    `cmnd` is the citizen's old CMND where the register holds exactly one for them (else NULL).
    Each citizen's row depends on that citizen alone: the rows of changed citizens can be prepared apart."""
    name_table(con, f"SELECT full_name FROM {source}", "reg_names")
    address = _address_table(con, source, "reg_addresses")
    unit_tables(con)
    units = _column_or_null(con, source, "current_units")
    home_units = _column_or_null(con, source, "permanent_units")
    y, m, d = "year(s.birth_date)", "month(s.birth_date)", "day(s.birth_date)"
    month = f"CASE WHEN s.birth_precision IN ('day', 'month') THEN {m} END"
    day = f"CASE WHEN s.birth_precision = 'day' THEN {d} END"
    con.execute(f"""CREATE OR REPLACE TABLE {target} AS
        SELECT s.citizen_id, s.personal_id, n.canonical AS full_name, n.name_key, n.family_key, n.middle_key,
               n.given_key, n.sorted_key, n.name_sig, n.name_letters, n.has_marks, s.birth_precision AS dob_precision, CAST({y} AS INTEGER) AS dob_year,
               CAST({month} AS INTEGER) AS dob_month, CAST({day} AS INTEGER) AS dob_day,
               {_dob_str(y, month, day)} AS dob_str,
               CASE WHEN s.birth_precision = 'day' THEN {_dob_str(y, m, d)} END AS dob,
               CASE WHEN s.birth_precision = 'day' THEN {_days(y, m, d)} END AS dob_days,
               CASE WHEN s.birth_precision = 'day' THEN CAST({y} * 100 + {m} AS INTEGER) END AS dob_ym,
               coalesce(ad.house, '') AS addr_house, coalesce(ad.street, '') AS addr_street,
               s.sex, s.current_ward_code AS ward, wp.province, s.permanent_ward_code AS home_ward,
               {units} AS ward_units, {_targets_sql("wt", units)} AS ward_targets,
               {home_units} AS home_units, {_targets_sql("ht", home_units)} AS home_targets,
               {national_phone_sql("s.phone_digits")} AS phone, s.household_id,
               s.personal_id AS id12, substr(s.personal_id, 1, 6) AS id_head, substr(s.personal_id, 7, 6) AS id_tail,
               cm.cmnd
        FROM (SELECT *, regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') AS phone_digits FROM {source}) s
        JOIN reg_names n ON n.value = s.full_name
        LEFT JOIN (SELECT citizen_id, min(alias) AS cmnd FROM {aliases} WHERE kind = 'cmnd'
                   GROUP BY citizen_id HAVING count(DISTINCT alias) = 1) cm ON cm.citizen_id = s.citizen_id
        LEFT JOIN reg_addresses ad ON ad.value = {address}
        LEFT JOIN ward_province wp ON wp.ward = s.current_ward_code
        LEFT JOIN ward_targets wt ON wt.ward = s.current_ward_code
        LEFT JOIN ward_targets ht ON ht.ward = s.permanent_ward_code""")
    con.execute(f"""CREATE OR REPLACE TABLE {target}_alias AS
        SELECT DISTINCT citizen_id, alias AS id9 FROM {aliases} WHERE kind = 'cmnd'""")


def add_frequencies(con: DuckDBPyConnection, source: str = REG) -> None:
    """`reg`: the citizens of `source` (as `prepare_citizens` makes them) with their value counts; `reg_size`."""
    # Value frequencies, kept on each citizen, for the levels whose u is the share of the register that
    # carries the value: the folded name key (agreements up to diacritics) and the exact canonical name
    # (Hưng and Hùng fold alike; an exact agreement is judged by how common the exact name is), the ward,
    # the birth date and year, the home address and the phone. reg_size holds the register's size.
    # Each count is a grouping joined back on its value (a missing value counts as one value, as it
    # would in a window's partition): a window per count would sort the whole wide table seven times.
    joins = " ".join(
        f"LEFT JOIN (SELECT {', '.join(keys)}, count(*) AS n FROM {source} GROUP BY ALL) f{i} ON "
        + " AND ".join(f"f{i}.{k} IS NOT DISTINCT FROM s.{k}" for k in keys)
        for i, keys in enumerate(_COUNTED.values())
    )
    counts = ", ".join(f"f{i}.n AS {name}" for i, name in enumerate(_COUNTED))
    con.execute(f"CREATE OR REPLACE TABLE {REG} AS SELECT s.*, {counts} FROM {source} s {joins}")
    con.execute(f"CREATE OR REPLACE TABLE {REG_SIZE} AS SELECT count(*) AS total FROM {REG}")
    register_names(con)


def register_names(con: DuckDBPyConnection) -> None:
    """Whole-register facts about given names, for telling a slip from another person's name: how many citizens
    carry each given name (`reg_given_names`), and the names of each household (`reg_household_names`: family and
    given name, for a member's name is both; a wife who kept her own family name does not make her given name
    the household's under the husband's family name), with how many members carry it and the first and last of
    their birth dates (`carriers`, `dob_first`, `dob_last`; `undated` when one is known only to the year or less):
    a twin is born on the day of the other."""
    con.execute(f"""CREATE OR REPLACE TABLE {REG_GIVEN_NAMES} AS
        SELECT given_key, count(*) AS given_n FROM {REG} GROUP BY given_key""")
    con.execute(f"""CREATE OR REPLACE TABLE {REG_HOUSEHOLD_NAMES} AS
        SELECT household_id, family_key, given_key, count(*) AS carriers, min(dob) AS dob_first,
               max(dob) AS dob_last, bool_or(dob IS NULL) AS undated
        FROM {REG} WHERE household_id IS NOT NULL GROUP BY household_id, family_key, given_key""")


def prepare_records(con: DuckDBPyConnection, source: str, keep_units: Path | None = None) -> None:
    """`source`: rec_id plus the health record's identity fields as text: full_name, date_of_birth, sex,
    id_number, phone, ward_code. Builds `rec_ident` (one row per distinct identity) and `rec_map`
    (rec_id → ident_id): a person's several doses usually carry the same identity and are matched once.
    `keep_units`: where the ward tables are kept between runs (see `unit_tables`)."""
    address = _record_values(con, source)
    _record_ids(con, source)
    _normalise_records(con, source, address)
    _record_identities(con, keep_units)
    group_identities(con)


def _record_values(con: DuckDBPyConnection, source: str) -> str:
    """The source's distinct names, addresses, birth dates and sexes read by the domain's rules (`rec_names`,
    `rec_addresses`, `rec_dobs`, `rec_sexes`); the SQL giving a row's address."""
    name_table(con, f"SELECT full_name FROM {source}", "rec_names")
    address = _address_table(con, source, "rec_addresses")
    map_distinct(con, f"SELECT date_of_birth FROM {source}", dob_parts, DOB_SCHEMA, "rec_dobs")
    # A date not read alone (a two-digit year) is read again on the day of its dose, once per date and day.
    dose = _dose_day(con, source)
    map_distinct(
        con,
        f"""SELECT {_dob_on(dose)} FROM {source} s
            JOIN rec_dobs d ON d.value = s.date_of_birth AND d.precision IS NULL
            WHERE {dose} IS NOT NULL""",
        _dob_parts_on,
        DOB_SCHEMA,
        "rec_dobs_on",
    )
    map_distinct(
        con,
        f"SELECT sex FROM {source}",
        lambda v: (None if (s := parse_sex(v)) is None else s.value,),
        pa.schema([("sex", pa.string())]),
        "rec_sexes",
    )
    return address


def _dose_day(con: DuckDBPyConnection, source: str) -> str:
    """The SQL of a record's day of dose (the source as `s`): NULL when the source has none, or none readable."""
    return f"TRY_CAST({_column_or_null(con, source, 'vaccination_date')} AS DATE)"


def _dob_on(dose: str) -> str:
    """The key of a record's birth date read on the day of its dose `dose` (`rec_dobs_on`)."""
    return f"s.date_of_birth || chr(31) || CAST({dose} AS VARCHAR)"


def _record_ids(con: DuckDBPyConnection, source: str) -> None:
    """`rec_ids`: the source's distinct ID numbers, their digits and what kind of number they are."""
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


def _normalise_records(con: DuckDBPyConnection, source: str, address: str) -> None:
    """`rec_norm`: each record of `source` with its normalised values (after `_record_values` and
    `_record_ids`; `address` the SQL of a row's address)."""
    # The year and sex a 12-digit number carries (the record's own facts, as its number tells them).
    number = personal_id_sql("lpad(i.digits, 12, '0')", cleaned=True)
    # The birth date read alone (d0), or on the day of the dose (d1: a two-digit year); none when it would make
    # the person younger than any vaccinee on the day of the dose (the day of the dose typed in its place).
    born = "make_date(coalesce(d0.y, d1.y), coalesce(d0.m, d1.m, 1), coalesce(d0.d, d1.d, 1))"
    dose = _dose_day(con, source)
    too_young = f"{dose} < {born} + INTERVAL {VACCINEE_AGES.start} YEAR"
    p, y, m, d = (
        f"CASE WHEN coalesce({too_young}, false) THEN NULL ELSE coalesce(d0.{c}, d1.{c}) END"
        for c in ("precision", "y", "m", "d")
    )
    con.execute(f"""CREATE OR REPLACE TABLE rec_norm AS
        SELECT s.rec_id, n.canonical AS full_name, n.given AS given_name, n.name_key, n.family_key, n.middle_key,
               n.given_key,
               n.sorted_key, n.name_sig, n.name_letters, n.has_marks,
               {p} AS dob_precision, {y} AS dob_year, {m} AS dob_month, {d} AS dob_day,
               CASE WHEN {y} IS NOT NULL THEN {_dob_str(y, m, d)} END AS dob_str,
               CASE WHEN {p} = 'day' THEN {_dob_str(y, m, d)} END AS dob,
               CASE WHEN {p} = 'day' THEN {_days(y, m, d)} END AS dob_days,
               {_lunar_month(p, y, m, d, LUNAR_DAYS.start)} AS lunar_first,
               {_lunar_month(p, y, m, d, LUNAR_DAYS.stop - 1)} AS lunar_last,
               coalesce(ad.house, '') AS addr_house, coalesce(ad.street, '') AS addr_street,
               x.sex,
               nullif(regexp_replace(coalesce(s.ward_code, ''), '[^0-9]', '', 'g'), '') AS ward_raw,
               {_column_or_null(con, source, "ward_units")} AS ward_units,
               nullif({national_phone_sql("s.phone_digits")}, '') AS phone,
               coalesce(i.kind, 'empty') AS id_kind,
               CASE WHEN i.kind = 'personal_id' THEN i.digits WHEN i.kind = 'lost_zero' THEN lpad(i.digits, 12, '0') END
                 AS id12,
               CASE WHEN i.kind IN ('personal_id', 'lost_zero') THEN {number["birth_year"]} END AS id_year,
               CASE WHEN i.kind IN ('personal_id', 'lost_zero') THEN {number["sex"]} END AS id_sex,
               CASE WHEN i.kind = 'cmnd' THEN i.digits END AS id9
        FROM (SELECT *, regexp_replace(phone, '[^0-9]', '', 'g') AS phone_digits FROM {source}) s
        LEFT JOIN rec_names n ON n.value = s.full_name
        LEFT JOIN rec_dobs d0 ON d0.value = s.date_of_birth
        LEFT JOIN rec_dobs_on d1 ON d0.precision IS NULL AND d1.value = {_dob_on(dose)}
        LEFT JOIN rec_sexes x ON x.value = s.sex
        LEFT JOIN rec_ids i ON i.value = s.id_number
        LEFT JOIN rec_addresses ad ON ad.value = {address}""")


# The fields that make an identity: records equal on all of them are one identity, matched once.
IDENTITY_COLUMNS = (
    "full_name",
    "dob_str",
    "dob_precision",
    "sex",
    "ward",
    "phone",
    "id_kind",
    "id12",
    "id9",
    "addr_house",
    "addr_street",
)


# A ward of the 2025 structure is marked in the key: the same code in the two structures is two identities.
# A legacy ward (or one whose structure is not known) is keyed by its code alone, as before the structures
# were compared, so that the estimation's sample, drawn by the key, stays what it was.
_KEYED = {"ward": "ward || CASE WHEN ward_units = '2025' THEN '@2025' ELSE '' END"}


def _record_identities(con: DuckDBPyConnection, keep_units: Path | None = None) -> None:
    """From `rec_norm`: `rec_keyed` (each record with its ward and identity key), `rec_ident` (one row per
    identity, with its province) and `rec_map` (rec_id → ident_id)."""
    key = (
        "md5(concat_ws('|', "
        + ", ".join(f"coalesce(CAST({_KEYED.get(c, c)} AS VARCHAR), '~')" for c in IDENTITY_COLUMNS)
        + "))"
    )
    con.execute(f"""CREATE OR REPLACE TABLE rec_keyed AS
        SELECT *, {key} AS ident_key FROM (
          SELECT * EXCLUDE (ward_raw), CASE WHEN length(ward_raw) <= 5 THEN lpad(ward_raw, 5, '0') END AS ward
          FROM rec_norm)""")
    # One representative row per identity (the first record carrying it): a join on a number, not an
    # aggregate over every column. The identities are numbered on the narrow grouping, so that only the
    # final order sorts the wide rows.
    unit_tables(con, keep_units)
    con.execute(f"""CREATE OR REPLACE TABLE {REC_IDENT} AS
        SELECT f.ident_id, k.* EXCLUDE (rec_id),
               substr(k.id12, 1, 6) AS id_head, substr(k.id12, 7, 6) AS id_tail, wp.province,
               {_targets_sql("wt", "k.ward_units")} AS ward_targets
        FROM (SELECT first_rec, row_number() OVER (ORDER BY first_rec) AS ident_id
              FROM (SELECT min(rec_id) AS first_rec FROM rec_keyed GROUP BY ident_key)) f
        JOIN rec_keyed k ON k.rec_id = f.first_rec
        LEFT JOIN ward_province wp ON wp.ward = k.ward
        LEFT JOIN ward_targets wt ON wt.ward = k.ward
        ORDER BY f.ident_id""")
    # A record without a usable ward is searched in the batch's own province (that of most of its records),
    # for the blocking rules scoped to a province: health's batches come from the province's sites.
    con.execute(f"""UPDATE {REC_IDENT} SET province = (
            SELECT province FROM {REC_IDENT} WHERE province IS NOT NULL
            GROUP BY province ORDER BY count(*) DESC, province LIMIT 1)
        WHERE province IS NULL""")
    con.execute(f"""CREATE OR REPLACE TABLE {REC_MAP} AS
        SELECT k.rec_id, i.ident_id FROM rec_keyed k JOIN {REC_IDENT} i USING (ident_key)""")


# A phone typed for more people than this in one batch is a site's or a family's, not a person's.
PHONE_NAMES_MAX = 3
# A group larger than this is a sign of a shared number or a default value, not of one person.
GROUP_MAX = 12
# The keys that join a person's identities (columns, and when an identity has the key), besides the exact name.
_GROUP_KEYS = (
    ("full_name, dob, ward", "dob IS NOT NULL AND ward IS NOT NULL"),
    ("full_name, id12", "id12 IS NOT NULL"),
    (
        "full_name, phone, dob_year",
        f"""dob_year IS NOT NULL AND phone IN (SELECT phone FROM {REC_IDENT} WHERE phone IS NOT NULL
            GROUP BY phone HAVING count(DISTINCT name_key) <= {PHONE_NAMES_MAX})""",
    ),
)


def group_identities(con: DuckDBPyConnection) -> None:
    """Add `group_id` to `rec_ident`: the identities of one person, joined when they share the name exactly as
    written (up to case and Unicode forms: a name without its marks could be either of two twins, Hùng or
    Hưng) and one of: the full birth date with the ward, the 12-digit number, or a phone with the birth year. A
    group whose records carry two different 12-digit numbers or two different full birth dates, or that grows
    past GROUP_MAX, is not one person (a namesake born the same day, who may not even be in the register,
    joined through a slip): its identities stay alone. The group id is its smallest identity id."""
    # Each key's values are grouped as they are (no text built from them), only those two identities share
    # are kept (the components are found among the identities holding one, about half of them; every other
    # identity is a group of its own), and each gets a number: the rounds below join on numbers.
    shared = " UNION ALL ".join(
        f"""SELECT i.ident_id, k.kid * {len(_GROUP_KEYS)} + {n} AS k FROM {REC_IDENT} i
            JOIN (SELECT {columns}, row_number() OVER () AS kid FROM {REC_IDENT}
                  WHERE full_name IS NOT NULL AND full_name <> '' AND {condition}
                  GROUP BY ALL HAVING count(*) > 1) k USING ({columns})"""
        for n, (columns, condition) in enumerate(_GROUP_KEYS)
    )
    con.execute(f"CREATE OR REPLACE TABLE _group_keys AS {shared}")
    con.execute(
        "CREATE OR REPLACE TABLE _group_label AS SELECT DISTINCT ident_id, ident_id AS label FROM _group_keys"
    )
    # Connected components by smallest label: each round passes a label one key further.
    for _ in range(50):
        con.execute("""CREATE OR REPLACE TABLE _group_next AS
            WITH per_key AS (SELECT g.k, min(l.label) AS label FROM _group_keys g
                             JOIN _group_label l USING (ident_id) GROUP BY g.k)
            SELECT l.ident_id, least(l.label, coalesce(min(pk.label), l.label)) AS label
            FROM _group_label l LEFT JOIN _group_keys g USING (ident_id) LEFT JOIN per_key pk USING (k)
            GROUP BY l.ident_id, l.label""")
        changed = con.execute("""SELECT count(*) FROM _group_next n JOIN _group_label l USING (ident_id)
            WHERE n.label <> l.label""").fetchall()[0][0]
        con.execute("CREATE OR REPLACE TABLE _group_label AS SELECT * FROM _group_next")
        if not changed:
            break
    # The group id set in place: `rec_ident` keeps its order by identity, and its wide rows are not rewritten.
    con.execute(f"ALTER TABLE {REC_IDENT} ADD COLUMN group_id BIGINT")
    con.execute(f"UPDATE {REC_IDENT} SET group_id = ident_id")
    con.execute(f"""UPDATE {REC_IDENT} SET group_id = g.label FROM (
        SELECT l.ident_id, l.label FROM _group_label l
        JOIN (SELECT l.label FROM _group_label l JOIN {REC_IDENT} r USING (ident_id) GROUP BY l.label
              HAVING count(DISTINCT r.id12) <= 1 AND count(DISTINCT r.dob) <= 1
                 AND count(*) <= {GROUP_MAX}) ok USING (label)) g
        WHERE {REC_IDENT}.ident_id = g.ident_id""")
    for t in ("_group_keys", "_group_label", "_group_next"):
        con.execute(f"DROP TABLE {t}")

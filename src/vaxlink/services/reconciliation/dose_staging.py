"""A dose file's rows checked and shaped for storage: dates, vaccines, dose numbers and ward codes read,
every problem named, each row given the form a dose_record row has."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection

from vaxlink.domain.admin_units import Level, normalise_code
from vaxlink.domain.dates import PartialDate, parse_birth_date, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.vaccines import parse_dose_number, resolve_vaccine
from vaxlink.matching.normalise import map_distinct
from vaxlink.services.reconciliation.duck_views import run_over
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import DoseRecord, text_size, too_long_sql

# Vaccination in Viet Nam began in March 2021; anything before December 2020 is an entry error.
EARLIEST_VACCINATION = date(2020, 12, 1)
# The day the 2025 units came into force: a code in both lists is read in the structure of its date.
UNITS_2025_FROM = date(2025, 7, 1)
# The columns of a dose_record row as written by the ingest (after `id`, `batch_id`, `source`, `version`).
STORED = (
    "record_id",
    "is_latest",
    "line_no",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "phone",
    "address",
    "ward_code",
    "ward_units",
    "dose_kind",
    "vaccination_date",
    "dose_number",
    "vaccine",
    "vaccine_code",
    "lot_number",
    "site",
    "extra",
    "problems",
)


def _date_or_problem(v: str) -> tuple[Any, str | None, int | None]:
    return _read_date(parse_date(v))


def _read_date(d: PartialDate | Problem) -> tuple[Any, str | None, int | None]:
    if isinstance(d, Problem):
        return None, "TWO_DIGIT_YEAR" if d.code == "DATE_TWO_DIGIT_YEAR" else "BAD", None
    return d.as_date(), None if d.precision.value == "day" else "IMPRECISE", d.year


# Between a birth date and the day of its dose, in the keys of `v_dob_on`.
_ON = "chr(31)"
# A row's birth date as read (`v_dob` joined as b1, `v_dob_on` as bo): on the day of its dose when its year
# has two digits.
_BORN = {c: f"CASE WHEN bo.value IS NOT NULL THEN bo.{c} ELSE b1.{c} END" for c in ("d", "problem", "year")}


def _birth_on_dose_day(v: str) -> tuple[Any, str | None, int | None]:
    """A birth date with a two-digit year, read on the day of its dose (`text || chr(31) || ISO day`)."""
    text, _, day = v.rpartition("\x1f")
    return _read_date(parse_birth_date(text, dose_on=date.fromisoformat(day)))


def _ward_code(v: str) -> tuple[str]:
    """A ward code as a spreadsheet wrote it ("26560.0", " 26560 ", "2656" for 02656) as its five digits; any
    other text as written (an officer reads it; it names no ward)."""
    return (normalise_code(v, Level.WARD) or v,)


def _vaccine(v: str) -> tuple[str | None]:
    vac = resolve_vaccine(v)
    return (None if vac is None else vac.code,)


# The text a dose record keeps as health wrote it: a longer value is refused, not cut.
_SIZED = (
    "record_id",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "phone",
    "address",
    "ward_code",
    "vaccine",
    "lot_number",
    "site",
)


def _too_long() -> str:
    return too_long_sql(DoseRecord, {c: f"s.{c}" for c in _SIZED})


def _kept(column: str) -> str:
    """A refused row is stored too, cut to what its column holds."""
    return f"left({column}, {text_size(DoseRecord, column)})"


def validate(duck: DuckDBPyConnection, columns_sql: str, today: date) -> None:
    duck.execute(f"""CREATE OR REPLACE TABLE src AS SELECT _line AS line_no, _malformed AS malformed,
        {columns_sql} FROM raw""")
    date_schema = pa.schema([("d", pa.date32()), ("problem", pa.string()), ("year", pa.int32())])
    map_distinct(duck, "SELECT date_of_birth FROM src", _date_or_problem, date_schema, "v_dob")
    map_distinct(duck, "SELECT vaccination_date FROM src", _date_or_problem, date_schema, "v_vdate")
    # A two-digit birth year is read on the day of the dose (`parse_birth_date`): once per date and day.
    map_distinct(
        duck,
        f"""SELECT s.date_of_birth || {_ON} || CAST(vd.d AS VARCHAR) FROM src s
            JOIN v_dob b ON b.value = s.date_of_birth AND b.problem = 'TWO_DIGIT_YEAR'
            JOIN v_vdate vd ON vd.value = s.vaccination_date AND vd.d IS NOT NULL""",
        _birth_on_dose_day,
        date_schema,
        "v_dob_on",
    )
    map_distinct(duck, "SELECT vaccine FROM src", _vaccine, pa.schema([("code", pa.string())]), "v_vaccine")
    map_distinct(duck, "SELECT ward_code FROM src", _ward_code, pa.schema([("code", pa.string())]), "v_ward")
    map_distinct(
        duck,
        "SELECT dose_number FROM src",
        lambda v: (parse_dose_number(v),),
        pa.schema([("n", pa.int32())]),
        "v_dose",
    )
    duck.execute(f"""CREATE OR REPLACE TABLE checked AS
        SELECT s.* REPLACE (coalesce(w.code, s.ward_code) AS ward_code), vd.d AS vaccination_day, vx.code AS vaccine_code,
          dn.n AS dose_no,
          nullif(array_to_string(list_filter([
            -- A FHIR reader's finding keeps its own code and text (';' is the list's separator).
            CASE WHEN s.malformed LIKE 'FHIR\\_%' ESCAPE '\\' THEN left(replace(s.malformed, ';', ','), 240)
                 WHEN s.malformed IS NOT NULL THEN 'MALFORMED_ROW' END,
            CASE WHEN s.record_id IS NULL THEN 'MISSING_RECORD_ID' END,
            CASE WHEN s.full_name IS NULL THEN 'MISSING_NAME' END,
            CASE WHEN s.vaccination_date IS NULL THEN 'MISSING_VACCINATION_DATE'
                 WHEN vd.problem IS NOT NULL THEN 'BAD_VACCINATION_DATE'
                 WHEN vd.d > DATE '{today.isoformat()}' THEN 'VACCINATION_DATE_FUTURE'
                 WHEN vd.d < DATE '{EARLIEST_VACCINATION.isoformat()}' THEN 'VACCINATION_DATE_TOO_EARLY'
                 WHEN {_BORN["year"]} IS NOT NULL AND year(vd.d) < {_BORN["year"]} THEN 'VACCINATION_BEFORE_BIRTH'
                 WHEN {_BORN["d"]} IS NOT NULL AND vd.d < {_BORN["d"]} THEN 'VACCINATION_BEFORE_BIRTH' END,
            CASE WHEN dn.n IS NULL THEN 'BAD_DOSE_NUMBER' END,
            CASE WHEN s.vaccine IS NOT NULL AND vx.code IS NULL THEN 'UNKNOWN_VACCINE'
                 WHEN s.vaccine IS NULL THEN 'UNKNOWN_VACCINE' END,
            CASE WHEN {_too_long()} THEN 'TOO_LONG' END
          ], lambda r: r IS NOT NULL), ';'), '') AS problems,
          r.file_rank, r.file_versions
        FROM src s
        -- Each row's place among the file's rows of its record, ranked on the narrow columns alone: a window
        -- over the wide rows would sort every column of them.
        JOIN (SELECT rowid AS row_at, row_number() OVER (PARTITION BY record_id ORDER BY line_no) AS file_rank,
                count(*) OVER (PARTITION BY record_id) AS file_versions FROM src) r ON r.row_at = s.rowid
        LEFT JOIN v_vdate vd ON vd.value = s.vaccination_date
        LEFT JOIN v_dob b1 ON b1.value = s.date_of_birth
        LEFT JOIN v_dob_on bo ON b1.problem = 'TWO_DIGIT_YEAR'
          AND bo.value = s.date_of_birth || {_ON} || CAST(vd.d AS VARCHAR)
        LEFT JOIN v_vaccine vx ON vx.value = s.vaccine
        LEFT JOIN v_ward w ON w.value = s.ward_code
        LEFT JOIN v_dose dn ON dn.value = s.dose_number""")


def ward_lists(db: Connection, duck: DuckDBPyConnection) -> None:
    """Table `ward_lists` (code, in_legacy, in_2025): the ward codes of both official lists."""
    wards = query_arrow(
        db,
        "SELECT code, structure FROM admin_unit WHERE level = 'ward'",
        pa.schema([("code", pa.string()), ("structure", pa.string())]),
    )
    run_over(
        duck,
        "ward_lists_in",
        wards,
        """CREATE OR REPLACE TABLE ward_lists AS
        SELECT code, bool_or(structure = 'legacy') AS in_legacy, bool_or(structure = '2025') AS in_2025
        FROM ward_lists_in GROUP BY code""",
    )


# What health calls the dose: an additional dose (liều bổ sung) is part of the primary series, a booster
# (liều nhắc lại) comes after it; anything else is not said.
_KIND = "lower(strip_accents(replace(replace(c.dose_kind, 'đ', 'd'), 'Đ', 'D')))"


_DOSE_KIND_SQL = f"""CASE WHEN {_KIND} IN ('additional', 'bo sung', 'lieu bo sung', 'mui bo sung') THEN 'additional'
        WHEN {_KIND} IN ('booster', 'nhac lai', 'lieu nhac lai', 'mui nhac lai') THEN 'booster'
        WHEN {_KIND} IN ('primary', 'co ban', 'lieu co ban', 'mui co ban') THEN 'primary' END"""


def _units_sql(units: str | None) -> str:
    """The structure of a row's ward code: the row's own `ward_units`, else the file's `units`, else the
    one list that has the code, else (in both) the list in force on the vaccination date; NULL when the
    code is in neither list."""
    given = "CASE WHEN lower(c.ward_units) IN ('2025', 'new', 'moi', 'mới') THEN '2025' " + (
        "WHEN lower(c.ward_units) IN ('legacy', 'old', 'cu', 'cũ') THEN 'legacy' END"
    )
    default = "NULL" if units is None else f"'{units}'"
    return f"""CASE WHEN c.ward_code IS NULL THEN NULL
        WHEN coalesce({given}, {default}) IS NOT NULL THEN coalesce({given}, {default})
        WHEN wl.in_legacy AND wl.in_2025 THEN
          CASE WHEN c.vaccination_day >= DATE '{UNITS_2025_FROM.isoformat()}' THEN '2025' ELSE 'legacy' END
        WHEN wl.in_legacy THEN 'legacy' WHEN wl.in_2025 THEN '2025' END"""


def stage_select(batch_id: int, units: str | None = None) -> str:
    # A row without a record id cannot be versioned: it is kept under a marked id of its own line.
    return f"""SELECT line_no, coalesce({_kept("record_id")}, '~line-' || line_no || '@batch-{batch_id}') AS record_id,
        CAST(file_rank AS INTEGER) AS file_rank, record_id IS NULL OR file_rank = file_versions AS is_latest,
        {_kept("full_name")} AS full_name, {_kept("date_of_birth")} AS date_of_birth, {_kept("sex")} AS sex,
        {_kept("id_number")} AS id_number, {_kept("phone")} AS phone, {_kept("address")} AS address,
        {_kept("ward_code")} AS ward_code, ward_units_read AS ward_units, {_DOSE_KIND_SQL} AS dose_kind,
        vaccination_day AS vaccination_date,
        CAST(dose_no AS INTEGER) AS dose_number,
        {_kept("vaccine")} AS vaccine, vaccine_code, {_kept("lot_number")} AS lot_number, {_kept("site")} AS site,
        extra, problems
        FROM (SELECT c.*, {_units_sql(units)} AS ward_units_read FROM checked c
              LEFT JOIN ward_lists wl ON wl.code = c.ward_code) c"""

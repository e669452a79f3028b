"""Import a register snapshot: read, validate and normalise on DuckDB, then merge set-based into the database.

Every input row ends in exactly one outcome: imported, updated, unchanged or rejected. Rejected rows
go to a CSV file with their line number and reasons. The whole merge is one transaction: a killed
import leaves the register as it was, and running it again gives the same result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy.orm import Session

from vaxlink.domain.admin_units import Level, Structure, admin_units, normalise_code
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.interchange import REGISTER_COLUMNS
from vaxlink.domain.names import name_layout
from vaxlink.domain.phones import stored_phone_sql
from vaxlink.domain.reasons import REJECTION_REASONS
from vaxlink.domain.sex import parse_sex
from vaxlink.files.read import contract_select, load_file
from vaxlink.files.write import write_table
from vaxlink.matching import normalise
from vaxlink.services.reconciliation.reconcile import Progress
from vaxlink.services.reconciliation.register_merge import STAGE_COLUMNS, Clock, merge
from vaxlink.settings import Settings
from vaxlink.storage import bulk
from vaxlink.storage.models import Citizen, RegisterImport, text_size, too_long_sql, utcnow
from vaxlink.storage.register_log import register_changed

REASONS = REJECTION_REASONS


@dataclass
class ImportResult:
    import_id: int
    rows: int
    imported: int
    updated: int
    unchanged: int
    rejected: int
    rejects_file: Path | None
    reasons: dict[str, int] = field(default_factory=dict)
    # Stage → (wall s, CPU s of this process): read, normalise, write, index, stats, merge.
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.imported + self.updated + self.unchanged + self.rejected == self.rows


def _dob(v: str) -> tuple[object, str | None, int | None, str | None]:
    d = parse_date(v)
    if isinstance(d, Problem):
        return None, None, None, d.code
    assert isinstance(d, PartialDate)
    return d.earliest(), d.precision.value, d.year, None


def _ward(structure: Structure) -> Callable[[str], tuple[str | None, bool]]:
    units = admin_units()

    def fn(v: str) -> tuple[str | None, bool]:
        code = normalise_code(v, Level.WARD)
        return code, code is not None and units.ward(code, structure) is not None

    return fn


def _layout(v: str) -> tuple[str]:
    first, _, second = v.partition(" ")
    return (name_layout(first, second),)


# Unicode spaces that str.split() separates on (RE2's \s is ASCII only).
_SPACES = "[\\s\\x{00a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]+"
# The register's own spelling is what is stored (`official_name`: NFC and single spaces); the canonical
# and folded forms are for matching only. Its parts divide as `split_name` has them, by `name_layout`
# of the first two words (a small vocabulary, mapped once each). Every step runs once per distinct
# name, not once per row: a register repeats its names many times over.
_SPELLING = f"nfc_normalize(trim(regexp_replace(value, '{_SPACES}', ' ', 'g')))"
_OFFICIAL_SQL = """CREATE OR REPLACE TABLE {target} AS
    WITH w AS (SELECT value, name, string_split(name, ' ') AS ws FROM {target}_spelling)
    SELECT w.value, w.name,
      CASE WHEN len(ws) < 2 THEN ''
           WHEN l.layout = 'clan_last' THEN ws[len(ws)]
           WHEN l.layout = 'clan_first_2' AND len(ws) > 2 THEN array_to_string(ws[1:2], ' ')
           ELSE ws[1] END AS family,
      CASE WHEN l.layout = 'kinh' AND len(ws) > 2 THEN array_to_string(ws[2:len(ws) - 1], ' ')
           ELSE '' END AS middle,
      CASE WHEN len(ws) < 2 THEN ws[1]
           WHEN l.layout = 'clan_last' THEN array_to_string(ws[1:len(ws) - 1], ' ')
           WHEN l.layout = 'clan_first_2' AND len(ws) > 2 THEN array_to_string(ws[3:], ' ')
           WHEN l.layout IN ('clan_first_1', 'clan_first_2') THEN array_to_string(ws[2:], ' ')
           ELSE ws[len(ws)] END AS given
    FROM w LEFT JOIN {target}_layout l ON l.value = array_to_string(ws[1:2], ' ')"""


def official_names(duck: DuckDBPyConnection, source_sql: str, target: str) -> None:
    """Create `target(value, name, family, middle, given)`: per distinct name of `source_sql`, the
    register's spelling (`official_name`) and its parts (`split_name`), built in SQL from the domain's
    `name_layout` applied once per distinct pair of first words."""
    duck.execute(f"""CREATE OR REPLACE TABLE {target}_spelling AS SELECT value, {_SPELLING} AS name
        FROM (SELECT DISTINCT v AS value FROM ({source_sql}) t(v) WHERE v IS NOT NULL)""")
    normalise.map_distinct(
        duck,
        f"SELECT array_to_string(string_split(name, ' ')[1:2], ' ') FROM {target}_spelling",
        _layout,
        pa.schema([("layout", pa.string())]),
        f"{target}_layout",
    )
    duck.execute(_OFFICIAL_SQL.format(target=target))
    duck.execute(f"DROP TABLE {target}_spelling")
    duck.execute(f"DROP TABLE {target}_layout")


def _sex(v: str) -> tuple[str | None]:
    s = parse_sex(v)
    return (None if s is None else s.value,)


def import_register(
    session: Session,
    settings: Settings,
    path: Path,
    *,
    units: Structure = Structure.LEGACY,
    rejects_path: Path | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate `path` and merge it into the register in the session's transaction (flushes, never commits)."""
    note = progress or (lambda _stage, _done, _total: None)
    clock = Clock()
    duck = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        loaded = load_file(duck, path, "raw", progress=lambda n: note("read", n, None))
        columns_sql = contract_select(loaded, REGISTER_COLUMNS)
        rejects_path = rejects_path or Path.cwd() / f"{path.stem}.rejects.csv"
        clock.lap("read")
        note("check", 0, loaded.rows)
        _check(duck, columns_sql, units)
        note("check", loaded.rows, loaded.rows)

        rec = RegisterImport(
            file_name=path.name,
            checksum=loaded.checksum,
            units=units.value,
            status="running",
            started_at=utcnow(),
            rows_total=loaded.rows,
        )
        session.add(rec)
        session.flush()

        reasons = dict(
            duck.execute(
                "SELECT r, count(*) FROM (SELECT unnest(problems) r FROM checked) GROUP BY r ORDER BY 2 DESC"
            ).fetchall()
        )
        rejected = duck.execute("SELECT count(*) FROM checked WHERE len(problems) > 0").fetchall()[0][0]
        wrote_rejects = _write_rejects(duck, rejects_path) if rejected else None
        # The file's text is no longer needed: DuckDB's memory goes to the load.
        duck.execute("DROP TABLE raw")
        duck.execute("DROP TABLE src")
        clock.lap("normalise")

        db = session.connection()
        with bulk.sqlite_load_settings(db):
            counts = merge(db, duck, rec.id, units, note, clock)
        if counts[0] or counts[1]:
            # The matcher's prepared register is read again from the database.
            register_changed(db, None)
        rec.imported, rec.updated, rec.unchanged = counts
        rec.rejected = int(rejected)
        rec.rejects_file = str(wrote_rejects) if wrote_rejects else None
        rec.status = "done"
        rec.finished_at = utcnow()
        session.flush()
        clock.lap("stats")
        result = ImportResult(
            rec.id,
            loaded.rows,
            *counts,
            int(rejected),
            wrote_rejects,
            {str(k): int(v) for k, v in reasons.items()},
            clock.stages,
        )
        if not result.balanced:  # pragma: no cover - would mean a row was lost or counted twice
            raise RuntimeError(f"import counts do not add up: {result}")
        return result
    finally:
        duck.close()


def _check(duck: DuckDBPyConnection, columns_sql: str, units: Structure) -> None:
    duck.execute(f"""CREATE TABLE src AS SELECT *, {normalise.id_digits_sql("personal_id")} AS pid,
        {stored_phone_sql("phone")} AS phone_read FROM (
        SELECT _line AS line, _malformed AS malformed, {columns_sql} FROM raw)""")
    normalise.name_table(duck, "SELECT full_name FROM src", "m_name")
    official_names(duck, "SELECT full_name FROM src", "m_official")
    normalise.map_distinct(
        duck,
        "SELECT date_of_birth FROM src",
        _dob,
        pa.schema(
            [("d", pa.date32()), ("precision", pa.string()), ("year", pa.int32()), ("problem", pa.string())]
        ),
        "m_dob",
    )
    normalise.map_distinct(duck, "SELECT sex FROM src", _sex, pa.schema([("sex", pa.string())]), "m_sex")
    normalise.map_distinct(
        duck,
        "SELECT permanent_ward_code FROM src UNION ALL SELECT current_ward_code FROM src",
        _ward(units),
        pa.schema([("code", pa.string()), ("known", pa.bool_())]),
        "m_ward",
    )
    pid = normalise.personal_id_sql("s.pid", cleaned=True)
    old = normalise.id_digits_sql("s.old_id")
    # A phone is optional: text that is no number and does not fit is not kept, and the citizen is.
    phone = f"CASE WHEN length(s.phone_read) <= {text_size(Citizen, 'phone')} THEN s.phone_read END"
    # Refused before the load, which the database would otherwise stop halfway.
    too_long = too_long_sql(
        Citizen,
        {
            "full_name": "o.name",
            "name_key": "n.name_key",
            "family_name": "o.family",
            "middle_name": "o.middle",
            "given_name": "o.given",
            "address": "s.address",
            "household_id": "s.household_id",
        },
    )
    checked0 = f"""SELECT s.line, s.personal_id AS raw_personal_id,
        s.pid AS personal_id, {old} AS old_id,
        o.name AS full_name, n.name_key, o.family AS family_name, o.middle AS middle_name,
        o.given AS given_name, d.d AS birth_date, d.precision AS birth_precision, d.year AS birth_year,
        x.sex AS sex, pw.code AS permanent_ward_code, '{units.value}' AS permanent_units,
        coalesce(cw.code, pw.code) AS current_ward_code, '{units.value}' AS current_units,
        s.address, {phone} AS phone, s.household_id, s.extra,
        list_filter([
          CASE WHEN s.malformed IS NOT NULL THEN 'MALFORMED_ROW' END,
          {pid["problem"]},
          CASE WHEN coalesce(n.canonical, '') = '' THEN 'MISSING_NAME' END,
          CASE WHEN s.date_of_birth IS NULL THEN 'MISSING_DOB' WHEN d.problem IS NOT NULL THEN 'BAD_DOB' END,
          CASE WHEN s.sex IS NULL THEN 'MISSING_SEX' WHEN x.sex IS NULL THEN 'BAD_SEX' END,
          CASE WHEN ({pid["problem"]}) IS NULL AND x.sex IS NOT NULL AND {pid["sex"]} <> x.sex
               THEN 'ID_SEX_MISMATCH' END,
          CASE WHEN ({pid["problem"]}) IS NULL AND d.year IS NOT NULL AND {pid["birth_year"]} <> d.year
               THEN 'ID_BIRTH_YEAR_MISMATCH' END,
          CASE WHEN s.permanent_ward_code IS NULL THEN 'MISSING_WARD' WHEN NOT pw.known THEN 'UNKNOWN_WARD' END,
          CASE WHEN s.current_ward_code IS NOT NULL AND NOT cw.known THEN 'UNKNOWN_CURRENT_WARD' END,
          CASE WHEN s.old_id IS NOT NULL AND NOT regexp_full_match({old}, '[0-9]{{9}}') THEN 'BAD_OLD_ID' END,
          CASE WHEN {too_long} THEN 'TOO_LONG' END
        ], lambda r: r IS NOT NULL) AS problems
      FROM src s
      LEFT JOIN m_name n ON n.value = s.full_name
      LEFT JOIN m_official o ON o.value = s.full_name
      LEFT JOIN m_dob d ON d.value = s.date_of_birth
      LEFT JOIN m_sex x ON x.value = s.sex
      LEFT JOIN m_ward pw ON pw.value = s.permanent_ward_code
      LEFT JOIN m_ward cw ON cw.value = s.current_ward_code"""
    hashed = (
        "md5(concat_ws('|', "
        + ", ".join(f"coalesce(CAST({c} AS VARCHAR), '')" for c, _ in STAGE_COLUMNS if c != "row_hash")
        + "))"
    )
    # Duplicates are judged among rows that are otherwise valid: identical repeats keep their first
    # occurrence; the same id with different content is rejected everywhere, since neither can be trusted.
    # Checked and hashed in one pass: the register is materialised once, not once per step.
    duck.execute(f"""CREATE TABLE hashed AS SELECT *, {hashed} AS row_hash FROM ({checked0})""")
    duck.execute("""CREATE TABLE dups AS
        SELECT personal_id, min(line) AS first_line, min(row_hash) <> max(row_hash) AS conflict
        FROM hashed WHERE len(problems) = 0 GROUP BY personal_id HAVING count(*) > 1""")
    # A view: the duplicates are few, and the columns each later step reads are joined to them on the way.
    duck.execute("""CREATE VIEW checked AS
        SELECT h.* EXCLUDE (problems),
          CASE WHEN len(h.problems) > 0 OR d.personal_id IS NULL THEN h.problems
               WHEN d.conflict THEN ['DUPLICATE_ID_CONFLICT']
               WHEN h.line > d.first_line THEN ['DUPLICATE_ROW']
               ELSE h.problems END AS problems
        FROM hashed h LEFT JOIN dups d ON d.personal_id = h.personal_id AND len(h.problems) = 0""")


def _write_rejects(duck: DuckDBPyConnection, out: Path) -> Path:
    msgs = (
        "CASE r "
        + " ".join(f"WHEN '{k}' THEN '{vi} / {en}'" for k, (vi, en) in REASONS.items())
        + " ELSE r END"
    )
    originals = ", ".join(f"s.{c.name}" for c in REGISTER_COLUMNS)
    table = duck.sql(f"""
        SELECT c.line, array_to_string(c.problems, ';') AS reasons,
               array_to_string(list_transform(c.problems, lambda r: {msgs}), '; ') AS message, {originals}
        FROM checked c JOIN src s ON s.line = c.line
        WHERE len(c.problems) > 0 ORDER BY c.line""").to_arrow_table()
    # The rows come from an outside file: written through the writer that keeps formulas out.
    return write_table(table, out)

"""Import a register snapshot: read, validate and normalise on DuckDB, then merge set-based into the database.

Every input row ends in exactly one outcome: imported, updated, unchanged or rejected. Rejected rows
go to a CSV file with their line number and reasons. The whole merge is one transaction: a killed
import leaves the register as it was, and running it again gives the same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, Table, UniqueConstraint, bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from vaxlink.domain.admin_units import Level, Structure, admin_units, normalise_code
from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.errors import Problem
from vaxlink.domain.interchange import REGISTER_COLUMNS
from vaxlink.domain.names import name_layout
from vaxlink.domain.reasons import REJECTION_REASONS
from vaxlink.domain.sex import parse_sex
from vaxlink.files.read import contract_select, load_file
from vaxlink.files.write import write_table
from vaxlink.matching import normalise
from vaxlink.settings import Settings
from vaxlink.storage import bulk
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import Citizen, CitizenAlias, RegisterImport, UtcDateTime, utcnow
from vaxlink.storage.register_log import register_changed

Progress = Callable[[str, int, int | None], None]

REASONS = REJECTION_REASONS

STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("personal_id", "VARCHAR(12)"),
    ("old_id", "VARCHAR(20)"),
    ("full_name", "VARCHAR(200)"),
    ("name_key", "VARCHAR(200)"),
    ("family_name", "VARCHAR(60)"),
    ("middle_name", "VARCHAR(120)"),
    ("given_name", "VARCHAR(60)"),
    ("birth_date", "DATE"),
    ("birth_precision", "VARCHAR(5)"),
    ("birth_year", "INTEGER"),
    ("sex", "VARCHAR(1)"),
    ("permanent_ward_code", "VARCHAR(5)"),
    ("permanent_units", "VARCHAR(6)"),
    ("current_ward_code", "VARCHAR(5)"),
    ("current_units", "VARCHAR(6)"),
    ("address", "VARCHAR(400)"),
    ("phone", "VARCHAR(20)"),
    ("household_id", "VARCHAR(40)"),
    ("extra", "TEXT"),
    ("row_hash", "VARCHAR(32)"),
)
CITIZEN_COLUMNS = [c for c, _ in STAGE_COLUMNS if c != "old_id"]


class Clock:
    """Wall and CPU seconds (this process, all its threads) spent in each named stage, in order."""

    def __init__(self) -> None:
        self.stages: dict[str, tuple[float, float]] = {}
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        w, c = self.stages.get(stage, (0.0, 0.0))
        self.stages[stage] = (w + wall - self._wall, c + cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


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


def official_names(con: DuckDBPyConnection, source_sql: str, target: str) -> None:
    """Create `target(value, name, family, middle, given)`: per distinct name of `source_sql`, the
    register's spelling (`official_name`) and its parts (`split_name`), built in SQL from the domain's
    `name_layout` applied once per distinct pair of first words."""
    con.execute(f"""CREATE OR REPLACE TABLE {target}_spelling AS SELECT value, {_SPELLING} AS name
        FROM (SELECT DISTINCT v AS value FROM ({source_sql}) t(v) WHERE v IS NOT NULL)""")
    normalise.map_distinct(
        con,
        f"SELECT array_to_string(string_split(name, ' ')[1:2], ' ') FROM {target}_spelling",
        _layout,
        pa.schema([("layout", pa.string())]),
        f"{target}_layout",
    )
    con.execute(_OFFICIAL_SQL.format(target=target))
    con.execute(f"DROP TABLE {target}_spelling")
    con.execute(f"DROP TABLE {target}_layout")


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
    con = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        loaded = load_file(con, path, "raw", progress=lambda n: note("read", n, None))
        columns_sql = contract_select(loaded, REGISTER_COLUMNS)
        rejects_path = rejects_path or Path.cwd() / f"{path.stem}.rejects.csv"
        clock.lap("read")
        note("check", 0, loaded.rows)
        _check(con, columns_sql, units)
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
            con.execute(
                "SELECT r, count(*) FROM (SELECT unnest(problems) r FROM checked) GROUP BY r ORDER BY 2 DESC"
            ).fetchall()
        )
        rejected = con.execute("SELECT count(*) FROM checked WHERE len(problems) > 0").fetchall()[0][0]
        wrote_rejects = _write_rejects(con, rejects_path) if rejected else None
        # The file's text is no longer needed: DuckDB's memory goes to the load.
        con.execute("DROP TABLE raw")
        con.execute("DROP TABLE src")
        clock.lap("normalise")

        conn = session.connection()
        with bulk.sqlite_load_settings(conn):
            counts = _merge(conn, con, rec.id, units, note, clock)
        if counts[0] or counts[1]:
            # The matcher's prepared register is read again from the database.
            register_changed(conn, None)
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
        con.close()


def _check(con: DuckDBPyConnection, columns_sql: str, units: Structure) -> None:
    con.execute(f"""CREATE TABLE src AS SELECT *, {normalise.id_digits_sql("personal_id")} AS pid FROM (
        SELECT _line AS line, _malformed AS malformed, {columns_sql} FROM raw)""")
    normalise.name_table(con, "SELECT full_name FROM src", "m_name")
    official_names(con, "SELECT full_name FROM src", "m_official")
    normalise.map_distinct(
        con,
        "SELECT date_of_birth FROM src",
        _dob,
        pa.schema(
            [("d", pa.date32()), ("precision", pa.string()), ("year", pa.int32()), ("problem", pa.string())]
        ),
        "m_dob",
    )
    normalise.map_distinct(con, "SELECT sex FROM src", _sex, pa.schema([("sex", pa.string())]), "m_sex")
    normalise.map_distinct(
        con,
        "SELECT permanent_ward_code FROM src UNION ALL SELECT current_ward_code FROM src",
        _ward(units),
        pa.schema([("code", pa.string()), ("known", pa.bool_())]),
        "m_ward",
    )
    pid = normalise.personal_id_sql("s.pid", cleaned=True)
    old = "regexp_replace(s.old_id, '[\\s.\\-]', '', 'g')"
    checked0 = f"""SELECT s.line, s.personal_id AS raw_personal_id,
        s.pid AS personal_id, {old} AS old_id,
        o.name AS full_name, n.name_key, o.family AS family_name, o.middle AS middle_name,
        o.given AS given_name, d.d AS birth_date, d.precision AS birth_precision, d.year AS birth_year,
        x.sex AS sex, pw.code AS permanent_ward_code, '{units.value}' AS permanent_units,
        coalesce(cw.code, pw.code) AS current_ward_code, '{units.value}' AS current_units,
        s.address, s.phone, s.household_id, s.extra,
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
          CASE WHEN s.old_id IS NOT NULL AND NOT regexp_full_match({old}, '[0-9]{{9}}') THEN 'BAD_OLD_ID' END
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
    con.execute(f"""CREATE TABLE hashed AS SELECT *, {hashed} AS row_hash FROM ({checked0})""")
    con.execute("""CREATE TABLE dups AS
        SELECT personal_id, min(line) AS first_line, min(row_hash) <> max(row_hash) AS conflict
        FROM hashed WHERE len(problems) = 0 GROUP BY personal_id HAVING count(*) > 1""")
    # A view: the duplicates are few, and the columns each later step reads are joined to them on the way.
    con.execute("""CREATE VIEW checked AS
        SELECT h.* EXCLUDE (problems),
          CASE WHEN len(h.problems) > 0 OR d.personal_id IS NULL THEN h.problems
               WHEN d.conflict THEN ['DUPLICATE_ID_CONFLICT']
               WHEN h.line > d.first_line THEN ['DUPLICATE_ROW']
               ELSE h.problems END AS problems
        FROM hashed h LEFT JOIN dups d ON d.personal_id = h.personal_id AND len(h.problems) = 0""")


def _write_rejects(con: DuckDBPyConnection, out: Path) -> Path:
    msgs = (
        "CASE r "
        + " ".join(f"WHEN '{k}' THEN '{vi} / {en}'" for k, (vi, en) in REASONS.items())
        + " ELSE r END"
    )
    originals = ", ".join(f"s.{c.name}" for c in REGISTER_COLUMNS)
    table = con.sql(f"""
        SELECT c.line, array_to_string(c.problems, ';') AS reasons,
               array_to_string(list_transform(c.problems, lambda r: {msgs}), '; ') AS message, {originals}
        FROM checked c JOIN src s ON s.line = c.line
        WHERE len(c.problems) > 0 ORDER BY c.line""").to_arrow_table()
    # The rows come from an outside file: written through the writer that keeps formulas out.
    return write_table(table, out)


def _valid_count(con: DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM checked WHERE len(problems) = 0").fetchall()[0][0])


def _pg_truncatable(conn: Connection, tables: tuple[str, ...]) -> tuple[str, ...] | None:
    """The tables to truncate with `tables` so that a first load may be written frozen: every table that
    references them by a foreign key must go in the same TRUNCATE, so this is allowed only when all of
    them are empty (nothing is lost) and this role may truncate them. None when not."""
    every = list(tables)
    while True:  # the tables that refer to them, and those that refer to these, ...
        refs = conn.exec_driver_sql(
            """SELECT DISTINCT conrelid::regclass::text FROM pg_constraint
            WHERE contype = 'f' AND confrelid = ANY (%s::regclass[])""",
            (every,),
        ).scalars()
        more = [t for t in refs if t not in every]
        if not more:
            break
        every += more
    for t in every:
        if not conn.exec_driver_sql(
            "SELECT has_table_privilege(%s, 'TRUNCATE') AND pg_has_role((SELECT relowner FROM pg_class "
            "WHERE oid = %s::regclass), 'USAGE')",
            (t, t),
        ).scalar():
            return None
        if conn.exec_driver_sql(f"SELECT 1 FROM {t} LIMIT 1").first() is not None:
            return None
    return tuple(every)


def _first_load(
    conn: Connection, con: DuckDBPyConnection, import_id: int, units: Structure, note: Progress, clock: Clock
) -> tuple[int, int, int]:
    """An empty register: rows go straight into `citizen` and `citizen_alias` with their ids decided in
    DuckDB, in personal-id order (so that the keys that stay grow at their right edge), with secondary
    indexes and constraints dropped and built once afterwards: a sorted build is several times faster
    than a million index insertions, and the constraints are checked once for the whole set.

    PostgreSQL: when the database holds no citizen at all and nothing that refers to one, the tables
    are truncated in this transaction and the rows copied frozen (binary COPY ... FREEZE). SQLite keeps
    its unique constraints in the table definition; the sorted order makes their upkeep an append."""
    is_pg = conn.dialect.name == "postgresql"
    now = utcnow()
    total = _valid_count(con)
    citizen_table: Table = Citizen.__table__  # type: ignore[assignment]
    alias_table: Table = CitizenAlias.__table__  # type: ignore[assignment]
    truncate = _pg_truncatable(conn, ("citizen", "citizen_alias")) if is_pg else None
    if truncate:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(truncate)}")
    indexes = [*citizen_table.indexes, *alias_table.indexes]
    for ix in indexes:
        conn.execute(DropIndex(ix))
    alias_fk = next(iter(alias_table.foreign_key_constraints))
    # PostgreSQL can drop constraints inside the transaction; SQLite keeps them in the table definition.
    uniques = [
        c for t in (citizen_table, alias_table) for c in t.constraints if isinstance(c, UniqueConstraint)
    ]
    if is_pg:
        conn.execute(DropConstraint(alias_fk))
        for uq in uniques:
            conn.execute(DropConstraint(uq))
    first = bulk.reserve_ids(conn, "citizen", total)
    # Columns equal on every row are constants of the statement on SQLite, not values bound per row.
    constants: dict[str, bulk.Constant] = {
        "status": "active",
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "last_import_id": import_id,
        "permanent_units": units.value,
        "current_units": units.value,
    }
    varying = [c for c in CITIZEN_COLUMNS if c not in constants]
    # Ids follow the personal-id order: given to each batch as it goes, with no window over the register.
    reader = con.sql(
        f"SELECT {', '.join(varying)} FROM checked WHERE len(problems) = 0 ORDER BY personal_id"
    ).to_arrow_reader(100_000)
    bulk.load_batches(
        conn,
        "citizen",
        bulk.numbered(reader, first),
        lambda n: note("load", n, total),
        freeze=bool(truncate),
        constants=constants,
    )
    aliases = int(
        con.execute("SELECT count(*) FROM checked WHERE len(problems) = 0 AND old_id IS NOT NULL").fetchall()[
            0
        ][0]
    )
    first_alias = bulk.reserve_ids(conn, "citizen_alias", aliases)
    # The aliases' own ids follow their order as the citizens' do: numbered as the batches go.
    reader = con.sql(f"""SELECT citizen_id, alias FROM (
              SELECT CAST({first} - 1 + row_number() OVER (ORDER BY personal_id) AS BIGINT) AS citizen_id,
                     old_id AS alias
              FROM checked WHERE len(problems) = 0)
        WHERE alias IS NOT NULL ORDER BY alias, citizen_id""").to_arrow_reader(200_000)
    bulk.load_batches(
        conn,
        "citizen_alias",
        bulk.numbered(reader, first_alias),
        freeze=bool(truncate),
        constants={"kind": "cmnd", "created_at": now},
    )
    clock.lap("write")
    note("merge", 0, None)
    if is_pg:
        # Each build sorts its keys in memory instead of in temporary files.
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for ix in indexes:
        conn.execute(CreateIndex(ix))
    if is_pg:
        for uq in uniques:
            conn.execute(AddConstraint(uq))
        conn.execute(AddConstraint(alias_fk))
    clock.lap("index")
    if is_pg:
        conn.exec_driver_sql("ANALYZE citizen")
        conn.exec_driver_sql("ANALYZE citizen_alias")
    clock.lap("stats")
    note("merge", 1, 1)
    return int(total), 0, 0


def _merge(
    conn: Connection, con: DuckDBPyConnection, import_id: int, units: Structure, note: Progress, clock: Clock
) -> tuple[int, int, int]:
    """A register that already holds citizens: the stored digests are read out (one column pair, as
    Arrow) and compared in DuckDB, so that only new and changed rows are staged and merged in SQL. A row
    whose digest equals the stored one is unchanged, whatever an officer corrected since."""
    is_pg = conn.dialect.name == "postgresql"
    if conn.execute(text("SELECT count(*) FROM (SELECT 1 FROM citizen LIMIT 1) t")).scalar() == 0:
        return _first_load(conn, con, import_id, units, note, clock)
    stored = query_arrow(
        conn,
        "SELECT personal_id, row_hash FROM citizen",
        pa.schema([("personal_id", pa.string()), ("row_hash", pa.string())]),
    )
    con.register("stored_in", stored)
    con.execute("""CREATE OR REPLACE TABLE changed AS
        SELECT c.* FROM checked c LEFT JOIN stored_in s ON s.personal_id = c.personal_id
        WHERE len(c.problems) = 0 AND (s.row_hash IS NULL OR s.row_hash <> c.row_hash)""")
    con.unregister("stored_in")
    del stored
    total = int(con.execute("SELECT count(*) FROM changed").fetchall()[0][0])
    same = _valid_count(con) - total
    clock.lap("normalise")
    if total == 0:
        note("merge", 1, 1)
        return 0, 0, same
    cols = ", ".join(f"{c} {t}" for c, t in STAGE_COLUMNS)
    conn.exec_driver_sql("DROP TABLE IF EXISTS citizen_stage")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE citizen_stage ({cols})")
    reader = con.sql(
        f"SELECT {', '.join(c for c, _ in STAGE_COLUMNS)} FROM changed ORDER BY personal_id"
    ).to_arrow_reader(100_000)
    bulk.load_batches(conn, "citizen_stage", reader, lambda n: note("load", n, total))
    conn.exec_driver_sql("CREATE UNIQUE INDEX ix_citizen_stage_pid ON citizen_stage (personal_id)")
    if is_pg:
        conn.exec_driver_sql("ANALYZE citizen_stage")
    clock.lap("write")
    note("merge", 0, None)
    counts = conn.execute(
        text("""
        SELECT coalesce(sum(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN c.id IS NOT NULL AND c.row_hash <> s.row_hash THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN c.row_hash = s.row_hash THEN 1 ELSE 0 END), 0)
        FROM citizen_stage s LEFT JOIN citizen c ON c.personal_id = s.personal_id""")
    ).one()
    now = bindparam("now", utcnow(), type_=UtcDateTime)
    params = {"imp": import_id, "src": f"import:{import_id}"}
    history = " UNION ALL ".join(
        f"""SELECT c.id, '{f}', CAST(c.{f} AS VARCHAR(200)), CAST(s.{f} AS VARCHAR(200)), 'register snapshot',
                   :src, :now FROM citizen c JOIN citizen_stage s ON s.personal_id = c.personal_id
            WHERE c.row_hash <> s.row_hash AND c.{f} <> s.{f}"""
        for f in ("full_name", "birth_date", "sex")
    )
    conn.execute(
        text(f"""INSERT INTO citizen_change (citizen_id, field, old_value, new_value, reason, source,
                          changed_at) {history}""").bindparams(now),
        params,
    )
    extra = "CAST(s.extra AS JSON)" if is_pg else "s.extra"
    sets = ", ".join(
        f"{c} = {extra if c == 'extra' else 's.' + c}" for c in CITIZEN_COLUMNS if c != "personal_id"
    )
    conn.execute(
        text(f"""UPDATE citizen SET {sets}, version = citizen.version + 1, updated_at = :now,
                          last_import_id = :imp
                          FROM citizen_stage s
                          WHERE citizen.personal_id = s.personal_id AND citizen.row_hash <> s.row_hash""").bindparams(
            now
        ),
        params,
    )
    select_cols = ", ".join(extra if c == "extra" else f"s.{c}" for c in CITIZEN_COLUMNS)
    conn.execute(
        text(f"""INSERT INTO citizen ({", ".join(CITIZEN_COLUMNS)}, status, version, created_at,
                          updated_at, last_import_id)
                          SELECT {select_cols}, 'active', 1, :now, :now, :imp FROM citizen_stage s
                          WHERE NOT EXISTS (SELECT 1 FROM citizen c WHERE c.personal_id = s.personal_id)""").bindparams(
            now
        ),
        params,
    )
    conn.execute(
        text("""INSERT INTO citizen_alias (citizen_id, alias, kind, created_at)
                         SELECT c.id, s.old_id, 'cmnd', :now FROM citizen_stage s
                         JOIN citizen c ON c.personal_id = s.personal_id
                         WHERE s.old_id IS NOT NULL AND NOT EXISTS (
                           SELECT 1 FROM citizen_alias a
                           WHERE a.citizen_id = c.id AND a.alias = s.old_id AND a.kind = 'cmnd')""").bindparams(
            now
        )
    )
    conn.exec_driver_sql("DROP TABLE citizen_stage")
    con.execute("DROP TABLE changed")
    clock.lap("merge")
    note("merge", 1, 1)
    return int(counts[0]), int(counts[1]), int(counts[2]) + same

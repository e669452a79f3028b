"""A checked register snapshot (DuckDB's view `checked`) written into the database: a first load straight
into an empty register, or a merge of the new and changed rows only, with the history of what changed."""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import BindParameter, Connection, bindparam, text

from vaxlink.domain.admin_units import Structure
from vaxlink.services.reconciliation.duck_views import run_over
from vaxlink.services.reconciliation.reconcile import Progress
from vaxlink.storage import bulk
from vaxlink.storage.deferred_keys import DeferredKeys, truncatable
from vaxlink.storage.extract import query_arrow
from vaxlink.storage.models import UtcDateTime, utcnow

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
_VALID = "FROM checked WHERE len(problems) = 0"


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


def merge(
    db: Connection, duck: DuckDBPyConnection, import_id: int, units: Structure, note: Progress, clock: Clock
) -> tuple[int, int, int]:
    """The valid rows of `checked` into the register: (imported, updated, unchanged).

    A register that already holds citizens: the stored digests are read out (one column pair, as Arrow)
    and compared in DuckDB, so that only new and changed rows are staged and merged in SQL. A row whose
    digest equals the stored one is unchanged, whatever an officer corrected since."""
    if db.execute(text("SELECT count(*) FROM (SELECT 1 FROM citizen LIMIT 1) t")).scalar() == 0:
        return _first_load(db, duck, import_id, units, note, clock)
    stored = query_arrow(
        db,
        "SELECT personal_id, row_hash FROM citizen",
        pa.schema([("personal_id", pa.string()), ("row_hash", pa.string())]),
    )
    run_over(
        duck,
        "stored_in",
        stored,
        """CREATE OR REPLACE TABLE changed AS
        SELECT c.* FROM checked c LEFT JOIN stored_in s ON s.personal_id = c.personal_id
        WHERE len(c.problems) = 0 AND (s.row_hash IS NULL OR s.row_hash <> c.row_hash)""",
    )
    del stored
    total = int(duck.execute("SELECT count(*) FROM changed").fetchall()[0][0])
    same = _valid_count(duck) - total
    clock.lap("normalise")
    if total == 0:
        note("merge", 1, 1)
        return 0, 0, same
    _stage_changed(db, duck, total, note)
    clock.lap("write")
    note("merge", 0, None)
    counts = db.execute(
        text("""
        SELECT coalesce(sum(CASE WHEN c.id IS NULL THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN c.id IS NOT NULL AND c.row_hash <> s.row_hash THEN 1 ELSE 0 END), 0),
               coalesce(sum(CASE WHEN c.row_hash = s.row_hash THEN 1 ELSE 0 END), 0)
        FROM citizen_stage s LEFT JOIN citizen c ON c.personal_id = s.personal_id""")
    ).one()
    _apply_staged(db, import_id)
    db.exec_driver_sql("DROP TABLE citizen_stage")
    duck.execute("DROP TABLE changed")
    clock.lap("merge")
    note("merge", 1, 1)
    return int(counts[0]), int(counts[1]), int(counts[2]) + same


def _valid_count(duck: DuckDBPyConnection) -> int:
    return int(duck.execute(f"SELECT count(*) {_VALID}").fetchall()[0][0])


def _stage_changed(db: Connection, duck: DuckDBPyConnection, total: int, note: Progress) -> None:
    """The temporary table `citizen_stage`: DuckDB's `changed` rows, keyed by personal id."""
    cols = ", ".join(f"{c} {t}" for c, t in STAGE_COLUMNS)
    db.exec_driver_sql("DROP TABLE IF EXISTS citizen_stage")
    db.exec_driver_sql(f"CREATE TEMPORARY TABLE citizen_stage ({cols})")
    reader = duck.sql(
        f"SELECT {', '.join(c for c, _ in STAGE_COLUMNS)} FROM changed ORDER BY personal_id"
    ).to_arrow_reader(100_000)
    bulk.load_batches(db, "citizen_stage", reader, lambda n: note("load", n, total))
    db.exec_driver_sql("CREATE UNIQUE INDEX ix_citizen_stage_pid ON citizen_stage (personal_id)")
    if db.dialect.name == "postgresql":
        db.exec_driver_sql("ANALYZE citizen_stage")


def _apply_staged(db: Connection, import_id: int) -> None:
    """`citizen_stage` merged: the changes of the changed citizens' names, birth dates and sexes kept in
    `citizen_change`, changed citizens updated, new ones inserted, new old ids (CMND) added as aliases."""
    now = bindparam("now", utcnow(), type_=UtcDateTime)
    params = {"imp": import_id, "src": f"import:{import_id}"}
    history = " UNION ALL ".join(
        f"""SELECT c.id, '{f}', CAST(c.{f} AS VARCHAR(200)), CAST(s.{f} AS VARCHAR(200)), 'register snapshot',
                   :src, :now FROM citizen c JOIN citizen_stage s ON s.personal_id = c.personal_id
            WHERE c.row_hash <> s.row_hash AND c.{f} <> s.{f}"""
        for f in ("full_name", "birth_date", "sex")
    )
    db.execute(
        text(f"""INSERT INTO citizen_change (citizen_id, field, old_value, new_value, reason, source,
                          changed_at) {history}""").bindparams(now),
        params,
    )
    extra = "CAST(s.extra AS JSON)" if db.dialect.name == "postgresql" else "s.extra"
    sets = ", ".join(
        f"{c} = {extra if c == 'extra' else 's.' + c}" for c in CITIZEN_COLUMNS if c != "personal_id"
    )
    db.execute(
        text(f"""UPDATE citizen SET {sets}, version = citizen.version + 1, updated_at = :now,
                          last_import_id = :imp
                          FROM citizen_stage s
                          WHERE citizen.personal_id = s.personal_id AND citizen.row_hash <> s.row_hash""").bindparams(
            now
        ),
        params,
    )
    select_cols = ", ".join(extra if c == "extra" else f"s.{c}" for c in CITIZEN_COLUMNS)
    db.execute(
        text(f"""INSERT INTO citizen ({", ".join(CITIZEN_COLUMNS)}, status, version, created_at,
                          updated_at, last_import_id)
                          SELECT {select_cols}, 'active', 1, :now, :now, :imp FROM citizen_stage s
                          WHERE NOT EXISTS (SELECT 1 FROM citizen c WHERE c.personal_id = s.personal_id)""").bindparams(
            now
        ),
        params,
    )
    _add_aliases(db, now)


def _add_aliases(db: Connection, now: BindParameter[Any]) -> None:
    db.execute(
        text("""INSERT INTO citizen_alias (citizen_id, alias, kind, created_at)
                         SELECT c.id, s.old_id, 'cmnd', :now FROM citizen_stage s
                         JOIN citizen c ON c.personal_id = s.personal_id
                         WHERE s.old_id IS NOT NULL AND NOT EXISTS (
                           SELECT 1 FROM citizen_alias a
                           WHERE a.citizen_id = c.id AND a.alias = s.old_id AND a.kind = 'cmnd')""").bindparams(
            now
        )
    )


def _first_load(
    db: Connection, duck: DuckDBPyConnection, import_id: int, units: Structure, note: Progress, clock: Clock
) -> tuple[int, int, int]:
    """An empty register: rows go straight into `citizen` and `citizen_alias` with their ids decided in
    DuckDB, in personal-id order (so that the keys that stay grow at their right edge), with secondary
    indexes and constraints dropped and built once afterwards: a sorted build is several times faster
    than a million index insertions, and the constraints are checked once for the whole set.

    PostgreSQL: when the database holds no citizen at all and nothing that refers to one, the tables
    are truncated in this transaction and the rows copied frozen (binary COPY ... FREEZE). SQLite keeps
    its unique constraints in the table definition; the sorted order makes their upkeep an append."""
    is_pg = db.dialect.name == "postgresql"
    total = _valid_count(duck)
    truncate = truncatable(db, ("citizen", "citizen_alias"))
    if truncate:
        db.exec_driver_sql(f"TRUNCATE {', '.join(truncate)}")
    keys = DeferredKeys.read(db, ("citizen", "citizen_alias"))
    keys.drop(db)
    _load_citizens(db, duck, import_id, units, note, total, bool(truncate))
    clock.lap("write")
    note("merge", 0, None)
    keys.build(db)
    clock.lap("index")
    if is_pg:
        db.exec_driver_sql("ANALYZE citizen")
        db.exec_driver_sql("ANALYZE citizen_alias")
    clock.lap("stats")
    note("merge", 1, 1)
    return int(total), 0, 0


def _load_citizens(
    db: Connection,
    duck: DuckDBPyConnection,
    import_id: int,
    units: Structure,
    note: Progress,
    total: int,
    freeze: bool,
) -> None:
    """The valid rows as citizens, numbered in personal-id order, and their old ids as aliases."""
    now = utcnow()
    first = bulk.reserve_ids(db, "citizen", total)
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
    reader = duck.sql(f"SELECT {', '.join(varying)} {_VALID} ORDER BY personal_id").to_arrow_reader(100_000)
    bulk.load_batches(
        db,
        "citizen",
        bulk.numbered(reader, first),
        lambda n: note("load", n, total),
        freeze=freeze,
        constants=constants,
    )
    aliases = int(duck.execute(f"SELECT count(*) {_VALID} AND old_id IS NOT NULL").fetchall()[0][0])
    first_alias = bulk.reserve_ids(db, "citizen_alias", aliases)
    # The aliases' own ids follow their order as the citizens' do: numbered as the batches go.
    reader = duck.sql(f"""SELECT citizen_id, alias FROM (
              SELECT CAST({first} - 1 + row_number() OVER (ORDER BY personal_id) AS BIGINT) AS citizen_id,
                     old_id AS alias
              {_VALID})
        WHERE alias IS NOT NULL ORDER BY alias, citizen_id""").to_arrow_reader(200_000)
    bulk.load_batches(
        db,
        "citizen_alias",
        bulk.numbered(reader, first_alias),
        freeze=freeze,
        constants={"kind": "cmnd", "created_at": now},
    )

"""The register as the matcher reads it: copied from the database into DuckDB, or read from the prepared
register kept in the work directory and brought up to date."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection

from vaxlink.matching import register_store
from vaxlink.matching.prepare import prepare_register
from vaxlink.matching.spec import MatchSpec
from vaxlink.settings import Settings
from vaxlink.storage.extract import arrow_schema, query_arrow
from vaxlink.storage.register_log import RegisterVersion, changed_since, current_version

REGISTER_SCHEMA = arrow_schema(
    "citizen_id:int64 personal_id full_name birth_date:date32 birth_precision birth_year:int32 sex"
    " current_ward_code current_units permanent_ward_code permanent_units phone household_id address"
)
ALIAS_SCHEMA = pa.schema([("citizen_id", pa.int64()), ("alias", pa.string()), ("kind", pa.string())])
_REGISTER_SQL = """SELECT id, personal_id, full_name, birth_date, birth_precision, birth_year, sex,
        current_ward_code, current_units, permanent_ward_code, permanent_units, phone, household_id, address
        FROM citizen WHERE status = 'active'"""


@dataclass
class RegisterLoad:
    """How the register reached the matcher: `stored` (read in part from the prepared register kept in
    the work directory), `patched` (the kept one with the changed citizens prepared again), `built`
    (prepared whole from the database)."""

    how: str
    citizens: int  # in the register
    read: int  # of them read for this batch
    seconds: float


def load_register(
    db: Connection,
    duck: DuckDBPyConnection,
    settings: Settings | None = None,
    spec: MatchSpec | None = None,
) -> RegisterLoad:
    """The register prepared for matching in `duck` (`reg`, `reg_alias`, `reg_size`, and `reg_home`: where
    each citizen lives now, the ward whose worklist gets a record in doubt about them).

    With `settings` and `spec`, and the batch's identities already in `rec_ident`, the prepared register
    is kept in the work directory between batches and only the citizens the batch can reach are read from
    it (`matching/register_store.py`); it is brought up to date first when the register has changed since
    (its changed citizens prepared again, or the whole of it after an import). The outcomes are the same
    either way. Without them, the whole register is prepared from the database."""
    started = time.perf_counter()
    if settings is None or spec is None:
        _build_register(db, duck)
        return RegisterLoad("built", _count(duck, "reg"), _count(duck, "reg"), time.perf_counter() - started)
    # Read before the citizens: a change committed in between is seen as a newer version next time.
    version = current_version(db)
    base = settings.work_dir / "register"
    digest = register_store.prepare_digest(spec)
    stored = register_store.find(base, digest, (version.version, version.token))
    if stored is not None:
        read = register_store.load_reached(duck, stored, spec)
        return RegisterLoad("stored", stored.citizens, read, time.perf_counter() - started)
    older = register_store.find(base, digest)
    changed = None
    if older is not None:
        changed = changed_since(db, RegisterVersion(older.version, older.token))
    if older is not None and changed is not None:
        _patch_register(db, duck, older, changed)
        how = "patched"
    else:
        _build_register(db, duck)
        how = "built"
    stored = register_store.save(duck, base, digest, version.version, version.token)
    # The blocking keys the next batches reach the register by, made while the register is at hand.
    register_store.write_keys(duck, stored, spec)
    # The whole register is at hand: this batch is matched against all of it.
    return RegisterLoad(how, stored.citizens, stored.citizens, time.perf_counter() - started)


def _count(duck: DuckDBPyConnection, table: str) -> int:
    return int(duck.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def _build_register(db: Connection, duck: DuckDBPyConnection) -> None:
    """Copy the active register and its aliases into DuckDB and prepare them whole."""
    reg = query_arrow(db, _REGISTER_SQL, REGISTER_SCHEMA)
    aliases = query_arrow(db, "SELECT citizen_id, alias, kind FROM citizen_alias", ALIAS_SCHEMA)
    duck.register("register_in", reg)
    duck.register("alias_in", aliases)
    prepare_register(duck, "register_in", "alias_in")
    duck.execute(
        "CREATE OR REPLACE TABLE reg_home AS SELECT citizen_id, current_ward_code AS ward, current_units AS units "
        "FROM register_in"
    )
    duck.unregister("register_in")
    duck.unregister("alias_in")


def _patch_register(
    db: Connection, duck: DuckDBPyConnection, stored: register_store.Stored, changed: list[int]
) -> None:
    """The kept register with the rows of the `changed` citizens read again from the database."""
    # At most `register_log.PATCH_LIMIT` numbers, written into the queries: both backends take the list.
    ids = ", ".join(str(int(c)) for c in changed) or "NULL"
    reg = query_arrow(db, f"{_REGISTER_SQL} AND id IN ({ids})", REGISTER_SCHEMA)
    aliases = query_arrow(
        db, f"SELECT citizen_id, alias, kind FROM citizen_alias WHERE citizen_id IN ({ids})", ALIAS_SCHEMA
    )
    duck.register("register_in", reg)
    duck.register("alias_in", aliases)
    duck.register("changed_in", pa.table({"citizen_id": pa.array(changed, pa.int64())}))
    duck.execute(
        "CREATE OR REPLACE TABLE changed_home AS SELECT citizen_id, current_ward_code AS ward, "
        "current_units AS units FROM register_in"
    )
    register_store.patch(
        duck, stored, "SELECT citizen_id FROM changed_in", "register_in", "alias_in", "changed_home"
    )
    for view in ("register_in", "alias_in", "changed_in"):
        duck.unregister(view)
    duck.execute("DROP TABLE changed_home")

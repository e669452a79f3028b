"""Keys deferred for a first bulk load: a table's secondary indexes, unique constraints and foreign keys
dropped before its rows go in and built once afterwards, from the database's own definitions.

A sorted build is several times faster than a million index insertions in random key order, and a
constraint added afterwards is checked once for the whole set (one join) instead of row by row. At 1 M
citizens and their 1.8 M dose records on PostgreSQL, the rows copied within the server: dose_record 8.6 s
with its indexes kept against 5.5 s (2.4 s loading, 3.1 s building), match_result 8.9 s against 3.5 s. Fed
from a first batch, whose COPY goes at the pace the rows are encoded, loading and building took 21 s
against 24 s.

Primary keys stay: rows arrive in key order, so their upkeep is an append, and other tables' foreign keys
rest on them. A unique constraint that a foreign key rests on stays for the same reason. The definitions
are read from the database, not from the models, so what is built again is exactly what was dropped.

Everything happens in the caller's transaction: a failed load leaves the keys as they were. On
PostgreSQL the tables are locked (ACCESS EXCLUSIVE) from the drop to the commit; the callers use this
only for a first load, when no one has anything to read in them yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection

# Standalone indexes (not those behind a constraint) other than the primary key.
_PG_INDEXES = """SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
    ORDER BY c.relname"""
# Unique constraints no foreign key rests on, then the table's own foreign keys.
_PG_CONSTRAINTS = """SELECT quote_ident(k.conname), pg_get_constraintdef(k.oid), k.contype
    FROM pg_constraint k
    WHERE k.conrelid = to_regclass(%s) AND (k.contype = 'f' OR (k.contype = 'u' AND NOT EXISTS (
      SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = k.conindid)))
    ORDER BY k.contype DESC, k.conname"""


@dataclass
class DeferredKeys:
    """What was dropped from `tables`, to be built again: (table, name, definition) each."""

    indexes: list[tuple[str, str]] = field(default_factory=list)  # (name, CREATE INDEX ...)
    constraints: list[tuple[str, str, str, str]] = field(default_factory=list)  # (table, name, def, type)

    @classmethod
    def read(cls, conn: Connection, tables: Sequence[str]) -> DeferredKeys:
        keys = cls()
        if conn.dialect.name == "postgresql":
            for t in tables:
                keys.indexes += [(str(n), str(d)) for n, d in conn.exec_driver_sql(_PG_INDEXES, (t,))]
                keys.constraints += [
                    (t, str(n), str(d), str(k)) for n, d, k in conn.exec_driver_sql(_PG_CONSTRAINTS, (t,))
                ]
            return keys
        # SQLite keeps unique and foreign keys in the table's definition: only its own indexes can go.
        for t in tables:
            keys.indexes += [
                (f'"{n}"', str(sql))
                for n, sql in conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                    "AND sql IS NOT NULL ORDER BY name",
                    (t,),
                )
            ]
        return keys

    def drop(self, conn: Connection) -> None:
        if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            # Python's sqlite3 opens its transaction only before a row is written: DDL before that would
            # be committed at once, and a failed load would leave the keys dropped.
            conn.exec_driver_sql("BEGIN")
        # Foreign keys before the unique constraints.
        for table, name, _d, _k in sorted(self.constraints, key=lambda c: c[3]):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _d in self.indexes:
            conn.exec_driver_sql(f"DROP INDEX {name}")

    def build(self, conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            # Each build sorts its keys in memory instead of in temporary files.
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for _n, definition in self.indexes:
            conn.exec_driver_sql(definition)
        # Unique constraints before the foreign keys (`_PG_CONSTRAINTS` orders them so).
        for table, name, definition, _k in self.constraints:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")


def _owns(conn: Connection, table: str) -> bool:
    """PostgreSQL: whether this connection's role owns `table` (or is a member of the role that does)."""
    return bool(
        conn.exec_driver_sql(
            "SELECT pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass(%s)), 'USAGE')",
            (table,),
        ).scalar()
    )


def may_defer(conn: Connection, tables: Sequence[str]) -> bool:
    """Whether this connection may drop and build the keys of `tables`: on PostgreSQL only their owner
    may (the service's own role may not: its first batch keeps the keys as they are); SQLite has no roles."""
    return conn.dialect.name != "postgresql" or all(_owns(conn, t) for t in tables)


@contextmanager
def deferred_keys(conn: Connection, tables: Sequence[str]) -> Iterator[DeferredKeys]:
    """Drop the keys of `tables` for the length of the block, build them after it; then (PostgreSQL)
    gather the tables' statistics, so that the statements that follow in the same transaction are
    planned on their new contents."""
    keys = DeferredKeys.read(conn, tables)
    keys.drop(conn)
    yield keys
    keys.build(conn)
    if conn.dialect.name == "postgresql":
        for t in tables:
            conn.exec_driver_sql(f"ANALYZE {t}")


def truncatable(db: Connection, tables: tuple[str, ...]) -> tuple[str, ...] | None:
    """PostgreSQL: the tables to truncate with `tables` so that a first load may be written frozen (binary
    COPY ... FREEZE, allowed only into a table truncated in the same transaction): every table that
    references them by a foreign key must go in the same TRUNCATE, so this is allowed only when all of
    them are empty (nothing is lost) and this role may truncate them. None when not, and on SQLite."""
    if db.dialect.name != "postgresql":
        return None
    every = list(tables)
    while True:  # the tables that refer to them, and those that refer to these, ...
        refs = db.exec_driver_sql(
            """SELECT DISTINCT conrelid::regclass::text FROM pg_constraint
            WHERE contype = 'f' AND confrelid = ANY (%s::regclass[])""",
            (every,),
        ).scalars()
        more = [t for t in refs if t not in every]
        if not more:
            break
        every += more
    for t in every:
        if not db.exec_driver_sql("SELECT has_table_privilege(%s, 'TRUNCATE')", (t,)).scalar():
            return None
        if not _owns(db, t) or db.exec_driver_sql(f"SELECT 1 FROM {t} LIMIT 1").first() is not None:
            return None
    return tuple(every)

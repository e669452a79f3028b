"""Set-based loading of Arrow batches into a table: COPY on PostgreSQL, executemany on SQLite.

Runs on the caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection


def _driver_connection(conn: Connection) -> object:
    return conn.connection.driver_connection


def load_batches(
    conn: Connection,
    table: str,
    batches: Iterable[pa.RecordBatch],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Append every batch to `table` (columns matched by the batches' field names). Returns rows loaded.

    `progress` is told the running row count as batches go in."""
    if progress is not None:
        batches = _counted(batches, progress)
    if conn.dialect.name == "postgresql":
        return _copy_pg(conn, table, batches)
    return _executemany(conn, table, batches)


def _counted(batches: Iterable[pa.RecordBatch], progress: Callable[[int], None]) -> Iterator[pa.RecordBatch]:
    done = 0
    for b in batches:
        done += b.num_rows
        progress(done)
        yield b


def _copy_pg(conn: Connection, table: str, batches: Iterable[pa.RecordBatch]) -> int:
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return 0
    raw = _driver_connection(conn)
    cols = ", ".join(f'"{n}"' for n in first.schema.names)
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    total = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:  # type: ignore[attr-defined]
        for b in itertools.chain([first], it):
            buf = io.BytesIO()
            pacsv.write_csv(b, buf, options)
            copy.write(buf.getvalue())
            total += b.num_rows
    return total


def _rows(b: pa.RecordBatch) -> Iterator[tuple[object, ...]]:
    cols = [c.to_pylist() for c in b.columns]
    return zip(*cols, strict=True)


def _executemany(conn: Connection, table: str, batches: Iterable[pa.RecordBatch]) -> int:
    raw = _driver_connection(conn)
    total = 0
    cur = raw.cursor()  # type: ignore[attr-defined]
    try:
        for b in batches:
            names = b.schema.names
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
            cur.executemany(sql, _rows(_sqlite_ready(b)))
            total += b.num_rows
    finally:
        cur.close()
    return total


def _sqlite_ready(b: pa.RecordBatch) -> pa.RecordBatch:
    # SQLite keeps dates as ISO text (as SQLAlchemy's Date type does): cast them before binding.
    arrays = [c.cast(pa.string()) if pa.types.is_date(c.type) else c for c in b.columns]
    return pa.RecordBatch.from_arrays(arrays, names=b.schema.names)


def reserve_ids(conn: Connection, table: str, n: int) -> int:
    """Reserve `n` consecutive ids of `table`'s key and return the first: bulk rows then carry their ids
    from the start, so nothing has to be read back to learn them.

    PostgreSQL: the sequence is moved past the block under a transaction-scoped advisory lock that every
    bulk writer takes (rows of these tables are created only by bulk writers). SQLite has one writer at a
    time, and a table's next rowid follows its largest id."""
    if n <= 0:
        return 0
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext('vaxlink:reserve:' || %s))", (table,))
        seq = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).scalar_one()
        first = int(conn.exec_driver_sql("SELECT nextval(%s)", (seq,)).scalar_one())
        conn.exec_driver_sql("SELECT setval(%s, %s)", (seq, first + n - 1))
        return first
    top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar_one()
    return int(top) + 1

"""Set-based loading of Arrow batches into a table: binary COPY on PostgreSQL, prepared bulk inserts on
SQLite.

Runs on the caller's connection, inside the caller's transaction. On PostgreSQL the Arrow columns are
encoded into COPY's binary format with vectorised array operations (no Python object per row or per
value); a column whose type has no binary encoding here goes through CSV instead, written by Arrow.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Connection

Constant = str | int | datetime

# PostgreSQL's epoch (2000-01-01) in days and microseconds after the Unix epoch.
_PG_EPOCH_DAYS = 10_957
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400 * 1_000_000
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TEXT_TYPES = {"text", "character varying", "character", "json", "name"}
_INT_TYPES = {"smallint": ">i2", "integer": ">i4", "bigint": ">i8"}
_FLOAT_TYPES = {"real": ">f4", "double precision": ">f8"}


def _driver_connection(conn: Connection) -> object:
    return conn.connection.driver_connection


def load_batches(
    conn: Connection,
    table: str,
    batches: Iterable[pa.RecordBatch],
    progress: Callable[[int], None] | None = None,
    *,
    freeze: bool = False,
    constants: Mapping[str, Constant] | None = None,
) -> int:
    """Append every batch to `table` (columns matched by the batches' field names). Returns rows loaded.

    `progress` is told the running row count as batches go in. `constants` gives columns that hold the
    same value on every row (text, integer, or an aware timestamp). `freeze` (PostgreSQL): the rows are
    written frozen, which PostgreSQL allows only into a table created or truncated in this transaction;
    they then never need vacuum's freezing pass nor hint-bit writes on their first reads."""
    if progress is not None:
        batches = _counted(batches, progress)
    if conn.dialect.name == "postgresql":
        if constants:
            batches = (_with_constants(b, constants) for b in batches)
        return _copy_pg(conn, table, batches, freeze)
    return _executemany(conn, table, batches, constants or {})


def _with_constants(b: pa.RecordBatch, constants: Mapping[str, Constant]) -> pa.RecordBatch:
    arrays = [*b.columns, *(pa.repeat(pa.scalar(v), b.num_rows) for v in constants.values())]
    return pa.RecordBatch.from_arrays(arrays, names=[*b.schema.names, *constants])


def _sql_literal(v: Constant) -> str:
    if isinstance(v, datetime):
        if v.tzinfo is None:
            raise ValueError("naive datetime: every timestamp must carry its time zone")
        # As SQLAlchemy's UtcDateTime stores it on SQLite: naive UTC text.
        v = v.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    return str(int(v))


def _counted(batches: Iterable[pa.RecordBatch], progress: Callable[[int], None]) -> Iterator[pa.RecordBatch]:
    done = 0
    for b in batches:
        done += b.num_rows
        progress(done)
        yield b


def numbered(batches: Iterable[pa.RecordBatch], first: int, name: str = "id") -> Iterator[pa.RecordBatch]:
    """The batches with a first column `name` numbering their rows consecutively from `first`."""
    for b in batches:
        ids = pa.array(np.arange(first, first + b.num_rows, dtype=np.int64))
        first += b.num_rows
        yield pa.RecordBatch.from_arrays([ids, *b.columns], names=[name, *b.schema.names])


def pg_column_types(conn: Connection, table: str) -> dict[str, str]:
    """Column name → type name (`format_type` without modifiers) of a table or temporary table."""
    rows = conn.exec_driver_sql(
        """SELECT attname, format_type(atttypid, NULL) FROM pg_attribute
        WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped""",
        (table,),
    ).all()
    return {str(n): str(t) for n, t in rows}


def _copy_pg(conn: Connection, table: str, batches: Iterable[pa.RecordBatch], freeze: bool) -> int:
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return 0
    raw = _driver_connection(conn)
    names = first.schema.names
    cols = ", ".join(f'"{n}"' for n in names)
    types = pg_column_types(conn, table)
    binary = all(_binary_encodable(first.schema.field(n).type, types.get(n, "")) for n in names)
    options = ", FREEZE" if freeze else ""
    fmt = "binary" if binary else "csv"
    csv_options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    total = 0
    sql = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT {fmt}{options})"
    # The rows go to the server from a thread of psycopg's while the next batch is read and encoded here.
    with raw.cursor() as cur, cur.copy(sql, writer=QueuedLibpqWriter(cur)) as copy:  # type: ignore[attr-defined]
        if binary:
            copy.write(_BINARY_HEADER)
        for b in itertools.chain([first], it):
            if binary:
                copy.write(encode_binary(b, [types[n] for n in names]))
            else:
                buf = io.BytesIO()
                pacsv.write_csv(b, buf, csv_options)
                copy.write(buf.getvalue())
            total += b.num_rows
        if binary:
            copy.write(b"\xff\xff")
    return total


def _binary_encodable(arrow: pa.DataType, pg: str) -> bool:
    t = pa.types
    checks: dict[str, Callable[[], bool]] = {
        "boolean": lambda: bool(t.is_boolean(arrow)),
        "date": lambda: bool(t.is_date32(arrow)),
        "timestamp with time zone": lambda: bool(t.is_timestamp(arrow) and arrow.tz is not None),
        "timestamp without time zone": lambda: bool(t.is_timestamp(arrow) and arrow.tz is None),
    }
    if pg in _TEXT_TYPES:
        return bool(t.is_string(arrow) or t.is_large_string(arrow))
    if pg in _INT_TYPES:
        return bool(t.is_integer(arrow))
    if pg in _FLOAT_TYPES:
        return bool(t.is_floating(arrow) or t.is_integer(arrow))
    return pg in checks and checks[pg]()


def _fixed(arr: pa.Array, pg: str) -> tuple[np.ndarray, int]:
    """The big-endian bytes of a fixed-width column, one row per line of the returned (n, width) array."""
    if pg in _INT_TYPES or pg in _FLOAT_TYPES:
        dtype = np.dtype(_INT_TYPES.get(pg) or _FLOAT_TYPES[pg])
        # Arrow's checked cast to the column's own width: a value out of range fails here, as it would
        # in PostgreSQL, instead of wrapping around.
        exact = {
            ">i2": pa.int16(),
            ">i4": pa.int32(),
            ">i8": pa.int64(),
            ">f4": pa.float32(),
            ">f8": pa.float64(),
        }
        values = pc.fill_null(arr.cast(exact[dtype.str]), 0).to_numpy(zero_copy_only=False).astype(dtype)
    elif pg == "boolean":
        values = pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(np.uint8)
        dtype = np.dtype(np.uint8)
    elif pg == "date":
        days = pc.fill_null(arr.cast(pa.int32()), 0).to_numpy(zero_copy_only=False)
        values = (days.astype(np.int64) - _PG_EPOCH_DAYS).astype(">i4")
        dtype = values.dtype
    else:  # timestamps, as microseconds
        micros = arr.cast(pa.timestamp("us", arr.type.tz)).cast(pa.int64())
        values = (pc.fill_null(micros, 0).to_numpy(zero_copy_only=False) - _PG_EPOCH_US).astype(">i8")
        dtype = values.dtype
    return values.view(np.uint8).reshape(len(arr), dtype.itemsize), dtype.itemsize


def _fixed_binary(raw: np.ndarray, validity: pa.Buffer | None) -> pa.Array:
    n, width = raw.shape
    buf = pa.py_buffer(np.ascontiguousarray(raw))
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [validity, buf]).cast(pa.large_binary())


def encode_binary(batch: pa.RecordBatch, pg_types: list[str]) -> bytes:
    """The rows of `batch` as COPY binary tuples (without the file header and trailer).

    Each tuple is a 16-bit field count, then per field a 32-bit length (-1 for NULL) and its bytes. Every
    piece is an Arrow array (lengths from the columns' offsets, fixed-width values as big-endian bytes),
    and Arrow's element-wise concatenation lays the rows out one after another in a single buffer."""
    n = batch.num_rows
    if n == 0:
        return b""
    count = np.array([batch.num_columns], dtype=">i2").view(np.uint8)
    parts: list[pa.Array] = [_fixed_binary(np.tile(count, (n, 1)), None)]
    for arr, pg in zip(batch.columns, pg_types, strict=True):
        validity = pc.is_valid(arr).buffers()[1] if arr.null_count else None
        if pg in _TEXT_TYPES:
            payload = arr.cast(pa.large_binary())
            lengths = pc.fill_null(pc.binary_length(payload), -1).to_numpy(zero_copy_only=False)
        else:
            raw, width = _fixed(arr, pg)
            payload = _fixed_binary(raw, validity)
            valid = (
                np.ones(n, dtype=bool)
                if validity is None
                else pc.is_valid(arr).to_numpy(zero_copy_only=False)
            )
            lengths = np.where(valid, width, -1)
        parts += [_fixed_binary(lengths.astype(">i4").view(np.uint8).reshape(n, 4), None), payload]
    rows = pc.binary_join_element_wise(
        *parts, pa.scalar(b"", pa.large_binary()), null_handling="replace", null_replacement=b""
    )
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset : rows.offset + n + 1]
    data = rows.buffers()[2]
    assert data is not None
    return bytes(data[int(offsets[0]) : int(offsets[-1])].to_pybytes())


def _pylist(arr: pa.Array) -> list[object]:
    """The column's values as Python objects. A text column that repeats its values (ward codes, dates,
    parts of names) has each distinct value made once and shared by its rows: making a Python string
    costs several times more than taking one from an array, and SQLite binds either alike. A sample of
    the column's start decides, so that a column of distinct values (ids, digests) is not hashed for
    nothing."""
    text = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
    if (
        text
        and len(arr) >= 2 * _SAMPLE
        and pc.count_distinct(arr.slice(0, _SAMPLE), mode="all").as_py() * 2 <= _SAMPLE
    ):
        enc = pc.dictionary_encode(arr)
        values = np.array([*enc.dictionary.to_pylist(), None], dtype=object)
        idx = pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False)
        shared: list[object] = values[idx].tolist()
        return shared
    plain: list[object] = arr.to_pylist()
    return plain


_SAMPLE = 4096


# Rows per INSERT statement on SQLite: one statement step writes them all, and the bound values are
# laid out column after column, as Arrow holds them (far under SQLite's limit of 32,766 parameters).
ROWS_PER_INSERT = 100


def _insert_sql(table: str, names: list[str], literals: list[str], rows: int) -> str:
    """INSERT of `rows` rows whose values are numbered column-major: column j of row r is ?(j*rows+r+1)."""
    width = len(names) - len(literals)
    tuples = (
        "(" + ", ".join([*(f"?{j * rows + r + 1}" for j in range(width)), *literals]) + ")"
        for r in range(rows)
    )
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join(tuples)}"


def _column_chunks(cols: list[list[object]], start: int, stop: int, k: int) -> Iterator[list[object]]:
    for i in range(start, stop, k):
        yield list(itertools.chain.from_iterable(c[i : i + k] for c in cols))


def _executemany(
    conn: Connection, table: str, batches: Iterable[pa.RecordBatch], constants: Mapping[str, Constant]
) -> int:
    """Prepared multi-row INSERTs fed from the batches' columns: Python objects are made per value (and
    once per distinct value where a column repeats itself), none per row."""
    raw = _driver_connection(conn)
    total = 0
    literals = [_sql_literal(v) for v in constants.values()]
    cur = raw.cursor()  # type: ignore[attr-defined]
    try:
        for b in batches:
            n = b.num_rows
            if n == 0:
                continue
            names = [*b.schema.names, *constants]
            cols = [_pylist(c) for c in _sqlite_ready(b).columns]
            k = min(ROWS_PER_INSERT, n)
            full = n - n % k
            cur.executemany(_insert_sql(table, names, literals, k), _column_chunks(cols, 0, full, k))
            if n > full:
                cur.execute(_insert_sql(table, names, literals, n - full), *_column_chunks(cols, full, n, n))
            total += n
    finally:
        cur.close()
    return total


def _sqlite_ready(b: pa.RecordBatch) -> pa.RecordBatch:
    # SQLite keeps dates as ISO text (as SQLAlchemy's Date type does): cast them before binding.
    arrays = [c.cast(pa.string()) if pa.types.is_date(c.type) else c for c in b.columns]
    return pa.RecordBatch.from_arrays(arrays, names=b.schema.names)


@contextmanager
def sqlite_load_settings(conn: Connection, cache_mb: int = 1024) -> Iterator[None]:
    """SQLite, for the duration of a large load: a page cache that can hold the tables and indexes being
    written and the index builds' sorts. A smaller one spills dirty pages into the write-ahead log long
    before the commit, and every index build then reads the table back from the log page by page (a
    register of 1.2 M citizens is about 600 MB: with a 256 MB cache, writing and indexing it took about
    1.5 times the CPU). The size is a ceiling, taken only as pages are used; the connection's own size comes
    back afterwards (connections are pooled), which frees what is above it.

    The journal is left as the database has it, WAL with synchronous=NORMAL (`db.make_engine`): the
    load is one transaction, so a crash or a kill at any point leaves the register as it was before
    (readers, the web app, keep working meanwhile), and a power loss cannot corrupt the file. What
    would be faster is not safe: journal_mode=OFF or MEMORY leave a half-written database after a
    crash, synchronous=OFF can corrupt it on a power loss, and leaving WAL would block every reader for
    the length of the import (and cannot be done inside its transaction)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size = -{cache_mb * 1024}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {before}")


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

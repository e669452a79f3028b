"""Read query results out of the database as Arrow, set-based: COPY TO on PostgreSQL, cursor batches on SQLite."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection


def arrow_schema(fields: str) -> pa.Schema:
    """The schema of `fields`, in order, separated by white space: `name` is a string column, `name:type`
    one of another type, named by its pyarrow alias (int32, int64, float64, date32, bool)."""
    columns = (field.partition(":") for field in fields.split())
    return pa.schema([(name, pa.type_for_alias(alias or "string")) for name, _, alias in columns])


def query_arrow(conn: Connection, sql: str, schema: pa.Schema) -> pa.Table:
    """Run `sql` (no parameters) and return its rows with the given column types."""
    if conn.dialect.name == "postgresql":
        return _copy_out(conn, sql, schema)
    raw = conn.connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql)
        batches = []
        while rows := cur.fetchmany(200_000):
            cols = list(zip(*rows, strict=True))
            batches.append(
                pa.record_batch(
                    [_column(c, f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
                )
            )
        return pa.Table.from_batches(batches, schema=schema)
    finally:
        cur.close()


def _column(values: tuple[object, ...], typ: pa.DataType) -> pa.Array:
    # SQLite hands dates back as ISO text (as SQLAlchemy's Date type stores them).
    if pa.types.is_date(typ):
        return pa.array(values, pa.string()).cast(typ)
    return pa.array(values, typ)


def _copy_out(conn: Connection, sql: str, schema: pa.Schema) -> pa.Table:
    raw = conn.connection.driver_connection
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER false)") as cp:  # type: ignore[union-attr]
        for block in cp:
            buf.write(block)
    buf.seek(0)
    if buf.getbuffer().nbytes == 0:
        return schema.empty_table()
    convert = pacsv.ConvertOptions(
        column_types=schema,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t", "true"],
        false_values=["f", "false"],
    )
    return pacsv.read_csv(
        buf, read_options=pacsv.ReadOptions(column_names=schema.names), convert_options=convert
    )

"""Bulk loading from Arrow: what goes in comes back, value for value, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from sqlalchemy import Boolean, Date, text

from vaxlink.storage import bulk
from vaxlink.storage.models import UtcDateTime

STAMP = datetime(2026, 12, 6, 5, 0, 1, 123456, tzinfo=UTC)


def _table(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql(
        """CREATE TEMPORARY TABLE bulk_t (id BIGINT, name VARCHAR(40), note TEXT, born DATE, y INTEGER,
        small SMALLINT, w DOUBLE PRECISION, ok BOOLEAN, status VARCHAR(10), version INTEGER, at TIMESTAMP WITH TIME ZONE)"""
    )


def _batch() -> pa.RecordBatch:
    return pa.record_batch(
        {
            "id": pa.array([1, 2, 3, None], pa.int64()),
            "name": pa.array(["Nguyễn Thị Hòa", None, "", 'Đặng, "Quote"\nline']),
            "note": pa.array(["x", "y", None, "z"], pa.large_string()),
            "born": pa.array([date(1990, 3, 15), None, date(1900, 1, 1), date(2026, 12, 6)]),
            "y": pa.array([1990, None, -1, 2**31 - 1], pa.int64()),
            "small": pa.array([1, -5, None, 7], pa.int32()),
            "w": pa.array([1.5, None, -2.25, 0.0]),
            "ok": pa.array([True, False, None, True]),
        }
    )


@pytest.mark.db
def test_arrow_rows_come_back_value_for_value(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        _table(conn)
        b = _batch()
        # Two batches, the second a slice that does not start at the array's first value.
        loaded = bulk.load_batches(
            conn,
            "bulk_t",
            [b.slice(0, 1), b.slice(1)],
            constants={"status": "active", "version": 1, "at": STAMP},
        )
        # Read through the application's column types, as its queries read these values.
        query = text("SELECT id, name, note, born, y, small, w, ok, status, version, at FROM bulk_t").columns(
            born=Date, ok=Boolean, at=UtcDateTime
        )
        rows = conn.execute(query).all()
    assert loaded == 4
    by_name = {r[1]: r for r in rows}
    assert by_name["Nguyễn Thị Hòa"][:8] == (1, "Nguyễn Thị Hòa", "x", date(1990, 3, 15), 1990, 1, 1.5, True)
    assert by_name[None][:8] == (2, None, "y", None, None, -5, None, False)
    assert by_name[""][:8] == (3, "", None, date(1900, 1, 1), -1, None, -2.25, None)
    assert by_name['Đặng, "Quote"\nline'][:5] == (
        None,
        'Đặng, "Quote"\nline',
        "z",
        date(2026, 12, 6),
        2**31 - 1,
    )
    assert {r[8:] for r in rows} == {("active", 1, STAMP)}


# SQLite's integers have no width: PostgreSQL only.
@pytest.mark.db
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_value_out_of_the_column_range_fails_instead_of_wrapping(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        _table(conn)
        with pytest.raises(pa.ArrowInvalid):
            bulk.load_batches(conn, "bulk_t", [pa.record_batch({"small": pa.array([70_000], pa.int64())})])


# FREEZE is PostgreSQL's.
@pytest.mark.db
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_rows_are_frozen_only_into_a_table_truncated_in_the_transaction(engine) -> None:  # type: ignore[no-untyped-def]
    batch = pa.record_batch({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["a", None])})
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bulk_frozen (id BIGINT, name TEXT)")
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_visibility")
    with engine.begin() as conn, pytest.raises(Exception, match="FREEZE"):
        bulk.load_batches(conn, "bulk_frozen", [batch], freeze=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE bulk_frozen")
        assert bulk.load_batches(conn, "bulk_frozen", [batch], freeze=True) == 2
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM bulk_frozen").scalar() == 2
        # Every page is marked all-frozen in the visibility map: vacuum never has to visit them.
        frozen = conn.exec_driver_sql(
            "SELECT all_frozen FROM pg_visibility_map_summary('bulk_frozen')"
        ).scalar()
        assert frozen == 1


@pytest.mark.db
def test_many_rows_keep_their_order_and_values_whether_columns_repeat_or_not(engine) -> None:  # type: ignore[no-untyped-def]
    # More rows than one multi-row INSERT holds and not a multiple of it, in batches of uneven sizes; one
    # column of few values with nulls among them (shared objects on SQLite), one of distinct values, and
    # one whose first rows repeat while the rest do not.
    n = 3 * 4096 + bulk.ROWS_PER_INSERT + 37
    ids = list(range(1, n + 1))
    wards = [None if i % 7 == 0 else f"2656{i % 5}" for i in ids]
    names = [f"Nguyễn Thị {i}" for i in ids]
    notes = ["Đỗ" if i <= 5000 else f"ghi chú {i}" for i in ids]
    born = [date(1990, 1, 1 + i % 28) if i % 3 else None for i in ids]
    table = pa.table(
        {"id": ids, "status": wards, "name": names, "note": notes, "born": pa.array(born, pa.date32())}
    )
    batches = [
        *table.slice(0, 1).to_batches(),
        *table.slice(1, 8191).to_batches(),
        *table.slice(8192).to_batches(),
    ]
    with engine.begin() as conn:
        _table(conn)
        assert bulk.load_batches(conn, "bulk_t", batches, constants={"version": 3}) == n
        rows = conn.execute(
            text("SELECT id, status, name, note, born, version FROM bulk_t ORDER BY id").columns(born=Date)
        ).all()
    assert [tuple(r) for r in rows] == [
        (i, w, nm, nt, b, 3) for i, w, nm, nt, b in zip(ids, wards, names, notes, born, strict=True)
    ]

"""The matcher's ward tables, made from the administrative units and kept between runs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from vaxlink.domain.admin_units import admin_units, units_digest
from vaxlink.matching import prepare
from vaxlink.matching.prepare import UNIT_TABLES, unit_tables


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[object, ...]]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ward").fetchall()


def _made_fresh() -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect()
    unit_tables(con)
    return {t: _rows(con, t) for t in UNIT_TABLES}


def test_the_tables_say_what_the_units_say() -> None:
    fresh = _made_fresh()
    units = admin_units()
    assert dict(fresh["ward_province"]) == units.ward_provinces()  # type: ignore[arg-type]
    assert {w: tuple(t) for w, t in fresh["ward_targets"]} == units.ward_targets()  # type: ignore[misc]
    # Phước Nguyên (legacy 26554) went into Bà Rịa (2025 26560), in Hồ Chí Minh City's province (79).
    assert dict(fresh["ward_targets"])["26554"] == ["26560"]  # type: ignore[arg-type]
    assert dict(fresh["ward_province"])["26554"] == "79"  # type: ignore[arg-type]


def test_kept_tables_are_read_back_without_reading_the_lists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = _made_fresh()
    first = duckdb.connect()
    unit_tables(first, tmp_path)
    assert (tmp_path / units_digest() / "done").exists()

    def unread() -> None:
        raise AssertionError("the lists were read again")

    monkeypatch.setattr(prepare, "_unit_arrow", unread)
    second = duckdb.connect()
    unit_tables(second, tmp_path)
    assert {t: _rows(second, t) for t in UNIT_TABLES} == fresh
    # Typed as made: a kept table is not read back as something else.
    assert [str(r[1]) for r in second.execute("DESCRIBE ward_targets").fetchall()] == ["VARCHAR", "VARCHAR[]"]


def test_a_connection_makes_them_once(monkeypatch: pytest.MonkeyPatch) -> None:
    con = duckdb.connect()
    unit_tables(con)
    monkeypatch.setattr(prepare, "_unit_arrow", lambda: pytest.fail("made twice"))
    unit_tables(con)


def test_a_damaged_or_unfinished_keep_is_made_again(tmp_path: Path) -> None:
    kept = tmp_path / units_digest()
    kept.mkdir()
    (kept / "ward_province.parquet").write_bytes(b"not parquet")
    con = duckdb.connect()
    unit_tables(con, tmp_path)  # no `done`: unfinished, passed over
    assert {t: _rows(con, t) for t in UNIT_TABLES} == _made_fresh()

    (kept / "done").write_text("")
    con = duckdb.connect()
    unit_tables(con, tmp_path)  # `done` but unreadable: made from the lists
    assert {t: _rows(con, t) for t in UNIT_TABLES} == _made_fresh()


def test_a_directory_that_cannot_be_written_is_passed_over(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the directory would be")
    con = duckdb.connect()
    unit_tables(con, blocked)
    assert {t: _rows(con, t) for t in UNIT_TABLES} == _made_fresh()


def test_the_digest_follows_the_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    from vaxlink.domain import admin_unit_files

    before = units_digest()
    real = admin_unit_files._resource

    class Changed:
        def __init__(self, inner: object) -> None:
            self.inner = inner

        def read_bytes(self) -> bytes:
            return self.inner.read_bytes() + b"\n"  # type: ignore[attr-defined]

    monkeypatch.setattr(
        admin_unit_files,
        "_resource",
        lambda name: Changed(real(name)) if name == admin_unit_files._CONVERSION_FILE else real(name),
    )
    assert units_digest() != before

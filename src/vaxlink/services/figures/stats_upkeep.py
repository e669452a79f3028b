"""Keeping the statistics cells current after an officer's action or a batch, in its own transaction: only
the cells its rows count in move, by the difference (see `CellChanges`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict, Unpack

from sqlalchemy import Connection, text

from vaxlink.services.figures.refresh import (
    MAPPED,
    REFRESH_LOCKS,
    coverage_cells,
    dose_day_cells,
    record_backlog_cells,
    record_rows,
    work_cells,
)
from vaxlink.services.figures.status import probes

log = logging.getLogger("vaxlink.stats")

# Per cell table: the columns that name a cell, its figures, and the columns besides its name that lead
# the index a single cell is found by (the doses per day and the backlog have no index on their ward).
_CELLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "stats_coverage_cell": (
        ("src_units", "src_ward_code", "age_band", "sex"),
        ("residents", "at_least_one_dose", "primary_complete", "booster"),
        (),
    ),
    "stats_dose_day": (
        ("src_units", "src_ward_code", "day", "vaccine_code"),
        ("records", "linked"),
        ("legacy_province_code",),
    ),
    "stats_backlog_cell": (
        ("src_units", "src_ward_code", "measure", "due_day"),
        ("n",),
        ("legacy_province_code", "legacy_district_code"),
    ),
}
Cell = tuple[str, tuple[Any, ...]]


@dataclass
class _Rows:
    citizens: set[int] = field(default_factory=set)
    dose_records: set[int] = field(default_factory=set)
    cases: set[int] = field(default_factory=set)
    verification_requests: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.citizens or self.dose_records or self.cases or self.verification_requests)


class Watched(TypedDict, total=False):
    """The rows an action is about to change, by table: their ids (None, a row that is not there, is
    passed over)."""

    citizens: Iterable[int | None]
    dose_records: Iterable[int | None]
    cases: Iterable[int | None]
    verification_requests: Iterable[int | None]


def _known(ids: Iterable[int | None]) -> set[int]:
    return {i for i in ids if i is not None}


def _ids(conn: Connection, column: str, name: str = "ids") -> str:
    """A condition that `column` is one of the ids bound as `:name` (see `_ids_value`): one parameter
    whatever their number, which an expanded IN list is not (a parameter each, a statement text for each
    count of ids, and SQLite allows 32,766). On PostgreSQL the array is unnested into a set: with `= ANY`
    of ten thousand ids the planner scanned the whole table rather than probe its key for each."""
    if conn.dialect.name == "postgresql":
        return f"{column} IN (SELECT unnest(CAST(:{name} AS bigint[])))"
    return f"{column} IN (SELECT value FROM json_each(:{name}))"


def _ids_value(conn: Connection, ids: list[int]) -> str:
    """The ids as one text value: an array literal on PostgreSQL, JSON on SQLite. Written by `str.join`: the
    driver's adaptation of a list, element by element, costs more than the statement for 100,000 ids."""
    if conn.dialect.name == "postgresql":
        return "{" + ",".join(str(int(i)) for i in ids) + "}"
    return json.dumps(ids)


def _cells_of(
    conn: Connection, reference_year: int, rows: _Rows
) -> tuple[dict[Cell, list[int]], dict[Cell, tuple[Any, ...]]]:
    """What the rows count for in each cell, by the same SELECTs as a refresh, and each cell's mapped units.
    The ids are bound as one value per set (see `_ids`), not written into the SQL nor expanded into a
    parameter each: the same few statements serve every action and every batch, prepared once per
    connection on PostgreSQL."""
    values: dict[Cell, list[int]] = {}
    units: dict[Cell, tuple[Any, ...]] = {}

    def add(table: str, sql: str, **ids: set[int]) -> None:
        keys, figures, _ = _CELLS[table]
        k, f = len(keys), len(figures)
        with probes(conn):
            found = conn.execute(
                text(sql), {name: _ids_value(conn, sorted(v)) for name, v in ids.items()}
            ).all()
        for r in found:
            cell = (table, tuple(r[:k]))
            acc = values.setdefault(cell, [0] * f)
            for j in range(f):
                acc[j] += int(r[k + j])
            units[cell] = tuple(r[k + f :])

    if rows.citizens:
        add("stats_coverage_cell", coverage_cells(reference_year, _ids(conn, "c.id", "c")), c=rows.citizens)
    if rows.dose_records:
        usable, rejected = record_rows(_ids(conn, "m.dose_record_id", "d"))
        rec = f"({usable} UNION ALL {rejected}) r"
        add("stats_dose_day", dose_day_cells(rec), d=rows.dose_records)
        add("stats_backlog_cell", record_backlog_cells(rec), d=rows.dose_records)
    cases, requests = _ids(conn, "id", "k"), _ids(conn, "id", "v")
    if rows.cases and rows.verification_requests:
        sql = work_cells(conn, cases, requests)
        add("stats_backlog_cell", sql, k=rows.cases, v=rows.verification_requests)
    elif rows.cases:
        add("stats_backlog_cell", work_cells(conn, cases, "1 = 0"), k=rows.cases)
    elif rows.verification_requests:
        add("stats_backlog_cell", work_cells(conn, "1 = 0", requests), v=rows.verification_requests)
    return values, units


def _move_cell(conn: Connection, cell: Cell, delta: list[int], mapped: tuple[Any, ...]) -> None:
    """Add `delta` to one cell's figures: the cell is created when it gains its first count and removed
    when it loses its last, as a refresh would have it."""
    table, key = cell
    keys, figures, index = _CELLS[table]
    by_name = dict(zip(MAPPED, mapped, strict=True))
    match = [*zip(keys, key, strict=True), *((c, by_name[c]) for c in index)]
    where = " AND ".join(f"{c} IS NULL" if v is None else f"{c} = :k{i}" for i, (c, v) in enumerate(match))
    params: dict[str, Any] = {f"k{i}": v for i, (_, v) in enumerate(match) if v is not None}
    params.update({f"d{i}": d for i, d in enumerate(delta)})
    setting = ", ".join(f"{c} = {c} + :d{i}" for i, c in enumerate(figures))
    update = text(f"UPDATE {table} SET {setting} WHERE {where} RETURNING {figures[0]}")
    left = conn.execute(update, params).scalars().all()
    if not left and conn.dialect.name == "postgresql":
        # Someone may be creating this cell, or a refresh may just have replaced it: wait for them, then
        # look again with a fresh snapshot.
        conn.execute(
            text("SELECT pg_advisory_xact_lock(:space, hashtext(:cell))"),
            {"space": REFRESH_LOCKS + 1, "cell": f"{table}:{key!r}"},
        )
        left = conn.execute(update, params).scalars().all()
    if not left:
        if delta[0] > 0:
            columns = [*keys, *figures, *MAPPED]
            values = {f"v{i}": v for i, v in enumerate([*key, *delta, *mapped])}
            listed = ", ".join(f":{v}" for v in values)
            conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({listed})"), values)
    elif any(n <= 0 for n in left):
        # Its last count gone: no cell, as a refresh would have it.
        conn.execute(text(f"DELETE FROM {table} WHERE {where} AND {figures[0]} <= 0"), params)


# Up to this many cells a change moves them one statement each (an officer's action: a few cells); beyond,
# in a few set-based statements per table (a batch moves thousands: one round trip each cost seconds).
SET_BASED_FROM = 24


# The types of the cells' columns that are not text, for the arrays a set-based move binds on PostgreSQL.
_ARRAY_TYPES = {
    "idx": "bigint",
    "grp": "bigint",
    "day": "date",
    "due_day": "date",
    **{f: "bigint" for _, figures, _ in _CELLS.values() for f in figures},
}


def _match_columns(table: str) -> tuple[str, ...]:
    keys, _, index = _CELLS[table]
    return (*keys, *index)


def _match_values(table: str, key: tuple[Any, ...], mapped: tuple[Any, ...]) -> tuple[Any, ...]:
    by_name = dict(zip(MAPPED, mapped, strict=True))
    return (*key, *(by_name[c] for c in _CELLS[table][2]))


def _move_cells(
    conn: Connection, table: str, cells: list[Cell], changes: dict[Cell, list[int]], units: dict[Cell, Any]
) -> None:
    """`_move_cell` for many cells of one table at once, with the same outcome: the deltas go into a
    temporary table, then one UPDATE per pattern of empty (NULL) match columns adds them (so that each
    is an equality join the cells' indexes serve), the cells not found are created when they gain
    counts, and those left without a count are removed."""
    keys, figures, _ = _CELLS[table]
    move = f"cell_move_{table}"
    rows, patterns, of_key = _load_moves(conn, table, move, cells, changes, units)
    left: dict[int, list[int]] = {}
    for nulls, grp in patterns.items():
        _add_moves(conn, table, move, grp, nulls, of_key, left)
    missing = [i for i in range(len(cells)) if i not in left]
    if missing and conn.dialect.name == "postgresql":
        # As `_move_cell`: wait for whoever may be creating these cells (one order for every transaction),
        # then look again with a fresh snapshot.
        conn.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(:space, hashtext(c))) FROM unnest(CAST(:cells AS text[])) c"
            ),
            {"space": REFRESH_LOCKS + 1, "cells": sorted(f"{table}:{cells[i][1]!r}" for i in missing)},
        )
        for nulls, grp in patterns.items():
            among = [i for i in missing if rows[i]["grp"] == grp]
            if among:
                _add_moves(conn, table, move, grp, nulls, of_key, left, among)
        missing = [i for i in missing if i not in left]
    new = [i for i in missing if changes[cells[i]][0] > 0]
    if new:
        columns = ", ".join((*keys, *figures, *MAPPED))
        conn.execute(
            text(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {move} WHERE {_ids(conn, 'idx')}"),
            {"ids": _ids_value(conn, new)},
        )
    for nulls, grp in patterns.items():
        if any(rows[i]["grp"] == grp and any(n <= 0 for n in v) for i, v in left.items()):
            # Its last count gone: no cell, as a refresh would have it.
            conn.exec_driver_sql(
                f"DELETE FROM {table} WHERE {figures[0]} <= 0 AND EXISTS (SELECT 1 FROM {move} m "
                f"WHERE m.grp = {grp} AND {_joined(table, nulls)})"
            )
    conn.exec_driver_sql(f"DROP TABLE {move}")


def _load_moves(
    conn: Connection,
    table: str,
    move: str,
    cells: list[Cell],
    changes: dict[Cell, list[int]],
    units: dict[Cell, Any],
) -> tuple[list[dict[str, Any]], dict[tuple[bool, ...], int], dict[tuple[Any, ...], int]]:
    """Fill the temporary table `move` with the cells' deltas, one row per cell (`idx`, its place in
    `cells`), grouped (`grp`) by the pattern of their empty match columns. Returns the rows, the group of
    each pattern, and each cell key's `idx`."""
    keys, figures, _ = _CELLS[table]
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {move}")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {move} AS SELECT 0 AS idx, 0 AS grp, {', '.join(keys)}, "
        f"{', '.join(figures)}, {', '.join(MAPPED)} FROM {table} WHERE 1 = 0"
    )
    rows = []
    patterns: dict[tuple[bool, ...], int] = {}
    of_key: dict[tuple[Any, ...], int] = {}
    for idx, cell in enumerate(cells):
        key, mapped = cell[1], units[cell]
        nulls = tuple(v is None for v in _match_values(table, key, mapped))
        grp = patterns.setdefault(nulls, len(patterns))
        of_key[key] = idx
        rows.append(
            {
                "idx": idx,
                "grp": grp,
                **{f"k{i}": v for i, v in enumerate(key)},
                **{f"d{i}": d for i, d in enumerate(changes[cell])},
                **{f"m{i}": v for i, v in enumerate(mapped)},
            }
        )
    names = [
        ("idx", "idx"),
        ("grp", "grp"),
        *((c, f"k{i}") for i, c in enumerate(keys)),
        *((c, f"d{i}") for i, c in enumerate(figures)),
        *((c, f"m{i}") for i, c in enumerate(MAPPED)),
    ]
    columns = ", ".join(c for c, _ in names)
    if conn.dialect.name == "postgresql":
        # One statement of one array per column: a multi-row VALUES of thousands of rows costs the driver
        # more to parse than the database to run.
        arrays = ", ".join(f"CAST(:{p} AS {_ARRAY_TYPES.get(c, 'text')}[])" for c, p in names)
        conn.execute(
            text(f"INSERT INTO {move} ({columns}) SELECT * FROM unnest({arrays})"),
            {p: [r[p] for r in rows] for _, p in names},
        )
        conn.exec_driver_sql(f"ANALYZE {move}")
    else:
        listed = ", ".join(":" + p for _, p in names)
        conn.execute(text(f"INSERT INTO {move} ({columns}) VALUES ({listed})"), rows)
    return rows, patterns, of_key


def _joined(table: str, nulls: tuple[bool, ...]) -> str:
    """The join of a cell of `table` with its row of deltas `m`, for one pattern of empty match columns."""
    return " AND ".join(
        f"{table}.{c} IS NULL" if null else f"{table}.{c} = m.{c}"
        for c, null in zip(_match_columns(table), nulls, strict=True)
    )


def _add_moves(
    conn: Connection,
    table: str,
    move: str,
    grp: int,
    nulls: tuple[bool, ...],
    of_key: dict[tuple[Any, ...], int],
    left: dict[int, list[int]],
    only: list[int] | None = None,
) -> None:
    """Add the deltas of one pattern's cells (of those `only` names), noting in `left` each found cell's
    first figure afterwards (the cells are told by their key: SQLite returns only the updated table's
    columns)."""
    keys, figures, _ = _CELLS[table]
    setting = ", ".join(f"{c} = {table}.{c} + m.{c}" for c in figures)
    returned = ", ".join(f"{table}.{c}" for c in (*keys, figures[0]))
    where = f"m.grp = {grp} AND {_joined(table, nulls)}"
    params: dict[str, Any] = {}
    if only is not None:
        where += f" AND {_ids(conn, 'm.idx')}"
        params["ids"] = _ids_value(conn, only)
    found = conn.execute(
        text(f"UPDATE {table} SET {setting} FROM {move} m WHERE {where} RETURNING {returned}"), params
    )
    for r in found:
        left.setdefault(of_key[tuple(r[: len(keys)])], []).append(int(r[len(keys)]))


@dataclass
class CellChanges:
    """The statistics cells kept current through an officer's action, by difference.

    Recomputing the cells of a ward costs a pass over its residents and their dose records (seconds for
    a large ward), so an action does not: it `watch`es the rows it is about to change (citizens, dose
    records, cases, verification requests), which notes what they count for now, tells which rows it
    `created`, and at the end `apply` moves each cell by what those rows count for then less what they
    counted for before. Both are computed by the refresh's own SELECTs restricted to those rows, so the
    cells stay what a refresh would compute, and only the cells of the units the rows count in change
    (their district, province and 2025 units are columns of the same cells). Nothing happens before the
    first refresh has built the cells.

    On PostgreSQL a full refresh holds a lock from its start to its commit; an action that meets it leaves
    the cells to it and to the next refresh rather than wait (a logged warning), since the two may each
    hold what the other needs next (the audit chain, rows of the ingest)."""

    _rows: _Rows = field(default_factory=_Rows)
    _before: dict[Cell, list[int]] = field(default_factory=dict)
    _units: dict[Cell, tuple[Any, ...]] = field(default_factory=dict)
    _year: int | None = None
    _looked_up: bool = False

    def kept(self, conn: Connection) -> bool:
        """Whether the cells are kept at all (a refresh has built them): otherwise only a refresh helps."""
        return self._kept(conn)

    def _kept(self, conn: Connection) -> bool:
        if not self._looked_up:
            self._year = conn.execute(
                text("SELECT reference_year FROM stats_refresh WHERE parts LIKE :p ORDER BY id DESC LIMIT 1"),
                {"p": "%coverage%"},
            ).scalar()
            self._looked_up = True
        return self._year is not None

    def watch(self, conn: Connection, **rows: Unpack[Watched]) -> None:
        """Rows about to change: what they count for now is noted (once per row, until `apply`)."""
        new = _Rows(
            _known(rows.get("citizens", ())) - self._rows.citizens,
            _known(rows.get("dose_records", ())) - self._rows.dose_records,
            _known(rows.get("cases", ())) - self._rows.cases,
            _known(rows.get("verification_requests", ())) - self._rows.verification_requests,
        )
        if not new:
            return
        self._note(new)
        if not self._kept(conn):
            return
        values, units = _cells_of(conn, int(self._year or 0), new)
        for cell, v in values.items():
            acc = self._before.setdefault(cell, [0] * len(v))
            for j, x in enumerate(v):
                acc[j] += x
        self._units.update(units)

    def created(
        self,
        *,
        citizens: Iterable[int] = (),
        dose_records: Iterable[int] = (),
        cases: Iterable[int] = (),
        verification_requests: Iterable[int] = (),
    ) -> None:
        """Rows just created: they counted for nothing before."""
        self._note(_Rows(set(citizens), set(dose_records), set(cases), set(verification_requests)))

    def _note(self, rows: _Rows) -> None:
        self._rows.citizens |= rows.citizens
        self._rows.dose_records |= rows.dose_records
        self._rows.cases |= rows.cases
        self._rows.verification_requests |= rows.verification_requests

    def apply(self, conn: Connection) -> int:
        """Move the cells by the difference, in the caller's transaction, and forget the rows (the next
        `watch` starts afresh). Returns the number of cells changed. The caller flushes first."""
        rows, before, units = self._rows, self._before, self._units
        self._rows, self._before, self._units = _Rows(), {}, {}
        if not rows or not self._kept(conn):
            return 0
        after, now = _cells_of(conn, int(self._year or 0), rows)
        units.update(now)
        changes: dict[Cell, list[int]] = {}
        for cell in after.keys() | before.keys():
            a, b = after.get(cell), before.get(cell)
            width = len(a if a is not None else b or [])
            delta = [(a[j] if a else 0) - (b[j] if b else 0) for j in range(width)]
            if any(delta):
                changes[cell] = delta
        if not changes:
            return 0
        if (
            conn.dialect.name == "postgresql"
            and not conn.execute(
                text("SELECT pg_try_advisory_xact_lock_shared(:space, 0)"), {"space": REFRESH_LOCKS}
            ).scalar()
        ):
            log.warning("statistics refresh under way: %d cells left to it and to the next one", len(changes))
            return 0
        # One order for every transaction, so that two actions moving the same cells never wait on each other
        # in a circle.
        if len(changes) < SET_BASED_FROM:
            for cell in sorted(changes, key=repr):
                _move_cell(conn, cell, changes[cell], units[cell])
            return len(changes)
        by_table: dict[str, list[Cell]] = {}
        for cell in sorted(changes, key=repr):
            by_table.setdefault(cell[0], []).append(cell)
        for table, cells in sorted(by_table.items()):
            _move_cells(conn, table, cells, changes, units)
        return len(changes)

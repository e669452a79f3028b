"""The kept figures (each citizen's status and the statistics cells) against the same recomputed from
scratch, cell by cell: what `vaxlink stats refresh --check` reports and the tests of kept figures compare."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, inspect, text

from vaxlink.services.figures.refresh import refresh_statistics
from vaxlink.services.figures.status import refresh_status

KEPT = ("citizen_status", "stats_coverage_cell", "stats_dose_day", "stats_backlog_cell")
# Ids and the timestamps of when a figure was computed are not figures.
NOT_COMPARED = {"id", "updated_at"}
# The columns that name a cell; the others are its figures.
KEYS = {
    "citizen_status": ("citizen_id",),
    "stats_coverage_cell": ("src_units", "src_ward_code", "age_band", "sex"),
    "stats_dose_day": ("src_units", "src_ward_code", "day", "vaccine_code"),
    "stats_backlog_cell": ("src_units", "src_ward_code", "measure", "due_day"),
    "stats_ward_map": ("src_units", "src_ward_code"),
}

Figures = dict[str, Counter[tuple[Any, ...]]]


def kept(conn: Connection, tables: tuple[str, ...] = KEPT) -> Figures:
    """The figures of `tables` as stored, one counted row per cell."""
    insp = inspect(conn)
    out = {}
    for table in tables:
        cols = [c["name"] for c in insp.get_columns(table) if c["name"] not in NOT_COMPARED]
        rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {table}")).mappings().all()
        out[table] = Counter(tuple(sorted(r.items())) for r in rows)
    return out


def from_scratch(conn: Connection, tables: tuple[str, ...] = KEPT) -> Figures:
    """The same figures recomputed from scratch (every status, every statistics part) in the connection's
    transaction, which is then rolled back: the kept ones stay as they were."""
    try:
        refresh_status(conn)
        refresh_statistics(conn)
        return kept(conn, tables)
    finally:
        conn.rollback()


def differing_cells(before: Figures, scratch: Figures) -> dict[str, int]:
    """Per table, how many cells are in one and not the other."""
    return {t: sum(((before[t] - scratch[t]) + (scratch[t] - before[t])).values()) for t in before}


def differences(before: Figures, scratch: Figures, limit: int = 40) -> list[str]:
    """Which cells differ: table, key columns, kept figures vs figures from scratch (only the columns that
    differ; "-" where one side has no such cell)."""
    out = []
    for table in before:
        keys = KEYS[table]
        sides: dict[tuple[Any, ...], tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for side, extra in enumerate((before[table] - scratch[table], scratch[table] - before[table])):
            for row, count in extra.items():
                cell = dict(row)
                key = tuple((k, cell[k]) for k in keys)
                sides.setdefault(key, ([], []))[side].extend([cell] * count)
        for key, (was, now) in sorted(sides.items(), key=lambda kv: repr(kv[0])):
            for i in range(max(len(was), len(now))):
                a = was[i] if i < len(was) else None
                b = now[i] if i < len(now) else None
                cols = [
                    c for c in (a or b or {}) if c not in keys and (a is None or b is None or a[c] != b[c])
                ]
                shown = ", ".join(f"{k}={v!r}" for k, v in key)
                kept_part = "-" if a is None else ", ".join(f"{c}={a[c]!r}" for c in cols)
                scratch_part = "-" if b is None else ", ".join(f"{c}={b[c]!r}" for c in cols)
                out.append(f"{table} [{shown}]: kept {kept_part} | scratch {scratch_part}")
    if len(out) > limit:
        out = [*out[:limit], f"... and {len(out) - limit} more"]
    return out

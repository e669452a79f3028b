"""Drill 12, backup and restore: `vaxlink db backup` / `vaxlink db restore` round trip with 0 differences
in any table (a digest per table), and statistics recomputed from scratch equal to the ones kept along
the way (citizen status per citizen, coverage per unit, doses per unit and day, backlog per unit)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from tests.drills.support import figure
from vaxlink.cli.main import app
from vaxlink.services.backup import table_digests
from vaxlink.services.stats import refresh_statistics
from vaxlink.services.status import refresh_status
from vaxlink.storage.db import make_engine

runner = CliRunner()
# Kept figures, compared cell by cell; timestamps of when they were computed are left out.
KEPT = ("citizen_status", "stats_coverage_cell", "stats_dose_day", "stats_backlog_cell", "stats_ward_map")
NOT_COMPARED = {"id", "updated_at"}
# The columns that name a cell; the others are its figures.
KEYS = {
    "citizen_status": ("citizen_id",),
    "stats_coverage_cell": ("src_units", "src_ward_code", "age_band", "sex"),
    "stats_dose_day": ("src_units", "src_ward_code", "day", "vaccine_code"),
    "stats_backlog_cell": ("src_units", "src_ward_code", "measure", "due_day"),
    "stats_ward_map": ("src_units", "src_ward_code"),
}


def cli(url: str, *args: str):  # type: ignore[no-untyped-def]
    r = runner.invoke(app, list(args), env={"VAXLINK_DATABASE_URL": url, "COLUMNS": "200"})
    assert r.exit_code == 0, f"{args}: {r.output}\n{r.exception!r}"
    return r


def kept(conn) -> dict[str, Counter]:  # type: ignore[no-untyped-def]
    insp = inspect(conn)
    out = {}
    for table in KEPT:
        cols = [c["name"] for c in insp.get_columns(table) if c["name"] not in NOT_COMPARED]
        rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {table}")).mappings().all()
        out[table] = Counter(tuple(sorted(r.items())) for r in rows)
    return out


def differences(before: dict[str, Counter], scratch: dict[str, Counter], limit: int = 40) -> list[str]:
    """Which cells differ: table, key columns, kept figures vs figures from scratch (only the columns that
    differ; "-" where one side has no such cell)."""
    out = []
    for table in KEPT:
        keys = KEYS[table]
        sides: dict[tuple, tuple[list[dict], list[dict]]] = {}
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


def moved_register(register: Path, out: Path, every: int = 20) -> Path:
    """The register again, with every `every`-th citizen moved to another ward of the same district."""
    with register.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    wards = sorted({r["permanent_ward_code"] for r in rows})
    for i, r in enumerate(rows):
        if i % every == 0:
            r["current_ward_code"] = wards[(wards.index(r["permanent_ward_code"]) + 1) % len(wards)]
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


@pytest.mark.db
def test_backup_restore_round_trip_and_statistics_from_scratch(db_url, province, tmp_path):
    doses = province.files["doses"]
    with doses.open(encoding="utf-8", newline="") as f:
        lines = f.read().splitlines(keepends=True)
    cut = len(lines) * 2 // 3
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text("".join(lines[:cut]), encoding="utf-8")
    second.write_text(lines[0] + "".join(lines[cut - len(lines) // 10 :]), encoding="utf-8")

    # Kept along the way: two batches (the second re-sends records), a register change in between.
    cli(db_url, "registry", "import", str(province.files["register"]))
    cli(db_url, "doses", "ingest", str(first))
    cli(db_url, "registry", "import", str(moved_register(province.files["register"], tmp_path / "moved.csv")))
    cli(db_url, "doses", "ingest", str(second))

    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            before = kept(conn)
            # From scratch, in a transaction that is rolled back: the kept figures stay for the backup.
            refresh_status(conn)
            refresh_statistics(conn)
            scratch = kept(conn)
            conn.rollback()
        cells = {t: sum(c.values()) for t, c in before.items()}
        differ = {t: sum(((before[t] - scratch[t]) + (scratch[t] - before[t])).values()) for t in KEPT}
        figure("12", f"kept vs recomputed from scratch ({cells})", f"{sum(differ.values())} cells differ")
        assert differ == dict.fromkeys(KEPT, 0), "\n".join([f"{differ}", *differences(before, scratch)])

        digests = table_digests(engine)
        backup = tmp_path / "vaxlink.backup"
        cli(db_url, "db", "backup", str(backup))
        # Damage after the backup, so that the restore has something to undo.
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM work_case"))
            conn.execute(text("UPDATE citizen SET full_name = 'X' WHERE id IN (SELECT min(id) FROM citizen)"))
        assert table_digests(engine) != digests
        engine.dispose()
        cli(db_url, "db", "restore", str(backup))
        after = table_digests(engine)
    finally:
        engine.dispose()
    diff = sorted(t for t in digests.keys() | after.keys() if digests.get(t) != after.get(t))
    rows = sum(n for n, _ in digests.values())
    backend = "postgresql" if db_url.startswith("postgresql") else "sqlite"
    figure(
        "12",
        f"{backend}: backup, damage, restore ({len(digests)} tables, {rows:,} rows)",
        f"{len(diff)} tables differ",
    )
    assert diff == []

"""Drill 12, backup and restore: `vaxlink db backup` / `vaxlink db restore` round trip with 0 differences
in any table (a digest per table), and statistics recomputed from scratch equal to the ones kept along
the way (citizen status per citizen, coverage per unit, doses per unit and day, backlog per unit)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.drills.support import figure
from tests.figures import KEPT as FIGURES
from tests.figures import differences, differing_cells, from_scratch, kept
from vaxlink.cli.main import app
from vaxlink.services.operations.backup import table_digests
from vaxlink.storage.db import make_engine

runner = CliRunner()
# Kept figures, compared cell by cell, with the ward map they are attributed by.
KEPT = (*FIGURES, "stats_ward_map")


def cli(url: str, *args: str):  # type: ignore[no-untyped-def]
    r = runner.invoke(app, list(args), env={"VAXLINK_DATABASE_URL": url, "COLUMNS": "200"})
    assert r.exit_code == 0, f"{args}: {r.output}\n{r.exception!r}"
    return r


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
            before = kept(conn, KEPT)
            # From scratch, in a transaction that is rolled back: the kept figures stay for the backup.
            scratch = from_scratch(conn, KEPT)
        cells = {t: sum(c.values()) for t, c in before.items()}
        differ = differing_cells(before, scratch)
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

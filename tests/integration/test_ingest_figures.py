"""A batch moves the statistics by difference for what it touches (its records, the cases they open or
settle, the citizens who gain or lose a dose), as officers' actions do; the full recomputation stays as
the check (`vaxlink stats refresh --check`), and the two agree cell by cell."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from typer.testing import CliRunner

from tests.figures import differences, differing_cells, from_scratch, kept
from vaxlink.cli.main import app
from vaxlink.services.figures import stats_upkeep
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case

HEADER = [
    "record_id",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "ward_code",
    "vaccination_date",
    "dose_number",
    "vaccine",
]
REGISTER = """personal_id,full_name,date_of_birth,sex,permanent_ward_code,current_ward_code
077090001234,Nguyễn Văn An,1990-03-15,Nam,26560,
077190004321,Nguyễn Thị Hòa,1990-07-02,Nữ,26560,26554
077203000111,Trần Minh Khôi,2003,Nam,26554,
"""
AN = ["Nguyễn Văn An", "15/03/1990", "Nam", "077090001234", "26560"]
HOA = ["Nguyễn Thị Hòa", "02/07/1990", "Nữ", "077190004321", "26554"]
STRANGER = ["Lê Văn Tám", "01/01/1980", "Nam", "", "26554"]


def _doses(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows(rows)
    return path


def _refreshes(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM stats_refresh")).scalar_one())


@pytest.mark.db
@pytest.mark.parametrize("set_based_from", [stats_upkeep.SET_BASED_FROM, 1], ids=["by-cell", "set-based"])
def test_a_small_batch_moves_the_figures_by_difference_and_they_equal_a_recomputation(
    settings: Settings,
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    set_based_from: int,
) -> None:
    # Both ways of moving cells, one statement each and set-based, on the same changes.
    monkeypatch.setattr(stats_upkeep, "SET_BASED_FROM", set_based_from)
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    with transaction(engine) as s:
        import_register(s, settings, reg, rejects_path=tmp_path / "rej.csv")
    first = [
        ["r1", *AN, "2021-08-01", "1", "AZ"],
        ["r2", *AN, "2021-09-01", "2", "AZ"],
        ["r3", *STRANGER, "2021-09-01", "1", "Pfizer"],
        ["r4", *HOA, "2021-08-02", "1", "Pfizer"],
    ]
    with transaction(engine) as s:
        ingest_batch(s, settings, _doses(tmp_path / "d1.csv", first), source="his")
    refreshed = _refreshes(engine)
    # r2 moves to Hòa, r3 (unmatched, with an open case) is corrected to Khôi, r5 is new, r6 is rejected.
    second = [
        ["r2", *HOA, "2021-09-01", "2", "Pfizer"],
        ["r3", "Trần Minh Khôi", "2003", "Nam", "077203000111", "26554", "2021-09-01", "1", "Pfizer"],
        ["r5", *AN, "2022-03-01", "3", "Moderna"],
        ["r6", *STRANGER, "2031-01-01", "1", "Pfizer"],
    ]
    with transaction(engine) as s:
        r = ingest_batch(s, settings, _doses(tmp_path / "d2.csv", second), source="his")
        assert r.counts["linked"] == 3 and r.counts["rejected"] == 1
        assert s.scalar(select(func.count()).select_from(Case).where(Case.status == "open")) == 0
    # No refresh ran: the cells moved by difference.
    assert _refreshes(engine) == refreshed
    with engine.connect() as conn:
        before = kept(conn)
        scratch = from_scratch(conn)
    assert differing_cells(before, scratch) == {t: 0 for t in before}, differences(before, scratch)

    runner = CliRunner()
    env = {"VAXLINK_DATABASE_URL": db_url, "COLUMNS": "200"}
    ok = runner.invoke(app, ["stats", "refresh", "--check"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "differing cells: 0" in ok.output
    with engine.begin() as conn:
        conn.execute(text("UPDATE stats_coverage_cell SET residents = residents + 1"))
    bad = runner.invoke(app, ["stats", "refresh", "--check"], env=env)
    assert bad.exit_code == 1 and "stats_coverage_cell" in bad.output
    # The check changed nothing: the difference is still there.
    assert runner.invoke(app, ["stats", "refresh", "--check"], env=env).exit_code == 1


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vaxlink.simulation import simulate

    out = tmp_path_factory.mktemp("figures-province")
    simulate(out, province="77", citizens=1500, seed=5)
    return out


@pytest.mark.db
def test_a_batch_of_many_cells_moves_them_set_based_and_they_equal_a_recomputation(
    settings: Settings, engine: Engine, tmp_path: Path, province: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second batch brings new days (new cells), re-sends earlier records with another day, vaccine
    or ward (cells that lose their last count), and records of no known ward (cells of empty codes)."""
    with (province / "doses.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    col = {name: i for i, name in enumerate(header)}
    first, second = body[:-600], body[-600:]
    for k, row in enumerate(first[:: max(1, len(first) // 120)]):
        again = list(row)
        if k % 3 == 0:
            again[col["vaccination_date"]] = "01/02/2023"
        elif k % 3 == 1:
            again[col["vaccine"]] = "Moderna"
        else:
            again[col["ward_code"]] = "99999"
            again[col["full_name"]] = "Người Không Rõ"
        second.append(again)

    def write(name: str, part: list[list[str]]) -> Path:
        path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            w.writerows(part)
        return path

    with transaction(engine) as s:
        import_register(s, settings, province / "register.csv", rejects_path=tmp_path / "rej.csv")
    with transaction(engine) as s:
        ingest_batch(s, settings, write("first.csv", first), source="health")
    refreshed = _refreshes(engine)
    moved: dict[str, int] = {}
    original = stats_upkeep._move_cells

    def counting(conn, table, cells, changes, units):  # type: ignore[no-untyped-def]
        moved[table] = moved.get(table, 0) + len(cells)
        original(conn, table, cells, changes, units)

    monkeypatch.setattr(stats_upkeep, "_move_cells", counting)
    with transaction(engine) as s:
        r = ingest_batch(s, settings, write("second.csv", second), source="health")
    assert r.counts["superseded"] == 0 and r.rows == len(second)
    assert _refreshes(engine) == refreshed
    # Set-based, in every table of cells, and far more cells than an officer's action moves.
    assert set(moved) == {"stats_coverage_cell", "stats_dose_day", "stats_backlog_cell"}, moved
    assert moved["stats_dose_day"] > 5 * stats_upkeep.SET_BASED_FROM, moved
    with engine.connect() as conn:
        before = kept(conn)
        scratch = from_scratch(conn)
        unknown = conn.execute(
            text("SELECT count(*) FROM stats_dose_day WHERE src_ward_code IS NULL")
        ).scalar_one()
    assert unknown > 0
    assert differing_cells(before, scratch) == {t: 0 for t in before}, differences(before, scratch)

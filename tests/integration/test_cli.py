"""The operator's commands: summaries, exit codes and clear messages on bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from vaxlink.cli.main import app

runner = CliRunner()


def run(args: list[str], db_url: str):
    return runner.invoke(app, args, env={"VAXLINK_DATABASE_URL": db_url, "COLUMNS": "200"})


@pytest.mark.db
def test_the_documented_flow(db_url: str, tmp_path: Path):
    sim = run(["simulate", "--out", str(tmp_path / "sim"), "--citizens", "1500", "--seed", "3"], db_url)
    assert sim.exit_code == 0, sim.output
    assert run(["db", "upgrade"], db_url).exit_code == 0
    imp = run(
        [
            "registry",
            "import",
            str(tmp_path / "sim" / "register.csv"),
            "--rejects",
            str(tmp_path / "rej.csv"),
        ],
        db_url,
    )
    assert imp.exit_code == 0, imp.output
    assert "1,500" in imp.output
    ing = run(
        [
            "doses",
            "ingest",
            str(tmp_path / "sim" / "doses.csv"),
            "--source",
            "sim",
            "--answer",
            str(tmp_path / "answer.xlsx"),
        ],
        db_url,
    )
    assert ing.exit_code == 0, ing.output
    assert "linked" in ing.output and (tmp_path / "answer.xlsx").exists()
    again = run(["doses", "ingest", str(tmp_path / "sim" / "doses.csv"), "--source", "sim"], db_url)
    assert again.exit_code == 0 and "already ingested" in again.output
    exp = run(["reconcile", "export", "--out", str(tmp_path / "result.csv")], db_url)
    assert exp.exit_code == 0, exp.output
    with (tmp_path / "result.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with (tmp_path / "sim" / "doses.csv").open(encoding="utf-8") as f:
        assert len(rows) == sum(1 for _ in csv.DictReader(f))
    assert {
        "record_id",
        "outcome",
        "personal_id",
        "candidate_personal_id",
        "score",
        "reasons",
        "ward_code",
    } <= set(rows[0])
    check = run(["db", "check"], db_url)
    assert check.exit_code == 0, check.output
    # A reference broken behind the application's back is found by the check.
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE match_result SET citizen_id = -5 WHERE dose_record_id = (SELECT min(dose_record_id) FROM match_result WHERE citizen_id IS NOT NULL)"
            )
        )
    engine.dispose()
    check = run(["db", "check"], db_url)
    assert check.exit_code == 1 and "match_result.citizen_id: 1 " in check.output, check.output


@pytest.mark.db
def test_bad_input_gives_a_clear_message_and_exit_code_2(db_url: str, tmp_path: Path):
    assert run(["db", "upgrade"], db_url).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("Họ và tên,Ngày sinh\nA,1990\n", encoding="utf-8")
    r = run(["registry", "import", str(bad)], db_url)
    assert r.exit_code == 2 and "personal_id" in r.output and "Traceback" not in r.output
    r = run(["doses", "ingest", str(tmp_path / "missing.csv")], db_url)
    assert r.exit_code == 2 and "not found" in r.output
    r = run(["reconcile", "export", "--out", str(tmp_path / "x.doc")], db_url)
    assert r.exit_code == 2 and "unsupported" in r.output


def test_commands_refuse_a_database_without_schema(tmp_path: Path):
    r = run(["reconcile", "export", "--out", str(tmp_path / "r.csv")], f"sqlite:///{tmp_path / 'empty.db'}")
    assert r.exit_code == 2 and "db upgrade" in r.output


def test_demo_runs_the_whole_flow(tmp_path: Path):
    r = runner.invoke(
        app, ["demo", "--citizens", "1000", "--workdir", str(tmp_path / "demo")], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    assert "precision" in r.output and (tmp_path / "demo" / "reconciliation.csv").exists()
    # The certificate's life: issued and read back from its QR (green), revoked (red), reissued (green).
    assert "trùng khớp / identical" in r.output
    assert r.output.count("GREEN") == 2 and "RED" in r.output
    assert "phuong_a " in r.output and "giamsat_tinh" in r.output

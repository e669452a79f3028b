"""Drill 10 (commands and services), personal data stays put: canary citizens with unique names, ID
numbers and phones go through register import, dose ingest, re-examination, export and the other
commands; everything written to logs (Python logging at DEBUG) and to the terminal (stdout, stderr) is
searched for them. Result files, which exist to carry them, are left out."""

from __future__ import annotations

import csv
import json
import logging
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.drills.support import figure
from vaxlink.cli.main import app
from vaxlink.domain.names import fold_name
from vaxlink.domain.personal_ids import compose_personal_id
from vaxlink.domain.sex import Sex

runner = CliRunner()
CANARIES = 100
REGISTER_HEADER = [
    "personal_id", "old_id", "full_name", "date_of_birth", "sex", "permanent_ward_code",
    "current_ward_code", "address", "phone", "household_id",
]  # fmt: skip
DOSE_HEADER = [
    "record_id", "full_name", "date_of_birth", "sex", "id_number", "phone", "address", "ward_code",
    "vaccination_date", "dose_number", "vaccine", "lot_number", "site",
]  # fmt: skip


def _tag(i: int) -> str:
    letters = string.ascii_lowercase
    return letters[i // 26 % 26] + letters[i % 26] + "x"


def canaries() -> list[dict[str, str]]:
    out = []
    for i in range(CANARIES):
        out.append(
            {
                "full_name": f"Khúc Thừa Kanari{_tag(i)}",
                "personal_id": compose_personal_id("077", Sex.MALE, 1985, 990_000 + i),
                "old_id": f"27{7_700_000 + i:07d}",
                "date_of_birth": f"1985-0{1 + i % 9}-1{i % 9}",
                "phone": f"0977{770_000 + i:06d}",
                "address": f"Số {900 + i} đường Kanari{_tag(i)}",
            }
        )
    return out


def secrets_of(c: dict[str, str]) -> list[str]:
    return [c["full_name"], fold_name(c["full_name"]), c["personal_id"], c["old_id"], c["phone"]]


def write_inputs(province, tmp_path: Path) -> tuple[Path, Path, Path]:  # type: ignore[no-untyped-def]
    people = canaries()
    register = tmp_path / "register.csv"
    text = province.files["register"].read_text(encoding="utf-8")
    with register.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        w = csv.writer(f)
        for c in people:
            w.writerow([c["personal_id"], c["old_id"], c["full_name"], c["date_of_birth"], "Nam", "26560", "",
                        c["address"], c["phone"], ""])  # fmt: skip
        # Rejected rows carry canaries too: a reason must never quote them.
        for c in people[:10]:
            w.writerow(
                [
                    c["personal_id"] + "9",
                    "",
                    c["full_name"],
                    "31/02/1985",
                    "?",
                    "99999",
                    "",
                    "",
                    c["phone"],
                    "",
                ]
            )
    doses = tmp_path / "doses.csv"
    with doses.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(DOSE_HEADER)
        for i, c in enumerate(people):
            name = c["full_name"] if i % 5 else c["full_name"].upper()
            pid = c["personal_id"] if i % 3 else ""
            dob = c["date_of_birth"] if i % 7 else "1985"
            w.writerow(
                [
                    f"k-{i}",
                    name,
                    dob,
                    "Nam",
                    pid,
                    c["phone"],
                    c["address"],
                    "26560",
                    "2021-08-01",
                    1,
                    "AZ",
                    "",
                    "",
                ]
            )
            if i < 20:  # unreadable rows, rejected with reasons
                w.writerow([f"k-bad-{i}", c["full_name"], "32/13/1985", "Nam", c["personal_id"] + "x", c["phone"], "",
                            "", "2031-01-01", "0", "Thuốc lạ", "", ""])  # fmt: skip
    other = tmp_path / "doses-other.jsonl"
    with other.open("w", encoding="utf-8") as f:
        for i, c in enumerate(people[:30]):
            row = {"record_id": f"j-{i}", "full_name": c["full_name"], "id_number": c["personal_id"],
                   "date_of_birth": c["date_of_birth"]}  # fmt: skip
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.write("{not json: " + people[0]["personal_id"] + "}\n")
    return register, doses, other


@pytest.mark.db
def test_canaries_never_reach_logs_or_the_terminal(db_url, province, tmp_path):
    register, doses, other = write_inputs(province, tmp_path)
    out = tmp_path / "out"  # result files: meant to carry personal data, not searched
    out.mkdir()
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    terminal: list[str] = []
    commands = [
        ["registry", "import", str(register), "--rejects", str(out / "rejects.csv")],
        ["doses", "ingest", str(doses), "--answer", str(out / "answer.csv")],
        ["doses", "ingest", str(doses)],  # the same again: a no-op
        ["doses", "ingest", str(other), "--source", "jsonl"],
        ["registry", "import", str(register), "--rejects", str(out / "rejects2.csv")],
        ["reconcile", "export", "--out", str(out / "result.csv")],
        ["db", "check"],
        ["stats", "refresh"],
        ["db", "backup", str(out / "backup.db")],
        ["verify", "HC1:" + canaries()[0]["personal_id"]],
        ["doses", "ingest", str(tmp_path / ("missing-" + canaries()[1]["personal_id"] + ".csv"))],
    ]
    try:
        for args in commands:
            r = runner.invoke(app, args, env={"VAXLINK_DATABASE_URL": db_url, "COLUMNS": "200"})
            terminal.append(r.output)
            if r.exception is not None and not isinstance(r.exception, SystemExit):
                terminal.append(repr(r.exception))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    result = (out / "result.csv").read_text(encoding="utf-8")
    assert canaries()[0]["personal_id"] in result  # the canaries did go through
    searched = {"logs": "\n".join(records), "terminal": "\n".join(terminal)}
    hits = []
    for c in canaries():
        for secret in secrets_of(c):
            for where, text in searched.items():
                if secret.lower() in text.lower():
                    hits.append((where, secret))
    # The missing file's own name was typed by the operator: echoing it back is not a leak.
    hits = [h for h in hits if h != ("terminal", canaries()[1]["personal_id"])]
    figure(
        "10",
        f"{CANARIES} canaries through {len(commands)} commands; {len(records):,} log records, "
        f"{sum(len(t) for t in terminal):,} characters of terminal output searched",
        f"{len(hits)} hits",
    )
    assert hits == [], hits[:10]

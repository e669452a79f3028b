"""The same people written the way another exporter writes them are reconciled the same way.

A simulated register and dose batch go through the README's commands twice: once as simulated, once
rewritten as other systems export them: Vietnamese headers in another order, an unknown column, a BOM,
dates as ISO, without their zeros, with dashes or dots, year first with slashes or as Excel serial numbers,
phones written internationally or with the leading 0 lost, numbers grouped by spaces or kept as text by a
spreadsheet's apostrophe, ward codes read back as numbers (26560.0), sex as M/F, male/female or in
capitals, names in capitals, in small letters or with stray spaces. Every record must end the same:
outcome, person, candidate and reasons."""

from __future__ import annotations

import csv
import random
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxlink.cli.main import app

runner = CliRunner()

REGISTER_VI = {
    "personal_id": "Số định danh",
    "old_id": "Số CMND",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "sex": "Giới tính",
    "permanent_ward_code": "Mã xã thường trú",
    "current_ward_code": "Mã xã nơi ở hiện tại",
    "address": "Địa chỉ",
    "phone": "Số điện thoại",
    "household_id": "Mã hộ",
}
DOSES_VI = {
    "record_id": "Mã bản ghi",
    "full_name": "Họ và tên",
    "date_of_birth": "Ngày sinh",
    "sex": "Giới tính",
    "id_number": "Số CMND/CCCD",
    "phone": "Số điện thoại",
    "address": "Địa chỉ",
    "ward_code": "Mã xã",
    "vaccination_date": "Ngày tiêm",
    "dose_number": "Mũi tiêm",
    "vaccine": "Tên vắc xin",
    "lot_number": "Số lô",
    "site": "Cơ sở tiêm",
}
EXCEL_EPOCH = date(1899, 12, 30)


def _parse(text: str) -> date | None:
    for form in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), form).date()
        except ValueError:
            pass
    return None


def _date(text: str, rng: random.Random, *, excel: bool) -> str:
    d = _parse(text)
    if d is None:  # a year alone, or a date the simulator wrote broken on purpose
        return text
    k = rng.random()
    if k < 0.2:
        return d.isoformat()
    if k < 0.4:
        return f"{d.day}/{d.month}/{d.year}"
    if k < 0.55:
        return f"{d.day:02d}-{d.month:02d}-{d.year}"
    if k < 0.7 and excel:
        return str((d - EXCEL_EPOCH).days)
    if k < 0.75:
        return d.strftime("%d.%m.%Y")
    if k < 0.8:
        return d.strftime("%Y/%m/%d")
    return d.strftime("%d/%m/%Y")


def _phone(text: str, rng: random.Random, *, register: bool) -> str:
    if not text.startswith("0") or len(text) != 10:
        return text
    k = rng.random()
    if register:
        return "+84" + text[1:] if k < 0.3 else text
    if k < 0.25:
        return f"+84 {text[1:4]} {text[4:7]} {text[7:]}"
    if k < 0.45:
        return text[1:]  # through a spreadsheet as a number
    if k < 0.55:
        return f"0084{text[1:]}"
    if k < 0.7:
        return f"{text[:4]}.{text[4:7]}.{text[7:]}"
    return text


def _name(text: str, rng: random.Random) -> str:
    k = rng.random()
    if not text or k > 0.15:
        return text
    if k < 0.05:
        return f"  {text.replace(' ', '  ', 1)} "
    return text.upper() if k < 0.1 else text.lower()


def _number(text: str, rng: random.Random) -> str:
    if not text.isdigit():
        return text
    k = rng.random()
    if k < 0.1:
        return "'" + text
    if k < 0.2:
        return " ".join(text[i : i + 3] for i in range(0, len(text), 3))
    return text


SEXES = {"Nam": ("M", "male", "NAM", "nam"), "Nữ": ("F", "female", "NỮ", "nữ")}


def _sex(text: str, rng: random.Random) -> str:
    return rng.choice(SEXES[text]) if text in SEXES and rng.random() < 0.3 else text


def _ward(text: str, rng: random.Random) -> str:
    return f"{text}.0" if text.isdigit() and rng.random() < 0.2 else text


def _rewrite(
    source: Path, target: Path, headers: dict[str, str], rng: random.Random, *, register: bool
) -> int:
    """`source` rewritten into `target`; returns how many values were written in another form."""
    with source.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    columns = list(rows[0])
    rng.shuffle(columns)
    changed = 0
    with target.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow([headers.get(c, c) for c in columns] + ["Ghi chú"])
        for row in rows:
            new = dict(row)
            new["date_of_birth"] = _date(row["date_of_birth"], rng, excel=not register)
            new["phone"] = _phone(row["phone"], rng, register=register)
            new["sex"] = _sex(row["sex"], rng)
            if register:
                new["personal_id"] = _number(row["personal_id"], rng)
                new["old_id"] = _number(row["old_id"], rng)
            else:
                new["vaccination_date"] = _date(row["vaccination_date"], rng, excel=True)
                new["full_name"] = _name(row["full_name"], rng)
                new["id_number"] = _number(row["id_number"], rng)
                new["ward_code"] = _ward(row["ward_code"], rng)
            changed += sum(new[k] != row[k] for k in row)
            w.writerow([new[c] for c in columns] + [""])
    return changed


def _reconcile(register: Path, doses: Path, db_url: str, work: Path, out: Path) -> dict[str, dict[str, str]]:
    env = {"VAXLINK_DATABASE_URL": db_url, "VAXLINK_WORK_DIR": str(work), "COLUMNS": "200"}
    for args in (
        ["db", "upgrade"],
        ["registry", "import", str(register), "--rejects", str(work / "rejects.csv")],
        ["doses", "ingest", str(doses)],
        ["reconcile", "export", "--out", str(out)],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
    with out.open(encoding="utf-8") as f:
        return {r["record_id"]: r for r in csv.DictReader(f)}


@pytest.mark.db
def test_another_exporters_files_are_reconciled_the_same(db_url: str, tmp_path: Path) -> None:
    sim = runner.invoke(
        app, ["simulate", "--out", str(tmp_path / "sim"), "--citizens", "2000", "--seed", "21"]
    )
    assert sim.exit_code == 0, sim.output
    rng = random.Random(5)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    changed = _rewrite(
        tmp_path / "sim" / "register.csv", foreign / "register.csv", REGISTER_VI, rng, register=True
    )
    changed += _rewrite(tmp_path / "sim" / "doses.csv", foreign / "doses.csv", DOSES_VI, rng, register=False)
    assert changed > 2000  # the rewrite is not empty

    plain = _reconcile(
        tmp_path / "sim" / "register.csv",
        tmp_path / "sim" / "doses.csv",
        f"sqlite:///{tmp_path / 'plain.db'}",
        tmp_path / "work-plain",
        tmp_path / "plain.csv",
    )
    other = _reconcile(
        foreign / "register.csv",
        foreign / "doses.csv",
        db_url,
        tmp_path / "work-foreign",
        tmp_path / "foreign.csv",
    )
    assert other.keys() == plain.keys()
    fields = ("outcome", "personal_id", "candidate_personal_id", "reasons", "ward_code")
    differ = [
        (k, {f: (plain[k][f], other[k][f]) for f in fields if plain[k][f] != other[k][f]})
        for k in plain
        if any(plain[k][f] != other[k][f] for f in fields)
    ]
    assert differ == []
    assert sum(r["outcome"] == "linked" for r in plain.values()) > 0.9 * len(plain)

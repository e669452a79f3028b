"""The same people written the way another exporter writes them are reconciled the same way.

A simulated register and dose batch go through the README's commands twice: once as simulated, once
rewritten by `simulation.export_styles` (Vietnamese headers in another order, an unknown column, a BOM,
mixed date forms and Excel serial numbers, phones written internationally or with the leading 0 lost,
numbers grouped by spaces or kept as text by an apostrophe, ward codes read back as numbers, sex and names
written otherwise). Every record must end the same: outcome, person, candidate, reasons and desk."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vaxlink.cli.main import app
from vaxlink.domain.admin_units import Structure
from vaxlink.simulation.export_styles import restyle

runner = CliRunner()


def _reconcile(
    register: Path, doses: Path, db_url: str, work: Path, out: Path, units: str = "legacy"
) -> dict[str, dict[str, str]]:
    env = {"VAXLINK_DATABASE_URL": db_url, "VAXLINK_WORK_DIR": str(work), "COLUMNS": "200"}
    for args in (
        ["db", "upgrade"],
        ["registry", "import", str(register), "--rejects", str(work / "rejects.csv"), "--units", units],
        ["doses", "ingest", str(doses)],
        ["reconcile", "export", "--out", str(out)],
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, (args, result.output)
    with out.open(encoding="utf-8") as f:
        return {r["record_id"]: r for r in csv.DictReader(f)}


def _simulated(tmp_path: Path, seed: int) -> dict[str, dict[str, str]]:
    """A province of 2,000 citizens simulated into `tmp_path / "sim"`, reconciled as simulated on SQLite."""
    sim = runner.invoke(
        app, ["simulate", "--out", str(tmp_path / "sim"), "--citizens", "2000", "--seed", str(seed)]
    )
    assert sim.exit_code == 0, sim.output
    return _reconcile(
        tmp_path / "sim" / "register.csv",
        tmp_path / "sim" / "doses.csv",
        f"sqlite:///{tmp_path / 'plain.db'}",
        tmp_path / "work-plain",
        tmp_path / "plain.csv",
    )


@pytest.mark.db
def test_another_exporters_files_are_reconciled_the_same(db_url: str, tmp_path: Path) -> None:
    plain = _simulated(tmp_path, 21)
    foreign = tmp_path / "foreign"
    changed = restyle(tmp_path / "sim", foreign, seed=5)
    assert changed > 5000  # the rewrite is not empty
    with (foreign / "doses.csv").open(encoding="utf-8-sig") as f:
        text = f.read()
    assert "'0" in text and "+84 " in text and ".0," in text and "Ghi chú" in text
    assert " tháng " in text and " giới" in text and "Mũi " in text

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


@pytest.mark.db
def test_a_register_in_the_2025_units_meets_doses_with_legacy_wards(db_url: str, tmp_path: Path) -> None:
    """The same register written with the 2025 wards (each old ward the new one it went into) and imported so:
    no record is linked to another person, and no record is told its ward differs from a citizen's when the
    ward was the same in the legacy units (an old ward lies within the new one it went into)."""
    plain = _simulated(tmp_path, 23)
    restyle(tmp_path / "sim", tmp_path / "new", seed=5, register_units=Structure.CURRENT)
    new = _reconcile(
        tmp_path / "new" / "register.csv",
        tmp_path / "new" / "doses.csv",
        db_url,
        tmp_path / "work-new",
        tmp_path / "new.csv",
        units="2025",
    )
    assert new.keys() == plain.keys()
    linked = [k for k in plain if plain[k]["outcome"] == new[k]["outcome"] == "linked"]
    assert len(linked) > 0.9 * len(plain)
    assert [k for k in linked if plain[k]["personal_id"] != new[k]["personal_id"]] == []

    def who(r: dict[str, str]) -> str:
        return r["personal_id"] or r["candidate_personal_id"]

    told = [
        k
        for k in plain
        if who(plain[k]) == who(new[k]) != ""
        and "WARD_DIFFERS" in new[k]["reasons"]
        and "WARD_DIFFERS" not in plain[k]["reasons"]
    ]
    assert told == []
    # The sample holds records vaccinated outside their ward, which both runs tell.
    assert sum("WARD_DIFFERS" in r["reasons"] for r in new.values()) > 10


@pytest.mark.db
def test_nul_characters_in_a_file_are_dropped_and_stop_nothing(db_url: str, tmp_path: Path) -> None:
    """An exporter's stray NUL byte: PostgreSQL's text refuses it, and one stopped a whole load."""
    register = tmp_path / "register.csv"
    with register.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["personal_id", "full_name", "date_of_birth", "sex", "permanent_ward_code", "address", "Ghi chú"]
        )
        w.writerow(
            ["077090001234", "Nguyễn Văn An", "15/03/1990", "Nam", "26560", "Số 1\x00 Lê Lợi", "a\x00b"]
        )
    doses = tmp_path / "doses.csv"
    with doses.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "record_id",
                "full_name",
                "date_of_birth",
                "id_number",
                "vaccination_date",
                "dose_number",
                "vaccine",
            ]
        )
        w.writerow(["r1", "Nguyễn Văn An\x00", "15/03/1990", "077090001234\x00", "01/08/2021", "1", "AZ"])
    got = _reconcile(register, doses, db_url, tmp_path / "work", tmp_path / "out.csv")
    assert (got["r1"]["outcome"], got["r1"]["personal_id"]) == ("linked", "077090001234")

"""Every open record has a desk: the ward of its code read in the right unit structure (the row's own
`ward_units`, the ingest's --units, else the lists and the vaccination date), else the province queue of
its address, of its personal id, or of the batch; `vaxlink db check` counts cases without one."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from vaxlink.cli.main import app
from vaxlink.services.reconciliation.dose_ingest import ingest_batch
from vaxlink.services.reconciliation.registry_import import import_register
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case, DoseRecord

HEADER = [
    "record_id",
    "full_name",
    "date_of_birth",
    "sex",
    "id_number",
    "address",
    "ward_code",
    "vaccination_date",
    "dose_number",
    "vaccine",
    "ward_units",
]
REGISTER = """personal_id,full_name,date_of_birth,sex,permanent_ward_code
077090001234,Nguyễn Văn An,1990-03-15,Nam,26560
"""
STRANGER = ["Lê Văn Tám", "01/01/1980", "Nam"]


def _doses(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        out.writerows(rows)
    return path


@pytest.mark.db
def test_every_open_record_has_a_desk(
    settings: Settings, engine: Engine, db_url: str, tmp_path: Path
) -> None:
    reg = tmp_path / "reg.csv"
    reg.write_text(REGISTER, encoding="utf-8")
    with transaction(engine) as s:
        import_register(s, settings, reg, rejects_path=tmp_path / "rej.csv")
    rows = [
        # A code of the 2025 list only (Côn Đảo): read in that list.
        ["d1", "Phạm Thị Lan", "02/02/1985", "Nữ", "", "", "26732", "2025-08-01", "1", "Pfizer", ""],
        # 26560 is in both lists: Phước Trung before 1 July 2025, Phường Bà Rịa after.
        ["d2", "Đỗ Văn Hùng", "03/03/1975", "Nam", "", "", "26560", "2025-08-01", "1", "Pfizer", ""],
        ["d3", "Võ Thị Mai", "04/04/1970", "Nữ", "", "", "26560", "2021-08-01", "1", "Pfizer", ""],
        # The row says its structure itself.
        ["d4", "Hồ Văn Nam", "05/05/1965", "Nam", "", "", "26560", "2025-08-01", "1", "Pfizer", "legacy"],
        # No ward: the province of the personal id, then of the address.
        ["d5", "Lý Văn Quý", "06/06/1990", "Nam", "079090001111", "", "", "2021-08-01", "1", "Pfizer", ""],
        ["d6", *STRANGER, "", "Số 5, phường Thắng Tam, Bà Rịa - Vũng Tàu", "", "2021-08-01", "1", "AZ", ""],
        ["d7", *STRANGER[:1], "01/01/1981", "Nam", "", "", "", "2021-09-01", "1", "AZ", ""],
    ]
    with transaction(engine) as s:
        r = ingest_batch(s, settings, _doses(tmp_path / "d.csv", rows))
        assert r.counts["unmatched"] + r.counts["review"] == 7
        units = dict(s.execute(select(DoseRecord.record_id, DoseRecord.ward_units)).all())
        desks = {
            rid: (ward, ward_units, province)
            for rid, ward, ward_units, province in s.execute(
                select(DoseRecord.record_id, Case.ward_code, Case.ward_units, Case.province_code).join(
                    Case, Case.dose_record_id == DoseRecord.id
                )
            ).all()
        }
    assert units == {
        "d1": "2025",
        "d2": "2025",
        "d3": "legacy",
        "d4": "legacy",
        "d5": None,
        "d6": None,
        "d7": None,
    }
    assert desks["d1"][:2] == ("26732", "2025")
    assert desks["d2"][:2] == ("26560", "2025")
    assert desks["d3"] == ("26560", "legacy", "77")
    assert desks["d4"][:2] == ("26560", "legacy")
    assert desks["d5"] == (None, "legacy", "79")
    assert desks["d6"] == (None, "legacy", "77")
    assert desks["d7"][0] is None and desks["d7"][2] is not None

    check = CliRunner().invoke(app, ["db", "check"], env={"VAXLINK_DATABASE_URL": db_url, "COLUMNS": "200"})
    assert check.exit_code == 0, check.output
    assert "work_case.without_desk: 0" in check.output

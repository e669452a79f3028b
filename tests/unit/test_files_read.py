"""Readers: every input row arrives with its line number; malformed rows are marked, never dropped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from vaxlink.domain.errors import InputError
from vaxlink.files.read import load_file

DATA = Path(__file__).parent.parent / "data"


def rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT * FROM raw ORDER BY _line").fetchall()


def test_csv_keeps_line_numbers_across_quoted_newlines_and_marks_bad_field_counts(tmp_path: Path):
    p = tmp_path / "a.csv"
    p.write_text('a,b,c\n1,"x\ny",3\n4,5\n\n6,7,8,9\n10,11,12\n', encoding="utf-8")
    con = duckdb.connect()
    loaded = load_file(con, p, "raw")
    assert loaded.headers == ["a", "b", "c"] and loaded.rows == 4
    assert [(r[0], r[1] is not None, r[2:]) for r in rows(con)] == [
        (2, False, ("1", "x\ny", "3")),
        (4, True, ("4", "5", None)),
        (6, True, ("6", "7", "8")),
        (7, False, ("10", "11", "12")),
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("b.csv", "\ufeffSố định danh;Họ và tên\n077090001234;Nguyễn Văn An\n"),  # BOM, semicolons
        ("b.tsv", "Số định danh\tHọ và tên\n077090001234\tNguyễn Văn An\n"),  # a tab-separated export
    ],
)
def test_bom_semicolons_tabs_and_vietnamese_headers(tmp_path: Path, name: str, content: str):
    p = tmp_path / name
    p.write_bytes(content.encode())
    con = duckdb.connect()
    loaded = load_file(con, p, "raw")
    assert loaded.headers == ["Số định danh", "Họ và tên"]
    assert rows(con) == [(2, None, "077090001234", "Nguyễn Văn An")]


def test_jsonl_marks_broken_lines(tmp_path: Path):
    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps({"a": 1, "b": "x"}) + "\n{broken\n" + json.dumps({"b": "y", "c": True}) + "\n")
    con = duckdb.connect()
    loaded = load_file(con, p, "raw")
    assert loaded.headers == ["a", "b", "c"] and loaded.rows == 3
    got = rows(con)
    assert got[0] == (1, None, "1", "x", None)
    assert got[1][0] == 2 and got[1][1].startswith("JSON_SYNTAX")
    assert got[2] == (3, None, None, "y", "True")


@pytest.mark.parametrize("content", [b"", b"\xff\xfe\x00garbage"])
def test_unreadable_files_give_a_clear_error(tmp_path: Path, content: bytes):
    p = tmp_path / "d.csv"
    p.write_bytes(content)
    with pytest.raises(InputError):
        load_file(duckdb.connect(), p, "raw")


def test_unknown_extension_and_missing_file(tmp_path: Path):
    (tmp_path / "x.doc").write_bytes(b"a,b\n")
    with pytest.raises(InputError, match="unsupported"):
        load_file(duckdb.connect(), tmp_path / "x.doc", "raw")
    with pytest.raises(InputError, match="not found"):
        load_file(duckdb.connect(), tmp_path / "x.csv", "raw")


def test_a_parquet_file_declaring_an_impossible_type_is_refused_clearly():
    # Found by the parser fuzz drill: a damaged Parquet file whose schema claims an integer wider than 64
    # bits made Arrow raise its own NotImplemented error at open; the reader must call the file bad.
    con = duckdb.connect()
    with pytest.raises(InputError, match="Parquet"):
        load_file(con, DATA / "forged-128-bit-integer.parquet", "raw")


def test_a_file_without_its_header_row_is_refused_without_quoting_it(tmp_path: Path):
    from vaxlink.domain.interchange import DOSE_COLUMNS
    from vaxlink.files.read import contract_select

    p = tmp_path / "no-header.csv"
    p.write_text("77-1,Nguyễn Thị Canary,1990-01-02,F,077190000123,0912345678\n", encoding="utf-8")
    con = duckdb.connect()
    with pytest.raises(InputError) as e:
        contract_select(load_file(con, p, "doses_in"), DOSE_COLUMNS)
    message = str(e.value)
    assert "missing required columns" in message and "columns found: 6" in message
    for datum in ("Canary", "077190000123", "0912345678", "1990-01-02"):
        assert datum not in message


def test_a_parquet_file_with_a_column_name_that_is_not_utf8_is_refused_clearly(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"full_name": ["Nguyễn Văn A"], "record_id": ["1"]}), good)
    bad = tmp_path / "bad.parquet"
    data = good.read_bytes()
    assert b"full_name" in data
    bad.write_bytes(data.replace(b"full_name", b"\xe4ull_name"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_file(duckdb.connect(), bad, "doses_in")


def test_a_parquet_file_with_text_that_is_not_utf8_is_refused_clearly(tmp_path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"full_name": ["Zyxwvut"], "record_id": ["1"]}), good, compression="none")
    bad = tmp_path / "bad.parquet"
    data = good.read_bytes()
    assert data.count(b"Zyxwvut") == 1 or b"Zyxwvut" in data
    bad.write_bytes(data.replace(b"Zyxwvut", b"Zy\xe4wvut"))
    with pytest.raises(InputError, match="damaged file"):
        load_file(duckdb.connect(), bad, "doses_in")


@pytest.mark.parametrize(
    "tail",
    [
        b"r1,Nguy\xe1",  # the example the parser fuzzing found: a last row cut in a multi-byte character
        b"r1,Le Tam,1990\nr2,Nguy\xe1\xbb",
        b"r1,Nguy\xe1\xbb,1990,extra,fields\n",
    ],
)
def test_a_malformed_row_cut_in_a_multibyte_character_is_refused_or_marked(tmp_path: Path, tail: bytes):
    # The fast reader's invalid-row handler raised UnicodeDecodeError inside pyarrow on such a row, where
    # it can only be ignored; pytest turns that unraisable exception into a failure.
    p = tmp_path / "cut.csv"
    p.write_bytes(b"record_id,full_name,date_of_birth\n" + tail)
    con = duckdb.connect()
    try:
        loaded = load_file(con, p, "raw")
    except InputError:
        return
    assert loaded.rows >= 1


def test_a_deeply_nested_json_line_is_a_malformed_row_not_a_crash(tmp_path: Path):
    p = tmp_path / "deep.jsonl"
    deep = '{"record_id": "r1", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    p.write_text(
        '{"record_id": "r0", "full_name": "A"}\n' + deep + "\n" + '{"record_id": "r2"}\n', encoding="utf-8"
    )
    con = duckdb.connect()
    loaded = load_file(con, p, "raw")
    got = con.execute("SELECT _line, _malformed FROM raw ORDER BY _line").fetchall()
    assert loaded.rows == 3
    assert got[0][1] is None and got[1][1] == "JSON_TOO_DEEP" and got[2][1] is None
    # Brackets inside strings are text, not nesting.
    p.write_text(json.dumps({"record_id": "r1", "full_name": "[" * 500}) + "\n", encoding="utf-8")
    con = duckdb.connect()
    load_file(con, p, "raw")
    assert con.execute("SELECT _malformed FROM raw").fetchall() == [(None,)]


def test_a_workbook_of_millions_of_empty_rows_is_refused_quickly(tmp_path: Path):
    import time
    import zipfile

    import openpyxl

    p = tmp_path / "empty.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["record_id", "full_name"])
    wb.save(p)
    # Pad the sheet with empty rows (empty cells), as the attack's 287 KB file of 2 million did.
    with zipfile.ZipFile(p) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    rows = "".join(f'<row r="{i}"><c r="A{i}"/></row>' for i in range(2, 200_002))
    sheet = re.sub(r"<dimension [^>]*/>", "", sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("</sheetData>", rows + "</sheetData>").encode()
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in parts.items():
            z.writestr(n, b)
    started = time.monotonic()
    con = duckdb.connect()
    with pytest.raises(InputError, match="empty rows"):
        load_file(con, p, "raw")
    assert time.monotonic() - started < 20

"""Every CSV and XLSX the system writes goes through here, so that no text from a file, an officer or a
citizen reaches a spreadsheet program as a formula.

Per OWASP's CSV-injection guidance, a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with a single quote (spreadsheet programs then show it as text and do not evaluate
it); the CSV writer quotes cells that contain separators or quotes. In XLSX every text cell is written
with the string type, never as a formula, whatever it starts with. Numbers stay numbers. Parquet is not
opened by spreadsheet programs and keeps the values as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxlink.domain.errors import InputError

# Characters that make a spreadsheet program read a cell as a formula (or, for TAB and CR, that some
# programs strip before doing so).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_PATTERN = "^[=+\\-@\t\r]"
BOM = "\ufeff"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def neutralise(value: Any) -> Any:
    """A cell's value made safe for a spreadsheet: text that could start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_table(table: pa.Table) -> pa.Table:
    """The table with every text column neutralised (vectorised: answers and exports run to millions)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA_PATTERN), False)
            if pc.any(risky).as_py():
                column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=table.schema)


def csv_bytes(table: pa.Table, *, bom: bool = False) -> bytes:
    """A table as CSV (header row), neutralised; with `bom`, a byte-order mark so that spreadsheet
    programs read the Vietnamese text as UTF-8."""
    buf = io.BytesIO()
    pacsv.write_csv(neutralise_table(table), buf)
    return (BOM.encode("utf-8") if bom else b"") + buf.getvalue()


def csv_rows_text(columns: Sequence[str], rows: Iterable[Sequence[Any]], *, bom: bool = False) -> str:
    """Rows of Python values as CSV text, neutralised (None is an empty cell)."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow([neutralise(c) for c in columns])
    for row in rows:
        w.writerow(["" if v is None else neutralise(v) for v in row])
    return (BOM if bom else "") + text.getvalue()


def xlsx_write(
    target: Path | IO[bytes], sheet: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Rows as an XLSX workbook of one sheet: text cells neutralised and typed as strings."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(sheet)

    def cells(values: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for v in values:
            if isinstance(v, str):
                cell = WriteOnlyCell(ws, value=neutralise(v))
                # openpyxl would make a formula of any text starting with "="; a string it stays.
                cell.data_type = "s"
                out.append(cell)
            else:
                out.append(v)
        return out

    ws.append(cells(list(columns)))
    for row in rows:
        ws.append(cells(list(row)))
    wb.save(target)


def _table_rows(table: pa.Table) -> Iterable[tuple[Any, ...]]:
    for batch in table.to_batches(50_000):
        yield from zip(*(c.to_pylist() for c in batch.columns), strict=True)


def xlsx_bytes(table: pa.Table, sheet: str) -> bytes:
    buf = io.BytesIO()
    xlsx_write(buf, sheet, table.schema.names, _table_rows(table))
    return buf.getvalue()


def write_table(table: pa.Table, out: Path, *, sheet: str = "ket-qua", bom: bool = False) -> Path:
    """Write a table to `out` as its suffix says (.csv, .xlsx, .parquet)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        with out.open("wb") as fh:
            if bom:
                fh.write(BOM.encode("utf-8"))
            pacsv.write_csv(neutralise_table(table), fh)
    elif suffix == ".parquet":
        pq.write_table(table, out)
    elif suffix == ".xlsx":
        xlsx_write(out, sheet, table.schema.names, _table_rows(table))
    else:
        raise InputError(
            f"Định dạng '{out.suffix}' không hỗ trợ / unsupported output type (use .csv, .parquet, .xlsx)"
        )
    return out

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
from collections.abc import Callable, Iterable, Mapping, Sequence
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


# --- the reader's language -------------------------------------------------------------------------------
# A download for people carries their words: headers in their language and codes (outcomes, reasons, levels)
# as words. The caller gives the words (the web layer knows them); the contract's own names and codes stay
# the download for programs.

Words = Mapping[str, Callable[[str], str]]


def localise_table(table: pa.Table, headers: Mapping[str, str], words: Words) -> pa.Table:
    """`table` with its columns renamed by `headers` and the text of the columns in `words` replaced by
    what each column's function makes of it. Each distinct value is looked up once (an answer runs to
    millions of rows, with a few hundred distinct values in a column)."""
    columns = []
    for name, column in zip(table.schema.names, table.columns, strict=True):
        word = words.get(name)
        if word is not None and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            distinct = pc.unique(column).drop_null()
            said = pa.array([word(v) for v in distinct.to_pylist()], type=pa.string())
            column = pc.take(said, pc.index_in(column, value_set=distinct))
        columns.append(column)
    names = [headers.get(n, n) for n in table.schema.names]
    return pa.Table.from_arrays(columns, names=names)


def localise_rows(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], headers: Mapping[str, str], words: Words
) -> tuple[list[str], Iterable[list[Any]]]:
    """The same for rows of Python values: the headers said, and the values of the columns in `words`."""
    said = [words.get(c) for c in columns]

    def out() -> Iterable[list[Any]]:
        for row in rows:
            yield [
                f(v) if f is not None and isinstance(v, str) else v for f, v in zip(said, row, strict=True)
            ]

    return [headers.get(c, c) for c in columns], out()


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

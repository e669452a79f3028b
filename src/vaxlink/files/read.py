"""Read the interchange files (CSV, Parquet, XLSX, JSON Lines) into a DuckDB table of text columns.

Every input row lands as one row of the table with its line number (`_line`, the header is line 1)
and, when the row itself is malformed (wrong number of fields), a `_malformed` reason, so that
the caller can count it: nothing read is ever dropped silently. Reading streams in batches.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from vaxlink.domain.errors import InputError
from vaxlink.domain.interchange import Column, map_headers
from vaxlink.files.fhir import fhir_batches

BATCH_ROWS = 100_000
LINE = "_line"
MALFORMED = "_malformed"
Progress = Callable[[int], None]

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",  # the delimiter is sniffed
    ".parquet": "parquet",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}


@dataclass(frozen=True, slots=True)
class LoadedFile:
    table: str
    headers: list[str]
    rows: int
    checksum: str
    format: str


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"Không đọc được định dạng tệp '{path.suffix}' / unsupported file type '{path.suffix}' "
            f"(accepted: {', '.join(sorted(FORMATS))})"
        )
    return fmt


def checksum(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"Không tìm thấy tệp / file not found: {path}")
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _batch(
    headers: list[str], rows: list[list[str | None]], lines: list[int], malformed: list[str | None]
) -> pa.RecordBatch:
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in headers]
    arrays = [pa.array(lines, pa.int64()), pa.array(malformed, pa.string())]
    arrays += [pa.array(c, pa.string()) for c in cols]
    return pa.RecordBatch.from_arrays(arrays, names=[LINE, MALFORMED, *headers])


def _clean_headers(raw: list[object]) -> list[str]:
    headers: list[str] = []
    for i, h in enumerate(raw):
        name = "" if h is None else str(h).replace("\ufeff", "").strip()
        name = name or f"column_{i + 1}"
        while name in headers or name in (LINE, MALFORMED):
            name += "_"
        headers.append(name)
    return headers


def _physical_lines(path: Path) -> int:
    n, last = 0, b"\n"
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (0 if last == b"\n" else 1)


def _csv_batches_fast(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]] | None:
    """Arrow's parallel reader, used when every record is exactly one line: then line = row + 2.

    Anything unusual (a malformed row, a blank line, a quoted line break, bad UTF-8) returns None, and
    the exact reader handles the file and says precisely where the trouble is.
    """
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        try:
            first = f.readline()
        except UnicodeDecodeError:
            return None
    delimiter = max(",;\t", key=first.count)
    try:
        headers = _clean_headers(list(next(csv.reader([first], delimiter=delimiter))))
    except (StopIteration, csv.Error):
        return None
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=headers, skip_rows=1, block_size=1 << 23),
            # No invalid-row handler: pyarrow decodes the row's text before calling one, and a row cut in
            # a multi-byte character then raises inside pyarrow, where it can only be ignored. A malformed
            # row raises here instead and the exact reader takes the file.
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in headers},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError):
        return None
    if table.num_rows + 1 != _physical_lines(path):
        return None

    def gen() -> Iterator[pa.RecordBatch]:
        start = 2
        for b in table.to_batches(BATCH_ROWS):
            n = b.num_rows
            arrays = [pa.array(range(start, start + n), pa.int64()), pa.nulls(n, pa.string()), *b.columns]
            start += n
            yield pa.RecordBatch.from_arrays(arrays, names=[LINE, MALFORMED, *headers])

    return headers, gen()


def _csv_batches(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    return _csv_batches_fast(path) or _csv_batches_exact(path)


def _csv_batches_exact(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    f = path.open("r", encoding="utf-8-sig", newline="")
    try:
        # The delimiter is read off the header line, where no field holds one.
        first = f.readline()
        f.seek(0)
        delimiter = max(",;\t", key=first.count)
        reader = csv.reader(f, delimiter=delimiter)
        try:
            headers = _clean_headers(list(next(reader)))
        except StopIteration:
            f.close()
            raise InputError("Tệp rỗng, không có dòng tiêu đề / empty file: no header row") from None
    except UnicodeDecodeError as e:
        f.close()
        raise InputError(f"Tệp không phải UTF-8 / file is not UTF-8: {e.reason} at byte {e.start}") from None
    width = len(headers)

    def gen() -> Iterator[pa.RecordBatch]:
        rows: list[list[str | None]] = []
        lines: list[int] = []
        bad: list[str | None] = []
        try:
            while True:
                line = reader.line_num + 1
                try:
                    rec = next(reader)
                except StopIteration:
                    break
                except csv.Error as e:
                    rows.append([None] * width)
                    lines.append(line)
                    bad.append(f"CSV_SYNTAX: {e}")
                    continue
                if not rec or all(not c.strip() for c in rec):
                    continue  # blank lines carry no record
                if len(rec) != width:
                    # Too many or too few fields: keep what is there but count it as malformed.
                    bad.append(f"CSV_FIELD_COUNT: {len(rec)} fields, header has {width}")
                    rec = (rec + [""] * width)[:width]
                else:
                    bad.append(None)
                rows.append([c if c != "" else None for c in rec])
                lines.append(line)
                if len(rows) >= BATCH_ROWS:
                    yield _batch(headers, rows, lines, bad)
                    rows, lines, bad = [], [], []
        except UnicodeDecodeError as e:
            raise InputError(
                f"Tệp không phải UTF-8 (sau dòng {lines[-1] if lines else 1}) / file is not UTF-8: {e.reason}"
            ) from None
        finally:
            f.close()
        if rows:
            yield _batch(headers, rows, lines, bad)

    return headers, gen()


def _text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()  # type: ignore[no-any-return]
    s = str(v)
    return s if s.strip() else None


# Bounds of what a workbook may unpack to: a few hundred kilobytes can describe millions of empty rows
# (which held a server for 51 s) or gigabytes of XML.
XLSX_MAX_UNPACKED = 1024 * 1024 * 1024
XLSX_MAX_ROWS = 1_048_576  # Excel's own limit
XLSX_MAX_EMPTY_RUN = 10_000  # consecutive empty rows: a padded sheet, not data
# JSON nesting deeper than this is no dose record (and Python's parser would recurse past its limit).
JSON_MAX_DEPTH = 32
JSON_MAX_LINE = 1024 * 1024


def _check_unpacked(path: Path) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            total = sum(max(0, i.file_size) for i in z.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # openpyxl gives its own clear refusal of a damaged file
    if total > XLSX_MAX_UNPACKED:
        raise InputError(
            f"Tệp Excel giải nén quá lớn / workbook unpacks to more than {XLSX_MAX_UNPACKED // 2**20} MB"
        )


def _too_deep(raw: str) -> bool:
    # Cheap test first: a line without that many brackets cannot nest that deep.
    if raw.count("[") + raw.count("{") <= JSON_MAX_DEPTH:
        return False
    depth, in_string, escaped = 0, False, False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > JSON_MAX_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _json_line(raw: str) -> tuple[Any, str | None]:
    """(object, None) or (None, the reason the line is malformed)."""
    if len(raw) > JSON_MAX_LINE:
        return None, "JSON_TOO_LARGE"
    if _too_deep(raw):
        return None, "JSON_TOO_DEEP"
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as e:
        return None, f"JSON_SYNTAX: {e}"


def _xlsx_batches(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    import openpyxl

    _check_unpacked(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types on a damaged workbook
        raise InputError(f"Không mở được tệp Excel / cannot open workbook: {e}") from None
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    try:
        headers = _clean_headers(list(next(it)))
    except StopIteration:
        wb.close()
        raise InputError("Trang tính rỗng / empty worksheet") from None
    width = len(headers)

    def gen() -> Iterator[pa.RecordBatch]:
        rows: list[list[str | None]] = []
        lines: list[int] = []
        try:
            empty_run = 0
            for i, rec in enumerate(it, start=2):
                if i > XLSX_MAX_ROWS + 1:
                    raise InputError(f"Quá nhiều dòng / more than {XLSX_MAX_ROWS:,} rows in the worksheet")
                vals = [_text(v) for v in rec]
                if all(v is None for v in vals):
                    empty_run += 1
                    if empty_run > XLSX_MAX_EMPTY_RUN:
                        raise InputError(
                            f"Quá nhiều dòng trống liên tiếp / more than {XLSX_MAX_EMPTY_RUN:,} empty rows in a row"
                        )
                    continue
                empty_run = 0
                rows.append((vals + [None] * width)[:width])
                lines.append(i)
                if len(rows) >= BATCH_ROWS:
                    yield _batch(headers, rows, lines, [None] * len(rows))
                    rows, lines = [], []
        finally:
            # The row iterator holds the worksheet's part of the archive open: closed first, whether the
            # rows ran out or a bound stopped them.
            it.close()
            wb.close()
        if rows:
            yield _batch(headers, rows, lines, [None] * len(rows))

    return headers, gen()


def _jsonl_batches(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    # Keys are discovered in a first pass so that every batch has the same columns.
    keys: dict[str, None] = {}
    # The first pass reads every byte, so a file that is not UTF-8 is refused here, before any row.
    try:
        with path.open("r", encoding="utf-8-sig") as f:
            for raw in f:
                obj = _json_line(raw)[0] if raw.strip() else None
                if isinstance(obj, dict):
                    keys.update(dict.fromkeys(str(k) for k in obj))
    except UnicodeDecodeError as e:
        raise InputError(f"Tệp không phải UTF-8 / file is not UTF-8: {e.reason} at byte {e.start}") from None
    headers = _clean_headers(list(keys))
    mapping = dict(zip(keys, headers, strict=True))

    def gen() -> Iterator[pa.RecordBatch]:
        rows: list[list[str | None]] = []
        lines: list[int] = []
        bad: list[str | None] = []
        with path.open("r", encoding="utf-8-sig") as f:
            for lineno, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                obj, err = _json_line(raw)
                if err is None and not isinstance(obj, dict):
                    err = "JSON_NOT_OBJECT"
                rec: dict[str, str | None] = {}
                if isinstance(obj, dict):
                    for k, v in obj.items():
                        rec[mapping[str(k)]] = _text(v) if not isinstance(v, dict | list) else json.dumps(v)
                rows.append([rec.get(h) for h in headers])
                lines.append(lineno)
                bad.append(err)
                if len(rows) >= BATCH_ROWS:
                    yield _batch(headers, rows, lines, bad)
                    rows, lines, bad = [], [], []
        if rows:
            yield _batch(headers, rows, lines, bad)

    return headers, gen()


def _parquet_batches(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    try:
        pf = pq.ParquetFile(path)
        names = list(pf.schema_arrow.names)
    # Any Arrow error (ArrowInvalid, ArrowNotImplementedError on a forged type...) means the file is bad.
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"Không đọc được tệp Parquet / cannot read Parquet: {e}") from None
    except UnicodeDecodeError:
        # A column name that is not UTF-8 (pyarrow decodes the names as it opens the file).
        raise InputError(
            "Không đọc được tệp Parquet: tên cột không phải UTF-8 / cannot read Parquet: a column name is not UTF-8"
        ) from None
    headers = _clean_headers(list(names))

    def gen() -> Iterator[pa.RecordBatch]:
        line = 1
        for b in pf.iter_batches(batch_size=BATCH_ROWS):
            n = b.num_rows
            arrays = [pa.array(range(line + 1, line + 1 + n), pa.int64()), pa.nulls(n, pa.string())]
            for col in b.columns:
                if pa.types.is_string(col.type):
                    # Parquet does not check that its strings are UTF-8: a bad byte is found here, as a
                    # clear error, not later by whatever reads the text.
                    col.validate(full=True)
                    arrays.append(col)
                else:
                    arrays.append(col.cast(pa.string()))
            line += n
            yield pa.RecordBatch.from_arrays(arrays, names=[LINE, MALFORMED, *headers])

    return headers, gen()


def open_batches(path: Path) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """Headers and a stream of Arrow batches of text columns, with `_line` and `_malformed`."""
    if not path.is_file():
        raise InputError(f"Không tìm thấy tệp / file not found: {path}")
    fmt = file_format(path)
    if fmt == "csv":
        return _csv_batches(path)
    if fmt == "xlsx":
        return _xlsx_batches(path)
    if fmt == "jsonl":
        return _jsonl_batches(path)
    if fmt == "parquet":
        return _parquet_batches(path)
    if fmt == "json":
        return fhir_batches(path)
    raise InputError(f"Định dạng '{fmt}' chưa được hỗ trợ ở đây / format '{fmt}' is not accepted here")


def load_file(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, progress: Progress | None = None
) -> LoadedFile:
    """Stream a file into a new DuckDB table `table` (all text) and return what was read."""
    headers, batches = open_batches(path)
    schema = pa.schema([(LINE, pa.int64()), (MALFORMED, pa.string())] + [(h, pa.string()) for h in headers])
    con.execute(f'DROP TABLE IF EXISTS "{table}"')
    total = 0
    failed: list[Exception] = []

    def counted() -> Iterator[pa.RecordBatch]:
        nonlocal total
        try:
            for b in batches:
                total += b.num_rows
                if progress:
                    progress(total)
                yield b
        except Exception as e:
            failed.append(e)
            raise

    # DuckDB pulls the batches as it inserts them: the file is never held twice in memory.
    con.register("_batches", pa.RecordBatchReader.from_batches(schema, counted()))
    try:
        con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM _batches')
    except duckdb.Error:
        # DuckDB wraps what the reader raised mid-file (a damaged page, a bad byte): give the reader's
        # own error back, as the clear InputError it is or becomes.
        if not failed:
            raise
        if isinstance(failed[0], InputError):
            raise failed[0] from None
        detail = str(failed[0]).strip().splitlines()[0][:200] if str(failed[0]).strip() else ""
        raise InputError(
            f"Tệp bị hỏng, không đọc được / damaged file, cannot be read: {type(failed[0]).__name__} {detail}"
        ) from None
    finally:
        con.unregister("_batches")
    return LoadedFile(table, headers, total, checksum(path), file_format(path))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value(column: str) -> str:
    """A text value as stored: without NUL characters, which no export means and PostgreSQL's text refuses
    (one in a file stopped a whole load)."""
    return f"replace({_quote(column)}, chr(0), '')"


def contract_select(loaded: LoadedFile, contract: tuple[Column, ...]) -> str:
    """The SELECT list over a loaded file that gives the contract's columns (NUL characters dropped,
    trimmed, blank → NULL, absent optional ones NULL) and packs unknown columns as JSON into `extra` (kept,
    not rejected).

    A file missing a required column or naming one twice is refused whole, with the headers it has."""
    mapping = map_headers(loaded.headers, contract)
    if mapping.missing:
        raise InputError(
            "Thiếu cột bắt buộc / missing required columns: "
            + ", ".join(mapping.missing)
            # Only the contract's own names are repeated: a file without its header row has a person's
            # record where the headers should be, and an error message must not carry it.
            + f" (số cột / columns found: {len(loaded.headers)}; "
            + f"nhận ra / recognised: {', '.join(mapping.columns) or '-'})"
        )
    if mapping.duplicates:
        raise InputError("Cột bị lặp / columns given twice: " + ", ".join(mapping.duplicates))
    cols = [
        f"nullif(trim({_value(mapping.columns[c.name])}), '') AS {c.name}"
        if c.name in mapping.columns
        else f"NULL::VARCHAR AS {c.name}"
        for c in contract
    ]
    extra = mapping.extra
    packed = (
        "to_json(struct_pack(" + ", ".join(f"{_quote(h)} := {_value(h)}" for h in extra) + "))::VARCHAR"
        if extra
        else "NULL::VARCHAR"
    )
    return ", ".join([*cols, f"{packed} AS extra"])

"""The coverage table's downloads from the dashboard (CSV, XLSX, JSON): the contract's columns, or the same in
words for people."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vaxlink.domain.admin_units import Structure
from vaxlink.files import write as safe_files
from vaxlink.services.figures import stats
from vaxlink.services.figures.dashboard import Unit

FORMATS = ("csv", "xlsx", "json")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A header for each column, and how to say the values of some columns.
Said = tuple[Mapping[str, str], safe_files.Words]


def download_columns() -> list[str]:
    """The contract's columns, as `vaxlink stats coverage` writes them without a grouping."""
    return [n for n in stats.UnitFigures.__dataclass_fields__ if n not in ("age_band", "sex")]


def download_name(unit: Unit | None, view: Structure, fmt: str) -> str:
    where = "ca-nuoc" if unit is None else f"{unit.level.value}-{unit.code}"
    return f"bao-phu-{where}-{view.value}.{fmt}"


def render_download(
    rows: Sequence[stats.UnitFigures], fmt: str, said: Said | None = None
) -> tuple[bytes, str]:
    """The rows as JSON (the contract), or as CSV / XLSX: headers and values as `said` (for people), else
    the contract's names and codes. Returns the body and its media type."""
    columns = download_columns()
    dicts = [f.as_dict() for f in rows]
    if fmt == "json":
        body = json.dumps([{c: r[c] for c in columns} for r in dicts], ensure_ascii=False, indent=1)
        return body.encode("utf-8"), "application/json"
    header: Sequence[str] = columns
    values: Iterable[Sequence[Any]] = ([r[c] for c in columns] for r in dicts)
    if said is not None:
        header, values = safe_files.localise_rows(columns, values, *said)
    if fmt == "xlsx":
        buf = io.BytesIO()
        safe_files.xlsx_write(buf, "bao-phu", header, values)
        return buf.getvalue(), XLSX_TYPE
    body = safe_files.csv_rows_text(header, values, bom=True)
    return body.encode("utf-8"), "text/csv; charset=utf-8"

"""`vaxlink stats`: coverage figures per unit (the interchange contract) and the refresh of the aggregates."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.domain.admin_units import Level, Structure
from vaxlink.domain.errors import VaxlinkError
from vaxlink.files import write as safe_files
from vaxlink.settings import load_settings

stats_app = typer.Typer(help="Thống kê tiêm chủng / coverage statistics.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    XLSX = "xlsx"


# Vietnamese first on screen; files keep the contract's column names.
TABLE_COLUMNS = (
    ("unit_code", "Mã / code"),
    ("unit_name", "Đơn vị / unit"),
    ("age_band", "Nhóm tuổi / age"),
    ("sex", "Giới / sex"),
    ("residents", "Dân số / residents"),
    ("at_least_one_dose", "≥ 1 mũi / ≥ 1 dose"),
    ("primary_complete", "Đủ liều cơ bản / complete"),
    ("booster", "Nhắc lại / booster"),
    ("unvaccinated", "Chưa tiêm / unvaccinated"),
    ("review_records", "Chờ xác minh / review"),
    ("unmatched_records", "Không tìm thấy / unmatched"),
    ("corrections_to_health", "Trả y tế sửa / to health"),
    ("verification_open", "YC xác minh mở / verif. open"),
    ("verification_overdue", "Quá hạn / overdue"),
)
GROUP_COLUMNS = ("age_band", "sex")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]Lỗi / error:[/] {message}")
    return typer.Exit(2)


def _columns(rows: list[dict[str, Any]], groups: list[str]) -> list[str]:
    from vaxlink.services.figures.stats import BACKLOG_COUNTS, UnitFigures

    names = list(UnitFigures.__dataclass_fields__)
    drop = {g for g in GROUP_COLUMNS if g not in groups}
    if groups:
        drop |= set(BACKLOG_COUNTS)
    return [n for n in names if n not in drop]


def _cell(value: Any, suppress: int) -> str:
    if value is None:
        return f"<{suppress}" if suppress > 1 else ""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _write_xlsx(out: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    safe_files.xlsx_write(out, "bao-phu", columns, ([r[c] for c in columns] for r in rows))


@stats_app.command("coverage")
def stats_coverage(
    level: Annotated[Level, typer.Option(help="Cấp đơn vị / unit level")] = Level.PROVINCE,
    units: Annotated[Structure, typer.Option(help="Cấu trúc đơn vị / unit structure")] = Structure.LEGACY,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="Định dạng / output format")
    ] = OutputFormat.TABLE,
    out: Annotated[Path | None, typer.Option("--out", help="Tệp kết quả / output file")] = None,
    suppress: Annotated[
        int,
        typer.Option(
            min=0, help="Ẩn số nhỏ hơn N (xuất bản công khai) / hide counts below N (public exports)"
        ),
    ] = 0,
    province: Annotated[str | None, typer.Option(help="Chỉ trong tỉnh / within a province")] = None,
    district: Annotated[
        str | None, typer.Option(help="Chỉ trong huyện (cũ) / within a legacy district")
    ] = None,
    by: Annotated[
        str, typer.Option(help="Chia theo / group by: age_band, sex, age_band,sex (comma-separated)")
    ] = "",
) -> None:
    """Số liệu bao phủ theo đơn vị / coverage figures per unit."""
    from vaxlink.services.figures.stats import Jurisdiction, coverage
    from vaxlink.services.operations.schema import database

    groups = [g.strip() for g in by.split(",") if g.strip()]
    if output is OutputFormat.XLSX and out is None:
        raise _fail("--format xlsx cần --out / needs --out FILE")
    s = load_settings()
    try:
        within = None
        if district is not None:
            within = Jurisdiction(units, Level.DISTRICT, district)
        elif province is not None:
            within = Jurisdiction(units, Level.PROVINCE, province)
        with database(s) as engine, engine.connect() as conn:
            figures = coverage(conn, level, units, within=within, by=groups, suppress=suppress)
    except VaxlinkError as e:
        raise _fail(str(e)) from None
    rows = [f.as_dict() for f in figures]
    columns = _columns(rows, groups)
    if output is OutputFormat.TABLE:
        t = Table(title=f"Bao phủ tiêm chủng / coverage · {level.value} · {units.value}")
        shown = [(k, h) for k, h in TABLE_COLUMNS if k in columns]
        for k, h in shown:
            left = k in ("unit_code", "unit_name", *GROUP_COLUMNS)
            t.add_column(h.replace(" / ", "\n"), justify="left" if left else "right", no_wrap=True)
        for r in rows:
            t.add_row(*(_cell(r[k], suppress) for k, _ in shown))
        note = (
            f"Số từ 1 đến {suppress - 1} được ẩn / counts 1-{suppress - 1} suppressed" if suppress > 1 else ""
        )
        if out is None:
            # A wide table stays readable when piped (Rich would otherwise assume 80 columns).
            screen = console if console.is_terminal else Console(width=200)
            screen.print(t)
            if note:
                screen.print(note)
            return
        with out.open("w", encoding="utf-8") as fh:
            target = Console(file=fh, width=240)
            target.print(t)
            if note:
                target.print(note)
        return
    if output is OutputFormat.XLSX:
        assert out is not None
        _write_xlsx(out, columns, rows)
        console.print(f"{len(rows):,} đơn vị / units → {out}")
        return
    if output is OutputFormat.JSON:
        payload = json.dumps([{c: r[c] for c in columns} for r in rows], ensure_ascii=False, indent=1)
    else:
        payload = safe_files.csv_rows_text(columns, ([r[c] for c in columns] for r in rows))
    if out is None:
        sys.stdout.write(payload if payload.endswith("\n") else payload + "\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(payload, encoding="utf-8")
        console.print(f"{len(rows):,} đơn vị / units → {out}")


@stats_app.command("refresh")
def stats_refresh(
    check: bool = typer.Option(
        False,
        "--check",
        help="Chỉ so sánh, không ghi: số liệu đang giữ với số liệu tính lại từ đầu; mã thoát 1 nếu khác / "
        "compare the kept figures with a recomputation from scratch, change nothing; exit 1 on a difference",
    ),
) -> None:
    """Tính lại tình trạng tiêm và số liệu tổng hợp / recompute every status and the aggregates."""
    import time

    from vaxlink.services.figures.refresh import refresh_statistics
    from vaxlink.services.figures.status import refresh_status
    from vaxlink.services.operations.schema import database

    s = load_settings()
    if check:
        from vaxlink.services.figures.figures_check import differences, differing_cells, from_scratch, kept

        try:
            with database(s) as engine, engine.connect() as conn:
                before = kept(conn)
                scratch = from_scratch(conn)
        except VaxlinkError as e:
            raise _fail(str(e)) from None
        counts = differing_cells(before, scratch)
        cells = sum(sum(c.values()) for c in before.values())
        for line in differences(before, scratch):
            console.print(line)
        console.print(
            f"Ô khác / differing cells: {sum(counts.values()):,} trên / of {cells:,} · "
            + ", ".join(f"{t}: {n:,}" for t, n in counts.items())
        )
        if any(counts.values()):
            raise typer.Exit(1)
        return
    try:
        with database(s) as engine, engine.begin() as conn:
            started = time.perf_counter()
            statuses = refresh_status(conn)
            t_status = time.perf_counter() - started
            r = refresh_statistics(conn)
    except VaxlinkError as e:
        raise _fail(str(e)) from None
    console.print(
        f"Tình trạng tiêm / statuses: {statuses:,} công dân có mũi tiêm / citizens with doses "
        f"({t_status:.2f} s) · ô tổng hợp / cells: {r.coverage_cells:,} + {r.dose_day_cells:,} + "
        f"{r.backlog_cells:,} ({r.seconds['total']:.2f} s)"
    )

"""`vaxlink audit ...`: check the audit chain, export its head for safekeeping outside the database."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(help="Nhật ký kiểm toán / the audit log.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.command("verify")
def verify(
    head: Annotated[
        Path | None, typer.Option(help="Đầu chuỗi đã xuất trước đó / a head exported earlier")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, help="Số tiến trình kiểm tra song song / processes walking the chain in parallel"
        ),
    ] = min(4, os.cpu_count() or 1),
) -> None:
    """Kiểm tra toàn bộ chuỗi / walk the chain: altered, deleted, forged, swapped events, a cut tail."""
    from vaxlink.services.audit.log import head_is_authentic, load_key, verify_chain_parallel
    from vaxlink.services.operations.schema import database
    from vaxlink.settings import load_settings

    s = load_settings()
    key = load_key(s.audit_key_file)
    head_data = None
    if head is not None:
        head_data = json.loads(head.read_text())
        if not head_is_authentic(head_data, key):
            err.print("[bold red]Đầu chuỗi đã xuất không đúng chữ ký / the exported head's MAC is invalid[/]")
            raise typer.Exit(1)
    with database(s) as engine:
        report = verify_chain_parallel(engine, key, head_data, workers)
    for f in report.findings[:200]:
        console.print(f"  #{f.event_id}: {f.kind} — {f.message}")
    if report.ok:
        console.print(
            f"[bold green]Toàn vẹn / intact[/]: {report.events:,} sự kiện / events, đầu / head #{report.head_id}"
        )
        return
    console.print(
        f"[bold red]Phát hiện {len(report.findings):,} vấn đề / {len(report.findings):,} findings[/] trong / in {report.events:,} events"
    )
    raise typer.Exit(1)


@app.command("head")
def head_cmd(out: Annotated[Path, typer.Option("--out", help="Tệp JSON / JSON file")]) -> None:
    """Xuất đầu chuỗi để lưu ngoài CSDL / export the chain head to keep outside the database."""
    from vaxlink.services.audit.log import export_head, load_key
    from vaxlink.services.operations.schema import database
    from vaxlink.settings import load_settings

    s = load_settings()
    with database(s) as engine, engine.connect() as conn:
        head = export_head(conn, load_key(s.audit_key_file))
    out.write_text(json.dumps(head, indent=2) + "\n")
    console.print(f"#{head['id']} {head['hash'][:16]}… → {out}")

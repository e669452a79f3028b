"""`vaxlink db backup` / `vaxlink db restore`: a copy of the whole database, and back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vaxlink.domain.errors import VaxlinkError
from vaxlink.settings import load_settings

console = Console()
err = Console(stderr=True)


def _fail(e: VaxlinkError) -> typer.Exit:
    err.print(f"[bold red]Lỗi / error:[/] {e}")
    return typer.Exit(2)


def backup_cmd(
    file: Annotated[Path, typer.Argument(help="Tệp sao lưu / backup file")],
) -> None:
    """Sao lưu toàn bộ CSDL / write a consistent copy of the whole database to FILE."""
    from vaxlink.services.operations.backup import backup_database
    from vaxlink.services.operations.schema import database

    s = load_settings()
    try:
        # Opening the database first gives the usual clear message when it is down or has no schema.
        with database(s):
            r = backup_database(s, file)
    except VaxlinkError as e:
        raise _fail(e) from None
    console.print(f"Đã sao lưu / backed up ({r.backend}): {r.path} · {r.bytes:,} bytes")


def restore_cmd(
    file: Annotated[Path, typer.Argument(help="Tệp sao lưu / backup file")],
) -> None:
    """Khôi phục CSDL từ bản sao lưu / replace the database's content with FILE's."""
    from vaxlink.services.operations.backup import restore_database, table_digests
    from vaxlink.services.operations.schema import database

    s = load_settings()
    try:
        r = restore_database(s, file)
        with database(s) as engine:
            digests = table_digests(engine)
    except VaxlinkError as e:
        raise _fail(e) from None
    rows = sum(n for n, _ in digests.values())
    console.print(
        f"Đã khôi phục / restored ({r.backend}) from {r.path}: {len(digests)} bảng / tables, {rows:,} dòng / rows"
    )
    if r.app_roles:
        console.print(
            f"Đã cấp lại quyền cho / privileges granted again to: {', '.join(r.app_roles)} (`vaxlink db grant-app-role`)"
        )

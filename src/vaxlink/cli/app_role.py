"""`vaxlink db grant-app-role NAME`: the service's PostgreSQL role, with no way to change the audit log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from vaxlink.domain.errors import VaxlinkError
from vaxlink.settings import load_settings

console = Console()
err = Console(stderr=True)


def grant_app_role_cmd(
    name: Annotated[str, typer.Argument(help="Vai trò đăng nhập của dịch vụ / the service's login role")],
) -> None:
    """Cấp quyền cho vai trò của ứng dụng / give the service's role its privileges (run as the owner).

    DML on every table, only SELECT and INSERT on the audit log; idempotent: run it again after every
    `vaxlink db upgrade`."""
    from vaxlink.services.operations.app_role import grant_app_role
    from vaxlink.services.operations.schema import database

    s = load_settings()
    try:
        with database(s) as engine, engine.begin() as conn:
            g = grant_app_role(conn, name)
    except VaxlinkError as e:
        err.print(f"[bold red]Lỗi / error:[/] {e}")
        raise typer.Exit(2) from None
    marks = " · ".join(f"{p} {'✓' if held else '✗'}" for p, held in g.audit.items())
    console.print(
        f"Vai trò / role [bold]{g.role}[/]: SELECT, INSERT, UPDATE, DELETE trên / on {g.tables} bảng / tables "
        f"of schema {g.schema}"
    )
    console.print(f"audit_event: {marks}")
    if not g.can_login:
        console.print(
            f"[yellow]{g.role} không đăng nhập được (NOLOGIN): dịch vụ cần một vai trò LOGIN thuộc nó / "
            f"{g.role} cannot log in (NOLOGIN): the service needs a LOGIN role that is a member of it[/]"
        )

"""`vaxlink users ...`: officers and machine clients, their roles and jurisdictions, bearer tokens."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.cli.session import run_in_session
from vaxlink.domain.permissions import Level, Role
from vaxlink.storage.scope import Scope

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")
app = typer.Typer(help="Người dùng / users, roles and tokens.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


_run = run_in_session


def _scope(level: Level, code: str | None, units: str) -> Scope:
    try:
        return Scope(level, units, None if level is Level.COUNTRY else code)
    except ValueError:
        err.print(
            "[bold red]Lỗi / error:[/] cần --code cho cấp phường/huyện/tỉnh / --code is required for that level"
        )
        raise typer.Exit(2) from None


def _password(given: str | None) -> str:
    if given:
        return given
    first = getpass.getpass("Mật khẩu / password: ")
    if first != getpass.getpass("Nhập lại / again: "):
        err.print("[bold red]Lỗi / error:[/] hai lần nhập khác nhau / the two entries differ")
        raise typer.Exit(2)
    return first


@app.command("add")
def add(
    username: str,
    role: Annotated[Role, typer.Option(help="Vai trò / role")],
    level: Annotated[Level, typer.Option(help="Cấp địa bàn / jurisdiction level")],
    code: Annotated[str | None, typer.Option(help="Mã đơn vị / unit code")] = None,
    name: Annotated[str | None, typer.Option(help="Họ tên hiển thị / display name")] = None,
    units: Annotated[str, typer.Option(help="legacy | 2025")] = "legacy",
    password: Annotated[
        str | None, typer.Option(help="Mật khẩu (hỏi khi bỏ trống) / password (asked when absent)")
    ] = None,
    no_password: Annotated[bool, typer.Option(help="Chỉ dùng token / token-only client")] = False,
) -> None:
    """Thêm người dùng / add a user."""
    from vaxlink.services.access.users import create_user

    scope = _scope(level, code, units)
    pw = None if no_password else _password(password)
    user = _run(
        lambda s: create_user(
            s,
            username=username,
            display_name=name or username,
            role=role,
            scope=scope,
            password=pw,
            actor="cli",
        )
    )
    console.print(f"Đã thêm / added [bold]{user.username}[/] ({role.value}, {scope.label})")


@app.command("list")
def list_cmd() -> None:
    """Danh sách người dùng / list users."""
    from vaxlink.services.access.users import list_users

    def body(session: Session) -> list[tuple[object, ...]]:
        return [
            (u.username, u.display_name, u.role, u.scope_level, u.scope_code or "", u.active)
            for u in list_users(session)
        ]

    t = Table(title="Người dùng / users")
    for col in ("username", "tên / name", "vai trò / role", "cấp / level", "mã / code", "hoạt động / active"):
        t.add_column(col)
    for row in _run(body):
        t.add_row(*[str(x) for x in row])
    console.print(t)


@app.command("disable")
def disable(username: str) -> None:
    """Khóa người dùng; mọi phiên và token mất hiệu lực ngay / disable: every session and token ends at once."""
    from vaxlink.services.access.users import disable_user

    _run(lambda s: disable_user(s, username, actor="cli"))
    console.print(f"Đã khóa / disabled {username}")


@app.command("set-role")
def set_role_cmd(
    username: str,
    role: Annotated[Role, typer.Option()],
    level: Annotated[Level, typer.Option()],
    code: Annotated[str | None, typer.Option()] = None,
    units: Annotated[str, typer.Option()] = "legacy",
) -> None:
    """Đổi vai trò hoặc địa bàn; mọi phiên cũ mất hiệu lực / change role or jurisdiction (ends old sessions)."""
    from vaxlink.services.access.users import set_role

    scope = _scope(level, code, units)
    _run(lambda s: set_role(s, username, role, scope, actor="cli"))
    console.print(f"{username}: {role.value} · {scope.label}")


@app.command("token")
def token(
    username: str,
    name: Annotated[str, typer.Option(help="Tên token / token name")] = "api",
    days: Annotated[int, typer.Option(min=1, max=3650)] = 365,
) -> None:
    """Cấp token cho máy khách (chỉ hiện một lần) / issue a bearer token (shown once)."""
    from vaxlink.services.access.users import issue_token

    raw = _run(lambda s: issue_token(s, username, name, days=days, actor="cli"))
    console.print(raw, soft_wrap=True)


@app.command("demo")
def demo_users() -> None:
    """Tạo người dùng mẫu cho CSDL demo và in mật khẩu / create the demo users and print their passwords."""
    from vaxlink.services.demo.users import create_demo_users

    made = _run(lambda s: create_demo_users(s))
    t = Table(title="Người dùng mẫu / demo users")
    for col in ("username", "mật khẩu / password", "vai trò / role", "địa bàn / jurisdiction"):
        t.add_column(col)
    for u in made:
        t.add_row(u.username, u.password, u.role, u.scope)
    console.print(t)

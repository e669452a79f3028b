"""`vaxlink keys ...` and `vaxlink verify`: signing keys and checking certificates.

Without `--dir` the keys go to this installation's key directory (`VAXLINK_KEYS_DIR`, by default
`vaxlink-keys` in the work directory), the one `certificates issue` signs with; without `--trust` and
`--revocations`, `verify` checks against this installation's trust list and its revocation list (read from
the database when there is one). Exit codes of `verify`: 0 valid, 1 invalid (the reason is printed),
2 unusable input.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from vaxlink.credentials.revocation import RevocationList
    from vaxlink.credentials.trust import TrustList

keys_app = typer.Typer(help="Khóa ký chứng nhận / certificate signing keys.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

VIETNAM = dt.timezone(dt.timedelta(hours=7))


KeyDir = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Thư mục khóa (mặc định: của hệ thống này) / key directory (default: this installation's)",
    ),
]


def _key_dir(directory: Path | None) -> Path:
    if directory is not None:
        return directory
    from vaxlink.settings import load_settings

    return load_settings().keys_dir


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]Lỗi / error:[/] {message}")
    raise typer.Exit(code)


def _report_init(result: object, rotated: bool) -> None:
    from vaxlink.credentials.keys import KeyInit

    assert isinstance(result, KeyInit)
    if rotated:
        console.print("[bold green]Đã thêm khóa ký mới / new document signer added[/]")
    else:
        console.print(
            "[bold green]Đã tạo CSCA và khóa ký / country signing CA and document signer created[/]"
        )
    console.print(f"  kid: {result.signer_kid.hex()} · thư mục / directory: {result.directory}")
    console.print(f"  danh sách tin cậy / trust list: {result.trust_json} · {result.trust_pem}")
    console.print(
        "  Khóa bí mật (0600) không được đưa vào CSDL / private keys (0600) stay out of the database"
    )


@keys_app.command("init")
def keys_init(
    directory: KeyDir = None,
    rotate: Annotated[bool, typer.Option("--rotate", help="Thêm khóa ký mới / add a new signer")] = False,
    country: Annotated[str, typer.Option(help="Mã nước / country code")] = "VN",
) -> None:
    """Tạo CSCA và khóa ký / create the country signing CA and a document signer."""
    from vaxlink.credentials.keys import KeyDirectoryError, init_keys

    try:
        result = init_keys(_key_dir(directory), country=country, rotate=rotate)
    except (KeyDirectoryError, OSError, ValueError) as e:
        _fail(str(e))
    _report_init(result, rotate)


@keys_app.command("rotate")
def keys_rotate(directory: KeyDir = None) -> None:
    """Thêm khóa ký mới, giữ khóa cũ trong danh sách tin cậy / add a signer, keep the old one trusted."""
    keys_init(directory, rotate=True)


@keys_app.command("export")
def keys_export(
    out: Annotated[Path, typer.Option("--out", help="Thư mục ghi / output directory")],
    directory: KeyDir = None,
) -> None:
    """Xuất danh sách tin cậy công khai / export the public trust list (JSON and PEM)."""
    from vaxlink.credentials.keys import export_trust_list

    try:
        json_path, pem_path = export_trust_list(_key_dir(directory), out)
    except (OSError, ValueError) as e:
        _fail(f"không xuất được / cannot export: {e}")
    console.print(f"{json_path} · {pem_path}")


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601 date or date-time; without an offset it is Vietnam time (UTC+7)."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"thời điểm không hợp lệ / invalid time {text!r} (ví dụ / e.g. 2026-03-01T08:00+07:00)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=VIETNAM)


def _own_trust_list() -> TrustList:
    """This installation's signers: the trust list of its key directory (empty before `keys init`)."""
    from vaxlink.credentials.trust import TrustList
    from vaxlink.services.certificates.issuance import trust_list
    from vaxlink.settings import load_settings

    try:
        return trust_list(load_settings())
    except OSError:
        return TrustList()


def _own_revocations() -> RevocationList | None:
    """This installation's revocations, from its database when there is one (else none)."""
    from vaxlink.services.certificates.issuance import revocation_list
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import make_engine

    settings = load_settings()
    if (
        settings.database_url.startswith("sqlite")
        and not Path(settings.database_url.split("///", 1)[-1]).exists()
    ):
        return None
    engine = make_engine(settings.database_url)
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            return revocation_list(session)
    except Exception:
        return None
    finally:
        engine.dispose()


def _read_input(value: str) -> str | bytes:
    if value == "-":
        return sys.stdin.buffer.read()
    if value.lstrip().startswith("HC1:"):
        return value
    path = Path(value)
    if not path.is_file():
        _fail("không phải mã HC1: hay tệp có sẵn / neither HC1: text nor an existing file")
    try:
        return path.read_bytes()
    except OSError as e:
        _fail(f"không đọc được / cannot read {path}: {e.strerror}")


_STATUS_STYLE = {
    "ok": "[green]đạt / ok[/]",
    "failed": "[bold red]không đạt / failed[/]",
    "skipped": "[dim]bỏ qua / skipped[/]",
}


def verify_cmd(
    input_: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="Mã HC1:, tệp chứa mã, ảnh mã QR, hoặc - / HC1: text, a file, a QR picture, or -",
        ),
    ],
    trust: Annotated[
        Path | None,
        typer.Option("--trust", help="Danh sách tin cậy JSON hoặc PEM / trust list (JSON or PEM bundle)"),
    ] = None,
    revocations: Annotated[
        Path | None, typer.Option("--revocations", help="Danh sách thu hồi / revocation list (JSON)")
    ] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Kiểm tra tại thời điểm / check at this time (ISO 8601)")
    ] = None,
) -> None:
    """Kiểm tra chứng nhận tiêm chủng / verify a certificate (0 hợp lệ/valid, 1 không/invalid, 2 lỗi đầu vào/bad input)."""
    from vaxlink.credentials.revocation import RevocationList, RevocationListError
    from vaxlink.credentials.trust import TrustList, TrustListError
    from vaxlink.credentials.verify import CheckName, Status, Verifier

    instant = parse_instant(at) if at else None
    try:
        trust_list = TrustList.load(trust) if trust else _own_trust_list()
        revocation_list = RevocationList.load(revocations) if revocations else _own_revocations()
    except (TrustListError, RevocationListError) as e:
        _fail(str(e))
    data = _read_input(input_)
    result = Verifier(trust_list, revocation_list).verify(data, at=instant)

    table = Table(title="Kiểm tra chứng nhận / certificate checks")
    table.add_column("Bước / step")
    table.add_column("Kết quả / result")
    table.add_column("Chi tiết / details")
    for check in result.checks:
        table.add_row(
            check.name.value,
            _STATUS_STYLE[check.status.value],
            f"{check.message_vi}\n[dim]{check.message_en}[/]",
        )
    console.print(table)

    if not result.decoded:
        failed = result.failures[0] if result.failures else None
        reason = f"{failed.message_vi} / {failed.message_en}" if failed else "không đọc được / unreadable"
        _fail(f"không đọc được mã / unusable input: {reason}", 2)

    payload = result.payload or {}
    nam = payload.get("nam", {}) if isinstance(payload.get("nam"), dict) else {}
    name = " ".join(str(nam[k]) for k in ("fn", "gn") if nam.get(k)) or str(nam.get("fnt", ""))
    console.print(f"Người được cấp / holder: [bold]{name}[/] · ngày sinh / born: {payload.get('dob', '')}")
    entries = payload.get("v")
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        from vaxlink.domain.vaccines import vaccine_by_code

        v = entries[0]
        vaccine = vaccine_by_code(str(v.get("mp", "")))
        console.print(
            f"Mũi / dose {v.get('dn')}/{v.get('sd')} · {vaccine.name if vaccine else v.get('mp')} · "
            f"ngày tiêm / date {v.get('dt')} · nước / country {v.get('co')}"
        )
    if result.hcert is not None and result.hcert.uvci:
        console.print(
            f"Mã chứng nhận / certificate id: {result.hcert.uvci} · nơi cấp / issuer: {result.hcert.issuer}"
        )
    if not trust and not len(trust_list):
        console.print(
            "[yellow]Hệ thống này chưa có khóa ký (vaxlink keys init) và không có --trust / "
            "no signing keys here (vaxlink keys init) and no --trust given[/]"
        )
    if result.valid:
        console.print("[bold green]HỢP LỆ / VALID[/]")
        return
    first = result.failures[0] if result.failures else result.check(CheckName.SIGNATURE)
    if first is not None and first.status is not Status.OK:
        console.print(f"[bold red]KHÔNG HỢP LỆ / INVALID[/]: {first.message_vi} / {first.message_en}")
    else:
        console.print("[bold red]KHÔNG HỢP LỆ / INVALID[/]")
    raise typer.Exit(1)

"""`vaxlink certificates ...`: issue a citizen's certificate into files, revoke, and publish the revocation list.

Each command is one transaction: the certificate row (or the revocation) and its audit event commit together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from vaxlink.cli.session import run_in_session

app = typer.Typer(help="Chứng nhận tiêm chủng / vaccination certificates.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
T = TypeVar("T")
ACTOR = "cli"


_run = run_in_session


@app.command("issue")
def issue_cmd(
    personal_id: Annotated[str, typer.Argument(help="Số định danh 12 chữ số / the 12-digit personal id")],
    out: Annotated[Path, typer.Option("--out", help="Thư mục ghi / output directory")],
) -> None:
    """Cấp chứng nhận: HC1:, PNG và PDF vào DIR / issue a certificate: HC1: text, PNG and PDF into DIR."""
    from vaxlink.credentials import codes
    from vaxlink.credentials.pdf import render_certificate_pdf
    from vaxlink.services.certificates.issuance import issue_for_citizen
    from vaxlink.settings import load_settings

    settings = load_settings()
    digits = personal_id.strip()
    if not (len(digits) == 12 and digits.isascii() and digits.isdigit()):
        err.print("[bold red]Lỗi / error:[/] số định danh phải có 12 chữ số / the personal id has 12 digits")
        raise typer.Exit(2)
    issued = _run(lambda s: issue_for_citizen(s, settings, digits, actor=ACTOR))
    cert = issued.certificate
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / "certificate.txt", out / "certificate.png", out / "certificate.pdf")
    paths[0].write_text(cert.hc1 + "\n", "ascii")
    paths[1].write_bytes(codes.qr_png(cert.hc1, scale=6))
    paths[2].write_bytes(render_certificate_pdf(cert.hc1, cert.payload, cert.expires_at))
    console.print(
        f"[bold green]Đã cấp / issued[/] {cert.uvci} · hết hạn / expires {cert.expires_at:%Y-%m-%d}"
    )
    for p in paths:
        console.print(f"  {p}")


@app.command("revoke")
def revoke_cmd(
    reason: Annotated[str, typer.Option("--reason", help="Lý do / reason")],
    uvci: Annotated[str | None, typer.Option("--uvci", help="Mã chứng nhận / certificate id")] = None,
    dose: Annotated[
        list[int] | None,
        typer.Option("--dose", help="Mã bản ghi mũi tiêm (dose_record.id), lặp lại được / dose record id"),
    ] = None,
    reissue: Annotated[bool, typer.Option(help="Cấp lại ngay / reissue at once")] = True,
) -> None:
    """Thu hồi chứng nhận theo mã, hoặc mọi chứng nhận dựa trên các mũi tiêm / revoke by id, or every
    certificate resting on the given dose records."""
    from vaxlink.services.certificates.issuance import (
        issue_for_citizen,
        linked_doses,
        revoke_certificate,
        revoke_for_doses,
    )
    from vaxlink.settings import load_settings

    settings = load_settings()
    if (uvci is None) == (not dose):
        err.print("[bold red]Lỗi / error:[/] cần đúng một trong --uvci hoặc --dose / give --uvci or --dose")
        raise typer.Exit(2)

    def body(s: Session) -> tuple[list[int], list[str]]:
        if uvci is not None:
            cert = revoke_certificate(s, uvci, reason, actor=ACTOR)
            new = []
            if reissue and linked_doses(s, cert.citizen_id):
                new.append(
                    issue_for_citizen(s, settings, cert.citizen_id, actor=ACTOR, replaces=[cert.id]).row.uvci
                )
            return [cert.id], new
        r = revoke_for_doses(s, settings, dose or [], reason, actor=ACTOR, reissue=reissue)
        return r.revoked, [i.row.uvci for i in r.reissued]

    revoked, new = _run(body)
    console.print(f"Đã thu hồi / revoked: {len(revoked)} · cấp lại / reissued: {len(new)}")
    for u in new:
        console.print(f"  {u}")


@app.command("revocations")
def revocations_cmd(
    out: Annotated[Path, typer.Option("--out", help="Tệp JSON / JSON file")],
) -> None:
    """Xuất danh sách thu hồi cho người kiểm tra ngoại tuyến / export the revocation list for offline verifiers."""
    from vaxlink.services.certificates.issuance import export_revocations

    n = _run(lambda s: export_revocations(s, out))
    console.print(f"{out} · {n} giá trị băm / hashes")

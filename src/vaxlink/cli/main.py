"""The `vaxlink` command: operators' entry points. Each command opens and commits its own transaction."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError

from vaxlink.cli import app_role as app_role_cli
from vaxlink.cli import audit as audit_cli
from vaxlink.cli import backup as backup_cli
from vaxlink.cli import certificates as certificates_cli
from vaxlink.cli import users as users_cli
from vaxlink.cli.credentials import keys_app, verify_cmd
from vaxlink.cli.match import match_app
from vaxlink.cli.stats import stats_app
from vaxlink.domain.admin_units import Structure
from vaxlink.domain.errors import VaxlinkError
from vaxlink.settings import Settings, load_settings

app = typer.Typer(
    name="vaxlink",
    help="Đối soát dữ liệu tiêm chủng với CSDL quốc gia về dân cư / vaccination records against the population register.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Cơ sở dữ liệu / database schema.", no_args_is_help=True)
registry_app = typer.Typer(help="Sổ đăng ký dân cư / the population register.", no_args_is_help=True)
doses_app = typer.Typer(help="Dữ liệu tiêm chủng từ y tế / dose batches from health.", no_args_is_help=True)
reconcile_app = typer.Typer(help="Kết quả đối soát / reconciliation results.", no_args_is_help=True)
app.add_typer(db_app, name="db")
db_app.command("backup")(backup_cli.backup_cmd)
db_app.command("restore")(backup_cli.restore_cmd)
db_app.command("grant-app-role")(app_role_cli.grant_app_role_cmd)
app.add_typer(registry_app, name="registry")
app.add_typer(doses_app, name="doses")
app.add_typer(reconcile_app, name="reconcile")
app.add_typer(users_cli.app, name="users")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(stats_app, name="stats")
app.add_typer(keys_app, name="keys")
app.add_typer(certificates_cli.app, name="certificates")
app.add_typer(match_app, name="match")
app.command("verify")(verify_cmd)

P = ParamSpec("P")
T = TypeVar("T")
console = Console()
err = Console(stderr=True)


def settings() -> Settings:
    return load_settings()


def fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]Lỗi / error:[/] {message}")
    raise typer.Exit(code)


def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a command body, turning the operator's errors into a clear message and a non-zero exit."""
    try:
        return fn(*args, **kwargs)
    except VaxlinkError as e:
        err.print(f"[bold red]Lỗi / error:[/] {e}")
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        err.print("[bold red]Đã dừng / interrupted[/]")
        raise typer.Exit(130) from None
    except DBAPIError as e:
        # Only the error's class: the driver's text can quote the statement's values (personal data).
        err.print(
            "[bold red]Lỗi / error:[/] mất kết nối hoặc CSDL từ chối, công việc chưa được xác nhận, hãy chạy lại / "
            f"the database failed or went away, the work was not confirmed: run the command again ({type(e.orig).__name__})"
        )
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Tạo hoặc nâng cấp lược đồ / create or migrate the schema, and load reference data."""
    from vaxlink.services.operations.schema import upgrade_database

    s = settings()
    revision, units = run(upgrade_database, s)
    console.print(f"Lược đồ / schema: [bold]{revision}[/] · đơn vị hành chính / admin units: {units}")


@db_app.command("check")
def db_check() -> None:
    """Kiểm tra toàn vẹn tham chiếu / check the references of the bulk tables; exit 1 on any finding."""
    from vaxlink.services.operations.integrity import check_integrity
    from vaxlink.services.operations.schema import open_database

    engine = run(open_database, settings())
    try:
        with engine.connect() as conn:
            findings = run(check_integrity, conn)
    finally:
        engine.dispose()
    bad = [f for f in findings if f.rows]
    for f in findings:
        mark = "[red]✗[/]" if f.rows else "[green]✓[/]"
        console.print(f"{mark} {f.name}: {f.rows:,} · {f.explanation}")
    if bad:
        raise typer.Exit(1)


@registry_app.command("import")
def registry_import(
    file: Annotated[Path, typer.Argument(help="CSV, Parquet hoặc XLSX / CSV, Parquet or XLSX")],
    units: Annotated[
        Structure, typer.Option(help="Cấu trúc mã đơn vị / unit code structure")
    ] = Structure.LEGACY,
    rejects: Annotated[Path | None, typer.Option(help="Tệp dòng bị loại / rejected rows file")] = None,
) -> None:
    """Nạp hoặc cập nhật công dân / load or update citizens from a register snapshot."""
    from vaxlink.cli.progress import progress_bar
    from vaxlink.services.operations.schema import database
    from vaxlink.services.reconciliation.reexamine import reexamine_after_import
    from vaxlink.services.reconciliation.registry_import import REASONS, import_register
    from vaxlink.storage.db import transaction

    s = settings()

    def body():  # type: ignore[no-untyped-def]
        with database(s) as engine, progress_bar(err) as bar, transaction(engine) as session:
            r = import_register(session, s, file, units=units, rejects_path=rejects, progress=bar)
            again = None
            if r.imported or r.updated:
                again = reexamine_after_import(session, s, r.import_id, progress=bar)
            return r, again

    r, again = run(body)
    t = Table(title=f"Nhập sổ đăng ký / register import #{r.import_id}: {file.name}")
    t.add_column("Kết quả / outcome")
    t.add_column("Số dòng / rows", justify="right")
    for label, n in (
        ("mới / imported", r.imported),
        ("cập nhật / updated", r.updated),
        ("không đổi / unchanged", r.unchanged),
        ("bị loại / rejected", r.rejected),
        ("tổng / total", r.rows),
    ):
        t.add_row(label, f"{n:,}")
    console.print(t)
    if r.rejected:
        for code, n in sorted(r.reasons.items(), key=lambda kv: -kv[1]):
            vi, en = REASONS.get(code, (code, code))
            console.print(f"  {n:>8,}  {code}: {vi} / {en}")
        console.print(f"Dòng bị loại / rejected rows: {r.rejects_file}")
    if again is not None and again.records:
        console.print(
            f"Đối soát lại / re-examined {again.records:,} bản ghi / records: "
            + " · ".join(f"{k} {v:,}" for k, v in sorted(again.outcomes.items()))
        )


OUTCOME_LABELS = {
    "linked": "tự động gắn / linked",
    "review": "chờ xác minh / review",
    "unmatched": "không tìm thấy / unmatched",
    "rejected": "bị loại / rejected",
    "superseded": "bị thay bởi bản sau / superseded",
    "unchanged": "giống bản hiện có, không đổi / unchanged",
}


@doses_app.command("ingest")
def doses_ingest(
    file: Annotated[
        Path, typer.Argument(help="CSV, XLSX, JSON Lines hoặc FHIR JSON / CSV, XLSX, JSON Lines or FHIR")
    ],
    source: Annotated[str, typer.Option(help="Nguồn dữ liệu / source system name")] = "default",
    answer: Annotated[
        Path | None, typer.Option(help="Ghi trả lời cho y tế / write health's answer (.csv/.xlsx)")
    ] = None,
    units: Annotated[
        Structure | None,
        typer.Option(
            help="Cấu trúc mã xã của tệp (mặc định: theo cột ward_units, danh mục và ngày tiêm) / structure of the "
            "file's ward codes (default: the ward_units column, the lists and the vaccination date)"
        ),
    ] = None,
) -> None:
    """Nạp, kiểm tra và đối soát một lô / stage, validate and reconcile a batch."""
    from vaxlink.cli.progress import progress_bar
    from vaxlink.services.operations.schema import database
    from vaxlink.services.reconciliation.answers import export_answer
    from vaxlink.services.reconciliation.dose_ingest import REASONS, ingest_batch
    from vaxlink.storage.db import transaction

    s = settings()

    def body():  # type: ignore[no-untyped-def]
        with database(s) as engine, progress_bar(err) as bar, transaction(engine) as session:
            r = ingest_batch(
                session, s, file, source=source, progress=bar, units=None if units is None else units.value
            )
            if answer is not None:
                export_answer(session.connection(), r.batch_id, answer)
            return r

    r = run(body)
    if r.already_ingested:
        console.print(
            f"Lô này đã được nạp (#{r.batch_id}), không thay đổi gì / batch already ingested, nothing changed"
        )
    t = Table(title=f"Lô / batch #{r.batch_id} ({r.source}): {file.name}")
    t.add_column("Kết quả / outcome")
    t.add_column("Số dòng / rows", justify="right")
    for key, label in OUTCOME_LABELS.items():
        t.add_row(label, f"{r.counts.get(key, 0):,}")
    t.add_row("tổng / total", f"{r.rows:,}")
    console.print(t)
    for code, n in list(r.reasons.items())[:12]:
        vi, en = REASONS.get(code.split(":", 1)[0], (code, code))
        console.print(f"  {n:>8,}  {code}: {vi} / {en}")
    if r.unknown_vaccines:
        console.print(
            "Tên vắc xin không xác định / unknown vaccine names: "
            + ", ".join(f"{k} ({v:,})" for k, v in r.unknown_vaccines.items())
        )
    if answer is not None:
        console.print(f"Trả lời cho y tế / answer for health: {answer}")


@reconcile_app.command("export")
def reconcile_export(
    out: Annotated[Path, typer.Option("--out", help=".csv hoặc .parquet / .csv or .parquet")],
    source: Annotated[str | None, typer.Option(help="Chỉ một nguồn / one source only")] = None,
) -> None:
    """Ghi kết quả đối soát / write the reconciliation result (one row per record)."""
    from vaxlink.services.operations.schema import database
    from vaxlink.services.reconciliation.answers import export_results

    s = settings()

    def body() -> int:
        with database(s) as engine, engine.connect() as conn:
            return export_results(conn, out, source=source)

    n = run(body)
    console.print(f"{n:,} bản ghi / records → {out}")


@app.command("simulate")
def simulate_cmd(
    out: Annotated[Path, typer.Option("--out", help="Thư mục kết quả / output directory")],
    province: Annotated[
        str,
        typer.Option(
            help="Mã tỉnh (trước 7/2025), nhiều tỉnh cách nhau bởi dấu phẩy / legacy province code(s), e.g. 77,79"
        ),
    ] = "77",
    citizens: Annotated[
        int, typer.Option(min=1, help="Số công dân mỗi tỉnh / citizens per province")
    ] = 1_200_000,
    seed: Annotated[int, typer.Option(help="Hạt giống ngẫu nhiên / random seed")] = 0,
    error_scale: Annotated[float, typer.Option(min=0.0, help="Nhân tỉ lệ lỗi / error rate multiplier")] = 1.0,
    file_format: Annotated[str, typer.Option("--format", help="csv | parquet")] = "csv",
    mix: Annotated[
        str,
        typer.Option(
            help="Tập lỗi / error mix: default | x3 | poor | random (--mix-seed) | raise:KIND (one kind at 5 %)"
        ),
    ] = "default",
    mix_seed: Annotated[
        int, typer.Option(help="Hạt giống của tập lỗi ngẫu nhiên / seed of --mix random")
    ] = 0,
) -> None:
    """Sinh dữ liệu mô phỏng / write a synthetic register snapshot, a dose batch and the truth."""
    from vaxlink.cli.progress import progress_bar
    from vaxlink.simulation import ErrorRates, province_specs, simulate, simulate_provinces

    if file_format not in ("csv", "parquet"):
        fail("--format phải là csv hoặc parquet / must be csv or parquet")
    try:
        errors = ErrorRates.named(mix, mix_seed).scaled(error_scale)
    except ValueError as e:
        fail(f"--mix không hợp lệ / invalid --mix: {e}")

    def body():  # type: ignore[no-untyped-def]
        codes = [p.strip() for p in province.split(",") if p.strip()]
        with progress_bar(err) as bar:
            if len(codes) > 1:
                # Several provinces in one register; some people vaccinated in a province not their own.
                return simulate_provinces(
                    out,
                    province_specs(codes, citizens, seed),
                    errors=errors,
                    file_format=file_format,
                    progress=lambda stage, frac: bar("simulate", round(frac * 100), 100),
                )
            return simulate(
                out,
                province=province,
                citizens=citizens,
                seed=seed,
                errors=errors,
                file_format=file_format,
                progress=lambda stage, frac: bar("simulate", round(frac * 100), 100),
            )

    r = run(body)
    console.print(
        f"Công dân / citizens: {r.citizens:,} · bản ghi mũi tiêm / dose records: {r.dose_records:,} · "
        f"người không có trong sổ / persons absent from the register: {r.absent_persons:,} · "
        f"{r.seconds:.1f} s"
    )
    for name, path in r.files.items():
        console.print(f"  {name}: {path}")


@app.command("demo")
def demo(
    citizens: Annotated[int, typer.Option(min=100, help="Quy mô mô phỏng / simulated citizens")] = 20_000,
    workdir: Annotated[Path, typer.Option(help="Thư mục làm việc / working directory")] = Path(
        "vaxlink-demo"
    ),
    seed: Annotated[int, typer.Option()] = 1,
) -> None:
    """Chạy toàn bộ quy trình trên CSDL nhúng / the whole flow on the embedded database."""
    from vaxlink.services.demo.run import run_demo

    r = run(run_demo, workdir, citizens=citizens, seed=seed, say=console.print)
    console.print(f"[bold green]Xong / done[/] · CSDL / database: {r}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    demo_dir: Annotated[
        Path | None,
        typer.Option(
            "--demo",
            help="Mở trên CSDL của `vaxlink demo` trong thư mục này / serve the database `vaxlink demo` made here",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="Số tiến trình / worker processes (sharing limits through the database)"
        ),
    ] = 1,
    trusted_proxies: Annotated[
        str,
        typer.Option(
            help="Địa chỉ proxy tin cậy / addresses of the reverse proxies whose X-Forwarded-* headers are "
            "believed (comma-separated; none by default)"
        ),
    ] = "",
) -> None:
    """Chạy ứng dụng web và API / run the web application and API."""
    from vaxlink.web.app import create_app
    from vaxlink.web.server import run as run_server

    s = settings()
    if demo_dir is not None:
        from vaxlink.services.demo.run import demo_settings

        if not (demo_dir / "vaxlink.db").is_file():
            fail(f"chưa có CSDL demo / no demo database in {demo_dir} (./scripts/demo)")
        s = demo_settings(demo_dir)
    if workers > 1 and not s.database_url.startswith("postgresql"):
        fail(
            "--workers > 1 cần PostgreSQL (SQLite chỉ có một tiến trình ghi) / needs PostgreSQL (SQLite has one writer)"
        )
    if workers > 1:
        # Each worker reads the same settings from the environment.
        os.environ["VAXLINK_DATABASE_URL"] = s.database_url
        run_server(None, host, port, workers=workers, trusted_proxies=trusted_proxies)
        return
    # uvloop and httptools when installed (see vaxlink.web.server).
    run_server(create_app(s), host, port, trusted_proxies=trusted_proxies)


def main() -> None:  # pragma: no cover
    sys.exit(app())

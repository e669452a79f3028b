"""`vaxlink match explain`: the weight of every comparison level as a batch was decided with it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

match_app = typer.Typer(help="Bộ so khớp / the matcher.", no_args_is_help=True)
console = Console()


@match_app.command("explain")
def explain(
    batch: Annotated[int | None, typer.Option(help="Lô / batch id (mặc định: lô mới nhất / latest)")] = None,
) -> None:
    """Trọng số từng mức so sánh / every level's weight, prior and estimated, with the estimation's record."""
    from vaxlink.cli.session import run_in_session
    from vaxlink.services.match_parameters import run_parameters

    p = run_in_session(lambda session: run_parameters(session.connection(), batch))
    where = (
        f"lô / batch {p.batch_id}" if p.batch_id is not None else "giá trị ban đầu / priors (no batch yet)"
    )
    console.print(f"Đặc tả / spec {p.spec_version} · {p.digest} · {where}")
    if p.estimation:
        console.print(
            "Ước lượng / estimation: "
            + ", ".join(
                f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in p.estimation.items()
            )
        )
    table = Table(
        "so sánh / comparison", "mức / level", "ban đầu / prior", "ước lượng / used", "m", "u", "tf", "veto"
    )
    for lv in p.levels:
        used = f"{lv.weight:+.2f}" + (" (giới hạn / bound)" if lv.clamped else "")
        table.add_row(
            lv.comparison,
            lv.level,
            f"{lv.prior_weight:+.2f}",
            used,
            f"{lv.m:.4g}",
            f"{lv.u:.4g}",
            lv.tf,
            lv.veto,
        )
    console.print(table)
    console.print(
        "Trọng số = log2(m/u), bit; mức tf cộng thêm log2(1/tỉ lệ giá trị) / tf levels add log2(1/share)."
    )

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
    from vaxlink.services.reconciliation.match_parameters import run_parameters

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
    if p.linked is not None and p.expected_wrong_links is not None:
        share = p.expected_wrong_links / p.linked if p.linked else 0.0
        console.print(
            f"Liên kết tự động / automatic links: {p.linked:,}; số liên kết sai dự kiến / expected wrong links: "
            f"{p.expected_wrong_links:.4g} ({share:.2e} mỗi liên kết / per link)"
        )


@match_app.command("train")
def train_cmd(
    apply: Annotated[bool, typer.Option("--apply", help="Áp dụng / apply the refit spec")] = False,
) -> None:
    """Học từ quyết định của cán bộ / refit the matcher from officers' settled cases; --apply to use it."""
    from vaxlink.cli.session import run_in_session
    from vaxlink.domain.audit_actions import AuditAction
    from vaxlink.services.audit import log as audit
    from vaxlink.services.reconciliation.match_parameters import apply_spec
    from vaxlink.services.reconciliation.match_training import train
    from vaxlink.settings import load_settings

    settings = load_settings()

    def body(session):  # type: ignore[no-untyped-def]
        report = train(session.connection(), settings)
        if apply and report.spec is not None:
            path = apply_spec(settings, report.spec)
            audit.record(
                session,
                actor="cli",
                action=AuditAction.MATCH_SPEC_APPLIED,
                resource_type="match_spec",
                resource_id=report.spec.digest,
                details={"version": report.spec.version, "matches": report.matches, "path": str(path)},
            )
        return report

    r = run_in_session(body)
    console.print(
        f"Quyết định của cán bộ / officers' decisions: {r.matches:,} khớp / matches, "
        f"{r.non_matches:,} không khớp / non-matches; giữ lại để kiểm / held out: {r.held_out_records:,} bản ghi / records"
    )
    t = Table("", "liên kết đúng / linked right", "liên kết sai / linked wrong", "cần xem / review")
    t.add_row("trước / before", str(r.before.linked_right), str(r.before.linked_wrong), str(r.before.review))
    t.add_row("sau / after", str(r.after.linked_right), str(r.after.linked_wrong), str(r.after.review))
    console.print(t)
    changed = Table("mức / level", "ban đầu / prior", "học được / trained")
    for name, w in r.levels.items():
        if abs(w["trained"] - w["prior"]) >= 0.05:
            changed.add_row(name, f"{w['prior']:+.2f}", f"{w['trained']:+.2f}")
    console.print(changed)
    for province, levels in r.provinces.items():
        console.print(
            f"Tỉnh / province {province}: riêng / own fit on {len(levels)} levels (reported, not applied)"
        )
    if r.spec is not None:
        verb = "đã áp dụng / applied" if apply else "chưa áp dụng, thêm --apply / not applied: add --apply"
        console.print(f"Đặc tả / spec {r.spec.version} · {r.spec.digest}: {verb}")

"""The matcher's parameters as a batch was decided with them: what `vaxlink match explain` shows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from vaxlink.domain.errors import VaxlinkError
from vaxlink.matching.spec import MatchSpec
from vaxlink.settings import Settings
from vaxlink.storage.models import Batch


def spec_file(settings: Settings) -> Path:
    return settings.work_dir / "match-spec.json"


def current_spec(settings: Settings) -> MatchSpec:
    """The spec every run starts from: the one refit from officers' decisions once applied
    (`vaxlink match train --apply`), else the default. Each run still estimates on its own data from it."""
    path = spec_file(settings)
    if path.exists():
        return MatchSpec.from_dict(json.loads(path.read_text(encoding="utf-8")))
    return MatchSpec()


def apply_spec(settings: Settings, spec: MatchSpec) -> Path:
    """Write `spec` as the installation's spec file, whole or not at all."""
    path = spec_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(spec.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class LevelParameters:
    comparison: str
    level: str
    prior_weight: float
    weight: float
    m: float
    u: float
    tf: str
    veto: str
    clamped: bool


@dataclass(frozen=True)
class RunParameters:
    batch_id: int | None  # None: the spec's priors, no batch decided yet
    spec_version: str
    digest: str
    estimation: dict[str, Any]
    levels: list[LevelParameters]
    # The batch's automatic links (health identities) and the wrong links the model expects among them.
    linked: int | None = None
    expected_wrong_links: float | None = None


def run_parameters(db: Connection, batch_id: int | None = None) -> RunParameters:
    """The parameters of `batch_id` (the latest finished batch when None; the priors when there is none)."""
    query = select(Batch.id, Batch.spec, Batch.counts).where(Batch.status == "done", Batch.spec.is_not(None))
    query = query.where(Batch.id == batch_id) if batch_id is not None else query.order_by(Batch.id.desc())
    row = db.execute(query.limit(1)).first()
    if row is None and batch_id is not None:
        raise VaxlinkError(f"không có lô {batch_id} đã đối soát / no reconciled batch {batch_id}")
    spec = MatchSpec.from_dict(dict(row.spec)) if row is not None else MatchSpec()
    estimation = dict(spec.extra.get("estimation") or {})
    estimated = estimation.get("levels") or {}
    levels = []
    for c in spec.comparisons:
        for lv in c.levels:
            e = estimated.get(lv.name, {})
            levels.append(
                LevelParameters(
                    comparison=c.name,
                    level=lv.name,
                    prior_weight=float(e.get("prior_weight", lv.weight)),
                    weight=lv.weight,
                    m=lv.m,
                    u=lv.u,
                    tf=lv.tf,
                    veto=lv.veto,
                    clamped=bool(e.get("clamped", False)),
                )
            )
    match = dict((row.counts or {}).get("match") or {}) if row is not None else {}
    return RunParameters(
        batch_id=None if row is None else int(row.id),
        spec_version=spec.version,
        digest=spec.digest,
        estimation={k: v for k, v in estimation.items() if k != "levels"},
        levels=levels,
        linked=int(match["linked"]) if "linked" in match else None,
        expected_wrong_links=float(match["expected_wrong_links"])
        if "expected_wrong_links" in match
        else None,
    )

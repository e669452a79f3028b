"""Learning from officers: every settled review case is a labelled pair, and the matcher's priors can be refit.

An officer who links a record in doubt to a citizen says "this pair is one person" (the record's match is
`confirmed`) and, of the other candidates the case showed, "these are not". `vaxlink match train` gathers
those labels, computes each labelled pair's levels with the spec's own SQL on the current register, and
refits every level's m from the officers' matches (the spec's m as a prior of `prior_strength` pseudo-pairs,
no level moved more than `max_shift_bits`); u stays with the random pairs each run counts, since the
candidates officers reject are the hard ones, not random ones. Before anything is applied it reports what
the refit would change on decisions held out of the fit (one record in five, chosen by its id). Nothing
changes silently: only `--apply` writes the refit spec, with its own version and digest, to the
installation's spec file, which every later ingest and re-examination starts from (and still estimates on).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from duckdb import DuckDBPyConnection
from sqlalchemy import Connection, text

from vaxlink.domain.errors import VaxlinkError
from vaxlink.matching import normalise
from vaxlink.matching.pipeline import compare_step, decide_steps, lookup_step, score_step
from vaxlink.matching.prepare import prepare_records
from vaxlink.matching.spec import MatchSpec
from vaxlink.services.reconciliation.match_parameters import current_spec
from vaxlink.services.reconciliation.reconcile import RECORD_SCHEMA
from vaxlink.services.reconciliation.register_load import load_register
from vaxlink.settings import Settings
from vaxlink.storage.extract import query_arrow

HELD_OUT = 5  # one record in five (by its id) is held out of the fit
MIN_MATCHES = 50  # fewer officers' matches than this: nothing to learn from
MIN_PER_PROVINCE = 200  # a province's own fit is reported where it has this many matches


@dataclass
class Decisions:
    """Outcomes on the held-out labelled records under one spec."""

    records: int = 0
    linked_right: int = 0
    linked_wrong: int = 0
    review: int = 0


@dataclass
class TrainingReport:
    matches: int
    non_matches: int
    held_out_records: int
    before: Decisions
    after: Decisions
    levels: dict[str, dict[str, float]] = field(default_factory=dict)  # level -> prior / trained weight
    provinces: dict[str, dict[str, float]] = field(default_factory=dict)  # province -> level -> weight
    spec: MatchSpec | None = None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("spec")
        return d


def _labels(db: Connection) -> list[tuple[int, int, int, str | None]]:
    """(dose_record_id, citizen_id, label, province) of every settled pair: the officer's citizen (1) and
    the other candidates its case showed (0)."""
    out: dict[tuple[int, int], tuple[int, str | None]] = {}
    rows = db.execute(
        text("""SELECT m.dose_record_id, m.citizen_id, k.details, k.province_code
        FROM match_result m LEFT JOIN work_case k ON k.dose_record_id = m.dose_record_id AND k.status = 'closed'
        WHERE m.outcome = 'confirmed' AND m.citizen_id IS NOT NULL""")
    ).all()
    for dose_id, citizen_id, details, province in rows:
        out[(int(dose_id), int(citizen_id))] = (1, province)
        if isinstance(details, str):
            details = json.loads(details)
        for cand in (details or {}).get("candidates", []) or []:
            other = cand.get("citizen_id")
            if isinstance(other, int) and other != citizen_id:
                out.setdefault((int(dose_id), other), (0, province))
    return [(d, c, label, p) for (d, c), (label, p) in sorted(out.items())]


def _fit(
    spec: MatchSpec, counts: dict[str, Counter[str]], n: dict[str, int]
) -> dict[str, tuple[float, float]]:
    """Each non-missing level's m from the matches' level counts per comparison, with the spec as prior."""
    fitted: dict[str, tuple[float, float]] = {}
    for c in spec.comparisons:
        comparable = [lv for lv in c.levels if not lv.missing]
        total = sum(lv.m for lv in comparable)
        seen = sum(counts[c.name][lv.name] for lv in comparable)
        for lv in comparable:
            prior = lv.m / total
            m = (counts[c.name][lv.name] + spec.prior_strength * prior) / (seen + spec.prior_strength)
            weight = math.log2(m / lv.u)
            weight = min(max(weight, lv.weight - spec.max_shift_bits), lv.weight + spec.max_shift_bits)
            fitted[lv.name] = (m, m / 2.0**weight)
    return fitted


def _decide(duck: DuckDBPyConnection, spec: MatchSpec) -> Decisions:
    """Outcomes of the held-out labelled records among their labelled candidates, decided by the matcher's own
    steps (`pipeline.decide_steps`) on the pairs `_scored` left in `scored` under `spec`."""
    for step in decide_steps(spec):
        duck.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    records, right, wrong = duck.execute("""
        SELECT count(*), count(*) FILTER (WHERE c.outcome = 'linked' AND b.label = 1),
               count(*) FILTER (WHERE c.outcome = 'linked' AND coalesce(b.label, 0) = 0)
        FROM (SELECT DISTINCT dose_record_id, ident_id FROM labelled WHERE held_out) h
        JOIN classified c ON c.ident_id = h.ident_id
        LEFT JOIN labelled b ON b.dose_record_id = h.dose_record_id AND b.citizen_id = c.best_citizen_id""").fetchall()[0]
    return Decisions(records=records, linked_right=right, linked_wrong=wrong, review=records - right - wrong)


def _score(duck: DuckDBPyConnection, spec: MatchSpec) -> None:
    """`compared` and `scored` of the labelled pairs under `spec`."""
    for step in (compare_step(spec, "labelled_pairs"), score_step(spec)):
        duck.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")


def _scored(duck: DuckDBPyConnection, spec: MatchSpec) -> list[dict[str, Any]]:
    _score(duck, spec)
    cur = duck.execute("""SELECT l.dose_record_id, l.citizen_id, l.label, l.province, l.held_out, s.weight, s.veto,
               s.id_level, s.name_level, s.dob_level, s.sex_level, s.ward_level, s.address_level, s.phone_level
        FROM labelled l JOIN scored s ON s.ident_id = l.ident_id AND s.citizen_id = l.citizen_id""")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def train(db: Connection, settings: Settings, spec: MatchSpec | None = None) -> TrainingReport:
    """Refit the spec's m's from officers' settled cases and measure the refit on held-out decisions."""
    spec = spec or current_spec(settings)
    labels = _labels(db)
    matches = sum(1 for _, _, label, _ in labels if label == 1)
    if matches < MIN_MATCHES:
        raise VaxlinkError(
            f"mới có {matches} quyết định của cán bộ, cần ít nhất {MIN_MATCHES} / "
            f"{matches} officers' decisions so far, at least {MIN_MATCHES} are needed"
        )
    duck = normalise.connect(settings.duckdb_memory_limit, settings.duckdb_threads)
    try:
        rows = _labelled_rows(db, duck, spec, labels)
        fit_rows = [r for r in rows if r["label"] == 1 and not r["held_out"]]
        trained = spec.with_levels(
            _fit(spec, *_level_counts(spec, fit_rows)),
            {"training": {"matches": len(fit_rows), "at": datetime.now(UTC).isoformat(timespec="seconds")}},
        )
        trained = replace(trained, version=f"{spec.version.split('+')[0]}+officers.{len(fit_rows)}")
        before = _decide(duck, spec)
        _score(duck, trained)
        after = _decide(duck, trained)
        provinces = _province_fits(spec, fit_rows)
    finally:
        duck.close()
    levels = {
        lv.name: {"prior": round(lv.weight, 3), "trained": round(t.weight, 3)}
        for c, tc in zip(spec.comparisons, trained.comparisons, strict=True)
        for lv, t in zip(c.levels, tc.levels, strict=True)
        if not lv.missing
    }
    return TrainingReport(
        matches=matches,
        non_matches=len(labels) - matches,
        held_out_records=before.records,
        before=before,
        after=after,
        levels=levels,
        provinces=provinces,
        spec=trained,
    )


def _labelled_rows(
    db: Connection, duck: DuckDBPyConnection, spec: MatchSpec, labels: list[tuple[int, int, int, str | None]]
) -> list[dict[str, Any]]:
    """Every labelled pair whose citizen is in the register, with its levels and weight under `spec` and
    whether its record is held out of the fit."""
    ids = sorted({d for d, _, _, _ in labels})
    records = query_arrow(
        db,
        "SELECT d.id, d.full_name, d.date_of_birth, d.sex, d.id_number, d.phone, d.ward_code, d.address, "
        "d.ward_units, d.vaccination_date "
        "FROM dose_record d JOIN match_result m ON m.dose_record_id = d.id WHERE m.outcome = 'confirmed'",
        RECORD_SCHEMA,
    )
    duck.register(
        "records_in", records.filter(pa.compute.is_in(records["rec_id"], pa.array(ids, pa.int64())))
    )
    prepare_records(duck, "records_in")
    duck.unregister("records_in")
    load_register(db, duck)
    duck.register(
        "labels_in",
        pa.table(
            {
                "dose_record_id": pa.array([d for d, _, _, _ in labels], pa.int64()),
                "citizen_id": pa.array([c for _, c, _, _ in labels], pa.int64()),
                "label": pa.array([lab for _, _, lab, _ in labels], pa.int32()),
                "province": pa.array([p for _, _, _, p in labels], pa.string()),
            }
        ),
    )
    duck.execute(f"""CREATE OR REPLACE TABLE labelled AS
        SELECT l.*, m.ident_id, l.dose_record_id % {HELD_OUT} = 0 AS held_out
        FROM labels_in l JOIN rec_map m ON m.rec_id = l.dose_record_id
        WHERE l.citizen_id IN (SELECT citizen_id FROM reg)""")
    duck.execute(
        "CREATE OR REPLACE TABLE labelled_pairs AS SELECT DISTINCT ident_id, citizen_id FROM labelled"
    )
    look = lookup_step()
    duck.execute(f"CREATE OR REPLACE TABLE {look.name} AS {look.sql}")
    return _scored(duck, spec)


def _level_counts(
    spec: MatchSpec, selected: list[dict[str, Any]]
) -> tuple[dict[str, Counter[str]], dict[str, int]]:
    """How many of `selected` fall in each level of each comparison, and how many there are."""
    out: dict[str, Counter[str]] = {c.name: Counter() for c in spec.comparisons}
    for r in selected:
        for c in spec.comparisons:
            out[c.name][r[f"{c.name}_level"]] += 1
    return out, {c.name: len(selected) for c in spec.comparisons}


def _province_fits(spec: MatchSpec, fit_rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each province's own fit (level → weight), where it has `MIN_PER_PROVINCE` matches."""
    provinces: dict[str, dict[str, float]] = {}
    by_province: dict[str, list[dict[str, Any]]] = {}
    for r in fit_rows:
        by_province.setdefault(str(r["province"]), []).append(r)
    for province, selected in sorted(by_province.items()):
        if len(selected) >= MIN_PER_PROVINCE:
            provinces[province] = {
                k: round(math.log2(m / u), 3)
                for k, (m, u) in _fit(spec, *_level_counts(spec, selected)).items()
            }
    return provinces

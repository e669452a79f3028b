"""The parameters of a run estimated from its own data: u from random pairs, m by expectation-maximisation.

Fellegi and Sunter's model needs, for every comparison level, m (how often a true pair shows it) and u (how
often a pair of different people does). A fixed table of them fits the data it was set on and no other: a
batch whose birth dates are often a day off, or whose phones are often a relative's, has other m's. So each
run estimates them on its own register and batch, on DuckDB, before any partition is matched:

- u, for levels that are not judged by the value's frequency, from pairs drawn at random (a sample of
  identities times a sample of citizens, chosen by hash so that the same inputs draw the same pairs);
- m, and the share of candidate pairs that are true, by expectation-maximisation over the candidate pairs of
  a sample of identities, counted by pattern of levels (a few thousand patterns, whatever the batch size).
  A record is one person: of its candidates at most one is true, so each step shares the record's one chance
  among them (`em`'s `pairs`). Counted pair by pair instead, a record under a relative's number would count its
  pair with the number's holder as true as well as its pair with its own person, and every disagreement the
  two relatives show (another given name, another birth date, the other sex) would look like a slip of true
  pairs.

The spec's values are the priors: `prior_strength` pseudo-pairs for m, about ten expected occurrences for
u; no level's weight moves more than `max_shift_bits` from its prior, so a small or strange batch stays
sane. Same inputs, same parameters: the sample, the patterns and the iterations are all deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from duckdb import DuckDBPyConnection

from vaxlink.matching.levels import Level
from vaxlink.matching.pipeline import (
    compare_step,
    lookup_step,
    pairs_step,
    record_key_step,
    register_key_steps,
)
from vaxlink.matching.spec import MatchSpec
from vaxlink.matching.tables import REC_IDENT, REC_KEYS, REG, exists

MAX_ITERATIONS = 200
TOLERANCE = 1e-7


@dataclass
class Estimation:
    """What a run's parameters were estimated on, and how the estimation went."""

    identities: int = 0
    pairs: int = 0
    patterns: int = 0
    random_pairs: int = 0
    iterations: int = 0
    converged: bool = False
    match_share: float = 0.0  # estimated share of candidate pairs that are true
    # level -> {"m", "u", "prior_m", "prior_u", "weight", "prior_weight", "clamped"}
    levels: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "identities": self.identities,
            "pairs": self.pairs,
            "patterns": self.patterns,
            "random_pairs": self.random_pairs,
            "iterations": self.iterations,
            "converged": self.converged,
            "match_share": self.match_share,
            "levels": self.levels,
        }


def _create(con: DuckDBPyConnection, name: str, sql: str) -> None:
    con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")


def _level_columns(spec: MatchSpec) -> list[str]:
    return [f"{c.name}_level" for c in spec.comparisons]


def _count_levels(con: DuckDBPyConnection, pairs_sql: str, spec: MatchSpec) -> dict[str, int]:
    """Every level's count among the pairs of `pairs_sql` (a SELECT with the level columns), in one pass and
    without keeping the pairs: only the counts are wanted."""
    histograms = ", ".join(f"histogram({col})" for col in _level_columns(spec))
    counts: dict[str, int] = {}
    for found in con.execute(f"SELECT {histograms} FROM ({pairs_sql}) x").fetchall()[0]:
        counts.update({str(level): int(n) for level, n in (found or {}).items()})
    return counts


# Identities of the sample crossed with citizens for u.
RANDOM_IDENTITIES = 1000


def random_citizens(spec: MatchSpec, identities: int) -> int:
    """How many citizens (the first by hash of their id) the random pairs of a batch of `identities` take:
    a register read in part for a batch must hold at least these."""
    sampled = min(identities, int(spec.estimation_identities), RANDOM_IDENTITIES)
    return max(1, spec.random_pairs // max(1, sampled))


def _random_pairs(con: DuckDBPyConnection, spec: MatchSpec) -> int:
    """`_est_random`: identities of the sample (`_est_sample`) crossed with a sample of citizens, about
    `spec.random_pairs`."""
    n_ident = int(con.execute("SELECT count(*) FROM _est_sample").fetchall()[0][0])
    n_reg = int(con.execute(f"SELECT count(*) FROM {REG}").fetchall()[0][0])
    if not n_ident or not n_reg:
        _create(
            con,
            "_est_random",
            "SELECT CAST(NULL AS BIGINT) AS ident_id, CAST(NULL AS BIGINT) AS citizen_id LIMIT 0",
        )
        return 0
    k_ident = min(n_ident, RANDOM_IDENTITIES)
    k_reg = min(n_reg, random_citizens(spec, n_ident))
    _create(
        con,
        "_est_random",
        f"""SELECT i.ident_id, c.citizen_id FROM
            (SELECT ident_id FROM _est_sample ORDER BY hash(ident_key), ident_id LIMIT {k_ident}) i
            CROSS JOIN (SELECT citizen_id FROM {REG} ORDER BY hash(citizen_id), citizen_id LIMIT {k_reg}) c""",
    )
    return k_ident * k_reg


def _sample_identities(con: DuckDBPyConnection, spec: MatchSpec) -> int:
    """`_est_sample`: the identities the estimation is made on (the whole batch when small), whole
    health identities first by a hash of their group."""
    _create(
        con,
        "_est_sample",
        f"""SELECT ident_id, ident_key FROM {REC_IDENT}
            ORDER BY hash(CAST(group_id AS VARCHAR)), ident_id LIMIT {int(spec.estimation_identities)}""",
    )
    return int(con.execute("SELECT count(*) FROM _est_sample").fetchall()[0][0])


def _isolate_sample(con: DuckDBPyConnection) -> None:
    """Make `rec_ident` the sample's identities; the batch, and its keys when they were made, are kept
    aside (`_restore_identities` puts them back)."""
    con.execute(f"ALTER TABLE {REC_IDENT} RENAME TO _est_rec_ident_all")
    if exists(con, REC_KEYS):
        con.execute(f"ALTER TABLE {REC_KEYS} RENAME TO _est_rec_keys_all")
    _create(con, REC_IDENT, "SELECT * FROM _est_rec_ident_all SEMI JOIN _est_sample USING (ident_id)")


def _restore_identities(con: DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {REC_IDENT}")
    con.execute(f"ALTER TABLE _est_rec_ident_all RENAME TO {REC_IDENT}")
    con.execute(f"DROP TABLE IF EXISTS {REC_KEYS}")
    if exists(con, "_est_rec_keys_all"):
        con.execute(f"ALTER TABLE _est_rec_keys_all RENAME TO {REC_KEYS}")


def _u_estimate(level: Level, count: int, n: int, prior_total: float) -> float:
    """u from `count` of `n` random pairs, with the prior (the level's share of `prior_total`) worth about
    ten expected occurrences: a level too rare for the sample to count keeps about its prior."""
    prior = level.u / prior_total
    strength = 10.0 / prior
    return (count + strength * prior) / (n + strength)


def em(
    patterns: Sequence[tuple[tuple[str, ...], int]],
    comparisons: Sequence[Sequence[Level]],
    u: dict[str, float],
    prior_strength: float,
    start_share: float,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, float], float, int, bool]:
    """m per level and the share of true pairs, by expectation-maximisation over pattern counts with u held.

    `patterns`: (level per comparison, number of pairs). The m's of each comparison get a Dirichlet prior
    of `prior_strength` pseudo-pairs shaped by the spec's m's. Returns (m, share, iterations, converged).

    `pairs` (each pair's record, numbered from 0, and its pattern's index in `patterns`, whose counts they
    make): a record has at most one true candidate. A pair's chance of being true is then its odds over one
    plus the odds of all the record's candidates (none true, or this one), not over one plus its own.
    """
    priors = []
    for comparison in comparisons:
        total = sum(lv.m for lv in comparison if not lv.missing)
        priors.append({lv.name: lv.m / total for lv in comparison if not lv.missing})
    m = [dict(p) for p in priors]
    share = min(max(start_share, 1e-6), 1 - 1e-6)
    log_u = [{name: math.log(u[name]) for name in p} for p in priors]
    converged, iterations = False, 0
    for iterations in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is returned
        sums = [dict.fromkeys(p, 0.0) for p in priors]
        seen = [0.0] * len(priors)
        matched = 0.0
        total = 0.0
        log_m = [{k: math.log(v) for k, v in mi.items()} for mi in m]
        # Each pattern's log odds of a true pair. A field missing on either side says nothing: it is left out
        # of both products.
        odds = np.array(
            [
                math.log(share)
                - math.log(1 - share)
                + sum(log_m[i][lv] - log_u[i][lv] for i, lv in enumerate(pattern) if lv in log_m[i])
                for pattern, _ in patterns
            ]
        )
        true_pairs = _true_pairs(odds, patterns, pairs)
        for (pattern, n), p in zip(patterns, true_pairs, strict=True):
            matched += p
            total += n
            for i, lv in enumerate(pattern):
                if lv in sums[i]:
                    sums[i][lv] += p
                    seen[i] += p
        new_m = []
        for i, prior in enumerate(priors):
            denom = seen[i] + prior_strength
            new_m.append({k: (sums[i][k] + prior_strength * prior[k]) / denom for k in prior})
        new_share = min(max(matched / total, 1e-6), 1 - 1e-6) if total else share
        change = max(
            [abs(new_share - share)] + [abs(new_m[i][k] - m[i][k]) for i in range(len(m)) for k in m[i]]
        )
        m, share = new_m, new_share
        if change < TOLERANCE:
            converged = True
            break
    flat = {k: v for mi in m for k, v in mi.items()}
    return flat, share, iterations, converged


def _true_pairs(
    odds: np.ndarray,
    patterns: Sequence[tuple[tuple[str, ...], int]],
    pairs: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """The expected number of true pairs of each pattern, from each pattern's log odds (natural) of a true
    pair: alone, or, with `pairs`, shared within each record (see `em`)."""
    clipped = np.clip(odds, -700.0, 700.0)
    if pairs is None:
        counts = np.array([n for _, n in patterns], dtype=np.float64)
        alone: np.ndarray = counts / (1.0 + np.exp(-clipped))
        return alone
    record, pattern = pairs
    # Scaled by the record's largest odds, or by one (the odds of nobody) when larger: nothing overflows.
    pair_odds = clipped[pattern]
    top = np.zeros(int(record.max()) + 1)
    np.maximum.at(top, record, pair_odds)
    scaled = np.exp(pair_odds - top[record])
    whole = np.bincount(record, weights=scaled, minlength=len(top)) + np.exp(-top)
    return np.bincount(pattern, weights=scaled / whole[record], minlength=len(patterns))


def _counts(
    con: DuckDBPyConnection, spec: MatchSpec, sample_levels: str
) -> tuple[list[tuple[Any, ...]], tuple[np.ndarray, np.ndarray], dict[str, int], int]:
    """The sample's level patterns with their counts (from `sample_levels`, a SELECT of `ident_id` and the
    level columns of the sample's pairs), each pair's record and pattern (numbered in the patterns' order),
    every level's count among the random pairs, and how many those were."""
    random_pairs = _random_pairs(con, spec)
    random_counts = _count_levels(con, compare_step(spec, "_est_random").sql, spec)
    cols = ", ".join(_level_columns(spec))
    _create(con, "_est_levels", sample_levels)
    try:
        _create(
            con,
            "_est_patterns",
            f"""SELECT *, CAST(row_number() OVER (ORDER BY {cols}) - 1 AS INTEGER) AS pattern
                FROM (SELECT {cols}, count(*) AS n FROM _est_levels GROUP BY ALL) x""",
        )
        rows = con.execute(f"SELECT {cols}, n FROM _est_patterns ORDER BY pattern").fetchall()
        found = con.execute(
            f"""SELECT CAST(dense_rank() OVER (ORDER BY l.ident_id) - 1 AS INTEGER) AS record, p.pattern
                FROM _est_levels l JOIN _est_patterns p USING ({cols}) ORDER BY l.ident_id, p.pattern"""
        ).fetchnumpy()
    finally:
        con.execute("DROP TABLE IF EXISTS _est_levels")
        con.execute("DROP TABLE IF EXISTS _est_patterns")
    pairs = (np.asarray(found["record"], dtype=np.int64), np.asarray(found["pattern"], dtype=np.int64))
    return rows, pairs, random_counts, random_pairs


def _sample_patterns(
    con: DuckDBPyConnection, spec: MatchSpec, est: Estimation, keys_ready: bool, compared: str | None
) -> tuple[list[tuple[Any, ...]], tuple[np.ndarray, np.ndarray], dict[str, int]]:
    """The sample's level patterns with their counts, each pair's record and pattern, and every level's count
    among the random pairs (see
    `estimate` for `keys_ready` and `compared`); `est` gets the sample's size and the random pairs'.
    The sample's tables are dropped, and `rec_ident` is the whole batch again, whatever happens."""
    cols = ", ".join(_level_columns(spec))
    try:
        est.identities = _sample_identities(con, spec)
        if compared is None:
            _isolate_sample(con)
            try:
                if not keys_ready:
                    for step in (*register_key_steps(spec.blocking), lookup_step()):
                        _create(con, step.name, step.sql)
                for step in (record_key_step(spec.blocking), pairs_step(spec, "_est_pairs")):
                    _create(con, step.name, step.sql)
                cmp = compare_step(spec, "_est_pairs", "_est_compared")
                _create(con, cmp.name, cmp.sql)
                rows, pairs, random_counts, est.random_pairs = _counts(
                    con, spec, f"SELECT ident_id, {cols} FROM _est_compared"
                )
            finally:
                _restore_identities(con)
        else:
            rows, pairs, random_counts, est.random_pairs = _counts(
                con, spec, f"SELECT ident_id, {cols} FROM {compared} SEMI JOIN _est_sample USING (ident_id)"
            )
    finally:
        for t in ("_est_sample", "_est_pairs", "_est_compared", "_est_random"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return rows, pairs, random_counts


def _u_values(spec: MatchSpec, random_counts: dict[str, int]) -> tuple[dict[str, float], dict[str, float]]:
    """Per level that is not `missing`: the u EM holds (a `tf` level's average over the random pairs), and
    the u the estimated spec keeps (a `tf` level keeps its own: it is not a constant of the level)."""
    u_em: dict[str, float] = {}
    u_new: dict[str, float] = {}
    for c in spec.comparisons:
        # Shares among the random pairs where the field can be compared at all.
        comparable = [lv for lv in c.levels if not lv.missing]
        n_random = sum(random_counts.get(lv.name, 0) for lv in comparable)
        prior_total = sum(lv.u for lv in comparable if not lv.tf) or 1.0
        for lv in c.levels:
            count = random_counts.get(lv.name, 0)
            if lv.missing:
                continue
            if lv.tf:
                # Judged by the value's frequency: u is not a constant of the level. EM needs its average.
                u_em[lv.name] = (count + 0.5) / (n_random + 1.0)
                u_new[lv.name] = lv.u
            else:
                u_em[lv.name] = u_new[lv.name] = _u_estimate(lv, count, n_random, prior_total)
    return u_em, u_new


def _bounded(
    spec: MatchSpec,
    m_new: dict[str, float],
    u_new: dict[str, float],
    random_counts: dict[str, int],
    est: Estimation,
) -> dict[str, tuple[float, float]]:
    """(m, u) per level, no weight moved more than `spec.max_shift_bits` from its prior; each level's record
    goes to `est.levels`."""
    fitted: dict[str, tuple[float, float]] = {}
    for c in spec.comparisons:
        for lv in c.levels:
            if lv.missing:
                continue
            m_est, u_est = m_new[lv.name], u_new[lv.name]
            weight = math.log2(m_est / u_est)
            low, high = lv.weight - spec.max_shift_bits, lv.weight + spec.max_shift_bits
            clamped = not low <= weight <= high
            if clamped:
                # Keep the estimated m; move u so that the weight sits on the bound.
                weight = min(max(weight, low), high)
                u_est = m_est / 2.0**weight
            fitted[lv.name] = (m_est, u_est)
            est.levels[lv.name] = {
                "m": m_est,
                "u": u_est,
                "prior_m": lv.m,
                "prior_u": lv.u,
                "weight": weight,
                "prior_weight": lv.weight,
                "tf": lv.tf,
                "clamped": clamped,
                "random_pairs_at_level": random_counts.get(lv.name, 0),
            }
    return fitted


def estimate(
    con: DuckDBPyConnection, spec: MatchSpec, *, keys_ready: bool = False, compared: str | None = None
) -> MatchSpec:
    """`spec` with its m and u estimated on the prepared inputs of `con` (see the module's doc).
    `keys_ready`: the blocking keys of this spec and the lookup (`pipeline.key_steps`) are already
    in `con`, made by the run. `compared`: a table of the run's own compared pairs, every identity's,
    with this spec's levels (`pipeline.compare_step`); the sample's pairs are read there rather than
    paired and compared again. The levels do not depend on m and u, and a sampled identity's pairs are
    the same whether the batch or the sample is paired, so either way gives the same parameters.

    The estimation's own record (what it was estimated on, convergence, every level's prior and estimate)
    is kept in the returned spec's `extra["estimation"]`, so it is stored with the run and can be shown.
    """
    if not spec.estimate:
        return spec
    n = int(con.execute(f"SELECT count(*) FROM {REC_IDENT}").fetchall()[0][0])
    if n < spec.min_estimation_identities:
        return replace(
            spec, extra={**spec.extra, "estimation": {"identities": n, "skipped": "too few identities"}}
        )
    est = Estimation()
    rows, pairs, random_counts = _sample_patterns(con, spec, est, keys_ready, compared)
    patterns = [(tuple(str(x) for x in r[:-1]), int(r[-1])) for r in rows]
    est.patterns = len(patterns)
    est.pairs = sum(n for _, n in patterns)
    if not patterns:
        return spec
    u_em, u_new = _u_values(spec, random_counts)
    identities = max(est.identities, 1)
    m_new, share, est.iterations, est.converged = em(
        patterns,
        [c.levels for c in spec.comparisons],
        u_em,
        spec.prior_strength,
        start_share=min(0.9, identities / est.pairs),
        pairs=pairs,
    )
    est.match_share = share
    return spec.with_levels(_bounded(spec, m_new, u_new, random_counts, est), {"estimation": est.as_dict()})

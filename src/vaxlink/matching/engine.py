"""Run the matching pipeline on an engine: DuckDB here; the same steps serve other SQL engines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from duckdb import DuckDBPyConnection

from vaxlink.matching.pipeline import PairLimitExceeded, pair_estimate_sql, steps
from vaxlink.matching.spec import MatchSpec

Progress = Callable[[str, int, int | None], None]


@dataclass
class RunStats:
    pairs_estimated: int = 0
    pairs: int = 0
    identities: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def run_duckdb(con: DuckDBPyConnection, spec: MatchSpec, progress: Progress | None = None) -> RunStats:
    """Run every step on `con` (which holds the prepared inputs); the result is table `classified`."""
    stats = RunStats()
    estimate = sum(int(con.execute(pair_estimate_sql(rule)).fetchall()[0][0]) for rule in spec.blocking)
    stats.pairs_estimated = estimate
    if estimate > spec.max_pairs:
        raise PairLimitExceeded(
            f"blocking would compare {estimate:,} pairs (limit {spec.max_pairs:,}): tighten the blocking rules"
        )
    plan = steps(spec)
    for i, step in enumerate(plan):
        t = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
        stats.seconds[step.name] = time.perf_counter() - t
        if progress:
            progress("match", i + 1, len(plan))
    stats.pairs = int(con.execute("SELECT count(*) FROM pairs").fetchall()[0][0])
    stats.identities = int(con.execute("SELECT count(*) FROM classified").fetchall()[0][0])
    return stats

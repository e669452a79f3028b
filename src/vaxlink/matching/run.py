"""Run the matching pipeline on an engine: DuckDB (one machine) or Spark (a cluster), from the same steps.

The inputs are always prepared on DuckDB (`prepare.py`); the steps of `pipeline.py` then run on the
chosen engine (`engines/duckdb.py` or `engines/spark.py`, known here through `engines/base.py`), and the
results (`classified`, `ranked`) end up as tables of the DuckDB connection either way, so that whoever
stores them needs to know nothing of the engine.

A run can be split into partitions of the health identities (by a hash of the identity): each
partition is matched against the whole register, and since every step after blocking works per
identity, the union of the partitions' results is the result of the whole run. Finished partitions are
kept in the work directory and skipped when the same run (same inputs, same spec) is started again.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from duckdb import DuckDBPyConnection

from vaxlink.matching.engines.base import Executor, PartitionRunner, RunStats
from vaxlink.matching.engines.duckdb import DuckDBExecutor, DuckDBPartitions
from vaxlink.matching.engines.spark import SparkPartitions
from vaxlink.matching.estimate import estimate
from vaxlink.matching.pipeline import (
    PairLimitExceeded,
    key_steps,
    pair_estimate_sql,
    register_key_steps,
    steps,
)
from vaxlink.matching.spec import MatchSpec
from vaxlink.matching.tables import (
    CLASSIFIED,
    COMPARED,
    INPUT_TABLES,
    PAIRS,
    RANKED,
    REC_IDENT,
    RESULT_TABLES,
    SCORED,
)

# RunStats (`engines/base.py`) is what a run returns: its callers take it from here with the run.
__all__ = [
    "PAIRS_PER_PARTITION",
    "EngineName",
    "Progress",
    "RunStats",
    "estimate_pairs",
    "guard",
    "input_fingerprint",
    "link_figures",
    "run_duckdb",
    "run_matching",
    "run_steps",
]

Progress = Callable[[str, int, int | None], None]
EngineName = Literal["duckdb", "spark"]

# Estimated candidate pairs per partition when the partition count is left to the run. The estimate
# counts a pair once per rule that finds it, about ten times the distinct pairs scored, so a province
# under the default guard runs as one partition, and a national run gets about 5 M scored pairs per
# partition: well inside DuckDB's 4 GB, or a Spark executor's memory, at ~150 bytes per scored pair.
PAIRS_PER_PARTITION = 50_000_000
# Bumped whenever the assignment of identities to partitions changes: saved partitions of an older
# assignment must not be taken for this one's.
_PARTITIONING = "hash-group-1"


def estimate_pairs(ex: Executor, spec: MatchSpec) -> int:
    """Candidate pairs of all rules, from key counts: nothing is paired to find out. The blocking keys
    are made first (`pipeline.key_steps`), and stay for the steps that pair."""
    for step in key_steps(spec.blocking):
        ex.create(step.name, step.sql)
    return sum(int(ex.rows(pair_estimate_sql(rule))[0][0] or 0) for rule in spec.blocking)


def _names(plan: list[Any]) -> frozenset[str]:
    return frozenset(step.name for step in plan)


def guard(estimate: int, spec: MatchSpec) -> None:
    if estimate > spec.max_pairs:
        raise PairLimitExceeded(
            f"blocking would compare {estimate:,} pairs (limit {spec.max_pairs:,}): tighten the blocking rules"
        )


def _run_plan(
    ex: Executor, plan: list[Any], stats: RunStats, progress: Progress | None, done: int, total: int
) -> None:
    for i, step in enumerate(plan, start=done + 1):
        t = time.perf_counter()
        ex.create(step.name, step.sql)
        stats.seconds[step.name] = stats.seconds.get(step.name, 0.0) + time.perf_counter() - t
        if progress:
            progress("match", i, total)


def _count(ex: Executor, stats: RunStats) -> RunStats:
    stats.pairs += int(ex.rows(f"SELECT count(*) FROM {PAIRS}")[0][0])
    stats.identities += int(ex.rows(f"SELECT count(*) FROM {CLASSIFIED}")[0][0])
    return stats


def run_steps(
    ex: Executor,
    spec: MatchSpec,
    progress: Progress | None = None,
    stats: RunStats | None = None,
    made: frozenset[str] = frozenset(),
) -> RunStats:
    """Every step of the pipeline on `ex`, in order, but those `made` already for this run (the blocking
    keys); the pair count and the identities matched."""
    stats = stats or RunStats()
    plan = [step for step in steps(spec) if step.name not in made]
    _run_plan(ex, plan, stats, progress, 0, len(plan))
    return _count(ex, stats)


def _run_whole(
    con: DuckDBPyConnection, spec: MatchSpec, progress: Progress | None, stats: RunStats
) -> RunStats:
    """The whole batch in one go on DuckDB, its blocking keys made (`estimate_pairs`): every identity
    paired and compared, the parameters estimated on the sample's compared pairs (`estimate`), then
    scored and decided with them. The levels do not depend on the parameters: only the weights do."""
    ex = DuckDBExecutor(con)
    made = _names(key_steps(spec.blocking))
    plan = [step for step in steps(spec) if step.name not in made]
    cut = next(i for i, step in enumerate(plan) if step.name == SCORED)
    _run_plan(ex, plan[:cut], stats, progress, 0, len(plan))
    t = time.perf_counter()
    stats.spec = spec = estimate(con, spec, keys_ready=True, compared=COMPARED)
    stats.seconds["estimate"] = time.perf_counter() - t
    rest = [step for step in steps(spec) if step.name not in made][cut:]
    _run_plan(ex, rest, stats, progress, cut, len(plan))
    return _count(ex, stats)


def run_duckdb(con: DuckDBPyConnection, spec: MatchSpec, progress: Progress | None = None) -> RunStats:
    """Run every step on `con` (which holds the prepared inputs); the result is table `classified`."""
    ex = DuckDBExecutor(con)
    stats = RunStats(pairs_estimated=estimate_pairs(ex, spec))
    guard(stats.pairs_estimated, spec)
    return _run_whole(con, spec, progress, stats)


def input_fingerprint(con: DuckDBPyConnection) -> str:
    """A digest of the prepared inputs: a rerun on the same inputs finds the partitions it finished."""
    parts = []
    for t in INPUT_TABLES:
        n, h = con.execute(f"SELECT count(*), coalesce(bit_xor(hash(x)), 0) FROM {t} x").fetchall()[0]
        parts.append(f"{t}:{n}:{h}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _run_key(con: DuckDBPyConnection, spec: MatchSpec, engine: str, partitions: int) -> str:
    text = f"{_PARTITIONING}|{engine}|{partitions}|{spec.digest}|{input_fingerprint(con)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@contextmanager
def _scratch(work_dir: Path | None) -> Iterator[Path]:
    """The run directory's parent: the work directory when given (kept for resuming), else a temporary one."""
    if work_dir is not None:
        base = work_dir / "match"
        base.mkdir(parents=True, exist_ok=True)
        yield base
        return
    with tempfile.TemporaryDirectory(prefix="vaxlink-match-") as tmp:
        yield Path(tmp)


def run_matching(
    con: DuckDBPyConnection,
    spec: MatchSpec,
    *,
    engine: EngineName = "duckdb",
    work_dir: Path | None = None,
    partitions: int | None = None,
    pairs_per_partition: int = PAIRS_PER_PARTITION,
    progress: Progress | None = None,
    runner: PartitionRunner | None = None,
) -> RunStats:
    """Match the prepared inputs of `con` on `engine`; `classified` and `ranked` end up in `con`.

    `partitions`: None chooses from the estimated pair count (one partition up to `pairs_per_partition`).
    With `work_dir`, finished partitions are kept under `work_dir/match/` and skipped by a rerun of the
    same inputs and spec. The pair-count guard runs on the engine before any pair is generated.
    `runner` overrides the engine's partition runner (a Spark runner on a given session, say).
    """
    if engine not in ("duckdb", "spark"):
        raise ValueError(f"unknown matching engine {engine!r}: use duckdb or spark")
    if runner is None and engine == "spark":
        runner = SparkPartitions()  # pyspark is imported when the runner begins
    runner = runner or DuckDBPartitions(con)
    # The estimate is computed on DuckDB, which holds the prepared inputs, and is the same on any engine:
    # key counts, not pairs.
    pairs_estimated = estimate_pairs(DuckDBExecutor(con), spec)
    guard(pairs_estimated, spec)
    n = partitions or max(1, math.ceil(pairs_estimated / pairs_per_partition))
    if n == 1 and runner.name == "duckdb":
        # One partition on DuckDB is the plain run: nothing to move, nothing to resume.
        return link_figures(con, _run_whole(con, spec, progress, RunStats(pairs_estimated=pairs_estimated)))
    # The parameters are estimated once, on DuckDB, before any partition: every partition and every engine
    # decides with the same ones.
    spec = estimate(con, spec, keys_ready=True)
    stats = RunStats(pairs_estimated=pairs_estimated, engine=runner.name, partitions=n, spec=spec)
    key = _run_key(con, spec, runner.name, n)
    with _scratch(work_dir) as base:
        run_dir = base / key
        done = {p for p in range(n) if (run_dir / f"part-{p:05d}" / "done.json").exists()}
        con.execute(
            # A health identity's records are matched in one partition: they lend each other evidence.
            f"CREATE OR REPLACE TABLE _rec_ident_parts AS SELECT *, CAST(hash(group_id) % {n} AS INTEGER) AS part "
            f"FROM {REC_IDENT}"
        )
        try:
            if len(done) < n:
                _run_partitions(con, spec, runner, run_dir, n, done, stats, progress)
            stats.partitions_skipped = len(done)
            for p in sorted(done):
                saved = json.loads((run_dir / f"part-{p:05d}" / "done.json").read_text())
                stats.pairs += int(saved["pairs"])
                stats.identities += int(saved["identities"])
            _collect(con, run_dir)
        finally:
            con.execute(
                f"CREATE OR REPLACE TABLE {REC_IDENT} AS SELECT * EXCLUDE (part) FROM _rec_ident_parts"
            )
            con.execute("DROP TABLE _rec_ident_parts")
        # Results of other runs (other inputs, or a spec since changed) will never be resumed.
        for other in base.iterdir():
            if other.is_dir() and other.name != key:
                shutil.rmtree(other, ignore_errors=True)
    return link_figures(con, stats)


def link_figures(con: DuckDBPyConnection, stats: RunStats) -> RunStats:
    """`stats`' count of identities linked and of links expected wrong, from `classified` as it is."""
    linked, expected = con.execute(
        f"SELECT count(*), coalesce(sum(wrong_link), 0) FROM {CLASSIFIED} WHERE outcome = 'linked'"
    ).fetchall()[0]
    stats.linked, stats.expected_wrong_links = int(linked), float(expected)
    return stats


def _run_partitions(
    con: DuckDBPyConnection,
    spec: MatchSpec,
    runner: PartitionRunner,
    run_dir: Path,
    n: int,
    done: set[int],
    stats: RunStats,
    progress: Progress | None,
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    if runner.name != "duckdb":
        inputs = run_dir / "inputs"
        inputs.mkdir(exist_ok=True)
        for t in INPUT_TABLES:
            src = "_rec_ident_parts" if t == REC_IDENT else t
            con.execute(f"COPY {src} TO '{inputs / t}.parquet' (FORMAT parquet)")
    runner.begin(run_dir, n)
    finished = len(done)
    register_made = _names(register_key_steps(spec.blocking)) if runner.name == "duckdb" else frozenset()
    try:
        ex = runner.executor()
        for p in range(n):
            if p in done:
                continue
            part_dir = run_dir / f"part-{p:05d}"
            runner.use_partition(p)
            # On DuckDB the register's keys made for the estimate serve every partition.
            part = run_steps(ex, spec, made=register_made)
            for name, s in part.seconds.items():
                stats.seconds[name] = stats.seconds.get(name, 0.0) + s
            for t in RESULT_TABLES:
                runner.save(t, part_dir / t)
            # Written last: a partition without it is redone, whatever else of it is on disk.
            (part_dir / "done.json").write_text(json.dumps(asdict(part)))
            stats.pairs += part.pairs
            stats.identities += part.identities
            finished += 1
            if progress:
                progress("match", finished, n)
    finally:
        runner.end()
    shutil.rmtree(run_dir / "inputs", ignore_errors=True)


def _collect(con: DuckDBPyConnection, run_dir: Path) -> None:
    for t in RESULT_TABLES:
        con.execute(
            f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM read_parquet('{run_dir}/part-*/{t}/*.parquet') "
            "ORDER BY ident_id" + (", rank" if t == RANKED else "")
        )

"""Benchmark: how the matching steps scale with the register, on DuckDB and on Spark (local mode).

    uv run python bench/bench_scaling.py --citizens 100000 200000 500000 1000000 [2000000 5000000]
        [--engines duckdb spark] [--check 200000] [--spark-master local[2]] [--driver-memory 8g]

For each size a province is simulated (cached under --data), its register and dose records are turned
into the matcher's inputs, and each engine runs in a fresh child process: prepare on DuckDB, then the
matching steps on the engine. Reported per size and engine: time of the matching steps (prepare apart),
peak RSS of the child's whole process tree (the Spark JVM included), the candidate pairs compared,
pairs per second and identities per second. For the --check size, the outcome, candidate and reasons
of every dose record are compared between the engines and the number of differing records printed.
`--against FILE` compares them, for every size and engine, with a `classified-<engine>.parquet` an earlier
run (of other code, say) left in the data directory and was copied to FILE: a change meant to be faster
only must leave every record's decision as it was.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_rss(root: int) -> int:
    """Resident bytes of `root` and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/statm") as f:
                pages = int(f.read().split()[1])
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields after the last ')' are fixed.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * PAGE
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


def _tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by `root` and its living descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        cpu[int(entry)] = int(fields[11]) + int(fields[12])  # utime, stime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total / tick


class PeakMonitor:
    """Samples the RSS of a process tree until stopped; the JVM of Spark is a child of the Python process."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        self.pid, self.every, self.peak = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(self.pid))
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def matcher_inputs(data: Path) -> tuple[Any, Any, Any]:
    from vaxlink.simulation.inputs import matcher_inputs as inputs

    return inputs(data)


def _child(data: Path, engine: str, opts: dict[str, Any], out: Path, q: mp.Queue) -> None:  # type: ignore[type-arg]
    from vaxlink.matching import normalise
    from vaxlink.matching.prepare import prepare_inputs
    from vaxlink.matching.run import run_matching
    from vaxlink.matching.spec import MatchSpec

    register, aliases, records = matcher_inputs(data)
    con = normalise.connect(opts["duckdb_memory"], opts["threads"], temp_dir=str(out.parent))
    t = time.perf_counter()
    prepare_inputs(con, register, aliases, records)
    prepare_s = time.perf_counter() - t
    from vaxlink.matching.pipeline import key_steps, pair_estimate_sql

    # Per rule: how many pairs it would generate, to see which rules stop being selective as N grows.
    for step in key_steps(MatchSpec().blocking):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    rule_pairs = {
        r.name: int(con.execute(pair_estimate_sql(r)).fetchall()[0][0] or 0) for r in MatchSpec().blocking
    }
    start_s = 0.0
    if engine == "spark":
        from vaxlink.matching.engines.spark import spark_session

        t = time.perf_counter()
        spark = spark_session(opts["spark_master"], opts["driver_memory"], opts["shuffle_partitions"])
        spark.sparkContext.setLogLevel("ERROR")
        start_s = time.perf_counter() - t
    # Big enough a national spec would set: the guard is about mistakes, not these sizes.
    spec = MatchSpec(max_pairs=2_000_000_000)
    t, cpu = time.perf_counter(), _tree_cpu(os.getpid())
    # No work directory: a second benchmark run must not resume the first one's partitions.
    stats = run_matching(con, spec, engine=engine, partitions=opts["partitions"])
    match_s = time.perf_counter() - t
    # CPU of this process's threads and of the Spark JVM (a child): what the steps cost on a shared machine.
    match_cpu_s = _tree_cpu(os.getpid()) - cpu
    con.execute(f"""COPY (SELECT m.rec_id, c.outcome, c.best_citizen_id, c.reasons
        FROM rec_map m JOIN classified c USING (ident_id)) TO '{out}' (FORMAT parquet)""")
    q.put(
        {
            "prepare_s": prepare_s,
            "spark_start_s": start_s,
            "match_s": match_s,
            "match_cpu_s": match_cpu_s,
            "pairs": stats.pairs,
            "pairs_estimated": stats.pairs_estimated,
            "identities": stats.identities,
            "records": records.num_rows,
            "partitions": stats.partitions,
            "steps": stats.seconds,
            "rule_pairs": rule_pairs,
        }
    )


def measure(data: Path, engine: str, opts: dict[str, Any], out: Path) -> dict[str, Any]:
    from benchdb import in_child

    monitors: list[PeakMonitor] = []

    def watch(pid: int) -> PeakMonitor:
        monitors.append(PeakMonitor(pid))
        return monitors[-1]

    res: dict[str, Any] = in_child(_child, data, engine, opts, out, watch=watch)
    res["peak_rss_mb"] = monitors[0].peak / 2**20
    return res


def differing_records(a: Path, b: Path) -> tuple[int, int]:
    import duckdb

    return duckdb.sql(f"""SELECT count(*), count(*) FILTER (WHERE x.outcome IS DISTINCT FROM y.outcome
            OR x.best_citizen_id IS DISTINCT FROM y.best_citizen_id OR x.reasons IS DISTINCT FROM y.reasons)
        FROM '{a}' x FULL JOIN '{b}' y USING (rec_id)""").fetchall()[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--citizens", type=int, nargs="+", default=[100_000, 200_000, 500_000, 1_000_000])
    ap.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    ap.add_argument(
        "--check", type=int, default=200_000, help="size at which the engines' outcomes are compared"
    )
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--partitions", type=int, default=None, help="default: from the estimated pair count")
    ap.add_argument("--spark-master", default="local[2]")
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--shuffle-partitions", type=int, default=8)
    ap.add_argument("--duckdb-memory", default="4GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--against",
        type=Path,
        default=None,
        help="a classified-<engine>.parquet of an earlier run to compare",
    )
    args = ap.parse_args()
    opts = {
        k: getattr(args, k) for k in ("partitions", "spark_master", "driver_memory", "shuffle_partitions")
    }
    opts.update(duckdb_memory=args.duckdb_memory, threads=args.threads)
    rows: list[dict[str, Any]] = []
    print(
        f"{'citizens':>10} {'records':>10} {'engine':>7} {'parts':>5} {'prepare s':>9} {'match s':>8} "
        f"{'CPU s':>7} {'peak MB':>8} {'pairs':>11} {'pairs/s':>10} {'idents/s':>9}",
        flush=True,
    )
    for n in args.citizens:
        data = args.data / f"scaling-p77-{n}-s{args.seed}"
        if not (data / "truth.parquet").exists():
            from vaxlink.simulation import simulate

            simulate(data, province="77", citizens=n, seed=args.seed, file_format="parquet")
        results: dict[str, Path] = {}
        for engine in args.engines:
            out = data / f"classified-{engine}.parquet"
            r = measure(data, engine, opts, out)
            results[engine] = out
            rows.append({"citizens": n, "engine": engine, **r})
            print(
                f"{n:>10,} {r['records']:>10,} {engine:>7} {r['partitions']:>5} {r['prepare_s']:>9.1f} "
                f"{r['match_s']:>8.1f} {r['match_cpu_s']:>7.1f} {r['peak_rss_mb']:>8.0f} {r['pairs']:>11,} "
                f"{r['pairs'] / r['match_s']:>10,.0f} {r['identities'] / r['match_s']:>9,.0f}",
                flush=True,
            )
            if args.against is not None:
                total, differ = differing_records(args.against, out)
                print(
                    f"against {args.against}: {differ:,} of {total:,} dose records differ (outcome, candidate "
                    f"or reasons){'' if differ == 0 else '  <-- NOT IDENTICAL'}",
                    flush=True,
                )
        if n == args.check and {"duckdb", "spark"} <= results.keys():
            total, differ = differing_records(results["duckdb"], results["spark"])
            print(
                f"check at {n:,} citizens: {differ:,} of {total:,} dose records differ between DuckDB and "
                f"Spark (outcome, candidate or reasons){'' if differ == 0 else '  <-- NOT IDENTICAL'}",
                flush=True,
            )
            rows.append({"citizens": n, "check": {"records": total, "differing": differ}})
    sizes = [r for r in rows if r.get("engine") == args.engines[0]]
    if sizes:
        print(
            "\nestimated pairs per health identity, by blocking rule (growth with N: not selective nationally)"
        )
        print(f"{'rule':>22} " + " ".join(f"{r['citizens']:>10,}" for r in sizes))
        for rule in sizes[0]["rule_pairs"]:
            print(
                f"{rule:>22} " + " ".join(f"{r['rule_pairs'][rule] / r['identities']:>10.3f}" for r in sizes)
            )
    print(json.dumps(rows, default=str))


if __name__ == "__main__":
    main()

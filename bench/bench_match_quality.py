"""Benchmark: the matcher alone against the simulator's truth, without a database.

    uv run python bench/bench_match_quality.py DIR [DIR ...] [--unscoped] [--duckdb-memory 6GB]

DIR is a simulated province written with `vaxlink simulate --format parquet` (several provinces in one
DIR: `--province 01,48,77`). Prints precision, recall, the share sent to review, how many records of people
absent from the register were linked (must be 0), the pairs scored, and per blocking rule the estimated
pairs per health identity. `--unscoped` runs the same spec with the province dropped from every blocking
key (and those rules uncapped): what scoping to the province changes.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

import pyarrow.parquet as pq

from vaxlink.matching import normalise
from vaxlink.matching.blocking import PROVINCE_CAP
from vaxlink.matching.pipeline import key_steps, pair_estimate_sql
from vaxlink.matching.prepare import prepare_records, prepare_register
from vaxlink.matching.run import run_matching
from vaxlink.matching.spec import MatchSpec
from vaxlink.simulation.inputs import matcher_inputs


def unscoped(spec: MatchSpec) -> MatchSpec:
    rules = tuple(
        dataclasses.replace(
            r,
            keys=tuple(k for k in r.keys if k != "province"),
            max_citizens_per_key=None if r.max_citizens_per_key == PROVINCE_CAP else r.max_citizens_per_key,
        )
        for r in spec.blocking
    )
    return dataclasses.replace(spec, blocking=rules)


def measure(data: Path, spec: MatchSpec, memory: str) -> None:
    register, aliases, records = matcher_inputs(data)
    con = normalise.connect(memory, 2)
    con.register("reg_in", register)
    con.register("alias_in", aliases)
    con.register("rec_in", records)
    t = time.perf_counter()
    prepare_register(con, "reg_in", "alias_in")
    prepare_records(con, "rec_in")
    prepare_s = time.perf_counter() - t
    identities = int(con.execute("SELECT count(*) FROM rec_ident").fetchall()[0][0])
    for step in key_steps(spec.blocking):
        con.execute(f"CREATE OR REPLACE TABLE {step.name} AS {step.sql}")
    per_rule = {
        r.name: int(con.execute(pair_estimate_sql(r)).fetchall()[0][0] or 0) / identities
        for r in spec.blocking
    }
    t, cpu = time.perf_counter(), time.process_time()
    stats = run_matching(con, spec)
    match_s, match_cpu = time.perf_counter() - t, time.process_time() - cpu
    # Dose rows are numbered in file order by matcher_inputs; the truth names each row's person.
    con.register("dose_ids", pq.read_table(data / "doses.parquet", columns=["record_id"]))
    con.execute(f"""CREATE TABLE ev AS SELECT c.outcome, r.personal_id AS got, t.personal_id AS want,
            t.personal_id IN (SELECT personal_id FROM reg_in) AS present
        FROM (SELECT row_number() OVER () AS rec_id, record_id FROM dose_ids) x
        JOIN rec_map m USING (rec_id) JOIN classified c USING (ident_id)
        LEFT JOIN reg_in r ON r.citizen_id = c.best_citizen_id
        JOIN '{data / "truth.parquet"}' t ON t.record_id = x.record_id""")
    total, linked, correct, present, review, absent, absent_linked = con.execute("""SELECT count(*),
        count(*) FILTER (WHERE outcome = 'linked'), count(*) FILTER (WHERE outcome = 'linked' AND got = want),
        count(*) FILTER (WHERE present), count(*) FILTER (WHERE outcome = 'review'),
        count(*) FILTER (WHERE NOT coalesce(present, false)),
        count(*) FILTER (WHERE outcome = 'linked' AND NOT coalesce(present, false)) FROM ev""").fetchall()[0]
    print(
        f"{data.name}: {total:,} records, {identities:,} identities; prepare {prepare_s:.1f} s, matching "
        f"{match_s:.1f} s ({match_cpu:.1f} s CPU), {stats.pairs:,} pairs scored "
        f"({stats.pairs_estimated:,} estimated); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print(
        f"  precision {100 * correct / max(linked, 1):.3f} %, recall {100 * correct / max(present, 1):.3f} %, "
        f"review {100 * review / total:.3f} %, absent people's records linked {absent_linked} of {absent}"
    )
    print("  estimated pairs per identity: " + ", ".join(f"{k} {v:.2f}" for k, v in per_rule.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data", type=Path, nargs="+")
    ap.add_argument("--unscoped", action="store_true", help="drop the province from the blocking keys")
    ap.add_argument("--duckdb-memory", default="6GB")
    args = ap.parse_args()
    spec = MatchSpec(max_pairs=2_000_000_000)
    if args.unscoped:
        spec = unscoped(spec)
    for data in args.data:
        measure(data, spec, args.duckdb_memory)


if __name__ == "__main__":
    main()

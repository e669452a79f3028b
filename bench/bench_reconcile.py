"""Benchmark: register import + dose ingest and reconciliation end to end; quality against the simulator's truth.

    uv run python bench/bench_reconcile.py --citizens 100000 200000 1000000 [--postgres URL] [--error-scale 3]

For each size: simulate (cached under --data), import the register, then time `doses ingest` (read,
validate, version, match, store results and cases) in a fresh child process, and report wall time, the
matching step alone, peak RSS, pairs compared, precision / recall of automatic links, review share
and links of people absent from the register.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text


def _import(url: str, data: Path, memory: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from vaxlink.services.operations.schema import upgrade_database
    from vaxlink.services.reconciliation.registry_import import import_register
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import make_engine, transaction

    settings = load_settings(database_url=url, duckdb_memory_limit=memory)
    upgrade_database(settings)
    engine = make_engine(url)
    t = time.perf_counter()
    with transaction(engine) as s:
        import_register(s, settings, data / "register.csv", rejects_path=data / "rejects.csv")
    engine.dispose()
    out.put({"import_s": time.perf_counter() - t})


def _ingest(url: str, data: Path, memory: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from vaxlink.services.reconciliation.answers import export_results
    from vaxlink.services.reconciliation.dose_ingest import ingest_batch
    from vaxlink.settings import load_settings
    from vaxlink.simulation.evaluate import evaluate
    from vaxlink.storage.db import make_engine, transaction

    settings = load_settings(database_url=url, duckdb_memory_limit=memory)
    engine = make_engine(url)
    cpu = time.process_time()
    t = time.perf_counter()
    with transaction(engine) as s:
        r = ingest_batch(s, settings, data / "doses.csv", source="bench")
    t_ingest = time.perf_counter() - t
    cpu = time.process_time() - cpu
    # The ingest runs in a process of its own: its high-water mark is the ingest's alone.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = data / f"result-{uuid.uuid4().hex[:6]}.csv"
    with engine.connect() as conn:
        export_results(conn, result)
    engine.dispose()
    ev = evaluate(result, data / "truth.csv")
    result.unlink()
    out.put(
        {
            "ingest_s": t_ingest,
            "ingest_cpu_s": cpu,
            "match_s": sum(r.seconds.values()),
            "rows": r.rows,
            "peak_rss_mb": peak,
            "counts": r.counts,
            "steps": json.loads(json.dumps(r.seconds)),
            "eval": ev.as_dict(),
        }
    )


def _child(target: Any, url: str, data: Path, memory: str) -> dict[str, Any]:
    from benchdb import in_child

    return in_child(target, url, data, memory)  # type: ignore[no-any-return]


def measure(url: str, data: Path, memory: str) -> dict[str, object]:
    return {**_child(_import, url, data, memory), **_child(_ingest, url, data, memory)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--citizens", type=int, nargs="+", default=[100_000])
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench")
    ap.add_argument("--postgres", help="server URL; a database is created and dropped for each run")
    ap.add_argument("--error-scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--duckdb-memory", default="2GB", help="DuckDB memory limit of the ingest")
    args = ap.parse_args()
    rows = []
    for n in args.citizens:
        data = args.data / f"p77-{n}-e{args.error_scale:g}-s{args.seed}"
        if not (data / "truth.csv").exists():
            from vaxlink.simulation import ErrorRates, simulate

            simulate(
                data, province="77", citizens=n, seed=args.seed, errors=ErrorRates().scaled(args.error_scale)
            )
        if args.postgres:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                res = measure(args.postgres.rsplit("/", 1)[0] + "/" + name, data, args.duckdb_memory)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                admin.dispose()
        else:
            res = measure(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}", data, args.duckdb_memory)
        ev = res["eval"]
        rows.append((n, res))
        print(
            f"{n:>9,} citizens · {res['rows']:>9,} dose rows · import {res['import_s']:6.1f} s · "
            f"ingest+reconcile {res['ingest_s']:6.1f} s (CPU {res['ingest_cpu_s']:6.1f} s, matching {res['match_s']:5.1f} s) · "
            f"peak RSS {res['peak_rss_mb']:6.0f} MB · precision {ev['precision']:.5%} · "  # type: ignore[index]
            f"recall {ev['recall']:.4%} · review {ev['review_share']:.3%} · "  # type: ignore[index]
            f"absent linked {ev['absent_linked']}/{ev['absent_records']}",
            flush=True,
        )  # type: ignore[index]
    print(json.dumps([{"citizens": n, **r} for n, r in rows], default=str))


if __name__ == "__main__":
    main()

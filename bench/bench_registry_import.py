"""Benchmark: import a register snapshot into SQLite and/or PostgreSQL, and where the time goes.

    uv run python bench/bench_registry_import.py --citizens 1200000 [--postgres URL] [--sqlite]

The snapshot comes from the simulator (generated once into --data, reused afterwards). Each backend is
measured in a fresh child process so that peak memory is that of the import alone; a second import of
the same file (all rows unchanged) is timed too. Per run it prints the wall and CPU time of each stage
(read and parse, normalise, write, index, statistics, merge), the CPU of the PostgreSQL backend serving
the import (read from /proc when the server runs on this machine), and each figure beside its target:
on SQLite ≤ 8× the time of sqlite3's own `.import` of the same CSV, measured in the same run (the
`sqlite3` command-line shell); on PostgreSQL ≤ 10 s for 1.2 M citizens (scaled to the size run). The
load average is printed before and after: on a shared machine compare CPU times.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchdb import fresh_pg

SQLITE_FACTOR = 8.0
PG_SECONDS_PER_1_2M = 10.0
STAGES = ("read", "normalise", "write", "index", "stats", "merge")


def _backend_cpu(pid: int | None) -> float | None:
    """User + system CPU seconds of a local PostgreSQL backend process, or None when not readable."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _one(url: str, register: Path, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from vaxlink.services.operations.schema import upgrade_database
    from vaxlink.services.reconciliation.registry_import import import_register
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import make_engine, transaction

    settings = load_settings(database_url=url)
    upgrade_database(settings)
    engine = make_engine(url)
    runs = []
    rejects = Path(tempfile.mkdtemp())
    for _ in range(2):
        t, c = time.perf_counter(), time.process_time()
        with transaction(engine) as s:
            backend = (
                s.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
                if url.startswith("postgresql")
                else None
            )
            server0 = _backend_cpu(backend)
            r = import_register(s, settings, register, rejects_path=rejects / "rejects.csv")
        server1 = _backend_cpu(backend)
        runs.append(
            {
                "wall": time.perf_counter() - t,
                "cpu": time.process_time() - c,
                "server_cpu": None if server0 is None or server1 is None else server1 - server0,
                "counts": [r.imported, r.updated, r.unchanged, r.rejected],
                "stages": getattr(r, "timings", {}),
            }
        )
    engine.dispose()
    shutil.rmtree(rejects, ignore_errors=True)
    out.put({"runs": runs, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def measure(url: str, register: Path) -> dict[str, object]:
    q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    p = mp.get_context("spawn").Process(target=_one, args=(url, register, q))
    p.start()
    result = q.get()
    p.join()
    return result  # type: ignore[no-any-return]


def sqlite_cli_import(register: Path) -> dict[str, float] | None:
    """sqlite3's own `.import` of the CSV into a new table of a new database file: wall and CPU seconds."""
    cli = shutil.which("sqlite3")
    if cli is None:
        return None
    work = Path(tempfile.mkdtemp())
    db = work / "reference.db"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([cli, str(db), "-cmd", ".mode csv", f".import {register} register"], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(work, ignore_errors=True)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return {"wall": wall, "cpu": cpu}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _verdict(value: float, limit: float) -> str:
    return "met" if value <= limit else "NOT met"


def report(backend: str, r: dict, target: float | None, target_text: str = "") -> None:  # type: ignore[type-arg]
    for label, run in zip(("first import", "re-import"), r["runs"], strict=True):
        imp, upd, unch, rej = run["counts"]
        server = run["server_cpu"]
        print(
            f"{backend:>10} {label:<12}: {run['wall']:6.1f} s wall, {run['cpu']:6.1f} s CPU"
            + (f" + {server:.1f} s server CPU" if server is not None else "")
            + f" · {imp:,} imported, {upd:,} updated, {unch:,} unchanged, {rej:,} rejected"
        )
        parts = [
            f"{s} {run['stages'][s][0]:.1f}/{run['stages'][s][1]:.1f}" for s in STAGES if s in run["stages"]
        ]
        print(f"{'':>10} {'':<12}  stages wall/CPU s: " + " · ".join(parts))
        if label == "first import" and target is not None:
            print(
                f"{'':>10} {'':<12}  target {target_text}: {target:.1f} s → wall {_verdict(run['wall'], target)}, "
                f"CPU {_verdict(run['cpu'] + (server or 0.0), target)}"
            )
    print(f"{'':>10} peak RSS {r['peak_rss_mb']:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--citizens", type=int, default=1_200_000)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench")
    ap.add_argument(
        "--postgres", help="server URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args()
    data = args.data / f"p77-{args.citizens}"
    register = data / "register.csv"
    if not register.exists():
        from vaxlink.simulation import simulate

        t = time.perf_counter()
        simulate(data, province="77", citizens=args.citizens, seed=7)
        print(f"simulated {args.citizens:,} citizens in {time.perf_counter() - t:.1f} s")
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    results: dict[str, object] = {}
    if args.sqlite or not args.postgres:
        reference = sqlite_cli_import(register)
        results["sqlite3_import"] = reference
        if reference is None:
            print("sqlite3 command-line shell not found: no reference (apt-get install -y sqlite3)")
        else:
            print(
                f"sqlite3 .import reference: {reference['wall']:.1f} s wall, {reference['cpu']:.1f} s CPU "
                f"(load average {_load()})"
            )
        work = Path(tempfile.mkdtemp())
        try:
            results["sqlite"] = r = measure(f"sqlite:///{work / 'bench.db'}", register)
        finally:
            # The database is as large as the register: not left behind on a shared disk.
            shutil.rmtree(work, ignore_errors=True)
        if reference is not None:
            # Compared like with like: wall with wall; where the machine is shared, CPU with CPU.
            run = r["runs"][0]  # type: ignore[index]
            print(
                f"    sqlite first import / sqlite3 .import: wall {run['wall'] / reference['wall']:.1f}×, "
                f"CPU {run['cpu'] / reference['cpu']:.1f}× (target ≤ {SQLITE_FACTOR:.0f}×: "
                f"wall {_verdict(run['wall'] / reference['wall'], SQLITE_FACTOR)}, "
                f"CPU {_verdict(run['cpu'] / reference['cpu'], SQLITE_FACTOR)})"
            )
        report("sqlite", r, None)
    if args.postgres:
        url, drop = fresh_pg(args.postgres, "import")
        try:
            results["postgresql"] = r = measure(url, register)
        finally:
            drop()
        target = PG_SECONDS_PER_1_2M * args.citizens / 1_200_000
        report("postgresql", r, target, f"≤ {PG_SECONDS_PER_1_2M:.0f} s per 1.2 M")
    print(f"load average after: {_load()}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

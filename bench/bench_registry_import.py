"""Benchmark: import a register snapshot into SQLite and/or PostgreSQL; prints wall time and peak memory.

    uv run python bench/bench_registry_import.py --citizens 1200000 [--postgres URL] [--sqlite]

The snapshot comes from the simulator (generated once into --data, reused afterwards). Each backend is
measured in a fresh child process so that peak memory is that of the import alone; a second import of
the same file (all rows unchanged) is timed too.
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

from sqlalchemy import create_engine, text


def _one(url: str, register: Path, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from vaxlink.services.registry_import import import_register
    from vaxlink.services.schema import upgrade_database
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import make_engine, transaction

    settings = load_settings(database_url=url)
    upgrade_database(settings)
    engine = make_engine(url)
    timings = []
    for _ in range(2):
        t = time.perf_counter()
        with transaction(engine) as s:
            r = import_register(s, settings, register, rejects_path=Path(tempfile.mkdtemp()) / "rejects.csv")
        timings.append((time.perf_counter() - t, r.imported, r.updated, r.unchanged, r.rejected))
    engine.dispose()
    out.put({"runs": timings, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def measure(url: str, register: Path) -> dict[str, object]:
    q: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    p = mp.get_context("spawn").Process(target=_one, args=(url, register, q))
    p.start()
    p.join()
    return q.get()  # type: ignore[no-any-return]


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
    results = {}
    if args.sqlite or not args.postgres:
        db = Path(tempfile.mkdtemp()) / "bench.db"
        results["sqlite"] = measure(f"sqlite:///{db}", register)
    if args.postgres:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            results["postgresql"] = measure(args.postgres.rsplit("/", 1)[0] + "/" + name, register)
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    for backend, r in results.items():
        (t1, imp, *_), (t2, _, upd, unch, rej) = r["runs"]  # type: ignore[index]
        print(
            f"{backend:>10}: first import {t1:6.1f} s ({imp:,} imported) · re-import {t2:6.1f} s "
            f"({unch:,} unchanged, {upd:,} updated, {rej:,} rejected) · peak RSS {r['peak_rss_mb']:.0f} MB"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()

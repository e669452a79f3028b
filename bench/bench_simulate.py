"""Benchmark `vaxlink.simulation.simulate`: wall time, rows written and peak memory for one province."""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from vaxlink.simulation import ErrorRates, simulate


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=1_200_000)
    parser.add_argument("--province", default="77")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--error-scale", type=float, default=1.0, help="multiply every default error rate")
    parser.add_argument("--out", type=Path, help="keep the files here instead of a temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vaxlink-sim-") as tmp:
        out = args.out or Path(tmp)
        started = time.perf_counter()
        cpu_started = time.process_time()
        summary = simulate(
            out,
            province=args.province,
            citizens=args.citizens,
            seed=args.seed,
            errors=ErrorRates().scaled(args.error_scale),
            file_format=args.format,
        )
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        sizes = {name: path.stat().st_size for name, path in summary.files.items()}

    rows = summary.citizens + 2 * summary.dose_records
    print(f"citizens            {summary.citizens:>12,}")
    print(f"dose records        {summary.dose_records:>12,}")
    print(
        f"persons vaccinated  {summary.persons_vaccinated:>12,}  (absent from register {summary.absent_persons:,})"
    )
    print(f"rows written        {rows:>12,}  (register + doses + truth)")
    for name, size in sizes.items():
        print(f"  {name:<17} {size / 2**20:>10,.1f} MiB")
    records_with_errors = summary.error_counts
    print(f"error kinds         {sum(1 for v in records_with_errors.values() if v):>12}")
    print(f"wall time           {wall:>12.1f} s  ({rows / wall:,.0f} rows/s)")
    print(f"cpu time            {cpu:>12.1f} s")
    print(f"peak RSS            {peak_rss_mib():>12,.0f} MiB")


if __name__ == "__main__":
    main()

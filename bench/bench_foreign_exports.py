"""Benchmark: the simulated sets written the way other exporters write them, through the README's commands.

    uv run --group bench python bench/bench_foreign_exports.py --data DIR [--sets NAME ...] [--leave-out COL ...]

`DIR` holds sets kept by `bench_match_generalisation.py --data DIR` (each: register, doses, truth and
`vaxlink.parquet`, the matcher's answer on the files as simulated). Each set is rewritten by
`vaxlink.simulation.export_styles.restyle` (other headers and column order, mixed date forms and Excel
serial numbers, phones written internationally or without their 0, numbers kept as text, ward codes read
back as numbers, sex and names written otherwise), then run through `vaxlink db upgrade`, `registry
import`, `doses ingest` and `reconcile export` on a fresh SQLite database. Printed per set: precision,
recall and review share of the matcher on the simulated files and of the commands on the restyled ones,
and how many records ended otherwise (outcome or person). `--leave-out` writes the register without some
of its optional columns (household_id, address, phone, current_ward_code): what another register may
not carry. `--register-units 2025` writes the register's wards in the 2025 structure and imports it so
(`registry import --units 2025`), beside the doses' legacy wards: a register kept after July 2025.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from vaxlink.domain.admin_units import Structure
from vaxlink.simulation.evaluate import evaluate
from vaxlink.simulation.export_styles import restyle


def _commands(out: Path, units: Structure) -> None:
    env = {
        **os.environ,
        "VAXLINK_DATABASE_URL": f"sqlite:///{out / 'vx.db'}",
        "VAXLINK_WORK_DIR": str(out / "work"),
    }
    cli = [str(Path(sys.executable).parent / "vaxlink")]
    for args in (
        ["db", "upgrade"],
        [
            "registry",
            "import",
            str(out / "register.csv"),
            "--rejects",
            str(out / "rejects.csv"),
            "--units",
            units,
        ],
        ["doses", "ingest", str(out / "doses.csv")],
        ["reconcile", "export", "--out", str(out / "result.csv")],
    ):
        done = subprocess.run([*cli, *args], env=env, capture_output=True, text=True, cwd=out)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args[:2])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def _differ(direct: Path, result: Path) -> int:
    return int(
        duckdb.sql(f"""SELECT count(*) FROM read_parquet('{direct}') a
            FULL JOIN read_csv('{result}', all_varchar = true) b USING (record_id)
            WHERE a.outcome IS DISTINCT FROM b.outcome
               OR coalesce(a.personal_id, '') <> coalesce(b.personal_id, '')""").fetchall()[0][0]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="sets kept by bench_match_generalisation.py")
    ap.add_argument("--sets", nargs="*", help="set names (default: every set in DIR)")
    ap.add_argument("--leave-out", nargs="*", default=[], help="register columns not written")
    ap.add_argument("--seed", type=int, default=1, help="the rewrite's seed")
    ap.add_argument(
        "--register-units",
        type=Structure,
        default=Structure.LEGACY,
        help="the register's wards: legacy or 2025",
    )
    args = ap.parse_args()
    names = args.sets or sorted(p.name for p in args.data.iterdir() if (p / "vaxlink.parquet").exists())
    left = f" (register without {', '.join(args.leave_out)})" if args.leave_out else ""
    if args.register_units is Structure.CURRENT:
        left += " (register's wards in the 2025 units)"
    print(
        f"{len(names)} sets restyled{left}: the matcher on the simulated files, the commands on the restyled"
    )
    print(f"{'set':28s} {'precision':>19s} {'recall':>19s} {'review':>17s} {'differ':>7s} {'s':>6s}")
    total = differ = 0
    for name in names:
        data = args.data / name
        with tempfile.TemporaryDirectory(prefix="vaxlink-restyled-") as tmp:
            out = Path(tmp)
            t = time.perf_counter()
            restyle(data, out, args.seed, leave_out=args.leave_out, register_units=args.register_units)
            _commands(out, args.register_units)
            seconds = time.perf_counter() - t
            a = evaluate(data / "vaxlink.parquet", data / "truth.parquet")
            b = evaluate(out / "result.csv", data / "truth.parquet")
            n = _differ(data / "vaxlink.parquet", out / "result.csv")
        total += a.records
        differ += n
        print(
            f"{name:28s} {a.precision:.5f} → {b.precision:.5f}   {a.recall:.5f} → {b.recall:.5f}   "
            f"{a.review_share:.3%} → {b.review_share:.3%} {n:7,d} {seconds:6.1f}"
        )
    print(f"records ending otherwise: {differ:,} of {total:,}")


if __name__ == "__main__":
    main()

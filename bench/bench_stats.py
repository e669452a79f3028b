"""Benchmark: refreshing the coverage aggregates and answering coverage questions after an ingest.

    uv run python bench/bench_stats.py --citizens 1200000 --doses 3000000 --data /tmp/bench-stats \
        [--sqlite /tmp/bench-stats/stats.db] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Per backend: the register is imported with the register import service; the dose records are then
loaded directly (not matched: matching 2-3 M records takes minutes and is not what this measures).
Every simulated record is stored as the simulator's truth says: linked to its person when that person
is in the register, unmatched (in its recorded ward's worklist) when not; 0.5 % of the linked ones are
put in review instead, with a case each. When --doses asks for more records than the simulator wrote,
synthetic booster records (linked, 2022-2023) are added for people who had at least two doses, until
the count is reached. Then it times `refresh_status` (every citizen), `refresh_statistics`, and each
question the pages and the CLI ask (first call, and the median of five more).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, text

from benchdb import fresh_pg

PROVINCE = "77"


def _simulate(data: Path, citizens: int, seed: int) -> None:
    from vaxlink.simulation import simulate

    if (data / "truth.csv").exists():
        return
    t = time.perf_counter()
    r = simulate(data, province=PROVINCE, citizens=citizens, seed=seed)
    print(f"simulate: {r.citizens:,} citizens, {r.dose_records:,} records, {time.perf_counter() - t:.1f} s")


def _load_doses(engine: Engine, data: Path, doses: int, seed: int) -> dict[str, int]:
    from vaxlink.domain.dates import PartialDate, parse_date
    from vaxlink.domain.vaccines import resolve_vaccine
    from vaxlink.matching.normalise import connect, map_distinct
    from vaxlink.storage import bulk
    from vaxlink.storage.extract import query_arrow
    from vaxlink.storage.models import Batch

    def day(v: str) -> tuple[Any]:
        d = parse_date(v)
        return (d.earliest() if isinstance(d, PartialDate) and d.precision.value == "day" else None,)

    def vaccine(v: str) -> tuple[str | None]:
        x = resolve_vaccine(v)
        return (None if x is None else x.code,)

    con = connect("6GB", 2)
    con.execute(f"CREATE TABLE doses AS SELECT * FROM read_csv('{data / 'doses.csv'}', all_varchar=true)")
    con.execute(f"CREATE TABLE truth AS SELECT * FROM read_csv('{data / 'truth.csv'}', all_varchar=true)")
    map_distinct(con, "SELECT vaccination_date FROM doses", day, pa.schema([("d", pa.date32())]), "v_day")
    map_distinct(con, "SELECT vaccine FROM doses", vaccine, pa.schema([("code", pa.string())]), "v_vac")
    with engine.begin() as conn:
        citizens = query_arrow(
            conn,
            "SELECT id, personal_id, current_ward_code FROM citizen",
            pa.schema([("id", pa.int64()), ("personal_id", pa.string()), ("ward", pa.string())]),
        )
        wards = query_arrow(
            conn,
            "SELECT code FROM admin_unit WHERE structure = 'legacy' AND level = 'ward'",
            pa.schema([("code", pa.string())]),
        )
        con.register("citizens_in", citizens)
        con.register("wards_in", wards)
        base = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM dose_record")).scalar_one())
        batch = Batch(
            source="bench", checksum=uuid.uuid4().hex, file_name="doses.csv", status="done", rows_total=0
        )
        from sqlalchemy.orm import Session

        with Session(bind=conn) as s:
            s.add(batch)
            s.flush()
            batch_id = batch.id
        con.execute(f"""CREATE TABLE rec AS
            SELECT {base} + row_number() OVER () AS id, d.record_id, d.dose_number, d.vaccine, x.code AS vaccine_code,
              v.d AS vaccination_date, d.ward_code, c.id AS citizen_id, t.errors,
              hash(d.record_id, {seed}) % 1000 < 5 AS in_review
            FROM doses d JOIN truth t USING (record_id)
            LEFT JOIN v_day v ON v.value = d.vaccination_date
            LEFT JOIN v_vac x ON x.value = d.vaccine
            LEFT JOIN citizens_in c ON c.personal_id = nullif(t.personal_id, '')""")
        simulated = con.execute("SELECT count(*) FROM rec").fetchall()[0][0]
        extra = max(0, doses - simulated)
        if extra:
            # Boosters for people with at least two doses, spread over 2022-2023.
            con.execute(f"""INSERT INTO rec
                SELECT {base} + {simulated} + row_number() OVER () AS id, 'boost-' || citizen_id || '-' || k,
                  CAST(n + k AS VARCHAR), 'Pfizer', 'EU/1/20/1528',
                  DATE '2022-03-01' + CAST(hash(citizen_id, k, {seed}) % 600 AS INTEGER), NULL, citizen_id, '', false
                FROM (SELECT citizen_id, count(*) AS n FROM rec WHERE citizen_id IS NOT NULL GROUP BY 1 HAVING count(*) >= 2)
                CROSS JOIN range(1, 3) r(k)
                ORDER BY hash(citizen_id, k, {seed}) LIMIT {extra}""")
        total = con.execute("SELECT count(*) FROM rec").fetchall()[0][0]
        dose_reader = con.sql(f"""SELECT id, {batch_id} AS batch_id, 'bench' AS source, record_id, 1 AS version,
              true AS is_latest, CAST(id - {base} AS INTEGER) AS line_no, vaccination_date,
              TRY_CAST(dose_number AS INTEGER) AS dose_number, vaccine, vaccine_code, ward_code,
              CASE WHEN vaccination_date IS NULL OR vaccine_code IS NULL THEN 'BAD_VACCINATION_DATE' END AS problems
            FROM rec ORDER BY id""").to_arrow_reader(200_000)
        bulk.load_batches(conn, "dose_record", dose_reader)
        result_reader = con.sql("""SELECT r.id AS dose_record_id,
              CASE WHEN r.vaccination_date IS NULL OR r.vaccine_code IS NULL THEN 'rejected'
                   WHEN r.citizen_id IS NULL THEN 'unmatched' WHEN r.in_review THEN 'review' ELSE 'linked' END AS outcome,
              CASE WHEN r.vaccination_date IS NOT NULL AND r.vaccine_code IS NOT NULL AND NOT r.in_review
                   THEN r.citizen_id END AS citizen_id,
              CASE WHEN r.in_review THEN r.citizen_id END AS candidate_citizen_id,
              '' AS reasons, '' AS flags,
              CASE WHEN r.citizen_id IS NOT NULL AND coalesce(r.errors, '') NOT IN ('', 'duplicate') THEN 'health' END
                AS blame,
              CASE WHEN r.in_review AND r.citizen_id IS NOT NULL THEN c.ward
                   WHEN r.citizen_id IS NULL AND w.code IS NOT NULL THEN w.code END AS ward_code,
              CASE WHEN (r.in_review AND r.citizen_id IS NOT NULL) OR (r.citizen_id IS NULL AND w.code IS NOT NULL)
                   THEN 'legacy' END AS ward_units,
              TIMESTAMP '2026-01-01 00:00:00' AS decided_at, 1 AS version
            FROM rec r LEFT JOIN citizens_in c ON c.id = r.citizen_id LEFT JOIN wards_in w ON w.code = r.ward_code
            ORDER BY r.id""").to_arrow_reader(200_000)
        bulk.load_batches(conn, "match_result", result_reader)
        conn.execute(
            text("""INSERT INTO work_case (kind, status, priority, ward_code, ward_units, province_code,
                dose_record_id, citizen_id, created_at, due_at, version)
            SELECT CASE WHEN m.outcome = 'review' THEN 'conflict' ELSE 'unmatched' END, 'open', 1, m.ward_code,
                coalesce(m.ward_units, 'legacy'), :p, m.dose_record_id, m.candidate_citizen_id, m.decided_at,
                m.decided_at, 1
            FROM match_result m JOIN dose_record d ON d.id = m.dose_record_id
            WHERE d.batch_id = :b AND m.outcome IN ('review', 'unmatched')"""),
            {"p": PROVINCE, "b": batch_id},
        )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('dose_record', 'id'), max(id)) FROM dose_record"
            )
            for t in ("dose_record", "match_result", "work_case", "citizen"):
                conn.exec_driver_sql(f"ANALYZE {t}")
    outcomes = dict(
        con.execute(
            "SELECT CASE WHEN citizen_id IS NULL THEN 'absent' ELSE 'registered' END, count(*) FROM rec GROUP BY 1"
        ).fetchall()
    )
    con.close()
    return {
        "records": int(total),
        "simulated": int(simulated),
        "synthetic_boosters": int(total - simulated),
        **outcomes,
    }


def _timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[float, float]:
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return first * 1000, statistics.median(runs) * 1000


def run(url: str, data: Path, doses: int, seed: int) -> dict[str, Any]:
    from vaxlink.services.operations.schema import upgrade_database
    from vaxlink.services.reconciliation.registry_import import import_register
    from vaxlink.settings import load_settings
    from vaxlink.storage.db import make_engine, transaction

    settings = load_settings(database_url=url, duckdb_memory_limit="6GB", work_dir=data / "work")
    upgrade_database(settings)
    engine = make_engine(url)
    out: dict[str, Any] = {"backend": engine.dialect.name}
    t = time.perf_counter()
    with transaction(engine) as s:
        r = import_register(s, settings, data / "register.csv", rejects_path=data / "rejects.csv")
    out["imported"] = r.imported
    out["register_import_s"] = round(time.perf_counter() - t, 1)
    print(f"{out['backend']}: register imported in {out['register_import_s']} s", flush=True)
    t = time.perf_counter()
    out["load"] = _load_doses(engine, data, doses, seed)
    out["dose_load_s"] = round(time.perf_counter() - t, 1)
    print(
        f"{out['backend']}: {out['load']['records']:,} dose records loaded in {out['dose_load_s']} s",
        flush=True,
    )
    engine.dispose()
    return {**out, **measure(url)}


def measure(url: str) -> dict[str, Any]:
    """Refresh and answer on a database already loaded (by `run`, or kept from an earlier run)."""
    from vaxlink.domain.admin_units import Level, Structure
    from vaxlink.services.figures.refresh import refresh_statistics
    from vaxlink.services.figures.stats import (
        Jurisdiction,
        backlog,
        coverage,
        doses_series,
        drill_down,
        headline,
    )
    from vaxlink.services.figures.status import refresh_status
    from vaxlink.storage.db import make_engine

    engine = make_engine(url)
    out: dict[str, Any] = {"backend": engine.dialect.name}
    with engine.connect() as conn:
        out["records_latest"] = conn.execute(
            text("SELECT count(*) FROM dose_record WHERE is_latest")
        ).scalar_one()
        out["citizens"] = conn.execute(text("SELECT count(*) FROM citizen")).scalar_one()
    with engine.begin() as conn:
        t = time.perf_counter()
        out["status_rows"] = refresh_status(conn)
        out["refresh_status_s"] = round(time.perf_counter() - t, 2)
    with engine.begin() as conn:
        t = time.perf_counter()
        res = refresh_statistics(conn)
        out["refresh_statistics_s"] = round(time.perf_counter() - t, 2)
        out["refresh_parts_s"] = {k: round(v, 2) for k, v in res.seconds.items()}
        out["cells"] = {
            "coverage": res.coverage_cells,
            "dose_day": res.dose_day_cells,
            "backlog": res.backlog_cells,
        }
    province = Jurisdiction(Structure.LEGACY, Level.PROVINCE, PROVINCE)
    questions: dict[str, Callable[[Any], Any]] = {
        "coverage province (legacy)": lambda c: coverage(c, Level.PROVINCE, Structure.LEGACY),
        "coverage district (legacy)": lambda c: coverage(c, Level.DISTRICT, Structure.LEGACY),
        "coverage ward (legacy)": lambda c: coverage(c, Level.WARD, Structure.LEGACY),
        "coverage province (2025)": lambda c: coverage(c, Level.PROVINCE, Structure.CURRENT),
        "coverage ward (2025)": lambda c: coverage(c, Level.WARD, Structure.CURRENT),
        "coverage ward by age and sex": lambda c: coverage(
            c, Level.WARD, Structure.LEGACY, by=("age_band", "sex")
        ),
        "headline (province)": lambda c: headline(c, province),
        "drill-down province -> districts": lambda c: drill_down(c, province),
        "doses per day (province)": lambda c: doses_series(c, province),
        "doses per day and vaccine": lambda c: doses_series(c, province, by_vaccine=True),
        "backlog per ward": lambda c: backlog(c, province),
    }
    out["answers_ms"] = {}
    with engine.connect() as conn:
        for name, fn in questions.items():
            first, median = _timed(lambda fn=fn: fn(conn))
            out["answers_ms"][name] = {"first": round(first, 1), "median": round(median, 1)}
        h = headline(conn, province)
        out["headline"] = {k: v for k, v in h.as_dict().items() if k != "refreshed_at"}
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--citizens", type=int, default=1_200_000)
    ap.add_argument("--doses", type=int, default=3_000_000, help="top up to this many records with boosters")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=Path("/tmp/bench-stats"))
    ap.add_argument("--sqlite", type=Path, help="SQLite file to create (deleted first)")
    ap.add_argument("--postgres", help="server URL; a fresh database is created on it and dropped after")
    ap.add_argument("--measure-only", metavar="URL", help="only refresh and answer on this loaded database")
    args = ap.parse_args()
    if args.measure_only:
        _report(measure(args.measure_only))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    _simulate(args.data, args.citizens, args.seed)
    if args.postgres:
        url, drop = fresh_pg(args.postgres, "stats")
        try:
            _report(run(url, args.data, args.doses, args.seed))
        finally:
            drop()
    if args.sqlite:
        args.sqlite.unlink(missing_ok=True)
        _report(run(f"sqlite:///{args.sqlite.resolve()}", args.data, args.doses, args.seed))


def _report(r: dict[str, Any]) -> None:
    """Printed as soon as a backend is done: a long run keeps what it measured."""
    print(json.dumps(r, ensure_ascii=False, indent=1))
    print(
        f"\n{r['backend']}: {r['citizens']:,} citizens, {r['records_latest']:,} dose records · "
        f"refresh_status {r['refresh_status_s']} s · refresh_statistics {r['refresh_statistics_s']} s"
    )
    for name, v in r["answers_ms"].items():
        print(f"  {name:<36} first {v['first']:>8.1f} ms   median {v['median']:>8.1f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

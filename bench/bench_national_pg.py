"""Benchmark: the register at national size in PostgreSQL: the access paths' plans and lookup-by-ID latency.

    uv run python bench/bench_national_pg.py --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres \
        --citizens 20000000 [--doses 4000000] [--lookups 20000] [--keep]

Creates a database, migrates it, and fills it set-based inside PostgreSQL (generate_series; no Python
loop): citizens spread over the real wards of every province, a quarter with an old CMND alias, dose
records and match results, open cases, and the statistics cells. Then it prints the EXPLAIN (ANALYZE) of
each real access path (lookup by personal ID, by alias, a ward's worklist, a citizen's doses, a unit's
coverage) and times lookups by ID from one client with a prepared statement: p50, p99, max.
Generated identity data follows the shape of the real data (12-digit numbers, names with diacritics),
not its rules: the paths and their indexes are what is measured.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid

import psycopg
from sqlalchemy import create_engine, text

FILL = [
    (
        "citizen",
        """INSERT INTO citizen (id, personal_id, full_name, name_key, family_name, middle_name, given_name,
            birth_date, birth_precision, birth_year, sex, permanent_ward_code, permanent_units, current_ward_code,
            current_units, address, phone, household_id, status, row_hash, version, created_at, updated_at)
        SELECT i,
          -- a bijection of i onto 11 digits (7919 is prime to 10^11): unique, scattered numbers
          '0' || lpad(((i * 7919) % 100000000000)::text, 11, '0'),
          f.n || ' ' || m.n || ' ' || g.n, lower(f.k || ' ' || m.k || ' ' || g.k), f.n, m.n, g.n,
          DATE '1930-01-01' + CAST(i * 37 % 32000 AS INTEGER), 'day', 1930 + CAST(i * 37 % 32000 AS INTEGER) / 365, CASE WHEN i % 2 = 0 THEN 'M' ELSE 'F' END,
          w.code, 'legacy', w.code, 'legacy', NULL, '09' || lpad((i % 100000000)::text, 8, '0'),
          'H' || (i / 4), 'active', md5(i::text), 1, now(), now()
        FROM generate_series(CAST(1 AS BIGINT), :n) i
        JOIN (SELECT row_number() OVER (ORDER BY code) - 1 AS k, code FROM admin_unit
              WHERE structure = 'legacy' AND level = 'ward') w ON w.k = i % :wards
        JOIN (VALUES (0, 'Nguyễn', 'nguyen'), (1, 'Trần', 'tran'), (2, 'Lê', 'le'), (3, 'Phạm', 'pham'),
                     (4, 'Hoàng', 'hoang'), (5, 'Huỳnh', 'huynh'), (6, 'Phan', 'phan'), (7, 'Vũ', 'vu'))
             f(k8, n, k) ON f.k8 = i % 8
        JOIN (VALUES (0, 'Văn', 'van'), (1, 'Thị', 'thi'), (2, 'Minh', 'minh'), (3, 'Ngọc', 'ngoc'),
                     (4, 'Đức', 'duc')) m(k5, n, k) ON m.k5 = (i / 8) % 5
        JOIN (VALUES (0, 'An', 'an'), (1, 'Bình', 'binh'), (2, 'Hùng', 'hung'), (3, 'Lan', 'lan'),
                     (4, 'Hương', 'huong'), (5, 'Tuấn', 'tuan'), (6, 'Dũng', 'dung'), (7, 'Mai', 'mai'),
                     (8, 'Khôi', 'khoi'), (9, 'Thảo', 'thao'), (10, 'Phúc', 'phuc')) g(k11, n, k)
             ON g.k11 = (i / 40) % 11""",
    ),
    (
        "citizen_alias",
        """INSERT INTO citizen_alias (citizen_id, alias, kind, created_at)
        SELECT i, lpad(((i * 104729) % 1000000000)::text, 9, '0'), 'cmnd', now()
        FROM generate_series(CAST(1 AS BIGINT), :n, 4) i""",
    ),
    (
        "batch",
        """INSERT INTO batch (id, source, checksum, file_name, status, rows_total, created_at)
        VALUES (1, 'bench', 'x', 'bench.csv', 'done', :doses, now())""",
    ),
    (
        "dose_record",
        """INSERT INTO dose_record (id, batch_id, source, record_id, version, is_latest, line_no, full_name,
            date_of_birth, vaccination_date, dose_number, vaccine, vaccine_code)
        SELECT j, 1, 'bench', 'R' || j, 1, true, j, 'x', '1990-01-01', DATE '2021-06-01' + CAST(j % 400 AS INTEGER), 1 + j % 3,
               'Pfizer', 'EU/1/20/1528'
        FROM generate_series(CAST(1 AS BIGINT), :doses) j""",
    ),
    (
        "match_result",
        """INSERT INTO match_result (dose_record_id, outcome, citizen_id, candidate_citizen_id, score, reasons,
            flags, ward_code, ward_units, decided_at, version)
        SELECT j, CASE WHEN j % 40 = 0 THEN 'review' ELSE 'linked' END,
               CASE WHEN j % 40 <> 0 THEN 1 + (j * 7) % :n END, CASE WHEN j % 40 = 0 THEN 1 + (j * 7) % :n END,
               0.99, '', '', c.current_ward_code, 'legacy', now(), 1
        FROM generate_series(CAST(1 AS BIGINT), :doses) j JOIN citizen c ON c.id = 1 + (j * 7) % :n""",
    ),
    (
        "work_case",
        """INSERT INTO work_case (kind, status, priority, ward_code, ward_units, province_code, dose_record_id,
            citizen_id, created_at, due_at, version)
        SELECT 'conflict', 'open', 2, m.ward_code, 'legacy', left(m.ward_code, 2), m.dose_record_id,
               m.candidate_citizen_id, now() - (m.dose_record_id % 30) * interval '1 day', now(), 1
        FROM match_result m WHERE m.outcome = 'review'""",
    ),
]

PATHS = {
    "lookup by personal ID": "SELECT id, full_name, birth_year FROM citizen WHERE personal_id = '{pid}'",
    "lookup by old CMND": "SELECT c.id FROM citizen_alias a JOIN citizen c ON c.id = a.citizen_id WHERE a.alias = '{alias}'",
    "a citizen's doses": """SELECT d.vaccination_date, d.dose_number FROM match_result m JOIN dose_record d
        ON d.id = m.dose_record_id WHERE m.citizen_id = {cid} AND m.outcome IN ('linked', 'confirmed')""",
    "a ward's worklist (first page)": """SELECT id, kind, priority, created_at FROM work_case
        WHERE ward_units = 'legacy' AND ward_code = '{ward}' AND status = 'open'
        ORDER BY priority DESC, created_at LIMIT 50""",
    "a ward's residents": "SELECT count(*) FROM citizen WHERE current_units = 'legacy' AND current_ward_code = '{ward}'",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--postgres", required=True)
    ap.add_argument("--citizens", type=int, default=20_000_000)
    ap.add_argument("--doses", type=int, default=2_000_000)
    ap.add_argument("--lookups", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    a = ap.parse_args()

    from vaxlink.services.operations.schema import upgrade_database
    from vaxlink.settings import load_settings

    name = f"vaxlink_national_{uuid.uuid4().hex[:6]}"
    admin = create_engine(a.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = a.postgres.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade_database(load_settings(database_url=url))
        engine = create_engine(url)
        with engine.begin() as conn:
            wards = conn.execute(
                text("SELECT count(*) FROM admin_unit WHERE structure = 'legacy' AND level = 'ward'")
            ).scalar_one()
            conn.exec_driver_sql("SET maintenance_work_mem = '1GB'")
            # A first load of this size builds its indexes once afterwards, as `registry import` does.
            indexes = conn.execute(
                text("""SELECT i.tablename, i.indexname, i.indexdef, c.contype FROM pg_indexes i
                LEFT JOIN pg_constraint c ON c.conname = i.indexname
                WHERE i.schemaname = 'public' AND i.tablename IN ('citizen', 'citizen_alias', 'dose_record',
                  'match_result', 'work_case')""")
            ).all()
            for table, name, _, contype in indexes:
                if contype:
                    conn.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}" CASCADE')
                else:
                    conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
            for table, sql in FILL:
                t = time.perf_counter()
                conn.execute(text(sql), {"n": a.citizens, "doses": a.doses, "wards": wards})
                print(f"fill {table:<14} {time.perf_counter() - t:8.1f} s")
            conn.exec_driver_sql(
                "SELECT setval(pg_get_serial_sequence('citizen', 'id'), (SELECT max(id) FROM citizen))"
            )
            t = time.perf_counter()
            for table, name, definition, contype in indexes:
                if contype in ("p", "u"):
                    cols = definition.split(" USING btree ", 1)[1]
                    kind = "PRIMARY KEY" if contype == "p" else "UNIQUE"
                    conn.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {kind} {cols}')
                else:
                    conn.exec_driver_sql(definition)
            print(f"indexes and keys     {time.perf_counter() - t:8.1f} s ({len(indexes)})")
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            t = time.perf_counter()
            conn.exec_driver_sql("VACUUM ANALYZE")
            print(f"vacuum analyze       {time.perf_counter() - t:8.1f} s")
            size = conn.exec_driver_sql(
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            ).scalar()
            print(f"database size: {size}")
        engine.dispose()

        rng = random.Random(7)
        pg_url = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(pg_url, autocommit=True) as pc:
            sample = {
                "pid": pc.execute(
                    "SELECT personal_id FROM citizen WHERE id = %s", (a.citizens // 3,)
                ).fetchone()[0],  # type: ignore[index]
                "alias": pc.execute("SELECT alias FROM citizen_alias LIMIT 1 OFFSET 1000").fetchone()[0],  # type: ignore[index]
                "cid": a.citizens // 5,
                "ward": pc.execute(
                    "SELECT ward_code FROM work_case GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                ).fetchone()[0],  # type: ignore[index]
            }
            for label, sql in PATHS.items():
                plan = pc.execute(
                    "EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF) " + sql.format(**sample)
                ).fetchall()
                print(f"\n== {label}")
                for (line,) in plan:
                    print("   " + line)
            # Lookups by ID of random citizens, one client, a prepared statement (as the lookup endpoint does).
            ids = [rng.randint(1, a.citizens) for _ in range(a.lookups)]
            pids = ["0" + str((i * 7919) % 100_000_000_000).rjust(11, "0") for i in ids]
            cur = pc.cursor()
            times = []
            for pid in pids:
                t = time.perf_counter()
                cur.execute(
                    "SELECT c.full_name, c.birth_year, s.status, s.last_dose_date FROM citizen c "
                    "LEFT JOIN citizen_status s ON s.citizen_id = c.id WHERE c.personal_id = %s",
                    (pid,),
                    prepare=True,
                )
                row = cur.fetchone()
                times.append((time.perf_counter() - t) * 1000)
                assert row is not None
            times.sort()
            print(
                f"\nlookup by ID over {a.citizens:,} citizens, {a.lookups:,} random lookups: "
                f"p50 {statistics.median(times):.3f} ms · p99 {times[int(len(times) * 0.99)]:.3f} ms · "
                f"max {times[-1]:.3f} ms"
            )
    finally:
        if not a.keep:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

"""Worklist and case page server time on PostgreSQL with a large register and many open cases.

Fills a fresh database set-based (generate_series): N citizens spread over the wards of province 77,
one dose record and match result per case, N/20 open cases (the issue's 1 M / 50 k ratio), then times,
in-process through the whole web stack (FastAPI TestClient, so routing, auth by bearer token, the
jurisdiction clause, the audit event and rendering are all counted, the network is not):
the busiest ward's worklist (JSON and page), its second page, the district supervisor's worklist, and
a case page. Prints median and p95 of R repetitions.

    ./scripts/with-postgres uv run python bench/bench_workbench.py --citizens 1000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from sqlalchemy import create_engine, text

from vaxlink.domain.permissions import Level, Role
from vaxlink.services.access.auth import open_session
from vaxlink.services.access.users import create_user, issue_token
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.services.operations.schema import sync_reference_data
from vaxlink.settings import load_settings
from vaxlink.storage.db import make_engine, transaction, upgrade
from vaxlink.storage.scope import Scope
from vaxlink.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def fill(engine, citizens: int, cases: int) -> None:
    with engine.begin() as c:
        c.exec_driver_sql("""CREATE TEMP TABLE wards AS
            SELECT row_number() OVER (ORDER BY code) - 1 AS i, code, parent_code FROM admin_unit
            WHERE structure = 'legacy' AND level = 'ward' AND province_code = '77'""")
        n_wards = c.exec_driver_sql("SELECT count(*) FROM wards").scalar()
        # Skewed over wards (a square law): some wards carry far more than others, like real ones.
        c.exec_driver_sql(f"""INSERT INTO citizen (personal_id, full_name, name_key, family_name, middle_name,
              given_name, birth_date, birth_precision, birth_year, sex, permanent_ward_code, permanent_units,
              current_ward_code, current_units, address, phone, status, row_hash, version, created_at, updated_at)
            SELECT lpad(g::text, 12, '0'), 'Nguyễn Văn An ' || g, 'nguyen van an ' || g, 'Nguyễn', 'Văn', 'An',
              date '1950-01-01' + mod(g, 20000), 'day', extract(year FROM date '1950-01-01' + mod(g, 20000))::int,
              CASE WHEN mod(g, 2) = 0 THEN 'M' ELSE 'F' END, w.code, 'legacy', w.code, 'legacy', 'Số ' || g,
              NULL, 'active', md5(g::text), 1, now(), now()
            FROM generate_series(1, {citizens}) g
            JOIN wards w ON w.i = floor({n_wards} * power(mod(g::bigint * 7919, 100003) / 100003.0, 2))::int""")
        c.exec_driver_sql("""INSERT INTO batch (source, checksum, file_name, status, rows_total, created_at)
            VALUES ('bench', 'x', 'bench.csv', 'done', 0, now())""")
        c.exec_driver_sql(f"""INSERT INTO dose_record (batch_id, source, record_id, version, is_latest, line_no,
              full_name, date_of_birth, sex, id_number, ward_code, vaccination_date, dose_number, vaccine, vaccine_code)
            SELECT 1, 'bench', 'R' || g, 1, true, g, 'NGUYEN VAN AN ' || g, '01/01/1980', 'Nam', NULL,
              NULL, date '2021-09-01', 1, 'AstraZeneca', 'EU/1/21/1529'
            FROM generate_series(1, {cases}) g""")
        c.exec_driver_sql(f"""INSERT INTO match_result (dose_record_id, outcome, candidate_citizen_id, score, reasons,
              flags, ward_code, ward_units, decided_at, version)
            SELECT d.id, 'review', k.id, 0.7, 'NAME_DIACRITICS;DOB_TYPO', '', k.current_ward_code, 'legacy', now(), 1
            FROM dose_record d JOIN citizen k ON k.id = mod(d.line_no * 17, {citizens}) + 1""")
        c.exec_driver_sql("""INSERT INTO work_case (kind, status, priority, ward_code, ward_units, province_code,
              dose_record_id, citizen_id, details, created_at, due_at, version)
            SELECT CASE WHEN mod(m.dose_record_id, 3) = 0 THEN 'unmatched' ELSE 'conflict' END, 'open',
              CASE WHEN mod(m.dose_record_id, 3) = 0 THEN 1 ELSE 2 END, m.ward_code, 'legacy', '77', m.dose_record_id,
              m.candidate_citizen_id,
              json_build_object('candidates', json_build_array(json_build_object('citizen_id', m.candidate_citizen_id,
                'weight', 4.5, 'id', 'ID_MISSING', 'name', 'NAME_DIACRITICS', 'dob', 'DOB_TYPO', 'sex', 'SEX_SAME',
                'ward', 'WARD_MISSING'))),
              now() - mod(m.dose_record_id, 90) * interval '1 day', now() + interval '7 days', 1
            FROM match_result m""")
        c.exec_driver_sql("ANALYZE")


def timed(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm the caches and the plan
    xs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t) * 1000)
    xs.sort()
    return statistics.median(xs), xs[max(0, int(len(xs) * 0.95) - 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--citizens", type=int, default=100_000)
    ap.add_argument("--cases", type=int, default=None, help="open cases (default citizens / 20)")
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    cases = args.cases or args.citizens // 20
    server = os.environ["VAXLINK_TEST_POSTGRES_URL"]
    name = f"vaxlink_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp())
    settings = load_settings(database_url=url, audit_key_file=tmp / "audit.key", work_dir=tmp)
    engine = make_engine(url)
    try:
        upgrade(engine)
        with transaction(engine) as s:
            sync_reference_data(s)
        t = time.perf_counter()
        fill(engine, args.citizens, cases)
        print(
            f"filled {args.citizens:,} citizens and {cases:,} open cases in {time.perf_counter() - t:.1f} s"
        )
        with engine.connect() as c:
            ward, n = c.execute(
                text("""SELECT ward_code, count(*) FROM work_case WHERE status = 'open'
                GROUP BY 1 ORDER BY 2 DESC LIMIT 1""")
            ).one()
            district = c.execute(
                text(
                    "SELECT parent_code FROM admin_unit WHERE structure = 'legacy' AND level = 'ward' AND code = :w"
                ),
                {"w": ward},
            ).scalar()
            case_id = c.execute(
                text("SELECT max(id) FROM work_case WHERE ward_code = :w"), {"w": ward}
            ).scalar()
        with transaction(engine) as s:
            bind_key(s, load_key(settings.audit_key_file))
            officer = create_user(
                s,
                username="officer",
                display_name="officer",
                role=Role.WARD_OFFICER,
                scope=Scope(Level.WARD, "legacy", ward),
                password=None,
            )
            create_user(
                s,
                username="district",
                display_name="district",
                role=Role.SUPERVISOR,
                scope=Scope(Level.DISTRICT, "legacy", district),
                password=None,
            )
            tok = issue_token(s, "officer", "bench")
            dtok = issue_token(s, "district", "bench")
            raw, _ = open_session(s, settings, officer)
        app = create_app(settings, engine)
        with TestClient(app) as client:
            h = {"authorization": f"Bearer {tok}"}
            first = client.get("/api/v1/cases", headers=h).json()
            cursor = first["next_cursor"]
            runs = {
                f"worklist JSON, ward {ward} ({n:,} open cases)": lambda: client.get(
                    "/api/v1/cases", headers=h
                ),
                "worklist JSON, second page": lambda: client.get(f"/api/v1/cases?cursor={cursor}", headers=h),
                "worklist JSON, filtered by reason": lambda: client.get(
                    "/api/v1/cases?reason=DOB_TYPO&kind=conflict", headers=h
                ),
                "worklist page (HTML)": lambda: client.get("/cases", cookies={"vaxlink_session": raw}),
                f"worklist JSON, district {district} supervisor": lambda: client.get(
                    "/api/v1/cases", headers={"authorization": f"Bearer {dtok}"}
                ),
                "case JSON": lambda: client.get(f"/api/v1/cases/{case_id}", headers=h),
                "case page (HTML)": lambda: client.get(f"/cases/{case_id}", cookies={"vaxlink_session": raw}),
            }
            print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
            for label, fn in runs.items():
                assert fn().status_code == 200, label
                med, p95 = timed(fn, args.repeat)
                verdict = "met" if med <= 100 else "NOT MET"
                print(f"{label:<55} median {med:6.1f} ms   p95 {p95:6.1f} ms   target ≤ 100 ms: {verdict}")
            print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        engine.dispose()
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()

"""Benchmark: verifier status lookups over HTTP against a large register in PostgreSQL.

    uv run --group bench python bench/bench_lookup.py --citizens 1000000 --seconds 30 \
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Without --postgres it starts a throwaway cluster (fsync on, as in production) and removes it afterwards.
Citizens and their status rows are generated with set-based SQL; a verifier user gets a bearer token and
a rate limit raised out of the way. Then, one after the other, two servers (one uvicorn process each,
pinned to core 0 with taskset) are loaded for --seconds by a second process pinned to core 1 (a small
asyncio HTTP/1.1 client with keep-alive connections; half the requests carry a chip card's QR text, half
the bare number):

- `vaxlink`: POST /api/v1/lookup/status of the real app: token, permission, rate limit, the lookup and
  its audit event, committed before the answer;
- `reference`: plain Starlette + asyncpg doing the same SELECT, nothing else.

PostgreSQL is not pinned (it shares both cores). Printed: requests/s, p50/p99/max latency, errors, and
for the real endpoint whether every answered lookup left its audit event.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

DB_NAME = "vaxlink_bench_lookup"
WARD, UNITS = "26560", "legacy"

CITIZENS_SQL = """
INSERT INTO citizen (id, personal_id, full_name, name_key, family_name, middle_name, given_name,
  birth_date, birth_precision, birth_year, sex, permanent_ward_code, permanent_units, current_ward_code,
  current_units, address, phone, row_hash, version, status, created_at, updated_at)
SELECT g,
  '077' || ((CASE WHEN extract(year FROM b) >= 2000 THEN 2 ELSE 0 END) + (CASE WHEN g %% 2 = 0 THEN 0 ELSE 1 END))::text
    || to_char(b, 'YY') || lpad(((g - 1) %% 1000000)::text, 6, '0'),
  f || ' ' || m || ' ' || gn, lower(f || ' ' || m || ' ' || gn),
  f, m, gn, b, 'day', extract(year FROM b)::int, CASE WHEN g %% 2 = 0 THEN 'M' ELSE 'F' END,
  %(ward)s, %(units)s, %(ward)s, %(units)s, 'Số ' || g || ', đường Lê Lợi', NULL, md5(g::text), 1, 'active',
  now(), now()
FROM (SELECT g,
  (ARRAY['Nguyễn','Trần','Lê','Phạm','Hoàng','Huỳnh','Phan','Vũ','Võ','Đặng'])[1 + g %% 10] AS f,
  (ARRAY['Văn','Thị','Minh','Ngọc','Đức','Thu'])[1 + (g / 10) %% 6] AS m,
  (ARRAY['An','Bình','Cường','Dũng','Hà','Lan','Mai','Tú','Hùng','Thảo','Long','Nhung'])[1 + (g / 60) %% 12] AS gn,
  date '1940-01-01' + (g * 37 %% 28000)::int AS b
  FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g) x
"""
STATUS_ROWS_SQL = """
INSERT INTO citizen_status (citizen_id, doses, first_dose_date, last_dose_date, complete_date, boosters,
  status, updated_at)
SELECT g, 2 + g %% 2, date '2021-08-01', date '2021-09-01' + ((g %% 2) * 180)::int, date '2021-09-01', g %% 2,
  CASE WHEN g %% 2 = 1 THEN 'booster' ELSE 'complete' END, now()
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) g WHERE g %% 10 <> 0
"""


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


# --- a throwaway cluster --------------------------------------------------------------------------


class Cluster:
    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise SystemExit("no PostgreSQL server binaries; pass --postgres URL")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="bench-lookup-pg-"))
        self.port = free_port()
        self.root = os.getuid() == 0
        if self.root:
            shutil.chown(self.dir, "postgres")

    def _as_pg(self, *cmd: str) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self.root else list(cmd)
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL)

    def start(self) -> str:
        self._as_pg(
            str(self.bin / "initdb"),
            "-D",
            f"{self.dir}/data",
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        opts = (
            f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 -c shared_buffers=1GB "
            "-c max_connections=200"
        )
        self._as_pg(
            str(self.bin / "pg_ctl"),
            "-D",
            f"{self.dir}/data",
            "-l",
            f"{self.dir}/log",
            "-w",
            "start",
            "-o",
            opts,
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._as_pg(str(self.bin / "pg_ctl"), "-D", f"{self.dir}/data", "-m", "fast", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- the data -------------------------------------------------------------------------------------


def prepare(server_url: str, citizens: int, work: Path) -> tuple[str, str]:
    """A fresh database with the schema, `citizens` citizens (90 % vaccinated) and a verifier's token."""
    import psycopg
    from sqlalchemy import create_engine, text

    from vaxlink.domain.permissions import Level, Role
    from vaxlink.services.audit import bind_key, load_key
    from vaxlink.services.schema import sync_reference_data
    from vaxlink.services.users import create_user, issue_token
    from vaxlink.storage.db import make_engine, transaction, upgrade
    from vaxlink.storage.scope import Scope

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        c.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    url = server_url.rsplit("/", 1)[0] + "/" + DB_NAME
    engine = make_engine(url)
    upgrade(engine)
    key_file = work / "audit.key"
    with transaction(engine) as s:
        bind_key(s, load_key(key_file))
        sync_reference_data(s)
    t = time.perf_counter()
    conninfo = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(conninfo, autocommit=True) as pg:
        step = 250_000
        for lo in range(1, citizens + 1, step):
            hi = min(citizens, lo + step - 1)
            with pg.transaction():
                pg.execute(CITIZENS_SQL, {"lo": lo, "hi": hi, "ward": WARD, "units": UNITS})
                pg.execute(STATUS_ROWS_SQL, {"lo": lo, "hi": hi})
        pg.execute("SELECT setval(pg_get_serial_sequence('citizen', 'id'), %(n)s)", {"n": citizens})
        pg.execute("VACUUM ANALYZE citizen")
        pg.execute("VACUUM ANALYZE citizen_status")
    print(f"data: {citizens:,} citizens + status rows in {time.perf_counter() - t:.1f} s", flush=True)
    with transaction(engine) as s:
        bind_key(s, load_key(key_file))
        create_user(
            s,
            username="checkpoint_77",
            display_name="Chốt kiểm tra 77",
            role=Role.VERIFIER,
            scope=Scope(Level.PROVINCE, UNITS, "77"),
            password=None,
            actor="bench",
        )
        token = issue_token(s, "checkpoint_77", "bench", actor="bench")
    engine.dispose()
    return url, token


def count_events(url: str, action: str) -> int:
    from sqlalchemy import text

    from vaxlink.storage.db import make_engine

    engine = make_engine(url)
    with engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM audit_event WHERE action = :a"), {"a": action}).scalar_one()
    engine.dispose()
    return int(n)


# --- the servers ------------------------------------------------------------------------------------


def serve_vaxlink(url: str, port: int, work: Path) -> None:
    import uvicorn

    from vaxlink.settings import load_settings
    from vaxlink.web.app import create_app

    settings = load_settings(
        database_url=url,
        work_dir=work,
        audit_key_file=work / "audit.key",
        lookup_rate_per_minute=100_000_000,  # the load is one user; the limit is not what is measured
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_reference(url: str, port: int) -> None:
    import asyncpg
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from vaxlink.services.lookup import STATUS_SQL

    sql = STATUS_SQL.replace(":pid", "$1")
    dsn = url.replace("postgresql+psycopg", "postgresql")
    pool: Any = None

    async def noop_reset(conn: Any) -> None:
        return None

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> Any:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=8, max_size=8, reset=noop_reset)
        yield
        await pool.close()

    async def status(request: Request) -> JSONResponse:
        body = await request.json()
        raw = str(body.get("text", ""))
        pid = raw.split("|", 1)[0] if "|" in raw else raw
        async with pool.acquire() as conn:
            row = await conn.fetchrow(sql, pid)
        if row is None:
            return JSONResponse({"found": False}, 404)
        return JSONResponse(
            {
                "found": True,
                "name": row[1],
                "birth_year": row[2],
                "doses": row[4],
                "last_dose_date": row[6].isoformat() if row[6] else None,
            }
        )

    app = Starlette(
        routes=[
            Route("/ref/status", status, methods=["POST"]),
            Route("/healthz", lambda r: JSONResponse({"ok": True})),
        ],
        lifespan=lifespan,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wait_ready(port: int, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on {port} did not start")


# --- the load ---------------------------------------------------------------------------------------


def person(g: int) -> tuple[str, str]:
    """(personal id, chip card QR text) of generated citizen g, as CITIZENS_SQL makes them."""
    born = dt.date(1940, 1, 1) + dt.timedelta(days=g * 37 % 28000)
    female = g % 2 == 1
    century = (2 if born.year >= 2000 else 0) + (1 if female else 0)
    pid = f"077{century}{born.year % 100:02d}{(g - 1) % 1_000_000:06d}"
    sex = "Nữ" if female else "Nam"
    return pid, f"{pid}||Nguyễn Văn An|{born:%d%m%Y}|{sex}|Số {g}, đường Lê Lợi|01072021"


async def _load(
    port: int, path: str, token: str, seconds: float, warmup: float, connections: int, citizens: int
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    answered_total = 0
    errors = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    rng = random.Random(7)
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""

    async def worker() -> None:
        nonlocal errors, answered_total
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                break
            i = rng.randint(1, citizens)
            pid, qr = person(i)
            text = qr if rng.random() < 0.5 else pid
            body = json.dumps({"text": text}, ensure_ascii=False).encode()
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
            ).encode()
            t0 = time.perf_counter()
            try:
                writer.write(head + auth + b"\r\n" + body)
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:].strip())
                await reader.readexactly(length)
                status = int(status_line.split()[1])
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            t1 = time.perf_counter()
            answered_total += status in (200, 404)
            if t0 >= measure_from:
                latencies.append(t1 - t0)
                statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    latencies.sort()
    n = len(latencies)
    ok = statuses.get(200, 0)
    return {
        "requests": n,
        "rps": n / seconds,
        "p50_ms": 1000 * latencies[n // 2] if n else None,
        "p99_ms": 1000 * latencies[min(n - 1, int(n * 0.99))] if n else None,
        "max_ms": 1000 * latencies[-1] if n else None,
        "mean_ms": 1000 * statistics.fmean(latencies) if n else None,
        "statuses": statuses,
        "errors": errors + (n - ok),
        "answered_total": answered_total,
    }


def run_load(args: argparse.Namespace) -> None:
    r = asyncio.run(
        _load(args.port, args.path, args.token, args.seconds, args.warmup, args.connections, args.citizens)
    )
    print(json.dumps(r))


def child(cmd: list[str], core: int) -> subprocess.Popen[str]:
    taskset = shutil.which("taskset")
    full = ([taskset, "-c", str(core)] if taskset else []) + [sys.executable, __file__, *cmd]
    return subprocess.Popen(full, stdout=subprocess.PIPE, text=True)


def measure(
    name: str, server_cmd: list[str], port: int, path: str, token: str, args: argparse.Namespace, url: str
) -> dict[str, Any]:
    server = child(server_cmd, 0)
    try:
        wait_ready(port)
        before = count_events(url, "status_lookup") if name == "vaxlink" else 0
        load = child(
            [
                "load",
                "--port",
                str(port),
                "--path",
                path,
                "--token",
                token,
                "--seconds",
                str(args.seconds),
                "--warmup",
                str(args.warmup),
                "--connections",
                str(args.connections),
                "--citizens",
                str(args.citizens),
            ],
            1,
        )
        out, _ = load.communicate()
        result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if name == "vaxlink":
        result["audit_events"] = count_events(url, "status_lookup") - before
    return result


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    s = sub.add_parser("serve")
    s.add_argument("--db")
    s.add_argument("--port", type=int)
    s.add_argument("--work", type=Path)
    r = sub.add_parser("serve-reference")
    r.add_argument("--db")
    r.add_argument("--port", type=int)
    ld = sub.add_parser("load")
    for a, t in (
        ("--port", int),
        ("--path", str),
        ("--token", str),
        ("--seconds", float),
        ("--warmup", float),
        ("--connections", int),
        ("--citizens", int),
    ):
        ld.add_argument(a, type=t)
    p.add_argument("--citizens", type=int, default=1_000_000, help="at most 1,000,000")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--warmup", type=float, default=3)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--postgres", help="a server URL (postgresql+psycopg://...); else a throwaway cluster")
    args = p.parse_args()
    if args.cmd == "serve":
        serve_vaxlink(args.db, args.port, args.work)
        return
    if args.cmd == "serve-reference":
        serve_reference(args.db, args.port)
        return
    if args.cmd == "load":
        run_load(args)
        return

    cluster = None if args.postgres else Cluster()
    server_url = args.postgres or (cluster.start() if cluster else "")
    work = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    try:
        url, token = prepare(server_url, args.citizens, work)
        port = free_port()
        print(
            f"load: {args.connections} connections, {args.seconds:.0f} s after {args.warmup:.0f} s warm-up; "
            "server on core 0, load generator on core 1, PostgreSQL unpinned",
            flush=True,
        )
        results = {
            "vaxlink": measure(
                "vaxlink",
                ["serve", "--db", url, "--port", str(port), "--work", str(work)],
                port,
                "/api/v1/lookup/status",
                token,
                args,
                url,
            ),
        }
        port = free_port()
        results["reference"] = measure(
            "reference",
            ["serve-reference", "--db", url, "--port", str(port)],
            port,
            "/ref/status",
            "",
            args,
            url,
        )
        print(f"\n{'endpoint':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}  statuses")
        for name, res in results.items():
            print(
                f"{name:<12}{res['rps']:>9.0f}{res['p50_ms']:>9.1f}{res['p99_ms']:>9.1f}{res['max_ms']:>9.1f}"
                f"{res['errors']:>8}  {res['statuses']}"
            )
        v, ref = results["vaxlink"], results["reference"]
        answered = v["statuses"].get("200", 0)
        print(f"\nvaxlink / reference throughput: {100 * v['rps'] / ref['rps']:.0f} %")
        print(
            f"audit events written during the vaxlink run: {v['audit_events']:,} for "
            f"{v['answered_total']:,} lookups answered (warm-up included; {answered:,} in the measured window)"
        )
        print(json.dumps({"citizens": args.citizens, **results}))
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

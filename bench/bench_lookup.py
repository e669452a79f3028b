"""Benchmark: verifier status lookups over HTTP against a large register in PostgreSQL, alone or while an
ingest runs.

    uv run --group bench python bench/bench_lookup.py --citizens 1000000 --seconds 60 [--during-ingest] \
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Without --postgres it starts a throwaway cluster (fsync on, as in production) and removes it afterwards.
Citizens and their status rows are generated with set-based SQL; a verifier user gets a bearer token and
a rate limit raised out of the way (the limiter still runs on every request). Two servers run side by
side, one process each, both pinned to core 0 with taskset:

- `vaxlink`: POST /api/v1/lookup/status of the real app, served as `vaxlink serve` serves it
  (`vaxlink.web.server.run`): token, permission, rate limit, the lookup and its audit event, committed
  before the answer;
- `reference`: plain Starlette + asyncpg doing the same SELECT, nothing else, on the same uvicorn.

The load comes from a second process pinned to core 1: wrk (`apt-get install wrk`; a Lua script sends
half the requests with a chip card's QR text, half with the bare number, over keep-alive connections),
or, without wrk, a small asyncio HTTP/1.1 client. The two endpoints are loaded in alternating slices
(`--slice` seconds, `--seconds` in all for each), so that both see the same machine: the same other work
and, with --during-ingest, the same phases of the ingest. PostgreSQL is not pinned unless --pg-core is
given (a throwaway cluster only).

--during-ingest simulates dose batches (`vaxlink simulate`, --ingest-citizens per batch) and runs
`vaxlink doses ingest` on them one after the other in another process (not pinned: it shares both
cores) against the same database, waits until the ingest is in its work (its transaction open for
--ingest-lead seconds), then loads both endpoints; an ingest still running at the end is stopped (its
transaction rolls back).

`--workers N` serves each endpoint with N processes (`vaxlink serve --workers N`; uvicorn's workers for the
reference), not pinned. `--rate R` loads with the asyncio client at R requests per second in all (open
load: a request's latency counts from when it was due), for latency at a stated rate rather than at
saturation, where it is the connections divided by the throughput.

Printed: requests/s, p50/p95/p99/max latency, errors, the server's CPU time per request, the ratio of
the two throughputs, audit events counted against lookups answered, load average, and which core ran
what. The last line is the whole result as JSON.
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
    def __init__(self, core: int | None = None) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise SystemExit("no PostgreSQL server binaries; pass --postgres URL")
        self.bin = bins[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="bench-lookup-pg-"))
        self.port = free_port()
        self.root = os.getuid() == 0
        self.core = core
        if self.root:
            shutil.chown(self.dir, "postgres")

    def _as_pg(self, *cmd: str, pin: bool = False) -> None:
        full = ["runuser", "-u", "postgres", "--", *cmd] if self.root else list(cmd)
        if pin and self.core is not None:
            full = ["taskset", "-c", str(self.core), *full]  # the server and every backend it forks
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
            pin=True,
        )
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def postmaster(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.dir / "data" / "postmaster.pid").read_text().split()[0])
        return None

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
    from vaxlink.services.access.users import create_user, issue_token
    from vaxlink.services.audit.log import bind_key, load_key
    from vaxlink.services.operations.schema import sync_reference_data
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


def _scalar(url: str, sql: str, params: dict[str, Any] | None = None) -> Any:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as pg:
        row = pg.execute(sql, params or {}).fetchone()
    return None if row is None else row[0]


def count_events(url: str, action: str) -> int:
    return int(_scalar(url, "SELECT count(*) FROM audit_event WHERE action = %(a)s", {"a": action}))


def chain_ok(url: str, work: Path) -> tuple[bool, int]:
    """The audit chain walked end to end (hash, link, MAC of every event)."""
    from vaxlink.services.audit.log import load_key, verify_chain
    from vaxlink.storage.db import make_engine

    engine = make_engine(url)
    with engine.connect() as c:
        report = verify_chain(c, load_key(work / "audit.key"))
    engine.dispose()
    return report.ok, report.events


# --- the servers ------------------------------------------------------------------------------------


def serve_vaxlink(url: str, port: int, work: Path, workers: int = 1) -> None:
    from vaxlink.settings import load_settings
    from vaxlink.web.app import create_app
    from vaxlink.web.server import run

    options = {
        "database_url": url,
        "work_dir": work,
        "audit_key_file": work / "audit.key",
        # The load is one user of one organisation; the limits are not what is measured (they still run).
        "lookup_rate_per_minute": 100_000_000,
        "lookup_org_rate_per_minute": 100_000_000,
    }
    if workers > 1:
        # `vaxlink serve --workers N`: each worker builds its app from the environment's settings.
        os.environ.update({f"VAXLINK_{k.upper()}": str(v) for k, v in options.items()})
        run(None, "127.0.0.1", port, log_level="warning", access_log=False, workers=workers)
        return
    run(create_app(load_settings(**options)), "127.0.0.1", port, log_level="warning", access_log=False)


def serve_reference(url: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from vaxlink.web.server import server_options

    os.environ["REFERENCE_DSN"] = url.replace("postgresql+psycopg", "postgresql")
    if workers > 1:
        uvicorn.run(
            "bench_lookup:reference_app",
            factory=True,
            app_dir=str(Path(__file__).parent),
            host="127.0.0.1",
            port=port,
            workers=workers,
            timeout_worker_healthcheck=120,
            log_level="warning",
            access_log=False,
            **server_options(),
        )
        return
    uvicorn.run(
        reference_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        **server_options(),
    )


def reference_app() -> Any:
    """The reference: the same SELECT on asyncpg behind plain Starlette (uvicorn's factory for workers)."""
    import asyncpg
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from vaxlink.services.lookup.answer import STATUS_SQL

    sql = STATUS_SQL.replace(":pid", "$1")
    dsn = os.environ["REFERENCE_DSN"]
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

    return Starlette(
        routes=[
            Route("/ref/status", status, methods=["POST"]),
            Route("/healthz", lambda r: JSONResponse({"ok": True})),
        ],
        lifespan=lifespan,
    )


def wait_ready(port: int, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on {port} did not start")


# --- the load ---------------------------------------------------------------------------------------


FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Đức", "Thu")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Lan", "Mai", "Tú", "Hùng", "Thảo", "Long", "Nhung")


def person(g: int) -> tuple[str, str, str]:
    """(personal id, chip card QR text, birth date) of generated citizen g, as CITIZENS_SQL makes them: a
    lookup presents what agrees with the register (the card's name, birth date and sex; or the number and
    the birth date)."""
    born = dt.date(1940, 1, 1) + dt.timedelta(days=g * 37 % 28000)
    female = g % 2 == 1
    century = (2 if born.year >= 2000 else 0) + (1 if female else 0)
    pid = f"077{century}{born.year % 100:02d}{(g - 1) % 1_000_000:06d}"
    sex = "Nữ" if female else "Nam"
    name = f"{FAMILY[g % 10]} {MIDDLE[(g // 10) % 6]} {GIVEN[(g // 60) % 12]}"
    return pid, f"{pid}||{name}|{born:%d%m%Y}|{sex}|Số {g}, đường Lê Lợi|01072021", born.isoformat()


def write_bodies(path: Path, citizens: int, n: int = 50_000, seed: int = 7) -> None:
    """Request bodies of random citizens, half by QR text, half by number, one JSON a line."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        for _ in range(n):
            pid, qr, born = person(rng.randint(1, citizens))
            body = {"text": qr} if rng.random() < 0.5 else {"text": pid, "date_of_birth": born}
            f.write(json.dumps(body, ensure_ascii=False) + "\n")


# wrk's side: a random body per request; at the end the summary and the latency at 1,000 evenly spaced
# quantiles (wrk's Lua API gives quantiles, not the histogram), from which the slices' distributions are
# added up, each weighted by its number of requests.
QUANTILES = 1000
WRK_SCRIPT = r"""
local bodies = {}
for line in io.lines(os.getenv("LOOKUP_BODIES")) do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("LOOKUP_TOKEN") or ""
if token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local path = os.getenv("LOOKUP_PATH")
local seed = tonumber(os.getenv("LOOKUP_SEED") or "1")
init = function(args) math.randomseed(seed) end
request = function() return wrk.format(nil, path, nil, bodies[math.random(#bodies)]) end
done = function(summary, latency, requests)
  local e = summary.errors
  local q = {}
  for i = 0, 999 do q[#q + 1] = string.format("%.0f", latency:percentile((i + 0.5) / 10)) end
  io.write(string.format('{"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"max_us":%.0f,"quantiles_us":[%s]}\n', summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout, latency.max, table.concat(q, ",")))
end
"""


def quantiles_of(latencies_us: list[int], n: int = QUANTILES) -> list[int]:
    s = sorted(latencies_us)
    return [s[min(len(s) - 1, int((i + 0.5) / n * len(s)))] for i in range(n)] if s else []


async def _py_load(
    port: int,
    path: str,
    token: str,
    seconds: float,
    connections: int,
    bodies: list[bytes],
    rate: float = 0.0,
) -> dict[str, Any]:
    """The fallback client: keep-alive HTTP/1.1 on asyncio, one request at a time per connection. With a
    `rate` (requests per second in all) the load is open: request j is due at start + j / rate, and its
    latency counts from when it was due, so that a server falling behind shows as latency rather than as
    fewer requests sent (no coordinated omission); `connections` bounds how many are in flight."""
    latencies: list[int] = []
    requests = errors_status = errors_io = 0
    start = time.perf_counter()
    stop_at = start + seconds
    rng = random.Random(7)
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    due = iter(range(1 << 62))

    async def worker() -> None:
        nonlocal requests, errors_status, errors_io
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop_at:
            body = bodies[rng.randrange(len(bodies))]
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n"
            ).encode()
            t0 = time.perf_counter()
            if rate > 0:
                t0 = start + next(due) / rate
                if t0 >= stop_at:
                    break
                if t0 > time.perf_counter():
                    await asyncio.sleep(t0 - time.perf_counter())
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
                errors_io += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            latencies.append(int((time.perf_counter() - t0) * 1e6))
            requests += 1
            errors_status += not 200 <= status < 400
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return {
        "requests": requests,
        "duration_us": int((time.perf_counter() - start) * 1e6),
        "connect": 0,
        "read": errors_io,
        "write": 0,
        "status": errors_status,
        "timeout": 0,
        "max_us": max(latencies, default=0),
        "quantiles_us": quantiles_of(latencies),
    }


def run_py_load(args: argparse.Namespace) -> None:
    bodies = [line.encode() for line in Path(args.bodies).read_text(encoding="utf-8").splitlines()]
    r = asyncio.run(
        _py_load(args.port, args.path, args.token, args.seconds, args.connections, bodies, args.rate or 0.0)
    )
    print(json.dumps(r))


class Loader:
    """One slice of load on one endpoint from core 1: wrk when installed, else the asyncio client."""

    def __init__(self, work: Path, bodies: Path, connections: int, client: str, rate: float = 0.0) -> None:
        self.wrk = shutil.which("wrk") if client in ("auto", "wrk") and not rate else None
        if client == "wrk" and (self.wrk is None or rate):
            raise SystemExit(
                "wrk is not installed (apt-get install wrk), or --rate asked (the asyncio client's)"
            )
        self.rate = rate
        self.script = work / "lookup.lua"
        self.script.write_text(WRK_SCRIPT)
        self.bodies = bodies
        self.connections = connections
        self.slices = 0

    @property
    def name(self) -> str:
        if self.wrk:
            return "wrk (1 thread)"
        return f"asyncio client (open load, {self.rate:g} req/s)" if self.rate else "asyncio client"

    def run(self, port: int, path: str, token: str, seconds: float) -> tuple[dict[str, Any], float]:
        """The slice's result and the load generator's CPU seconds."""
        self.slices += 1
        if self.wrk:
            cmd = [self.wrk, "-t1", f"-c{self.connections}", f"-d{seconds:g}s", "--timeout", "10s"]
            cmd += ["-s", str(self.script), f"http://127.0.0.1:{port}"]
        else:
            cmd = [sys.executable, __file__, "load", "--port", str(port), "--path", path, "--token", token]
            cmd += ["--seconds", str(seconds), "--connections", str(self.connections), "--bodies"]
            cmd += [str(self.bodies), "--rate", str(self.rate)]
        env = {
            **os.environ,
            "LOOKUP_BODIES": str(self.bodies),
            "LOOKUP_TOKEN": token,
            "LOOKUP_PATH": path,
            "LOOKUP_SEED": str(self.slices),
        }
        before = os.times()
        out = subprocess.run(
            ["taskset", "-c", "1", *cmd], env=env, check=True, capture_output=True, text=True
        ).stdout
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        return json.loads(out.strip().splitlines()[-1]), cpu


# --- CPU accounting ---------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, with_children: bool = False) -> float:
    """User + system CPU of a process (and of its children, live and reaped) from /proc."""
    total = 0.0
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / TICK
        if with_children:
            total += (int(fields[13]) + int(fields[14])) / TICK
            for child in _children(pid):
                total += cpu_seconds(child, True)
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the ingest ---------------------------------------------------------------------------------------

VAXLINK = [sys.executable, "-c", "from vaxlink.cli.main import main; main()"]  # `vaxlink` of this interpreter


class Ingest:
    """`vaxlink doses ingest` of the prepared batches, one after the other, in another process."""

    def __init__(self, url: str, work: Path, batches: list[Path]) -> None:
        self.env = {
            **os.environ,
            "VAXLINK_DATABASE_URL": url,
            "VAXLINK_WORK_DIR": str(work / "ingest-work"),
            "VAXLINK_AUDIT_KEY_FILE": str(work / "audit.key"),
        }
        self.pending = list(batches)
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.done: list[dict[str, Any]] = []
        self.cpu = 0.0  # CPU seconds of the ingest processes (sampled: a lower bound)
        self.sampled = 0.0
        self.cmd = VAXLINK

    def _start_next(self) -> bool:
        if not self.pending:
            return False
        batch = self.pending.pop(0)
        self.started_at = time.perf_counter()
        self.current = batch
        self.sampled = 0.0
        self.proc = subprocess.Popen(
            [*self.cmd, "doses", "ingest", str(batch), "--source", "bench"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return True

    def start(self) -> None:
        self._start_next()

    def tick(self) -> None:
        """Start the next batch when one has finished (CPU sampled while it runs)."""
        if self.proc is not None and self.proc.poll() is None:
            self.sampled = cpu_seconds(self.proc.pid, with_children=True)
        elif self.proc is not None:
            self.cpu += self.sampled
            self.done.append(
                {
                    "batch": self.current.parent.name,
                    "seconds": round(time.perf_counter() - self.started_at, 1),
                    "exit": self.proc.returncode,
                }
            )
            self.proc = None
            self._start_next()

    def running(self) -> bool:
        self.tick()
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.cpu += cpu_seconds(self.proc.pid, with_children=True)
            self.proc.send_signal(signal.SIGINT)  # its transaction rolls back
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.done.append(
                {
                    "batch": self.current.parent.name,
                    "seconds": round(time.perf_counter() - self.started_at, 1),
                    "exit": "stopped",
                }
            )
        self.proc = None


def in_its_work(url: str, ingest: Ingest, lead: float, timeout: float = 900) -> float:
    """Wait until the ingest has held its transaction open for `lead` seconds; the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if not ingest.running():
            raise SystemExit("the ingest ended before the load began; use more --ingest-citizens")
        age = _scalar(
            url,
            "SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "AND backend_type = 'client backend'",
        )
        if float(age) >= lead:
            return time.perf_counter() - t0
        time.sleep(0.5)
    raise SystemExit("the ingest did not get to its work")


def simulate_batches(data: Path, citizens: int, count: int) -> list[Path]:
    """Dose batches of simulated provinces (cached under `data`), one per seed."""
    out = []
    for seed in range(1, count + 1):
        d = data / f"ingest-{citizens}-s{seed}"
        doses = d / "doses.csv"
        if not doses.exists():
            t = time.perf_counter()
            subprocess.run(
                [*VAXLINK, "simulate", "--citizens", str(citizens), "--seed", str(seed), "--out", str(d)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(f"simulated batch {d.name} in {time.perf_counter() - t:.1f} s", flush=True)
        if not doses.exists():
            found = sorted(d.glob("dose*.csv"))
            if not found:
                raise SystemExit(f"no dose file in {d}")
            doses = found[0]
        out.append(doses)
    return out


# --- the run ------------------------------------------------------------------------------------------


def percentile(weighted: list[tuple[int, float]], q: float) -> float | None:
    """The q-quantile (ms) of the slices' quantile points, each weighing its slice's requests / 1,000."""
    total = sum(w for _, w in weighted)
    if not total:
        return None
    seen = 0.0
    for us, w in weighted:
        seen += w
        if seen >= q * total:
            return us / 1000
    return weighted[-1][0] / 1000


def summarise(slices: list[dict[str, Any]], server_cpu: float, client_cpu: float) -> dict[str, Any]:
    weighted = sorted(
        (us, s["requests"] / len(s["quantiles_us"]))
        for s in slices
        if s["quantiles_us"]
        for us in s["quantiles_us"]
    )
    requests = sum(s["requests"] for s in slices)
    seconds = sum(s["duration_us"] for s in slices) / 1e6
    errors = {k: sum(s[k] for s in slices) for k in ("connect", "read", "write", "status", "timeout")}
    return {
        "requests": requests,
        "seconds": round(seconds, 1),
        "rps": requests / seconds if seconds else 0.0,
        "p50_ms": percentile(weighted, 0.50),
        "p95_ms": percentile(weighted, 0.95),
        "p99_ms": percentile(weighted, 0.99),
        "max_ms": max((s["max_us"] for s in slices), default=0) / 1000,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_ms_per_request": round(1000 * server_cpu / requests, 3) if requests else None,
        "client_cpu_s": round(client_cpu, 2),
        "slices": len(slices),
    }


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
    for a, typ in (
        ("--port", int),
        ("--path", str),
        ("--token", str),
        ("--seconds", float),
        ("--connections", int),
        ("--bodies", str),
        ("--rate", float),
    ):
        ld.add_argument(a, type=typ)
    s.add_argument("--workers", type=int, default=1)
    r.add_argument("--workers", type=int, default=1)
    p.add_argument("--citizens", type=int, default=1_000_000, help="at most 1,000,000")
    p.add_argument("--seconds", type=float, default=60, help="measured seconds per endpoint")
    p.add_argument("--slice", type=float, default=10, help="seconds of one slice (endpoints alternate)")
    p.add_argument("--warmup", type=float, default=5, help="unmeasured seconds per endpoint first")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument(
        "--workers", type=int, default=1, help="server processes of each endpoint (above 1: both cores)"
    )
    p.add_argument(
        "--rate", type=float, default=0.0, help="open load at this many requests per second (asyncio client)"
    )
    p.add_argument("--postgres", help="a server URL (postgresql+psycopg://...); else a throwaway cluster")
    p.add_argument("--pg-core", type=int, help="pin the throwaway cluster to this core (default: not pinned)")
    p.add_argument("--during-ingest", action="store_true", help="load while `vaxlink doses ingest` runs")
    p.add_argument("--ingest-citizens", type=int, default=500_000, help="simulated citizens per batch")
    p.add_argument("--ingest-batches", type=int, default=3, help="batches ready to ingest one after another")
    p.add_argument("--ingest-lead", type=float, default=20, help="seconds of ingest before the load")
    p.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench-lookup")
    args = p.parse_args()
    if args.cmd == "serve":
        serve_vaxlink(args.db, args.port, args.work, args.workers)
        return
    if args.cmd == "serve-reference":
        serve_reference(args.db, args.port, args.workers)
        return
    if args.cmd == "load":
        run_py_load(args)
        return
    if os.cpu_count() is None or os.cpu_count() < 2 or not shutil.which("taskset"):  # type: ignore[operator]
        raise SystemExit("needs two cores and taskset")

    batches: list[Path] = []
    if args.during_ingest:
        args.data.mkdir(parents=True, exist_ok=True)
        batches = simulate_batches(args.data, args.ingest_citizens, args.ingest_batches)
    cluster = None if args.postgres else Cluster(args.pg_core)
    server_url = args.postgres or (cluster.start() if cluster else "")
    work = Path(tempfile.mkdtemp(prefix="bench-lookup-"))
    servers: list[subprocess.Popen[bytes]] = []
    ingest: Ingest | None = None
    try:
        url, token = prepare(server_url, args.citizens, work)
        bodies = work / "bodies.jsonl"
        write_bodies(bodies, args.citizens)
        loader = Loader(work, bodies, args.connections, args.client, args.rate)
        ports = {"vaxlink": free_port(), "reference": free_port()}
        workers = ["--workers", str(args.workers)]
        # One process each: both pinned to core 0 (the load on core 1). Several: on both cores, as served.
        pin = ["taskset", "-c", "0"] if args.workers == 1 else []
        for _name, cmd in (
            (
                "vaxlink",
                ["serve", "--db", url, "--port", str(ports["vaxlink"]), "--work", str(work), *workers],
            ),
            ("reference", ["serve-reference", "--db", url, "--port", str(ports["reference"]), *workers]),
        ):
            servers.append(subprocess.Popen([*pin, sys.executable, __file__, *cmd]))
        for port in ports.values():
            wait_ready(port)
        endpoints = {
            "vaxlink": (ports["vaxlink"], "/api/v1/lookup/status", token),
            "reference": (ports["reference"], "/ref/status", ""),
        }
        pids = {"vaxlink": servers[0].pid, "reference": servers[1].pid}
        waited = 0.0
        if args.during_ingest:
            ingest = Ingest(url, work, batches)
            ingest.start()
            waited = in_its_work(url, ingest, args.ingest_lead)
            print(f"ingest in its work after {waited:.0f} s; load begins", flush=True)
        pg_layout = (
            f"PostgreSQL on core {args.pg_core}"
            if cluster is not None and args.pg_core is not None
            else "PostgreSQL not pinned (both cores)"
        )
        placed = (
            "both servers on core 0 (one process each)"
            if args.workers == 1
            else f"{args.workers} processes per server, not pinned (both cores)"
        )
        layout = f"{placed}; load generator {loader.name} on core 1; {pg_layout}" + (
            "; the ingest not pinned (both cores)" if args.during_ingest else ""
        )
        print(
            f"load: {args.connections} connections, {args.seconds:.0f} s per endpoint in slices of "
            f"{args.slice:.0f} s, alternating, after {args.warmup:.0f} s of warm-up each; {layout}",
            flush=True,
        )
        load_before = loadavg()
        events_before = count_events(url, "status_lookup")
        for port, path, tok in endpoints.values():
            loader.run(port, path, tok, args.warmup)
        warm = count_events(url, "status_lookup") - events_before
        slices: dict[str, list[dict[str, Any]]] = {"vaxlink": [], "reference": []}
        server_cpu = {"vaxlink": 0.0, "reference": 0.0}
        client_cpu = {"vaxlink": 0.0, "reference": 0.0}
        ingest_overlap = {"vaxlink": 0.0, "reference": 0.0}
        remaining = args.seconds
        t_load = time.perf_counter()
        while remaining > 1e-6:
            length = min(args.slice, remaining)
            for name, (port, path, tok) in endpoints.items():
                c0 = cpu_seconds(pids[name], args.workers > 1)
                busy_before = ingest.running() if ingest else False
                result, ccpu = loader.run(port, path, tok, length)
                busy_after = ingest.running() if ingest else False
                server_cpu[name] += cpu_seconds(pids[name], args.workers > 1) - c0
                client_cpu[name] += ccpu
                slices[name].append(result)
                ingest_overlap[name] += length * (busy_before + busy_after) / 2
                print(
                    f"  {name:<10} slice {len(slices[name])}: {result['requests'] / length:7.0f} req/s"
                    + (f"  (ingest running: {busy_before and busy_after})" if ingest else ""),
                    flush=True,
                )
            remaining -= length
        load_seconds = time.perf_counter() - t_load
        load_after = loadavg()
        time.sleep(1)  # the last group commit of requests still in flight when the load stopped
        events = count_events(url, "status_lookup") - events_before - warm
        ingest_report: dict[str, Any] | None = None
        if ingest is not None:
            still = ingest.running()
            ingest.stop()
            ingest_report = {
                "batches": ingest.done,
                "running_through_the_load": still,
                "lead_s": round(waited, 1),
                "ingest_cpu_s_at_least": round(ingest.cpu, 1),
                "overlap_share": {k: round(v / args.seconds, 3) for k, v in ingest_overlap.items()},
            }
        for server in servers:
            server.send_signal(signal.SIGINT)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        servers = []
        ok, walked = chain_ok(url, work)
        results = {name: summarise(slices[name], server_cpu[name], client_cpu[name]) for name in slices}
        v, ref = results["vaxlink"], results["reference"]
        answered = v["requests"] - v["error_kinds"]["status"]
        print(
            f"\n{'endpoint':<12}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
            f"{'server CPU':>12}{'CPU/req ms':>12}"
        )
        for name, res in results.items():
            print(
                f"{name:<12}{res['rps']:>9.0f}{res['p50_ms']:>9.1f}{res['p95_ms']:>9.1f}{res['p99_ms']:>9.1f}"
                f"{res['max_ms']:>9.1f}{res['errors']:>8}{res['server_cpu_s']:>11.1f}s"
                f"{res['server_cpu_ms_per_request']:>12.3f}"
            )
        ratio = v["rps"] / ref["rps"] if ref["rps"] else 0.0
        print(f"\nvaxlink / reference throughput: {100 * ratio:.0f} %")
        print(
            f"audit events of the measured slices: {events:,} for {answered:,} lookups answered "
            f"(at most {args.connections} more per slice may have been in flight when a slice stopped); "
            f"chain verified: {'ok' if ok else 'BROKEN'} ({walked:,} events)"
        )
        print(f"load average before / after: {load_before} / {load_after}; load phase {load_seconds:.0f} s")
        if ingest_report is not None:
            print(f"ingest: {json.dumps(ingest_report)}")
        print(
            json.dumps(
                {
                    "citizens": args.citizens,
                    "during_ingest": args.during_ingest,
                    "layout": layout,
                    "connections": args.connections,
                    "workers": args.workers,
                    "rate": args.rate,
                    "ratio": round(ratio, 3),
                    "audit_events": events,
                    "answered": answered,
                    "chain_ok": ok,
                    "loadavg": [load_before, load_after],
                    "ingest": ingest_report,
                    **results,
                }
            )
        )
    finally:
        if ingest is not None:
            ingest.stop()
        for server in servers:
            server.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=30)
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

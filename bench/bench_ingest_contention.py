"""Benchmark: do pages and lookups keep answering while a large batch is ingested through the upload page?

    uv run python bench/bench_ingest_contention.py --citizens 60000 [--postgres URL] [--backends sqlite,postgresql]

Per backend: a fresh database, the simulated register (`vaxlink simulate`), a first tenth of the dose file
ingested with the command line (so that wards have worklists and citizens statuses), then the real server
(`vaxlink serve`: uvicorn, one process) started. Two clients run side by side, each one request at a
time: a ward officer's worklist page (`GET /cases`) and a verifier's status lookup (`POST
/api/v1/lookup/status`, number and birth date). They run `--baseline` seconds with nothing else, then the
rest of the dose file (about 100 k records for 60 000 citizens) is uploaded through `POST /batches` and
they go on until the server's worker has finished the batch. Printed per backend and phase: requests,
p50/p99/max latency, errors, the upload's own answer time and the ingest's wall time, beside the target:
pages and lookups keep answering during an ingest (p99 within a few seconds, no errors). The last line is
every figure as JSON. Without --postgres, the PostgreSQL run uses VAXLINK_TEST_POSTGRES_URL when set
(`./scripts/with-postgres uv run python bench/...`).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DB_NAME = "vaxlink_bench_contention"
TARGET_P99_S = 5.0
VAXLINK = str(Path(sys.executable).with_name("vaxlink"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vaxlink(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [VAXLINK, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"vaxlink {' '.join(args[:2])} failed: {out.stderr[-2000:]}")
    return out.stdout


def simulate(citizens: int, data: Path, env: dict[str, str]) -> Path:
    sim = data / f"sim-{citizens}"
    if not (sim / "doses.csv").exists():
        vaxlink(
            env,
            "simulate",
            "--province",
            "77",
            "--citizens",
            str(citizens),
            "--seed",
            "16",
            "--out",
            str(sim),
        )
    return sim


def split_doses(sim: Path, work: Path) -> tuple[Path, Path, int]:
    """The first tenth of the dose file (ingested beforehand) and the rest (uploaded while measuring)."""
    lines = (sim / "doses.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    head, rows = lines[0], lines[1:]
    cut = len(rows) // 10
    first, rest = work / "first.csv", work / "rest.csv"
    first.write_text(head + "".join(rows[:cut]), encoding="utf-8")
    rest.write_text(head + "".join(rows[cut:]), encoding="utf-8")
    return first, rest, len(rows) - cut


def people(sim: Path, n: int = 2000) -> tuple[list[tuple[str, str]], str]:
    """(personal id, birth date) of register entries with a full birth date, and the busiest ward."""
    found: list[tuple[str, str]] = []
    wards: dict[str, int] = {}
    with (sim / "register.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            wards[row["permanent_ward_code"]] = wards.get(row["permanent_ward_code"], 0) + 1
            dob = row["date_of_birth"]
            if len(dob) == 10 and dob[4] == "-":
                found.append((row["personal_id"], dob))
    random.Random(16).shuffle(found)
    return found[:n], max(wards, key=lambda k: wards[k])


def token_of(output: str) -> str:
    words = [w for w in output.split() if len(w) >= 30 and w.isascii()]
    if not words:
        raise SystemExit(f"no token in: {output[-400:]}")
    return words[-1]


class Load(threading.Thread):
    """One client, one request at a time, keep-alive; latencies tagged with the phase they began in."""

    def __init__(self, port: int, name: str, make: Any, phase: list[str]) -> None:
        super().__init__(daemon=True, name=name)
        self.port, self.make, self.phase = port, make, phase
        self.samples: list[tuple[str, float, bool]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        while not self.stop.is_set():
            method, path, body, headers, ok = self.make()
            phase = self.phase[0]
            t = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                good = r.status in ok
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
                good = False
            self.samples.append((phase, time.perf_counter() - t, good))


def figures(samples: list[tuple[str, float, bool]], phase: str) -> dict[str, Any]:
    xs = sorted(s for p, s, _ in samples if p == phase)
    errors = sum(1 for p, _, ok in samples if p == phase and not ok)
    if not xs:
        return {"n": 0, "errors": errors}
    q = statistics.quantiles(xs, n=100, method="inclusive") if len(xs) > 1 else [xs[0]] * 99
    return {"n": len(xs), "p50": q[49], "p99": q[98], "max": xs[-1], "errors": errors}


def multipart(path: Path) -> tuple[bytes, str]:
    boundary = "vaxlinkbench" + os.urandom(8).hex()
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return (
        head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def run_backend(
    name: str, url: str, sim: Path, work: Path, baseline: float, base_env: dict[str, str]
) -> dict[str, Any]:
    env = {
        **base_env,
        "VAXLINK_DATABASE_URL": url,
        "VAXLINK_WORK_DIR": str(work / "work"),
        "VAXLINK_AUDIT_KEY_FILE": str(work / "keys" / "audit.key"),
        "VAXLINK_LOOKUP_RATE_PER_MINUTE": "1000000",
        "VAXLINK_LOOKUP_ORG_RATE_PER_MINUTE": "1000000",
    }
    first, rest, rows = split_doses(sim, work)
    who, ward = people(sim)
    t = time.perf_counter()
    vaxlink(env, "db", "upgrade")
    vaxlink(env, "registry", "import", str(sim / "register.csv"))
    vaxlink(env, "doses", "ingest", str(first))
    prepared = time.perf_counter() - t
    vaxlink(
        env,
        "users",
        "add",
        "bench_ward",
        "--role",
        "ward_officer",
        "--level",
        "ward",
        "--code",
        ward,
        "--no-password",
    )
    vaxlink(
        env,
        "users",
        "add",
        "bench_verifier",
        "--role",
        "verifier",
        "--level",
        "province",
        "--code",
        "77",
        "--no-password",
    )
    vaxlink(
        env,
        "users",
        "add",
        "bench_health",
        "--role",
        "health_officer",
        "--level",
        "province",
        "--code",
        "77",
        "--no-password",
    )
    tokens = {
        u: token_of(vaxlink(env, "users", "token", u))
        for u in ("bench_ward", "bench_verifier", "bench_health")
    }

    port = free_port()
    server = subprocess.Popen(
        [VAXLINK, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.3)
        phase = ["baseline"]
        rnd = random.Random(1)

        def worklist() -> Any:
            return ("GET", "/cases", None, {"authorization": f"Bearer {tokens['bench_ward']}"}, (200,))

        def lookup() -> Any:
            pid, dob = rnd.choice(who)
            body = json.dumps({"text": pid, "date_of_birth": dob})
            headers = {
                "authorization": f"Bearer {tokens['bench_verifier']}",
                "content-type": "application/json",
            }
            return ("POST", "/api/v1/lookup/status", body, headers, (200, 404))

        loads = [Load(port, "worklist", worklist, phase), Load(port, "lookup", lookup, phase)]
        for ld in loads:
            ld.start()
        time.sleep(baseline)
        phase[0] = "ingest"
        body, ctype = multipart(rest)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        t0 = time.perf_counter()
        conn.request(
            "POST",
            "/batches",
            body=body,
            headers={"authorization": f"Bearer {tokens['bench_health']}", "content-type": ctype},
        )
        r = conn.getresponse()
        r.read()
        upload_answer = time.perf_counter() - t0
        if r.status != 303:
            raise SystemExit(f"upload answered {r.status}")
        batch_id = int(r.getheader("location", "/0").rsplit("/", 1)[1])
        status = "staging"
        while status not in ("done", "failed"):
            time.sleep(1.0)
            conn.request(
                "GET",
                f"/api/v1/batches/{batch_id}",
                headers={"authorization": f"Bearer {tokens['bench_health']}"},
            )
            resp = conn.getresponse()
            status = json.loads(resp.read()).get("status", "?")
        ingest_s = time.perf_counter() - t0
        for ld in loads:
            ld.stop.set()
        for ld in loads:
            ld.join(300)
    finally:
        server.terminate()
        server.wait(30)
    out: dict[str, Any] = {
        "backend": name,
        "records": rows,
        "prepare_s": round(prepared, 1),
        "upload_answer_s": round(upload_answer, 3),
        "ingest_s": round(ingest_s, 1),
        "batch_status": status,
    }
    for ld in loads:
        for ph in ("baseline", "ingest"):
            out[f"{ld.name}_{ph}"] = {
                k: round(v, 4) if isinstance(v, float) else v for k, v in figures(ld.samples, ph).items()
            }
    return out


def pg_database(server_url: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        c.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + DB_NAME


def show(r: dict[str, Any]) -> None:
    print(
        f"\n== {r['backend']}: {r['records']:,} records uploaded; upload answered in {r['upload_answer_s']:.3f} s; "
        f"ingested in {r['ingest_s']:.1f} s ({r['batch_status']})"
    )
    print(f"{'endpoint':<10} {'phase':<9} {'n':>6} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9} {'errors':>6}")
    for ep in ("worklist", "lookup"):
        for ph in ("baseline", "ingest"):
            f = r[f"{ep}_{ph}"]
            if not f.get("n"):
                print(f"{ep:<10} {ph:<9} {0:>6}")
                continue
            print(
                f"{ep:<10} {ph:<9} {f['n']:>6} {f['p50'] * 1000:>9.1f} {f['p99'] * 1000:>9.1f} {f['max'] * 1000:>9.1f} {f['errors']:>6}"
            )
    ok = all(
        r[f"{ep}_ingest"].get("n", 0) > 0
        and r[f"{ep}_ingest"].get("p99", 1e9) <= TARGET_P99_S
        and not r[f"{ep}_ingest"].get("errors")
        for ep in ("worklist", "lookup")
    )
    print(
        f"target: pages and lookups keep answering during the ingest (p99 ≤ {TARGET_P99_S:.0f} s, no errors): "
        f"{'met' if ok else 'NOT met'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--citizens", type=int, default=60_000)
    ap.add_argument("--baseline", type=float, default=20.0, help="seconds measured before the upload")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--postgres", default=os.environ.get("VAXLINK_TEST_POSTGRES_URL", ""))
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vaxlink-bench-contention")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("VAXLINK_")}
    sim = simulate(args.citizens, args.data, base_env)
    results = []
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        work = Path(tempfile.mkdtemp(prefix=f"contention-{backend}-", dir=args.data))
        try:
            if backend == "sqlite":
                url = f"sqlite:///{work / 'vaxlink.db'}"
            elif args.postgres:
                url = pg_database(args.postgres)
            else:
                print("postgresql: skipped (no --postgres and no VAXLINK_TEST_POSTGRES_URL)")
                continue
            r = run_backend(backend, url, sim, work, args.baseline, base_env)
            show(r)
            results.append(r)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

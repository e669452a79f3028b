"""Benchmark: 1 M audit events written by the chain's own code, then `vaxlink audit verify` over them.

    uv run python bench/bench_audit.py [--events 1000000] [--workers 1 2] [--sqlite FILE] \
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres] [--tamper]

The database is migrated as `vaxlink db upgrade` does it (SQLite: a file in a temporary directory unless
--sqlite names one; PostgreSQL: a fresh database created on the server and dropped afterwards). The
first 1,000 events are written by `services.audit.log.record`, the path of every command and page; the next
1,000 by `services.audit.log.append_group`, the verifier lookups' grouped path; the rest, `--group` per
transaction, as rows made by that path's own `chain_rows` (timestamp, canonical form, hash, link, MAC)
with one bulk INSERT per group (COPY on PostgreSQL). Verification then proves that all three wrote one
chain. The events look
like the real ones: status lookups, worklists with their case ids, case views, links with an officer's
note in Vietnamese, denials.

Then, in a child process, `vaxlink audit head` exports the head and `vaxlink audit verify --head FILE
--workers N` walks the whole chain, once for each N of --workers (default 1 and 2): wall time, CPU time
(user + system of the command and its worker processes, start-up included; on PostgreSQL the server's
own work is not in it), events per second and the largest peak RSS of one process. With --tamper one
event in the middle is then altered as an attacker with the owner's rights would (the append-only
trigger disabled first) and the command is run again: it must exit 1 and name the event.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess  # nosec B404
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, func, select, text

from benchdb import fresh_pg
from vaxlink.services.audit import log as audit
from vaxlink.services.audit.log import append_group, chain_rows
from vaxlink.services.lookup.group_audit import AuditItem
from vaxlink.storage.db import make_engine, transaction, upgrade
from vaxlink.storage.models import AuditEvent

WARDS = [f"ward:legacy:{26500 + i}" for i in range(40)]
# Events written by `audit.record`, then as many by `append_group`, before the bulk path takes over.
FIRST_BY_RECORD = 1_000


def _items(start: int, n: int) -> Iterator[AuditItem]:
    """Events of the kinds the application writes, in the proportions of a working day."""
    for i in range(start, start + n):
        ward = WARDS[i % len(WARDS)]
        officer = f"phuong_{i % 97:02d}"
        kind = i % 20
        if kind < 12:
            yield AuditItem(
                f"checkpoint_{i % 13}",
                "status_lookup",
                "citizen",
                1_000_000 + (i * 7919) % 1_200_000,
                "province:77",
                None,
                {"found": i % 50 != 0, "via": "qr" if i % 3 else "id"},
            )
        elif kind < 14:
            cases = [(i * 31 + k * 17) % 50_000 for k in range(25)]
            yield AuditItem(officer, "case_list_viewed", "case", None, ward, None, {"cases": cases})
        elif kind < 17:
            yield AuditItem(
                officer,
                "case_viewed",
                "case",
                i % 50_000,
                ward,
                None,
                {"citizens": [i % 1_200_000, (i * 3) % 1_200_000], "dose_record_id": i},
            )
        elif kind < 19:
            yield AuditItem(
                officer,
                "case_linked",
                "case",
                i % 50_000,
                ward,
                "Đã đối chiếu CCCD gắn chip tại bộ phận một cửa; ngày sinh trong hồ sơ y tế bị đảo ngày/tháng",
                {"citizen_id": i % 1_200_000, "dose_record_id": i},
            )
        else:
            yield AuditItem(officer, "access_denied", "route", "/api/v1/cases", ward, "scope", None)


def _store(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: one COPY (the JSON as json.dumps writes it, as SQLAlchemy's JSON type does); SQLite:
    SQLAlchemy's executemany, so that timestamps and JSON are stored by the model's own types."""
    if conn.dialect.name != "postgresql":
        conn.execute(AuditEvent.__table__.insert(), rows)
        return
    from psycopg.types.json import Json

    cols = list(rows[0])
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY audit_event ({', '.join(cols)}) FROM STDIN") as copy:  # type: ignore[union-attr]
        for r in rows:
            copy.write_row([Json(r[c]) if c == "details" else r[c] for c in cols])


def write_events(url: str, key: bytes, events: int, group: int) -> dict[str, float]:
    """The first events by `audit.record` (the path of every command and page), the next group by
    `lookup.append_group` (the verifier lookups' grouped path), the rest in groups of `group` per
    transaction by the same steps with a bulk INSERT (COPY on PostgreSQL). Verification then proves
    that the three interleave in one chain."""
    engine = make_engine(url)
    t0, c0 = time.perf_counter(), time.process_time()
    first = min(FIRST_BY_RECORD, events)
    with transaction(engine) as s:
        audit.bind_key(s, key)
        for it in _items(0, first):
            audit.record(
                s,
                actor=it.actor,
                action=it.action,
                resource_type=it.resource_type,
                resource_id=it.resource_id,
                jurisdiction=it.jurisdiction,
                reason=it.reason,
                details=it.details,
            )
    done = first
    if done < events:
        n = min(FIRST_BY_RECORD, events - done)
        with transaction(engine) as s:
            append_group(s, key, list(_items(done, n)))
        done += n
    last_report = time.perf_counter()
    while done < events:
        n = min(group, events - done)
        with engine.begin() as conn:
            prev = conn.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
            _store(conn, chain_rows(prev, key, list(_items(done, n))))
        done += n
        if time.perf_counter() - last_report > 15:
            last_report = time.perf_counter()
            rate = done / (last_report - t0)
            print(f"  … {done:,} events written ({rate:,.0f}/s)", flush=True)
    with engine.connect() as c:
        stored = int(c.execute(select(func.count()).select_from(AuditEvent)).scalar_one())
    engine.dispose()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert stored == events, (stored, events)
    return {"wall_s": wall, "cpu_s": cpu, "events": stored}


def _vaxlink() -> list[str]:
    exe = Path(sys.executable).with_name("vaxlink")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "vaxlink.cli.main"]


def run_cli(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run one `vaxlink` command in a child process: its wall time, CPU time and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([*_vaxlink(), *args], env=env, capture_output=True, text=True, check=False)  # nosec B603
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of the children is the largest of them so far; verification is the largest one here.
    return {
        "rc": done.returncode,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": after.ru_maxrss / 1024,
        "out": done.stdout + done.stderr,
    }


def tamper(url: str, event_id: int) -> None:
    """Alter one stored event the way someone with the owner's rights could: the append-only trigger
    first disabled (PostgreSQL) or dropped (SQLite)."""
    engine = create_engine(url)
    with engine.begin() as c:
        if c.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            c.execute(text("DROP TRIGGER IF EXISTS audit_event_no_update"))
        c.execute(text("UPDATE audit_event SET actor = 'someone_else' WHERE id = :i"), {"i": event_id})
        if c.dialect.name == "postgresql":
            c.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    engine.dispose()


def run(
    url: str, work: Path, events: int, group: int, workers: list[int], with_tamper: bool
) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    backend = engine.dialect.name
    engine.dispose()
    key_file = work / "audit.key"
    key = audit.load_key(key_file)
    out: dict[str, Any] = {"backend": backend, "events": events}
    print(f"{backend}: writing {events:,} events ({group:,} per transaction)…", flush=True)
    out["write"] = write_events(url, key, events, group)
    env = {**os.environ, "VAXLINK_DATABASE_URL": url, "VAXLINK_AUDIT_KEY_FILE": str(key_file)}
    head = work / "head.json"
    r = run_cli(["audit", "head", "--out", str(head)], env)
    assert r["rc"] == 0, r["out"]
    out["verify"] = {}
    for n in workers:
        print(f"{backend}: vaxlink audit verify --head FILE --workers {n} …", flush=True)
        out["verify"][n] = r = run_cli(["audit", "verify", "--head", str(head), "--workers", str(n)], env)
        assert r["rc"] == 0, r["out"]
    if with_tamper:
        victim = json.loads(head.read_text())["id"] // 2
        tamper(url, victim)
        r = run_cli(["audit", "verify", "--head", str(head), "--workers", str(workers[-1])], env)
        out["tamper"] = {
            "event_id": victim,
            "rc": r["rc"],
            "detected": r["rc"] == 1 and f"#{victim}: altered" in r["out"],
            "wall_s": r["wall_s"],
        }
    return out


def _report(r: dict[str, Any]) -> None:
    w = r["write"]
    print(
        f"{r['backend']}: wrote {w['events']:,} events in {w['wall_s']:.1f} s wall, {w['cpu_s']:.1f} s CPU "
        f"({w['events'] / w['wall_s']:,.0f}/s)"
    )
    for n, v in r["verify"].items():
        print(
            f"{r['backend']}: `vaxlink audit verify --head FILE --workers {n}` over {r['events']:,} events: "
            f"{v['wall_s']:.1f} s wall, {v['cpu_s']:.1f} s CPU (the command and its workers, start-up included), "
            f"{r['events'] / v['wall_s']:,.0f} events/s wall ({r['events'] / v['cpu_s']:,.0f} per CPU-second), "
            f"peak RSS {v['peak_rss_mb']:,.0f} MB per process"
        )
        print("  " + v["out"].strip().splitlines()[-1])
    if "tamper" in r:
        t = r["tamper"]
        verdict = "detected" if t["detected"] else "NOT DETECTED"
        print(
            f"{r['backend']}: event #{t['event_id']:,} altered: {verdict} (exit {t['rc']}, {t['wall_s']:.1f} s)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--group", type=int, default=20_000, help="events per transaction after the first ones")
    ap.add_argument(
        "--sqlite", type=Path, help="SQLite file to create (deleted first); default: a temporary one"
    )
    ap.add_argument("--postgres", help="server URL; a fresh database is created on it and dropped after")
    ap.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="verify once with each number of processes"
    )
    ap.add_argument("--tamper", action="store_true", help="then alter one event and check it is detected")
    args = ap.parse_args()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        if args.postgres:
            url, drop = fresh_pg(args.postgres, "audit")
            try:
                _report(run(url, work / "pg", args.events, args.group, args.workers, args.tamper))
            finally:
                drop()
        else:
            path = args.sqlite or work / "audit.db"
            path.unlink(missing_ok=True)
            url = f"sqlite:///{path.resolve()}"
            _report(run(url, work / "sqlite", args.events, args.group, args.workers, args.tamper))
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("target: 1,000,000 events verified in <= 60 s")


if __name__ == "__main__":
    main()

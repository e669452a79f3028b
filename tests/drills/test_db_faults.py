"""Drill 6, database faults: PostgreSQL stopped with `pg_ctl stop -m immediate` in the middle of writes.

Every write whose commit returned is there after the restart; while the server is down the commands
answer with a clear message and exit code 2 (no traceback); the application's engine (`make_engine`,
as the web app uses it) recovers by itself when the server is back; an ingest cut off by the stop
leaves nothing and finishes once when run again. Runs on a cluster of its own."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.drills.pgcluster import Cluster, pg_bin
from tests.drills.support import figure
from vaxlink.cli.main import app
from vaxlink.domain.audit_actions import AuditAction
from vaxlink.services.audit import log as audit
from vaxlink.services.operations.schema import upgrade_database
from vaxlink.services.reconciliation import dose_ingest
from vaxlink.settings import load_settings
from vaxlink.storage.db import make_engine, transaction

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    bin_dir = pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the database fault drill needs PostgreSQL's server binaries")
        pytest.skip("no PostgreSQL server binaries on this machine")
    c = Cluster(bin_dir)
    c.init()
    c.start()
    yield c
    c.remove()


def cli(url: str, args: list[str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, args, env={"VAXLINK_DATABASE_URL": url, "COLUMNS": "200"})


def assert_clear_failure(result, what: str) -> None:  # type: ignore[no-untyped-def]
    out = result.output
    assert result.exit_code == 2, f"{what}: exit {result.exit_code}\n{out}\n{result.exception!r}"
    assert "Traceback" not in out and "error" in out.lower(), f"{what}: {out}"


def _wait(pred, seconds: float = 90) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_acknowledged_writes_survive_an_immediate_stop_and_the_engine_recovers(cluster, tmp_path):
    settings = load_settings(database_url=cluster.url, work_dir=tmp_path / "work")
    upgrade_database(settings)
    key = audit.load_key(tmp_path / "audit.key")
    engine = make_engine(cluster.url)
    acked: list[tuple[int, str]] = []
    errors: Counter[str] = Counter()
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            try:
                with transaction(engine) as s:
                    audit.bind_key(s, key)
                    ev = audit.record(
                        s, actor="drill", action=AuditAction.DRILL_WRITE, resource_type="drill", resource_id=i
                    )
                    eid, digest = ev.id, ev.hash
                acked.append((eid, digest))  # the commit returned
            except Exception as e:
                errors[type(e).__name__] += 1
                time.sleep(0.05)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        assert _wait(lambda: len(acked) >= 100)
        cluster.stop("immediate")
        at_stop = len(acked)
        assert _wait(lambda: sum(errors.values()) >= 3, 30), "writes kept succeeding with the server down"

        # While it is down: every command answers with a clear message and exit code 2.
        doses = tmp_path / "d.csv"
        doses.write_text("record_id,full_name\nr1,An\n", encoding="utf-8")
        for args in (
            ["reconcile", "export", "--out", str(tmp_path / "x.csv")],
            ["doses", "ingest", str(doses)],
            ["db", "check"],
            ["db", "backup", str(tmp_path / "b.dump")],
        ):
            assert_clear_failure(cli(cluster.url, args), " ".join(args[:2]))

        down_since = time.monotonic()
        cluster.start()
        # The same engine, never disposed: it must find its way back on its own.
        assert _wait(lambda: len(acked) >= at_stop + 100), f"no recovery: {dict(errors)}"
        recovered_in = time.monotonic() - down_since
    finally:
        stop.set()
        t.join(30)
    with engine.connect() as c:
        stored = dict(c.execute(text("SELECT id, hash FROM audit_event")).all())
        report = audit.verify_chain(c, key)
    engine.dispose()
    lost = [eid for eid, digest in acked if stored.get(eid) != digest]
    assert lost == []
    assert report.ok, report.findings[:3]
    figure(
        "6",
        "audit writes, server stopped with -m immediate",
        f"{len(acked)} acknowledged, {len(lost)} lost; {sum(errors.values())} refused while down "
        f"({', '.join(sorted(errors))}); chain intact; writes again {recovered_in:.1f} s after the restart began",
    )


def test_an_ingest_cut_off_by_the_stop_leaves_nothing_and_finishes_when_run_again(
    cluster, province, tmp_path, monkeypatch
):
    admin = make_engine(cluster.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS drill_ingest"))
        c.execute(text("CREATE DATABASE drill_ingest"))
    admin.dispose()
    url = cluster.url.rsplit("/", 1)[0] + "/drill_ingest"
    assert cli(url, ["db", "upgrade"]).exit_code == 0
    assert cli(url, ["registry", "import", str(province.files["register"])]).exit_code == 0

    original = dose_ingest.ingest_batch
    stages: list[str] = []

    def ingest_batch(*a, progress=None, **k):  # type: ignore[no-untyped-def]
        def note(stage: str, done: int, total: int | None) -> None:
            stages.append(stage)
            if stage == "match" and stages.count("match") == 1:
                cluster.stop("immediate")
            if progress is not None:
                progress(stage, done, total)

        return original(*a, progress=note, **k)

    monkeypatch.setattr(dose_ingest, "ingest_batch", ingest_batch)
    cut = cli(url, ["doses", "ingest", str(province.files["doses"])])
    monkeypatch.undo()
    assert "match" in stages
    assert_clear_failure(cut, "ingest cut off")
    cluster.start()
    engine = make_engine(url)
    with engine.connect() as c:
        left = c.execute(text("SELECT count(*) FROM dose_record")).scalar_one()
    assert left == 0
    again = cli(url, ["doses", "ingest", str(province.files["doses"])])
    assert again.exit_code == 0, again.output
    with engine.connect() as c:
        rows = c.execute(text("SELECT count(*) FROM dose_record")).scalar_one()
        results = c.execute(text("SELECT count(*) FROM match_result")).scalar_one()
        batches = c.execute(text("SELECT count(*) FROM batch WHERE status = 'done'")).scalar_one()
    engine.dispose()
    expected = province.dose_records
    assert (rows, results, batches) == (expected, expected, 1)
    figure(
        "6",
        "ingest cut off by -m immediate during matching",
        f"exit 2 with a message, 0 rows left behind; run again: {rows:,} records once",
    )


def test_the_application_engine_pings_before_use():
    engine = make_engine("postgresql+psycopg://u@127.0.0.1:1/x")
    assert engine.pool._pre_ping  # type: ignore[attr-defined]
    engine.dispose()

"""Drill 5, crash-safe ingest: `vaxlink doses ingest` killed with SIGKILL at points chosen by its progress,
then resumed, ends exactly as an uninterrupted run (0 rows lost, 0 duplicated, the same result per record).

A run is a forked child executing the real CLI command; it counts progress events (every progress
callback, every SQL statement it sends, the commit and the moment the commit returned) and kills itself
at the N-th. Two batches: the second re-sends part of the first, so that versions and superseding are
crossed too. Each killed run must leave the database as it was (or, killed after its commit returned,
finished) and, on SQLite, an intact file."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import signal
import sys
import traceback
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import vaxlink.cli.main
import vaxlink.cli.progress
import vaxlink.services.reconciliation.answers
import vaxlink.services.reconciliation.dose_ingest
import vaxlink.services.reconciliation.reconcile
import vaxlink.services.reconciliation.registry_import  # noqa: F401 - imported once here, not in every forked run
from tests.drills.support import LONG, figure, size

TABLES = ("batch", "dose_record", "match_result", "work_case", "citizen_status")
COMPARED = (
    "outcome",
    "personal_id",
    "candidate_personal_id",
    "score",
    "reasons",
    "ward_code",
    "blame",
    "flags",
)


def _child(url: str, work: str, args: list[str], kill_at: int | None, count_file: str) -> None:
    """The command, run in this forked process; never returns (exit code, or death by SIGKILL)."""
    code = 1
    try:
        os.environ["VAXLINK_DATABASE_URL"] = url
        os.environ["VAXLINK_WORK_DIR"] = work
        from sqlalchemy import Engine, event
        from sqlalchemy.orm import Session

        from vaxlink.cli.main import app
        from vaxlink.services.reconciliation import dose_ingest

        seen = 0

        def hit(*_a: object, **_k: object) -> None:
            nonlocal seen
            seen += 1
            if kill_at is not None and seen >= kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        event.listen(Engine, "before_cursor_execute", hit)
        event.listen(Engine, "commit", hit)
        event.listen(Session, "after_commit", hit)
        original = dose_ingest.ingest_batch

        def ingest_batch(*a, progress=None, **k):  # type: ignore[no-untyped-def]
            def note(stage: str, done: int, total: int | None) -> None:
                hit()
                if progress is not None:
                    progress(stage, done, total)

            return original(*a, progress=note, **k)

        dose_ingest.ingest_batch = ingest_batch  # type: ignore[assignment]
        try:
            app(args, prog_name="vaxlink")
            code = 0
        except SystemExit as e:
            code = int(e.code or 0)
        Path(count_file).write_text(str(seen))
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_cli(url: str, work: Path, args: list[str], kill_at: int | None = None) -> tuple[int, int | None]:
    """Run `vaxlink ARGS` in a forked child; (exit code, events seen), exit code -9 when it was killed."""
    count_file = work / f"events-{os.getpid()}-{kill_at}"
    count_file.unlink(missing_ok=True)
    # Every run prepares the register as the first one did, so that the events of the reference run are the
    # kill points of the drilled one (the two databases share the work directory; a register kept by one run
    # would spare the next its preparation). The kept register is written aside and made visible by its
    # last file (matching/register_store.py): a killed run leaves none half-written.
    shutil.rmtree(work / "register", ignore_errors=True)
    p = multiprocessing.get_context("fork").Process(
        target=_child, args=(url, str(work), args, kill_at, str(count_file))
    )
    p.start()
    p.join(600)
    assert p.exitcode is not None, "the command hung"
    seen = int(count_file.read_text()) if count_file.exists() else None
    return p.exitcode, seen


def split_batches(doses: Path, out: Path) -> tuple[Path, Path]:
    """Batch A: the first 60 % of the rows; batch B: the rest, and a fifth of A again (new versions)."""
    with doses.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    cut = len(body) * 6 // 10
    a, b = body[:cut], body[cut:] + body[: cut // 5]
    paths = []
    for name, part in (("a.csv", a), ("b.csv", b)):
        p = out / name
        with p.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([header, *part])
        paths.append(p)
    return paths[0], paths[1]


def state(url: str) -> dict[str, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            got: dict[str, object] = {
                t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES
            }
            got["done_batches"] = c.execute(
                text("SELECT count(*) FROM batch WHERE status = 'done'")
            ).scalar_one()
            if url.startswith("sqlite"):
                got["integrity"] = c.execute(text("PRAGMA integrity_check")).scalar_one()
    finally:
        engine.dispose()
    return got


def export(url: str, work: Path, name: str) -> dict[str, dict[str, str]]:
    out = work / name
    code, _ = run_cli(url, work, ["reconcile", "export", "--out", str(out)])
    assert code == 0
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_id = {r["record_id"]: {k: r[k] for k in COMPARED} for r in rows}
    assert len(by_id) == len(rows), "one row per record id"
    return by_id


def kill_points(events: int, wanted: int) -> list[int]:
    """`wanted` event numbers spread evenly over 1..events (all of them in the long drill)."""
    if LONG or wanted >= events:
        return list(range(1, events + 1))
    return sorted({1 + round(i * (events - 1) / (wanted - 1)) for i in range(wanted)})


@pytest.mark.db
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_ingest_killed_anywhere_then_resumed_ends_as_an_uninterrupted_run(
    backend, province, fresh_db, tmp_path
):
    work = tmp_path / "work"
    work.mkdir()
    batch_a, batch_b = split_batches(province.files["doses"], tmp_path)
    register = province.files["register"]
    reference, drilled = fresh_db(backend, "reference"), fresh_db(backend, "drilled")
    for url in (reference, drilled):
        assert run_cli(url, work, ["registry", "import", str(register)])[0] == 0

    events: dict[str, int] = {}
    expected: dict[str, dict[str, object]] = {}
    for name, path in (("a", batch_a), ("b", batch_b)):
        code, seen = run_cli(reference, work, ["doses", "ingest", str(path), "--source", "drill"])
        assert code == 0 and seen
        events[name], expected[name] = seen, state(reference)
    want = export(reference, work, "reference.csv")

    per_batch = size(10, 0, "VAXLINK_DRILL_KILLS_PER_BATCH")
    kills = 0
    for name, path in (("a", batch_a), ("b", batch_b)):
        before = state(drilled)
        points = kill_points(events[name], per_batch)
        for n in points:
            code, _ = run_cli(drilled, work, ["doses", "ingest", str(path), "--source", "drill"], kill_at=n)
            assert code == -signal.SIGKILL, f"batch {name}: not killed at event {n} (exit {code})"
            kills += 1
            now = state(drilled)
            if backend == "sqlite":
                assert now["integrity"] == "ok", f"batch {name}, event {n}: {now['integrity']}"
            # One transaction: killed before its commit returned, nothing; after, everything.
            if n < events[name]:
                assert now == before, f"batch {name}, killed at event {n}: {before} → {now}"
            else:
                assert now == expected[name], f"batch {name}, killed after its commit"
        code, _ = run_cli(drilled, work, ["doses", "ingest", str(path), "--source", "drill"])
        assert code == 0
        assert state(drilled) == expected[name], f"batch {name} resumed"
    got = export(drilled, work, "drilled.csv")

    lost = len(want.keys() - got.keys())
    extra = len(got.keys() - want.keys())
    differ = sum(1 for k in want.keys() & got.keys() if want[k] != got[k])
    assert (lost, extra, differ) == (0, 0, 0)
    assert kills >= 20
    figure(
        "5",
        f"{backend}: SIGKILLs at progress events (of {events['a']} + {events['b']})",
        json.dumps({"kills": kills, "lost": lost, "duplicated": extra, "different": differ}),
    )

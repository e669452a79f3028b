"""Batches ingested off the request path: the page's upload answers at once and the worker takes the file;
a worker killed at any step leaves a batch that the next one finishes without loss or duplication; pages
keep answering while a batch's citizens are brought up to date."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from tests.integration.web import world as w
from vaxlink.services.reconciliation import dose_ingest, ingest_jobs
from vaxlink.services.reconciliation.ingest_jobs import IngestJobs
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Batch, Case, Citizen, CitizenStatus, DoseRecord, MatchResult

HEADER = "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"


class Killed(BaseException):
    """The process dies here (not an error the worker could catch)."""


def dies_on_call(n: int, real):
    """`real`, except that its n-th call is killed."""
    calls = []

    def wrapped(*a, **kw):
        calls.append(1)
        if len(calls) == n:
            raise Killed
        return real(*a, **kw)

    return wrapped


def three_people(engine, world, tag: str) -> bytes:
    rows = []
    with transaction(engine) as s:
        for ward, cid in world.citizens.items():
            c = s.get(Citizen, cid)
            dob = c.birth_date.strftime("%d/%m/%Y")
            sex = "Nữ" if c.sex == "F" else "Nam"
            for n, day in ((1, "2021-08-01"), (2, "2021-10-01")):
                rows.append(
                    f"{tag}{ward}{n},{c.full_name},{dob},{sex},{c.personal_id},{ward},{day},{n},AstraZeneca"
                )
    rows.append(f"{tag}x,Người Không Có,01/01/1970,Nam,,{w.WARD_A},2021-10-01,1,Pfizer")
    return (HEADER + "\n".join(rows) + "\n").encode()


def held(app, monkeypatch) -> list[int]:
    """Keep the app's worker from running: the test runs a worker of its own when it wants."""
    submitted: list[int] = []
    app.state.vx.jobs.close()  # nor its rescans
    monkeypatch.setattr(app.state.vx.jobs, "submit", submitted.append)
    return submitted


def upload_page(client, health, content: bytes, name: str = "lo.csv"):
    return client.post(
        "/batches",
        files={"file": (name, content, "text/csv")},
        data={"csrf_token": health.csrf},
        headers=w.cookie_headers(health),
    )


def worker(app, **kw) -> IngestJobs:
    st = app.state.vx
    return IngestJobs(st.settings, st.engine, st.sessions, st.audit_key, st.write_lock, **kw)


def stored(engine, batch_id: int) -> tuple[str, int, int, int]:
    with transaction(engine) as s:
        b = s.get(Batch, batch_id)
        records = s.scalar(
            select(func.count()).select_from(DoseRecord).where(DoseRecord.batch_id == batch_id)
        )
        results = s.scalar(
            select(func.count())
            .select_from(MatchResult)
            .join(DoseRecord, DoseRecord.id == MatchResult.dose_record_id)
            .where(DoseRecord.batch_id == batch_id)
        )
        statuses = s.scalar(select(func.count()).select_from(CitizenStatus).where(CitizenStatus.doses >= 2))
        return b.status, int(records or 0), int(results or 0), int(statuses or 0)


def cases_of(engine, batch_id: int) -> int:
    with transaction(engine) as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Case)
                .join(DoseRecord, DoseRecord.id == Case.dose_record_id)
                .where(DoseRecord.batch_id == batch_id)
            )
            or 0
        )


def outcomes(engine, batch_id: int) -> list[tuple[str, str, int | None, int | None, str]]:
    """Each stored record of the batch: (record id, outcome, citizen, candidate, flags)."""
    with transaction(engine) as s:
        rows = s.execute(
            select(
                DoseRecord.record_id,
                MatchResult.outcome,
                MatchResult.citizen_id,
                MatchResult.candidate_citizen_id,
                MatchResult.flags,
            )
            .join(MatchResult, MatchResult.dose_record_id == DoseRecord.id)
            .where(DoseRecord.batch_id == batch_id)
            .order_by(DoseRecord.record_id)
        )
        return [tuple(r) for r in rows]


@pytest.mark.db
def test_a_page_upload_is_stored_and_answered_at_once_and_the_page_follows_the_worker(
    app, client, world, engine, monkeypatch
):
    health = world.actors[("health_officer", "parent_district")]
    submitted = held(app, monkeypatch)
    r = upload_page(client, health, three_people(engine, world, "a"))
    assert r.status_code == 303, r.text
    bid = int(r.headers["location"].rsplit("/", 1)[1])
    assert submitted == [bid]
    page = client.get(r.headers["location"], headers=w.cookie_headers(health))
    assert 'data-status="staging"' in page.text and 'http-equiv="refresh"' in page.text
    assert stored(engine, bid)[:3] == ("staging", 0, 0)

    assert worker(app).run_waiting() == 1
    page = client.get(r.headers["location"], headers=w.cookie_headers(health))
    assert 'data-status="done"' in page.text and 'http-equiv="refresh"' not in page.text
    status, records, results, statuses = stored(engine, bid)
    assert (status, records, results) == ("done", 7, 7) and statuses >= 3


@pytest.mark.db
def test_a_killed_worker_leaves_a_batch_the_next_one_finishes_once(app, client, world, engine, monkeypatch):
    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    bid = int(
        upload_page(client, health, three_people(engine, world, "k")).headers["location"].rsplit("/", 1)[1]
    )
    real_ingest, real_after = ingest_jobs.ingest_batch, ingest_jobs.after_links_moved

    # Killed at the end of the first step, before its last commit: the records and results written in
    # chunks stay, no case, the batch still waits, the file too.
    def ingest_then_die(*a, **kw):
        real_ingest(*a, **kw)
        raise Killed

    monkeypatch.setattr(ingest_jobs, "ingest_batch", ingest_then_die)
    with pytest.raises(Killed):
        worker(app).run_waiting()
    assert stored(engine, bid)[:3] == ("staging", 7, 7) and cases_of(engine, bid) == 0

    # Killed in the second step, after one citizen's status: the records and results are stored once.
    second_chunk_dies = dies_on_call(2, real_after)

    monkeypatch.setattr(ingest_jobs, "ingest_batch", real_ingest)
    monkeypatch.setattr(ingest_jobs, "after_links_moved", second_chunk_dies)
    with pytest.raises(Killed):
        worker(app, chunk_citizens=1).run_waiting()
    assert stored(engine, bid)[:3] == ("linking", 7, 7)

    # A new server finishes it: same rows, every status, counted once.
    monkeypatch.setattr(ingest_jobs, "after_links_moved", real_after)
    assert worker(app, chunk_citizens=1).run_waiting() == 1
    status, records, results, statuses = stored(engine, bid)
    assert (status, records, results) == ("done", 7, 7) and statuses >= 3
    assert cases_of(engine, bid) == 1
    b = client.get(f"/api/v1/batches/{bid}", headers={"authorization": f"Bearer {health.token}"}).json()
    assert b["counts"]["outcomes"]["linked"] == 6 and "linking" not in b["counts"]
    # Uploading the same file again is the same batch.
    again = upload_page(client, health, three_people(engine, world, "k"))
    assert again.headers["location"].endswith(f"/{bid}")


@pytest.mark.db
def test_a_worker_killed_between_chunks_of_records_leaves_nothing_twice(
    app, client, world, engine, monkeypatch
):
    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    # The same rows under other record ids, ingested whole first: what the killed batch must end as.
    ref = int(
        upload_page(client, health, three_people(engine, world, "r"), "ref.csv")
        .headers["location"]
        .rsplit("/", 1)[1]
    )
    assert worker(app).run_waiting() == 1
    bid = int(
        upload_page(client, health, three_people(engine, world, "c")).headers["location"].rsplit("/", 1)[1]
    )
    real_results = dose_ingest.staged_results
    calls: list[int] = []

    def third_chunk_dies(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return real_results(*a, **kw)

    monkeypatch.setattr(dose_ingest, "staged_results", third_chunk_dies)
    with pytest.raises(Killed):
        worker(app, chunk_rows=2).run_waiting()
    # Two chunks of two records committed, the third rolled back: a batch still waiting, no case.
    assert stored(engine, bid)[:3] == ("staging", 4, 4) and cases_of(engine, bid) == 0

    monkeypatch.setattr(dose_ingest, "staged_results", real_results)
    assert worker(app, chunk_rows=2).run_waiting() == 1
    assert stored(engine, bid)[:3] == ("done", 7, 7) and cases_of(engine, bid) == 1
    assert [(r[0][1:], *r[1:]) for r in outcomes(engine, bid)] == [
        (r[0][1:], *r[1:]) for r in outcomes(engine, ref)
    ]


@pytest.mark.db
def test_a_batch_that_keeps_failing_between_chunks_fails_with_none_of_its_records(
    app, client, world, engine, monkeypatch
):
    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    bid = int(
        upload_page(client, health, three_people(engine, world, "f")).headers["location"].rsplit("/", 1)[1]
    )
    real_results, calls = dose_ingest.staged_results, []

    def second_chunk_fails(*a, **kw):
        calls.append(1)
        if len(calls) % 2 == 0:
            raise RuntimeError("disk full")
        return real_results(*a, **kw)

    monkeypatch.setattr(dose_ingest, "staged_results", second_chunk_fails)
    assert worker(app, chunk_rows=4).run_waiting() == 0
    assert len(calls) == 2 * ingest_jobs.MAX_ATTEMPTS
    assert stored(engine, bid)[:3] == ("failed", 0, 0) and cases_of(engine, bid) == 0


@pytest.mark.db
def test_pages_answer_while_a_batchs_citizens_are_brought_up_to_date(app, client, world, engine, monkeypatch):
    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    bid = int(
        upload_page(client, health, three_people(engine, world, "p")).headers["location"].rsplit("/", 1)[1]
    )
    real_after = ingest_jobs.after_links_moved

    def slow(*a, **kw):  # a large chunk of citizens, as it holds the writer
        time.sleep(1.0)
        return real_after(*a, **kw)

    monkeypatch.setattr(ingest_jobs, "after_links_moved", slow)
    run = threading.Thread(target=worker(app, chunk_citizens=1).run_waiting)
    began = time.monotonic()
    run.start()
    seen, slowest = set(), 0.0
    try:
        while run.is_alive():
            t = time.monotonic()
            page = client.get(f"/batches/{bid}", headers=w.cookie_headers(health))
            slowest = max(slowest, time.monotonic() - t)
            assert page.status_code == 200
            seen.update(s for s in ("staging", "linking", "done") if f'data-status="{s}"' in page.text)
    finally:
        run.join(60)
    whole = time.monotonic() - began
    assert "linking" in seen
    # A page waits at most for one short transaction of the worker, never for the whole batch (≥ 3 × 1 s,
    # more on a busy machine).
    assert whole > 3.0 and slowest < whole / 2


@pytest.mark.db
def test_a_file_the_worker_refuses_fails_on_its_page_without_quoting_it(
    app, client, world, engine, monkeypatch
):
    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    headerless = three_people(engine, world, "h").split(b"\n", 1)[1]
    name, pid = headerless.decode().split("\n", 1)[0].split(",")[1:5:3]
    r = upload_page(client, health, headerless)
    assert r.status_code == 303
    worker(app).run_waiting()
    page = client.get(r.headers["location"], headers=w.cookie_headers(health))
    assert 'data-status="failed"' in page.text and "Thiếu cột bắt buộc: record_id" in page.text
    assert name not in page.text and pid not in page.text


@pytest.mark.db
def test_the_worker_keeps_the_figures_by_difference_even_when_killed_between_chunks_of_statuses(
    app, client, world, engine, monkeypatch
):
    """After the first links (whose statistics are refreshed whole), a batch's figures move by the
    difference: no refresh, and the cells are what a recomputation gives, even when the worker dies after
    one chunk of statuses and the next one does them all again."""
    from vaxlink.services.figures.figures_check import differences, from_scratch, kept

    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    first = int(
        upload_page(client, health, three_people(engine, world, "f")).headers["location"].rsplit("/", 1)[1]
    )
    assert worker(app).run_waiting() == 1 and stored(engine, first)[0] == "done"

    refreshes = []
    real_refresh, real_after = ingest_jobs.refresh_statistics, ingest_jobs.after_links_moved

    def counted(*a, **kw):
        refreshes.append(1)
        return real_refresh(*a, **kw)

    second_chunk_dies = dies_on_call(2, real_after)

    monkeypatch.setattr(ingest_jobs, "refresh_statistics", counted)
    monkeypatch.setattr(ingest_jobs, "after_links_moved", second_chunk_dies)
    # Later doses of the same people, and one of someone new: statuses change, cells move.
    later = (
        three_people(engine, world, "g")
        .replace(b"2021-08-01", b"2022-03-01")
        .replace(b"2021-10-01", b"2022-06-01")
    )
    second = int(upload_page(client, health, later, name="lo2.csv").headers["location"].rsplit("/", 1)[1])
    with pytest.raises(Killed):
        worker(app, chunk_citizens=1).run_waiting()
    assert stored(engine, second)[0] == "linking"
    monkeypatch.setattr(ingest_jobs, "after_links_moved", real_after)
    assert worker(app, chunk_citizens=1).run_waiting() == 1
    assert stored(engine, second)[0] == "done" and refreshes == []
    with engine.connect() as conn:
        before = kept(conn)
        assert differences(before, from_scratch(conn)) == []
        assert before["stats_coverage_cell"]


@pytest.mark.db
def test_a_refresh_between_the_workers_chunks_leaves_the_figures_to_a_refresh(
    app, client, world, engine, monkeypatch
):
    """A full refresh that runs after the worker's chunks of records are committed, before its last
    transaction, has counted those records already: moving their cells again would count them twice, so the
    batch's figures are refreshed at the end instead."""
    from vaxlink.services.figures.figures_check import differences, from_scratch, kept
    from vaxlink.services.figures.refresh import refresh_statistics

    health = world.actors[("health_officer", "parent_district")]
    held(app, monkeypatch)
    first = int(
        upload_page(client, health, three_people(engine, world, "r")).headers["location"].rsplit("/", 1)[1]
    )
    assert worker(app).run_waiting() == 1 and stored(engine, first)[0] == "done"

    real_chunks = dose_ingest._write_in_chunks

    def chunks_then_refresh(*a, **kw):
        real_chunks(*a, **kw)
        with transaction(engine) as s:
            refresh_statistics(s.connection())

    monkeypatch.setattr(dose_ingest, "_write_in_chunks", chunks_then_refresh)
    later = (
        three_people(engine, world, "s")
        .replace(b"2021-08-01", b"2022-03-01")
        .replace(b"2021-10-01", b"2022-06-01")
    )
    second = int(upload_page(client, health, later, name="lo3.csv").headers["location"].rsplit("/", 1)[1])
    assert worker(app).run_waiting() == 1 and stored(engine, second)[0] == "done"
    with engine.connect() as conn:
        assert differences(kept(conn), from_scratch(conn)) == []

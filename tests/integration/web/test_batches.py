"""Health's side on the web: a batch uploaded with a token or through the page, its progress, the answer
and the corrections downloaded; a ward's settlement shows in the answer; batches are seen only within the
uploader's jurisdiction."""

from __future__ import annotations

import csv
import io
import time

import openpyxl
import pytest
from sqlalchemy import select, update

from tests.integration.web import world as w
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AppUser, Batch, Citizen

HEADER = "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"


def dose_file(engine, world, tag: str = "a") -> bytes:
    with transaction(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        pid, name = c.personal_id, c.full_name
    rows = [
        f"{tag}1,{name},15/03/1990,Nữ,{pid},{w.WARD_A},2021-08-01,1,AstraZeneca",
        f"{tag}2,{name},15/03/1990,Nữ,{pid},{w.WARD_A},2021-10-01,2,AstraZeneca",
        f"{tag}3,Người Không Có,01/01/1970,Nam,,{w.WARD_A},2021-10-01,1,Pfizer",
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


def bearer(a: w.Actor) -> dict[str, str]:
    return {"authorization": f"Bearer {a.token}"}


def finished(app, client, health: w.Actor, r) -> dict:
    """The batch an API upload answered for, once the server's worker is done with it."""
    assert r.status_code == 202, r.text
    assert r.headers["location"] == r.json()["status_url"] == f"/api/v1/batches/{r.json()['batch_id']}"
    assert app.state.vx.jobs.wait_idle(120)
    return client.get(r.json()["status_url"], headers=bearer(health)).json()


@pytest.mark.db
def test_upload_by_token_progress_answer_and_scope(app, client, world, engine):
    health = world.actors[("health_officer", "parent_district")]
    r = client.post(
        "/api/v1/batches",
        files={"file": ("lo-1.csv", dose_file(engine, world), "text/csv")},
        data={"source": "hcdc"},
        headers=bearer(health),
    )
    bid = r.json()["batch_id"]
    assert finished(app, client, health, r)["status"] == "done"
    b = client.get(f"/api/v1/batches/{bid}", headers=bearer(health)).json()
    assert b["rows_total"] == 3 and b["uploaded_by"] == health.username
    assert b["counts"]["outcomes"]["linked"] == 2
    # The same file again is recognised, not ingested twice.
    again = client.post(
        "/api/v1/batches",
        files={"file": ("lo-1.csv", dose_file(engine, world), "text/csv")},
        data={"source": "hcdc"},
        headers=bearer(health),
    )
    assert again.status_code == 202 and again.json() == {**r.json(), "status": "done"}
    answer = client.get(f"/api/v1/batches/{bid}/answer?format=csv", headers=bearer(health))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [r["record_id"] for r in rows] == ["a1", "a2", "a3"]
    assert rows[0]["verified"] == "Đúng" and rows[2]["verified"] == "Chưa xác minh"
    xlsx = client.get(f"/api/v1/batches/{bid}/answer?format=xlsx", headers=bearer(health))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 4
    # Health officers elsewhere neither see nor read it; a ward officer holds no batch permission.
    other = world.actors[("health_officer", "other_province")]
    assert client.get(f"/api/v1/batches/{bid}", headers=bearer(other)).status_code == 404
    assert bid not in [x["id"] for x in client.get("/api/v1/batches", headers=bearer(other)).json()]
    assert client.get(f"/api/v1/batches/{bid}/answer", headers=bearer(other)).status_code == 404
    assert (
        client.get(
            f"/api/v1/batches/{bid}", headers=bearer(world.actors[("ward_officer", "own_ward")])
        ).status_code
        == 403
    )
    # A province-wide supervisor... the district one sees batches of its district's users.
    sup = world.actors[("supervisor", "parent_district")]
    assert bid in [x["id"] for x in client.get("/api/v1/batches", headers=bearer(sup)).json()]


@pytest.mark.db
def test_upload_by_page_and_a_wards_settlement_reaches_the_answer(app, client, world, engine):
    health = world.actors[("health_officer", "parent_district")]
    r = client.post(
        "/batches",
        files={"file": ("lo-2.csv", dose_file(engine, world, "p"), "text/csv")},
        data={"csrf_token": health.csrf},
        headers=w.cookie_headers(health),
    )
    assert r.status_code == 303, r.text
    app.state.vx.jobs.wait_idle(120)
    page = client.get(r.headers["location"], headers=w.cookie_headers(health))
    assert 'data-status="done"' in page.text
    # Without the form token the upload is refused.
    r = client.post(
        "/batches",
        files={"file": ("lo-3.csv", b"x", "text/csv")},
        headers=w.cookie_headers(health),
    )
    assert r.status_code == 403

    # The world's batch, as uploaded by this officer (in their jurisdiction, which the batch keeps): ward A
    # declares its record wrong in health.
    with transaction(engine) as s:
        u = s.scalar(select(AppUser).where(AppUser.username == health.username))
        s.execute(
            update(Batch)
            .where(Batch.id == world.batch_id)
            .values(
                uploaded_by=health.username,
                scope_level=u.scope_level,
                scope_units=u.scope_units,
                scope_code=u.scope_code,
            )
        )
    a = world.actors[("ward_officer", "own_ward")]
    r = client.post(
        f"/api/v1/cases/{world.cases[w.WARD_A]}/health-wrong",
        json={"version": 1, "citizen_id": world.citizens[w.WARD_A], "note": "y tế ghi sai"},
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    b = client.get(f"/api/v1/batches/{world.batch_id}", headers=bearer(health)).json()
    assert b["settled_by_wards"] == 1 and b["health_wrong"] == 1
    fixes = client.get(
        f"/batches/{world.batch_id}/answer.csv?corrections=1&lang=en", headers=w.cookie_headers(health)
    )
    assert fixes.status_code == 200
    rows = list(csv.DictReader(io.StringIO(fixes.content.decode("utf-8-sig"))))
    assert len(rows) == 1 and rows[0]["verified"] == "Sai, phường/xã đã xác định"
    assert rows[0]["correct_full_name"] == "Trần Thị Bích"


@pytest.mark.db
def test_every_api_upload_is_answered_before_it_is_ingested(app, client, world, engine, monkeypatch):
    """Even a three-row file: the request stores it and answers 202; the worker ingests it."""
    submitted: list[int] = []
    real_submit = app.state.vx.jobs.submit
    monkeypatch.setattr(app.state.vx.jobs, "submit", lambda bid: (submitted.append(bid), real_submit(bid)))
    health = world.actors[("health_officer", "parent_district")]
    r = client.post(
        "/api/v1/batches",
        files={"file": ("lo-nho.csv", dose_file(engine, world, "g"), "text/csv")},
        headers=bearer(health),
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "staging" and submitted == [r.json()["batch_id"]]
    bid = r.json()["batch_id"]
    status = "staging"
    deadline = time.monotonic() + 120
    while status in ("staging", "matching", "linking") and time.monotonic() < deadline:
        time.sleep(0.3)
        status = client.get(f"/api/v1/batches/{bid}", headers=bearer(health)).json()["status"]
    assert status == "done"
    assert client.get(f"/api/v1/batches/{bid}", headers=bearer(health)).json()["rows_total"] == 3


@pytest.mark.db
def test_a_file_that_cannot_be_read_is_refused_clearly(app, client, world):
    health = world.actors[("health_officer", "parent_district")]
    r = client.post(
        "/api/v1/batches",
        files={"file": ("x.exe", b"MZ", "application/octet-stream")},
        headers=bearer(health),
    )
    assert r.status_code == 422 and r.json()["code"] == "BAD_FILE_TYPE"
    r = client.post(
        "/api/v1/batches", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")}, headers=bearer(health)
    )
    b = finished(app, client, health, r)
    assert b["status"] == "failed" and b["counts"]["error_en"].startswith("missing required columns")


@pytest.mark.db
def test_a_refused_file_is_not_quoted_back(app, client, world, engine):
    """A file without its header row: refused with the missing columns named, but the first record (which
    the reader took for the header) is not repeated in the answer, on the API or on the page."""
    health = world.actors[("health_officer", "parent_district")]
    headerless = dose_file(engine, world, "h").split(b"\n", 1)[1]
    first = headerless.decode().split("\n", 1)[0].split(",")
    name, pid = first[1], first[4]
    r = client.post(
        "/api/v1/batches", files={"file": ("lo.csv", headerless, "text/csv")}, headers=bearer(health)
    )
    b = finished(app, client, health, r)
    assert b["status"] == "failed"
    assert b["counts"]["error_en"].startswith("missing required columns: record_id, full_name")
    assert b["counts"]["error"].startswith("Thiếu cột bắt buộc: record_id")
    listed = client.get("/api/v1/batches", headers=bearer(health))
    for answer in (r.text, client.get(r.json()["status_url"], headers=bearer(health)).text, listed.text):
        assert name not in answer and pid not in answer
    # On the page the file is refused by the worker: see test_ingest_worker.py.

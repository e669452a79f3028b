"""Citizen self-service: number and birth date, a code through the outbox, then one's status, doses and
certificate; the same answer whether or not the number is in the register; codes that expire, wear out
and are throttled."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine, select

from tests.integration.certificate_world import link_doses
from tests.integration.web import world as w
from vaxlink.credentials import codes, init_keys
from vaxlink.services.audit.log import bind_key, load_key
from vaxlink.services.certificates import issuance as certs
from vaxlink.settings import Settings
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Citizen, OtpChallenge, OutboxMessage

CSRF = re.compile(r'name="self_csrf" value="([^"]+)"')


@pytest.fixture
def person(world: w.World, engine: Engine, web_settings: Settings) -> Citizen:
    init_keys(web_settings.keys_dir)
    with transaction(engine) as s:
        bind_key(s, load_key(web_settings.audit_key_file))
        c = s.get(Citizen, world.citizens[w.WARD_A])
        assert c is not None
        link_doses(s, world.batch_id, c)
        s.expunge(c)
        return c


def csrf(client) -> str:  # type: ignore[no-untyped-def]
    r = client.get("/self")
    assert r.status_code == 200
    m = CSRF.search(r.text)
    assert m
    return m.group(1)


def outbox(engine: Engine) -> list[OutboxMessage]:
    with transaction(engine) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def code_in(message: OutboxMessage) -> str:
    m = re.search(r"\b(\d{6})\b", message.body)
    assert m
    return m.group(1)


def start(client, pid: str, dob: str):  # type: ignore[no-untyped-def]
    return client.post("/self", data={"personal_id": pid, "date_of_birth": dob, "self_csrf": csrf(client)})


def test_the_whole_flow_through_the_outbox(client, person, engine, web_settings):
    r = start(client, person.personal_id, "15/03/1990")
    assert r.status_code == 200 and "mã gồm 6 chữ số" in r.text
    [sms] = outbox(engine)
    assert sms.recipient == person.phone and sms.channel == "sms"
    with transaction(engine) as s:
        [challenge] = s.scalars(select(OtpChallenge)).all()
        assert code_in(sms) not in challenge.code_hash and person.personal_id not in challenge.subject
    token = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
    r = client.post("/self/code", data={"code": code_in(sms), "self_csrf": token})
    assert r.status_code == 303 and r.headers["location"] == "/self/status"
    r = client.get("/self/status")
    assert r.status_code == 200
    assert "Trần Thị Bích" in r.text and "Đủ liều cơ bản" in r.text and "01/09/2021" in r.text
    assert r.text.count("<tr>") == 3  # header and two doses
    r = client.post("/self/certificate", data={"fmt": "png", "self_csrf": token})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    hc1 = codes.read_code(r.content).text
    r = client.post("/self/certificate", data={"fmt": "pdf", "self_csrf": token})
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    with transaction(engine) as s:
        result = certs.verifier(s, web_settings).verify(hc1)
        assert result.valid
        # The PDF and the PNG of one visit are one certificate.
        assert len(s.scalars(select(certs.Certificate)).all()) == 1
    # The code is used up.
    r = client.post("/self/code", data={"code": code_in(sms), "self_csrf": token})
    assert r.status_code in (403, 422)
    r = client.post("/self/logout")
    assert client.get("/self/status").status_code == 303


def _visible(html: str) -> str:
    return CSRF.sub("", html)


def test_no_enumeration(client, person, engine):
    answers = []
    for pid, dob in (
        (person.personal_id, "15/03/1990"),  # right
        (person.personal_id, "16/03/1990"),  # wrong birth date
        ("077190999999", "15/03/1990"),  # nobody
        ("12", "x"),  # not even a number
    ):
        client.cookies.clear()
        r = start(client, pid, dob)
        answers.append((r.status_code, _visible(r.text)))
    assert len(set(answers)) == 1, "the answer must not tell who is in the register"
    assert len(outbox(engine)) == 1
    with transaction(engine) as s:
        assert len(s.scalars(select(OtpChallenge)).all()) == 4  # a challenge either way


def test_wrong_codes_wear_the_challenge_out(client, person, engine):
    r = start(client, person.personal_id, "15/03/1990")
    token = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
    right = code_in(outbox(engine)[0])
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        r = client.post("/self/code", data={"code": wrong, "self_csrf": token})
        assert r.status_code == 422 and "Mã không đúng" in r.text
    r = client.post("/self/code", data={"code": right, "self_csrf": token})
    assert r.status_code == 422  # the sixth try is refused whatever the code
    assert client.get("/self/status").status_code == 303


def test_a_challenge_of_nobody_never_opens(client, person, engine):
    r = start(client, "077190999999", "15/03/1990")
    token = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
    for guess in ("123456", "000000"):
        r = client.post("/self/code", data={"code": guess, "self_csrf": token})
        assert r.status_code == 422


def test_codes_for_one_number_are_throttled(client, person, engine):
    statuses = []
    for _ in range(4):
        client.cookies.clear()
        statuses.append(start(client, person.personal_id, "15/03/1990").status_code)
    assert statuses == [200, 200, 200, 429]
    assert len(outbox(engine)) == 3
    unknown = []
    for _ in range(4):
        client.cookies.clear()
        unknown.append(start(client, "077190999999", "15/03/1990").status_code)
    assert unknown == statuses  # the same for a number nobody has


def test_forms_need_their_token(client, person, engine):
    r = client.post("/self", data={"personal_id": person.personal_id, "date_of_birth": "15/03/1990"})
    assert r.status_code == 403
    assert outbox(engine) == []


def test_someone_elses_requests_do_not_block_the_citizens_own_codes(app, client, person, engine):
    # Issue 16: three requests from anywhere blocked a citizen's codes; the requester is throttled now.
    for _ in range(4):
        client.cookies.clear()
        start(client, person.personal_id, "15/03/1990")
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False, client=("10.9.9.9", 1)) as own:
        assert start(own, person.personal_id, "15/03/1990").status_code == 200
    assert len(outbox(engine)) == 4


def test_a_pass_signed_out_opens_nothing_even_as_a_kept_copy(client, person, engine):
    r = start(client, person.personal_id, "15/03/1990")
    [sms] = outbox(engine)
    token = CSRF.search(r.text).group(1)  # type: ignore[union-attr]
    r = client.post("/self/code", data={"code": code_in(sms), "self_csrf": token})
    assert r.status_code == 303
    kept = client.cookies.get("vaxlink_self")
    assert kept and client.get("/self/status").status_code == 200
    client.post("/self/logout")
    # Someone who copied the cookie before the sign-out (a shared computer, a proxy) is turned away.
    client.cookies.set("vaxlink_self", kept, path="/self")
    assert client.get("/self/status").status_code == 303
    r = client.post("/self/certificate", data={"fmt": "png", "self_csrf": token})
    assert r.status_code == 303
    assert client.get("/self/correction").status_code == 303

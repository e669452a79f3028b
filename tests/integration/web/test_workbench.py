"""The workbench's journeys through the API and pages: link, health wrong (into health's answer), register
corrections with a second officer's approval, passing a case on, collection, search, the counter."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.integration.web import world as w
from vaxlink.services.audit.log import bind_key
from vaxlink.services.reconciliation.answers import ward_corrections
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case as CaseRow
from vaxlink.storage.models import Citizen, CitizenChange, CitizenStatus, MatchResult


def bearer(a: w.Actor) -> dict[str, str]:
    return {"authorization": f"Bearer {a.token}"}


@pytest.mark.db
def test_link_settles_the_case_updates_the_result_and_the_status(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    case_id, citizen_id = world.cases[w.WARD_A], world.citizens[w.WARD_A]
    case = client.get(f"/api/v1/cases/{case_id}", headers=bearer(a)).json()
    assert case["candidates"][0]["citizen_id"] == citizen_id
    assert "Ngày sinh sai một chữ số" in case["reason_words"]
    differs = {r["field"] for r in case["candidates"][0]["rows"] if r["differs"]}
    assert "full_name" not in differs  # upper case without change of letters is the same name
    r = client.post(
        f"/api/v1/cases/{case_id}/link",
        json={"version": case["version"], "citizen_id": citizen_id},
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    again = client.post(
        f"/api/v1/cases/{case_id}/link",
        json={"version": case["version"], "citizen_id": citizen_id},
        headers=bearer(a),
    )
    assert again.status_code == 409
    assert case_id not in [i["id"] for i in client.get("/api/v1/cases", headers=bearer(a)).json()["items"]]
    with Session(engine) as s:
        m = s.scalar(
            select(MatchResult)
            .join(CaseRow, CaseRow.dose_record_id == MatchResult.dose_record_id)
            .where(CaseRow.id == case_id)
        )
        assert m.outcome == "confirmed" and m.citizen_id == citizen_id and m.decided_by == a.username
        assert s.get(CitizenStatus, citizen_id).doses == 1


@pytest.mark.db
def test_health_wrong_goes_into_the_answer_for_health(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    with transaction(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        case_id = w.add_case(s, world.batch_id, c, name="Tran Thi Bich", dob="15/04/1990").id
    r = client.post(
        f"/api/v1/cases/{case_id}/health-wrong",
        json={"version": 1, "citizen_id": world.citizens[w.WARD_A], "note": "y tế nhập sai tháng sinh"},
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    fixed = r.json()["corrections"]
    assert (
        fixed["full_name"] == "Trần Thị Bích"
        and fixed["birth_date"] == "15/03/1990"
        and "personal_id" in fixed
    )
    with engine.connect() as conn:
        found = ward_corrections(conn, world.batch_id)
    assert any(v["fields"].get("birth_date") == "15/03/1990" for v in found.values())


@pytest.mark.db
def test_identity_corrections_need_a_second_officer(client, world, engine, app):
    a = world.actors[("ward_officer", "own_ward")]
    citizen_id = world.citizens[w.WARD_A]
    body = {
        "version": 1,
        "field": "birth_date",
        "value": "16/03/1990",
        "reason": "sai ngày",
        "evidence": "giấy khai sinh",
    }
    missing = client.post(
        f"/api/v1/citizens/{citizen_id}/corrections", json={**body, "evidence": ""}, headers=bearer(a)
    )
    assert missing.status_code == 422
    r = client.post(f"/api/v1/citizens/{citizen_id}/corrections", json=body, headers=bearer(a))
    assert r.status_code == 200 and r.json()["applied"] is False
    change_id = r.json()["change_id"]
    same = client.post(f"/api/v1/changes/{change_id}/approve", json={"version": 1}, headers=bearer(a))
    assert same.status_code == 422 and same.json()["code"] == "SAME_OFFICER"
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        w.add_user(s, "officer_two", "ward_officer", "ward", w.WARD_A)
        from vaxlink.services.access.users import issue_token

        token = issue_token(s, "officer_two", "t")
    ok = client.post(
        f"/api/v1/changes/{change_id}/approve",
        json={"version": 1},
        headers={"authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200, ok.text
    with Session(engine) as s:
        c = s.get(Citizen, citizen_id)
        assert str(c.birth_date) == "1990-03-16" and c.version == 2
        h = s.scalars(select(CitizenChange).where(CitizenChange.citizen_id == citizen_id)).one()
        assert (h.field, h.old_value, h.new_value, h.changed_by) == (
            "birth_date",
            "1990-03-15",
            "1990-03-16",
            a.username,
        )
    phone = client.post(
        f"/api/v1/citizens/{citizen_id}/corrections",
        json={
            "version": 2,
            "field": "phone",
            "value": "0987 654 321",
            "reason": "số mới",
            "evidence": "người dân khai",
        },
        headers=bearer(a),
    )
    # The phone receives the citizen's one-time codes: it waits for a second officer too.
    assert phone.status_code == 200 and phone.json()["applied"] is False


def _second_officer(engine, app) -> dict[str, str]:
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        w.add_user(s, "officer_two", "ward_officer", "ward", w.WARD_A)
        from vaxlink.services.access.users import issue_token

        return {"authorization": f"Bearer {issue_token(s, 'officer_two', 't')}"}


def _ask(client, a, citizen_id, version, field, value):
    r = client.post(
        f"/api/v1/citizens/{citizen_id}/corrections",
        json={
            "version": version,
            "field": field,
            "value": value,
            "reason": "đúng theo thẻ",
            "evidence": "CCCD",
        },
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.db
def test_a_waiting_change_survives_changes_of_other_fields_and_the_requester_reads_the_outcome(
    client, world, engine, app
):
    a = world.actors[("ward_officer", "own_ward")]
    citizen_id = world.citizens[w.WARD_A]
    second = _second_officer(engine, app)
    with Session(engine) as s:
        old_phone = s.get(Citizen, citizen_id).phone
    name_change = _ask(client, a, citizen_id, 1, "full_name", "Trần Thị Bích Ngọc")
    # Meanwhile the address changes (at once) and the citizen's version moves on.
    assert _ask(client, a, citizen_id, 1, "address", "12 Lê Lợi, Phước Trung")["applied"] is True
    phone_change = _ask(client, a, citizen_id, 2, "phone", "0912345678")
    # A second change of a field already waiting is refused, beside the field.
    again = client.post(
        f"/api/v1/citizens/{citizen_id}/corrections",
        json={"version": 2, "field": "phone", "value": "0911111111", "reason": "x", "evidence": "y"},
        headers=bearer(a),
    )
    assert again.status_code == 422 and again.json()["code"] == "CHANGE_WAITING"
    ok = client.post(
        f"/api/v1/changes/{name_change['change_id']}/approve", json={"version": 1}, headers=second
    )
    assert ok.status_code == 200, ok.text
    ok = client.post(
        f"/api/v1/changes/{phone_change['change_id']}/approve", json={"version": 1}, headers=second
    )
    assert ok.status_code == 200, ok.text
    with Session(engine) as s:
        from vaxlink.storage.models import OutboxMessage

        c = s.get(Citizen, citizen_id)
        assert (c.full_name, c.phone, c.address) == (
            "Trần Thị Bích Ngọc",
            "0912345678",
            "12 Lê Lợi, Phước Trung",
        )
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == old_phone)).all()
        assert old_phone and any("678" in m.body for m in told)
    page = client.get("/changes", headers=w.cookie_headers(a))
    assert page.status_code == 200
    assert f'data-my-change="{name_change["change_id"]}" data-outcome="approved"' in page.text
    assert "officer_two" in page.text
    history = client.get(f"/citizens/{citizen_id}", headers=w.cookie_headers(a)).text
    assert "duyệt bởi officer_two" in history


@pytest.mark.db
def test_a_change_whose_field_changed_meanwhile_closes_as_outdated(client, world, engine, app):
    a = world.actors[("ward_officer", "own_ward")]
    citizen_id = world.citizens[w.WARD_A]
    second = _second_officer(engine, app)
    first = _ask(client, a, citizen_id, 1, "birth_date", "16/03/1990")
    ok = client.post(f"/api/v1/changes/{first['change_id']}/approve", json={"version": 1}, headers=second)
    assert ok.status_code == 200
    # Two requests for the same field cannot wait together; one asked after the first was approved can,
    # and if the field changes again before its approval it closes as outdated instead of failing for ever.
    later = _ask(client, a, citizen_id, 2, "birth_date", "17/03/1990")
    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        c = s.get(Citizen, citizen_id)
        c.birth_date = __import__("datetime").date(1990, 3, 18)
    r = client.post(f"/api/v1/changes/{later['change_id']}/approve", json={"version": 1}, headers=second)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "outdated"
    with Session(engine) as s:
        k = s.get(CaseRow, later["change_id"])
        assert (k.status, k.resolution) == ("closed", "outdated")
        assert str(s.get(Citizen, citizen_id).birth_date) == "1990-03-18"


@pytest.mark.db
def test_pass_moves_the_case_to_the_other_ward_and_collection_waits(client, world):
    a = world.actors[("ward_officer", "own_ward")]
    b = world.actors[("ward_officer", "sibling_ward")]
    case_id = world.cases[w.WARD_A]
    r = client.post(
        f"/api/v1/cases/{case_id}/pass",
        json={"version": 1, "ward_code": w.WARD_B, "reason": "sống ở B"},
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/cases/{case_id}", headers=bearer(a)).status_code == 404
    assert client.get(f"/api/v1/cases/{case_id}", headers=bearer(b)).status_code == 200
    r = client.post(f"/api/v1/cases/{case_id}/collect", json={"version": 2}, headers=bearer(b))
    assert r.status_code == 200
    listed = client.get("/api/v1/cases?status=collection", headers=bearer(b)).json()["items"]
    assert [i["id"] for i in listed] == [case_id]


@pytest.mark.db
def test_search_ignores_diacritics_and_stays_in_the_jurisdiction(client, world):
    a = world.actors[("ward_officer", "own_ward")]
    hits = client.post(
        "/api/v1/citizens/search",
        json={"name": "TRAN thi bich", "birth_date": "15/03/1990"},
        headers=bearer(a),
    ).json()
    assert [h["id"] for h in hits] == [world.citizens[w.WARD_A]]
    assert (
        client.post("/api/v1/citizens/search", json={"name": "Lê Văn Cường"}, headers=bearer(a)).json() == []
    )
    assert client.post("/api/v1/citizens/search", json={}, headers=bearer(a)).status_code == 422


@pytest.mark.db
def test_search_finds_a_phone_however_it_is_written(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    wanted = world.citizens[w.WARD_A]
    with Session(engine) as s:
        phone = s.get(Citizen, wanted).phone
    assert phone and phone.startswith("0")
    for written in (
        phone,
        f"+84 {phone[1:4]} {phone[4:7]} {phone[7:]}",
        phone[1:],
        f"{phone[:4]}.{phone[4:]}",
    ):
        hits = client.post("/api/v1/citizens/search", json={"phone": written}, headers=bearer(a)).json()
        assert [h["id"] for h in hits] == [wanted], written


@pytest.mark.db
def test_counter_reads_a_chip_card_and_shows_differences(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    with Session(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        qr = f"{c.personal_id}||Trần Thị Bích Ngọc|15031990|Nữ|Phước Trung, Bà Rịa|20042021"
    r = client.post("/api/v1/counter/lookup", json={"text": qr}, headers=bearer(a))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from_card"] and [d["field"] for d in body["differences"]] == ["full_name"]
    # POST-redirect-GET: the answer is shown at a URL carrying a token only, so Back never resubmits.
    posted = client.post("/counter", data={"text": qr, "csrf_token": a.csrf}, headers=w.cookie_headers(a))
    assert posted.status_code == 303 and posted.headers["location"].startswith("/counter?found=")
    assert c.personal_id not in posted.headers["location"]
    page = client.get(posted.headers["location"], headers=w.cookie_headers(a))
    assert page.status_code == 200 and "Trần Thị Bích Ngọc" in page.text
    # Another user does not see it at that URL.
    b = world.actors[("ward_officer", "sibling_ward")]
    other = client.get(posted.headers["location"], headers=w.cookie_headers(b))
    assert "Trần Thị Bích Ngọc" not in other.text
    # A mistake keeps what was typed, with the message beside the field.
    short = client.post(
        "/counter", data={"text": c.personal_id[2:], "csrf_token": a.csrf}, headers=w.cookie_headers(a)
    )
    assert short.status_code in (404, 422) and f'value="{c.personal_id[2:]}"' in short.text
    assert 'id="scan-error"' in short.text
    assert (
        client.post("/api/v1/counter/lookup", json={"text": "not a card"}, headers=bearer(a)).status_code
        == 422
    )


@pytest.mark.db
def test_pages_speak_vietnamese_and_english(client, world):
    a = world.actors[("ward_officer", "own_ward")]
    assert "Việc cần xử lý" in client.get("/cases", headers=w.cookie_headers(a)).text
    en = client.get("/cases?lang=en", headers=w.cookie_headers(a))
    assert "Worklist" in en.text and "lang=en" in en.headers["set-cookie"]

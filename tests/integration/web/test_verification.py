"""Verification between wards: a ward collects a person and asks the ward of permanent residence, which
confirms or rejects; only the two wards and the supervisors above them see the request; overdue requests
are escalated by a supervisor. Two officers answering at once: tests/integration/web/test_races.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.integration.web import world as w
from vaxlink.services.access.users import issue_token
from vaxlink.services.audit.log import bind_key, verify_chain
from vaxlink.storage.db import transaction
from vaxlink.storage.models import (
    AuditEvent,
    Citizen,
    CitizenStatus,
    IssuedNumber,
    MatchResult,
    VerificationRequest,
)
from vaxlink.storage.models import Case as CaseRow


def bearer(a: w.Actor | str) -> dict[str, str]:
    return {"authorization": f"Bearer {a if isinstance(a, str) else a.token}"}


def ward_c_officer(engine, key: bytes) -> str:
    with transaction(engine) as s:
        bind_key(s, key)
        w.add_user(s, "officer_ward_c", "ward_officer", "ward", w.WARD_C)
        return issue_token(s, "officer_ward_c", "t")


def collect_and_send(client, world, person: dict | None = None) -> tuple[int, int]:
    """Ward B collects the person of its open case and asks ward A (their permanent residence)."""
    b = world.actors[("ward_officer", "sibling_ward")]
    case_id = world.cases[w.WARD_B]
    r = client.post(
        f"/api/v1/cases/{case_id}/collect", json={"version": 1, "note": "tạm trú dài hạn"}, headers=bearer(b)
    )
    assert r.status_code == 200, r.text
    body = {
        "case_id": case_id,
        "case_version": 2,
        "person": person
        or {
            "full_name": "Trần Thị Bích",
            "birth_date": "15/03/1990",
            "sex": "Nữ",
            "permanent_ward_code": w.WARD_A,
            "phone": "0912345678",
        },
    }
    r = client.post("/api/v1/verification-requests", json=body, headers=bearer(b))
    assert r.status_code == 200, r.text
    return case_id, r.json()["request_id"]


@pytest.mark.db
def test_full_journey_between_two_wards(client, world, engine, app):
    key = app.state.vx.audit_key
    c_token = ward_c_officer(engine, key)
    a = world.actors[("ward_officer", "own_ward")]
    b = world.actors[("ward_officer", "sibling_ward")]
    case_id, rid = collect_and_send(client, world)

    # Ward A sees it in its inbox and in its worklist's count; ward B sees it as sent.
    incoming = client.get("/api/v1/verification-requests?box=incoming", headers=bearer(a)).json()
    assert [r["id"] for r in incoming] == [rid] and incoming[0]["incoming"]
    assert client.get("/api/v1/cases", headers=bearer(a)).json()["incoming_verifications"] >= 1
    outgoing = client.get("/api/v1/verification-requests?box=outgoing", headers=bearer(b)).json()
    assert [r["id"] for r in outgoing] == [rid]
    # Anyone else: not found, not listed.
    for headers in (bearer(c_token), bearer(world.actors[("supervisor", "other_province")])):
        assert client.get(f"/api/v1/verification-requests/{rid}", headers=headers).status_code == 404
        assert client.get("/api/v1/verification-requests", headers=headers).json() == []
    assert (
        client.get(
            f"/verification/{rid}", headers=w.cookie_headers(world.actors[("supervisor", "other_province")])
        ).status_code
        == 404
    )
    # The district supervisor above both wards sees it.
    sup = world.actors[("supervisor", "parent_district")]
    assert client.get(f"/api/v1/verification-requests/{rid}", headers=bearer(sup)).status_code == 200

    detail = client.get(f"/api/v1/verification-requests/{rid}", headers=bearer(a)).json()
    assert world.citizens[w.WARD_A] in [h["id"] for h in detail["suggestions"]]
    # The requesting ward cannot answer its own request.
    r = client.post(
        f"/api/v1/verification-requests/{rid}/answer",
        json={"version": detail["version"], "decision": "confirm", "citizen_id": world.citizens[w.WARD_B]},
        headers=bearer(b),
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/verification-requests/{rid}/answer",
        json={"version": detail["version"], "decision": "confirm", "citizen_id": world.citizens[w.WARD_A]},
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["linked_dose_records"]

    with transaction(engine) as s:
        case = s.get(CaseRow, case_id)
        assert (
            case.status == "closed"
            and case.resolution == "verified"
            and case.citizen_id == world.citizens[w.WARD_A]
        )
        m = s.get(MatchResult, case.dose_record_id)
        assert (
            m.outcome == "confirmed"
            and m.citizen_id == world.citizens[w.WARD_A]
            and m.decided_by == a.username
        )
        assert s.get(CitizenStatus, world.citizens[w.WARD_A]).doses >= 1
        actions = set(s.scalars(select(AuditEvent.action)))
        assert {"verification_sent", "verification_confirmed", "verification_viewed"} <= actions
        assert verify_chain(s.connection(), key).ok
    # Both wards see the outcome.
    for actor in (a, b):
        seen = client.get(f"/api/v1/verification-requests/{rid}", headers=bearer(actor)).json()
        assert seen["status"] == "confirmed" and seen["citizen_id"] == world.citizens[w.WARD_A]
    page = client.get(f"/verification/{rid}", headers=w.cookie_headers(b))
    assert page.status_code == 200 and 'data-answer="confirmed"' in page.text


@pytest.mark.db
def test_confirmed_as_a_new_resident_issues_a_number_and_rejection_reopens_the_case(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    b = world.actors[("ward_officer", "sibling_ward")]
    case_id, rid = collect_and_send(
        client,
        world,
        {
            "full_name": "Đỗ Văn Hải",
            "birth_date": "02/01/2001",
            "sex": "Nam",
            "permanent_ward_code": w.WARD_A,
        },
    )
    r = client.post(
        f"/api/v1/verification-requests/{rid}/answer",
        json={"version": 1, "decision": "reject"},
        headers=bearer(a),
    )
    assert r.status_code == 422  # a rejection needs its reason
    r = client.post(
        f"/api/v1/verification-requests/{rid}/answer",
        json={"version": 1, "decision": "confirm", "create_new": True},
        headers=bearer(a),
    )
    assert r.status_code == 200, r.text
    cid = r.json()["citizen_id"]
    with transaction(engine) as s:
        c = s.get(Citizen, cid)
        assert c.personal_id.startswith("077") and c.personal_id[3] == "2" and c.personal_id[4:6] == "01"
        assert c.permanent_ward_code == w.WARD_A and c.current_ward_code == w.WARD_B
        assert s.get(IssuedNumber, c.personal_id).citizen_id == cid
        assert s.get(CaseRow, case_id).status == "closed"

    # A second request, rejected: the requesting ward's case is back on its worklist.
    with transaction(engine) as s:
        k = w.add_case(s, world.batch_id, s.get(Citizen, world.citizens[w.WARD_B]))
    r = client.post(f"/api/v1/cases/{k.id}/collect", json={"version": 1}, headers=bearer(b))
    r = client.post(
        "/api/v1/verification-requests",
        json={
            "case_id": k.id,
            "person": {
                "full_name": "Ngô Thị Lan",
                "birth_date": "1985",
                "sex": "F",
                "permanent_ward_code": w.WARD_A,
            },
        },
        headers=bearer(b),
    )
    rid2 = r.json()["request_id"]
    r = client.post(
        f"/api/v1/verification-requests/{rid2}/answer",
        json={"version": 1, "decision": "reject", "reason": "không có người này trong sổ"},
        headers=bearer(a),
    )
    assert r.status_code == 200
    with transaction(engine) as s:
        assert s.get(CaseRow, k.id).status == "open"
    seen = client.get(f"/api/v1/verification-requests/{rid2}", headers=bearer(b)).json()
    assert seen["status"] == "rejected" and seen["answer_reason"] == "không có người này trong sổ"


@pytest.mark.db
def test_overdue_requests_are_escalated_by_a_supervisor(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    _, rid = collect_and_send(client, world)
    sup = world.actors[("supervisor", "parent_district")]
    assert client.get("/api/v1/verification-requests?box=overdue", headers=bearer(sup)).json() == []
    with transaction(engine) as s:
        s.execute(
            update(VerificationRequest)
            .where(VerificationRequest.id == rid)
            .values(due_at=w.now() - timedelta(days=1))
        )
    overdue = client.get("/api/v1/verification-requests?box=overdue", headers=bearer(sup)).json()
    assert [r["id"] for r in overdue] == [rid] and overdue[0]["overdue"]
    page = client.get("/verification/overdue", headers=w.cookie_headers(sup))
    assert f'data-request="{rid}"' in page.text
    other = world.actors[("supervisor", "other_province")]
    assert client.get("/api/v1/verification-requests?box=overdue", headers=bearer(other)).json() == []
    assert (
        client.post(
            f"/api/v1/verification-requests/{rid}/escalate", json={"version": 1}, headers=bearer(other)
        ).status_code
        == 404
    )
    # A ward officer does not escalate.
    assert (
        client.post(
            f"/api/v1/verification-requests/{rid}/escalate", json={"version": 1}, headers=bearer(a)
        ).status_code
        == 403
    )
    r = client.post(
        f"/verification/{rid}/escalate",
        data={"version": 1, "note": "quá hạn", "csrf_token": sup.csrf},
        headers=w.cookie_headers(sup),
    )
    assert r.status_code == 303, r.text
    again = client.post(
        f"/api/v1/verification-requests/{rid}/escalate", json={"version": 1}, headers=bearer(sup)
    )
    assert again.status_code == 409
    seen = client.get(f"/api/v1/verification-requests/{rid}", headers=bearer(a)).json()
    assert seen["escalated_at"] is not None


@pytest.mark.db
def test_pages_send_and_answer(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    b = world.actors[("ward_officer", "sibling_ward")]
    case_id = world.cases[w.WARD_B]
    client.post(f"/api/v1/cases/{case_id}/collect", json={"version": 1}, headers=bearer(b))
    inbox = client.get("/verification", headers=w.cookie_headers(b))
    assert f'data-waiting="{case_id}"' in inbox.text
    form = client.get(f"/verification/new?case_id={case_id}", headers=w.cookie_headers(b))
    assert form.status_code == 200 and "LÊ VĂN CƯỜNG" in form.text
    r = client.post(
        "/verification/new",
        data={
            "csrf_token": b.csrf,
            "case_id": case_id,
            "case_version": 2,
            "full_name": "Trần Thị Bích",
            "birth_date": "15/03/1990",
            "sex": "F",
            "permanent_ward_code": w.WARD_A,
        },
        headers=w.cookie_headers(b),
    )
    assert r.status_code == 303, r.text
    rid = int(r.headers["location"].split("/")[-1].split("?")[0])
    page = client.get(f"/verification/{rid}", headers=w.cookie_headers(a))
    assert "Xác nhận là người này" in page.text
    r = client.post(
        f"/verification/{rid}/answer",
        data={
            "csrf_token": a.csrf,
            "version": 1,
            "decision": "confirm",
            "citizen_id": world.citizens[w.WARD_A],
        },
        headers=w.cookie_headers(a),
    )
    assert r.status_code == 303
    with transaction(engine) as s:
        assert s.get(VerificationRequest, rid).status == "confirmed"

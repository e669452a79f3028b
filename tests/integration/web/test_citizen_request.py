"""A citizen's correction request online: identity confirmed with number, birth date and a one-time code;
the request lands on the worklist of the citizen's ward and of no other."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.integration.web import world as w
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, Citizen, OutboxMessage
from vaxlink.storage.models import Case as CaseRow

CSRF = re.compile(r'name="self_csrf" value="([^"]+)"')


def sign_in(client, engine, citizen_id: int) -> str:
    with transaction(engine) as s:
        c = s.get(Citizen, citizen_id)
        pid, dob = c.personal_id, c.birth_date.strftime("%d/%m/%Y")
    token = CSRF.search(client.get("/self").text).group(1)
    r = client.post("/self", data={"personal_id": pid, "date_of_birth": dob, "self_csrf": token})
    assert r.status_code == 200
    with transaction(engine) as s:
        sms = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        code = re.search(r"\b(\d{6})\b", sms.body).group(1)
    r = client.post("/self/code", data={"code": code, "self_csrf": token})
    assert r.status_code == 303
    return token


@pytest.mark.db
def test_a_request_lands_on_the_citizens_ward_worklist(client, world, engine):
    # Without a confirmed identity the form is not shown and nothing is filed.
    assert client.get("/self/correction").headers["location"] == "/self"
    r = client.post("/self/correction", data={"field": "full_name", "text": "x", "self_csrf": "y"})
    assert r.status_code == 303
    token = sign_in(client, engine, world.citizens[w.WARD_A])
    assert 'name="text"' in client.get("/self/correction").text
    r = client.post(
        "/self/correction",
        data={"field": "birth_date", "text": "Ngày sinh đúng là 16/03/1990", "self_csrf": token},
    )
    assert r.status_code == 200, r.text
    case_id = int(re.search(r'data-filed="(\d+)"', r.text).group(1))
    with transaction(engine) as s:
        k = s.get(CaseRow, case_id)
        assert k.kind == "correction" and k.status == "open" and k.ward_code == w.WARD_A
        assert k.citizen_id == world.citizens[w.WARD_A] and k.details["text"].startswith("Ngày sinh")
        assert s.scalar(
            select(AuditEvent.action).where(
                AuditEvent.resource_type == "case", AuditEvent.resource_id == str(case_id)
            )
        ) == ("correction_requested")
    a = world.actors[("ward_officer", "own_ward")]
    listed = client.get(
        "/api/v1/cases?kind=correction", headers={"authorization": f"Bearer {a.token}"}
    ).json()
    assert case_id in [i["id"] for i in listed["items"]]
    b = world.actors[("ward_officer", "sibling_ward")]
    listed = client.get(
        "/api/v1/cases?kind=correction", headers={"authorization": f"Bearer {b.token}"}
    ).json()
    assert case_id not in [i["id"] for i in listed["items"]]
    # An empty description is refused; a forged form token files nothing.
    r = client.post("/self/correction", data={"field": "other", "text": " ", "self_csrf": token})
    assert r.status_code == 422
    r = client.post("/self/correction", data={"field": "other", "text": "sai", "self_csrf": "forged"})
    assert r.status_code == 303
    with transaction(engine) as s:
        n = len(s.scalars(select(CaseRow).where(CaseRow.kind == "correction")).all())
    assert n == 1

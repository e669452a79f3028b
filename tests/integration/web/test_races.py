"""Two officers settling the same case at the same moment: exactly one wins, the other gets a clear 409,
and the dose record is linked once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.integration.web import world as w
from vaxlink.services.audit import bind_key, verify_chain
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, Citizen, MatchResult
from vaxlink.storage.models import Case as CaseRow

ROUNDS = 8


@pytest.mark.db
def test_two_officers_settle_the_same_case(app, world, engine, web_settings):
    from tests.integration.web.conftest import TestClient

    key = app.state.vx.audit_key
    first = world.actors[("ward_officer", "own_ward")]
    with transaction(engine) as s:
        bind_key(s, key)
        second_user = w.add_user(s, "second_officer", "ward_officer", "ward", w.WARD_A)
        second = w.Actor("second_officer", "ward_officer", "own_ward")
        from vaxlink.services.users import issue_token

        second.token = issue_token(s, second_user.username, "t")
    outcomes = []
    for _ in range(ROUNDS):
        with transaction(engine) as s:
            citizen = s.get(Citizen, world.citizens[w.WARD_A])
            case_id = w.add_case(s, world.batch_id, citizen).id
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def settle(actor: w.Actor, case_id: int = case_id) -> None:
            with TestClient(app) as c:
                barrier.wait()
                r = c.post(
                    f"/api/v1/cases/{case_id}/link",
                    json={"version": 1, "citizen_id": world.citizens[w.WARD_A]},
                    headers={"authorization": f"Bearer {actor.token}"},
                )
                statuses.append(r.status_code)
                if r.status_code == 409:
                    assert r.json()["code"] == "VERSION_CONFLICT"

        threads = [threading.Thread(target=settle, args=(a,)) for a in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes.append(sorted(statuses))
        with engine.connect() as c:
            case = c.execute(select(CaseRow.status, CaseRow.version).where(CaseRow.id == case_id)).one()
            assert case == ("closed", 2)
            linked = c.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "case_linked", AuditEvent.resource_id == str(case_id))
            )
            assert linked == 1
    assert all(o == [200, 409] for o in outcomes), outcomes
    with engine.connect() as c:
        assert verify_chain(c, key).ok
        assert (
            c.scalar(select(func.count()).select_from(MatchResult).where(MatchResult.outcome == "confirmed"))
            == ROUNDS
        )

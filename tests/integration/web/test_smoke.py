from __future__ import annotations

import pytest

from tests.integration.web import world as w


@pytest.mark.db
def test_officer_sees_own_case(client, world):
    a = world.actors[("ward_officer", "own_ward")]
    r = client.get("/api/v1/cases", headers={"authorization": f"Bearer {a.token}"})
    assert r.status_code == 200, r.text
    ids = [i["id"] for i in r.json()["items"]]
    assert ids == [world.cases[w.WARD_A]]
    r = client.get(f"/api/v1/cases/{world.cases[w.WARD_A]}", headers={"authorization": f"Bearer {a.token}"})
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/cases/{world.cases[w.WARD_B]}", headers={"authorization": f"Bearer {a.token}"})
    assert r.status_code == 404, r.text
    r = client.get("/cases", headers=w.cookie_headers(a))
    assert r.status_code == 200, r.text
    r = client.get(f"/cases/{world.cases[w.WARD_A]}", headers=w.cookie_headers(a))
    assert r.status_code == 200, r.text
    assert "Trần Thị Bích" in r.text

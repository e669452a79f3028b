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
    # The waterfall behind the candidate's weight, in words, with what the other records lent.
    assert "data-waterfall" in r.text and "Vì sao: tổng điểm +5.5 bit" in r.text
    assert 'data-part="other_records"' in r.text and "+1.5" in r.text
    assert "Ngày sinh sai một chữ số" in r.text

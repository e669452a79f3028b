"""New residents: a new personal identification number follows the rules and is never issued twice; the
printable notice carries the number as a Code 128 barcode and a QR code that scanners read back."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.integration.web import world as w
from vaxlink.credentials import codes
from vaxlink.domain.personal_ids import PersonalId, parse_personal_id
from vaxlink.domain.sex import Sex
from vaxlink.services.audit.log import bind_key
from vaxlink.services.workbench import new_residents
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, CitizenChange, IssuedNumber


@given(
    province=st.sampled_from(["01", "79", "77", "48", "96"]),
    sex=st.sampled_from([Sex.MALE, Sex.FEMALE]),
    year=st.integers(1900, 2099),
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_a_drawn_number_follows_the_rules(province, sex, year):
    number = new_residents.draw_number(f"0{province}", sex, year)
    pid = parse_personal_id(number, today=date(2099, 12, 31))
    assert isinstance(pid, PersonalId), number
    assert pid.place_code == f"0{province}" and pid.sex is sex and pid.birth_year == year
    assert number[4:6] == f"{year % 100:02d}"


@pytest.mark.db
def test_numbers_are_never_issued_twice_even_when_the_draw_repeats(app, engine, web_settings, monkeypatch):
    key = app.state.vx.audit_key
    serials = iter([5, 5, 5, 7, 5, 7, 9])
    monkeypatch.setattr(new_residents.secrets, "randbelow", lambda _n: next(serials))
    issued = []
    with transaction(engine) as s:
        bind_key(s, key)
        for _ in range(3):
            issued.append(new_residents.issue_number(s, "079", Sex.FEMALE, 1995, "test"))
    assert issued == ["079195000005", "079195000007", "079195000009"]
    # A number already in the register (issued elsewhere, or an earlier number kept as an alias) is not
    # drawn either.
    with transaction(engine) as s:
        bind_key(s, key)
        taken = w.add_citizen(s, w.WARD_C, "Phạm Văn Tư", born=date(1995, 1, 1)).personal_id
    draws = iter([taken, issued[0], "079095000123"])
    monkeypatch.setattr(new_residents, "draw_number", lambda *_a: next(draws))
    with transaction(engine) as s:
        bind_key(s, key)
        assert new_residents.issue_number(s, "079", Sex.MALE, 1995, "test") == "079095000123"


@pytest.mark.db
def test_many_registrations_give_distinct_valid_numbers(app, engine, world):
    key = app.state.vx.audit_key
    with transaction(engine) as s:
        bind_key(s, key)
        people = [
            new_residents.register_citizen(
                s,
                "officer",
                "ward:legacy:26560",
                new_residents.NewPerson(
                    full_name=f"Nguyễn Văn Số {chr(65 + i % 26)}{chr(97 + i // 26)}",  # 120 different people
                    birth_date="1990" if i % 2 else "02/03/2004",
                    sex="Nam" if i % 3 else "Nữ",
                    permanent_ward_code=w.WARD_A,
                    current_ward_code=w.WARD_A,
                ),
                "test",
            )
            for i in range(120)
        ]
        numbers = [c.personal_id for c in people]
        assert len(set(numbers)) == 120
        for c in people:
            pid = parse_personal_id(c.personal_id)
            assert isinstance(pid, PersonalId)
            assert pid.place_code == "077" and pid.birth_year == c.birth_year and pid.sex.value == c.sex
        assert s.scalar(select(func.count()).select_from(IssuedNumber)) == 120
        assert (
            s.scalar(
                select(func.count()).select_from(CitizenChange).where(CitizenChange.field == "personal_id")
            )
            == 120
        )
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "citizen_registered")
            )
            == 120
        )


@pytest.mark.db
def test_register_and_print_the_notice(client, world, engine):
    a = world.actors[("ward_officer", "own_ward")]
    r = client.post(
        "/api/v1/residents",
        json={
            "full_name": "Võ Thị Hoa",
            "birth_date": "09/09/2001",
            "sex": "Nữ",
            "permanent_ward_code": w.WARD_A,
        },
        headers={"authorization": f"Bearer {a.token}"},
    )
    assert r.status_code == 200, r.text
    cid, number = r.json()["citizen_id"], r.json()["personal_id"]
    assert number.startswith("0773" + "01")
    pdf = client.get(f"/citizens/{cid}/notice.pdf", headers=w.cookie_headers(a))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"DejaVuSans" in pdf.content  # a font with Vietnamese
    # The codes on the notice are the ones credentials.codes draws: render them and read them back.
    read = {(c.format, c.text) for c in codes.read_codes(codes.code128_png(number))}
    assert ("Code 128", number) in read
    assert codes.read_codes(codes.id_qr_png(number))[0].text == number
    # Out of the jurisdiction the citizen does not exist.
    other = world.actors[("ward_officer", "sibling_ward")]
    assert client.get(f"/citizens/{cid}/notice.pdf", headers=w.cookie_headers(other)).status_code == 404


@pytest.mark.db
def test_a_new_number_for_someone_already_there_needs_a_second_officer(app, client, world, engine):
    """The same normalised name, birth date and sex in the register (or an open request): refused with
    the existing entry named; another officer of the ward may confirm it is someone else, the first may
    not confirm their own attempt."""
    from vaxlink.services.access.users import issue_token

    with transaction(engine) as s:
        bind_key(s, app.state.vx.audit_key)
        w.add_user(s, "ward_a_second", "ward_officer", "ward", w.WARD_A, "legacy")
        second = {"authorization": f"Bearer {issue_token(s, 'ward_a_second', 'test', actor='test')}"}
    first = {"authorization": f"Bearer {world.actors[('ward_officer', 'own_ward')].token}"}
    existing = world.citizens[w.WARD_A]  # Trần Thị Bích, 15/03/1990, female
    person = {
        "full_name": "tran  thi BÍCH",
        "birth_date": "15/03/1990",
        "sex": "Nữ",
        "permanent_ward_code": w.WARD_A,
    }
    with transaction(engine) as s:
        before = s.scalar(select(func.count()).select_from(IssuedNumber))

    r = client.post("/api/v1/residents", json=person, headers=first)
    assert r.status_code == 409 and r.json()["code"] == "SAME_PERSON", r.text
    assert f"hồ sơ công dân #{existing}" in r.json()["detail_vi"] and "cán bộ khác" in r.json()["detail_vi"]
    # The first officer cannot confirm their own attempt, nor can anyone confirm without a first attempt.
    r = client.post("/api/v1/residents", json={**person, "confirm_other_person": True}, headers=first)
    assert r.status_code == 409
    other = {**person, "full_name": "Trần Thị Bích", "birth_date": "1990-03-15"}
    r = client.post("/api/v1/residents", json={**other, "confirm_other_person": True}, headers=second)
    assert r.status_code == 200, r.text
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(IssuedNumber)) == before + 1
        [event] = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "citizen_registered")
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        assert (
            event.actor == "ward_a_second"
            and event.details["same_person_first_officer"] == "ward_officer_own_ward"
        )
        refusals = s.scalars(select(AuditEvent).where(AuditEvent.reason == "SAME_PERSON")).all()
        assert refusals and all("Bích" not in str(e.details) for e in refusals)
    # A different person of the same name (another birth date) needs nobody else.
    r = client.post("/api/v1/residents", json={**person, "birth_date": "16/03/1990"}, headers=first)
    assert r.status_code == 200, r.text

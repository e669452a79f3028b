"""One person, one row: the open cases of one health identity at one desk are one row of the worklist, the
case page lists the person's other records and the candidate's doses, and one action settles them all (or
none, when one changed meanwhile). The worklist sorts by priority, date or name, page after page, filters
by the words the officer reads, and keeps each officer's saved filters in the database."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.integration.web import world as w
from vaxlink.services.access.auth import Principal
from vaxlink.services.errors import Invalid
from vaxlink.services.workbench import worklist as cases
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AuditEvent, Citizen, DoseRecord, MatchResult, SavedFilter
from vaxlink.storage.models import Case as CaseRow

pytestmark = pytest.mark.db


def _person(engine, world, n: int = 3, key: str = "r900001") -> list[int]:
    """`n` open cases of one person (one health identity) in ward A, the first a conflict."""
    with transaction(engine) as s:
        c = w.add_citizen(s, w.WARD_A, "Võ Thị Hằng", born=date(1985, 6, 2), sex="F")
        ids = []
        for i in range(n):
            k = w.add_case(
                s,
                world.batch_id,
                c,
                kind="conflict" if i == 0 else "unmatched",
                priority=2 if i == 0 else 1,
                name="VO THI HANG" if i % 2 else "Võ Hằng",
                dob="02/06/1985",
            )
            k.person_key = key
            ids.append(k.id)
        return ids


def _officer(world) -> w.Actor:
    return world.actors[("ward_officer", "own_ward")]


def _page(client, a: w.Actor, url: str) -> str:
    r = client.get(url, headers=w.cookie_headers(a))
    assert r.status_code == 200, r.text
    return r.text


def _post(client, a: w.Actor, url: str, data: dict[str, object]):
    return client.post(url, data={**data, "csrf_token": a.csrf}, headers=w.cookie_headers(a))


def test_one_person_is_one_row_and_one_action_settles_every_record(client, world, engine):
    a = _officer(world)
    lead, *others = _person(engine, world)
    page = _page(client, a, "/cases")
    assert f'data-case="{lead}" data-records="3"' in page
    for k in others:
        assert f'data-case="{k}"' not in page
    assert "3 bản ghi" in page
    case = _page(client, a, f"/cases/{lead}")
    for k in others:
        assert f'data-sibling="{k}"' in case
    also = ",".join(f"{k}:1" for k in others)
    assert f'name="also" value="{also}"' in case
    with Session(engine) as s:
        citizen_id = s.scalar(select(CaseRow.citizen_id).where(CaseRow.id == lead))
    r = _post(client, a, f"/cases/{lead}/link", {"version": 1, "citizen_id": citizen_id, "also": also})
    assert r.status_code == 303, r.text
    with Session(engine) as s:
        rows = s.execute(
            select(CaseRow.status, CaseRow.resolution, MatchResult.outcome, MatchResult.citizen_id)
            .join(MatchResult, MatchResult.dose_record_id == CaseRow.dose_record_id)
            .where(CaseRow.id.in_([lead, *others]))
        ).all()
        assert rows == [("closed", "linked", "confirmed", citizen_id)] * 3
        events = s.scalars(
            select(AuditEvent.resource_id).where(AuditEvent.action == "case_linked").order_by(AuditEvent.id)
        ).all()
        assert sorted(events[-3:]) == sorted(str(k) for k in (lead, *others))
    assert f'data-case="{lead}"' not in _page(client, a, "/cases")


def test_a_record_changed_meanwhile_stops_the_whole_group(client, world, engine):
    a = _officer(world)
    lead, second, third = _person(engine, world)
    with transaction(engine) as s:
        s.get(CaseRow, third).version = 2  # another officer acted on it meanwhile
        citizen_id = s.get(CaseRow, lead).citizen_id
    r = _post(
        client,
        a,
        f"/cases/{lead}/link",
        {"version": 1, "citizen_id": citizen_id, "also": f"{second}:1,{third}:1"},
    )
    assert r.status_code == 409
    with Session(engine) as s:
        statuses = s.scalars(select(CaseRow.status).where(CaseRow.id.in_([lead, second, third]))).all()
    assert statuses == ["open"] * 3


def test_a_case_of_someone_else_cannot_ride_along(client, world, engine):
    a = _officer(world)
    lead, _second = _person(engine, world, n=2)
    stranger = world.cases[w.WARD_A]
    elsewhere = world.cases[w.WARD_C]
    with Session(engine) as s:
        citizen_id = s.get(CaseRow, lead).citizen_id
    r = _post(
        client, a, f"/cases/{lead}/health-wrong", {"version": 1, "note": "sai tên", "also": f"{stranger}:1"}
    )
    assert r.status_code == 422
    r = _post(
        client, a, f"/cases/{lead}/link", {"version": 1, "citizen_id": citizen_id, "also": f"{elsewhere}:1"}
    )
    assert r.status_code == 404
    with Session(engine) as s:
        assert (
            s.scalars(select(CaseRow.status).where(CaseRow.id.in_([lead, stranger, elsewhere]))).all()
            == ["open"] * 3
        )


def test_taking_a_person_takes_every_record_and_mine_shows_them(client, world, engine):
    a = _officer(world)
    lead, *others = _person(engine, world)
    r = _post(client, a, f"/cases/{lead}/take", {"version": 1, "also": ",".join(f"{k}:1" for k in others)})
    assert r.status_code == 303
    with Session(engine) as s:
        taken = s.scalars(select(CaseRow.assigned_to).where(CaseRow.id.in_([lead, *others]))).all()
    assert taken == [a.username] * 3
    mine = _page(client, a, "/cases?mine=1")
    assert f'data-case="{lead}" data-records="3"' in mine
    assert f'data-case="{world.cases[w.WARD_A]}"' not in mine


def test_the_case_page_shows_the_candidates_doses(client, world, engine):
    a = _officer(world)
    with transaction(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        done = w.add_case(s, world.batch_id, c)
        m = s.get(MatchResult, done.dose_record_id)
        m.outcome, m.citizen_id = "linked", c.id
        done.status = "closed"
    page = _page(client, a, f"/cases/{world.cases[w.WARD_A]}")
    assert f'data-existing-doses="{world.citizens[w.WARD_A]}"' in page
    assert "Mũi tiêm đã gắn với người này (1)" in page
    assert "01/09/2021" in page


def _principal(engine, username: str) -> Principal:
    from vaxlink.services.access.auth import _principal as principal_of
    from vaxlink.storage.models import AppUser

    with Session(engine) as s:
        return principal_of(s.scalar(select(AppUser).where(AppUser.username == username)), "test")


def test_every_sort_pages_through_each_person_once(app, world, engine):
    from vaxlink.services.audit.log import bind_key

    with transaction(engine) as s:
        for i, name in enumerate(["Đặng Văn Bảo", "An Thị Chi", "Bùi Minh Dũng", "Cao Thị Én", "Lý Văn Gia"]):
            c = w.add_citizen(s, w.WARD_A, name, born=date(1970 + i, 1, 2))
            k = w.add_case(s, world.batch_id, c, name=name, created=w.now() - timedelta(days=10 - i))
            k.person_key = f"r{800000 + i}"
            if i == 2:  # a second record of the same person
                w.add_case(s, world.batch_id, c, name=name, priority=1).person_key = k.person_key
    who = _principal(engine, _officer(world).username)
    for sort in cases.SORTS:
        seen: list[cases.WorkItem] = []
        cursor = None
        with transaction(engine) as s:
            bind_key(s, app.state.vx.audit_key)
            while True:
                page = cases.worklist(s, who, cases.WorkFilter(sort=sort, by_person=True), cursor, limit=2)
                seen += page.items
                cursor = page.next_cursor
                if cursor is None:
                    break
            full = cases.worklist(s, who, cases.WorkFilter(sort=sort, by_person=True), None, limit=100)
        assert [i.id for i in seen] == [i.id for i in full.items], sort
        assert len({i.id for i in seen}) == len(seen) == full.total
        assert full.records == full.total + 1
        if sort == "name":
            names = [i.health_name or "" for i in seen]
            # The database's own order (bytes on SQLite, its collation on PostgreSQL) on either backend.
            assert names.index("An Thị Chi") < names.index("Bùi Minh Dũng") < names.index("Lý Văn Gia"), names
        if sort == "date":
            assert [i.created_at for i in seen] == sorted(i.created_at for i in seen)
        if sort == "priority":
            assert [i.priority for i in seen] == sorted((i.priority for i in seen), reverse=True)
    with transaction(engine) as s, pytest.raises(Invalid):
        bind_key(s, app.state.vx.audit_key)
        # A cursor of one sort is no cursor of another.
        first = cases.worklist(s, who, cases.WorkFilter(sort="name", by_person=True), None, limit=1)
        cases.worklist(s, who, cases.WorkFilter(sort="date", by_person=True), first.next_cursor, limit=1)


def test_words_find_kinds_and_diagnoses_as_the_officer_reads_them(client, world, engine):
    a = _officer(world)
    with transaction(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        lost = w.add_case(s, world.batch_id, c, kind="unmatched", reasons="NO_CANDIDATE", priority=1).id
    found = _page(client, a, "/cases?q=khong+tim+thay")
    assert f'data-case="{lost}"' in found
    assert f'data-case="{world.cases[w.WARD_A]}"' not in found
    by_reason = _page(client, a, "/cases?q=ngay+sinh+sai")
    assert f'data-case="{world.cases[w.WARD_A]}"' in by_reason
    assert f'data-case="{lost}"' not in by_reason


def test_saved_filters_are_the_officers_own_and_kept_in_the_database(client, world, engine):
    a = _officer(world)
    other = world.actors[("ward_officer", "parent_district")]
    r = _post(
        client, a, "/cases/filters", {"name": "  Việc   của tôi ", "query": "mine=1&cursor=abc&sort=name&x=1"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/cases?mine=1&sort=name"
    with Session(engine) as s:
        kept = s.execute(select(SavedFilter.name, SavedFilter.query)).all()
    assert kept == [("Việc của tôi", "mine=1&sort=name")]
    page = _page(client, a, "/cases")
    assert 'href="/cases?mine=1&amp;sort=name"' in page and "Việc của tôi" in page
    assert "Việc của tôi" not in _page(client, other, "/cases")
    # The same name again replaces the filter; another officer cannot delete it.
    _post(client, a, "/cases/filters", {"name": "Việc của tôi", "query": "kind=conflict"})
    with Session(engine) as s:
        fid, query = s.execute(select(SavedFilter.id, SavedFilter.query)).one()
    assert query == "kind=conflict"
    _post(client, other, f"/cases/filters/{fid}/delete", {})
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(SavedFilter)) == 1
    _post(client, a, f"/cases/filters/{fid}/delete", {})
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(SavedFilter)) == 0
    assert _post(client, a, "/cases/filters", {"name": " ", "query": "mine=1"}).status_code == 422


def test_case_and_citizen_pages_tell_who_did_what_when_and_why(client, world, engine):
    from vaxlink.storage.models import AppUser

    a = _officer(world)
    with transaction(engine) as s:
        s.execute(
            update(AppUser).where(AppUser.username == a.username).values(display_name="Thiếu úy Lê Thị Thu")
        )
    case_id, citizen_id = world.cases[w.WARD_A], world.citizens[w.WARD_A]
    r = _post(
        client,
        a,
        f"/cases/{case_id}/link",
        {"version": 1, "citizen_id": citizen_id, "note": "Đối chiếu CCCD tại phường"},
    )
    assert r.status_code == 303, r.text
    case = _page(client, a, f"/cases/{case_id}")
    settled = re.search(r'data-resolution="linked">([^<]*)<', case)
    assert settled and "Đã gắn với công dân" in settled.group(1) and "Thiếu úy Lê Thị Thu" in settled.group(1)
    entry = re.search(r'<ol class="history">(.*?)</ol>', case, re.S)
    assert entry is not None
    assert re.search(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}", entry.group(1))
    assert "Gắn với công dân" in entry.group(1) and "Thiếu úy Lê Thị Thu" in entry.group(1)
    assert "Đối chiếu CCCD tại phường" in entry.group(1)
    assert "linked" not in re.sub(r"<[^>]+>", "", case)
    citizen = _page(client, a, f"/citizens/{citizen_id}")
    line = re.search(rf'<li data-history-case="{case_id}">(.*?)</li>', citizen, re.S)
    assert line is not None
    text = re.sub(r"<[^>]+>", "", line.group(1))
    assert "Đã gắn với công dân" in text and "Thiếu úy Lê Thị Thu" in text
    assert "Đối chiếu CCCD tại phường" in text and "01/09/2021" in text


def test_an_ingest_opens_one_persons_cases_as_one_row(app, client, world, engine):
    """End to end: health sends three doses of someone the register lacks; the matcher groups them as one
    health identity, and the ward's worklist shows one row standing for the three records."""
    health = world.actors[("health_officer", "parent_district")]
    header = (
        "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"
    )
    body = header + "".join(
        f"g{n},Lương Thị Mận,07/07/1977,Nữ,,{w.WARD_A},2021-0{n + 6}-01,{n},Pfizer\n" for n in (1, 2, 3)
    )
    r = client.post(
        "/batches",
        files={"file": ("lo-nguoi.csv", body.encode(), "text/csv")},
        data={"csrf_token": health.csrf},
        headers=w.cookie_headers(health),
    )
    assert r.status_code == 303, r.text
    assert app.state.vx.jobs.wait_idle(120)  # the upload is ingested off the request path
    with Session(engine) as s:
        opened = s.execute(
            select(CaseRow.id, CaseRow.person_key)
            .join(DoseRecord, DoseRecord.id == CaseRow.dose_record_id)
            .where(DoseRecord.record_id.in_(["g1", "g2", "g3"]), CaseRow.status == "open")
            .order_by(CaseRow.id)
        ).all()
    assert len(opened) == 3 and len({k for _, k in opened}) == 1 and opened[0][1] is not None
    page = _page(client, _officer(world), "/cases")
    assert f'data-case="{opened[0][0]}" data-records="3"' in page
    assert all(f'data-case="{i}"' not in page for i, _ in opened[1:])

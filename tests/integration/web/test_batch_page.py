"""The batch page in words and figures: the count of corrections for health is the row count of the
corrections download (CSV and XLSX), whether health's record differs from the register or a ward found it
wrong; counts are written the Vietnamese way; the page refreshes itself while the batch runs."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import select, update

from tests.integration.web import world as w
from vaxlink.storage.db import transaction
from vaxlink.storage.models import AppUser, Batch, Citizen

HEADER = "record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine\n"

pytestmark = pytest.mark.db


def _shown(page: str, attribute: str) -> int:
    m = re.search(rf'data-{attribute}="(\d+)"', page)
    assert m, attribute
    return int(m.group(1))


def _download_rows(client, health: w.Actor, batch_id: int) -> tuple[int, int]:
    headers = w.cookie_headers(health)
    text = client.get(f"/batches/{batch_id}/answer.csv?corrections=1", headers=headers).content
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    book = client.get(f"/batches/{batch_id}/answer.xlsx?corrections=1", headers=headers).content
    sheet = openpyxl.load_workbook(io.BytesIO(book)).active
    return len(rows), sheet.max_row - 1


def test_the_corrections_count_is_the_downloads_row_count(app, client, world, engine):
    health = world.actors[("health_officer", "parent_district")]
    with transaction(engine) as s:
        c = s.get(Citizen, world.citizens[w.WARD_A])
        pid = c.personal_id
    # Health wrote the name without its marks, and a birth date a day off: the register's values go back.
    body = HEADER + "\n".join(
        [
            f"c1,TRAN THI BICH,15/03/1990,Nữ,{pid},{w.WARD_A},2021-08-01,1,AstraZeneca",
            f"c2,Trần Thị Bích,15/03/1990,Nữ,{pid},{w.WARD_A},2021-10-01,2,AstraZeneca",
            f"c3,Người Không Có,01/01/1970,Nam,,{w.WARD_A},2021-10-01,1,Pfizer",
        ]
    )
    r = client.post(
        "/batches",
        files={"file": ("lo-sua.csv", body.encode(), "text/csv")},
        data={"csrf_token": health.csrf},
        headers=w.cookie_headers(health),
    )
    assert r.status_code == 303, r.text
    assert app.state.vx.jobs.wait_idle(120)  # the upload is ingested off the request path
    bid = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/batches/{bid}", headers=w.cookie_headers(health)).text
    assert (
        _shown(page, "corrections")
        == _download_rows(client, health, bid)[0]
        == _download_rows(client, health, bid)[1]
    )
    assert _shown(page, "corrections") >= 1
    assert "Trả y tế sửa" in page and "http-equiv" not in page

    # The world's batch, in this officer's jurisdiction: a ward finds its record wrong in health.
    with transaction(engine) as s:
        u = s.scalar(select(AppUser).where(AppUser.username == health.username))
        s.execute(
            update(Batch)
            .where(Batch.id == world.batch_id)
            .values(scope_level=u.scope_level, scope_units=u.scope_units, scope_code=u.scope_code)
        )
    before = _shown(
        client.get(f"/batches/{world.batch_id}", headers=w.cookie_headers(health)).text, "corrections"
    )
    a = world.actors[("ward_officer", "own_ward")]
    r = client.post(
        f"/api/v1/cases/{world.cases[w.WARD_A]}/health-wrong",
        json={"version": 1, "citizen_id": world.citizens[w.WARD_A], "note": "y tế ghi sai"},
        headers={"authorization": f"Bearer {a.token}"},
    )
    assert r.status_code == 200, r.text
    page = client.get(f"/batches/{world.batch_id}", headers=w.cookie_headers(health)).text
    assert _shown(page, "corrections") == before + 1
    assert _shown(page, "corrections") == _download_rows(client, health, world.batch_id)[0]
    assert _shown(page, "health-wrong") == 1


def test_answers_for_people_speak_vietnamese_and_the_contract_stays_for_programs(client, world, engine):
    health = world.actors[("health_officer", "parent_district")]
    with transaction(engine) as s:
        u = s.scalar(select(AppUser).where(AppUser.username == health.username))
        s.execute(
            update(Batch)
            .where(Batch.id == world.batch_id)
            .values(scope_level=u.scope_level, scope_units=u.scope_units, scope_code=u.scope_code)
        )
    a = world.actors[("ward_officer", "own_ward")]
    r = client.post(
        f"/api/v1/cases/{world.cases[w.WARD_A]}/health-wrong",
        json={"version": 1, "citizen_id": world.citizens[w.WARD_A], "note": "y tế ghi sai"},
        headers={"authorization": f"Bearer {a.token}"},
    )
    assert r.status_code == 200, r.text
    headers = w.cookie_headers(health)
    people = client.get(f"/batches/{world.batch_id}/answer.csv", headers=headers).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(people)))
    assert rows and {"Mã bản ghi", "Kết quả đối soát", "Sai lệch", "Bên cần sửa", "Họ và tên đúng"} <= set(
        rows[0]
    )
    fixed = [r for r in rows if r["Bên cần sửa"]]
    assert fixed and fixed[0]["Bên cần sửa"] == "Y tế" and fixed[0]["Kết quả đối soát"] == "Cán bộ xác nhận"
    assert "Ngày sinh sai một chữ số" in fixed[0]["Sai lệch"]
    book = client.get(f"/batches/{world.batch_id}/answer.xlsx?corrections=1", headers=headers).content
    header = [c.value for c in next(openpyxl.load_workbook(io.BytesIO(book)).active.iter_rows(max_row=1))]
    assert header[:3] == ["Mã bản ghi", "Dòng trong tệp", "Kết quả xác minh"]
    # Nothing of the contract's codes is left in the people's download.
    assert not re.search(r"\b[A-Z]{2,}_[A-Z_]{2,}\b", people) and "confirmed" not in people
    programs = client.get(f"/batches/{world.batch_id}/answer.csv?lang=en", headers=headers).content
    rows = list(csv.DictReader(io.StringIO(programs.decode("utf-8-sig"))))
    assert {"record_id", "outcome", "reasons", "blame"} <= set(rows[0])
    assert any(r["outcome"] == "confirmed" and "DOB_TYPO" in r["reasons"] for r in rows)


def test_a_running_batch_refreshes_itself_and_counts_read_the_vietnamese_way(client, world, engine):
    health = world.actors[("health_officer", "parent_district")]
    with transaction(engine) as s:
        u = s.scalar(select(AppUser).where(AppUser.username == health.username))
        s.execute(
            update(Batch)
            .where(Batch.id == world.batch_id)
            .values(
                status="matching",
                rows_total=12345,
                scope_level=u.scope_level,
                scope_units=u.scope_units,
                scope_code=u.scope_code,
            )
        )
    page = client.get(f"/batches/{world.batch_id}", headers=w.cookie_headers(health)).text
    assert 'http-equiv="refresh"' in page
    assert "12.345" in page and "Đang đối soát" in page

"""Verification between wards as people do it: ward B collects a person whose permanent residence is
ward A and asks; ward A finds them in its register and confirms; both wards see the outcome; a request
left unanswered past its due date shows on the district supervisor's overdue list."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select, update

from tests.browser.conftest import Site
from tests.browser.test_journeys import _first, login
from vaxlink.storage.models import Citizen, VerificationRequest


def _send(page: Page, site: Site, c) -> str:  # type: ignore[no-untyped-def]
    login(page, site, "phuong_b")
    page.goto(f"{site.url}/verification/new")
    page.get_by_label("Họ và tên").fill(c.full_name)
    page.get_by_label("Ngày sinh").fill(f"{c.birth_date:%d/%m/%Y}")
    page.get_by_label("Giới tính").select_option("M" if c.sex == "M" else "F")
    page.get_by_label("Mã phường/xã thường trú").fill(site.wards["phuong_a"])
    page.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url(re.compile(r".*/verification/\d+\?done=sent"))
    expect(page.get_by_role("status")).to_contain_text("Đã gửi yêu cầu xác minh")
    rid = re.search(r"/verification/(\d+)", page.url)
    assert rid is not None
    page.get_by_role("button", name="Đăng xuất").click()
    return rid.group(1)


def test_a_request_sent_by_one_ward_is_answered_by_another(page: Page, site: Site):
    c = _first(
        site,
        select(Citizen.id, Citizen.full_name, Citizen.birth_date, Citizen.sex)
        .where(Citizen.current_ward_code == site.wards["phuong_a"], Citizen.birth_precision == "day")
        .order_by(Citizen.id.desc()),
    )
    assert c is not None
    rid = _send(page, site, c)
    # Ward A sees it in its inbox and confirms the citizen its register holds.
    login(page, site, "phuong_a")
    page.goto(f"{site.url}/verification")
    page.locator(f'a[href="/verification/{rid}"]').first.click()
    page.wait_for_url(re.compile(rf".*/verification/{rid}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(rid)
    page.get_by_label("Mã công dân trong sổ").fill(str(c.id))
    page.locator('form:has(input[name="citizen_id"]:not([type="hidden"])) button').click()
    page.wait_for_url(re.compile(rf".*/verification/{rid}\?done=answered"))
    expect(page.locator("[data-answer]")).to_have_attribute("data-answer", "confirmed")
    page.get_by_role("button", name="Đăng xuất").click()
    # Ward B sees the outcome of its request.
    login(page, site, "phuong_b")
    page.goto(f"{site.url}/verification/{rid}")
    expect(page.locator("[data-answer]")).to_have_attribute("data-answer", "confirmed")


def test_a_supervisor_sees_an_overdue_request(page: Page, site: Site):
    c = _first(
        site,
        select(Citizen.id, Citizen.full_name, Citizen.birth_date, Citizen.sex)
        .where(Citizen.current_ward_code == site.wards["phuong_a"], Citizen.birth_precision == "day")
        .order_by(Citizen.id.desc())
        .offset(1),
    )
    assert c is not None
    rid = _send(page, site, c)
    # Nobody answers in time: the due date passed three days ago.
    engine = create_engine(site.db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                update(VerificationRequest)
                .where(VerificationRequest.id == int(rid))
                .values(due_at=datetime.now(UTC) - timedelta(days=3))
            )
    finally:
        engine.dispose()
    login(page, site, "giamsat_huyen")
    page.goto(f"{site.url}/verification/overdue")
    expect(page.get_by_role("heading", level=1)).to_contain_text("quá hạn")
    expect(page.locator(f'a[href="/verification/{rid}"]').first).to_be_visible()

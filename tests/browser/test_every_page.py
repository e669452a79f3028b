"""Every page of every role, at a desk (1366×768) and on a phone (390×844): nothing wider than the screen
(no sideways scrolling), buttons and fields at least 44 px tall on the phone, no serious or critical
accessibility violation found by axe-core (tests/browser/vendor, see NOTICE.md there), and no raw codes,
ISO dates or English status words on the Vietnamese pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, func, select

from tests.browser.conftest import PASSWORDS, Site
from vaxlink.storage.models import Case, Citizen, VerificationRequest

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
RAW = [
    (re.compile(r"\b(ward|district|province):(legacy|2025)\b"), "a scope label"),
    (re.compile(r"\b[A-Z]{2,}_[A-Z_]{2,}\b"), "a reason code"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "an ISO date"),
    (re.compile(r"\b(linked|review|unmatched|health_wrong|pending_approval)\b"), "an English status"),
]


def _first(site: Site, stmt: Any) -> Any:
    engine = create_engine(site.db_url)
    try:
        with engine.connect() as c:
            return c.execute(stmt.limit(1)).scalar()
    finally:
        engine.dispose()


def dose_file(site: Site, path: Path) -> Path:
    """A small batch of health's records for people of ward A, as the health officer uploads it."""
    engine = create_engine(site.db_url)
    try:
        with engine.connect() as c:
            people = c.execute(
                select(Citizen.full_name, Citizen.birth_date, Citizen.sex, Citizen.personal_id)
                .where(Citizen.current_ward_code == site.wards["phuong_a"], Citizen.birth_precision == "day")
                .order_by(Citizen.id.desc())
                .limit(3)
            ).all()
    finally:
        engine.dispose()
    lines = ["record_id,full_name,date_of_birth,sex,id_number,ward_code,vaccination_date,dose_number,vaccine"]
    for n, p in enumerate(people):
        sex = "Nam" if p.sex == "M" else "Nữ"
        lines.append(
            f"sweep-{n},{p.full_name},{p.birth_date:%d/%m/%Y},{sex},{p.personal_id},"
            f"{site.wards['phuong_a']},2021-10-0{n + 1},1,Pfizer"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def pages_of(site: Site) -> dict[str | None, list[str]]:
    ward = site.wards["phuong_a"]
    case = _first(
        site, select(Case.id).where(Case.ward_code == ward, Case.status == "open").order_by(Case.id)
    )
    # A person with several records at the desk (their lead case lists the others), and a settled case
    # (its history and who settled it), when the run has them.
    grouped = _first(
        site,
        select(func.min(Case.id))
        .where(Case.ward_code == ward, Case.status == "open", Case.person_key.is_not(None))
        .group_by(Case.person_key)
        .having(func.count() > 1)
        .order_by(func.min(Case.id)),
    )
    closed = _first(
        site,
        select(Case.id)
        .where(Case.ward_code == ward, Case.status == "closed", Case.details.is_not(None))
        .order_by(Case.id.desc()),
    )
    citizen = _first(site, select(Citizen.id).where(Citizen.current_ward_code == ward).order_by(Citizen.id))
    request = _first(site, select(VerificationRequest.id).order_by(VerificationRequest.id))
    officer = [
        "/cases",
        "/cases?sort=name&mine=1",
        f"/cases/{case}",
        *([f"/cases/{grouped}"] if grouped is not None else []),
        *([f"/cases/{closed}"] if closed is not None else []),
        "/counter",
        "/citizens/search",
        f"/citizens/{citizen}",
        "/changes",
        "/verification",
        "/verification/new",
    ]
    if request is not None:
        officer.append(f"/verification/{request}")
    return {
        None: ["/login", "/self"],
        "phuong_a": officer,
        "giamsat_huyen": ["/cases", "/verification/overdue", "/dashboard", "/changes"],
        "yte_tinh": ["/batches", "/dashboard"],
        "kiem_tra": ["/verify", "/verify/certificate"],
    }


def problems_of(page: Page, screen: str) -> list[str]:
    found: list[str] = []
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        wide = page.evaluate(
            """() => Array.from(document.querySelectorAll('body *'))
                 .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                 .slice(0, 3).map(e => e.tagName + '.' + e.className)"""
        )
        found.append(f"{width[0]} px wide on a {width[1]} px screen: {wide}")
    if screen == "phone":
        small = page.evaluate(
            """() => Array.from(document.querySelectorAll('button, select, input:not([type=hidden]):not([type=checkbox]), textarea, nav a, label.check'))
                 .filter(e => e.offsetParent !== null)
                 .filter(e => e.getBoundingClientRect().height < 44)
                 .slice(0, 3).map(e => e.tagName + ' ' + (e.textContent || e.name || '').trim().slice(0, 30))"""
        )
        if small:
            found.append(f"touch targets under 44 px: {small}")
    page.evaluate(AXE)
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .filter(v => v.impact === 'serious' || v.impact === 'critical')
             .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(', '))"""
    )
    found.extend(f"axe {v}" for v in violations)
    text = page.inner_text("body")
    for pattern, what in RAW:
        m = pattern.search(text)
        if m:
            found.append(f"{what} on the page: {m.group(0)!r}")
    return found


@pytest.mark.parametrize("screen", list(SIZES))
def test_every_page_fits_reads_and_passes_axe(browser: Browser, site: Site, screen: str, tmp_path: Path):
    failures: list[str] = []
    visited = 0
    for username, paths in pages_of(site).items():
        context = browser.new_context(viewport=SIZES[screen])
        page = context.new_page()
        if username is not None:
            page.goto(f"{site.url}/login")
            page.get_by_label("Tên đăng nhập").fill(username)
            page.get_by_label("Mật khẩu").fill(PASSWORDS[username])
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_load_state()
        if username == "phuong_a":
            # A saved filter, so that the worklist shows them (kept in the database, one per name).
            page.goto(f"{site.url}/cases?sort=name")
            if not page.get_by_label("Tên cách xem").is_visible():  # saved already: the form is folded
                page.get_by_text("Ghi nhớ cách xem này").first.click()
            page.get_by_label("Tên cách xem").fill("Theo tên")
            page.get_by_role("button", name="Ghi nhớ cách xem này").click()
            page.wait_for_url(re.compile(r".*sort=name.*"))
        for path in paths:
            response = page.goto(f"{site.url}{path}")
            assert response is not None and response.status == 200, (username, path, response)
            visited += 1
            failures.extend(f"{screen} {username} {path}: {p}" for p in problems_of(page, screen))
        if username == "yte_tinh":
            # The batch page, after an upload from the page: words, not codes, and its downloads.
            page.goto(f"{site.url}/batches")
            page.get_by_label(re.compile("^Tệp")).set_input_files(dose_file(site, tmp_path / "lo.csv"))
            page.get_by_role("button", name="Gửi tệp dữ liệu tiêm chủng").click()
            page.wait_for_url(re.compile(r".*/batches/\d+$"))
            for _ in range(30):
                if page.locator("[data-status=done]").count():
                    break
                page.wait_for_timeout(1000)
                page.reload()
            visited += 1
            failures.extend(f"{screen} yte_tinh {page.url}: {p}" for p in problems_of(page, screen))
            expect(page.locator("dt[data-outcome]").first).to_be_visible()
            answer = page.request.get(f"{page.url}/answer.csv")
            assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
            # The checks themselves catch what they look for: a page made too wide fails them.
            page.evaluate(
                "() => { const d = document.createElement('div'); d.style.width = '2000px';"
                " d.textContent = 'NAME_DIFFERENT'; document.body.append(d); }"
            )
            caught = problems_of(page, screen)
            assert any("px wide" in p for p in caught) and any("reason code" in p for p in caught), caught
        context.close()
    assert visited >= 18
    assert not failures, "\n".join(failures)

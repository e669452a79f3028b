"""The officer's day, role by role, at a desk (1366×768) and on a phone (390×844): an approval that happens
even after other fields changed, a citizen's request that arrives whole and is closed, a new resident of
one's own ward registered from the pages, the number notice reachable by the ward that prints it, mistakes
that keep the input beside their message, and each role landing on its own page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, desc, exists, select
from sqlalchemy.orm import aliased

from tests.browser.conftest import PASSWORDS, Site
from vaxlink.storage.models import AppUser, Case, Citizen, DoseRecord, MatchResult, OutboxMessage

SIZES = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def screen(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any], screen: str) -> dict[str, Any]:
    return {**browser_context_args, "viewport": SIZES[screen]}


def rows(site: Site, stmt: Any) -> list[Any]:
    engine = create_engine(site.db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(stmt).all())
    finally:
        engine.dispose()


def pick(site: Site, stmt: Any, screen: str, offset: int = 0) -> Any:
    """One row per screen size, so that the two runs of a journey work on different records."""
    found = rows(site, stmt.limit(offset + 2))
    return found[offset + list(SIZES).index(screen)]


def sign_in(page: Page, site: Site, username: str, lands: str) -> None:
    page.goto(f"{site.url}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORDS[username])
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(rf".*{re.escape(lands)}(\?.*)?$"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(re.compile(r".*/login.*"))


def no_dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def refuse(dialog: Any) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    return seen


def test_ward_officers_a_change_is_approved_after_other_fields_changed(page: Page, site: Site, screen: str):
    ward = site.wards["phuong_a"]
    c = pick(
        site,
        select(Citizen.id, Citizen.full_name)
        .where(
            Citizen.current_ward_code == ward, Citizen.birth_precision == "day", Citizen.phone.is_not(None)
        )
        .order_by(Citizen.id),
        screen,
        offset=10,
    )
    sign_in(page, site, "phuong_a", "/cases")
    page.goto(f"{site.url}/citizens/{c.id}")
    form = page.locator("#correct")

    def ask(field: str, value: str, reason: str = "theo CCCD", evidence: str = "CCCD gắn chíp") -> None:
        form.get_by_label("Trường").select_option(field)
        form.get_by_label("Giá trị đúng").fill(value)
        form.get_by_label("Lý do").fill(reason)
        form.get_by_label("Căn cứ (giấy tờ)").fill(evidence)
        form.get_by_role("button", name="Lưu").click()

    # A mistake: the message stands beside the field and nothing typed is lost.
    ask("birth_date", "ngày 32", reason="sai ngày sinh")
    expect(form.locator("#value-error")).to_contain_text("Ngày sinh không đọc được")
    expect(form.get_by_label("Giá trị đúng")).to_have_value("ngày 32")
    expect(form.get_by_label("Lý do")).to_have_value("sai ngày sinh")
    ask("full_name", f"{c.full_name} Anh")
    expect(page.get_by_role("status")).to_contain_text("chờ cán bộ thứ hai duyệt")
    # The phone (where one-time codes go) waits for a second officer too; asking it changes nothing yet.
    ask("phone", "0912 345 6" + str(10 + list(SIZES).index(screen)))
    expect(page.get_by_role("status")).to_contain_text("chờ cán bộ thứ hai duyệt")
    sign_out(page)

    sign_in(page, site, "phuong_a2", "/cases")
    page.goto(f"{site.url}/changes")
    for _ in range(2):
        row = page.locator("tr[data-change]").filter(has=page.locator(f'a[href="/citizens/{c.id}"]')).first
        row.get_by_role("button", name="Duyệt").click()
        expect(page.get_by_role("status")).to_contain_text("Đã duyệt")
    sign_out(page)

    # The approver is named as people know them.
    (approver,) = rows(site, select(AppUser.display_name).where(AppUser.username == "phuong_a2"))[0]
    sign_in(page, site, "phuong_a", "/cases")
    page.goto(f"{site.url}/changes")
    mine = page.locator("tr[data-my-change]").filter(has=page.locator(f'a[href="/citizens/{c.id}"]'))
    expect(mine).to_have_count(2)
    for i in range(2):
        expect(mine.nth(i)).to_have_attribute("data-outcome", "approved")
        expect(mine.nth(i)).to_contain_text(approver)
    page.goto(f"{site.url}/citizens/{c.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{c.full_name} Anh")
    history = page.locator("ol.history")
    expect(history).to_contain_text(f"duyệt bởi {approver}")
    expect(history.locator('li[data-history-field="phone"]')).to_contain_text(f"duyệt bởi {approver}")


def test_citizens_request_reaches_the_ward_whole_and_is_closed(page: Page, site: Site, screen: str):
    ward = site.wards["phuong_a"]
    c = pick(
        site,
        select(Citizen.id, Citizen.full_name, Citizen.personal_id, Citizen.birth_date, Citizen.phone)
        .where(
            Citizen.current_ward_code == ward, Citizen.birth_precision == "day", Citizen.phone.is_not(None)
        )
        .order_by(Citizen.id),
        screen,
        offset=4,
    )
    page.goto(f"{site.url}/self")
    page.get_by_label("Số định danh cá nhân").fill(c.personal_id)
    page.get_by_label("Ngày sinh (dd/mm/yyyy)").fill(f"{c.birth_date:%d/%m/%Y}")
    page.get_by_role("button", name="Gửi mã").click()
    sms = rows(
        site,
        select(OutboxMessage.body).where(OutboxMessage.recipient == c.phone).order_by(desc(OutboxMessage.id)),
    )[0]
    code = re.search(r"\b(\d{6})\b", sms.body).group(1)  # type: ignore[union-attr]
    page.get_by_label("Mã xác thực").fill(code)
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url(re.compile(r".*/self/status$"))
    page.get_by_role("link", name="Thông tin sai? Đề nghị sửa").click()
    page.get_by_label("Mục cần sửa").select_option("address")
    text = "Tôi đã chuyển tới số 5 đường Nguyễn Trãi, cùng phường"
    page.get_by_label("Mô tả").fill(text)
    page.get_by_role("button", name="Gửi đề nghị").click()
    expect(page.get_by_role("status")).to_contain_text("Đã gửi đề nghị")
    page.context.clear_cookies()

    sign_in(page, site, "phuong_a", "/cases")
    page.goto(f"{site.url}/cases?kind=correction")
    row = page.locator("tr[data-case]").filter(has_text=c.full_name).first
    expect(row).to_contain_text("Địa chỉ")
    row.get_by_role("link", name=c.full_name).click()
    expect(page.locator(".request-text")).to_have_text(text)
    expect(page.locator("[data-request-field]")).to_have_text("Địa chỉ")
    expect(page.get_by_role("link", name=c.full_name)).to_be_visible()
    case_url = page.url
    page.get_by_label("Đã làm gì (bắt buộc)").fill("Đã sửa địa chỉ theo CCCD, đã gọi điện báo")
    page.get_by_role("button", name="Đã xử lý xong, đóng đề nghị").click()
    page.wait_for_url(re.compile(r".*/cases\?done=answered"))
    page.goto(case_url)
    expect(page.locator("[data-resolution]")).to_contain_text("Đã xử lý đề nghị của công dân")
    # Who closed it, by the name people know the officer by.
    (officer,) = rows(site, select(AppUser.display_name).where(AppUser.username == "phuong_a"))[0]
    expect(page.locator("ol.history")).to_contain_text(officer)


def test_ward_officer_registers_a_new_resident_of_the_own_ward(page: Page, site: Site, screen: str):
    ward = site.wards["phuong_a"]
    other_case, other_record = aliased(Case), aliased(DoseRecord)
    k = pick(
        site,
        select(Case.id)
        .join(MatchResult, MatchResult.dose_record_id == Case.dose_record_id)
        .join(DoseRecord, DoseRecord.id == Case.dose_record_id)
        .where(
            Case.ward_code == ward,
            Case.status == "open",
            Case.kind == "unmatched",
            DoseRecord.full_name.is_not(None),
            # One person per screen: not a name whose other record has been dealt with already, since
            # that may be the same person's other dose, whom the other screen's run registered first (the
            # second registration is then, rightly, held as a possible duplicate).
            ~exists().where(
                other_case.ward_code == ward,
                other_case.kind == "unmatched",
                other_case.status != "open",
                other_record.id == other_case.dose_record_id,
                other_record.full_name == DoseRecord.full_name,
            ),
        )
        .order_by(Case.id),
        screen,
    )
    sign_in(page, site, "phuong_a", "/cases")
    page.goto(f"{site.url}/cases/{k.id}")
    page.get_by_role("button", name="Thu thập cư dân mới").click()
    page.wait_for_url(re.compile(r".*/cases\?done=collection"))
    page.goto(f"{site.url}/cases/{k.id}")
    page.get_by_role("link", name=re.compile("Đăng ký cư dân mới")).click()
    form = page.locator("form[action='/verification/new']")
    expect(form.get_by_label("Họ và tên")).not_to_have_value("")
    if not form.get_by_label(re.compile("^Ngày sinh")).input_value():
        form.get_by_label(re.compile("^Ngày sinh")).fill("01/01/1990")
    form.get_by_label("Giới tính").select_option("F")
    form.get_by_label(re.compile("Mã phường/xã thường trú")).fill(ward)
    form.get_by_label("Số định danh khai báo").fill("")
    form.get_by_label("Điện thoại").fill("")
    form.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url(re.compile(r".*/citizens/\d+\?done=registered$"))
    expect(page.get_by_role("status")).to_contain_text("Đã đăng ký cư dân mới")
    expect(page.locator("dl.record")).to_contain_text(re.compile(r"\d{12}"))
    page.goto(f"{site.url}/cases/{k.id}")
    expect(page.locator("[data-resolution]")).to_contain_text("Đã đăng ký cư dân mới")


def test_the_ward_that_registers_at_another_wards_request_meets_no_dead_link(
    page: Page, site: Site, screen: str
):
    ward_a = site.wards["phuong_a"]
    sign_in(page, site, "phuong_b", "/cases")
    page.goto(f"{site.url}/verification/new")
    form = page.locator("form[action='/verification/new']")
    name = f"Lạc Thị Mơ {'Một' if screen == 'desktop' else 'Hai'}"
    form.get_by_label("Họ và tên").fill(name)
    form.get_by_label(re.compile("^Ngày sinh")).fill("02/03/1985")
    form.get_by_label("Giới tính").select_option("F")
    # A mistake first: the seven fields stay as typed.
    form.get_by_label(re.compile("Mã phường/xã thường trú")).fill("99999")
    form.get_by_label("Địa chỉ").fill("Tổ 3, khu phố 2")
    form.get_by_label("Điện thoại").fill("0903 111 222")
    form.get_by_role("button", name="Gửi yêu cầu").click()
    expect(form.locator("#permanent_ward_code-error")).to_be_visible()
    expect(form.get_by_label("Họ và tên")).to_have_value(name)
    expect(form.get_by_label(re.compile("^Ngày sinh"))).to_have_value("02/03/1985")
    expect(form.get_by_label("Địa chỉ")).to_have_value("Tổ 3, khu phố 2")
    expect(form.get_by_label("Điện thoại")).to_have_value("0903 111 222")
    form.get_by_label(re.compile("Mã phường/xã thường trú")).fill(ward_a)
    form.get_by_role("button", name="Gửi yêu cầu").click()
    page.wait_for_url(re.compile(r".*/verification/\d+\?done=sent$"))
    request_url = page.url.split("?")[0]
    sign_out(page)

    sign_in(page, site, "phuong_a", "/cases")
    page.goto(request_url)
    page.get_by_role("button", name="Xác nhận và đăng ký mới, cấp số định danh").click()
    expect(page.locator("[data-answer]")).to_contain_text("Đã xác nhận")
    for link in page.locator("main a").all():
        href = link.get_attribute("href") or ""
        if href.startswith("/"):
            assert page.request.get(f"{site.url}{href}").status == 200, href
    expect(page.get_by_text("do phường/xã nơi người này đang ở in và trao")).to_be_visible()
    sign_out(page)

    sign_in(page, site, "phuong_b", "/cases")
    page.goto(request_url)
    notice = page.get_by_role("link", name="In thông báo số định danh")
    answer = page.request.get(f"{site.url}{notice.get_attribute('href')}")
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"


def test_mistakes_keep_the_input_and_back_never_resubmits(page: Page, site: Site, screen: str):
    dialogs = no_dialogs(page)
    ward = site.wards["phuong_a"]
    c = pick(
        site,
        select(Citizen.id, Citizen.full_name, Citizen.personal_id)
        .where(Citizen.current_ward_code == ward)
        .order_by(Citizen.id),
        screen,
        offset=14,
    )
    sign_in(page, site, "phuong_a", "/cases")
    page.goto(f"{site.url}/counter")
    unknown = "77099999999"  # eleven digits: a lost leading zero, and nobody's number
    page.get_by_label(re.compile("Quét mã QR")).fill(unknown)
    page.keyboard.press("Enter")
    expect(page.locator("#scan-error")).to_be_visible()
    expect(page.get_by_label(re.compile("Quét mã QR"))).to_have_value(unknown)
    # A card read: its answer is a page of its own, so Back and reload never send the form again.
    page.get_by_label(re.compile("Quét mã QR")).fill(c.personal_id)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/counter\?found=[\w-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(c.full_name)
    assert c.personal_id not in page.url
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(c.full_name)

    page.goto(f"{site.url}/citizens/search")
    page.get_by_label("Số định danh").fill(c.personal_id)
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_url(re.compile(r".*/citizens/search\?q=[\w-]+$"))
    page.get_by_role("link", name=c.full_name).click()
    page.wait_for_url(re.compile(rf".*/citizens/{c.id}$"))
    page.go_back()
    expect(page.get_by_role("link", name=c.full_name)).to_be_visible()
    expect(page.get_by_label("Số định danh")).to_have_value(c.personal_id)
    page.get_by_label("Số định danh").fill("12345")
    page.get_by_role("button", name="Tìm").click()
    expect(page.locator("#personal_id-error")).to_be_visible()
    expect(page.get_by_label("Số định danh")).to_have_value("12345")
    assert dialogs == []


def test_each_role_lands_on_its_own_page_with_its_navigation(page: Page, site: Site, screen: str):
    for username, lands, links in (
        ("yte_tinh", "/batches", ["Dữ liệu y tế", "Bảng theo dõi"]),
        ("kiem_tra", "/verify", ["Kiểm tra thẻ CCCD", "Kiểm tra chứng nhận"]),
        ("giamsat_tinh", "/cases", ["Việc cần xử lý", "Bảng theo dõi"]),
        ("phuong_b", "/cases", ["Việc cần xử lý", "Tại quầy"]),
    ):
        sign_in(page, site, username, lands)
        nav = page.get_by_role("navigation", name="Điều hướng")
        for name in links:
            link = nav.get_by_role("link", name=name)
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box is not None and box["height"] >= 44, (username, name, box)
        expect(page.locator(".who")).not_to_contain_text(re.compile(r"ward:|province:|district:"))
        sign_out(page)


def test_verifier_sees_a_full_screen_verdict_with_name_and_birth_only(page: Page, site: Site, screen: str):
    c = pick(
        site,
        select(Citizen.personal_id, Citizen.full_name, Citizen.birth_year, Citizen.birth_date)
        .where(Citizen.birth_precision == "day")
        .order_by(Citizen.id),
        screen,
        offset=40,
    )
    sign_in(page, site, "kiem_tra", "/verify")
    # A number is asked with the birth date the card shows.
    page.get_by_label(re.compile("Quét mã QR")).fill(c.personal_id)
    page.locator("#born").fill(f"{c.birth_date:%d/%m/%Y}")
    page.locator("#born").press("Enter")
    verdict = page.locator("#verdict")
    expect(verdict).to_be_visible()
    box = verdict.bounding_box()
    size = SIZES[screen]
    assert box is not None and box["width"] >= size["width"] - 1 and box["height"] >= size["height"] - 1
    expect(verdict).to_contain_text(c.full_name)
    expect(verdict).to_contain_text(str(c.birth_year))
    expect(verdict).not_to_contain_text(c.personal_id)
    colour = verdict.get_attribute("class") or ""
    assert ("green" in colour) != ("red" in colour)
    page.get_by_role("button", name="Kiểm tra người tiếp theo").click()
    expect(verdict).to_be_hidden()
    expect(page.get_by_label(re.compile("Quét mã QR"))).to_be_focused()
    page.goto(f"{site.url}/verify/certificate")
    page.get_by_role("button", name="Kiểm tra").first.click()
    expect(page.locator("#cert-error")).to_contain_text("Hãy dán mã HC1:")


CheckPage = Callable[[Page, str], None]


def test_worklist_filters_by_words_takes_a_case_and_keeps_saved_filters(page: Page, site: Site, screen: str):
    sign_in(page, site, "phuong_a", "/cases")
    # The words of a diagnosis as the worklist shows it, typed back without their diacritics.
    words = page.locator("tr[data-case] td:nth-child(2) .tag").first.inner_text()
    from vaxlink.domain.names import fold_name

    typed = " ".join(fold_name(words).split()[:2])
    page.get_by_label("Tìm theo chẩn đoán").fill(typed)
    page.get_by_role("button", name="Lọc", exact=True).click()
    page.wait_for_url(re.compile(r".*/cases\?.*q=.*"))
    shown = page.locator("tr[data-case]")
    assert shown.count() > 0
    for i in range(min(shown.count(), 5)):
        # The words are the diagnosis's or the kind's, as the row shows them.
        seen = shown.nth(i).inner_text()
        assert typed in fold_name(seen), (typed, seen)
    shown.nth(min(list(SIZES).index(screen), shown.count() - 1)).get_by_role("link").first.click()
    take = page.get_by_role("button", name="Nhận việc")
    if take.count():  # the desk's run may have taken the only case already
        take.click()
    expect(page.locator("[data-mine]")).to_be_visible()
    case_url = page.url
    page.goto(f"{site.url}/cases")
    page.get_by_label("Của tôi", exact=True).check()
    page.get_by_role("button", name="Lọc", exact=True).click()
    page.wait_for_url(re.compile(r".*mine=1.*"))
    case_id = case_url.rsplit("/", 1)[1]
    row = page.locator(f'tr[data-case="{case_id}"]')
    expect(row).to_have_count(1)
    expect(row.locator("[data-mine-row]")).to_have_text("Của tôi")
    # The filter in use kept under a name, in the database: it is there after a reload and a new sign-in.
    name = f"Việc của tôi {screen}"
    if not page.get_by_label("Tên cách xem").is_visible():
        page.get_by_text("Ghi nhớ cách xem này").first.click()
    page.get_by_label("Tên cách xem").fill(name)
    page.get_by_role("button", name="Ghi nhớ cách xem này").click()
    page.wait_for_url(re.compile(r".*mine=1.*"))
    page.goto(f"{site.url}/cases")
    page.reload()
    sign_out(page)
    sign_in(page, site, "phuong_a", "/cases")
    saved = page.get_by_role("navigation", name="Cách xem đã ghi nhớ").get_by_role("link", name=name)
    saved.click()
    page.wait_for_url(re.compile(r".*mine=1.*"))
    expect(page.locator(f'tr[data-case="{case_id}"]')).to_have_count(1)

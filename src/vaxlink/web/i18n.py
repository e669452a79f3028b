"""Words on the pages: Vietnamese first, English on request (`?lang=en`, remembered in a cookie)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

LANGS = ("vi", "en")
LANG_COOKIE = "lang"

MESSAGES: dict[str, tuple[str, str]] = {
    "app": ("Đối soát tiêm chủng", "Vaccination reconciliation"),
    "login": ("Đăng nhập", "Sign in"),
    "logout": ("Đăng xuất", "Sign out"),
    "username": ("Tên đăng nhập", "Username"),
    "password": ("Mật khẩu", "Password"),
    "login_failed": ("Sai tên đăng nhập hoặc mật khẩu", "Wrong username or password"),
    "login_locked": (
        "Tài khoản tạm khóa do đăng nhập sai nhiều lần; thử lại sau {s} giây",
        "Account locked after repeated failures; try again in {s} seconds",
    ),
    "login_throttled": (
        "Quá nhiều lần đăng nhập sai từ máy này; thử lại sau {s} giây",
        "Too many failed sign-ins from this address; try again in {s} seconds",
    ),
    "worklist": ("Việc cần xử lý", "Worklist"),
    "counter": ("Tại quầy", "Counter"),
    "search": ("Tra cứu công dân", "Find a citizen"),
    "changes": ("Chờ phê duyệt", "Awaiting approval"),
    "kind": ("Loại", "Kind"),
    "all": ("Tất cả", "All"),
    "reason": ("Lý do", "Reason"),
    "age_days": ("Tồn quá (ngày)", "Older than (days)"),
    "filter": ("Lọc", "Filter"),
    "next_page": ("Trang sau", "Next page"),
    "first_page": ("Trang đầu", "First page"),
    "created": ("Ngày tạo", "Created"),
    "due": ("Hạn", "Due"),
    "overdue": ("Quá hạn", "Overdue"),
    "status": ("Trạng thái", "Status"),
    "open": ("Mở", "Open"),
    "no_cases": ("Không còn việc nào. Tốt lắm!", "Nothing left to do."),
    "incoming_verifications": ("Yêu cầu xác minh đến", "Incoming verification requests"),
    "case": ("Hồ sơ", "Case"),
    "health_record": ("Bản ghi của y tế", "Health record"),
    "register_record": ("Sổ đăng ký dân cư", "Population register"),
    "field": ("Trường", "Field"),
    "diagnosis": ("Chẩn đoán", "Diagnosis"),
    "candidates": ("Người có thể là", "Possible persons"),
    "hidden_candidates": (
        "{n} người khả dĩ khác sống ở địa bàn khác",
        "{n} other possible persons live elsewhere",
    ),
    "no_candidate": ("Không có người nào trong địa bàn khớp", "No one in your jurisdiction matches"),
    "link": ("Gắn với người này", "Link to this person"),
    "health_wrong": ("Y tế ghi sai: gắn và báo y tế sửa", "Health record wrong: link and tell health"),
    "health_wrong_alone": ("Báo y tế kiểm tra bản ghi", "Ask health to check the record"),
    "pass": ("Chuyển phường/xã khác", "Pass to another ward"),
    "ward_code": ("Mã phường/xã", "Ward code"),
    "collect": ("Thu thập cư dân mới", "Collect a new resident"),
    "note": ("Ghi chú", "Note"),
    "settled": ("Đã xử lý xong", "Settled"),
    "resolution": ("Kết quả", "Resolution"),
    "name": ("Họ và tên", "Full name"),
    "full_name": ("Họ và tên", "Full name"),
    "birth_date": ("Ngày sinh", "Date of birth"),
    "sex": ("Giới tính", "Sex"),
    "personal_id": ("Số định danh", "Personal ID"),
    "phone": ("Điện thoại", "Phone"),
    "address": ("Địa chỉ", "Address"),
    "ward": ("Phường/xã", "Ward"),
    "date_of_birth": ("Ngày sinh", "Date of birth"),
    "id_number": ("Số định danh", "ID number"),
    "vaccination_date": ("Ngày tiêm", "Vaccination date"),
    "dose_number": ("Mũi số", "Dose number"),
    "lot_number": ("Số lô", "Lot number"),
    "site": ("Nơi tiêm", "Site"),
    "evidence": ("Căn cứ (giấy tờ)", "Evidence (document)"),
    "correct": ("Sửa sổ đăng ký", "Correct the register"),
    "new_value": ("Giá trị đúng", "Correct value"),
    "save": ("Lưu", "Save"),
    "doses": ("Các mũi tiêm", "Doses"),
    "vaccine": ("Vắc xin", "Vaccine"),
    "date": ("Ngày", "Date"),
    "dose_no": ("Mũi", "Dose"),
    "open_cases": ("Hồ sơ đang mở", "Open cases"),
    "maybe_theirs": ("Bản ghi có thể là của người này", "Records that may be this person's"),
    "history": ("Lịch sử thay đổi", "Change history"),
    "card_differs": ("Thẻ CCCD khác sổ đăng ký", "The card differs from the register"),
    "card": ("Trên thẻ", "On the card"),
    "scan_prompt": (
        "Quét mã QR trên thẻ CCCD hoặc nhập số định danh, rồi nhấn Enter",
        "Scan the chip card's QR code or type the ID number, then press Enter",
    ),
    "find": ("Tìm", "Find"),
    "results": ("Kết quả", "Results"),
    "no_results": ("Không tìm thấy", "Nothing found"),
    "approve": ("Duyệt", "Approve"),
    "reject": ("Từ chối", "Reject"),
    "requested_by": ("Người đề nghị", "Requested by"),
    "old_value": ("Giá trị cũ", "Old value"),
    "not_found": ("Không tìm thấy", "Not found"),
    "forbidden": ("Bạn không có quyền làm việc này", "You are not allowed to do this"),
    "conflict": (
        "Hồ sơ vừa được người khác xử lý; hãy tải lại",
        "Someone else has just changed this; reload",
    ),
    "error": ("Có lỗi", "Something went wrong"),
    "saved": ("Đã lưu", "Saved"),
    "pending_saved": (
        "Đã gửi đề nghị sửa; chờ cán bộ thứ hai duyệt",
        "Change requested; a second officer must approve",
    ),
    "vaccination_status": ("Tình trạng tiêm chủng", "Vaccination status"),
    "back": ("Quay lại", "Back"),
    "language": ("English", "Tiếng Việt"),
    "kind_conflict": ("Nghi trùng người", "Conflict"),
    "kind_unmatched": ("Không tìm thấy trong sổ", "Unmatched"),
    "kind_correction": ("Đề nghị sửa", "Correction request"),
    "kind_verification": ("Yêu cầu xác minh", "Verification request"),
    "kind_register_change": ("Sửa sổ chờ duyệt", "Register change"),
    "status_open": ("Đang mở", "Open"),
    "status_pending_approval": ("Chờ duyệt", "Awaiting approval"),
    "status_collection": ("Đang thu thập", "Collecting"),
    "status_closed": ("Đã đóng", "Closed"),
    "status_none": ("Chưa tiêm", "Not vaccinated"),
    "status_partial": ("Chưa đủ liều", "Partly vaccinated"),
    "status_complete": ("Đủ liều cơ bản", "Primary series complete"),
    "status_booster": ("Đã tiêm nhắc", "Booster"),
    # the supervisors' dashboard
    "dashboard": ("Bảng theo dõi", "Dashboard"),
    "dashboard_title": ("Bảng theo dõi tiêm chủng", "Vaccination dashboard"),
    "structure": ("Cấu trúc đơn vị", "Unit structure"),
    "units_legacy": ("Trước 2025 (tỉnh – huyện – xã)", "Before 2025 (province – district – ward)"),
    "units_2025": ("Từ 2025 (tỉnh – xã)", "From 2025 (province – ward)"),
    "split_note": (
        "Phường/xã cũ bị chia tách được tính trọn vào phường/xã mới kế thừa chính; người đã đăng ký theo mã "
        "mới được tính đúng phường/xã mới.",
        "A split legacy ward's people count in its main successor; people registered with a 2025 code count "
        "in that ward exactly.",
    ),
    "residents": ("Dân số (nơi ở hiện tại)", "Residents (current residence)"),
    "at_least_one_dose": ("Tiêm ít nhất 1 mũi", "At least one dose"),
    "primary_complete": ("Đủ liều cơ bản", "Primary series complete"),
    "booster": ("Đã tiêm nhắc lại", "Booster"),
    "unvaccinated": ("Chưa tiêm", "Unvaccinated"),
    "dose_records": ("Bản ghi mũi tiêm", "Dose records"),
    "linked_records": ("Đã gắn với công dân", "Linked to a citizen"),
    "review_records": ("Chờ xác minh", "In review"),
    "unmatched_records": ("Không tìm thấy trong sổ", "Unmatched"),
    "rejected_records": ("Bị loại (không đọc được)", "Rejected (unusable)"),
    "corrections_to_health": ("Trả y tế sửa", "Corrections for health"),
    "cases_open": ("Hồ sơ đang mở", "Open cases"),
    "cases_overdue": ("Hồ sơ quá hạn", "Overdue cases"),
    "verification_open": ("Yêu cầu xác minh đang mở", "Open verification requests"),
    "verification_overdue": ("Yêu cầu xác minh quá hạn", "Overdue verification requests"),
    "people": ("Người dân", "People"),
    "reconciliation": ("Đối soát", "Reconciliation"),
    "refreshed_at": ("Số liệu tính lúc", "Figures as of"),
    "no_figures": (
        "Chưa có số liệu: số liệu được tính lại sau mỗi lần nhập dữ liệu.",
        "No figures yet: they are computed after each ingest.",
    ),
    "coverage_by_unit": ("Bao phủ theo đơn vị", "Coverage by unit"),
    "coverage_chart": (
        "Biểu đồ tỷ lệ bao phủ theo đơn vị (số liệu ở bảng dưới)",
        "Chart of coverage shares by unit (numbers in the table below)",
    ),
    "level_province": ("Tỉnh/thành phố", "Province"),
    "level_district": ("Quận/huyện", "District"),
    "level_ward": ("Phường/xã", "Ward"),
    "unit_code": ("Mã", "Code"),
    "unit": ("Đơn vị", "Unit"),
    "country": ("Toàn quốc", "Whole country"),
    "doses_per_day": ("Mũi tiêm theo ngày", "Doses per day"),
    "doses_chart": (
        "Biểu đồ số mũi tiêm theo ngày (số liệu theo tháng ở bảng dưới)",
        "Chart of doses per day (monthly numbers in the table below)",
    ),
    "month": ("Tháng", "Month"),
    "records": ("Bản ghi", "Records"),
    "linked": ("Đã gắn", "Linked"),
    "doses_per_vaccine": ("Mũi tiêm theo vắc xin", "Doses per vaccine"),
    "vaccines_chart": ("Biểu đồ số mũi tiêm theo vắc xin", "Chart of doses per vaccine"),
    "backlog": ("Việc tồn theo phường/xã", "Backlog per ward"),
    "no_backlog": ("Không còn việc tồn.", "Nothing waiting."),
    "open_worklist": ("Danh sách việc", "Worklist"),
    "download": ("Tải bảng bao phủ", "Download the coverage table"),
    "suppress": ("Ẩn số nhỏ hơn (0: không ẩn)", "Hide counts below (0: none)"),
    "no_data": ("Không có số liệu", "No data"),
}

# The matcher's diagnosis in words (codes from matching/spec.py and the pipeline).
REASONS: dict[str, tuple[str, str]] = {
    "ID_EXACT": ("Số định danh trùng khớp", "ID number identical"),
    "ID_LOST_ZERO": ("Số định danh mất số 0 ở đầu (lỗi bảng tính)", "ID lost its leading zero (spreadsheet)"),
    "ID_OLD_CMND": ("Y tế ghi số CMND cũ 9 chữ số", "health recorded the old 9-digit card number"),
    "ID_TYPO": ("Số định danh sai một chữ số", "ID number has one wrong digit"),
    "ID_TRANSPOSED": ("Số định danh bị đảo hai chữ số", "two digits of the ID swapped"),
    "ID_OF_HOUSEHOLD_MEMBER": ("Số định danh là của người cùng hộ", "the ID belongs to a household member"),
    "ID_MISSING": ("Y tế không ghi số định danh", "health recorded no ID number"),
    "ID_OTHER_DOCUMENT": ("Số giấy tờ khác (không phải CCCD/CMND)", "another document's number"),
    "ID_DIFFERENT": ("Số định danh khác hẳn", "a different ID number"),
    "NAME_EXACT": ("Họ tên trùng khớp", "name identical"),
    "NAME_DIACRITICS": ("Họ tên khác dấu (thiếu hoặc sai dấu)", "name differs only in diacritics"),
    "NAME_ORDER": ("Họ tên bị đảo thứ tự", "name written in another order"),
    "NAME_MARKS_DIFFER": ("Cùng chữ cái nhưng khác dấu (Hùng/Hưng)", "same letters, other marks (Hùng/Hưng)"),
    "NAME_MIDDLE_DROPPED": ("Thiếu tên đệm", "middle name dropped"),
    "NAME_TYPO": ("Họ tên sai chính tả", "name misspelt"),
    "NAME_GIVEN_DIFFERS": ("Tên gọi khác (có thể là anh chị em)", "another given name (a sibling?)"),
    "NAME_DIFFERENT": ("Họ tên khác hẳn", "a different name"),
    "DOB_EXACT": ("Ngày sinh trùng khớp", "birth date identical"),
    "DOB_YEAR_ONLY": ("Chỉ có năm sinh", "birth year only"),
    "DOB_DAY_MONTH_SWAPPED": ("Ngày và tháng sinh bị đảo", "day and month of birth swapped"),
    "DOB_TYPO": ("Ngày sinh sai một chữ số", "birth date has a typo"),
    "DOB_SAME_YEAR": ("Cùng năm sinh nhưng khác ngày", "same birth year, another day"),
    "DOB_DIFFERENT": ("Ngày sinh khác hẳn", "a different birth date"),
    "SEX_SAME": ("Giới tính trùng", "sex identical"),
    "SEX_MISSING": ("Y tế không ghi giới tính", "health recorded no sex"),
    "SEX_DIFFERS": ("Giới tính khác", "sex differs"),
    "WARD_SAME": ("Cùng phường/xã", "same ward"),
    "WARD_MISSING": ("Không có phường/xã", "no ward"),
    "WARD_DIFFERS": ("Khác phường/xã", "another ward"),
    "PHONE_SAME": ("Cùng số điện thoại", "same phone"),
    "PHONE_MISSING": ("Không có số điện thoại", "no phone"),
    "PHONE_DIFFERS": ("Khác số điện thoại", "another phone"),
    "AMBIGUOUS_CANDIDATES": (
        "Nhiều người gần giống nhau (sinh đôi, anh chị em)",
        "several people almost equally likely (twins, siblings)",
    ),
    "NO_CANDIDATE": (
        "Không tìm thấy người nào trong sổ đăng ký",
        "no one in the register resembles the record",
    ),
    "DOSE_DUPLICATE": ("Mũi tiêm trùng lặp", "dose recorded twice"),
    "DOSE_ORDER": ("Thứ tự mũi tiêm sai", "doses out of order"),
    "DOSE_INTERVAL": ("Hai mũi quá gần nhau", "two doses too close together"),
}

Translator = Callable[..., str]


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    stored = request.cookies.get(LANG_COOKIE)
    return stored if stored in LANGS else "vi"


def translator(lang: str) -> Translator:
    i = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        words = MESSAGES.get(key)
        text = words[i] if words else key
        return text.format(**values) if values else text

    return t


def reason_words(code: str, lang: str = "vi") -> str:
    words = REASONS.get(code)
    return (words[1] if lang == "en" else words[0]) if words else code

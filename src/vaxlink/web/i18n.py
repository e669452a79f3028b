"""Words on the pages: Vietnamese first, English on request (`?lang=en`, remembered in a cookie)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from vaxlink.services.errors import ServiceError
from vaxlink.services.figures.stats import BACKLOG_COUNTS, COVERAGE_COUNTS

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
    "why_weight": ("Vì sao: tổng điểm {w} bit", "Why: total {w} bits"),
    "waterfall_note": (
        "Mỗi dòng là mức độ trường đó làm tăng (+) hay giảm (−) khả năng đây là cùng một người; "
        "dòng đầu là khả năng ban đầu khi chưa so sánh gì.",
        "Each line is how much that field raises (+) or lowers (−) the odds of one person; "
        "the first is the odds before any comparison.",
    ),
    "part_prior": ("Khả năng ban đầu", "Before any comparison"),
    "part_id": ("Số định danh", "ID number"),
    "part_name": ("Họ tên", "Name"),
    "part_dob": ("Ngày sinh", "Birth date"),
    "part_sex": ("Giới tính", "Sex"),
    "part_ward": ("Phường/xã", "Ward"),
    "part_address": ("Địa chỉ", "Address"),
    "part_phone": ("Số điện thoại", "Phone"),
    "part_other_records": ("Các bản ghi khác của cùng người", "The same person's other records"),
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
    # verification between wards, new residents, health's batches
    "vr": ("Yêu cầu xác minh", "Verification request"),
    "vr_inbox": ("Xác minh giữa phường/xã", "Verification between wards"),
    "vr_incoming": ("Yêu cầu gửi đến phường/xã này", "Asked of this ward"),
    "vr_outgoing": ("Yêu cầu phường/xã này đã gửi", "Sent by this ward"),
    "vr_waiting": ("Hồ sơ đang thu thập, chờ gửi xác minh", "Cases in collection, waiting to be sent"),
    "vr_new": ("Gửi yêu cầu xác minh", "Send a verification request"),
    "vr_new_intro": (
        "Ghi thông tin người đã thu thập; yêu cầu được gửi tới phường/xã nơi thường trú (hạn trả lời 7 ngày).",
        "Record the person as collected; the request goes to the ward of permanent residence (7 days to answer).",
    ),
    "vr_send": ("Gửi yêu cầu", "Send the request"),
    "vr_from": ("Phường/xã gửi", "From ward"),
    "vr_to": ("Phường/xã thường trú", "Ward of permanent residence"),
    "vr_claimed_id": ("Số định danh khai báo", "Number given"),
    "vr_permanent_ward": ("Mã phường/xã thường trú", "Permanent residence ward code"),
    "vr_answer": ("Trả lời", "Answer"),
    "vr_confirm": ("Xác nhận là người này", "Confirm: this person"),
    "vr_citizen_id": ("Mã công dân trong sổ", "Register citizen #"),
    "vr_birth_province": ("Mã tỉnh đăng ký khai sinh", "Province of birth registration"),
    "vr_register_new": (
        "Xác nhận và đăng ký mới, cấp số định danh",
        "Confirm and register, issuing a number",
    ),
    "vr_reject": ("Từ chối", "Reject"),
    "vr_escalate": ("Đôn đốc", "Escalate"),
    "vr_escalated": ("Đã đôn đốc", "Escalated"),
    "vr_overdue": ("Yêu cầu xác minh quá hạn", "Overdue verification requests"),
    "vr_none_overdue": ("Không có yêu cầu nào quá hạn.", "No overdue requests."),
    "vr_notice": ("In thông báo số định danh", "Print the number notice"),
    "vr_status_open": ("Chờ trả lời", "Awaiting answer"),
    "vr_status_confirmed": ("Đã xác nhận", "Confirmed"),
    "vr_status_rejected": ("Bị từ chối", "Rejected"),
    "vr_status_withdrawn": ("Đã rút", "Withdrawn"),
    "vr_done_sent": ("Đã gửi yêu cầu xác minh", "Request sent"),
    "vr_done_answered": ("Đã trả lời", "Answer recorded"),
    "batches": ("Dữ liệu y tế", "Health batches"),
    "batch": ("Lô dữ liệu", "Batch"),
    "batch_upload": ("Gửi tệp dữ liệu tiêm chủng", "Upload a dose file"),
    "batch_file": ("Tệp (CSV, XLSX, Parquet, JSON Lines)", "File (CSV, XLSX, Parquet, JSON Lines)"),
    "batch_source": ("Nguồn dữ liệu", "Source"),
    "batch_status_staging": ("Đang nhận", "Receiving"),
    "batch_status_matching": ("Đang đối soát", "Matching"),
    "batch_status_linking": ("Đang cập nhật tình trạng tiêm", "Updating vaccination statuses"),
    "batch_error": ("Lý do", "Reason"),
    "batch_status_done": ("Đã xong", "Done"),
    "batch_status_failed": ("Lỗi", "Failed"),
    "batch_rows": ("Số bản ghi", "Records"),
    "batch_answer": ("Tải kết quả đối soát", "Download the answer"),
    "batch_corrections": ("Tải danh sách y tế cần sửa", "Download the corrections for health"),
    "batch_settled": ("Phường/xã đã xử lý", "Settled by wards"),
    "batch_running": (
        "Tệp lớn đang được xử lý; tải lại trang để xem tiến độ.",
        "A large file is being processed; reload to see its progress.",
    ),
    "uploaded_by": ("Người gửi", "Uploaded by"),
    "cr_title": ("Đề nghị sửa thông tin", "Ask for a correction"),
    "cr_intro": (
        "Cho biết thông tin nào sai và thông tin đúng; công an phường/xã nơi bạn ở sẽ kiểm tra và liên hệ.",
        "Say what is wrong and what is right; the police of your ward will check and contact you.",
    ),
    "cr_field": ("Mục cần sửa", "What is wrong"),
    "cr_text": ("Mô tả", "Description"),
    "cr_send": ("Gửi đề nghị", "Send the request"),
    "cr_filed": (
        "Đã gửi đề nghị tới phường/xã nơi bạn ở.",
        "Your request has gone to the ward where you live.",
    ),
    "cr_field_full_name": ("Họ và tên", "Full name"),
    "cr_field_birth_date": ("Ngày sinh", "Date of birth"),
    "cr_field_sex": ("Giới tính", "Sex"),
    "cr_field_personal_id": ("Số định danh", "Personal ID"),
    "cr_field_phone": ("Số điện thoại", "Phone"),
    "cr_field_address": ("Địa chỉ", "Address"),
    "cr_field_doses": ("Mũi tiêm (thiếu hoặc sai)", "Doses (missing or wrong)"),
    "cr_field_other": ("Khác", "Other"),
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
    "download_words": ("Tên cột", "Column names"),
    "download_for_people": ("Tiếng Việt", "Vietnamese"),
    "download_for_programs": ("Mã gốc (cho chương trình)", "Codes (for programs)"),
    "download_contract": (
        "Cho chương trình máy tính (CSV, tên cột tiếng Anh, mã gốc)",
        "For programs (CSV, English column names, codes)",
    ),
    "wards_found_health_wrong": ("Phường/xã xác định y tế ghi sai", "Found wrong in health by wards"),
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
    # pages for every role, errors beside the field, history
    "vn_time": ("giờ Việt Nam", "Vietnam time"),
    "skip_to_content": ("Bỏ qua, tới nội dung chính", "Skip to the main content"),
    "navigation": ("Điều hướng", "Navigation"),
    "verify_card": ("Kiểm tra thẻ CCCD", "Check a chip card"),
    "verify_certificate": ("Kiểm tra chứng nhận", "Check a certificate"),
    "sex_M": ("Nam", "Male"),
    "sex_F": ("Nữ", "Female"),
    "citizen_record": ("Hồ sơ công dân", "Citizen record"),
    "reject_reason": ("Lý do từ chối", "Reason for rejecting"),
    "waiting_second_officer": ("Chờ cán bộ khác duyệt", "Waiting for another officer"),
    "my_requests": ("Đề nghị sửa tôi đã gửi", "Changes I asked for"),
    "change_done_approved": ("Đã duyệt; sổ đăng ký đã được sửa", "Approved; the register is corrected"),
    "change_done_rejected": ("Đã từ chối đề nghị sửa", "The change was rejected"),
    "change_done_outdated": (
        "Không áp dụng: trường này đã được sửa khác sau khi đề nghị được gửi; đề nghị đã đóng và người đề nghị được báo",
        "Not applied: this field was changed after the request; the request is closed and its author told",
    ),
    "change_outcome_approved": ("Đã duyệt", "Approved"),
    "change_outcome_rejected": ("Bị từ chối", "Rejected"),
    "change_outcome_outdated": ("Không áp dụng (đã có thay đổi mới hơn)", "Not applied (changed meanwhile)"),
    "correct_intro": (
        "Sửa địa chỉ có hiệu lực ngay; sửa họ tên, ngày sinh, giới tính, số định danh hoặc số điện thoại "
        "(nơi nhận mã xác thực) cần cán bộ thứ hai duyệt.",
        "The address changes at once; name, birth date, sex, number and phone (where codes are sent) need "
        "a second officer's approval.",
    ),
    "by": ("bởi", "by"),
    "approved_by": ("duyệt bởi", "approved by"),
    "why": ("lý do", "reason"),
    "source_import": ("nhập sổ đăng ký", "register import"),
    "resolution_linked": ("Đã gắn với công dân", "Linked to a citizen"),
    "resolution_health_wrong": ("Y tế ghi sai, đã báo y tế sửa", "Health record wrong; health told"),
    "resolution_verified": ("Đã xác minh giữa phường/xã", "Verified between wards"),
    "resolution_approved": ("Đã duyệt", "Approved"),
    "resolution_rejected": ("Bị từ chối", "Rejected"),
    "resolution_outdated": ("Không áp dụng (đã có thay đổi mới hơn)", "Not applied (changed meanwhile)"),
    "resolution_registered": ("Đã đăng ký cư dân mới", "Registered as a new resident"),
    "resolution_answered": ("Đã xử lý đề nghị của công dân", "Citizen's request handled"),
    "action_linked": ("Gắn với công dân", "Linked to a citizen"),
    "action_health_wrong": ("Báo y tế ghi sai", "Health record declared wrong"),
    "action_passed": ("Chuyển phường/xã khác", "Passed to another ward"),
    "action_collection": ("Bắt đầu thu thập cư dân mới", "Started collecting a new resident"),
    "action_verification_sent": ("Gửi yêu cầu xác minh", "Verification request sent"),
    "action_verification_rejected": ("Yêu cầu xác minh bị từ chối", "Verification request rejected"),
    "action_verified": ("Đã xác minh", "Verified"),
    "action_registered": ("Đăng ký cư dân mới", "Registered as a new resident"),
    "action_answered": ("Xử lý đề nghị", "Request handled"),
    "action_change_approved": ("Duyệt đề nghị sửa", "Change approved"),
    "action_change_rejected": ("Từ chối đề nghị sửa", "Change rejected"),
    "action_change_outdated": ("Đề nghị sửa không áp dụng", "Change not applied"),
    "action_requested": ("Gửi đề nghị", "Requested"),
    "case_history": ("Lịch sử hồ sơ", "Case history"),
    "citizen_request": ("Đề nghị của công dân", "Citizen's request"),
    "request_text": ("Nội dung", "What they wrote"),
    "channel_online": ("Gửi trực tuyến", "Filed online"),
    "close_request": ("Đã xử lý xong, đóng đề nghị", "Handled: close the request"),
    "close_note": ("Đã làm gì (bắt buộc)", "What was done (required)"),
    "open_citizen": ("Mở hồ sơ công dân để sửa", "Open the citizen's record to correct it"),
    "register_here": ("Đăng ký cư dân mới của phường/xã này", "Register a new resident of this ward"),
    "register_here_intro": (
        "Người thường trú tại phường/xã này: đăng ký ngay, cấp số định danh và gắn các mũi tiêm của hồ sơ. "
        "Người thường trú nơi khác: gửi yêu cầu xác minh tới phường/xã đó.",
        "A permanent resident of this ward is registered at once, given a number and their doses linked. "
        "Someone whose permanent residence is elsewhere: a verification request goes to that ward.",
    ),
    "registered": ("Đã đăng ký cư dân mới và cấp số định danh", "Registered and given a number"),
    "notice_by_other_ward": (
        "Thông báo số định danh do phường/xã nơi người này đang ở in và trao",
        "The number notice is printed and handed over by the ward where the person lives",
    ),
    "self_correction_link": ("Thông tin sai? Đề nghị sửa", "Something wrong? Ask for a correction"),
    "scan_camera": ("Quét bằng camera", "Scan with the camera"),
    "scan_stop": ("Dừng quét", "Stop scanning"),
    "scan_unavailable": (
        "Không mở được camera; hãy nhập hoặc chọn ảnh",
        "The camera cannot be opened; type or choose a picture",
    ),
    "check_next": ("Kiểm tra người tiếp theo", "Check the next person"),
    "mine": ("Của tôi", "Mine"),
    "take": ("Nhận việc", "Take it"),
    "sort_date": ("Cũ nhất trước", "Oldest first"),
    "sort_name": ("Theo tên (A–Z)", "By name (A–Z)"),
    "n_people": ("{n} người", "{n} people"),
    "n_records": ("{n} bản ghi", "{n} records"),
    "filter_name": ("Tên cách xem", "Filter name"),
    "forget_filter": ("Xóa cách xem {name}", "Forget the filter {name}"),
    "same_person_records": ("Các bản ghi khác của cùng người", "The same person's other records"),
    "same_person_note": (
        "Các nút bên dưới xử lý cùng lúc cả {n} bản ghi của người này.",
        "The buttons below settle all {n} records of this person at once.",
    ),
    "existing_doses": ("Mũi tiêm đã gắn với người này", "Doses already linked to this person"),
    "no_existing_doses": ("Chưa có mũi tiêm nào được gắn", "No dose linked yet"),
    "taken_by_me": ("Hồ sơ này do bạn xử lý", "You are handling this case"),
    "assigned_to": ("Đang do", "Assigned to"),
    "action_taken": ("Nhận xử lý", "Taken"),
    "words": ("Tìm theo chẩn đoán", "Diagnosis words"),
    "words_hint": ("vd: thiếu tên đệm", "e.g. middle name dropped"),
    "sort": ("Sắp xếp", "Sort"),
    "sort_priority": ("Ưu tiên, cũ trước", "Priority, oldest first"),
    "saved_filters": ("Cách xem đã ghi nhớ", "Saved filters"),
    "save_filter": ("Ghi nhớ cách xem này", "Save this filter"),
    "batch_refreshing": ("Trang tự cập nhật mỗi 5 giây.", "This page refreshes itself every 5 seconds."),
    "outcome_linked": ("Tự động gắn với công dân", "Linked automatically"),
    "outcome_confirmed": ("Cán bộ xác nhận", "Confirmed by an officer"),
    "outcome_review": ("Chờ phường/xã xác minh", "Waiting for a ward"),
    "outcome_unmatched": ("Không tìm thấy trong sổ", "Not in the register"),
    "outcome_rejected": ("Bị loại (không đọc được)", "Rejected (unusable)"),
    "outcome_superseded": ("Đã được bản mới thay thế", "Replaced by a newer version"),
    "invalid_certificate_generic": (
        "Mã không đọc được hoặc đã bị sửa",
        "The code cannot be read or was altered",
    ),
    "check_ok": ("Đạt", "Passed"),
    "check_failed": ("Không đạt", "Failed"),
    "check_skipped": ("Bỏ qua", "Skipped"),
    "required_field": ("Hãy nhập trường này", "Fill in this field"),
    "cert_required": (
        "Hãy dán mã HC1: hoặc chọn ảnh mã QR",
        "Paste the HC1: text or choose a picture of the QR code",
    ),
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
    "ID_OF_OTHER_PERSON": (
        "Số định danh là của người khác trong sổ",
        "the ID belongs to someone else in the register",
    ),
    "ID_UNKNOWN_SAME_PREFIX": (
        "Số định danh không có trong sổ, cùng nơi đăng ký, giới tính và năm sinh",
        "an ID nobody holds, with the same place, sex and birth year",
    ),
    "ID_CMND_UNKNOWN": ("Số CMND cũ không có trong sổ", "an old card number the register does not know"),
    "ID_DIFFERENT": ("Số định danh khác hẳn", "a different ID number"),
    "NAME_EXACT": ("Họ tên trùng khớp", "name identical"),
    "NAME_DIACRITICS": ("Họ tên khác dấu (thiếu hoặc sai dấu)", "name differs only in diacritics"),
    "NAME_ORDER": ("Họ tên bị đảo thứ tự", "name written in another order"),
    "NAME_MARKS_DIFFER": ("Cùng chữ cái nhưng khác dấu (Hùng/Hưng)", "same letters, other marks (Hùng/Hưng)"),
    "NAME_MIDDLE_DROPPED": ("Thiếu tên đệm", "middle name dropped"),
    "NAME_TYPO": ("Họ tên sai chính tả", "name misspelt"),
    "NAME_GIVEN_TYPO": ("Tên gọi sai chính tả", "given name misspelt"),
    "NAME_GIVEN_DIFFERS": ("Tên gọi khác (có thể là anh chị em)", "another given name (a sibling?)"),
    "NAME_SIMILAR": ("Họ tên gần giống (sai hai chỗ)", "name nearly the same (two slips)"),
    "NAME_DIFFERENT": ("Họ tên khác hẳn", "a different name"),
    "DOB_EXACT": ("Ngày sinh trùng khớp", "birth date identical"),
    "DOB_YEAR_ONLY": ("Chỉ có năm sinh", "birth year only"),
    "DOB_DAY_MONTH_SWAPPED": ("Ngày và tháng sinh bị đảo", "day and month of birth swapped"),
    "DOB_TYPO": ("Ngày sinh sai một chữ số", "birth date has a typo"),
    "DOB_NEAR": ("Ngày sinh lệch một hai ngày", "birth date a day or two off"),
    "DOB_YEAR_NEAR": ("Năm sinh lệch một hoặc mười năm", "birth year off by one or ten"),
    "DOB_SAME_YEAR": ("Cùng năm sinh nhưng khác ngày", "same birth year, another day"),
    "DOB_DIFFERENT": ("Ngày sinh khác hẳn", "a different birth date"),
    "SEX_SAME": ("Giới tính trùng", "sex identical"),
    "SEX_MISSING": ("Y tế không ghi giới tính", "health recorded no sex"),
    "SEX_DIFFERS": ("Giới tính khác", "sex differs"),
    "WARD_SAME": ("Cùng phường/xã", "same ward"),
    "WARD_MISSING": ("Không có phường/xã", "no ward"),
    "WARD_DIFFERS": ("Khác phường/xã", "another ward"),
    "ADDRESS_SAME": ("Cùng địa chỉ nhà", "same home address"),
    "ADDRESS_SAME_STREET": ("Cùng đường/thôn, khác số nhà", "same street or hamlet, another house"),
    "ADDRESS_MISSING": ("Không có địa chỉ", "no address"),
    "ADDRESS_DIFFERS": ("Khác địa chỉ", "another address"),
    "PHONE_SAME": ("Cùng số điện thoại", "same phone"),
    "PHONE_OF_HOUSEHOLD": ("Số điện thoại của người cùng hộ", "a household member's phone"),
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
    "EVIDENCE_FROM_OTHER_RECORDS": (
        "Các bản ghi khác của cùng người xác nhận",
        "the same person's other records confirm it",
    ),
    "DOSE_DUPLICATE": ("Mũi tiêm trùng lặp", "dose recorded twice"),
    "DOSE_ORDER": ("Thứ tự mũi tiêm sai", "doses out of order"),
    "DOSE_INTERVAL": ("Hai mũi quá gần nhau", "two doses too close together"),
}

Translator = Callable[..., str]

# --- downloads for people: headers and codes in Vietnamese (the contract's names stay for programs) -------

ANSWER_HEADERS_VI = {
    "record_id": "Mã bản ghi",
    "line": "Dòng trong tệp",
    "verified": "Kết quả xác minh",
    "outcome": "Kết quả đối soát",
    "reasons": "Sai lệch",
    "blame": "Bên cần sửa",
    "full_name": "Họ và tên (y tế ghi)",
    "correct_full_name": "Họ và tên đúng",
    "date_of_birth": "Ngày sinh (y tế ghi)",
    "correct_date_of_birth": "Ngày sinh đúng",
    "sex": "Giới tính (y tế ghi)",
    "correct_sex": "Giới tính đúng",
    "id_number": "Số định danh (y tế ghi)",
    "correct_id_number": "Số định danh đúng",
}
BLAME_VI = {"health": "Y tế", "register": "Sổ đăng ký dân cư", "both": "Cả y tế và sổ đăng ký"}
LEVEL_VI = {
    "ward": "Phường/xã",
    "district": "Quận/huyện",
    "province": "Tỉnh/thành phố",
    "country": "Toàn quốc",
}


def _reasons_vi(codes: str) -> str:
    return "; ".join(reason_words(c) for c in codes.split(";") if c)


def _iso_date_vi(text: str) -> str:
    parts = text.split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 and all(p.isdigit() for p in parts) else text


def answer_words(lang: str) -> tuple[dict[str, str], dict[str, Callable[[str], str]]] | None:
    """Headers and value words of health's answer for people reading `lang`; None: the contract as it is."""
    if lang != "vi":
        return None
    return ANSWER_HEADERS_VI, {
        "outcome": lambda v: MESSAGES.get(f"outcome_{v}", (v, v))[0],
        "reasons": _reasons_vi,
        "blame": lambda v: BLAME_VI.get(v, v),
        "correct_date_of_birth": _iso_date_vi,
    }


def coverage_words(lang: str) -> tuple[dict[str, str], dict[str, Callable[[str], str]]] | None:
    """Headers and value words of the coverage download for people reading `lang`; None: the contract."""
    if lang != "vi":
        return None
    headers = {k: MESSAGES[k][0] for k in (*COVERAGE_COUNTS, *BACKLOG_COUNTS)}
    headers |= {
        "unit_code": "Mã đơn vị",
        "unit_name": "Tên đơn vị",
        "parent_code": "Mã đơn vị cấp trên",
        "level": "Cấp",
        "units": "Danh mục đơn vị hành chính",
    }
    return headers, {
        "level": lambda v: LEVEL_VI.get(v, v),
        "units": lambda v: MESSAGES.get(f"units_{v}", (v, v))[0],
    }


def lang_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    stored = request.cookies.get(LANG_COOKIE)
    return stored if stored in LANGS else "vi"


def message_of(request: Request, e: ServiceError) -> str:
    """A service's refusal in the reader's language."""
    return e.message_en if lang_of(request) == "en" else e.message_vi


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

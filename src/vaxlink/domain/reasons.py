"""Why an input row was rejected: one vocabulary of codes with words for people (Vietnamese, English)."""

from __future__ import annotations

REJECTION_REASONS: dict[str, tuple[str, str]] = {
    "MALFORMED_ROW": ("Dòng sai cấu trúc (số cột không khớp)", "malformed row (wrong number of fields)"),
    "ID_EMPTY": ("Thiếu số định danh", "personal id missing"),
    "ID_NOT_DIGITS": ("Số định danh chứa ký tự không phải số", "personal id has non-digits"),
    "ID_LENGTH": ("Số định danh không đủ 12 chữ số", "personal id is not 12 digits"),
    "ID_UNKNOWN_PLACE": ("Mã nơi đăng ký khai sinh không hợp lệ", "unknown place-of-registration prefix"),
    "ID_BIRTH_YEAR_FUTURE": (
        "Năm sinh mã hóa trong số định danh ở tương lai",
        "birth year encoded in the id is in the future",
    ),
    "MISSING_NAME": ("Thiếu họ và tên", "full name missing"),
    "MISSING_DOB": ("Thiếu ngày sinh", "date of birth missing"),
    "BAD_DOB": ("Ngày sinh không hợp lệ", "date of birth unreadable or impossible"),
    "MISSING_SEX": ("Thiếu giới tính", "sex missing"),
    "BAD_SEX": ("Giới tính không hợp lệ", "sex unreadable"),
    "ID_SEX_MISMATCH": (
        "Giới tính không khớp với số định danh",
        "sex differs from the one encoded in the id",
    ),
    "ID_BIRTH_YEAR_MISMATCH": (
        "Năm sinh không khớp với số định danh",
        "birth year differs from the one encoded in the id",
    ),
    "MISSING_WARD": ("Thiếu mã xã thường trú", "permanent ward code missing"),
    "UNKNOWN_WARD": (
        "Mã xã thường trú không có trong danh mục",
        "permanent ward code not in the official list",
    ),
    "UNKNOWN_CURRENT_WARD": (
        "Mã xã nơi ở hiện tại không có trong danh mục",
        "current ward code not in the official list",
    ),
    "BAD_OLD_ID": ("Số CMND cũ không đủ 9 chữ số", "old id card number is not 9 digits"),
    "DUPLICATE_ROW": (
        "Dòng trùng lặp (cùng số định danh, cùng nội dung)",
        "repeated row (same id, same content)",
    ),
    "DUPLICATE_ID_CONFLICT": (
        "Số định danh xuất hiện nhiều lần với nội dung khác nhau",
        "id appears several times with different content",
    ),
    "MISSING_RECORD_ID": ("Thiếu mã bản ghi", "record id missing"),
    "MISSING_VACCINATION_DATE": ("Thiếu ngày tiêm", "vaccination date missing"),
    "BAD_VACCINATION_DATE": ("Ngày tiêm không hợp lệ", "vaccination date unreadable or not a full date"),
    "VACCINATION_DATE_FUTURE": ("Ngày tiêm ở tương lai", "vaccination date in the future"),
    "VACCINATION_DATE_TOO_EARLY": (
        "Ngày tiêm trước khi có vắc xin",
        "vaccination date before vaccines existed",
    ),
    "VACCINATION_BEFORE_BIRTH": ("Ngày tiêm trước ngày sinh", "vaccinated before birth"),
    "BAD_DOSE_NUMBER": ("Mũi tiêm không hợp lệ", "dose number missing or not a positive whole number"),
    "UNKNOWN_VACCINE": ("Tên vắc xin không xác định", "unknown vaccine name"),
    # A FHIR Bundle's own findings: the reader's text follows the code ("FHIR_INVALID: performer...").
    "FHIR_INVALID": ("Bản ghi FHIR không hợp lệ", "FHIR resource invalid"),
    "FHIR_NOT_COMPLETED": (
        "Mũi tiêm FHIR chưa hoàn thành (status khác completed)",
        "FHIR dose not completed",
    ),
    "FHIR_PATIENT_MISSING": ("Không tìm thấy Patient của mũi tiêm FHIR", "FHIR dose without its Patient"),
    "FHIR_SUBPOTENT": (
        "Mũi tiêm không đạt hiệu lực (isSubpotent), không tính vào liệu trình",
        "subpotent dose (isSubpotent): does not count towards a series",
    ),
}


def reason_code(reason: str) -> str:
    """The code of a stored reason: "FHIR_INVALID: performer.0.actor: Field required" → "FHIR_INVALID"."""
    return reason.split(":", 1)[0].strip()


def describe(code: str) -> str:
    """Vietnamese / English" words for a code (a detail after "CODE:" is kept); the code itself when it is
    not known."""
    key, _, detail = code.partition(":")
    vi, en = REJECTION_REASONS.get(key.strip(), (code, code))
    if detail and key.strip() in REJECTION_REASONS:
        return f"{vi} ({detail.strip()}) / {en} ({detail.strip()})"
    return f"{vi} / {en}"

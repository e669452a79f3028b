"""The errors of the use cases, in one place: each carries words for people (Vietnamese first), a stable
code for machines and the HTTP status the web layer answers with (`web/errors.py` maps them). Commands
print them without a traceback, as every `VaxlinkError`."""

from __future__ import annotations

from vaxlink.domain.errors import VaxlinkError


class ServiceError(VaxlinkError):
    """What a use case refuses to do, and why: the base of every error below."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message_vi: str, message_en: str, code: str | None = None) -> None:
        super().__init__(f"{message_vi} / {message_en}")
        self.message_vi, self.message_en = message_vi, message_en
        if code is not None:
            self.code = code


class NotFound(ServiceError):
    """Missing, or outside the user's jurisdiction: the two are told apart by no one."""

    status = 404
    code = "NOT_FOUND"

    def __init__(self, what: str = "record") -> None:
        super().__init__("Không tìm thấy", "not found", "NOT_FOUND")
        self.what = what


class Conflict(ServiceError):
    status = 409
    code = "CONFLICT"


class Invalid(ServiceError):
    status = 422
    code = "INVALID"


def changed_meanwhile() -> Conflict:
    """Someone settled or changed the record since the officer loaded it (its version moved)."""
    return Conflict(
        "Hồ sơ vừa được người khác xử lý; hãy tải lại trang",
        "someone else has just settled or changed this record; reload it",
        "VERSION_CONFLICT",
    )


class NotEligible(ServiceError):
    """A certificate asked for a citizen with no dose linked to the register."""

    status = 422
    code = "NO_LINKED_DOSE"

    def __init__(self) -> None:
        super().__init__(
            "Công dân chưa có mũi tiêm nào được gắn với sổ đăng ký; chưa cấp được chứng nhận",
            "the citizen has no dose linked to the register; no certificate can be issued",
        )


class NotTheAskedWard(ServiceError):
    """A request between wards answered by a ward other than the one of permanent residence."""

    status = 403
    code = "NOT_THE_ASKED_WARD"

    def __init__(self) -> None:
        super().__init__(
            "Chỉ phường/xã nơi thường trú trả lời yêu cầu này",
            "only the ward of permanent residence answers this request",
            self.code,
        )


class LookupInputError(ServiceError):
    """What a verifier presented cannot be read (a QR text, a picture, a number, a birth date)."""

    status = 422
    code = "BAD_INPUT"


class UserError(VaxlinkError):
    """A user cannot be created or changed as asked (an operator's command)."""


class BackupError(VaxlinkError):
    """A backup or restore that could not be made; the message says why."""

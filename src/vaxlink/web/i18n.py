"""Words on the pages (words.toml): Vietnamese first, English on request (`?lang=en`, remembered in a cookie)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from vaxlink.domain.words import Bilingual, read_words
from vaxlink.services.errors import ServiceError
from vaxlink.services.figures.stats import BACKLOG_COUNTS, COVERAGE_COUNTS

LANGS = ("vi", "en")
LANG_COOKIE = "lang"

# Every table of words (words.toml): the pages' messages, the matcher's diagnosis, and the words of the
# citizen's and the verifier's own pages.
CATALOG = read_words("vaxlink.web", "words.toml")
MESSAGES = CATALOG["messages"]
REASONS = CATALOG["reasons"]

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


def translator(lang: str, table: Bilingual = MESSAGES) -> Translator:
    """`t(key, **values)`: the words of `key` in `lang` (the key itself when the table has none)."""
    i = 1 if lang == "en" else 0

    def t(key: str, **values: object) -> str:
        words = table.get(key)
        text = words[i] if words else key
        return text.format(**values) if values else text

    return t


def reason_words(code: str, lang: str = "vi") -> str:
    words = REASONS.get(code)
    return (words[1] if lang == "en" else words[0]) if words else code

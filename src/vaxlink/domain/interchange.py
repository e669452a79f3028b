"""Column contracts of the files other agencies send (see docs/interchange.md): names, Vietnamese headers, required.

Readers match headers case-insensitively, ignoring diacritics and spacing, and accept the Vietnamese
headers found in real exports. Unknown columns are kept, not rejected.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    required: bool
    aliases: tuple[str, ...] = ()


REGISTER_COLUMNS: tuple[Column, ...] = (
    Column(
        "personal_id",
        True,
        ("Số định danh", "Số định danh cá nhân", "Mã định danh", "CCCD", "Số CCCD", "Số căn cước công dân"),
    ),
    Column("old_id", False, ("Số CMND", "CMND")),
    Column("full_name", True, ("Họ và tên", "Họ tên")),
    Column("date_of_birth", True, ("Ngày sinh", "Ngày tháng năm sinh")),
    Column("sex", True, ("Giới tính",)),
    Column("permanent_ward_code", True, ("Mã xã thường trú", "Mã phường/xã thường trú")),
    Column(
        "current_ward_code", False, ("Mã xã nơi ở hiện tại", "Mã xã tạm trú", "Mã phường/xã nơi ở hiện tại")
    ),
    Column("address", False, ("Địa chỉ",)),
    Column("phone", False, ("Số điện thoại", "SĐT", "Điện thoại", "Số ĐT")),
    Column("household_id", False, ("Mã hộ", "Mã hộ gia đình", "Mã số hộ")),
)

DOSE_COLUMNS: tuple[Column, ...] = (
    Column("record_id", True, ("Mã bản ghi", "Mã hồ sơ")),
    Column("full_name", True, ("Họ và tên", "Họ tên", "Họ tên người được tiêm")),
    Column("date_of_birth", True, ("Ngày sinh", "Ngày tháng năm sinh")),
    Column("sex", False, ("Giới tính",)),
    Column("id_number", False, ("Số CMND/CCCD", "Số CCCD/CMND", "CMND/CCCD", "Số giấy tờ")),
    Column("phone", False, ("Số điện thoại", "SĐT", "Điện thoại", "Số ĐT")),
    Column("address", False, ("Địa chỉ",)),
    Column("ward_code", False, ("Mã xã", "Mã phường/xã", "Mã xã/phường")),
    Column("vaccination_date", True, ("Ngày tiêm", "Ngày tiêm chủng")),
    Column("dose_number", True, ("Mũi tiêm", "Mũi số", "Mũi tiêm thứ", "Mũi thứ")),
    Column("vaccine", True, ("Tên vắc xin", "Vắc xin", "Loại vắc xin", "Tên vaccine", "Vaccine")),
    Column("lot_number", False, ("Số lô", "Số lô vắc xin")),
    Column("site", False, ("Cơ sở tiêm", "Nơi tiêm", "Cơ sở tiêm chủng")),
    # Which unit structure `ward_code` is in: `legacy` (before 1 July 2025) or `2025`; when absent, the
    # ingest's --units, else the vaccination date decides where the code exists in both lists.
    Column("ward_units", False, ("units", "Cấu trúc đơn vị", "Cấu trúc mã xã")),
    # primary / additional / booster (cơ bản / bổ sung / nhắc lại): an additional dose is no booster.
    Column("dose_kind", False, ("Loại mũi", "Loại liều")),
)


def header_key(text: str) -> str:
    """A header compared without case, diacritics, spacing or punctuation: 'Số CMND/CCCD' → 'socmndcccd'."""
    s = unicodedata.normalize("NFD", text.replace("\ufeff", "")).replace("đ", "d").replace("Đ", "D")
    s = "".join(c for c in s if not unicodedata.combining(c))
    return "".join(c for c in s.lower() if c.isalnum())


@dataclass(frozen=True, slots=True)
class HeaderMapping:
    """How the columns of a file map onto a contract."""

    columns: dict[str, str]  # contract name → header as found in the file
    extra: tuple[str, ...]  # headers that are not in the contract (kept)
    missing: tuple[str, ...]  # required contract columns not found
    duplicates: tuple[str, ...]  # contract columns named by more than one header


def map_headers(headers: list[str], contract: tuple[Column, ...]) -> HeaderMapping:
    lookup: dict[str, str] = {}
    for col in contract:
        for alias in (col.name, *col.aliases):
            lookup[header_key(alias)] = col.name
    columns: dict[str, str] = {}
    extra: list[str] = []
    dups: list[str] = []
    for header in headers:
        name = lookup.get(header_key(header))
        if name is None:
            extra.append(header)
        elif name in columns:
            dups.append(name)
        else:
            columns[name] = header
    missing = tuple(c.name for c in contract if c.required and c.name not in columns)
    return HeaderMapping(columns, tuple(extra), missing, tuple(dups))

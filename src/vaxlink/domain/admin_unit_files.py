"""Reading the shipped lists of administrative units and the official old → new ward table, with the
corrections and gaps the published files are known to have."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from types import MappingProxyType
from typing import Any

from vaxlink.domain.admin_units import (
    AdminUnit,
    AdminUnits,
    Level,
    LoadReport,
    Structure,
    WardConversion,
    normalise_code,
)

# Legacy wards the conversion table has no row for. The legacy list (4 January 2025) does not yet show
# the last merges of the 2023-2025 rearrangement, while the table starts from the units of 30 June 2025;
# those checked (Sơn La, Resolution 1280/NQ-UBTVQH15) were merged into a neighbour in that round, and
# several share a name with a unit the table lists under another code. Value: the legacy name.
LEGACY_WARDS_NOT_IN_CONVERSION: Mapping[str, str] = MappingProxyType(
    {
        "03751": "Xã Chiềng Ly",
        "03898": "Thị trấn Phù Yên",
        "03913": "Xã Huy Bắc",
        "03988": "Xã Tân Hợp",
        "03991": "Xã Qui Hướng",
        "04003": "Xã Tà Lai",
        "04060": "Thị trấn Yên Châu",
        "07693": "Xã Tân An",
        "07732": "Xã Nham Sơn",
        "07744": "Xã Thắng Cương",
        "16387": "Xã Đông Khê",
        "16411": "Xã Đông Xuân",
        "18448": "Xã Bình Lộc",
        "20176": "Xã Hương Hòa",
        "20674": "Xã Quế Phước",
        "25102": "Xã Đạ M'ri",
        "25174": "Xã Mỹ Lâm",
        "25177": "Xã Tư Nghĩa",
        "25186": "Xã Phù Mỹ",
    }
)

# Wards of the new Thị xã Mộc Châu (created in the same rearrangement): the table converts them, the
# legacy list predates them.
CONVERSION_CODES_NOT_IN_LEGACY: frozenset[str] = frozenset({"03980", "03983", "03984"})

# Rows of the conversion table whose old code contradicts its own old name: the code belongs to another
# ward (whose correct rows are also in the table) or to no legacy ward at all, while the name is exactly
# one legacy ward of the row's district. Keyed by (code as published, old name as published).
_OLD_CODE_CORRECTIONS: Mapping[tuple[str, str], str] = MappingProxyType(
    {
        ("00553", "Xã Đặng Xá"): "00556",
        ("01615", "Xã Mỹ Hưng"): "01651",
        ("02485", "Xã Phú Thịnh"): "02482",
        ("26929", "Phường 14"): "26935",
        ("26953", "Phường 19"): "26959",
        ("27076", "Phường 15"): "27067",
        ("27226", "Phường 11"): "27217",
        ("27232", "Phường 10"): "27223",
        ("27367", "Phường 2"): "27361",
        ("27373", "Phường 1"): "27379",
    }
)

_KINDS: tuple[str, ...] = (
    "Thành phố",
    "Thị trấn",
    "Thị xã",
    "Đặc khu",
    "Phường",
    "Quận",
    "Huyện",
    "Tỉnh",
    "Xã",
)
_KIND_BY_LOWER: Mapping[str, str] = MappingProxyType({k.lower(): k for k in _KINDS})

_DATA_DIR = ("data", "admin_units")
_LEGACY_FILE = "wards-legacy-2025-01-04.csv"
_CURRENT_FILE = "divisions-2025-07.json"
_CONVERSION_FILE = "wards-conversion-2025-07.csv"

_LOOSE_SPACE = re.compile(r"\s\s|[^\S ]")
_BRACKETED_CODE = re.compile(r"^(.*?)\s*\(\s*([0-9]+)\s*\)\s*$")


def _resource(name: str) -> Any:
    resource = files("vaxlink.domain")
    for part in _DATA_DIR:
        resource = resource / part
    return resource / name


def _read(name: str) -> str:
    return str(_resource(name).read_text(encoding="utf-8-sig"))


def digest() -> str:
    """Of what `load` reads and how: the three shipped files and this reader's code with the index's. What
    is derived from the units and kept between runs (the matcher's ward tables) is labelled with it."""
    h = hashlib.sha256()
    for name in (_LEGACY_FILE, _CURRENT_FILE, _CONVERSION_FILE):
        h.update(_resource(name).read_bytes())
    for module in (sys.modules[AdminUnits.__module__], sys.modules[__name__]):
        h.update(Path(str(module.__file__)).read_bytes())
    return h.hexdigest()[:16]


def _clean(text: str) -> str:
    if unicodedata.is_normalized("NFC", text) and text == text.strip() and not _LOOSE_SPACE.search(text):
        return text
    return " ".join(unicodedata.normalize("NFC", text).split())


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", _clean(text).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


def _kind_and_name(raw_name: str, fallback_kind: str) -> tuple[str, str]:
    """The type word in its usual spelling, and the name starting with it ("Thị Trấn X" → "Thị trấn X")."""
    name = _clean(raw_name)
    head = name.partition(" ")[0]
    if head in _KINDS:
        doubled = f"{head} {head} "
        # "Phường Phường Đúc" (19780) in the legacy list: the type word typed twice.
        return head, name[len(head) + 1 :] if name.startswith(doubled) else name
    words = name.split(" ", 2)
    for n in (2, 1):
        if len(words) >= n:
            kind = _KIND_BY_LOWER.get(" ".join(words[:n]).lower())
            if kind is not None:
                return kind, kind + name[len(kind) :]
    fallback = _clean(fallback_kind)
    return fallback[:1].upper() + fallback[1:], name


def _split_bracketed(text: str) -> tuple[str, str]:
    """'Quận Ba Đình (001)' → ('Quận Ba Đình', '001'); text without a bracketed code → (text, '')."""
    cleaned = _clean(text)
    m = _BRACKETED_CODE.match(cleaned)
    return (m.group(1), m.group(2)) if m else (cleaned, "")


def _columns(header: list[str], wanted: Mapping[str, str], source: str) -> dict[str, int]:
    folded = [_fold(h) for h in header]
    out: dict[str, int] = {}
    for key, title in wanted.items():
        try:
            out[key] = folded.index(_fold(title))
        except ValueError:
            raise ValueError(f"{source}: column {title!r} not found in {header!r}") from None
    return out


def _csv_rows(text: str) -> list[list[str]]:
    # newline="" keeps the line breaks inside quoted cells of the conversion table.
    return list(csv.reader(io.StringIO(text, newline="")))


def _load_legacy(text: str, units: list[AdminUnit]) -> tuple[int, int]:
    rows = _csv_rows(text)
    col = _columns(
        rows[0],
        {
            "province": "Tỉnh Thành Phố",
            "province_code": "Mã TP",
            "district": "Quận Huyện",
            "district_code": "Mã QH",
            "ward": "Phường Xã",
            "ward_code": "Mã PX",
            "kind": "Cấp",
        },
        _LEGACY_FILE,
    )
    i_province, i_province_code = col["province"], col["province_code"]
    i_district, i_district_code = col["district"], col["district_code"]
    i_ward, i_ward_code, i_kind = col["ward"], col["ward_code"], col["kind"]
    data_rows = without_wards = 0
    pcode = dcode = ""
    seen: set[str] = set()  # province and district codes differ in width, so one set holds both

    def unit_of(
        row: list[str], level: Level, i_name: int, i_code: int, word: str, current: str, parent: str | None
    ) -> str:
        """The code of the row's unit at `level`. Rows come grouped by province and district, so each unit
        is built once, on its first row; `parent` is None for a province (its own province)."""
        code = normalise_code(row[i_code], level)
        if code == current:
            return current
        code = code or ""
        if code not in seen:
            seen.add(code)
            kind, name = _kind_and_name(row[i_name], word)
            province = code if parent is None else parent
            units.append(AdminUnit(Structure.LEGACY, level, code, name, kind, parent, province))
        return code

    for row in rows[1:]:
        if not "".join(row).strip():
            continue
        data_rows += 1
        pcode = unit_of(row, Level.PROVINCE, i_province, i_province_code, "Tỉnh", pcode, None)
        dcode = unit_of(row, Level.DISTRICT, i_district, i_district_code, "Huyện", dcode, pcode)
        if not pcode or not dcode:
            raise ValueError(f"{_LEGACY_FILE}: row without province or district code: {row!r}")
        raw_ward = row[i_ward_code].strip()
        if not raw_ward:
            without_wards += 1
            continue
        wcode = normalise_code(raw_ward, Level.WARD)
        if wcode is None:
            raise ValueError(f"{_LEGACY_FILE}: bad ward code: {row!r}")
        # The name's own type word wins over the "Cấp" column, which is wrong at least once
        # (27046 "Phường 5" of Quận Phú Nhuận is listed as "Xã").
        kind, name = _kind_and_name(row[i_ward], row[i_kind])
        units.append(AdminUnit(Structure.LEGACY, Level.WARD, wcode, name, kind, dcode, pcode))
    return data_rows, without_wards


def _as_list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{_CURRENT_FILE}: {what} is not a list")
    return value


def _as_code(value: Any, level: Level) -> str:
    code = normalise_code(value, level)
    if code is None:
        raise ValueError(f"{_CURRENT_FILE}: bad {level} code {value!r}")
    return code


def _load_current(text: str, units: list[AdminUnit]) -> dict[str, str]:
    """Adds the 2025 units; returns ward code → province code."""
    province_of: dict[str, str] = {}
    for p in _as_list(json.loads(text), "the top level"):
        pcode = _as_code(p["code"], Level.PROVINCE)
        kind, name = _kind_and_name(str(p["name"]), str(p.get("division_type", "")))
        units.append(AdminUnit(Structure.CURRENT, Level.PROVINCE, pcode, name, kind, None, pcode))
        for w in _as_list(p["wards"], f"wards of {pcode}"):
            wcode = _as_code(w["code"], Level.WARD)
            kind, name = _kind_and_name(str(w["name"]), str(w.get("division_type", "")))
            units.append(AdminUnit(Structure.CURRENT, Level.WARD, wcode, name, kind, pcode, pcode))
            province_of[wcode] = pcode
    return province_of


@functools.lru_cache(maxsize=256)
def _is_whole(note: str) -> bool:
    # Folding absorbs the table's spelling slips ("Nhâp một phần", doubled spaces); "Phần còn lại sau khi
    # tách..." is the remainder of a split ward.
    folded = _fold(note)
    return "mot phan" not in folded and "phan con lai" not in folded


def _load_conversion(
    text: str,
    legacy_wards: Mapping[str, AdminUnit],
    legacy_districts: Mapping[str, AdminUnit],
    province_of_new: Mapping[str, str],
    conversions: list[WardConversion],
) -> dict[str, int]:
    rows = _csv_rows(text)
    header_at = next(
        (i for i, r in enumerate(rows) if {"ma xa moi", "ma xa cu"} <= {_fold(c) for c in r}), None
    )
    if header_at is None:
        raise ValueError(f"{_CONVERSION_FILE}: column header row not found")
    col = _columns(
        rows[header_at],
        {
            "new_province": "Tỉnh, thành phố",
            "new_name": "Tên Xã mới",
            "new_code": "Mã Xã mới",
            "old_name": "Tên Xã cũ",
            "old_code": "Mã Xã cũ",
            "note": "Ghi chú",
            "old_district": "Quận/huyện",
            "old_province": "Tỉnh cũ",
        },
        _CONVERSION_FILE,
    )
    i_new_province, i_new_name, i_new_code = col["new_province"], col["new_name"], col["new_code"]
    i_old_name, i_old_code, i_note = col["old_name"], col["old_code"], col["note"]
    i_old_district, i_old_province = col["old_district"], col["old_province"]
    bracketed: dict[str, tuple[str, str]] = {}

    def split(text: str) -> tuple[str, str]:
        # Few distinct district and province cells repeat over ten thousand rows.
        found = bracketed.get(text)
        if found is None:
            found = bracketed[text] = _split_bracketed(text)
        return found

    blank = heading = without_old_code = corrected_rows = kept = 0
    for row in rows[header_at + 1 :]:
        if not "".join(row[1:]).strip():
            # Province headings ("THÀNH PHỐ HÀ NỘI", once "Tỉnh Bắc Ninh (24)") carry nothing else.
            if row and row[0].strip():
                heading += 1
            else:
                blank += 1
            continue
        new_code = normalise_code(row[i_new_code].strip(), Level.WARD)
        if new_code is None:
            raise ValueError(f"{_CONVERSION_FILE}: row without a new ward code: {row!r}")
        old_name = split(row[i_old_name])[0]
        published_old = row[i_old_code].strip()
        old_code = normalise_code(published_old, Level.WARD) if published_old else ""
        if old_code is None:
            raise ValueError(f"{_CONVERSION_FILE}: bad old ward code: {row!r}")
        corrected = _OLD_CODE_CORRECTIONS.get((old_code, old_name))
        if corrected is not None:
            old_code = corrected
            corrected_rows += 1
        old_district_code = normalise_code(split(row[i_old_district])[1], Level.DISTRICT) or ""
        district = legacy_districts.get(old_district_code)
        legacy = legacy_wards.get(old_code) if old_code else None
        # The table's "Tỉnh cũ" column is wrong a few times (Cồn Cỏ under 44 instead of 45), so the old
        # province comes from the legacy list whenever the ward or district is known there.
        if legacy is not None:
            old_province_code = legacy.province_code
            old_district_code = legacy.parent_code or old_district_code
        elif district is not None:
            old_province_code = district.province_code
        else:
            old_province_code = normalise_code(split(row[i_old_province])[1], Level.PROVINCE) or ""
        if not old_code:
            without_old_code += 1
            if not old_name and district is not None:
                # A whole district turned into a special zone (đặc khu) has no old ward to name.
                old_name = district.name
        note = _clean(row[i_note])
        conversions.append(
            WardConversion(
                old_code=old_code,
                old_name=old_name,
                new_code=new_code,
                new_name=split(row[i_new_name])[0],
                new_province_code=province_of_new.get(new_code)
                or normalise_code(split(row[i_new_province])[1], Level.PROVINCE)
                or "",
                whole=_is_whole(note),
                note=note,
                old_district_code=old_district_code,
                old_province_code=old_province_code,
            )
        )
        kept += 1
    return {
        "records": len(rows),
        "header": header_at + 1,
        "blank": blank,
        "heading": heading,
        "rows": kept,
        "without_old_code": without_old_code,
        "corrected": corrected_rows,
    }


def load() -> AdminUnits:
    """Every unit of both structures and the conversion table, checked against each other."""
    units: list[AdminUnit] = []
    legacy_rows, without_wards = _load_legacy(_read(_LEGACY_FILE), units)
    province_of_new = _load_current(_read(_CURRENT_FILE), units)
    legacy_wards = {u.code: u for u in units if u.structure is Structure.LEGACY and u.level is Level.WARD}
    legacy_districts = {
        u.code: u for u in units if u.structure is Structure.LEGACY and u.level is Level.DISTRICT
    }
    conversions: list[WardConversion] = []
    counts = _load_conversion(
        _read(_CONVERSION_FILE), legacy_wards, legacy_districts, province_of_new, conversions
    )
    targets: defaultdict[str, set[str]] = defaultdict(set)
    for c in conversions:
        if c.old_code:
            targets[c.old_code].add(c.new_code)
    # A ward that went to several new wards went wholly to none of them, whatever one row's note says
    # (18796 Xã Kỳ Lợi: "Nhập toàn bộ diện tích" to one ward, part of its people to two others).
    conversions = [
        replace(c, whole=False) if c.whole and len(targets.get(c.old_code, ())) > 1 else c
        for c in conversions
    ]
    report = LoadReport(
        legacy_rows=legacy_rows,
        legacy_districts_without_wards=without_wards,
        conversion_records=counts["records"],
        conversion_header_rows=counts["header"],
        conversion_blank_rows=counts["blank"],
        conversion_heading_rows=counts["heading"],
        conversion_rows=counts["rows"],
        conversion_rows_without_old_code=counts["without_old_code"],
        conversion_codes_corrected=counts["corrected"],
    )
    return AdminUnits(units, conversions, report)

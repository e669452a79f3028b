"""Vietnam's administrative units before and after the 1 July 2025 reform, and the official old → new table.

Codes were reused across the two structures, so every lookup names the structure it reads.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Structure(StrEnum):
    LEGACY = "legacy"
    CURRENT = "2025"


class Level(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    WARD = "ward"


CODE_WIDTH: Mapping[Level, int] = MappingProxyType({Level.PROVINCE: 2, Level.DISTRICT: 3, Level.WARD: 5})


@dataclass(frozen=True, slots=True)
class AdminUnit:
    structure: Structure
    level: Level
    code: str
    name: str
    kind: str
    parent_code: str | None
    province_code: str


@dataclass(frozen=True, slots=True)
class WardConversion:
    """One row of the official conversion table: (part of) a legacy ward going into a 2025 ward.

    `whole` is False when only part of the old ward's area or population went this way; `note` is the
    table's "Ghi chú" and says which. The old district and province come from the legacy list.
    """

    old_code: str
    old_name: str
    new_code: str
    new_name: str
    new_province_code: str
    whole: bool
    note: str
    old_district_code: str = ""
    old_province_code: str = ""


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What loading read and what it set aside, so that nothing is dropped silently."""

    legacy_rows: int
    legacy_districts_without_wards: int
    conversion_records: int
    conversion_header_rows: int
    conversion_blank_rows: int
    conversion_heading_rows: int
    conversion_rows: int
    conversion_rows_without_old_code: int
    conversion_codes_corrected: int


_DIGITS = re.compile(r"[0-9]+")
_DECIMAL_ZERO = re.compile(r"([0-9]+)\.0*")


def normalise_code(text: object, level: Level) -> str | None:
    """A unit code as spreadsheets mangle it ("2656", 26560, "26560.0") → zero-padded to the level's width."""
    width = CODE_WIDTH[level]
    if type(text) is str and len(text) == width and text.isascii() and text.isdigit():
        return text
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, float):
        if not text.is_integer() or text < 0:
            return None
        text = int(text)
    s = str(text).strip()
    if not _DIGITS.fullmatch(s):
        m = _DECIMAL_ZERO.fullmatch(s)
        if m is None:
            return None
        s = m.group(1)
    if len(s) > width:
        # Spreadsheets add zeros only on the left, so extra leading zeros are padding, not digits.
        s = s.lstrip("0").zfill(width)
        if len(s) > width:
            return None
    return s.zfill(width)


def unit_label(unit: AdminUnit | None) -> str:
    return "" if unit is None else unit.name


class AdminUnits:
    """Read-only index over both structures and the conversion table; build it with `admin_units()`."""

    def __init__(
        self,
        units: Iterable[AdminUnit],
        conversions: Iterable[WardConversion],
        report: LoadReport,
    ) -> None:
        self.report = report
        self._units: dict[tuple[Structure, Level], dict[str, AdminUnit]] = {
            (s, lv): {} for s in Structure for lv in Level
        }
        wards_by_parent: defaultdict[tuple[Structure, str], list[AdminUnit]] = defaultdict(list)
        districts_by_province: defaultdict[str, list[AdminUnit]] = defaultdict(list)
        for u in units:
            self._units[(u.structure, u.level)][u.code] = u
            if u.level is Level.WARD:
                wards_by_parent[(u.structure, u.province_code)].append(u)
                if u.structure is Structure.LEGACY and u.parent_code is not None:
                    # District codes have three digits and province codes two, so one map holds both.
                    wards_by_parent[(u.structure, u.parent_code)].append(u)
            elif u.level is Level.DISTRICT:
                districts_by_province[u.province_code].append(u)
        self._wards_by_parent = dict(wards_by_parent)
        self._districts_by_province = dict(districts_by_province)

        by_old: defaultdict[str, list[WardConversion]] = defaultdict(list)
        by_new: defaultdict[str, list[WardConversion]] = defaultdict(list)
        province_counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for c in conversions:
            if c.old_code:
                by_old[c.old_code].append(c)
            by_new[c.new_code].append(c)
            if c.old_province_code:
                province_counts[c.old_province_code][c.new_province_code] += 1
        self._by_old = dict(by_old)
        self._by_new = dict(by_new)
        # Where most of the old province's wards went comes first.
        self._province_map: dict[str, list[str]] = {
            old: [code for code, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
            for old, counts in province_counts.items()
        }

    def unit(self, structure: Structure, level: Level, code: str) -> AdminUnit | None:
        key = normalise_code(code, level)
        return None if key is None else self._units[(structure, level)].get(key)

    def ward(self, code: str, structure: Structure = Structure.LEGACY) -> AdminUnit | None:
        return self.unit(structure, Level.WARD, code)

    def district(self, code: str) -> AdminUnit | None:
        return self.unit(Structure.LEGACY, Level.DISTRICT, code)

    def province(self, code: str, structure: Structure = Structure.LEGACY) -> AdminUnit | None:
        return self.unit(structure, Level.PROVINCE, code)

    def provinces(self, structure: Structure) -> list[AdminUnit]:
        return list(self._units[(structure, Level.PROVINCE)].values())

    def districts_of(self, province_code: str) -> list[AdminUnit]:
        key = normalise_code(province_code, Level.PROVINCE)
        return list(self._districts_by_province.get(key or "", ()))

    def wards_of(self, parent_code: str, structure: Structure = Structure.LEGACY) -> list[AdminUnit]:
        """Legacy: a three-digit parent is a district, a shorter one a province; 2025: always a province."""
        s = str(parent_code).strip()
        level = (
            Level.DISTRICT
            if structure is Structure.LEGACY and len(s) == CODE_WIDTH[Level.DISTRICT]
            else Level.PROVINCE
        )
        key = normalise_code(s, level)
        return list(self._wards_by_parent.get((structure, key or ""), ()))

    def wards(self, structure: Structure) -> list[AdminUnit]:
        return list(self._units[(structure, Level.WARD)].values())

    def convert_ward(self, old_code: str) -> list[WardConversion]:
        """Legacy ward → its row(s) in the conversion table; several when it was split, none when absent."""
        key = normalise_code(old_code, Level.WARD)
        return list(self._by_old.get(key or "", ()))

    def legacy_sources(self, new_code: str) -> list[WardConversion]:
        """2025 ward → the legacy wards or parts it was made from (old_code is empty for a whole district)."""
        key = normalise_code(new_code, Level.WARD)
        return list(self._by_new.get(key or "", ()))

    def convert_province(self, old_code: str) -> list[str]:
        key = normalise_code(old_code, Level.PROVINCE)
        return list(self._province_map.get(key or "", ()))

    def ward_provinces(self) -> dict[str, str]:
        """Every ward code of either structure → the 2025 province it lies in (the codes of the two lists
        that coincide name wards of the same province; a legacy province went whole into one 2025 one)."""
        out = {w.code: w.province_code for w in self.wards(Structure.CURRENT)}
        for w in self.wards(Structure.LEGACY):
            new = self.convert_province(w.province_code)
            if len(new) == 1:
                out.setdefault(w.code, new[0])
        return out

    def ward_targets(self) -> dict[str, tuple[str, ...]]:
        """Every legacy ward code → the 2025 wards it went into, wholly or in part (several when it was
        split; absent when the official table does not name it), in code order."""
        return {old: tuple(sorted({c.new_code for c in rows})) for old, rows in self._by_old.items()}

    def same_ward(
        self,
        a: str | None,
        a_structure: Structure | str | None,
        b: str | None,
        b_structure: Structure | str | None,
    ) -> bool:
        """Whether two ward codes can name the same place. In one structure, or when either's structure is not
        known, the codes are compared as written. A legacy ward and a 2025 ward are the same place when the
        legacy one went (wholly or in part) into the 2025 one: Phước Nguyên (26554, legacy) lies in Bà Rịa
        (26560, 2025), and a code of one list met in the other is not taken for the same place unless the
        table says so. The matcher's SQL mirrors this (`matching/defaults.py`, `WARD_SAME`)."""
        a, b = normalise_code(a, Level.WARD), normalise_code(b, Level.WARD)
        if a is None or b is None:
            return False
        sa = None if a_structure is None else Structure(a_structure)
        sb = None if b_structure is None else Structure(b_structure)
        if sa is None or sb is None or sa is sb:
            return a == b
        old, new = (a, b) if sa is Structure.LEGACY else (b, a)
        return any(c.new_code == new for c in self._by_old.get(old, ()))

    def ancestors(self, unit: AdminUnit) -> list[AdminUnit]:
        """Nearest first: ward → district → province (legacy), ward → province (2025)."""
        out: list[AdminUnit] = []
        current = unit
        while current.parent_code is not None:
            parent_level = (
                Level.DISTRICT
                if current.structure is Structure.LEGACY and current.level is Level.WARD
                else Level.PROVINCE
            )
            parent = self._units[(current.structure, parent_level)].get(current.parent_code)
            if parent is None:
                break
            out.append(parent)
            current = parent
        return out


def units_digest() -> str:
    """Of the shipped lists and the code that reads them, without reading them: see `admin_unit_files.digest`."""
    from vaxlink.domain.admin_unit_files import digest

    return digest()


@functools.cache
def admin_units() -> AdminUnits:
    """The shipped lists, read on first use only: importing this module costs nothing."""
    # The reader builds this module's types, so it is imported here rather than at the top.
    from vaxlink.domain.admin_unit_files import load

    return load()

"""The ward map of both structures (`stats_ward_map`): every stored ward, legacy or 2025, mapped once to a
ward of each, so that the statistics cells answer in either structure."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from vaxlink.domain.admin_units import Structure, WardConversion, admin_units


def _fold(note: str) -> str:
    folded = unicodedata.normalize("NFD", note.lower()).replace("đ", "d")
    return "".join(c for c in folded if not unicodedata.combining(c))


def main_successor(old_code: str, rows: Sequence[WardConversion]) -> WardConversion:
    """The one 2025 ward a split legacy ward's people are counted in when the register gives no 2025 ward:
    the part that took the whole population ("toàn bộ dân số"), else the whole area, else the part that
    kept the old code, else the remainder after the split ("phần còn lại"), else the lowest new code."""

    def rank(c: WardConversion) -> tuple[int, str]:
        note = _fold(c.note)
        if "toan bo dan so" in note:
            return (0, c.new_code)
        if "toan bo dien tich" in note:
            return (1, c.new_code)
        if c.new_code == old_code:
            return (2, c.new_code)
        if "phan con lai" in note:
            return (3, c.new_code)
        return (4, c.new_code)

    return min(rows, key=rank)


def main_source(new_code: str, rows: Sequence[WardConversion]) -> WardConversion:
    """The one legacy ward a 2025 ward made of several is attributed to in legacy reports: the one whose
    code it kept, else the lowest code among those merged whole, else the lowest code."""
    same = [c for c in rows if c.old_code == new_code]
    if same:
        return same[0]
    return min(rows, key=lambda c: (not c.whole, c.old_code))


def ward_map_rows() -> list[dict[str, Any]]:
    """One row per official ward of either structure, with its wards in both. A legacy ward converted
    whole maps to its 2025 ward, a split one to its main successor (its people are counted once, there);
    a 2025 ward made of several legacy wards maps to its main source, which is exact for provinces and
    approximate for districts and wards (only for people registered with 2025 codes). People the register
    already places in a 2025 ward count in that ward exactly."""
    reg = admin_units()
    out: list[dict[str, Any]] = []
    for w in reg.wards(Structure.LEGACY):
        rows = [c for c in reg.convert_ward(w.code)]
        targets = {c.new_code for c in rows}
        row: dict[str, Any] = {
            "src_units": Structure.LEGACY.value,
            "src_ward_code": w.code,
            "legacy_province_code": w.province_code,
            "legacy_district_code": w.parent_code,
            "legacy_ward_code": w.code,
            "new_province_code": None,
            "new_ward_code": None,
            "rule": "none",
        }
        if rows:
            chosen = rows[0] if len(targets) == 1 else main_successor(w.code, rows)
            row["new_ward_code"] = chosen.new_code
            row["new_province_code"] = chosen.new_province_code or None
            row["rule"] = "whole" if len(targets) == 1 else "split_main"
        out.append(row)
    legacy = {w.code: w for w in reg.wards(Structure.LEGACY)}
    for w in reg.wards(Structure.CURRENT):
        sources = [c for c in reg.legacy_sources(w.code) if c.old_code]
        row = {
            "src_units": Structure.CURRENT.value,
            "src_ward_code": w.code,
            "legacy_province_code": None,
            "legacy_district_code": None,
            "legacy_ward_code": None,
            "new_province_code": w.province_code,
            "new_ward_code": w.code,
            "rule": "none",
        }
        if sources:
            old_codes = {c.old_code for c in sources}
            chosen = sources[0] if len(old_codes) == 1 else main_source(w.code, sources)
            unit = legacy.get(chosen.old_code)
            row["legacy_ward_code"] = chosen.old_code if unit is not None else None
            row["legacy_district_code"] = (
                unit.parent_code if unit is not None else chosen.old_district_code or None
            )
            row["legacy_province_code"] = (
                unit.province_code if unit is not None else chosen.old_province_code or None
            )
            row["rule"] = "whole" if len(old_codes) == 1 else "merged_main"
        out.append(row)
    return out


def ensure_ward_map(conn: Connection) -> int:
    """Load `stats_ward_map` when it does not cover the official wards stored in `admin_unit`."""
    stored = conn.exec_driver_sql("SELECT count(*) FROM stats_ward_map").scalar_one()
    official = conn.exec_driver_sql("SELECT count(*) FROM admin_unit WHERE level = 'ward'").scalar_one()
    if stored == official and stored > 0:
        return int(stored)
    rows = ward_map_rows()
    conn.exec_driver_sql("DELETE FROM stats_ward_map")
    conn.execute(
        text("""INSERT INTO stats_ward_map (src_units, src_ward_code, legacy_province_code,
            legacy_district_code, legacy_ward_code, new_province_code, new_ward_code, rule)
        VALUES (:src_units, :src_ward_code, :legacy_province_code, :legacy_district_code, :legacy_ward_code,
            :new_province_code, :new_ward_code, :rule)"""),
        rows,
    )
    return len(rows)

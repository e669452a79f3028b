"""The legacy ward list as flat arrays, so that people can be placed and addressed by index."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vaxlink.domain.admin_units import AdminUnit, Structure, admin_units
from vaxlink.simulation.columns import IntArray

_KIND_WORDS = ("Thành phố", "Thị trấn", "Thị xã", "Phường", "Quận", "Huyện", "Tỉnh", "Xã")


def short_name(unit: AdminUnit) -> str:
    """The name without its type word ("Phường Phước Trung" → "Phước Trung"), except where the rest is a
    number ("Phường 1", "Quận 3"), which is meaningless alone."""
    for word in _KIND_WORDS:
        if unit.name.startswith(word + " "):
            rest = unit.name[len(word) + 1 :]
            return unit.name if rest.isdigit() else rest
    return unit.name


@dataclass(frozen=True)
class WardTable:
    """Every legacy ward of the country, ordered by province and district, with its names.

    Index arrays elsewhere point into these rows; a province's wards are one contiguous slice.
    """

    code: pa.StringArray
    name: pa.StringArray
    short: pa.StringArray
    district_name: pa.StringArray
    district_short: pa.StringArray
    province_name: pa.StringArray  # "Bà Rịa - Vũng Tàu", as written at the end of an address
    urban: npt.NDArray[np.bool_]  # phường and thị trấn are addressed by street, xã by hamlet
    ward_kind: list[str]
    district: IntArray  # index of the ward's district in `district_codes`
    province: IntArray  # index of the ward's province in `province_codes`
    district_codes: list[str]
    province_codes: list[str]
    province_start: IntArray
    province_stop: IntArray
    district_start: IntArray
    district_stop: IntArray

    def province_index(self, code: str) -> int:
        return self.province_codes.index(code)

    def wards_of(self, province_code: str) -> IntArray:
        i = self.province_index(province_code)
        return np.arange(self.province_start[i], self.province_stop[i], dtype=np.int64)


@functools.cache
def ward_table() -> WardTable:
    units = admin_units()
    codes: list[str] = []
    names: list[str] = []
    shorts: list[str] = []
    dnames: list[str] = []
    dshorts: list[str] = []
    pnames: list[str] = []
    kinds: list[str] = []
    district: list[int] = []
    province: list[int] = []
    district_codes: list[str] = []
    province_codes: list[str] = []
    provinces = sorted(units.provinces(Structure.LEGACY), key=lambda u: u.code)
    for p in provinces:
        pshort = short_name(p)
        province_codes.append(p.code)
        for d in sorted(units.districts_of(p.code), key=lambda u: u.code):
            wards = sorted(units.wards_of(d.code, Structure.LEGACY), key=lambda u: u.code)
            if not wards:
                # A district without communes (Côn Đảo) has no ward code to live in.
                continue
            district_codes.append(d.code)
            dshort = short_name(d)
            for w in wards:
                codes.append(w.code)
                names.append(w.name)
                shorts.append(short_name(w))
                dnames.append(d.name)
                dshorts.append(dshort)
                pnames.append(pshort)
                kinds.append(w.kind)
                district.append(len(district_codes) - 1)
                province.append(len(province_codes) - 1)
    prov = np.asarray(province, dtype=np.int64)
    dist = np.asarray(district, dtype=np.int64)
    n_prov = len(province_codes)
    n_dist = len(district_codes)
    p_start = np.searchsorted(prov, np.arange(n_prov), side="left").astype(np.int64)
    p_stop = np.searchsorted(prov, np.arange(n_prov), side="right").astype(np.int64)
    d_start = np.searchsorted(dist, np.arange(n_dist), side="left").astype(np.int64)
    d_stop = np.searchsorted(dist, np.arange(n_dist), side="right").astype(np.int64)
    return WardTable(
        code=pa.array(codes, pa.string()),
        name=pa.array(names, pa.string()),
        short=pa.array(shorts, pa.string()),
        district_name=pa.array(dnames, pa.string()),
        district_short=pa.array(dshorts, pa.string()),
        province_name=pa.array(pnames, pa.string()),
        urban=np.asarray([k in ("Phường", "Thị trấn") for k in kinds], dtype=np.bool_),
        ward_kind=kinds,
        district=dist,
        province=prov,
        district_codes=district_codes,
        province_codes=province_codes,
        province_start=p_start,
        province_stop=p_stop,
        district_start=d_start,
        district_stop=d_stop,
    )

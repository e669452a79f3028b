"""Administrative units: the shipped official lists load whole and agree with each other and domain.md."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict
from importlib.resources import files

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.domain.admin_unit_files import CONVERSION_CODES_NOT_IN_LEGACY, LEGACY_WARDS_NOT_IN_CONVERSION
from vaxlink.domain.admin_units import (
    AdminUnit,
    AdminUnits,
    Level,
    Structure,
    WardConversion,
    admin_units,
    normalise_code,
    unit_label,
)

LEGACY = Structure.LEGACY
CURRENT = Structure.CURRENT


@pytest.fixture(scope="module")
def au() -> AdminUnits:
    return admin_units()


def all_conversions(au: AdminUnits) -> list[WardConversion]:
    return [c for w in au.wards(CURRENT) for c in au.legacy_sources(w.code)]


# ------------------------------------------------------------------ loading


def test_importing_the_module_reads_no_data() -> None:
    code = "import vaxlink.domain.admin_units as m\nassert m.admin_units.cache_info().currsize == 0\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_admin_units_is_cached(au: AdminUnits) -> None:
    assert admin_units() is au


def test_every_row_of_every_file_is_accounted_for(au: AdminUnits) -> None:
    r = au.report
    # Legacy: one row per ward, plus one row for each of the five districts that have no wards.
    assert r.legacy_rows == 10_056
    assert r.legacy_districts_without_wards == 5
    assert r.legacy_rows == len(au.wards(LEGACY)) + r.legacy_districts_without_wards
    # Conversion: nothing is skipped but the two header rows and the 34 province headings.
    assert (r.conversion_header_rows, r.conversion_blank_rows, r.conversion_heading_rows) == (2, 0, 34)
    assert r.conversion_records == (
        r.conversion_header_rows + r.conversion_blank_rows + r.conversion_heading_rows + r.conversion_rows
    )
    assert r.conversion_rows == 10_571 == len(all_conversions(au))
    assert r.conversion_rows_without_old_code == 6
    assert r.conversion_codes_corrected == 11


# ------------------------------------------------------------------ the two structures


def test_legacy_counts(au: AdminUnits) -> None:
    provinces = au.provinces(LEGACY)
    districts = [d for p in provinces for d in au.districts_of(p.code)]
    assert len(provinces) == 63
    assert len(districts) == len({d.code for d in districts}) == 696
    assert len(au.wards(LEGACY)) == 10_051
    assert sum(len(au.wards_of(d.code)) for d in districts) == 10_051
    assert sum(len(au.wards_of(p.code)) for p in provinces) == 10_051
    assert {d.code for d in districts if not au.wards_of(d.code)} == {"318", "471", "498", "536", "755"}


def test_current_counts(au: AdminUnits) -> None:
    assert len(au.provinces(CURRENT)) == 34
    assert len(au.wards(CURRENT)) == 3_321
    assert sum(len(au.wards_of(p.code, CURRENT)) for p in au.provinces(CURRENT)) == 3_321
    assert Counter(w.kind for w in au.wards(CURRENT)) == {"Xã": 2621, "Phường": 687, "Đặc khu": 13}
    assert Counter(p.kind for p in au.provinces(CURRENT)) == {"Tỉnh": 28, "Thành phố": 6}


def test_ba_ria_before_the_reform(au: AdminUnits) -> None:
    province = au.province("77")
    district = au.district("748")
    trung, nguyen = au.ward("26560"), au.ward("26554")
    assert province == AdminUnit(LEGACY, Level.PROVINCE, "77", "Tỉnh Bà Rịa - Vũng Tàu", "Tỉnh", None, "77")
    assert district == AdminUnit(LEGACY, Level.DISTRICT, "748", "Thành phố Bà Rịa", "Thành phố", "77", "77")
    assert trung == AdminUnit(LEGACY, Level.WARD, "26560", "Phường Phước Trung", "Phường", "748", "77")
    assert nguyen is not None and nguyen.name == "Phường Phước Nguyên" and nguyen.parent_code == "748"
    assert au.ancestors(trung) == [district, province]
    assert au.ancestors(district) == [province]
    assert au.ancestors(province) == []
    assert {"26560", "26554"} <= {w.code for w in au.wards_of("748")}
    assert "748" in [d.code for d in au.districts_of("77")]


def test_ba_ria_after_the_reform(au: AdminUnits) -> None:
    ward = au.ward("26560", CURRENT)
    hcmc = au.province("79", CURRENT)
    assert ward == AdminUnit(CURRENT, Level.WARD, "26560", "Phường Bà Rịa", "Phường", "79", "79")
    assert hcmc is not None and hcmc.name == "Thành phố Hồ Chí Minh" and hcmc.kind == "Thành phố"
    assert au.ancestors(ward) == [hcmc]
    assert au.province("77", CURRENT) is None
    assert au.wards_of("77", CURRENT) == []
    sources = au.legacy_sources("26560")
    assert [(s.old_code, s.old_name, s.whole) for s in sources] == [
        ("26548", "Phường Phước Hưng", True),
        ("26554", "Phường Phước Nguyên", True),
        ("26557", "Phường Long Toàn", True),
        ("26560", "Phường Phước Trung", True),
    ]
    assert {(s.old_district_code, s.old_province_code, s.new_province_code) for s in sources} == {
        ("748", "77", "79")
    }


def test_legacy_wards_of_ba_ria_convert_into_phuong_ba_ria(au: AdminUnits) -> None:
    for code in ("26548", "26554", "26557", "26560"):
        [row] = au.convert_ward(code)
        assert (row.new_code, row.new_name, row.new_province_code, row.whole) == (
            "26560",
            "Phường Bà Rịa",
            "79",
            True,
        )
    assert au.convert_province("77") == ["79"]


def test_seven_province_codes_changed_meaning(au: AdminUnits) -> None:
    changed = {
        p.code: (old.name, p.name)
        for p in au.provinces(CURRENT)
        if (old := au.province(p.code)) is not None and old.name != p.name
    }
    assert changed == {
        "15": ("Tỉnh Yên Bái", "Tỉnh Lào Cai"),
        "24": ("Tỉnh Bắc Giang", "Tỉnh Bắc Ninh"),
        "44": ("Tỉnh Quảng Bình", "Tỉnh Quảng Trị"),
        "52": ("Tỉnh Bình Định", "Tỉnh Gia Lai"),
        "80": ("Tỉnh Long An", "Tỉnh Tây Ninh"),
        "82": ("Tỉnh Tiền Giang", "Tỉnh Đồng Tháp"),
        "91": ("Tỉnh Kiên Giang", "Tỉnh An Giang"),
    }
    assert {p.code for p in au.provinces(CURRENT)} <= {p.code for p in au.provinces(LEGACY)}


def test_ward_codes_are_reused_with_other_meanings(au: AdminUnits) -> None:
    reused = [w for w in au.wards(CURRENT) if (old := au.ward(w.code)) is not None and old.name != w.name]
    assert len(reused) > 2_000
    assert au.ward("26560", CURRENT) != au.ward("26560")


def test_every_province_of_the_old_map_goes_to_exactly_one_new_province(au: AdminUnits) -> None:
    targets = {p.code: au.convert_province(p.code) for p in au.provinces(LEGACY)}
    assert all(len(t) == 1 for t in targets.values())
    assert {t[0] for t in targets.values()} == {p.code for p in au.provinces(CURRENT)}
    # Bắc Giang (24) and Bắc Ninh (27) became Bắc Ninh under 24; Yên Bái (15) and Lào Cai (10) Lào Cai
    # under 15.
    assert targets["24"] == targets["27"] == ["24"]
    assert targets["15"] == targets["10"] == ["15"]
    assert au.convert_province("99") == []


# ------------------------------------------------------------------ the conversion table


def test_every_legacy_ward_converts_or_is_listed_as_absent(au: AdminUnits) -> None:
    missing = {w.code: w.name for w in au.wards(LEGACY) if not au.convert_ward(w.code)}
    assert missing == dict(LEGACY_WARDS_NOT_IN_CONVERSION)
    assert len(missing) == 19


def test_the_table_converts_only_legacy_wards_except_the_new_moc_chau_wards(au: AdminUnits) -> None:
    old_codes = {c.old_code for c in all_conversions(au) if c.old_code}
    assert old_codes - {w.code for w in au.wards(LEGACY)} == CONVERSION_CODES_NOT_IN_LEGACY
    for code in CONVERSION_CODES_NOT_IN_LEGACY:
        assert {(c.old_district_code, c.old_province_code) for c in au.convert_ward(code)} == {("123", "14")}


def test_corrected_codes_name_the_ward_the_row_is_about(au: AdminUnits) -> None:
    # Published with the code of another ward (or of no legacy ward); the name settles which ward it is.
    for code, name, district in [
        ("00556", "Xã Đặng Xá", "018"),
        ("01651", "Xã Mỹ Hưng", "049"),
        ("02482", "Xã Phú Thịnh", "075"),
        ("26935", "Phường 14", "765"),
        ("26959", "Phường 19", "765"),
        ("27067", "Phường 15", "768"),
        ("27217", "Phường 11", "772"),
        ("27223", "Phường 10", "772"),
        ("27361", "Phường 2", "775"),
        ("27379", "Phường 1", "775"),
    ]:
        ward = au.ward(code)
        assert ward is not None and (ward.name, ward.parent_code) == (name, district)
        rows = au.convert_ward(code)
        assert rows and {r.old_name for r in rows} == {name}
    assert [r.new_code for r in au.convert_ward("01615")] == ["01636"]
    assert [r.new_code for r in au.convert_ward("01651")] == ["01648"]
    assert {r.old_name for r in au.convert_ward("00553")} == {"Xã Cổ Bi"}


def test_split_wards(au: AdminUnits) -> None:
    split = [w.code for w in au.wards(LEGACY) if len({c.new_code for c in au.convert_ward(w.code)}) > 1]
    # docs/domain.md's 441 counts old codes that appear in several rows as published; two of those are
    # the miscoded rows corrected above (01615, 02485 each stood for two wards), and the correction
    # reveals 00556 as split.
    assert len(split) == 440
    assert "00556" in split and "01615" not in split and "02485" not in split
    for code in split:
        assert not any(c.whole for c in au.convert_ward(code))
    kl = au.convert_ward("18796")
    assert [(c.new_code, c.note, c.whole) for c in kl] == [
        ("18754", "Nhập một phần dân số", False),
        ("18823", "Nhập toàn bộ diện tích", False),
        ("18832", "Nhập một phần dân số", False),
    ]


def test_published_table_lists_441_old_codes_in_several_rows() -> None:
    text = (files("vaxlink.domain") / "data" / "admin_units" / "wards-conversion-2025-07.csv").read_text(
        encoding="utf-8"
    )
    targets: defaultdict[str, set[str]] = defaultdict(set)
    for row in list(csv.reader(io.StringIO(text, newline="")))[2:]:
        if row[4].strip():
            targets[row[4].strip()].add(row[2].strip())
    assert sum(1 for t in targets.values() if len(t) > 1) == 441


def test_whole_and_part_follow_the_notes(au: AdminUnits) -> None:
    by_note: defaultdict[str, set[bool]] = defaultdict(set)
    for c in all_conversions(au):
        by_note[c.note].add(c.whole)
    assert by_note["Nhập toàn bộ"] == {True}
    assert by_note["Giữ nguyên"] == {True}
    assert by_note["Đổi tên"] == {True}
    for note in [
        "Nhập một phần",
        "Nhập một phần diện tích",
        "Nhâp một phần diện tích",  # sic, in the table
        "Nhập một phần diện tích, toàn bộ dân số",
        "Phần còn lại sau khi tách một phần vào xã Canh Vinh",
        "Đổi tên, đổi loại hình từ một phần thị trấn Lai Uyên",
    ]:
        assert by_note[note] == {False}, note
    assert Counter(c.whole for c in all_conversions(au)) == {True: 9_601, False: 970}


def test_an_old_ward_meets_a_new_ward_in_at_most_one_row(au: AdminUnits) -> None:
    pairs = Counter((c.old_code, c.new_code) for c in all_conversions(au) if c.old_code)
    assert pairs.most_common(1)[0][1] == 1


def test_every_new_ward_is_made_from_something_in_its_own_province(au: AdminUnits) -> None:
    for ward in au.wards(CURRENT):
        sources = au.legacy_sources(ward.code)
        assert sources, ward
        assert {s.new_province_code for s in sources} == {ward.province_code}
        assert all(s.new_code == ward.code for s in sources)


def test_whole_districts_that_became_special_zones(au: AdminUnits) -> None:
    [con_dao] = au.legacy_sources("26732")
    assert (con_dao.old_code, con_dao.old_name, con_dao.old_district_code, con_dao.old_province_code) == (
        "",
        "Huyện Côn Đảo",
        "755",
        "77",
    )
    assert con_dao.new_name == "Đặc khu Côn Đảo" and con_dao.new_province_code == "79" and con_dao.whole
    # The table says "(44)" for Cồn Cỏ's old province; the legacy list puts district 471 in 45.
    [con_co] = au.legacy_sources("19742")
    assert (con_co.old_district_code, con_co.old_province_code) == ("471", "45")
    assert au.convert_ward("") == []


def test_old_province_comes_from_the_legacy_list(au: AdminUnits) -> None:
    for c in all_conversions(au):
        ward = au.ward(c.old_code) if c.old_code else None
        if ward is not None:
            assert (c.old_district_code, c.old_province_code) == (ward.parent_code, ward.province_code)
        else:
            district = au.district(c.old_district_code)
            assert district is not None and c.old_province_code == district.province_code


# ------------------------------------------------------------------ names and kinds


def test_every_name_is_clean_and_starts_with_its_kind(au: AdminUnits) -> None:
    units = (
        au.provinces(LEGACY)
        + au.provinces(CURRENT)
        + au.wards(LEGACY)
        + au.wards(CURRENT)
        + [d for p in au.provinces(LEGACY) for d in au.districts_of(p.code)]
    )
    for u in units:
        assert u.name == " ".join(u.name.split()) == unicodedata.normalize("NFC", u.name), u
        assert u.name.startswith(u.kind + " "), u
    conv_names = [n for c in all_conversions(au) for n in (c.old_name, c.new_name)]
    assert all(n == " ".join(n.split()) and "(" not in n for n in conv_names if n)


def test_names_are_spelled_consistently(au: AdminUnits) -> None:
    assert Counter(d.kind for p in au.provinces(LEGACY) for d in au.districts_of(p.code)) == {
        "Huyện": 509,
        "Thành phố": 86,
        "Thị xã": 52,
        "Quận": 49,
    }
    assert Counter(w.kind for w in au.wards(LEGACY)) == {"Xã": 7_717, "Phường": 1_716, "Thị trấn": 618}
    assert unit_label(au.ward("03172")) == "Thị trấn Mường Chà"  # "Thị Trấn" in the list
    assert unit_label(au.ward("06325", CURRENT)) == "Xã Bắc Sơn"  # "xã Bắc Sơn" in the JSON
    assert unit_label(au.ward("19780")) == "Phường Đúc"  # "Phường Phường Đúc" in the list
    assert unit_label(au.ward("19306")) == "Xã Ngư Thủy"  # trailing space in the list
    # Cấp says "Xã" but the name, and the district (an urban quận), say Phường.
    phuong5 = au.ward("27046")
    assert phuong5 is not None and (phuong5.name, phuong5.kind) == ("Phường 5", "Phường")


# ------------------------------------------------------------------ lookups


def test_lookups_accept_codes_as_spreadsheets_write_them(au: AdminUnits) -> None:
    assert au.ward("26560.0") == au.ward(" 26560 ") == au.ward("26560")
    assert unit_label(au.ward("1")) == "Phường Phúc Xá"
    assert au.province("1") == au.province("01")
    assert au.unit(LEGACY, Level.DISTRICT, "1") == au.district("001")
    assert au.convert_ward("26560.0") == au.convert_ward("26560")
    assert au.legacy_sources("26560.0") == au.legacy_sources("26560")
    assert au.ward("x") is None and au.ward("") is None and au.ward("999999") is None
    assert au.unit(CURRENT, Level.DISTRICT, "748") is None


def test_wards_of_tells_a_district_from_a_province_by_its_width(au: AdminUnits) -> None:
    assert au.wards_of("001") == au.wards_of("001", LEGACY)
    assert {w.parent_code for w in au.wards_of("001")} == {"001"}
    assert {w.province_code for w in au.wards_of("01")} == {"01"}
    assert au.wards_of("1") == au.wards_of("01")
    assert len(au.wards_of("01")) > len(au.wards_of("001"))
    assert au.wards_of("79", CURRENT)[0].structure is CURRENT
    assert au.wards_of("nope") == []


def test_returned_lists_are_copies(au: AdminUnits) -> None:
    au.wards_of("748").clear()
    au.convert_ward("26560").clear()
    au.provinces(LEGACY).clear()
    assert au.wards_of("748") and au.convert_ward("26560") and au.provinces(LEGACY)


def test_lists_keep_the_official_order(au: AdminUnits) -> None:
    codes = [p.code for p in au.provinces(LEGACY)]
    assert codes == sorted(codes) and codes[0] == "01"
    assert [w.code for w in au.wards(CURRENT)][:2] == ["00004", "00008"]


# ------------------------------------------------------------------ codes and labels


@pytest.mark.parametrize(
    ("text", "level", "expected"),
    [
        ("2656", Level.WARD, "02656"),
        ("26560", Level.WARD, "26560"),
        (26560, Level.WARD, "26560"),
        ("26560.0", Level.WARD, "26560"),
        (26560.0, Level.WARD, "26560"),
        (" 00001 ", Level.WARD, "00001"),
        ("77", Level.PROVINCE, "77"),
        ("077", Level.PROVINCE, "77"),  # the province prefix of a personal ID number
        (1, Level.PROVINCE, "01"),
        ("748", Level.DISTRICT, "748"),
        ("1", Level.DISTRICT, "001"),
        ("123456", Level.WARD, None),
        ("178", Level.PROVINCE, None),
        ("26560.5", Level.WARD, None),
        (26560.5, Level.WARD, None),
        ("-1", Level.WARD, None),
        ("2656O", Level.WARD, None),
        ("٢٦٥٦٠", Level.WARD, None),
        ("", Level.WARD, None),
        (None, Level.WARD, None),
        (True, Level.WARD, None),
        ([26560], Level.WARD, None),
    ],
)
def test_normalise_code(text: object, level: Level, expected: str | None) -> None:
    assert normalise_code(text, level) == expected


@given(st.integers(min_value=0, max_value=99_999), st.sampled_from(["{}", "{}.0", " {} ", "{:05d}"]))
def test_normalise_code_round_trips_any_ward_number(n: int, shape: str) -> None:
    assert normalise_code(shape.format(n), Level.WARD) == f"{n:05d}"
    assert normalise_code(n, Level.WARD) == f"{n:05d}"


def test_unit_label(au: AdminUnits) -> None:
    assert unit_label(None) == ""
    assert unit_label(au.district("748")) == "Thành phố Bà Rịa"

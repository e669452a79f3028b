"""Independent test sets for vaxlink's matcher, and a per-error-kind comparison with the Splink peer.

Written apart from vaxlink's own simulator (nothing from `vaxlink.simulation` is imported or read): the
population, the households and every error kind below come from the domain notes and from how Vietnamese
health-ministry clerks actually filled their spreadsheets in 2021-2022.

    uv run python bench/independent_sets.py generate --citizens 15000 --seed 1 --out /tmp/indep/default
    uv run python bench/independent_sets.py generate --citizens 15000 --seed 2 --mix random --mix-seed 7 --out DIR
    uv run python bench/independent_sets.py run --data /tmp/indep/default --work /tmp/indep/default-work

`generate` writes register.csv, doses.csv, truth.csv (record_id, personal_id, kinds) and mix.json.
`run` imports the register into a fresh SQLite database through vaxlink's CLI, ingests the dose batch,
exports the result, runs bench/splink_peer.py on the same files, scores both against truth.csv and
prints one row per error kind; it writes misses.csv (Splink right, vaxlink not), wrong_links.csv
(every automatic link to the wrong person, by either system), kinds.csv and summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARDS_CSV = ROOT / "src" / "vaxlink" / "domain" / "data" / "admin_units" / "wards-legacy-2025-01-04.csv"
REF_DAY = date(2021, 7, 1)  # ages are counted at this day
LAST_DAY = date(2022, 12, 31)

# --------------------------------------------------------------------------------------------------
# Names. Frequencies of family names roughly follow published surveys (Nguyễn ~38 %, top ten ~90 %).
FAMILY = [
    ("Nguyễn", 38),
    ("Trần", 11),
    ("Lê", 9.5),
    ("Phạm", 7),
    ("Huỳnh", 4),
    ("Hoàng", 2),
    ("Phan", 4.5),
    ("Võ", 3.5),
    ("Vũ", 2),
    ("Đặng", 2.1),
    ("Bùi", 2),
    ("Đỗ", 1.4),
    ("Hồ", 1.3),
    ("Ngô", 1.3),
    ("Dương", 1),
    ("Lý", 0.5),
    ("Trương", 1),
    ("Đinh", 0.7),
    ("Lâm", 0.5),
    ("Mai", 0.5),
    ("Đào", 0.4),
    ("Cao", 0.4),
    ("Lương", 0.3),
    ("Tạ", 0.2),
    ("Châu", 0.3),
    ("Thái", 0.2),
    ("Tô", 0.2),
    ("Hà", 0.3),
    ("Kiều", 0.1),
    ("Quách", 0.1),
    ("Lưu", 0.2),
    ("Tăng", 0.1),
    ("La", 0.1),
    ("Triệu", 0.1),
    ("Diệp", 0.1),
    ("Từ", 0.1),
    ("Phùng", 0.1),
    ("Chu", 0.1),
    ("Thân", 0.1),
    ("Nông", 0.1),
]
MID_M = [
    "Văn",
    "Hữu",
    "Đức",
    "Minh",
    "Quốc",
    "Thanh",
    "Công",
    "Hoàng",
    "Gia",
    "Anh",
    "Tuấn",
    "Trung",
    "Xuân",
    "Thành",
    "Ngọc",
    "Bá",
    "Đình",
    "Quang",
    "Tấn",
    "Phước",
    "Thế",
    "Trọng",
    "Duy",
    "Nhật",
    "Bảo",
    "Hoài",
]
MID_F = [
    "Thị",
    "Ngọc",
    "Thu",
    "Thanh",
    "Kim",
    "Mỹ",
    "Bảo",
    "Phương",
    "Minh",
    "Hồng",
    "Thúy",
    "Hoài",
    "Khánh",
    "Diễm",
    "Tuyết",
    "Bích",
    "Thảo",
    "Ái",
    "Quỳnh",
    "Cẩm",
]
OLD_M = [
    "Hùng",
    "Dũng",
    "Sơn",
    "Thắng",
    "Bình",
    "Hòa",
    "Thành",
    "Hải",
    "Tâm",
    "Minh",
    "Lộc",
    "Phước",
    "Thọ",
    "Tỷ",
    "Sang",
    "Tài",
    "Cường",
    "Hưng",
    "Tiến",
    "Trung",
    "Nghĩa",
    "Long",
    "Đông",
    "Quang",
    "Tuấn",
    "Vinh",
    "Toàn",
    "Thuận",
    "Tư",
    "Hoàng",
]
NEW_M = [
    "Khang",
    "Khôi",
    "Phúc",
    "Bảo",
    "Huy",
    "Kiệt",
    "Minh",
    "Nam",
    "Long",
    "Quân",
    "Duy",
    "Khoa",
    "Phát",
    "Thịnh",
    "Đạt",
    "Hiếu",
    "Khánh",
    "Trí",
    "Tú",
    "Tùng",
    "Việt",
    "Vũ",
    "Hào",
    "Lâm",
    "Nhân",
    "Phong",
    "An",
    "Luân",
    "Tín",
    "Thiện",
]
OLD_F = [
    "Lan",
    "Hoa",
    "Hồng",
    "Mai",
    "Cúc",
    "Đào",
    "Lệ",
    "Nga",
    "Hương",
    "Thủy",
    "Loan",
    "Hạnh",
    "Sen",
    "Thoa",
    "Tư",
    "Bảy",
    "Út",
    "Dung",
    "Hiền",
    "Liên",
    "Nhung",
    "Tuyết",
    "Xuân",
    "Yến",
    "Vân",
    "Huệ",
    "Hằng",
    "Oanh",
    "Hòa",
    "Lý",
]
NEW_F = [
    "Anh",
    "Vy",
    "Linh",
    "Ngọc",
    "Trâm",
    "Hân",
    "Như",
    "Nhi",
    "My",
    "Thư",
    "Uyên",
    "Ngân",
    "Quỳnh",
    "Trang",
    "Thảo",
    "Chi",
    "Châu",
    "Giang",
    "Hà",
    "Huyền",
    "Diễm",
    "Duyên",
    "Phương",
    "Trinh",
    "Quyên",
    "Tâm",
    "Thúy",
    "Hạnh",
    "Khuê",
]
TWIN_PAIRS_M = [
    ("Phúc", "Lộc"),
    ("Long", "Lân"),
    ("Khang", "Khải"),
    ("Minh", "Mẫn"),
    ("Trung", "Hiếu"),
    ("Bảo", "Báu"),
]
TWIN_PAIRS_F = [
    ("Hà", "Hằng"),
    ("Hân", "Hoan"),
    ("Vy", "Vân"),
    ("Ngọc", "Ngân"),
    ("Thảo", "Thư"),
    ("Linh", "Lan"),
]
NICK_ELDER = ["Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy", "Út", "Tám"]
NICK_CHILD = ["Bi", "Bin", "Bon", "Ken", "Su", "Na", "Mít", "Bống", "Tít", "Bé", "Tèo", "Út"]

STREETS = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Nguyễn Huệ",
    "Lê Lai",
    "Võ Thị Sáu",
    "Nguyễn Thái Học",
    "Cách Mạng Tháng Tám",
    "Hùng Vương",
    "Nguyễn Hữu Thọ",
    "27 Tháng 4",
    "Phạm Văn Đồng",
    "Bình Giã",
    "Nguyễn An Ninh",
    "Thùy Vân",
    "Thống Nhất",
    "Trương Công Định",
    "Quang Trung",
    "Ba Cu",
    "Hoàng Hoa Thám",
    "Nam Kỳ Khởi Nghĩa",
    "Huỳnh Tịnh Của",
    "Độc Lập",
    "Lê Quang Định",
    "Phan Chu Trinh",
    "Xô Viết Nghệ Tĩnh",
]
HAMLETS = [
    "Bình Hòa",
    "Bình Mỹ",
    "Tân Phú",
    "Phước Lộc",
    "Long Thạnh",
    "An Điền",
    "Hải Sơn",
    "Phú Thạnh",
    "Bàu Sen",
    "Xóm Rẫy",
    "Tân Xuân",
    "Sông Cầu",
    "Phước Thới",
    "Hội Mỹ",
    "Bến Đình",
    "Láng Cát",
    "Gò Cát",
    "Phú Hà",
    "Tân Ninh",
    "Suối Cát",
]

# Birth-registration provinces of people who came from elsewhere (the PPP of their ID), with the first
# digits of their old 9-digit CMND.
ORIGINS = [
    ("038", "17"),
    ("040", "18"),
    ("042", "18"),
    ("044", "19"),
    ("036", "16"),
    ("034", "15"),
    ("052", "21"),
    ("051", "21"),
    ("054", "22"),
    ("089", "35"),
    ("087", "34"),
    ("094", "36"),
    ("096", "38"),
    ("079", "02"),
    ("075", "27"),
    ("001", "01"),
    ("046", "19"),
    ("068", "25"),
]
HOME = ("077", "27")

# Old 11-digit mobile prefixes and the 10-digit ones they became in 2018.
OLD_PHONE = {
    "032": "0162",
    "033": "0163",
    "034": "0164",
    "035": "0165",
    "036": "0166",
    "037": "0167",
    "038": "0168",
    "039": "0169",
    "070": "0120",
    "079": "0121",
    "077": "0122",
    "076": "0126",
    "078": "0128",
    "083": "0123",
    "084": "0124",
    "085": "0125",
    "081": "0127",
    "082": "0129",
    "056": "0186",
    "058": "0188",
    "059": "0199",
}
PHONE_PREFIX = [
    "090",
    "091",
    "093",
    "094",
    "096",
    "097",
    "098",
    "086",
    "088",
    "089",
    "070",
    "079",
    "077",
    "076",
    "078",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "083",
    "084",
    "085",
    "081",
    "082",
    "056",
    "058",
]

# Vaccines: the names a platform export used (all listed in the domain notes) and odd spellings.
VACCINES = {
    "AZ": ["AstraZeneca", "AZ", "Vaxzevria", "EU/1/21/1529"],
    "PF": ["Pfizer", "Pfizer-BioNTech", "Comirnaty", "EU/1/20/1528"],
    "MO": ["Moderna", "Spikevax", "EU/1/20/1507"],
    "VC": ["Vero Cell", "Sinopharm (Vero Cell)", "BBIBP-CorV"],
    "SP": ["Sputnik V", "Gam-COVID-Vac"],
    "JJ": ["Janssen", "J&J", "EU/1/20/1525"],
}
VACCINE_ODD = {
    "AZ": ["Astra Zeneca", "ASTRAZENECA", "Covid-19 Vaccine AstraZeneca"],
    "PF": ["PFIZER", "pfizer ", "Comirnaty (Pfizer)"],
    "MO": ["MODERNA", "Moderna Spikevax"],
    "VC": ["vero cell", "Vắc xin Vero Cell", "VeroCell"],
    "SP": ["Sputnik-V", "sputnik v"],
    "JJ": ["Johnson & Johnson", "JANSSEN"],
}

# --------------------------------------------------------------------------------------------------
# Error kinds and their default rates (per dose record, before the person-level factors).
# Kinds in one group exclude each other; name kinds stack.
GROUPS: dict[str, dict[str, float]] = {
    "id": {
        "id_missing": 0.07,
        "id_cmnd": 0.08,
        "id_lost_zero": 0.04,
        "id_formatted": 0.03,
        "id_digit_slip": 0.015,
        "id_transposed": 0.01,
        "id_ocr": 0.005,
        "id_relative": 0.02,
        "id_truncated": 0.004,
        "id_is_phone": 0.004,
        "id_insurance": 0.003,
        "id_row_shift": 0.004,
        "id_excel_sci": 0.004,
        "id_passport": 0.002,
        "id_cmnd_slip": 0.005,
    },
    "dob": {
        "dob_day_month_swap": 0.025,
        "dob_year_only": 0.02,
        "dob_0101": 0.02,
        "dob_from_age": 0.005,
        "dob_two_digit_year": 0.01,
        "dob_digit_slip": 0.015,
        "dob_year_off": 0.005,
        "dob_lunar": 0.003,
        "dob_vax_date": 0.002,
        "dob_missing": 0.003,
    },
    "sex": {"sex_missing": 0.03, "sex_wrong": 0.008},
    "ward": {
        "ward_site": 0.05,
        "ward_neighbour": 0.02,
        "ward_missing": 0.04,
        "ward_other_province": 0.005,
        "ward_district_code": 0.003,
    },
    "phone": {"phone_missing": 0.10, "phone_relative": 0.05, "phone_typo": 0.01, "phone_old_prefix": 0.01},
    "address": {"address_variant": 0.3, "address_missing": 0.1, "address_temporary": 0.02},
}
NAME_KINDS: dict[str, float] = {
    "name_no_diacritics": 0.10,
    "name_upper": 0.08,
    "name_wrong_diacritics": 0.04,
    "name_tone_placement": 0.04,
    "name_nfd": 0.02,
    "name_i_y": 0.01,
    "name_missing_middle": 0.03,
    "name_extra_middle": 0.01,
    "name_swapped_order": 0.01,
    "name_nickname": 0.004,
    "name_telex": 0.006,
    "name_vni": 0.003,
    "name_typo": 0.02,
    "name_ocr": 0.008,
    "name_spacing": 0.02,
    "name_of_relative": 0.002,
    "name_truncated": 0.003,
    "vaccine_odd_name": 0.005,
    # A child's record filled with the parent's (guardian's) name and ID number, the child's date of birth.
    # Applies to people under 18 only.
    "guardian_identity": 0.01,
}
OTHER_RATES = {"absent_share": 0.06, "dup_in_batch": 0.015, "inherit": 0.5}


def default_mix() -> dict[str, float]:
    rates = {k: v for g in GROUPS.values() for k, v in g.items()}
    rates.update(NAME_KINDS)
    rates.update(OTHER_RATES)
    return rates


def make_mix(name: str, mix_seed: int) -> dict[str, float]:
    rates = default_mix()
    if name == "default":
        return rates
    if name == "x3":
        return {k: (v if k == "inherit" else min(0.9, 3 * v)) for k, v in rates.items()}
    if name == "poor":
        for k in GROUPS["dob"]:
            rates[k] *= 3
        for k in GROUPS["ward"]:
            rates[k] *= 3
        rates.update(id_missing=0.35, id_cmnd=0.12, absent_share=0.20, id_relative=0.04)
        return rates
    if name == "random":
        rng = random.Random(mix_seed)
        out = {}
        for k, v in rates.items():
            if k == "inherit":
                out[k] = rng.uniform(0.2, 0.8)
            elif k == "absent_share":
                out[k] = rng.uniform(0.02, 0.30)
            else:
                out[k] = min(0.8, v * 10 ** rng.uniform(-1.0, 0.75))
        return out
    raise SystemExit(f"unknown mix {name}")


# --------------------------------------------------------------------------------------------------
# Vietnamese letters: each letter split into base, vowel mark (circumflex, breve, horn) and tone.
TONES = {"\u0300": "f", "\u0301": "s", "\u0303": "x", "\u0309": "r", "\u0323": "j"}
VMARKS = {"\u0302", "\u0306", "\u031b"}
VNI_TONE = {"\u0301": "1", "\u0300": "2", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
TELEX_VM = {
    ("a", "\u0302"): "aa",
    ("a", "\u0306"): "aw",
    ("e", "\u0302"): "ee",
    ("o", "\u0302"): "oo",
    ("o", "\u031b"): "ow",
    ("u", "\u031b"): "uw",
}
VNI_VM = {
    ("a", "\u0302"): "a6",
    ("e", "\u0302"): "e6",
    ("o", "\u0302"): "o6",
    ("a", "\u0306"): "a8",
    ("o", "\u031b"): "o7",
    ("u", "\u031b"): "u7",
}


def letters(word: str) -> list[list[str]]:
    out = []
    for ch in unicodedata.normalize("NFC", word):
        d = unicodedata.normalize("NFD", ch)
        out.append([d[0], "".join(m for m in d[1:] if m in VMARKS), "".join(m for m in d[1:] if m in TONES)])
    return out


def join_letters(ls: list[list[str]]) -> str:
    return unicodedata.normalize("NFC", "".join(b + v + t for b, v, t in ls))


def strip_marks(text: str) -> str:
    s = "".join(b for b, _, _ in letters(text))
    return s.replace("đ", "d").replace("Đ", "D")


def tone_style(word: str, old: bool) -> str:
    """Open syllables ending oa/oe/uy: old style puts the tone on the first vowel (Hoà), new on the second (Hòa)."""
    ls = letters(word)
    bases = "".join(b.lower() for b, _, _ in ls)
    if len(ls) < 2 or bases[-2:] not in ("oa", "oe", "uy") or bases.endswith("quy") or bases.endswith("qua"):
        return word
    a, b = ls[-2], ls[-1]
    if a[1] or b[1]:
        return word
    tone = a[2] or b[2]
    if not tone:
        return word
    a[2], b[2] = (tone, "") if old else ("", tone)
    return join_letters(ls)


def has_open_tone(word: str) -> bool:
    return tone_style(word, True) != tone_style(word, False)


def telex(word: str, vni: bool = False) -> str:
    out, tone = [], ""
    for base, vm, t in letters(word):
        low = base.lower()
        if low == "đ":
            s = "d9" if vni else "dd"
        elif vm:
            s = (VNI_VM if vni else TELEX_VM).get((low, vm), low)
        else:
            s = low
        if base.isupper():
            s = s[0].upper() + s[1:]
        out.append(s)
        if t:
            tone = VNI_TONE[t] if vni else TONES[t]
    return "".join(out) + tone


def wrong_diacritic(word: str, rng: random.Random) -> str | None:
    ls = letters(word)
    ops = []
    for i, (b, v, t) in enumerate(ls):
        if v:
            ops.append(("drop_vm", i))
            if b.lower() in "ao":
                ops.append(("swap_vm", i))
        if t in ("\u0309", "\u0303"):
            ops.append(("hoi_nga", i))
        if t:
            ops.append(("drop_tone", i))
        if b in "đĐ":
            ops.append(("dd", i))
    if not ops:
        return None
    op, i = rng.choice(ops)
    b, v, t = ls[i]
    if op == "drop_vm":
        ls[i][1] = ""
    elif op == "swap_vm":
        if b.lower() == "a":
            ls[i][1] = "\u0306" if v == "\u0302" else "\u0302"
        else:
            ls[i][1] = "\u031b" if v == "\u0302" else "\u0302"
    elif op == "hoi_nga":
        ls[i][2] = "\u0303" if t == "\u0309" else "\u0309"
    elif op == "drop_tone":
        ls[i][2] = ""
    else:
        ls[i][0] = "d" if b == "đ" else "D"
    return join_letters(ls)


QWERTY = {
    c: n
    for c, n in zip(
        "qwertyuiopasdfghjklzxcvbnm",
        [
            "wa",
            "qes",
            "wrd",
            "etf",
            "ryg",
            "tuh",
            "yij",
            "uok",
            "ipl",
            "ol",
            "qsz",
            "awdx",
            "sefc",
            "drgv",
            "fthb",
            "gyjn",
            "hukm",
            "jil",
            "kop",
            "asx",
            "zsdc",
            "xdfv",
            "cfgb",
            "vghn",
            "bhjm",
            "njk",
        ],
        strict=False,
    )
}
OCR = [
    ("m", "rn"),
    ("rn", "m"),
    ("ễ", "ế"),
    ("ệ", "ê"),
    ("ạ", "a"),
    ("ị", "i"),
    ("ọ", "o"),
    ("ư", "u"),
    ("ơ", "o"),
    ("ă", "a"),
    ("h", "b"),
    ("c", "e"),
    ("n", "h"),
    ("i", "l"),
    ("ỳ", "y"),
    ("ấ", "á"),
    ("ầ", "à"),
    ("ơ", "ở"),
    ("Đ", "D"),
    ("ũ", "u"),
]


# --------------------------------------------------------------------------------------------------
@dataclass
class Ward:
    code: str
    name: str  # with its type: "Phường Phước Trung"
    district: str
    district_code: str
    kind: str


def load_wards(province: str) -> list[Ward]:
    out = []
    with WARDS_CSV.open(encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            if row["Mã TP"] == province and row["Mã PX"]:
                out.append(Ward(row["Mã PX"], row["Phường Xã"], row["Quận Huyện"], row["Mã QH"], row["Cấp"]))
    return out


@dataclass
class Household:
    hid: str
    ward: Ward
    address: str
    members: list[Person] = field(default_factory=list)
    contact_phone: str = ""


@dataclass
class Person:
    pid: str
    cmnd: str
    cmnd_in_register: bool
    family: str
    middles: list[str]
    given: str
    sex: str  # "M" / "F"
    dob: date
    household: Household
    role: str
    old_style: bool
    phone: str = ""
    reg_dob: str = ""
    cur_ward: Ward | None = None
    in_register: bool = True
    tags: list[str] = field(default_factory=list)
    twin: Person | None = None
    mother_family: str = ""

    @property
    def tokens(self) -> list[str]:
        return [self.family, *self.middles, self.given]

    @property
    def full_name(self) -> str:
        return " ".join(tone_style(w, self.old_style) for w in self.tokens)

    def age(self, at: date = REF_DAY) -> int:
        return at.year - self.dob.year - ((at.month, at.day) < (self.dob.month, self.dob.day))

    @property
    def ward(self) -> Ward:
        return self.cur_ward or self.household.ward


class Population:
    def __init__(self, rng: random.Random, wards: list[Ward], other_wards: list[Ward]):
        self.rng = rng
        self.wards = wards
        self.other_wards = other_wards
        self.weights = [
            (1.6 if w.kind == "Phường" else 1.2 if w.kind == "Thị trấn" else 1.0) * rng.uniform(0.5, 1.5)
            for w in wards
        ]
        self.used_ids: set[str] = set()
        self.used_cmnd: set[str] = set()
        self.used_phones: set[str] = set()
        self.households: list[Household] = []
        self.people: list[Person] = []
        self.absent: list[Person] = []
        fam, fw = zip(*FAMILY, strict=False)
        self._fam, self._fw = fam, fw

    # ---- identifiers
    def new_pid(self, ppp: str, sex: str, dob: date) -> str:
        century = (dob.year - 1900) // 100
        g = 2 * century + (1 if sex == "F" else 0)
        while True:
            pid = f"{ppp}{g}{dob.year % 100:02d}{self.rng.randrange(10**6):06d}"
            if pid not in self.used_ids:
                self.used_ids.add(pid)
                return pid

    def new_cmnd(self, prefix: str) -> str:
        while True:
            c = prefix + f"{self.rng.randrange(10**7):07d}"
            if c not in self.used_cmnd:
                self.used_cmnd.add(c)
                return c

    def new_phone(self) -> str:
        while True:
            p = self.rng.choice(PHONE_PREFIX) + f"{self.rng.randrange(10**7):07d}"
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    # ---- names
    def family_name(self) -> str:
        return self.rng.choices(self._fam, self._fw)[0]

    def given_name(self, sex: str, year: int, avoid: set[str]) -> str:
        rng = self.rng
        old, new = (OLD_M, NEW_M) if sex == "M" else (OLD_F, NEW_F)
        p_new = 0.15 if year < 1975 else 0.85 if year > 1995 else 0.5
        for _ in range(50):
            g = rng.choice(new if rng.random() < p_new else old)
            if g not in avoid:
                return g
        return g

    def middle_names(self, sex: str, year: int, mother_family: str = "", family: str = "") -> list[str]:
        rng = self.rng
        if sex == "M":
            base, pool = "Văn", MID_M
            p_base = 0.6 if year < 1975 else 0.35 if year < 1995 else 0.15
        else:
            base, pool = "Thị", MID_F
            p_base = 0.85 if year < 1975 else 0.6 if year < 1995 else 0.3
        first = base if rng.random() < p_base else rng.choice(pool[1:])
        mids = [first]
        if year >= 1990 and rng.random() < 0.25:
            second = rng.choice([m for m in pool[1:] if m != first])
            mids.append(second)
        if mother_family and year >= 1995 and rng.random() < 0.12 and mother_family not in (family, *mids):
            mids = [mother_family, *mids[-1:]]
        if year < 1950 and rng.random() < 0.05:
            mids = []  # some old people have no middle name
        return mids

    # ---- people
    def person(
        self,
        hh: Household,
        sex: str,
        dob: date,
        family: str,
        role: str,
        origin=HOME,
        mother_family: str = "",
        avoid: set[str] | None = None,
        given: str | None = None,
        middles: list[str] | None = None,
    ) -> Person:
        rng = self.rng
        avoid = avoid or set()
        if middles is None:
            middles = self.middle_names(sex, dob.year, mother_family, family)
        if given is None:
            given = self.given_name(sex, dob.year, avoid)
        ppp = origin[0]
        cmnd = ""
        if dob <= date(2005, 6, 30) and rng.random() < 0.88:
            cmnd = self.new_cmnd(origin[1])
        p = Person(
            pid=self.new_pid(ppp, sex, dob),
            cmnd=cmnd,
            cmnd_in_register=rng.random() < 0.85,
            family=family,
            middles=middles,
            given=given,
            sex=sex,
            dob=dob,
            household=hh,
            role=role,
            old_style=rng.random() < 0.3,
            mother_family=mother_family,
        )
        age = p.age()
        if (
            (16 <= age < 70 and rng.random() < 0.8)
            or (age >= 70 and rng.random() < 0.3)
            or (14 <= age < 16 and rng.random() < 0.3)
        ):
            p.phone = self.new_phone()
        # Register date of birth: old people are often registered by year only or on 1 January.
        if (dob.year < 1940 and rng.random() < 0.25) or (1940 <= dob.year < 1955 and rng.random() < 0.06):
            p.reg_dob = str(dob.year)
            p.tags.append("reg_year_only")
        elif dob.year < 1955 and rng.random() < 0.06:
            p.reg_dob = f"{dob.year}-01-01"
            p.tags.append("reg_dob_0101")
        else:
            p.reg_dob = dob.isoformat() if rng.random() < 0.9 else dob.strftime("%d/%m/%Y")
        if age < 14:
            p.tags.append("pop_child")
        elif age >= 65:
            p.tags.append("pop_elderly")
        if 18 <= age <= 45 and rng.random() < 0.07:
            p.cur_ward = self.rng.choice([w for w in self.wards if w.code != hh.ward.code])
            p.tags.append("pop_moved")
        if not p.cmnd_in_register and p.cmnd:
            p.tags.append("reg_no_cmnd")
        return p

    def rand_date(self, year: int) -> date:
        return date(year, 1, 1) + timedelta(days=self.rng.randrange(365))

    def address(self, ward: Ward) -> str:
        rng = self.rng
        if ward.kind == "Xã":
            return f"Tổ {rng.randint(1, 15)}, ấp {rng.choice(HAMLETS)}"
        if rng.random() < 0.6:
            return f"Số {rng.randint(1, 300)} đường {rng.choice(STREETS)}, khu phố {rng.randint(1, 9)}"
        return (
            f"{rng.randint(1, 200)}/{rng.randint(1, 40)} {rng.choice(STREETS)}, khu phố {rng.randint(1, 9)}"
        )

    def origin(self, year: int) -> tuple[str, str]:
        p_home = 0.55 if year < 1980 else 0.8
        return HOME if self.rng.random() < p_home else self.rng.choice(ORIGINS)

    def household(self) -> Household:
        rng = self.rng
        ward = rng.choices(self.wards, self.weights)[0]
        hh = Household(hid=f"77{len(self.households) + 1:08d}", ward=ward, address=self.address(ward))
        self.households.append(hh)
        kind = rng.choices(["single", "couple", "nuclear", "three", "single_parent"], [10, 12, 48, 22, 8])[0]
        m = []

        def adult(sex: str, age: int, family: str | None = None, role: str = "head", origin=None) -> Person:
            dob = self.rand_date(REF_DAY.year - age - 1)
            fam = family or self.family_name()
            return self.person(hh, sex, dob, fam, role, origin or self.origin(dob.year))

        if kind == "single":
            age = int(rng.triangular(20, 92, 70))
            m.append(adult(rng.choice("MF"), age))
        elif kind == "couple":
            age = int(rng.triangular(22, 88, 60))
            h = adult("M", age)
            m += [h, adult("F", max(19, age - rng.randint(0, 6)), role="spouse")]
        else:
            fa = int(rng.triangular(24, 62, 38))
            if kind == "three":
                fa = int(rng.triangular(26, 58, 36))
            father = adult("M", fa)
            mother = adult("F", max(19, fa - rng.randint(0, 6)), role="spouse")
            if kind != "single_parent":
                m += [father, mother]
            else:
                mother.role = "head"
                m.append(mother)
            nkids = rng.choices([1, 2, 3, 4], [35, 45, 15, 5])[0]
            names: set[str] = set()
            ages = sorted(
                {rng.randint(max(0, mother.age() - 40), max(0, mother.age() - 19)) for _ in range(nkids)}
            )
            fam_origin = (father.pid[:3], "27") if rng.random() < 0.7 else HOME
            for age in ages:
                if age > 30:
                    continue
                dob = self.rand_date(REF_DAY.year - age - 1)
                if dob > date(2021, 6, 30):
                    dob = date(2021, 6, 1) - timedelta(days=rng.randrange(300))
                sex = rng.choice("MF")
                twin = rng.random() < 0.02
                if twin:
                    pairs = TWIN_PAIRS_M if sex == "M" else TWIN_PAIRS_F
                    g1, g2 = (
                        rng.choice(pairs)
                        if rng.random() < 0.5
                        else (self.given_name(sex, dob.year, names), None)
                    )
                    mids = self.middle_names(sex, dob.year, mother.family, father.family)
                    c1 = self.person(
                        hh, sex, dob, father.family, "child", fam_origin, mother.family, names, g1, mids
                    )
                    names.add(c1.given)
                    sex2 = sex if rng.random() < 0.6 else ("F" if sex == "M" else "M")
                    if sex2 != sex:
                        g2, mids2 = None, self.middle_names(sex2, dob.year, mother.family, father.family)
                    else:
                        mids2 = list(mids)
                    c2 = self.person(
                        hh, sex2, dob, father.family, "child", fam_origin, mother.family, names, g2, mids2
                    )
                    names.add(c2.given)
                    c1.twin, c2.twin = c2, c1
                    c1.tags.append("pop_twin")
                    c2.tags.append("pop_twin")
                    m += [c1, c2]
                else:
                    c = self.person(hh, sex, dob, father.family, "child", fam_origin, mother.family, names)
                    names.add(c.given)
                    m.append(c)
            if kind == "three":
                ga = min(100, fa + rng.randint(22, 35))
                which = rng.choices(["both", "gm", "gf"], [50, 35, 15])[0]
                if which in ("both", "gf"):
                    m.append(adult("M", ga, father.family, "grandparent", (father.pid[:3], "27")))
                if which in ("both", "gm"):
                    m.append(adult("F", min(100, max(ga - rng.randint(0, 6), fa + 18)), role="grandparent"))
        hh.members = m
        adults = [p for p in m if p.phone and p.age() >= 18]
        hh.contact_phone = adults[0].phone if adults else ""
        for p in m:
            if not p.phone and p.age() < 14 and hh.contact_phone and rng.random() < 0.4:
                p.tags.append("reg_parent_phone")
        self.people += m
        return hh

    def build(self, n: int) -> None:
        while len(self.people) < n:
            self.household()

    # ---- people absent from the register
    def make_absent(self, count: int) -> None:
        rng = self.rng
        present_adults = [p for p in self.people if p.age() >= 18]
        families = [
            h for h in self.households if any(p.role == "head" and 25 <= p.age() <= 45 for p in h.members)
        ]
        for _ in range(count):
            cat = rng.choices(["migrant", "relative", "namesake", "child"], [50, 20, 15, 15])[0]
            if cat == "migrant":
                w = rng.choice(
                    [x for x in self.wards if x.district_code == "754"] if rng.random() < 0.5 else self.wards
                )
                hh = Household(
                    hid="",
                    ward=w,
                    address=f"Nhà trọ {rng.choice(['Phú', 'Lộc', 'An', 'Thành', 'Hưng'])} {rng.choice(['Thịnh', 'Tài', 'Phát', 'Khang'])}, "
                    + self.address(w),
                )
                dob = self.rand_date(REF_DAY.year - rng.randint(18, 45))
                sex = rng.choice("MF")
                p = self.person(hh, sex, dob, self.family_name(), "migrant", rng.choice(ORIGINS))
            elif cat == "relative":
                base = rng.choice(self.households)
                hh = base
                dob = self.rand_date(REF_DAY.year - rng.randint(18, 50))
                sex = rng.choice("MF")
                fam = base.members[0].family if rng.random() < 0.5 else self.family_name()
                p = self.person(
                    hh, sex, dob, fam, "relative", rng.choice(ORIGINS), avoid={x.given for x in base.members}
                )
            elif cat == "namesake":
                src = rng.choice(present_adults)
                w = rng.choice(self.wards)
                hh = Household(hid="", ward=w, address=self.address(w))
                r = rng.random()
                if r < 0.05:
                    dob = src.dob
                elif r < 0.85:
                    dob = self.rand_date(src.dob.year)
                else:
                    dob = self.rand_date(src.dob.year + rng.choice([-1, 1]))
                p = self.person(
                    hh,
                    src.sex,
                    dob,
                    src.family,
                    "namesake",
                    rng.choice(ORIGINS),
                    given=src.given,
                    middles=list(src.middles),
                )
                p.tags.append("namesake_of:" + src.pid)
            else:
                hh = rng.choice(families) if families else rng.choice(self.households)
                father = next((x for x in hh.members if x.role == "head"), hh.members[0])
                mother = next((x for x in hh.members if x.role == "spouse"), father)
                dob = self.rand_date(rng.randint(2011, 2016))
                p = self.person(
                    hh,
                    rng.choice("MF"),
                    dob,
                    father.family,
                    "child",
                    rng.choice(ORIGINS),
                    mother.family,
                    {x.given for x in hh.members},
                )
            p.in_register = False
            p.cur_ward = None
            p.tags = [t for t in p.tags if not t.startswith("reg_") and t != "pop_moved"]
            p.tags += ["absent", f"absent_{cat}"]
            if cat != "migrant" and not p.phone and hh.contact_phone:
                p.phone = hh.contact_phone
            self.absent.append(p)


# --------------------------------------------------------------------------------------------------
def excel_serial(d: date) -> str:
    return str((d - date(1899, 12, 30)).days)


def render_date(d: date, form: str) -> str:
    if form == "dmy":
        return d.strftime("%d/%m/%Y")
    if form == "iso":
        return d.isoformat()
    if form == "serial":
        return excel_serial(d)
    if form == "nopad":
        return f"{d.day}/{d.month}/{d.year}"
    if form == "dash":
        return d.strftime("%d-%m-%Y")
    raise ValueError(form)


def safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


class Clerk:
    """Types one dose record for one person, with the errors of the mix."""

    def __init__(self, rng: random.Random, rates: dict[str, float], pop: Population):
        self.rng = rng
        self.rates = rates
        self.pop = pop
        self.registered = [p for p in pop.people]

    def factor(self, kind: str, p: Person) -> float:
        age = p.age()
        f = 1.0
        if age < 14 or "absent_child" in p.tags:
            f *= {
                "id_missing": 3,
                "id_relative": 5,
                "phone_relative": 4,
                "id_cmnd": 0,
                "id_cmnd_slip": 0,
            }.get(kind, 1)
        if "absent_child" in p.tags:
            f *= {"id_relative": 4}.get(kind, 1)
        if age >= 65:
            f *= {
                "dob_year_only": 3,
                "dob_0101": 2,
                "dob_from_age": 3,
                "dob_lunar": 5,
                "id_cmnd": 2,
                "phone_relative": 3,
                "name_nickname": 3,
            }.get(kind, 1)
        if "absent_migrant" in p.tags:
            f *= {"id_missing": 1.5, "id_passport": 3, "id_relative": 0}.get(kind, 1)
        return f

    def pick(self, group: str, p: Person) -> str | None:
        items = [(k, min(0.95, self.rates[k] * self.factor(k, p))) for k in GROUPS[group]]
        total = sum(r for _, r in items)
        scale = 0.95 / total if total > 0.95 else 1.0
        u = self.rng.random()
        for k, r in items:
            u -= r * scale
            if u < 0:
                return k
        return None

    def hit(self, kind: str, p: Person) -> bool:
        return self.rng.random() < min(0.95, self.rates[kind] * self.factor(kind, p))

    def relatives(self, p: Person) -> list[Person]:
        return [x for x in p.household.members if x is not p]

    def relative_for_id(self, p: Person) -> Person | None:
        rel = self.relatives(p)
        if not rel:
            return None
        if p.twin is not None and self.rng.random() < 0.5:
            return p.twin
        age = p.age()
        if age < 18:
            parents = [x for x in rel if x.role in ("head", "spouse")]
            if parents:
                mothers = [x for x in parents if x.sex == "F"]
                return (
                    self.rng.choice(mothers)
                    if mothers and self.rng.random() < 0.6
                    else self.rng.choice(parents)
                )
        if age >= 60:
            kids = [x for x in rel if x.role in ("head", "spouse") and x.age() < age - 15]
            if kids:
                return self.rng.choice(kids)
        return self.rng.choice(rel)

    # ---- fields
    def id_field(self, p: Person, kinds: list[str], guardian: Person | None = None) -> str:
        rng = self.rng
        if guardian is not None:
            return guardian.cmnd if guardian.cmnd and rng.random() < 0.3 else guardian.pid
        k = self.pick("id", p)
        pid = p.pid
        if k is None:
            return pid
        if k == "id_missing":
            out = rng.choice(["", "", "", "0", "không có", "chưa có"])
        elif k == "id_cmnd":
            if not p.cmnd:
                return pid
            out = p.cmnd
            if not p.cmnd_in_register and p.in_register:
                kinds.append("cmnd_not_in_register")
        elif k == "id_cmnd_slip":
            if not p.cmnd:
                return pid
            out = self.slip(p.cmnd)
        elif k == "id_lost_zero":
            out = pid[1:]
        elif k == "id_formatted":
            out = rng.choice(
                [
                    f"{pid[:3]} {pid[3:6]} {pid[6:9]} {pid[9:]}",
                    f"{pid[:3]}.{pid[3:6]}.{pid[6:9]}.{pid[9:]}",
                    f"'{pid}",
                    f" {pid} ",
                    f"{pid[:3]}-{pid[3:]}",
                ]
            )
        elif k == "id_digit_slip":
            out = self.slip(pid)
        elif k == "id_transposed":
            idx = [i for i in range(11) if pid[i] != pid[i + 1]]
            i = rng.choice(idx)
            out = pid[:i] + pid[i + 1] + pid[i] + pid[i + 2 :]
        elif k == "id_ocr":
            conf = {"1": "7", "7": "1", "3": "8", "8": "3", "5": "6", "6": "5", "0": "8", "4": "9", "9": "4"}
            idx = [i for i in range(3, 12) if pid[i] in conf]
            i = rng.choice(idx)
            out = pid[:i] + conf[pid[i]] + pid[i + 1 :]
        elif k == "id_relative":
            r = self.relative_for_id(p)
            if r is None:
                return pid
            out = r.cmnd if r.cmnd and rng.random() < 0.3 else r.pid
            if r is p.twin:
                kinds.append("id_twin")
        elif k == "id_truncated":
            out = pid[:-1]
        elif k == "id_is_phone":
            ph = p.phone or p.household.contact_phone
            if not ph:
                return pid
            out = ph
        elif k == "id_insurance":
            out = (
                rng.choice(["GD", "HT", "DN", "HS", "TE", "CN"])
                + str(rng.randint(1, 5))
                + "77"
                + f"{rng.randrange(10**10):010d}"
            )
        elif k == "id_row_shift":
            other = rng.choice(self.registered)
            if other is p:
                return pid
            out = other.pid
        elif k == "id_excel_sci":
            out = f"{int(pid):.{rng.choice([2, 5])}E}".replace("E+", "E+")
        elif k == "id_passport":
            out = rng.choice(["B", "C", "N"]) + f"{rng.randrange(10**7):07d}"
        else:
            raise AssertionError(k)
        kinds.append(k)
        return out

    def slip(self, digits: str) -> str:
        pad = {
            "0": "8",
            "1": "24",
            "2": "135",
            "3": "26",
            "4": "157",
            "5": "2468",
            "6": "359",
            "7": "48",
            "8": "5790",
            "9": "68",
        }
        i = self.rng.randrange(3 if len(digits) == 12 else 2, len(digits))
        return digits[:i] + self.rng.choice(pad[digits[i]]) + digits[i + 1 :]

    def name_field(self, p: Person, kinds: list[str], guardian: Person | None = None) -> str:
        rng = self.rng
        tokens = list(p.tokens)
        old = p.old_style
        if guardian is not None:
            tokens, old = list(guardian.tokens), guardian.old_style
        elif self.hit("name_of_relative", p) and self.relatives(p):
            r = rng.choice(self.relatives(p))
            tokens, old = list(r.tokens), r.old_style
            kinds.append("name_of_relative")
        if self.hit("name_missing_middle", p) and len(tokens) > 2:
            if len(tokens) > 3 and rng.random() < 0.5:
                del tokens[rng.randrange(1, len(tokens) - 1)]
            else:
                tokens = [tokens[0], tokens[-1]]
            kinds.append("name_missing_middle")
        if self.hit("name_extra_middle", p):
            extra = "Thị" if p.sex == "F" else "Văn"
            if extra in tokens:
                extra = rng.choice(MID_F[1:] if p.sex == "F" else MID_M[1:])
            tokens.insert(1, extra)
            kinds.append("name_extra_middle")
        if self.hit("name_nickname", p):
            tokens[-1] = rng.choice(NICK_CHILD if p.age() < 18 else NICK_ELDER)
            kinds.append("name_nickname")
        if self.hit("name_tone_placement", p) and any(has_open_tone(w) for w in tokens):
            old = not old
            kinds.append("name_tone_placement")
        tokens = [tone_style(w, old) for w in tokens]
        if self.hit("name_wrong_diacritics", p):
            idx = list(range(len(tokens)))
            rng.shuffle(idx)
            for i in idx:
                w = wrong_diacritic(tokens[i], rng)
                if w:
                    tokens[i] = w
                    kinds.append("name_wrong_diacritics")
                    break
        if self.hit("name_i_y", p):
            for i, w in enumerate(tokens):
                ls = letters(w)
                bases = "".join(b.lower() for b, _, _ in ls)
                if (
                    len(bases) >= 2
                    and bases.endswith("y")
                    and (bases[-2] not in "aeiouy" or bases.endswith("quy"))
                ):
                    ls[-1][0] = "i" if ls[-1][0] == "y" else "I"
                    tokens[i] = join_letters(ls)
                    kinds.append("name_i_y")
                    break
        if self.hit("name_typo", p):
            i = rng.randrange(len(tokens))
            w = tokens[i]
            op = rng.choice(["sub", "del", "dup", "swap"])
            j = rng.randrange(len(w))
            if op == "sub" and w[j].lower() in QWERTY:
                w = w[:j] + rng.choice(QWERTY[w[j].lower()]) + w[j + 1 :]
            elif op == "del" and len(w) > 2:
                w = w[:j] + w[j + 1 :]
            elif op == "swap" and j < len(w) - 1:
                w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            else:
                w = w[:j] + w[j] + w[j:]
            if w != tokens[i]:
                tokens[i] = w
                kinds.append("name_typo")
        if self.hit("name_ocr", p):
            full = " ".join(tokens)
            options = [(a, b) for a, b in OCR if a in full]
            if options:
                a, b = rng.choice(options)
                pos = [i for i in range(len(full)) if full.startswith(a, i)]
                i = rng.choice(pos)
                full = full[:i] + b + full[i + len(a) :]
                tokens = full.split(" ")
                kinds.append("name_ocr")
        if self.hit("name_truncated", p):
            full = " ".join(tokens)
            if len(full) > 16:
                cut = full[: rng.randint(14, len(full) - 1)].rstrip()
                tokens = cut.split(" ")
                kinds.append("name_truncated")
        # rendering
        if self.hit("name_no_diacritics", p):
            tokens = [strip_marks(w) for w in tokens]
            kinds.append("name_no_diacritics")
        elif self.hit("name_telex", p) or self.hit("name_vni", p):
            vni = rng.random() < self.rates["name_vni"] / max(
                1e-9, self.rates["name_vni"] + self.rates["name_telex"]
            )
            if rng.random() < 0.5:
                tokens = [telex(w, vni) for w in tokens]
            else:
                i = rng.randrange(len(tokens))
                tokens[i] = telex(tokens[i], vni)
            kinds.append("name_vni" if vni else "name_telex")
        if self.hit("name_swapped_order", p) and len(tokens) >= 2:
            tokens = [tokens[-1], *tokens[:-1]] if rng.random() < 0.6 else [*tokens[1:], tokens[0]]
            kinds.append("name_swapped_order")
        full = " ".join(tokens)
        if self.hit("name_upper", p):
            full = full.upper()
            kinds.append("name_upper")
        elif rng.random() < 0.02:
            full = full.lower()
            kinds.append("fmt_name_lower")
        if self.hit("name_spacing", p) and len(tokens) >= 2:
            parts = full.split(" ")
            r = rng.random()
            if r < 0.4:
                full = "  ".join(parts)
            elif r < 0.7:
                i = rng.randrange(len(parts) - 1)
                full = " ".join([*parts[:i], parts[i] + parts[i + 1], *parts[i + 2 :]])
            else:
                full = " " + full + "  "
            kinds.append("name_spacing")
        if self.hit("name_nfd", p):
            full = unicodedata.normalize("NFD", full)
            kinds.append("name_nfd")
        return full

    def dob_field(self, p: Person, vax: date, kinds: list[str]) -> str:
        rng = self.rng
        form = rng.choices(["dmy", "iso", "serial", "nopad", "dash"], [62, 20, 10, 5, 3])[0]
        if form != "dmy":
            kinds.append(f"fmt_dob_{form}")
        d = p.dob
        k = self.pick("dob", p)
        if k == "dob_day_month_swap":
            if d.day > 12 or d.day == d.month:
                k = None
            else:
                d = date(d.year, d.day, d.month)
        elif k == "dob_year_only":
            kinds.append(k)
            return str(d.year)
        elif k == "dob_0101":
            if (d.month, d.day) == (1, 1):
                k = None
            else:
                d = date(d.year, 1, 1)
        elif k == "dob_from_age":
            age = p.age(vax)
            d = date(vax.year - age, 1, 1)
            kinds.append(k)
            return d.strftime("%d/%m/%Y") if rng.random() < 0.7 else str(d.year)
        elif k == "dob_two_digit_year":
            kinds.append(k)
            return d.strftime("%d/%m/%y")
        elif k == "dob_digit_slip":
            for _ in range(10):
                which = rng.choice(["day", "day", "year", "month"])
                if which == "day":
                    nd = safe_date(d.year, d.month, d.day + rng.choice([-1, 1, 10, -10]))
                elif which == "month":
                    nd = safe_date(d.year, d.month + rng.choice([-1, 1]), d.day)
                else:
                    nd = safe_date(d.year + rng.choice([-1, 1, -10, 10]), d.month, d.day)
                if nd and nd != d and nd < vax:
                    d = nd
                    break
            else:
                k = None
        elif k == "dob_year_off":
            d = safe_date(d.year + rng.choice([-1, 1]), d.month, d.day) or date(d.year + 1, d.month, 28)
        elif k == "dob_lunar":
            d = d - timedelta(days=rng.randint(20, 50))
        elif k == "dob_vax_date":
            d = vax
        elif k == "dob_missing":
            kinds.append(k)
            return ""
        if k:
            kinds.append(k)
        return render_date(d, form)

    def sex_field(self, p: Person, kinds: list[str]) -> str:
        rng = self.rng
        sex = p.sex
        k = self.pick("sex", p)
        if k == "sex_missing":
            kinds.append(k)
            return ""
        if k == "sex_wrong":
            sex = "F" if sex == "M" else "M"
            kinds.append(k)
        style = rng.choices(["vi", "lower", "upper", "mf", "ascii"], [80, 5, 5, 5, 5])[0]
        if style != "vi":
            kinds.append(f"fmt_sex_{style}")
        return {
            "vi": {"M": "Nam", "F": "Nữ"},
            "lower": {"M": "nam", "F": "nữ"},
            "upper": {"M": "NAM", "F": "NỮ"},
            "mf": {"M": "M", "F": "F"},
            "ascii": {"M": "Nam", "F": "Nu"},
        }[style][sex]

    def ward_field(self, p: Person, site_ward: Ward, kinds: list[str]) -> str:
        rng = self.rng
        w = p.ward
        k = self.pick("ward", p)
        if k == "ward_site":
            if site_ward.code == w.code:
                return w.code
            kinds.append(k)
            return site_ward.code
        if k == "ward_neighbour":
            same = sorted(
                (x for x in self.pop.wards if x.district_code == w.district_code and x.code != w.code),
                key=lambda x: abs(int(x.code) - int(w.code)),
            )
            if not same:
                return w.code
            kinds.append(k)
            return same[min(len(same) - 1, rng.choice([0, 0, 1]))].code
        if k == "ward_missing":
            kinds.append(k)
            return ""
        if k == "ward_other_province":
            kinds.append(k)
            return rng.choice(self.pop.other_wards).code
        if k == "ward_district_code":
            kinds.append(k)
            return w.district_code
        return w.code

    def phone_field(self, p: Person, kinds: list[str]) -> str:
        rng = self.rng
        phone = p.phone
        if not phone:
            phone = p.household.contact_phone if rng.random() < 0.7 else ""
            if phone:
                kinds.append("pop_household_phone")
        k = self.pick("phone", p)
        if k == "phone_missing" and phone:
            phone = ""
            kinds.append(k)
        elif k == "phone_relative":
            others = [x.phone for x in self.relatives(p) if x.phone and x.phone != phone]
            if others:
                phone = rng.choice(others)
                kinds.append(k)
        elif k == "phone_typo" and phone:
            i = rng.randrange(3, 10)
            phone = phone[:i] + str((int(phone[i]) + rng.randint(1, 9)) % 10) + phone[i + 1 :]
            kinds.append(k)
        elif k == "phone_old_prefix" and phone and phone[:3] in OLD_PHONE:
            phone = OLD_PHONE[phone[:3]] + phone[3:]
            kinds.append(k)
        if phone:
            r = rng.random()
            if r < 0.08:
                phone = "+84" + phone[1:]
            elif r < 0.14:
                phone = f"{phone[:4]} {phone[4:7]} {phone[7:]}"
            elif r < 0.20:
                phone = phone[1:]
        return phone

    def address_field(self, p: Person, kinds: list[str]) -> str:
        rng = self.rng
        w = p.ward
        base = p.household.address if not p.cur_ward else self.pop.address(w)
        k = self.pick("address", p)
        if k == "address_missing":
            kinds.append(k)
            return ""
        if k == "address_temporary":
            kinds.append(k)
            return "Tạm trú: " + self.pop.address(rng.choice(self.pop.wards))
        ward_name, district = w.name, w.district
        if k == "address_variant":
            kinds.append(k)
            base = (
                base.replace("khu phố ", "KP").replace("Số ", "").replace("đường ", "").replace("ấp ", "Ấp ")
            )
            ward_name = ward_name.replace("Phường ", "P.").replace("Thị trấn ", "TT.").replace("Xã ", "X.")
            district = district.replace("Thành phố ", "TP.").replace("Huyện ", "H.").replace("Thị xã ", "TX.")
            tail = rng.choice(["", ", BRVT", ", Bà Rịa - Vũng Tàu"])
            text = f"{base}, {ward_name}, {district}{tail}"
            return strip_marks(text) if rng.random() < 0.3 else text
        return f"{base}, {ward_name}, {district}, Bà Rịa - Vũng Tàu"

    def identity(self, p: Person, site_ward: Ward, vax: date) -> tuple[dict[str, str], list[str]]:
        kinds: list[str] = []
        guardian = None
        if p.age(vax) < 18 and self.hit("guardian_identity", p):
            parents = [x for x in p.household.members if x.role in ("head", "spouse") and x is not p]
            if parents:
                guardian = self.rng.choice(parents)
                kinds.append("guardian_identity")
        sex = self.sex_field(p, kinds)
        if guardian is not None and sex and self.rng.random() < 0.5:
            sex = {"M": "Nam", "F": "Nữ"}[guardian.sex]
        rec = {
            "full_name": self.name_field(p, kinds, guardian),
            "date_of_birth": self.dob_field(p, vax, kinds),
            "sex": sex,
            "id_number": self.id_field(p, kinds, guardian),
            "phone": self.phone_field(p, kinds),
            "address": self.address_field(p, kinds),
            "ward_code": self.ward_field(p, site_ward, kinds),
        }
        return rec, kinds


# --------------------------------------------------------------------------------------------------
def dose_plan(p: Person, rng: random.Random) -> list[tuple[date, str]]:
    """(date, product key) for each dose the person received in 2021-2022."""
    age22 = p.age(date(2022, 4, 1))
    age21 = p.age(date(2021, 10, 1))

    def between(a: date, b: date) -> date:
        if b <= a:
            return a
        return a + timedelta(days=rng.randrange((b - a).days + 1))

    if age21 >= 18:
        if rng.random() > 0.93:
            return []
        d1 = between(date(2021, 6, 20), date(2021, 11, 30))
        v1 = rng.choices(["AZ", "VC", "MO", "PF", "SP", "JJ"], [45, 35, 8, 10, 1, 1])[0]
        adult = True
    elif age21 >= 12:
        if rng.random() > 0.9:
            return []
        d1 = between(date(2021, 10, 20), date(2021, 12, 31))
        v1 = "PF" if rng.random() < 0.95 else "MO"
        adult = False
    elif age22 >= 5:
        if rng.random() > 0.7:
            return []
        d1 = between(date(2022, 4, 14), date(2022, 8, 31))
        v1 = "PF" if rng.random() < 0.8 else "MO"
        adult = False
    else:
        return []
    doses = [(d1, v1)]
    if v1 != "JJ" and rng.random() < 0.93:
        gap = {"AZ": (56, 84), "VC": (21, 35), "PF": (21, 35), "MO": (28, 42), "SP": (21, 28)}[v1]
        doses.append((d1 + timedelta(days=rng.randint(*gap)), v1))
    if len(doses) >= 1 and (
        (adult and rng.random() < 0.7) or (not adult and age21 >= 12 and rng.random() < 0.4)
    ):
        start = max(doses[-1][0] + timedelta(days=90), date(2022, 1, 1))
        doses.append(
            (between(start, start + timedelta(days=150)), rng.choices(["PF", "MO", "AZ"], [5, 3, 2])[0])
        )
        if adult and age21 >= 50 and rng.random() < 0.3:
            start = doses[-1][0] + timedelta(days=120)
            doses.append((between(start, start + timedelta(days=120)), rng.choice(["PF", "MO"])))
    return [(d, v) for d, v in doses if d <= LAST_DAY]


def lot_number(v: str, rng: random.Random) -> str:
    if v == "AZ":
        return rng.choice(["A", "ABV", "ABW", "NJ"]) + f"{rng.randrange(10000):04d}"
    if v == "PF":
        return rng.choice(["FF", "FG", "FK", "1F", "PCA"]) + f"{rng.randrange(10000):04d}"
    if v == "MO":
        return f"0{rng.randrange(100000):05d}A"
    if v == "VC":
        return f"2021{rng.randrange(10**6):06d}"
    return f"{rng.randrange(10**6):06d}"


def site_for(p: Person, pop: Population, rng: random.Random) -> tuple[str, Ward]:
    w = p.ward
    r = rng.random()
    if r < 0.55:
        return f"Trạm Y tế {w.name}", w
    same = [x for x in pop.wards if x.district_code == w.district_code]
    if r < 0.80:
        x = rng.choice(same)
        return f"Điểm tiêm Trường THCS {rng.choice(STREETS)} ({x.name})", x
    if r < 0.90 or p.age() < 18:
        return f"Trung tâm Y tế {w.district}", same[0]
    x = rng.choice([y for y in pop.wards if y.district_code == "754"])
    return f"Điểm tiêm KCN Phú Mỹ ({x.name})", x


def generate(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    rates = make_mix(args.mix, args.mix_seed)
    wards = load_wards("77")
    others = load_wards("75")
    if not wards:
        raise SystemExit(f"no wards of province 77 in {WARDS_CSV}")
    pop = Population(rng, wards, others)
    pop.build(args.citizens)
    vaxxed = sum(1 for p in pop.people if p.age() >= 5)
    share = rates["absent_share"]
    pop.make_absent(round(vaxxed * 0.9 * share / max(1e-9, 1 - share)))
    clerk = Clerk(rng, rates, pop)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "register.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "personal_id",
                "old_id",
                "full_name",
                "date_of_birth",
                "sex",
                "permanent_ward_code",
                "current_ward_code",
                "address",
                "phone",
                "household_id",
            ]
        )
        people = list(pop.people)
        rng.shuffle(people)
        for p in people:
            phone = p.phone or (p.household.contact_phone if "reg_parent_phone" in p.tags else "")
            w.writerow(
                [
                    p.pid,
                    p.cmnd if p.cmnd_in_register else "",
                    p.full_name,
                    p.reg_dob,
                    "Nam" if p.sex == "M" else "Nữ",
                    p.household.ward.code,
                    p.cur_ward.code if p.cur_ward else "",
                    p.household.address,
                    phone,
                    p.household.hid,
                ]
            )

    records: list[tuple[date, dict[str, str], str, list[str]]] = []
    for p in pop.people + pop.absent:
        prev: tuple[dict[str, str], list[str]] | None = None
        for n, (vax, v) in enumerate(dose_plan(p, rng), start=1):
            site, site_ward = site_for(p, pop, rng)
            if prev is None or rng.random() > rates["inherit"]:
                ident, kinds = clerk.identity(p, site_ward, vax)
                prev = (ident, kinds)
            else:
                ident, kinds = prev[0], list(prev[1])
            kinds = list(kinds)
            if clerk.hit("vaccine_odd_name", p):
                vname = rng.choice(VACCINE_ODD[v])
                kinds.append("vaccine_odd_name")
            else:
                vname = rng.choice(VACCINES[v])
            vform = rng.choices(["dmy", "iso", "serial"], [60, 25, 15])[0]
            dose = {
                "vaccination_date": render_date(vax, vform),
                "dose_number": str(n),
                "vaccine": vname,
                "lot_number": lot_number(v, rng),
                "site": site,
            }
            tags = [t for t in p.tags if not t.startswith("namesake_of")]
            records.append((vax, {**ident, **dose}, p.pid if p.in_register else "", kinds + tags))
            if clerk.hit("dup_in_batch", p):
                ident2, kinds2 = clerk.identity(p, site_ward, vax)
                dose2 = dict(dose, site=site if rng.random() < 0.5 else f"Trung tâm Y tế {p.ward.district}")
                records.append(
                    (
                        vax,
                        {**ident2, **dose2},
                        p.pid if p.in_register else "",
                        [*kinds2, "dup_in_batch", *tags],
                    )
                )
    # Exports come roughly in date order, by site.
    records.sort(key=lambda r: (r[0] + timedelta(days=rng.randint(-3, 3)), rng.random()))
    cols = [
        "record_id",
        "full_name",
        "date_of_birth",
        "sex",
        "id_number",
        "phone",
        "address",
        "ward_code",
        "vaccination_date",
        "dose_number",
        "vaccine",
        "lot_number",
        "site",
    ]
    with (
        (out / "doses.csv").open("w", encoding="utf-8", newline="") as fd,
        (out / "truth.csv").open("w", encoding="utf-8", newline="") as ft,
    ):
        wd, wt = csv.writer(fd), csv.writer(ft)
        wd.writerow(cols)
        wt.writerow(["record_id", "personal_id", "kinds"])
        start = rng.randrange(10**6, 9 * 10**6)
        for i, (_, rec, truth_pid, kinds) in enumerate(records):
            rid = f"BRVT{start + i:09d}"
            wd.writerow([rid] + [rec[c] for c in cols[1:]])
            errors = [k for k in kinds if not (k.startswith(("fmt_", "pop_", "reg_", "absent")))]
            if not errors and truth_pid:
                kinds = [*kinds, "clean"]
            wt.writerow([rid, truth_pid, ";".join(dict.fromkeys(kinds))])
    (out / "mix.json").write_text(
        json.dumps(
            {
                "mix": args.mix,
                "mix_seed": args.mix_seed,
                "seed": args.seed,
                "citizens": len(pop.people),
                "absent_people": len(pop.absent),
                "records": len(records),
                "rates": rates,
            },
            indent=1,
        )
    )
    print(
        f"register {len(pop.people):,} citizens in {len(pop.households):,} households; "
        f"{len(pop.absent):,} absent people; {len(records):,} dose records -> {out}"
    )


# --------------------------------------------------------------------------------------------------
def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def vaxlink_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "vaxlink"
    return [str(exe)] if exe.exists() else ["uv", "run", "--project", str(ROOT), "vaxlink"]


def sh(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        r = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    took = time.perf_counter() - started
    if r.returncode != 0:
        print(log.read_text()[-3000:])
        raise SystemExit(f"failed ({r.returncode}): {' '.join(cmd)}")
    return took


def run(args: argparse.Namespace) -> None:
    data, work = Path(args.data).resolve(), Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "run.log"
    vx_out, sp_out = work / "vaxlink.csv", work / "splink.csv"
    times = {}
    if not args.skip_vaxlink:
        db = work / "vaxlink.db"
        for stale in (db, work / ".vaxlink-work"):
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
        env = dict(
            os.environ,
            VAXLINK_DATABASE_URL=f"sqlite:///{db}",
            VAXLINK_WORK_DIR=str(work / ".vaxlink-work"),
            VAXLINK_AUDIT_KEY_FILE=str(work / ".vaxlink-keys" / "audit.key"),
        )
        if args.vaxlink_src:
            # A pinned copy of src/ (e.g. `git archive REV src | tar -x -C DIR`) instead of the live work tree,
            # which others may be editing: it comes first on the path, before the editable install.
            env["PYTHONPATH"] = str(Path(args.vaxlink_src).resolve())
            with log.open("a") as f:
                f.write(f"# vaxlink from {env['PYTHONPATH']}\n")
        vx = vaxlink_cmd()
        times["db upgrade"] = sh([*vx, "db", "upgrade"], work, env, log)
        times["registry import"] = sh([*vx, "registry", "import", str(data / "register.csv")], work, env, log)
        times["doses ingest"] = sh([*vx, "doses", "ingest", str(data / "doses.csv")], work, env, log)
        times["reconcile export"] = sh([*vx, "reconcile", "export", "--out", str(vx_out)], work, env, log)
    if not args.skip_splink:
        times["splink peer"] = sh(
            ["uv", "run", "python", "bench/splink_peer.py", "--data", str(data), "--out", str(sp_out)],
            ROOT,
            dict(os.environ),
            log,
        )
    for k, v in times.items():
        print(f"{k:<18} {v:7.1f} s")
    score(data, work)


# Tags that describe the person or the file's surface forms rather than an error: a kind is "alone" on a
# record when it is the record's only kind outside these.
INCIDENTAL = (
    "fmt_",
    "pop_",
    "reg_parent_phone",
    "address_variant",
    "absent",
    "clean",
    "cmnd_not_in_register",
    "id_twin",
    "reg_no_cmnd",
)


def score(data: Path, work: Path) -> None:
    truth = read_csv(data / "truth.csv")
    doses = {r["record_id"]: r for r in read_csv(data / "doses.csv")}
    register = {r["personal_id"]: r for r in read_csv(data / "register.csv")}
    vx = {r["record_id"]: r for r in read_csv(work / "vaxlink.csv")}
    sp = {r["record_id"]: r for r in read_csv(work / "splink.csv")}

    def linked(r: dict[str, str] | None) -> str:
        if r and r.get("outcome") in ("linked", "confirmed"):
            return r.get("personal_id", "")
        return ""

    overall = {s: Counter() for s in ("vaxlink", "splink")}
    per_kind: dict[str, Counter] = defaultdict(Counter)
    pairs: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    misses, wrongs = [], []
    for t in truth:
        rid, tp = t["record_id"], t["personal_id"]
        kinds = [k for k in t["kinds"].split(";") if k]
        v, s = vx.get(rid), sp.get(rid)
        vl, sl = linked(v), linked(s)
        vout = v["outcome"] if v else "missing"
        res = {}
        for name, lp in (("vaxlink", vl), ("splink", sl)):
            c = overall[name]
            c["n"] += 1
            c["present"] += bool(tp)
            c["linked"] += bool(lp)
            c["correct"] += bool(lp) and lp == tp
            c["wrong"] += bool(lp) and lp != tp
            c["absent"] += not tp
            c["absent_linked"] += bool(lp) and not tp
            res[name] = (not tp and not lp) or (bool(tp) and lp == tp)
        c = overall["vaxlink"]
        c["review"] += vout == "review"
        c["review_right_cand"] += vout == "review" and bool(tp) and v.get("candidate_personal_id") == tp
        c["unmatched"] += vout == "unmatched"
        c["rejected"] += vout in ("rejected", "missing")
        errors = [k for k in kinds if not k.startswith(INCIDENTAL)]
        if len(errors) == 2:
            pc = pairs[tuple(sorted(errors))]
            pc["n"] += 1
            pc["vx_ok"] += res["vaxlink"]
            pc["sp_ok"] += res["splink"]
            pc["vx_review"] += vout == "review"
        for k in [*kinds, "ALL"]:
            pk = per_kind[k]
            if errors == [k] or (k == "clean" and not errors):
                pk["alone"] += 1
                pk["vx_ok_alone"] += res["vaxlink"]
                pk["sp_ok_alone"] += res["splink"]
            pk["n"] += 1
            pk["absent"] += not tp
            pk["vx_ok"] += res["vaxlink"]
            pk["sp_ok"] += res["splink"]
            pk["vx_review"] += vout == "review"
            pk["vx_unmatched"] += vout in ("unmatched", "rejected", "missing")
            pk["vx_wrong"] += bool(vl) and vl != tp
            pk["sp_wrong"] += bool(sl) and sl != tp
        rec = doses[rid]
        base = {
            "record_id": rid,
            "kinds": ";".join(kinds),
            **{
                f"rec_{c}": rec[c]
                for c in (
                    "full_name",
                    "date_of_birth",
                    "sex",
                    "id_number",
                    "phone",
                    "address",
                    "ward_code",
                    "vaccination_date",
                    "vaccine",
                )
            },
            "true_personal_id": tp,
        }
        treg = register.get(tp, {})
        base.update(
            {
                f"reg_{c}": treg.get(c, "")
                for c in (
                    "full_name",
                    "date_of_birth",
                    "sex",
                    "old_id",
                    "permanent_ward_code",
                    "current_ward_code",
                    "phone",
                    "address",
                    "household_id",
                )
            }
        )
        vxcols = {f"vx_{c}": val for c, val in (v or {}).items() if c != "record_id"}
        if res["splink"] and not res["vaxlink"] and tp:
            misses.append({**base, **vxcols, "sp_personal_id": sl, "sp_score": (s or {}).get("score", "")})
        for name, lp in (("vaxlink", vl), ("splink", sl)):
            if lp and lp != tp:
                oreg = register.get(lp, {})
                wrongs.append(
                    {
                        "system": name,
                        **base,
                        **vxcols,
                        "linked_to": lp,
                        **{
                            f"linked_{c}": oreg.get(c, "")
                            for c in (
                                "full_name",
                                "date_of_birth",
                                "sex",
                                "old_id",
                                "permanent_ward_code",
                                "phone",
                                "household_id",
                            )
                        },
                        "sp_personal_id": sl,
                    }
                )

    def write(path: Path, rows: list[dict[str, str]]) -> None:
        cols: list[str] = []
        for r in rows:
            for c in r:
                if c not in cols:
                    cols.append(c)
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols or ["record_id"])
            w.writeheader()
            w.writerows(rows)

    write(work / "misses.csv", misses)
    write(work / "wrong_links.csv", wrongs)

    summary = {}
    print(
        f"\n{'system':<8} {'records':>8} {'precision':>9} {'recall':>7} {'review':>7} {'unmatch':>7} "
        f"{'wrong':>6} {'absent linked':>14}"
    )
    for name, c in overall.items():
        prec = c["correct"] / c["linked"] if c["linked"] else float("nan")
        rec_ = c["correct"] / c["present"] if c["present"] else float("nan")
        summary[name] = {
            "records": c["n"],
            "precision": prec,
            "recall": rec_,
            "wrong": c["wrong"],
            "absent": c["absent"],
            "absent_linked": c["absent_linked"],
        }
        extra = ""
        if name == "vaxlink":
            summary[name].update(
                review=c["review"] / c["n"],
                unmatched=c["unmatched"] / c["n"],
                rejected=c["rejected"],
                review_right_candidate=c["review_right_cand"],
            )
            extra = f"{c['review'] / c['n']:7.2%} {c['unmatched'] / c['n']:7.2%}"
        else:
            extra = f"{'-':>7} {(c['n'] - c['linked']) / c['n']:7.2%}"
        print(
            f"{name:<8} {c['n']:>8,} {prec:9.4%} {rec_:7.2%} {extra} {c['wrong']:>6} "
            f"{c['absent_linked']:>6}/{c['absent']:<7}"
        )
    print(
        f"vaxlink rejected/missing rows: {overall['vaxlink']['rejected']}; review rows with the right candidate: "
        f"{overall['vaxlink']['review_right_cand']}"
    )

    rows = []
    for k, pk in per_kind.items():
        n = pk["n"]
        rows.append(
            {
                "kind": k,
                "n": n,
                "absent": pk["absent"],
                "vx_ok": pk["vx_ok"] / n,
                "sp_ok": pk["sp_ok"] / n,
                "delta": (pk["vx_ok"] - pk["sp_ok"]) / n,
                "vx_review": pk["vx_review"] / n,
                "vx_unmatched": pk["vx_unmatched"] / n,
                "vx_wrong": pk["vx_wrong"],
                "sp_wrong": pk["sp_wrong"],
                "alone": pk["alone"],
                "vx_ok_alone": pk["vx_ok_alone"] / pk["alone"] if pk["alone"] else float("nan"),
                "sp_ok_alone": pk["sp_ok_alone"] / pk["alone"] if pk["alone"] else float("nan"),
            }
        )
    rows.sort(key=lambda r: (r["kind"] != "ALL", r["delta"]))
    write(
        work / "kinds.csv",
        [{k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows],
    )
    print(
        "\nok = linked to the true person (present) or not auto-linked (absent); sorted by vaxlink - splink"
    )
    print("'alone': records whose only error kind is this one (formats and person tags aside)")
    print(
        f"{'kind':<26} {'n':>6} {'vx ok':>7} {'sp ok':>7} {'delta':>7} {'vx rev':>7} {'vx unm':>7} {'vx wr':>6} "
        f"{'sp wr':>6} | {'alone':>6} {'vx ok':>7} {'sp ok':>7}"
    )
    for r in rows:
        print(
            f"{r['kind']:<26} {r['n']:>6} {r['vx_ok']:7.1%} {r['sp_ok']:7.1%} {r['delta']:+7.1%} "
            f"{r['vx_review']:7.1%} {r['vx_unmatched']:7.1%} {r['vx_wrong']:>6} {r['sp_wrong']:>6} | "
            f"{r['alone']:>6} {r['vx_ok_alone']:7.1%} {r['sp_ok_alone']:7.1%}"
        )
    worst = sorted(
        ((k, c) for k, c in pairs.items() if c["n"] >= 10),
        key=lambda kc: (kc[1]["vx_ok"] - kc[1]["sp_ok"]) / kc[1]["n"],
    )
    print("\nrecords with exactly two error kinds: the 25 pairs where vaxlink trails Splink most (n >= 10)")
    print(f"{'pair':<52} {'n':>5} {'vx ok':>7} {'sp ok':>7} {'vx rev':>7}")
    for k, c in worst[:25]:
        print(
            f"{' + '.join(k):<52} {c['n']:>5} {c['vx_ok'] / c['n']:7.1%} {c['sp_ok'] / c['n']:7.1%} "
            f"{c['vx_review'] / c['n']:7.1%}"
        )
    print(f"\nmisses (splink right, vaxlink not): {len(misses)} -> {work / 'misses.csv'}")
    print(
        f"wrong links: vaxlink {sum(1 for w in wrongs if w['system'] == 'vaxlink')}, "
        f"splink {sum(1 for w in wrongs if w['system'] == 'splink')} -> {work / 'wrong_links.csv'}"
    )
    (work / "summary.json").write_text(json.dumps(summary, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="write register.csv, doses.csv and truth.csv")
    g.add_argument("--citizens", type=int, required=True)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--out", required=True)
    g.add_argument("--mix", choices=["default", "x3", "poor", "random"], default="default")
    g.add_argument("--mix-seed", type=int, default=0)
    r = sub.add_parser("run", help="run vaxlink and the Splink peer on a set and compare them by error kind")
    r.add_argument("--data", required=True)
    r.add_argument("--work", required=True)
    r.add_argument("--skip-vaxlink", action="store_true", help="reuse WORK/vaxlink.csv")
    r.add_argument("--skip-splink", action="store_true", help="reuse WORK/splink.csv")
    r.add_argument("--vaxlink-src", help="run vaxlink from this copy of src/ (put first on PYTHONPATH)")
    s = sub.add_parser("score", help="score existing WORK/vaxlink.csv and WORK/splink.csv again")
    s.add_argument("--data", required=True)
    s.add_argument("--work", required=True)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args)
    elif args.command == "run":
        run(args)
    else:
        score(Path(args.data), Path(args.work))


if __name__ == "__main__":
    main()

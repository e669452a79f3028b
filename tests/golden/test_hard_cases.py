"""Hand-made hard cases with known answers: households, twins, a parent's id, name order, year-only dates.

The register holds these families among a few thousand simulated citizens, so that name frequencies and
the prior are those of a real register, not of a toy one.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from vaxlink.domain.admin_units import admin_units
from vaxlink.domain.dates import parse_date
from vaxlink.domain.names import canonical_name
from vaxlink.matching.prepare import prepare_records, prepare_register
from vaxlink.matching.run import run_duckdb
from vaxlink.matching.spec import MatchSpec
from vaxlink.simulation import simulate

# personal_id, old_id, name, dob (ISO or year), sex, ward, phone, household
FAMILIES = [
    ("077075000101", "273000101", "Nguyễn Văn Hùng", "1975-04-10", "M", "26560", "0912000001", "G1"),
    ("077178000102", None, "Trần Thị Lan", "1978-09-21", "F", "26560", "0912000001", "G1"),
    ("077205000103", None, "Nguyễn Văn Hưng", "2005-06-15", "M", "26560", "0912000001", "G1"),
    ("077205000104", None, "Nguyễn Văn Hùng", "2005-06-15", "M", "26560", "0912000001", "G1"),
    ("077308000105", None, "Nguyễn Thị Ánh", "2008-01-30", "F", "26560", "0912000001", "G1"),
    ("077040000201", None, "Lê Văn Tư", "1940", "M", "26554", None, "G2"),
    ("077090000301", None, "Phạm Minh Đức", "1990-02-03", "M", "26554", None, "G3"),
    ("077195000401", None, "Võ Thị Thu Hà", "1995-03-04", "F", "26554", "0912000004", "G4"),
    ("077197000402", None, "Võ Thị Thu Hằng", "1997-08-09", "F", "26554", "0912000004", "G4"),
    # Twins whose given names are one letter apart, a woman called Thúy, a man called Hồ Quốc Anh.
    ("077201000501", None, "Trần Văn Tâm", "2001-07-07", "M", "26560", None, "G5"),
    ("077201000502", None, "Trần Văn Tân", "2001-07-07", "M", "26560", None, "G5"),
    ("077183000601", None, "Bùi Thị Thúy", "1983-02-14", "F", "26554", None, "G6"),
    ("077066000701", None, "Hồ Quốc Anh", "1966-11-20", "M", "26554", None, "G7"),
    # A son Hoàng beside his mother Lê Thanh Hằng, who kept her own family name, and his father Nguyễn Văn Lâm
    # beside his daughter Nguyễn Thị Lan.
    ("077205000801", None, "Nguyễn Ngọc Hoàng", "2005-11-17", "M", "26554", "0912000008", "G8"),
    ("077175000802", None, "Lê Thanh Hằng", "1975-05-26", "F", "26554", "0912000008", "G8"),
    ("077070000803", None, "Nguyễn Văn Lâm", "1970-03-12", "M", "26554", "0912000008", "G8"),
    ("077310000804", None, "Nguyễn Thị Lan", "2010-01-06", "F", "26554", "0912000008", "G8"),
    ("077185000901", None, "Đặng Thị Thúy", "1985-06-20", "F", "26554", "0912000009", "G9"),
    # A wife and her husband born the same year, one phone; a man whose middle name a record leaves out.
    ("077175001001", None, "Trần Thị Đào", "1975-06-09", "F", "26554", "0912000010", "G10"),
    ("077075001002", None, "Lê Văn Sơn", "1975-02-02", "M", "26554", "0912000010", "G10"),
    ("077075001101", None, "Nguyễn Quốc Thiện", "1975-12-05", "M", "26560", "0912000011", "G11"),
    # Đức's brother, whose birth date the register knows only to the year.
    ("077092001201", None, "Phạm Minh Tài", "1992", "M", "26554", None, "G3"),
]

# rec_id, name, dob, sex, id, phone, ward, expected outcome, expected person (index in FAMILIES or None), reasons
CASES = [
    (
        1,
        "NGUYEN VAN HUNG",
        "15/06/2005",
        "Nam",
        None,
        "0912000001",
        "26560",
        "review",
        None,
        {"AMBIGUOUS_CANDIDATES"},
    ),
    (2, "Nguyen Van Hung", "15/06/2005", "Nam", "077205000103", None, None, "linked", 2, {"NAME_DIACRITICS"}),
    (
        3,
        "Nguyễn Thị Ánh",
        "30/01/2008",
        "Nữ",
        "077075000101",
        "0912000001",
        None,
        "linked",
        4,
        {"ID_OF_HOUSEHOLD_MEMBER"},
    ),
    (
        4,
        "Võ Thị Thu Hương",
        "12/12/1999",
        "Nữ",
        "077195000401",
        "0912000004",
        "26554",
        "not linked",
        None,
        set(),
    ),
    (5, "Đức Phạm Minh", "03/02/1990", "Nam", "077090000301", None, None, "linked", 6, {"NAME_ORDER"}),
    (6, "Lê Văn Tư", "12/05/1940", "Nam", None, None, "26554", "linked", 5, {"DOB_YEAR_ONLY", "ID_MISSING"}),
    (7, "Nguyễn Văn Hùng", "10/04/1975", "Nam", "273000101", None, None, "linked", 0, {"ID_OLD_CMND"}),
    (
        8,
        "Võ Thị Thu Hằng",
        "08/09/1997",
        "Nữ",
        "077197000402",
        None,
        None,
        "linked",
        8,
        {"DOB_DAY_MONTH_SWAPPED"},
    ),
    (9, "Hứa Thị Quyên Nhi", "01/01/2001", "Nữ", None, None, None, "unmatched", None, {"NO_CANDIDATE"}),
    (10, "Võ Thu Hà", "04/03/1995", "Nữ", "077195000401", None, None, "linked", 7, {"NAME_MIDDLE_DROPPED"}),
    (
        11,
        "Nguyễn Văn Hùng",
        "10/04/1975",
        "Nữ",
        "77075000101",
        None,
        None,
        "linked",
        0,
        {"ID_LOST_ZERO", "SEX_DIFFERS"},
    ),
    (
        12,
        "Tran Thi Lan",
        "21/09/1978",
        None,
        "077178000112",
        None,
        None,
        "linked",
        1,
        {"ID_TYPO", "NAME_DIACRITICS", "SEX_MISSING"},
    ),
    # No number, no ward: the name and the birth date alone, with a twin whose name differs by a mark.
    (13, "Nguyễn Văn Hưng", "15/06/2005", "Nam", None, None, None, "review", None, {"ID_MISSING"}),
    # Tân's dose with his twin Tâm's number: Tân is one letter from Tâm, but a name of the household.
    (14, "Trần Văn Tân", "07/07/2001", "Nam", "077201000501", None, None, "not Tâm", None, set()),
    # Tân's dose without a number, his twin beside him: the record names Tân.
    (15, "Trần Văn Tân", "07/07/2001", "Nam", None, None, "26560", "linked", 10, {"ID_MISSING"}),
    # A slip that makes another real name (Thy), nobody of her household called so: her number and birth date.
    (16, "Bùi Thị Thy", "14/02/1983", "Nữ", "077183000601", None, None, "linked", 11, {"NAME_GIVEN_TYPO"}),
    # The same slip without the number or the birth date to vouch for it.
    (17, "Bùi Thị Thy", "14/02/1983", "Nữ", None, None, None, "not linked", None, {"NAME_GIVEN_TYPO"}),
    # The given name first and the middle name left out, with the number.
    (18, "Anh Hồ", "20/11/1966", "Nam", "077066000701", None, None, "linked", 12, {"NAME_MIDDLE_DROPPED"}),
    # Two letters swapped, neither number nor ward: found by the name's letters with the birth date, and a name
    # rare enough with the full birth date to be linked.
    (19, "Bùi Thị Tùhy", "14/02/1983", "Nữ", None, None, None, "linked", 11, {"NAME_TYPO", "ID_MISSING"}),
    # Hoàng typed Hàng: his mother's given name once folded (Hằng), but she is a Lê; his number and birth date.
    (20, "Nguyễn Ngọc Hàng", "17/11/2005", "Nam", "077205000801", None, None, "linked", 13, {"NAME_TYPO"}),
    # Her father's number, birth date and sex under Lan's given name: three of his fields against one of hers,
    # his dose with his daughter's name written. Lan's own dose under his number carries her own birth date
    # (case 3, her sister Ánh's).
    (
        21,
        "Nguyễn Văn Lan",
        "12/03/1970",
        "Nam",
        "077070000803",
        None,
        None,
        "linked",
        15,
        {"NAME_OF_HOUSEHOLD_MEMBER"},
    ),
    # Two neighbouring letters of the family name swapped and the middle name left out, with his number and
    # birth date.
    (22, "Hpạm Đức", "03/02/1990", "Nam", "077090000301", None, None, "linked", 6, {"NAME_SIMILAR"}),
    # A slip in the given name and one in the birth date (a day off), with her number, her sex and her own
    # phone: her record.
    (
        23,
        "Đặng Thị Thy",
        "21/06/1985",
        "Nữ",
        "077185000901",
        "0912000009",
        None,
        "linked",
        17,
        {"NAME_GIVEN_TYPO", "DOB_TYPO"},
    ),
    # The same two slips with her number but nothing of her home: an officer's look.
    (
        24,
        "Đặng Thị Thy",
        "21/06/1985",
        "Nữ",
        "077185000901",
        None,
        None,
        "not linked",
        None,
        {"NAME_GIVEN_TYPO"},
    ),
    # The given name written first, the birth date known to the year: no rule on the name and the date
    # reaches her; her phone and her year do, and her husband, born the same year, is not her.
    (25, "Đào Trần Thị", "1975", "Nữ", None, "0912000010", "26554", "linked", 18, {"NAME_ORDER"}),
    # The given name first and the middle name left out, no number: found by his phone and his year.
    (
        26,
        "Thiện Nguyễn",
        "05/12/1975",
        "Nam",
        None,
        "0912000011",
        "26560",
        "linked",
        20,
        {"NAME_MIDDLE_DROPPED"},
    ),
    # Born 3 February 1990, written 1 January as a clerk writes a birth date whose day is not known: the year is
    # what it says, and the rest of the record is his.
    (27, "Phạm Minh Đức", "01/01/1990", "Nam", None, None, "26554", "linked", 6, {"DOB_YEAR_ONLY"}),
    # 1 January of the year after: not his year.
    (28, "Phạm Minh Đức", "01/01/1991", "Nam", None, None, "26554", "not linked", None, set()),
    # His name typed with the input method off: the Telex letters are the marks they stand for.
    (29, "Phamj Minh Ddwcs", "03/02/1990", "Nam", None, None, "26554", "linked", 6, set()),
    # His daughter Ánh's dose under her father's name and number (she had none of her own), with her birth date:
    # the number and the name are his, the dose hers. Never linked without an officer.
    (30, "Nguyễn Văn Hùng", "30/01/2008", "Nam", "077075000101", None, "26560", "not linked", None, set()),
    # An outsider born in An Giang who shares Phạm Minh Đức's name, birth date and ward: the record carries his
    # own number (his year and sex, another province), which nobody here holds.
    # Not a doubt about the resident: a person to collect.
    (
        31,
        "Phạm Minh Đức",
        "03/02/1990",
        "Nam",
        "089090552653",
        None,
        "26554",
        "unmatched",
        None,
        {"ID_OTHER_NUMBER"},
    ),
    # A garbled number (it would make him a woman): no one's; the full date and the ward are his.
    (32, "Phạm Minh Đức", "03/02/1990", "Nam", "089190552653", None, "26554", "linked", 6, {"ID_DIFFERENT"}),
    # What his family calls him where his given name belongs, with his number and birth date.
    (
        33,
        "Phạm Minh Út",
        "03/02/1990",
        "Nam",
        "077090000301",
        None,
        "26554",
        "linked",
        6,
        {"NAME_GIVEN_NICKNAME"},
    ),
    # The same typed without marks.
    (
        39,
        "PHAM MINH UT",
        "03/02/1990",
        "Nam",
        "077090000301",
        None,
        "26554",
        "linked",
        6,
        {"NAME_GIVEN_NICKNAME"},
    ),
    # His number, birth date and sex under another given name nobody of his household carries (a name he goes by,
    # a misread one): his. Without the number the name is another person's.
    (
        40,
        "Phạm Minh Tuấn",
        "03/02/1990",
        "Nam",
        "077090000301",
        None,
        "26554",
        "linked",
        6,
        {"NAME_GIVEN_OTHER"},
    ),
    (41, "Phạm Minh Tuấn", "03/02/1990", "Nam", None, None, "26554", "not linked", None, set()),
    # Lan's number, birth date and sex under her husband's name: a woman's record whose middle name is Văn. The
    # name is a relative's written in her place; the dose is hers. With his sex, or a birth date a year off, not.
    (
        42,
        "Nguyễn Văn Hùng",
        "21/09/1978",
        "Nữ",
        "077178000102",
        "0912000001",
        "26560",
        "linked",
        1,
        {"NAME_OTHER_SEX"},
    ),
    (
        43,
        "Nguyễn Văn Hùng",
        "21/09/1978",
        "Nam",
        "077178000102",
        "0912000001",
        "26560",
        "not linked",
        None,
        set(),
    ),
    (
        44,
        "Nguyễn Văn Hùng",
        "21/09/1979",
        "Nữ",
        "077178000102",
        "0912000001",
        "26560",
        "not linked",
        None,
        set(),
    ),
    # A girl the register does not know under her mother's number and her father's name: a person to collect.
    (
        45,
        "Nguyễn Văn Lâm",
        "12/05/2012",
        "Nữ",
        "077175000802",
        "0912000008",
        "26554",
        "unmatched",
        None,
        set(),
    ),
    # Little Lan's number, birth date and sex under her mother's whole name (born in another year): a relative's
    # name written in her place. With the sex left out too; not without the number, nor under her twin-less
    # mother's name with a birth date of another day than her own.
    (
        46,
        "Lê Thanh Hằng",
        "06/01/2010",
        "Nữ",
        "077310000804",
        None,
        "26554",
        "linked",
        16,
        {"NAME_OF_HOUSEHOLD_MEMBER"},
    ),
    (
        47,
        "Lê Thanh Hằng",
        "06/01/2010",
        None,
        "077310000804",
        None,
        "26554",
        "linked",
        16,
        {"NAME_OF_HOUSEHOLD_MEMBER"},
    ),
    (48, "Lê Thanh Hằng", "06/01/2010", "Nữ", None, None, "26554", "not linked", None, set()),
    (54, "Lê Thanh Hằng", "06/01/2010", "Nam", "077310000804", None, "26554", "not linked", None, set()),
    (49, "Lê Thanh Hằng", "07/01/2010", "Nữ", "077310000804", None, "26554", "not linked", None, set()),
    # Hùng's number and the twins' birth date under his twin Hưng's name: the name of a member born that day,
    # a twin's, never linked to the number's holder.
    (50, "Nguyễn Văn Hưng", "15/06/2005", "Nam", "077205000104", None, "26560", "not linked", None, set()),
    # Đức's number, birth date and sex under his brother's name, whose day of birth the register does not know:
    # he may be a twin, never linked.
    (53, "Phạm Minh Tài", "03/02/1990", "Nam", "077090000301", None, "26554", "not linked", None, set()),
    # A slip of two letters in the name and a birth date astray within its year, with his number: his.
    (
        51,
        "Phạm Mihn Đức",
        "25/07/1990",
        "Nam",
        "077090000301",
        None,
        None,
        "linked",
        6,
        {"NAME_TYPO", "DOB_SAME_YEAR"},
    ),
    (52, "Phạm Mihn Đức", "25/07/1990", "Nam", None, None, "26554", "not linked", None, set()),
    # The twins' birth date, the household's family name and Tâm's number, under his brother's name: never linked.
    (34, "Trần Văn Tân", "07/07/2001", "Nam", "077201000501", None, "26560", "not linked", None, set()),
    # Two words run together by the typist.
    (35, "PhạmMinh Đức", "03/02/1990", "Nam", None, None, "26554", "linked", 6, set()),
    # No birth date: his number and name link it, and health is told the date is missing; without the number the
    # name alone links nothing.
    (36, "Phạm Minh Đức", "", "Nam", "077090000301", None, "26554", "linked", 6, {"DOB_MISSING"}),
    (37, "Phạm Minh Đức", "", "Nam", None, None, "26554", "not linked", None, set()),
    # A boy the register does not know, vaccinated under his father's number: neither his name nor a birth date
    # of the father's generation agrees. Not a doubt about the father: a person to collect.
    (
        38,
        "Nguyễn Minh Khang",
        "12/05/2012",
        "Nam",
        "077075000101",
        "0912000001",
        "26560",
        "unmatched",
        None,
        set(),
    ),
    # His daughter Ánh under his old CMND, her name and birth date hers: the father is another person (another
    # given name, a generation older), not her rival, and his CMND names her household. Her name without its
    # marks, or with other marks, and her home's phone and ward.
    (
        55,
        "Nguyễn Thị Ánh",
        "30/01/2008",
        "Nữ",
        "273000101",
        None,
        "26560",
        "linked",
        4,
        {"ID_OF_HOUSEHOLD_MEMBER"},
    ),
    (
        56,
        "Nguyễn Thị Anh",
        "30/01/2008",
        "Nữ",
        "273000101",
        "0912000001",
        "26560",
        "linked",
        4,
        {"ID_OF_HOUSEHOLD_MEMBER", "NAME_MARKS_DIFFER"},
    ),
    (57, "NGUYEN THI ANH", "30/01/2008", "Nữ", "273000101", None, "26560", "linked", 4, {"NAME_DIACRITICS"}),
    # A name read as nobody's (letters astray past any slip, words out of order, or somebody else's name) with
    # the citizen's number, full birth date and sex: three fields against one, the citizen's. Less than all
    # three stays with an officer. Where the citizen has a twin (Tâm and Tân, born the same day) never.
    (
        58,
        "Tị Thýu Bùi",
        "14/02/1983",
        "Nữ",
        "077183000601",
        None,
        "26554",
        "linked",
        11,
        {"NAME_UNRECOGNISED"},
    ),
    (
        59,
        "Võ Hoài Thương",
        "10/04/1975",
        "Nam",
        "077075000101",
        None,
        None,
        "linked",
        0,
        {"NAME_UNRECOGNISED"},
    ),
    (60, "Võ Hoài Thương", "10/04/1975", "Nữ", "077075000101", None, None, "review", 0, {"SEX_DIFFERS"}),
    (61, "Võ Hoài Thương", "1975", "Nam", "077075000101", None, None, "review", 0, {"DOB_YEAR_ONLY"}),
    (
        62,
        "Lê Thành Nhân",
        "07/07/2001",
        "Nam",
        "077201000501",
        None,
        "26560",
        "review",
        9,
        {"NAME_DIFFERENT"},
    ),
    # Birth dates written in the lunar calendar, three to seven weeks before the real one: with the name and the
    # ward, or the number, his; with the name alone a doubt. Three weeks after is no lunar date: not linked.
    (63, "Phạm Minh Đức", "08/01/1990", "Nam", None, None, "26554", "linked", 6, {"DOB_LUNAR"}),
    (64, "Phạm Minh Đức", "08/01/1990", "Nam", "077090000301", None, None, "linked", 6, {"DOB_LUNAR"}),
    (65, "Phạm Minh Đức", "08/01/1990", "Nam", None, None, None, "review", 6, {"DOB_LUNAR"}),
    (66, "Hồ Quốc Anh", "15/10/1966", "Nam", None, None, "26554", "linked", 12, {"DOB_LUNAR"}),
    (67, "Phạm Minh Đức", "24/02/1990", "Nam", None, None, "26554", "not linked", None, {"DOB_SAME_YEAR"}),
    # Her mother's number names her house, as the house would: other marks on her name with her full birth date
    # are her slip. The twins Hưng and Hùng under their mother's number, one mark astray: both compete.
    (
        68,
        "Nguyễn Thị Ảnh",
        "30/01/2008",
        "Nữ",
        "077178000102",
        None,
        None,
        "linked",
        4,
        {"NAME_MARKS_DIFFER"},
    ),
    (
        69,
        "Nguyễn Văn Hững",
        "15/06/2005",
        "Nam",
        "077178000102",
        None,
        None,
        "review",
        2,
        {"AMBIGUOUS_CANDIDATES"},
    ),
    # An old CMND of another province the register never took, Hùng's name and year of birth, another ward: the
    # register holds Hùng's own CMND, far from it. A namesake the register does not know, or a card issued
    # again: the officer is told the card is not his.
    (70, "Nguyễn Văn Hùng", "1975", "Nam", "012345678", None, "26554", "not linked", None, {"ID_CMND_OTHER"}),
    # The same card on a record with his full birth date in his own ward: a relative's card written in his
    # place; the rest of the record is his.
    (71, "Nguyễn Văn Hùng", "10/04/1975", "Nam", "012345678", None, "26560", "linked", 0, {"ID_CMND_OTHER"}),
    # His own card with one digit slipped: a slip, not another card.
    (72, "Nguyễn Văn Hùng", "1975", "Nam", "273000102", None, "26560", "linked", 0, {"ID_CMND_UNKNOWN"}),
    # Lâm's number on his daughter Lan's dose, her name with a slip, her birth date: the household his number
    # names holds her, born that day; he is a generation apart and not of her name. Vaccinated in Hà Nội: no
    # rule of the province finds her by her name.
    (
        73,
        "Nguyễn Thị Lanh",
        "06/01/2010",
        "Nữ",
        "077070000803",
        None,
        "00004",
        "linked",
        16,
        {"ID_OF_HOUSEHOLD_MEMBER"},
    ),
]


Outcomes = dict[int, tuple[str, str | None, set[str]]]


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[object]]:
    """The families among 3,000 simulated citizens, as the columns the matcher's register is prepared from."""
    out: Path = tmp_path_factory.mktemp("golden")
    simulate(out, citizens=3000, seed=11)
    background = pacsv.read_csv(
        out / "register.csv",
        convert_options=pacsv.ConvertOptions(
            column_types={
                c: pa.string()
                for c in (
                    "personal_id",
                    "old_id",
                    "date_of_birth",
                    "phone",
                    "household_id",
                    "permanent_ward_code",
                    "current_ward_code",
                )
            }
        ),
    )
    rows = []
    for i, (pid, _old, name, dob, sex, ward, phone, hh) in enumerate(FAMILIES):
        rows.append((i + 1, pid, name, dob, sex, ward, phone, hh))
    for j, r in enumerate(background.to_pylist()):
        sex = "M" if r["sex"] == "Nam" else "F"
        rows.append(
            (
                1000 + j,
                r["personal_id"],
                r["full_name"],
                r["date_of_birth"],
                sex,
                r["current_ward_code"] or r["permanent_ward_code"],
                r["phone"],
                r["household_id"],
            )
        )
    cols: dict[str, list[object]] = {
        k: []
        for k in (
            "citizen_id",
            "personal_id",
            "full_name",
            "birth_date",
            "birth_precision",
            "birth_year",
            "sex",
            "current_ward_code",
            "permanent_ward_code",
            "phone",
            "household_id",
        )
    }
    for cid, pid, name, dob, sex, ward, phone, hh in rows:
        d = parse_date(dob)
        cols["citizen_id"].append(cid)
        cols["personal_id"].append(pid)
        cols["full_name"].append(canonical_name(name))
        cols["birth_date"].append(d.earliest())  # type: ignore[union-attr]
        cols["birth_precision"].append(d.precision.value)  # type: ignore[union-attr]
        cols["birth_year"].append(d.year)  # type: ignore[union-attr]
        cols["sex"].append(sex)
        cols["current_ward_code"].append(ward)
        cols["permanent_ward_code"].append(ward)
        cols["phone"].append(phone)
        cols["household_id"].append(hh)
    return cols


def _matched(
    register: dict[str, list[object]], records: dict[str, list[object]]
) -> duckdb.DuckDBPyConnection:
    """The records matched against the register with the shipped spec: the run's tables."""
    con = duckdb.connect()
    con.register("reg_in", pa.table(register))
    con.register("alias_in", pa.table({"citizen_id": [1], "alias": ["273000101"], "kind": ["cmnd"]}))
    prepare_register(con, "reg_in", "alias_in")
    con.register("rec_in", pa.table(records))
    prepare_records(con, "rec_in")
    run_duckdb(con, MatchSpec())
    return con


def _outcomes(register: dict[str, list[object]], records: dict[str, list[object]]) -> Outcomes:
    con = _matched(register, records)
    got = con.execute("""SELECT m.rec_id, c.outcome, r.personal_id, c.reasons FROM rec_map m
        JOIN classified c USING (ident_id) LEFT JOIN reg r ON r.citizen_id = c.best_citizen_id""").fetchall()
    return {rid: (o, pid, set(reasons.split(";")) if reasons else set()) for rid, o, pid, reasons in got}


@pytest.fixture(scope="module")
def outcome(register: dict[str, list[object]]) -> Outcomes:
    return _outcomes(
        register,
        {
            "rec_id": [c[0] for c in CASES],
            "full_name": [c[1] for c in CASES],
            "date_of_birth": [c[2] for c in CASES],
            "sex": [c[3] for c in CASES],
            "id_number": [c[4] for c in CASES],
            "phone": [c[5] for c in CASES],
            "ward_code": [c[6] for c in CASES],
        },
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_hard_case(case: tuple, outcome: dict) -> None:
    rid, _name, _dob, _sex, _id, _phone, _ward, expected, person, reasons = case
    got, pid, got_reasons = outcome[rid]
    if expected == "not Tâm":
        # Never the twin whose number it carries; the record's own person, or an officer's look.
        assert got in ("review", "unmatched") or (got == "linked" and pid == FAMILIES[10][0]), (got, pid)
        return
    if expected == "not linked":
        assert got in ("review", "unmatched")
    else:
        assert got == expected
    if expected == "linked":
        assert pid == FAMILIES[person][0]
    assert reasons <= got_reasons, got_reasons


# Phạm Minh Đức lives in Phước Nguyên (26554), which went into Bà Rịa (26560) in 2025; Long Sơn (26545) stayed
# itself. Dose records of 2021 without his number, written with the legacy wards: rec_id, ward, whether the
# record's ward is his. Either way the record is his (his name and birth date are his alone); the ward only
# says where he was vaccinated, and the explanation must say it rightly.
WARD_CASES = [(101, "26554", True), (102, "26545", False)]


@pytest.mark.parametrize("structure", ["legacy", "2025"])
def test_a_ward_written_in_the_other_structure(register: dict[str, list[object]], structure: str) -> None:
    """A register kept in the 2025 units meets doses written with the legacy wards: the old ward within the
    citizen's new one is the same ward, as it is when both are legacy; a ward outside it is not."""
    cols = {k: [*v] for k, v in register.items()}
    if structure == "2025":
        targets = admin_units().ward_targets()
        for c in ("current_ward_code", "permanent_ward_code"):
            cols[c] = [targets[str(w)][0] for w in cols[c]]
    cols["current_units"] = cols["permanent_units"] = [structure] * len(cols["citizen_id"])
    n = len(WARD_CASES)
    got = _outcomes(
        cols,
        {
            "rec_id": [rid for rid, _, _ in WARD_CASES],
            "full_name": ["Phạm Minh Đức"] * n,
            "date_of_birth": ["03/02/1990"] * n,
            "sex": ["Nam"] * n,
            "id_number": [None] * n,
            "phone": [None] * n,
            "ward_code": [ward for _, ward, _ in WARD_CASES],
            "ward_units": ["legacy"] * n,
        },
    )
    for rid, _ward, his in WARD_CASES:
        outcome, pid, reasons = got[rid]
        assert (outcome, pid) == ("linked", FAMILIES[6][0]), got[rid]
        assert ("WARD_DIFFERS" not in reasons) is his, got[rid]


# Birth dates with two-digit years, as a clerk types them: Phạm Minh Đức (born 3 February 1990) and the girl
# Nguyễn Thị Ánh (30 January 2008), neither with a number. Read on the day of the dose, each is her or his own.
TWO_DIGIT_CASES = [(201, "Phạm Minh Đức", "03/02/90", "Nam", 6), (202, "Nguyễn Thị Ánh", "30/01/08", "Nữ", 4)]


@pytest.mark.parametrize("with_day", [True, False])
def test_a_birth_year_written_with_two_digits(register: dict[str, list[object]], with_day: bool) -> None:
    n = len(TWO_DIGIT_CASES)
    records: dict[str, list[object]] = {
        "rec_id": [c[0] for c in TWO_DIGIT_CASES],
        "full_name": [c[1] for c in TWO_DIGIT_CASES],
        "date_of_birth": [c[2] for c in TWO_DIGIT_CASES],
        "sex": [c[3] for c in TWO_DIGIT_CASES],
        "id_number": [None] * n,
        "phone": [None] * n,
        "ward_code": [FAMILIES[c[4]][5] for c in TWO_DIGIT_CASES],
    }
    if with_day:
        records["vaccination_date"] = [date(2021, 9, 1)] * n
    got = _outcomes(register, records)
    for rid, _name, _dob, _sex, person in TWO_DIGIT_CASES:
        outcome, pid, _reasons = got[rid]
        if with_day:
            assert (outcome, pid) == ("linked", FAMILIES[person][0]), got[rid]
        else:
            # Without the day of the dose the year cannot be read: nothing links on the name alone.
            assert outcome != "linked", got[rid]


def test_the_day_of_the_dose_typed_as_the_birth_date(register: dict[str, list[object]]) -> None:
    """A birth date that would make the person younger than any vaccinee on the day of the dose is no birth date
    (the clerk typed the day of the dose in its box): the number and the name decide, as they do for a record
    without one. A parent's number and name with the child's real birth date is another matter (case 30)."""
    records: dict[str, list[object]] = {
        "rec_id": [301, 302],
        "full_name": ["Phạm Minh Đức", "Phạm Minh Đức"],
        "date_of_birth": ["01/09/2021", "01/09/2021"],
        "sex": ["Nam", "Nam"],
        "id_number": ["077090000301", None],
        "phone": [None, None],
        "ward_code": ["26554", "26554"],
        "vaccination_date": [date(2021, 9, 1), date(2021, 9, 1)],
    }
    got = _outcomes(register, records)
    assert got[301][:2] == ("linked", FAMILIES[6][0]), got[301]
    # Without the number nothing but the name is left: not linked on it.
    assert got[302][0] != "linked", got[302]


# Homes of three households, as the register writes them; a record writes them its own way.
HOMES = {
    "G1": "Số 12 đường Lê Lợi, khu phố 2",
    "G4": "Số 45 đường Trần Phú, khu phố 1",
    "G11": "Tổ 3, ấp Bắc",
}
G4_HOME = "45 Trần Phú, KP1, P. Phước Nguyên, TP Bà Rịa"
G1_HOME = "12 Lê Lợi, KP2, Bà Rịa"
# rec_id, name, dob, sex, id, phone, ward, address, expected person (index in FAMILIES) or None for "not linked"
HOME_CASES = [
    # Võ Thị Thu Hà's whole name at her house and on her own phone: the register's number in all but name. A
    # birth date missing, or astray within its year, is the record's slip.
    (401, "Võ Thị Thu Hà", "", "Nữ", None, "0912000004", "26554", G4_HOME, 7),
    (402, "VÕ THỊ THU HÀ", "21/11/1995", "Nữ", None, "0912000004", "26554", G4_HOME, 7),
    # Without her phone (a slip in her number finds her) the house alone does not lift it, nor her phone at
    # another house; a date of another year is a relative's (a sibling's dose under her name), not a slip.
    (403, "Võ Thị Thu Hà", "", "Nữ", "077185000401", None, "26554", G4_HOME, None),
    (404, "Nguyễn Quốc Thiện", "17/08/1979", "Nam", None, "0912000011", "26560", "Tổ 3 ấp Bắc, Bà Rịa", None),
    (410, "Võ Thị Thu Hà", "", "Nữ", None, "0912000004", "26554", "Số 9 đường Nguyễn Trãi, khu phố 5", None),
    # Her name with other marks and her year of birth (the day not known), at her house: hers.
    (405, "Võ Thị Thu Hả", "1995", "Nữ", None, None, "26554", G4_HOME, 7),
    (406, "Võ Thị Thu Hả", "04/03/1995", "Nữ", None, None, "26554", None, 7),
    # The same with her ward only: not enough.
    (407, "Võ Thị Thu Hả", "1995", "Nữ", None, None, "26554", None, None),
    # The twins Hưng and Hùng share the house and the year: a third mark names neither.
    (408, "Nguyễn Văn Hũng", "2005", "Nam", None, None, "26560", G1_HOME, None),
    # Her name with other marks and a digit of her birth date slipped, on her own phone: hers.
    (409, "Võ Thị Thu Hả", "04/03/1996", "Nữ", None, "0912000004", "26554", None, 7),
]
HOME_COLUMNS = ("rec_id", "full_name", "date_of_birth", "sex", "id_number", "phone", "ward_code", "address")


def test_the_home_vouches_for_a_birth_date_as_far_as_it_is_known(register: dict[str, list[object]]) -> None:
    """The house and the phone speak for the person where the number is missing: the whole name there names the
    person, and a name with other marks there with the year of birth or a slip of the date is the person's.
    A twin of one house is never taken so, and a relative's date of another year is not lifted."""
    cols = {k: [*v] for k, v in register.items()}
    cols["address"] = [
        HOMES.get(str(hh)) if i < len(FAMILIES) else None for i, hh in enumerate(cols["household_id"])
    ]
    got = _outcomes(cols, {name: [c[i] for c in HOME_CASES] for i, name in enumerate(HOME_COLUMNS)})
    for *fields, person in HOME_CASES:
        rid = fields[0]
        outcome, pid, _reasons = got[rid]
        if person is None:
            assert outcome != "linked", (rid, got[rid])
        else:
            assert (outcome, pid) == ("linked", FAMILIES[person][0]), (rid, got[rid])


def test_a_parent_s_identity_on_a_child_s_dose_puts_the_child_first(
    register: dict[str, list[object]],
) -> None:
    """Case 30 and its kin: Nguyễn Văn Hùng's name and number (or his old CMND) with his daughter Ánh's birth
    date. The dose is hers, the number and the name his: never linked without an officer, and the officer
    sees her first, her father after her as her rival. His own record with a birth date a generation off that no
    member of his household carries still shows him first."""
    records: dict[str, list[object]] = {
        "rec_id": [501, 502, 503],
        "full_name": ["Nguyễn Văn Hùng", "Nguyễn Văn Hùng", "Nguyễn Văn Hùng"],
        "date_of_birth": ["30/01/2008", "30/01/2008", "30/01/2009"],
        "sex": ["Nam", None, "Nam"],
        "id_number": ["077075000101", "273000101", "077075000101"],
        "phone": [None, "0912000001", None],
        "ward_code": ["26560", "26560", "26560"],
    }
    con = _matched(register, records)
    got = {
        rid: (outcome, best, second)
        for rid, outcome, best, second in con.execute("""SELECT m.rec_id, c.outcome, b.personal_id, s.personal_id
            FROM rec_map m JOIN classified c USING (ident_id)
            LEFT JOIN reg b ON b.citizen_id = c.best_citizen_id
            LEFT JOIN reg s ON s.citizen_id = c.second_citizen_id""").fetchall()
    }
    hung, anh = FAMILIES[0][0], FAMILIES[4][0]
    assert got[501] == ("review", anh, hung), got[501]
    # With his old CMND and the home's phone: her first; his son and namesake Hùng (born 2005) is a candidate too.
    assert got[502][:2] == ("review", anh) and got[502][2] in (hung, FAMILIES[3][0]), got[502]
    assert got[503][:2] == ("review", hung), got[503]

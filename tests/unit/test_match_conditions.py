"""Each comparison level's SQL condition on one record–citizen pair, with its near misses, and each level's
weight written out from the priors below.

A pair is built column by column (the names through the real name table, so that keys, order and letter
signatures are those the matcher computes): the record `r`, the citizen `c` and what the record's numbers
point at in the register `l`. A case changes only what it is about; everything else agrees. The expected
weights come from the numbers in PRIORS and CAPS: a change of the spec's parameters breaks them there,
by name.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from typing import Any

import duckdb
import pytest

from vaxlink.domain.personal_ids import PersonalId, parse_personal_id
from vaxlink.matching.normalise import name_table
from vaxlink.matching.pipeline import COMPARISONS, LEVEL_COLUMNS, lookup_step, score_step
from vaxlink.matching.spec import MatchSpec

SPEC = MatchSpec()

# --- the pair ------------------------------------------------------------------------------------------

NAME = "Nguyễn Văn An"
ID = "077090001234"
RECORD: dict[str, Any] = {
    "id12": ID,
    "id_kind": "personal_id",
    "id9": None,
    "name": NAME,
    "dob": "1990-03-15",
    "sex": "M",
    "ward": "26560",
    "ward_units": "legacy",
    "ward_targets": ["26560"],
    "addr_house": "12",
    "addr_street": "le loi",
    "phone": "0901000001",
}
CITIZEN: dict[str, Any] = {
    "citizen_id": 1,
    "personal_id": ID,
    "household_id": "H1",
    "name": NAME,
    "dob": "1990-03-15",
    "sex": "M",
    "ward": "26560",
    "ward_units": "legacy",
    "ward_targets": ["26560"],
    "home_ward": "26560",
    "home_units": "legacy",
    "home_targets": ["26560"],
    "addr_house": "12",
    "addr_street": "le loi",
    "phone": "0901000001",
    # Nobody else of the household is born on the citizen's birth date (2: a twin is).
    "born_alike_n": 1,
    # The citizen's old CMND where the register holds one.
    "cmnd": None,
}
# The record's number is the citizen's own; no old CMND; its phone is used by the citizen's household only.
LOOKUP: dict[str, Any] = {
    "owner_id": 1,
    "owner_household": "H1",
    "alias_owner": None,
    "alias_household": None,
    "phone_household": "H1",
    # A common given name (a thousand citizens of a register of ten million carry it), and nobody else of the
    # citizen's household carries the record's given name (`h_household`: the household if someone does).
    "given_n": 1000,
    "h_household": None,
    # When someone of the household does: how many carry it, the first and last of their birth dates (as `dob`),
    # and whether one is known only to the year.
    "h_carriers": None,
    "h_dob_first": None,
    "h_dob_last": None,
    "h_undated": None,
}
TOTAL = 10_000_000

NAME_COLUMNS = (
    "full_name",
    "given_name",
    "name_key",
    "family_key",
    "middle_key",
    "given_key",
    "sorted_key",
    "name_sig",
    "name_letters",
    "has_marks",
)
DOB_COLUMNS = ("dob", "dob_precision", "dob_year", "dob_month", "dob_day", "dob_days")
TYPES = {
    "citizen_id": "BIGINT",
    "owner_id": "BIGINT",
    "alias_owner": "BIGINT",
    "has_marks": "BOOLEAN",
    "dob_year": "INTEGER",
    "id_year": "INTEGER",
    "dob_month": "INTEGER",
    "dob_day": "INTEGER",
    "dob_days": "INTEGER",
    "given_n": "BIGINT",
    "born_alike_n": "BIGINT",
    "name_letters": "BIGINT",
    "ward_targets": "VARCHAR[]",
    "h_carriers": "INTEGER",
    "h_undated": "BOOLEAN",
    "home_targets": "VARCHAR[]",
}


def _dob(text: str | None) -> dict[str, Any]:
    """'1990-03-15', '1990-03' or '1990' as the prepared columns: 'YYYYMMDD' and days for a full date only."""
    if text is None:
        return dict.fromkeys(DOB_COLUMNS)
    parts = [int(p) for p in text.split("-")]
    y, m, d = [*parts, None, None][:3]
    full = d is not None
    return {
        "dob": f"{y:04d}{m:02d}{d:02d}" if full else None,
        "dob_precision": ("year", "month", "day")[len(parts) - 1],
        "dob_year": y,
        "dob_month": m,
        "dob_day": d,
        "dob_days": (date(y, m, d) - date(1970, 1, 1)).days if full else None,
    }


# --- the cases: (comparison, expected level, record changes, citizen changes, lookup changes, why) -------

HOUSEHOLD_MEMBER = {"owner_id": 2, "owner_household": "H1"}
OTHER_HOUSEHOLD = {"owner_id": 3, "owner_household": "H9"}
NOBODY = {"owner_id": None, "owner_household": None}


def _typos() -> list[tuple]:
    """One wrong digit at every position, and two neighbours swapped at every place (the number's digits
    differ from their neighbours everywhere: 0 7 7 0 9 0 0 0 1 2 3 4 has equal neighbours at 2-3 and 6-8)."""
    digits = "071093561284"
    out: list[tuple] = []
    for i in range(12):
        typo = digits[:i] + str((int(digits[i]) + 1) % 10) + digits[i + 1 :]
        out.append(("id", "ID_TYPO", {"id12": typo}, {"personal_id": digits}, NOBODY, f"digit {i + 1}"))
    for i in range(11):
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        out.append(
            ("id", "ID_TRANSPOSED", {"id12": swapped}, {"personal_id": digits}, NOBODY, f"swap {i + 1}")
        )
    return out


CASES: list[tuple] = [
    # number
    ("id", "ID_EXACT", {}, {}, {}, "the citizen's own"),
    ("id", "ID_LOST_ZERO", {"id_kind": "lost_zero"}, {}, {}, "padded back"),
    ("id", "ID_TYPO", {"id_kind": "lost_zero", "id12": "077090001235"}, {}, NOBODY, "padded, one digit off"),
    (
        "id",
        "ID_OLD_CMND",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {},
        {**NOBODY, "alias_owner": 1},
        "",
    ),
    (
        "id",
        "ID_OF_OTHER_PERSON",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {},
        {**NOBODY, "alias_owner": 2},
        "someone else's CMND",
    ),
    (
        "id",
        "ID_OF_HOUSEHOLD_MEMBER",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {},
        {**NOBODY, "alias_owner": 2, "alias_household": "H1"},
        "a relative's CMND",
    ),
    (
        "id",
        "ID_OF_OTHER_PERSON",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {"household_id": None},
        {**NOBODY, "alias_owner": 2, "alias_household": None},
        "a CMND, no household on either side",
    ),
    (
        "id",
        "ID_OLD_CMND",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {},
        {**NOBODY, "alias_owner": 1, "alias_household": "H1"},
        "the citizen's own CMND, the citizen's household",
    ),
    (
        "id",
        "ID_CMND_UNKNOWN",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {},
        NOBODY,
        "a CMND the register never took",
    ),
    (
        "id",
        "ID_CMND_OTHER",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {"cmnd": "273456123"},
        NOBODY,
        "a CMND the register never took, three digits from the citizen's own",
    ),
    (
        "id",
        "ID_CMND_UNKNOWN",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {"cmnd": "273456709"},
        NOBODY,
        "the citizen's own CMND with a slip of one digit",
    ),
    (
        "id",
        "ID_CMND_UNKNOWN",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {"cmnd": "273456879"},
        NOBODY,
        "the citizen's own CMND with two digits swapped",
    ),
    (
        "id",
        "ID_OLD_CMND",
        {"id12": None, "id_kind": "cmnd", "id9": "273456789"},
        {"cmnd": "273456789"},
        {**NOBODY, "alias_owner": 1, "alias_household": "H1"},
        "the citizen's own CMND, which the register holds",
    ),
    (
        "id",
        "ID_MISSING",
        {"id12": None, "id_kind": "empty", "id9": None},
        {"cmnd": "273456123"},
        NOBODY,
        "no number on the record: the citizen's CMND says nothing",
    ),
    ("id", "ID_OF_HOUSEHOLD_MEMBER", {"id12": "077190004321"}, {}, HOUSEHOLD_MEMBER, "a relative's"),
    ("id", "ID_OF_OTHER_PERSON", {"id12": "077190004321"}, {}, OTHER_HOUSEHOLD, "another household's member"),
    (
        "id",
        "ID_OF_OTHER_PERSON",
        {"id12": "077190004321"},
        {"household_id": None},
        {"owner_id": 3, "owner_household": None},
        "no household on either side",
    ),
    ("id", "ID_UNKNOWN_SAME_PREFIX", {"id12": "077090001335"}, {}, NOBODY, "two digits off: not a typo"),
    ("id", "ID_OF_OTHER_PERSON", {"id12": "077090001335"}, {}, OTHER_HOUSEHOLD, "two digits off, held"),
    ("id", "ID_DIFFERENT", {"id12": "077091001335"}, {}, NOBODY, "the sixth digit differs too"),
    (
        "id",
        "ID_OTHER_NUMBER",
        {"id12": "177090001335"},
        {},
        NOBODY,
        "the first digit too: reads as somebody's",
    ),
    ("id", "ID_DIFFERENT", {"id12": "177190001335"}, {}, NOBODY, "the first digit too, another sex"),
    # Somebody's real number: the record's own year and sex, another place of birth, held by nobody here.
    ("id", "ID_OTHER_NUMBER", {"id12": "089090552653"}, {}, NOBODY, "an outsider's own number"),
    ("id", "ID_DIFFERENT", {"id12": "089190552653"}, {}, NOBODY, "the number tells another sex"),
    ("id", "ID_DIFFERENT", {"id12": "089091552653"}, {}, NOBODY, "the number tells another year"),
    ("id", "ID_OF_OTHER_PERSON", {"id12": "089090552653"}, {}, OTHER_HOUSEHOLD, "held by somebody else"),
    (
        "id",
        "ID_UNKNOWN_SAME_PREFIX",
        {"id12": "077090001243"},
        {"personal_id": "077090001432"},
        NOBODY,
        "far swap",
    ),
    (
        "id",
        "ID_UNKNOWN_SAME_PREFIX",
        {"id12": "077090091234"},
        {"personal_id": "077090900234"},
        NOBODY,
        "two swaps",
    ),
    ("id", "ID_MISSING", {"id12": None, "id_kind": "empty"}, {}, NOBODY, ""),
    ("id", "ID_OTHER_DOCUMENT", {"id12": None, "id_kind": "other"}, {}, NOBODY, "a passport"),
    *_typos(),
    # name
    ("name", "NAME_EXACT", {}, {}, {}, ""),
    ("name", "NAME_DIACRITICS", {"name": "NGUYEN VAN AN"}, {}, {}, "the record without marks"),
    ("name", "NAME_DIACRITICS", {}, {"name": "Nguyen Van An"}, {}, "the register without marks"),
    ("name", "NAME_MARKS_DIFFER", {"name": "Nguyễn Văn Ấn"}, {}, {}, "other marks on both sides"),
    (
        "name",
        "NAME_UNRECOGNISED",
        {"name": "Trần Hữu Lan"},
        {"name": "Nguyen Van An"},
        {},
        "unmarked, another name",
    ),
    ("name", "NAME_ORDER", {"name": "An Nguyễn Văn"}, {}, {}, ""),
    ("name", "NAME_MIDDLE_DROPPED", {"name": "Nguyễn An"}, {}, {}, "the record's middle name dropped"),
    ("name", "NAME_MIDDLE_DROPPED", {}, {"name": "Nguyễn An"}, {}, "the register's middle name dropped"),
    ("name", "NAME_MIDDLE_DROPPED", {}, {"name": "Nguyễn Văn Minh An"}, {}, "one of two middle names"),
    ("name", "NAME_MIDDLE_DROPPED", {"name": "Nguyễn Văn Minh An"}, {}, {}, "one of two, the other way"),
    ("name", "NAME_MIDDLE_DROPPED", {}, {"name": "Nguyễn Minh Văn An"}, {}, "the second of two middle names"),
    ("name", "NAME_SIMILAR", {"name": "Nguyễn Hữu An"}, {}, {}, "another middle name"),
    ("name", "NAME_OTHER_SEX", {"name": "Nguyễn Thị An"}, {}, {}, "a woman's middle name on a man's record"),
    ("name", "NAME_UNRECOGNISED", {"name": "Trần An"}, {}, {}, "another family, no middle name"),
    ("name", "NAME_GIVEN_OTHER", {"name": "Nguyễn Bình"}, {}, {}, "no middle name, another given name"),
    (
        "name",
        "NAME_TYPO",
        {"name": "Nguyễn Văn Tragn"},
        {"name": "Nguyễn Văn Trang"},
        {},
        "two letters swapped",
    ),
    (
        "name",
        "NAME_GIVEN_OTHER",
        {"name": "Nguyễn Văn Atrgn"},
        {"name": "Nguyễn Văn Trang"},
        {},
        "three edits",
    ),
    ("name", "NAME_TYPO", {"name": "Nguyễn Văn Aan"}, {}, {}, "one letter"),
    ("name", "NAME_GIVEN_DIFFERS", {"name": "Nguyễn Vn Ann"}, {}, {}, "two letters in a short name"),
    (
        "name",
        "NAME_TYPO",
        {"name": "Nguyễn Vn Anhh"},
        {"name": "Nguyễn Văn Anh"},
        {},
        "two in fourteen letters",
    ),
    ("name", "NAME_TYPO", {"name": "Ngyn Văn Minh"}, {"name": "Nguyễn Văn Minh"}, {}, "two letters fewer"),
    (
        "name",
        "NAME_GIVEN_OTHER",
        {"name": "Nguyễn Văn Trinh"},
        {"name": "Nguyễn Văn Trang"},
        {},
        "two of the given",
    ),
    (
        "name",
        "NAME_UNRECOGNISED",
        {"name": "Nguyin Ven Mimh"},
        {"name": "Nguyễn Văn Minh"},
        {},
        "three in fifteen",
    ),
    ("name", "NAME_GIVEN_OTHER", {"name": "Nguyễn Văn Bình"}, {}, {}, ""),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Bình"},
        {},
        {"h_household": "H1"},
        "his brother Bình",
    ),
    # The name of another member of his household, born on another day (a brother, his son, a stepfather of
    # another family name): a relative's name in his place. Born on his day (a twin), or on a day not known, it
    # stays another given name.
    (
        "name",
        "NAME_OF_HOUSEHOLD_MEMBER",
        {"name": "Nguyễn Văn Bình"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 1,
            "h_dob_first": "19871102",
            "h_dob_last": "19871102",
            "h_undated": False,
        },
        "his brother Bình",
    ),
    (
        "name",
        "NAME_OF_HOUSEHOLD_MEMBER",
        {"name": "Trần Văn An"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 1,
            "h_dob_first": "19620120",
            "h_dob_last": "19620120",
            "h_undated": False,
        },
        "his stepfather, whose given name is his own",
    ),
    (
        "name",
        "NAME_OF_HOUSEHOLD_MEMBER",
        {"name": "Trần Văn Hoà"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 1,
            "h_dob_first": "19620120",
            "h_dob_last": "19620120",
            "h_undated": False,
        },
        "his stepfather",
    ),
    (
        "name",
        "NAME_OF_HOUSEHOLD_MEMBER",
        {"name": "Nguyễn Văn Bình"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 2,
            "h_dob_first": "19850401",
            "h_dob_last": "20150909",
            "h_undated": False,
        },
        "two Bình, his brother and his son",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Bình"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 2,
            "h_dob_first": "19871102",
            "h_dob_last": "19900315",
            "h_undated": False,
        },
        "his twin Bình",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Bình"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 2,
            "h_dob_first": "19900315",
            "h_dob_last": "19950101",
            "h_undated": False,
        },
        "his twin Bình, a younger Bình beside",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Bình"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 3,
            "h_dob_first": "19850401",
            "h_dob_last": "20150909",
            "h_undated": False,
        },
        "three Bình in one house, not told apart",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Bình"},
        {},
        {
            "h_household": "H1",
            "h_carriers": 2,
            "h_dob_first": "19871102",
            "h_dob_last": "19871102",
            "h_undated": True,
        },
        "a Bình whose day of birth is not known",
    ),
    # What the family calls him where the given name belongs.
    ("name", "NAME_GIVEN_NICKNAME", {"name": "Nguyễn Văn Út"}, {}, {}, "the youngest"),
    ("name", "NAME_GIVEN_NICKNAME", {"name": "Nguyễn Văn Tám"}, {}, {}, "the eighth"),
    ("name", "NAME_GIVEN_NICKNAME", {"name": "Nguyễn Tèo"}, {}, {}, "a pet name, no middle name"),
    ("name", "NAME_GIVEN_OTHER", {"name": "Nguyễn Văn Tâm"}, {}, {}, "Tâm is a given name, Tám a nickname"),
    ("name", "NAME_GIVEN_DIFFERS", {"name": "Nguyễn Văn Út"}, {}, {"h_household": "H1"}, "his brother Út"),
    ("name", "NAME_GIVEN_DIFFERS", {"name": "Nguyễn Hữu Út"}, {}, {}, "another middle name"),
    # A slip in the given name: a word nobody is called, two edits off; or a real name one edit off (y as i).
    (
        "name",
        "NAME_GIVEN_TYPO",
        {"name": "Nguyễn Văn Thy"},
        {"name": "Nguyễn Văn Thủy"},
        {},
        "a real name, one edit",
    ),
    (
        "name",
        "NAME_GIVEN_TYPO",
        {"name": "Nguyễn Văn Qaz"},
        {"name": "Nguyễn Văn Quý"},
        {"given_n": 0},
        "nobody's name, two edits",
    ),
    (
        "name",
        "NAME_GIVEN_TYPO",
        {"name": "Nguyễn Văn Qaz"},
        {"name": "Nguyễn Văn Quý"},
        {"given_n": 10},
        "one in a million",
    ),
    (
        "name",
        "NAME_GIVEN_OTHER",
        {"name": "Nguyễn Văn Qaz"},
        {"name": "Nguyễn Văn Quý"},
        {"given_n": 11},
        "more than that: a name",
    ),
    (
        "name",
        "NAME_GIVEN_OTHER",
        {"name": "Nguyễn Văn Hh"},
        {"name": "Nguyễn Văn An"},
        {"given_n": 0},
        "two edits of a two-letter name",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Thy"},
        {"name": "Nguyễn Văn Thủy"},
        {"h_household": "H1"},
        "a name of the household",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Minh Thy"},
        {"name": "Nguyễn Văn Thủy"},
        {},
        "another middle name",
    ),
    (
        "name",
        "NAME_GIVEN_TYPO",
        {"name": "Nguyễn Thy"},
        {"name": "Nguyễn Văn Thủy"},
        {},
        "the middle name left out too",
    ),
    (
        "name",
        "NAME_UNRECOGNISED",
        {"name": "Trần Văn Thy"},
        {"name": "Nguyễn Văn Thủy"},
        {},
        "another family name",
    ),
    (
        "name",
        "NAME_GIVEN_DIFFERS",
        {"name": "Nguyễn Văn Ánh"},
        {},
        {"h_household": "H1"},
        "a twin's name, one edit",
    ),
    ("name", "NAME_TYPO", {"name": "Nguyễn Văn Ánh"}, {}, {}, "one edit, no such name in the household"),
    (
        "name",
        "NAME_MIDDLE_DROPPED",
        {"name": "An Nguyễn"},
        {},
        {},
        "the given name first, the middle name left out",
    ),
    (
        "name",
        "NAME_UNRECOGNISED",
        {"name": "An Trần"},
        {},
        {},
        "the given name first, another family name",
    ),
    (
        "name",
        "NAME_UNRECOGNISED",
        {"name": "An Nguyễn Minh"},
        {},
        {},
        "given name first, another middle name",
    ),
    ("name", "NAME_UNRECOGNISED", {"name": "Trần Văn Bình"}, {}, {}, ""),
    ("name", "NAME_SIMILAR", {"name": "Ngyen Văn Ann"}, {}, {}, "two letters, the given name one of them"),
    ("name", "NAME_UNRECOGNISED", {"name": "Ngyen Văn Annh"}, {}, {}, "three letters"),
    ("name", "NAME_SIMILAR", {"name": "Ngyen Hữu An"}, {}, {}, "family one letter off, same given name"),
    ("name", "NAME_UNRECOGNISED", {"name": "Ngyn Hữu An"}, {}, {}, "family two letters off"),
    ("name", "NAME_SIMILAR", {"name": "Ngyn Văn An"}, {}, {}, "two letters dropped: two shorter, two edits"),
    ("name", "NAME_UNRECOGNISED", {"name": "Trần Hữu An"}, {}, {}, "another family, same given name"),
    ("name", "NAME_DIFFERENT", {"name": "Trần Hữu An"}, {"born_alike_n": 2}, {}, "the citizen has a twin"),
    ("name", "NAME_DIFFERENT", {"name": "Trần Văn Bình"}, {"born_alike_n": 3}, {}, "triplets"),
    # birth date
    ("dob", "DOB_EXACT", {}, {}, {}, ""),
    ("dob", "DOB_MISSING", {"dob": None}, {}, {}, "no birth date on the record"),
    ("dob", "DOB_YEAR_ONLY", {"dob": "1990"}, {}, {}, "the record knows the year"),
    ("dob", "DOB_YEAR_ONLY", {}, {"dob": "1990"}, {}, "the register knows the year"),
    ("dob", "DOB_YEAR_ONLY", {"dob": "1990-03"}, {}, {}, "the record knows the month"),
    ("dob", "DOB_YEAR_ONLY", {}, {"dob": "1990-03"}, {}, "the register knows the month"),
    ("dob", "DOB_YEAR_ONLY", {"dob": "1990-01-01"}, {}, {}, "the record's 1 January says the year"),
    ("dob", "DOB_YEAR_ONLY", {}, {"dob": "1990-01-01"}, {}, "the register's 1 January says the year"),
    ("dob", "DOB_EXACT", {"dob": "1990-01-01"}, {"dob": "1990-01-01"}, {}, "1 January on both sides"),
    ("dob", "DOB_DIFFERENT", {"dob": "1991-01-01"}, {}, {}, "1 January of another year"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-01-02"}, {}, {}, "2 January is a day"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-04"}, {}, {}, "another month"),
    ("dob", "DOB_SAME_YEAR", {}, {"dob": "1990-04"}, {}, "another month, the register's"),
    ("dob", "DOB_DIFFERENT", {"dob": "1991"}, {}, {}, "another year"),
    ("dob", "DOB_DAY_MONTH_SWAPPED", {"dob": "1990-07-02"}, {"dob": "1990-02-07"}, {}, ""),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-11-02"}, {"dob": "1990-02-07"}, {}, "the day only"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-07-12"}, {"dob": "1990-02-07"}, {}, "the month only"),
    ("dob", "DOB_DIFFERENT", {"dob": "1991-07-02"}, {"dob": "1990-02-07"}, {}, "swapped, another year"),
    ("dob", "DOB_TYPO", {"dob": "1991-03-15"}, {}, {}, "the year"),
    ("dob", "DOB_TYPO", {"dob": "1990-08-15"}, {}, {}, "the month"),
    ("dob", "DOB_TYPO", {"dob": "1990-03-25"}, {}, {}, "the day, ten days off"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-03-28"}, {}, {}, "two digits of the day"),
    ("dob", "DOB_NEAR", {"dob": "1990-04-01"}, {"dob": "1990-03-30"}, {}, "two days, across a month"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-04-02"}, {"dob": "1990-03-30"}, {}, "three days"),
    ("dob", "DOB_NEAR", {"dob": "1986-01-01"}, {"dob": "1985-12-31"}, {}, "across a year"),
    ("dob", "DOB_YEAR_NEAR", {"dob": "1989-03-15"}, {}, {}, "a year off"),
    ("dob", "DOB_YEAR_NEAR", {"dob": "2000-03-15"}, {}, {}, "ten years off, three digits"),
    ("dob", "DOB_DIFFERENT", {"dob": "1988-03-15"}, {}, {}, "two years off"),
    ("dob", "DOB_DIFFERENT", {"dob": "2001-03-15"}, {}, {}, "eleven years off"),
    ("dob", "DOB_DIFFERENT", {"dob": "1981-03-15"}, {}, {}, "nine years off, two digits"),
    ("dob", "DOB_DIFFERENT", {"dob": "1985-03-15"}, {}, {}, "same day and month, five years"),
    ("dob", "DOB_OTHER_GENERATION", {"dob": "2008-07-21"}, {}, {}, "a child's date against a parent's"),
    ("dob", "DOB_OTHER_GENERATION", {"dob": "1978-07-21"}, {}, {}, "twelve years, another day"),
    ("dob", "DOB_DIFFERENT", {"dob": "1979-07-21"}, {}, {}, "eleven years, another day"),
    ("dob", "DOB_DIFFERENT", {"dob": "2008-03-15"}, {}, {}, "a generation apart, the same day and month"),
    ("dob", "DOB_OTHER_GENERATION", {"dob": "2008"}, {}, {}, "a year only, a generation apart"),
    ("dob", "DOB_OTHER_GENERATION", {}, {"dob": "1960"}, {}, "the register's year only, a generation apart"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-06-20"}, {}, {}, ""),
    ("dob", "DOB_LUNAR", {"dob": "1990-02-24"}, {}, {}, "19 days before: a lunar date"),
    ("dob", "DOB_LUNAR", {"dob": "1990-01-23"}, {}, {}, "51 days before"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-02-25"}, {}, {}, "18 days before"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-01-22"}, {}, {}, "52 days before"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-04-10"}, {}, {}, "26 days after: a lunar date is never later"),
    ("dob", "DOB_LUNAR", {"dob": "1989-12-10"}, {"dob": "1990-01-20"}, {}, "in the lunar year before"),
    ("dob", "DOB_SAME_YEAR", {"dob": "1990-02"}, {}, {}, "the month before, no day: no days to count"),
    # sex
    ("sex", "SEX_SAME", {}, {}, {}, ""),
    ("sex", "SEX_DIFFERS", {"sex": "F"}, {}, {}, ""),
    ("sex", "SEX_MISSING", {"sex": None}, {}, {}, ""),
    # ward
    ("ward", "WARD_SAME", {}, {"home_ward": "26554"}, {}, "where the citizen lives"),
    ("ward", "WARD_SAME", {}, {"ward": "26554"}, {}, "the citizen's permanent ward"),
    ("ward", "WARD_DIFFERS", {"ward": "26557"}, {}, {}, ""),
    ("ward", "WARD_MISSING", {"ward": None}, {}, {}, ""),
    # Phước Nguyên (26554, legacy) went into Bà Rịa (26560, 2025); Long Sơn (26545) did not.
    (
        "ward",
        "WARD_SAME",
        {"ward": "26554"},
        {"ward_units": "2025", "ward_targets": None, "home_ward": "26545", "home_targets": ["26545"]},
        {},
        "an old ward within the citizen's 2025 one",
    ),
    (
        "ward",
        "WARD_SAME",
        {"ward_units": "2025", "ward_targets": None},
        {"ward": "26554", "home_ward": "26545", "home_targets": ["26545"]},
        {},
        "a 2025 ward holding the citizen's old one",
    ),
    (
        "ward",
        "WARD_SAME",
        {"ward": "26554"},
        {"ward": "26545", "ward_targets": ["26545"], "home_units": "2025", "home_targets": None},
        {},
        "an old ward within the citizen's permanent 2025 one",
    ),
    (
        "ward",
        "WARD_DIFFERS",
        {"ward": "26545", "ward_targets": ["26545"]},
        {"ward_units": "2025", "ward_targets": None, "home_units": "2025", "home_targets": None},
        {},
        "an old ward outside the citizen's 2025 one",
    ),
    (
        "ward",
        "WARD_DIFFERS",
        {"ward_units": "2025", "ward_targets": None},
        {"ward_targets": ["26545"], "home_targets": ["26545"]},
        {},
        "the same code in the other structure, not the same ward",
    ),
    (
        "ward",
        "WARD_SAME",
        {"ward_units": None, "ward_targets": None},
        {"ward_units": "2025", "ward_targets": None},
        {},
        "the record's structure not known: the codes as written",
    ),
    # address
    ("address", "ADDRESS_SAME", {}, {}, {}, ""),
    ("address", "ADDRESS_SAME_STREET", {"addr_house": "15"}, {}, {}, "another house"),
    (
        "address",
        "ADDRESS_SAME_STREET",
        {"addr_house": ""},
        {"addr_house": ""},
        {},
        "a street without numbers",
    ),
    ("address", "ADDRESS_DIFFERS", {"addr_street": "tran hung dao"}, {}, {}, "the same number elsewhere"),
    ("address", "ADDRESS_MISSING", {"addr_street": "", "addr_house": ""}, {}, {}, "the record has none"),
    ("address", "ADDRESS_MISSING", {}, {"addr_street": "", "addr_house": ""}, {}, "the register has none"),
    # phone
    ("phone", "PHONE_SAME", {}, {}, {}, ""),
    ("phone", "PHONE_OF_HOUSEHOLD", {"phone": "0901000002"}, {}, {}, "a relative's"),
    ("phone", "PHONE_DIFFERS", {"phone": "0901000002"}, {}, {"phone_household": "H9"}, "another household's"),
    ("phone", "PHONE_DIFFERS", {"phone": "0901000002"}, {}, {"phone_household": None}, "nobody's or shared"),
    ("phone", "PHONE_MISSING", {"phone": None}, {}, {}, ""),
]


def _ids(case: tuple) -> str:
    return f"{case[1]}-{case[5] or 'plain'}"


@pytest.fixture(scope="module")
def levels() -> dict[int, dict[str, str]]:
    """Every case's level on every comparison, by case index."""
    con = duckdb.connect()
    names = sorted({NAME} | {ch.get("name", NAME) for case in CASES for ch in (case[2], case[3])})
    con.execute("CREATE TABLE names_in AS SELECT unnest(?::VARCHAR[]) AS full_name", [names])
    name_table(con, "SELECT full_name FROM names_in", "name_parts")
    parts = {
        row[0]: dict(zip(NAME_COLUMNS, row[1:], strict=True))
        for row in con.execute(
            f"SELECT value, canonical, given, {', '.join(NAME_COLUMNS[2:])} FROM name_parts"
        ).fetchall()
    }

    def row(base: dict[str, Any], change: dict[str, Any], number: str) -> dict[str, Any]:
        values = {**base, **change}
        out = {k: v for k, v in values.items() if k not in ("name", "dob")}
        # The number's first and last six digits, as the prepared tables carry them.
        digits = values[number]
        ends = {"id_head": digits and digits[:6], "id_tail": digits and digits[6:12]}
        # The year and sex the record's number tells (the domain's reading of it).
        told = parse_personal_id(digits) if digits and number == "id12" else None
        facts = {
            "id_year": told.birth_year if isinstance(told, PersonalId) else None,
            "id_sex": told.sex.value if isinstance(told, PersonalId) else None,
        }
        return {**out, **ends, **facts, **parts[values["name"]], **_dob(values["dob"])}

    for table, base, at in (("r", RECORD, 2), ("c", CITIZEN, 3), ("l", LOOKUP, 4)):
        number = "id12" if table == "r" else "personal_id"
        rows = [row(base, case[at], number) if table != "l" else {**base, **case[at]} for case in CASES]
        cols = list(rows[0])
        defs = ", ".join(f"{k} {TYPES.get(k, 'VARCHAR')}" for k in cols)
        con.execute(f"CREATE TABLE {table} (case_id INTEGER, {defs})")
        con.executemany(
            f"INSERT INTO {table} VALUES (?, {', '.join('?' * len(cols))})",
            [[i, *(r[k] for k in cols)] for i, r in enumerate(rows)],
        )
    cases = ", ".join(f"{c.case_sql()} AS {c.name}" for c in SPEC.comparisons)
    got = con.execute(
        f"""SELECT r.case_id, {cases} FROM r JOIN c USING (case_id) JOIN l USING (case_id)
        LEFT JOIN (SELECT case_id, h_household AS household_id, h_carriers AS carriers, h_dob_first AS dob_first,
                          h_dob_last AS dob_last, h_undated AS undated FROM l WHERE h_household IS NOT NULL) h
          USING (case_id)
        CROSS JOIN (SELECT {TOTAL} AS total) z ORDER BY 1"""
    ).fetchall()
    return {r[0]: dict(zip(COMPARISONS, r[1:], strict=True)) for r in got}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_ids(c) for c in CASES])
def test_level(index: int, levels: dict[int, dict[str, str]]) -> None:
    comparison, expected, *_ = CASES[index]
    assert levels[index][comparison] == expected


def test_every_level_has_a_case() -> None:
    named = {lv.name for c in SPEC.comparisons for lv in c.levels}
    assert named == {c[1] for c in CASES}


def test_a_case_changes_only_its_own_field(levels: dict[int, dict[str, str]]) -> None:
    # Everything a case does not change agrees: the exact levels (the lookup's cases excepted for the number).
    exact = {
        "id": "ID_EXACT",
        "name": "NAME_EXACT",
        "dob": "DOB_EXACT",
        "sex": "SEX_SAME",
        "ward": "WARD_SAME",
    }
    exact |= {"address": "ADDRESS_SAME", "phone": "PHONE_SAME"}
    for i, case in enumerate(CASES):
        others = {k: v for k, v in levels[i].items() if k != case[0]}
        assert others == {k: v for k, v in exact.items() if k != case[0]}, case


# --- weights ---------------------------------------------------------------------------------------------

# The priors as the spec states them: level -> (m, u, tf count column or "" , typical share).
PRIORS: dict[str, tuple[float, float, str, float]] = {
    "ID_LOST_ZERO": (0.02, 1e-4, "unique", 1e-8),
    "ID_EXACT": (0.85, 0.005, "unique", 1e-8),
    "ID_OLD_CMND": (0.04, 2e-4, "unique", 1e-8),
    "ID_OF_HOUSEHOLD_MEMBER": (0.004, 4.0, "unique", 0.0),
    "ID_TYPO": (0.008, 1e-4, "", 0.0),
    "ID_TRANSPOSED": (0.004, 5e-5, "", 0.0),
    "ID_OF_OTHER_PERSON": (0.002, 0.9, "", 0.0),
    "ID_UNKNOWN_SAME_PREFIX": (0.004, 0.01, "", 0.0),
    "ID_CMND_OTHER": (0.002, 0.03, "", 0.0),
    "ID_CMND_UNKNOWN": (0.008, 0.01, "", 0.0),
    "ID_OTHER_NUMBER": (0.001, 0.9, "", 0.0),
    "ID_DIFFERENT": (0.003, 0.95, "", 0.0),
    "NAME_EXACT": (0.90, 0.95, "tf_exact_n", 1e-4),
    "NAME_DIACRITICS": (0.06, 0.085, "tf_key_n", 1e-4),
    "NAME_MARKS_DIFFER": (0.005, 6e-4, "", 0.0),
    "NAME_ORDER": (0.004, 0.016, "tf_key_n", 1e-4),
    "NAME_MIDDLE_DROPPED": (0.008, 2.5e-4, "", 0.0),
    "NAME_TYPO": (0.01, 3e-4, "", 0.0),
    "NAME_GIVEN_TYPO": (0.006, 6e-4, "", 0.0),
    "NAME_GIVEN_NICKNAME": (0.002, 0.002, "", 0.0),
    "NAME_OTHER_SEX": (0.001, 0.001, "", 0.0),
    "NAME_OF_HOUSEHOLD_MEMBER": (0.001, 1.0, "", 0.0),
    "NAME_GIVEN_OTHER": (0.001, 1.0, "", 0.0),
    "NAME_GIVEN_DIFFERS": (0.001, 1.0, "", 0.0),
    "NAME_SIMILAR": (0.004, 0.004, "", 0.0),
    "NAME_UNRECOGNISED": (6e-5, 1.0, "", 0.0),
    "NAME_DIFFERENT": (6e-5, 1.0, "", 0.0),
    "DOB_EXACT": (0.95, 0.95, "tf_dob_n", 3.4e-5),
    "DOB_YEAR_ONLY": (0.01, 0.01, "tf_year_n", 0.0125),
    "DOB_DAY_MONTH_SWAPPED": (0.008, 3e-5, "", 0.0),
    "DOB_TYPO": (0.005, 1.6e-4, "", 0.0),
    "DOB_NEAR": (0.004, 1.4e-4, "", 0.0),
    "DOB_YEAR_NEAR": (0.004, 7e-5, "", 0.0),
    "DOB_LUNAR": (0.003, 1.5e-3, "", 0.0),
    "DOB_SAME_YEAR": (0.004, 0.0125, "", 0.0),
    "DOB_OTHER_GENERATION": (5e-5, 0.7, "", 0.0),
    "DOB_DIFFERENT": (2e-4, 0.28, "", 0.0),
    "SEX_SAME": (0.95, 0.5, "", 0.0),
    "SEX_DIFFERS": (0.05, 0.5, "", 0.0),
    "WARD_SAME": (0.8, 1.0, "tf_ward_n", 0.01),
    "WARD_DIFFERS": (0.2, 1.0, "", 0.0),
    "ADDRESS_SAME": (0.5, 1.0, "tf_addr_n", 5e-5),
    "ADDRESS_SAME_STREET": (0.2, 0.02, "", 0.0),
    "ADDRESS_DIFFERS": (0.2, 0.9, "", 0.0),
    "PHONE_SAME": (0.4, 1.0, "tf_phone_n", 3.3e-5),
    "PHONE_OF_HOUSEHOLD": (0.1, 2e-3, "", 0.0),
    "PHONE_DIFFERS": (0.2, 0.7, "", 0.0),
}
# Missing on one side: no evidence either way, whatever the shares (shown with the parameters) say.
MISSING = {
    "ID_MISSING": (0.035, 0.035),
    "ID_OTHER_DOCUMENT": (0.005, 0.005),
    "SEX_MISSING": (0.01, 0.01),
    "DOB_MISSING": (0.005, 0.005),
    "WARD_MISSING": (0.02, 0.02),
    "ADDRESS_MISSING": (0.1, 0.1),
    "PHONE_MISSING": (0.3, 0.3),
}
CAPS = {"id": 30.0, "name": 30.0, "dob": 30.0, "sex": 30.0, "ward": 14.0, "address": 12.0, "phone": 8.0}
PSEUDO_CITIZENS = 10_000.0
PRESENCE = 0.98
TF_COLUMNS = ("tf_addr_n", "tf_dob_n", "tf_exact_n", "tf_key_n", "tf_phone_n", "tf_ward_n", "tf_year_n")


def _expected(comparison: str, level: str, n: int, total: int) -> float:
    if level in MISSING:
        return 0.0
    m, u, tf, share = PRIORS[level]
    w = math.log2(m / u)
    if not tf:
        return w
    count = 1 if tf == "unique" else n
    return min(
        CAPS[comparison], -math.log2((count + PSEUDO_CITIZENS * share) / (total + PSEUDO_CITIZENS)) + w
    )


def test_the_spec_holds_the_priors_written_here() -> None:
    for c in SPEC.comparisons:
        assert c.tf_max_weight == CAPS[c.name], c.name
        for lv in c.levels:
            if lv.name in MISSING:
                assert lv.missing and lv.weight == 0.0, lv.name
                assert (lv.m, lv.u, lv.tf, lv.share) == (*MISSING[lv.name], "", 0.0), lv.name
            else:
                assert (lv.m, lv.u, lv.tf, lv.share) == PRIORS[lv.name], lv.name
                assert not lv.missing, lv.name
    assert SPEC.presence == PRESENCE and SPEC.tf_prior_citizens == PSEUDO_CITIZENS


# (count of citizens carrying the value, register size): a common value in a small register, a rare one in
# a large register, and one citizen in a trillion (every tf level at its cap).
REGIMES = [(40, 2_000), (3, 5_000_000), (1, 10**12)]


@pytest.mark.parametrize("n, total", REGIMES, ids=["common", "rare", "capped"])
def test_every_level_weighs_as_its_prior_says(n: int, total: int) -> None:
    con = duckdb.connect()
    level_names = {c: [lv.name for lv in SPEC.comparison(c).levels] for c in COMPARISONS}
    rows = max(len(v) for v in level_names.values())
    cols = ", ".join(f"{c} VARCHAR" for c in LEVEL_COLUMNS)
    tfs = ", ".join(f"{t} BIGINT" for t in TF_COLUMNS)
    con.execute(
        "CREATE TABLE compared (ident_id BIGINT, group_id BIGINT, citizen_id BIGINT, reg_has_marks BOOLEAN, "
        f"reg_dob_precision VARCHAR, {cols}, {tfs}, total BIGINT)"
    )
    for i in range(rows):
        picked = [level_names[c][min(i, len(level_names[c]) - 1)] for c in COMPARISONS]
        con.execute(
            f"INSERT INTO compared VALUES (?, ?, ?, true, 'day', {', '.join('?' * len(COMPARISONS))}, "
            f"{', '.join('?' * len(TF_COLUMNS))}, ?)",
            [i, i, i, *picked, *([n] * len(TF_COLUMNS)), total],
        )
    step = score_step(SPEC)
    con.execute(f"CREATE TABLE {step.name} AS {step.sql}")
    weights = ", ".join(f"w_{c}" for c in COMPARISONS)
    casts = ", ".join(f"CAST({w} AS DOUBLE)" for w in ("w_prior", *weights.split(", "), "weight"))
    got = con.execute(f"SELECT {', '.join(LEVEL_COLUMNS)}, {casts} FROM scored").fetchall()
    assert len(got) == rows
    k = len(COMPARISONS)
    for row in got:
        prior = math.log2(PRESENCE / total)
        assert row[k] == pytest.approx(prior, abs=1e-6)
        expected = [_expected(c, lv, n, total) for c, lv in zip(COMPARISONS, row[:k], strict=True)]
        assert list(row[k + 1 : 2 * k + 1]) == pytest.approx(expected, abs=1e-5), row[:k]
        assert row[-1] == pytest.approx(prior + sum(expected), abs=1e-5)


def test_the_caps_bind_in_the_capped_regime() -> None:
    # The last regime reaches a cap in every comparison with tf levels; the first reaches none.
    for c in SPEC.comparisons:
        tf_levels = [lv.name for lv in c.levels if lv.tf]
        if tf_levels:
            assert any(_expected(c.name, lv, 1, 10**12) == CAPS[c.name] for lv in tf_levels), c.name
            assert all(_expected(c.name, lv, 40, 2_000) < CAPS[c.name] for lv in tf_levels), c.name


def test_weights_are_rounded_to_a_millionth_of_a_bit() -> None:
    # Engines compute log2 with different libraries: the last places must not decide a threshold.
    con = duckdb.connect()
    cols = ", ".join(f"'{SPEC.comparison(c).levels[0].name}' AS {c}_level" for c in COMPARISONS)
    tfs = ", ".join(f"7 AS {t}" for t in TF_COLUMNS)
    con.execute(
        "CREATE TABLE compared AS SELECT 1 AS ident_id, 1 AS group_id, 1 AS citizen_id, true AS reg_has_marks, "
        f"'day' AS reg_dob_precision, {cols}, {tfs}, 3333 AS total"
    )
    step = score_step(SPEC)
    con.execute(f"CREATE TABLE {step.name} AS {step.sql}")
    names = ["w_prior", *(f"w_{c}" for c in COMPARISONS), "weight"]
    row = con.execute(f"SELECT {', '.join(f'CAST({n} AS DOUBLE)' for n in names)} FROM scored").fetchall()[0]
    for name, w in zip(names, row, strict=True):
        assert w * 1e6 == pytest.approx(round(w * 1e6), abs=1e-6), name
    assert row[0] == round(math.log2(PRESENCE / 3333), 6)


# --- what a record's numbers point at --------------------------------------------------------------------------


def test_the_lookup_finds_the_holder_the_alias_and_the_household_of_a_phone() -> None:
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE reg AS SELECT * FROM (VALUES
            (1, '077090000001', 'H1', '0901'), (2, '077090000002', 'H1', '0901'),
            (3, '077090000003', 'H2', '0902'), (4, '077090000004', 'H3', '0902'),
            (5, '077090000005', 'H6', '0903'), (6, '077090000005', 'H5', '0903'),
            (7, '077090000007', 'H7', ''), (8, '077090000008', 'H8', '0904'),
            (9, '077090000009', NULL, '0905'), (10, '077090000010', 'H9', '0905'))
          t(citizen_id, id12, household_id, phone)"""
    )
    con.execute(
        "CREATE TABLE reg_alias AS SELECT * FROM (VALUES (3, '273000003'), (2, '273000003')) t(citizen_id, id9)"
    )
    con.execute(
        """CREATE TABLE rec_ident AS SELECT * FROM (VALUES
            (1, '077090000002', NULL, '0901', 'an'),
            (2, '077090000005', NULL, '0902', 'binh'),
            (3, NULL, '273000003', '0905', 'qaz'),
            (4, '079000000000', '273999999', NULL, 'an'),
            (5, NULL, NULL, '0904', NULL),
            (6, NULL, NULL, '0999', 'an'),
            (7, NULL, NULL, '0903', 'binh'))
          t(ident_id, id12, id9, phone, given_key)"""
    )
    # How many citizens carry each given name: nobody is called Qaz.
    con.execute(
        "CREATE TABLE reg_given_names AS SELECT * FROM (VALUES ('an', 7), ('binh', 3)) t(given_key, given_n)"
    )
    step = lookup_step()
    got = con.execute(f"SELECT * FROM ({step.sql}) ORDER BY ident_id").fetchall()
    assert [tuple(r) for r in got] == [
        # The number's holder and household; a phone two members of one household use is that household's.
        (1, 2, "H1", None, None, "H1", 7),
        # A number registered twice: the lower citizen and the lower household; a phone of two households
        # is nobody's.
        (2, 5, "H5", None, None, None, 3),
        # An old CMND carried over twice: the lower citizen, and that citizen's household; a phone's household
        # ignores citizens without one.
        (3, None, None, 2, "H1", "H9", 0),
        # Numbers nobody holds.
        (4, None, None, None, None, None, 7),
        (5, None, None, None, None, "H8", 0),
        (6, None, None, None, None, None, 7),
        (7, None, None, None, None, None, 3),
    ]


def test_a_phone_left_blank_in_the_register_is_nobody_s() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE reg AS SELECT 7 AS citizen_id, '0770' AS id12, 'H7' AS household_id, '' AS phone"
    )
    con.execute("CREATE TABLE reg_alias (citizen_id INTEGER, id9 VARCHAR)")
    con.execute(
        "CREATE TABLE rec_ident AS SELECT 1 AS ident_id, NULL AS id12, NULL AS id9, '' AS phone, 'an' AS given_key"
    )
    con.execute("CREATE TABLE reg_given_names (given_key VARCHAR, given_n BIGINT)")
    assert con.execute(f"SELECT phone_household FROM ({lookup_step().sql})").fetchall() == [(None,)]


def test_a_step_is_a_frozen_name_and_statement() -> None:
    step = lookup_step()
    assert step.name == "rec_lookup"
    with pytest.raises(dataclasses.FrozenInstanceError):
        step.name = "other"  # type: ignore[misc]
    assert not hasattr(step, "__dict__")

"""The shipped specification's content: the blocking rules, every comparison's levels with their SQL condition
and prior m and u, and the agreements strong enough to override a veto (`spec.MatchSpec` takes them as its
defaults; each run estimates m and u again on its own data).
"""

from __future__ import annotations

from vaxlink.domain.names import NICKNAMES, fold_name
from vaxlink.matching.levels import BlockingRule, Comparison, Level
from vaxlink.matching.prepare import LUNAR_DAYS

# Each rule stays selective at national scale. A name alone or a birth year alone never blocks. The rules
# that forgive a part of the birth date, or a part of the name, would grow with the register (a common
# name shares a birth year and month with hundreds of people in a country of 100 M): they are scoped to
# the province of residence (2025 units: a record's ward and the citizen's current ward), so that their
# pairs per record are those of a province, whatever the country's size; and capped, so that a block of a
# very common name in a big province generates no pairs at all rather than hundreds of hopeless ones
# (such records are ambiguous by the other fields anyway, and go to review from the rules that remain).
# The rules on exact numbers, and on the whole name with the exact birth date, stay national: they find
# people vaccinated away from home.
PROVINCE_CAP = 60


_NICKNAMES = ", ".join(f"'{n}'" for n in sorted(NICKNAMES))
# The same written without marks (Ut, Sau, Bay): a name written so can be no other word.
_NICKNAME_KEYS = ", ".join(f"'{k}'" for k in sorted({fold_name(n) for n in NICKNAMES}))
# Birth years this far apart are two generations' (a parent and a child), not a slip of one date.
GENERATION_YEARS = 12


def _first_of_january(side: str) -> str:
    """A full birth date of 1 January: what a clerk writes when only the year is known (the day and month
    left at their first), as often as it is anyone's birthday among older people. It says the year only."""
    return f"({side}.dob_precision = 'day' AND {side}.dob_month = 1 AND {side}.dob_day = 1)"


# A record that carries no 12-digit number (an old CMND the register may not know, or none).
_NO_PERSONAL_ID = "r.id12 IS NULL"


DEFAULT_BLOCKING: tuple[BlockingRule, ...] = (
    BlockingRule("id", ("id12",)),
    BlockingRule("old_id", ("id9",)),
    BlockingRule("name_dob", ("name_key", "dob")),
    BlockingRule("name_swapped", ("name_key", "dob_year", "dob_month=dob_day", "dob_day=dob_month")),
    BlockingRule("sorted_name_dob", ("sorted_key", "dob")),
    # The name's letters in any order with the birth date: two letters swapped (Tragn, Lihn).
    BlockingRule("name_letters_dob", ("name_sig", "dob"), 50),
    BlockingRule("id_tail_given", ("id_tail", "given_key")),
    # The household of the citizen who holds the record's number or old CMND (`pipeline.HOLDER_COLUMNS`), with
    # the given name or the birth date: a relative's number written in the person's place (a parent's on a
    # child's record, a child's on a parent's), whatever slips the name and the birth date carry besides. Only
    # for a record whose given name, or birth date, is not the holder's own: the holder is found by the number.
    BlockingRule(
        "id_household_given",
        ("id_household=household_id", "given_key"),
        record_filter="r.given_key <> r.holder_given_key",
    ),
    BlockingRule(
        "id_household_dob",
        ("id_household=household_id", "dob"),
        record_filter="r.holder_dob IS NULL OR r.dob <> r.holder_dob",
    ),
    BlockingRule("phone_given", ("phone", "given_key"), 50),
    BlockingRule("phone_family", ("phone", "family_key"), 50),  # a typo in the given name
    # The given name written first ("Đào Trần Thị" for Trần Thị Đào), with or without the middle name and with
    # any slip in the birth date but its year: the phone and the year of birth.
    BlockingRule("phone_year", ("phone", "dob_year"), 50),
    # Scoped to the province:
    BlockingRule(
        "name_year_month", ("province", "name_key", "dob_year", "dob_month"), PROVINCE_CAP
    ),  # day typo
    BlockingRule(
        "name_year_day", ("province", "name_key", "dob_year", "dob_day"), PROVINCE_CAP
    ),  # month typo
    BlockingRule(
        "name_month_day", ("province", "name_key", "dob_month", "dob_day"), PROVINCE_CAP
    ),  # year typo
    # A birth date written in the lunar calendar: the whole name, and the month the real date falls in at
    # either end of the lunar lag (`prepare.LUNAR_DAYS`); for a record without a 12-digit number (one with a
    # number finds the citizen by it, or the number's household), as namesakes born a month apart are many.
    BlockingRule(
        "name_lunar_first",
        ("province", "name_key", "lunar_first=dob_ym"),
        PROVINCE_CAP,
        record_filter=_NO_PERSONAL_ID,
    ),
    BlockingRule(
        "name_lunar_last",
        ("province", "name_key", "lunar_last=dob_ym"),
        PROVINCE_CAP,
        record_filter=_NO_PERSONAL_ID,
    ),
    BlockingRule("given_dob", ("province", "given_key", "dob"), PROVINCE_CAP),
    BlockingRule("family_middle_dob", ("province", "family_key", "middle_key", "dob"), PROVINCE_CAP),
    BlockingRule("family_given_dob", ("province", "family_key", "given_key", "dob"), PROVINCE_CAP),  # middle
    # A birth date known only to the year, on either side, or written 1 January: the name and the year (two
    # rules, so that each side's filter applies before the join).
    BlockingRule(
        "name_year_record_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        record_filter=f"r.dob_precision <> 'day' OR {_first_of_january('r')}",
    ),
    BlockingRule(
        "name_year_citizen_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        citizen_filter=f"c.dob_precision <> 'day' OR {_first_of_january('c')}",
    ),
)


# Cheap gate before edit distance: one wrong digit or two swapped neighbours leave the first six or the last
# six digits intact (`id_head`, `id_tail`: both sides have them), or both ends when the swap straddles the
# middle (the first five and the last five).
_NEAR_IDS = """(r.id_head = c.id_head OR r.id_tail = c.id_tail
    OR (substr(r.id_tail, 2) = substr(c.id_tail, 2) AND substr(r.id_head, 1, 5) = substr(c.id_head, 1, 5)))"""


def _transposed(a: str, b: str, n: int) -> str:
    """True when b is a with two adjacent characters swapped (and a <> b)."""
    alts = []
    for i in range(1, n):
        alts.append(
            f"(substr({a}, 1, {i - 1}) = substr({b}, 1, {i - 1}) AND substr({a}, {i}, 1) = substr({b}, {i + 1}, 1)"
            f" AND substr({a}, {i + 1}, 1) = substr({b}, {i}, 1) AND substr({a}, {i + 2}) = substr({b}, {i + 2}))"
        )
    return f"({a} <> {b} AND (" + " OR ".join(alts) + "))"


_ID12 = "r.id12 IS NOT NULL"
# Two names within two edits differ by at most two characters each way (`normalise.LETTER_BITS`).
_LETTERS_WITHIN_TWO = """bit_count(r.name_letters & ~c.name_letters) <= 2
    AND bit_count(c.name_letters & ~r.name_letters) <= 2"""
# A letter or two off in the whole name; never the given name of someone else of the citizen's household
# (`h`: a twin's Tân against Tâm is the twin).
# The lengths first: two edits or fewer never change a length by more than two, and comparing lengths is
# cheap where an edit distance is not (most candidate pairs are of other people).
_NAME_TYPO = f"""((r.given_key = c.given_key OR h.household_id IS NULL)
    AND abs(length(r.name_key) - length(c.name_key)) <= 2 AND {_LETTERS_WITHIN_TWO}
    AND ((r.name_sig = c.name_sig AND levenshtein(r.name_key, c.name_key) <= 2)
    OR (levenshtein(r.given_key, c.given_key) <= 1
        AND levenshtein(r.name_key, c.name_key) <= CASE WHEN length(c.name_key) >= 14 THEN 2 ELSE 1 END)))"""
_BOTH_DAYS = "r.dob IS NOT NULL AND c.dob IS NOT NULL"
# The middle names agree, or one side has none, or one holds the other.
_MIDDLE_KEPT = """(r.middle_key = c.middle_key OR r.middle_key = '' OR c.middle_key = ''
    OR position(r.middle_key IN c.middle_key) > 0 OR position(c.middle_key IN r.middle_key) > 0)"""
# Edits between the given names, y and i taken alike wherever they stand (the folding keeps a final y only
# after some letters: Sỹỹ folds to "syy", Sỹ to "si").
_GIVEN_EDITS = "levenshtein(replace(r.given_key, 'y', 'i'), replace(c.given_key, 'y', 'i'))"
# A given name carried by at most one citizen in a million is taken for a slip rather than a name of its own.
GIVEN_NAME_RARITY = 1_000_000
_HAS_ADDRESS = "r.addr_house <> '' AND c.addr_house <> ''"


def _same_ward(ward: str, units: str, targets: str) -> str:
    """The record's ward names the citizen's `ward` (of structure `units`; `targets`: the 2025 wards of a legacy
    one), the mirror of `AdminUnits.same_ward`: in one structure, or when either's is not known, the codes
    as written; a legacy ward and a 2025 one when the legacy one went into the 2025 one."""
    return (
        f"(r.ward = c.{ward} AND (r.ward_units IS NULL OR c.{units} IS NULL OR r.ward_units = c.{units}))"
        f" OR (r.ward_units = 'legacy' AND c.{units} = '2025' AND list_contains(r.ward_targets, c.{ward}))"
        f" OR (r.ward_units = '2025' AND c.{units} = 'legacy' AND list_contains(c.{targets}, r.ward))"
    )


_WARD_SAME = f"{_same_ward('ward', 'ward_units', 'ward_targets')} OR {_same_ward('home_ward', 'home_units', 'home_targets')}"
# Two neighbouring letters of the family name swapped (Đặgn, Nguễyn, Dưnơg) are one slip, as one letter
# wrong is; checked over the family key's letters (the name's first word: a Vietnamese syllable has at most
# seven, as in "nghiêng").
FAMILY_NAME_LETTERS = 8

# A number held by one citizen: u is the share of other people's records that carry it (about 1 in 200 records
# carry someone else's number) over the register's size.
# The priors: m from the error rates health's data is known to have, u from how often two different people
# agree so. Each run estimates m (and u where random pairs can count it) from its own data, starting here
# and bounded around here (MatchSpec.max_shift_bits).
DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "id",
        (
            Level(
                "ID_LOST_ZERO",
                f"{_ID12} AND r.id12 = c.personal_id AND r.id_kind = 'lost_zero'",
                0.02,
                1e-4,
                "unique",
                share=1e-8,
            ),
            Level("ID_EXACT", f"{_ID12} AND r.id12 = c.personal_id", 0.85, 0.005, "unique", share=1e-8),
            Level(
                "ID_OLD_CMND",
                "r.id9 IS NOT NULL AND l.alias_owner = c.citizen_id",
                0.04,
                2e-4,
                "unique",
                share=1e-8,
            ),
            # A relative's number (or old CMND): it names the household, not the person.
            Level(
                "ID_OF_HOUSEHOLD_MEMBER",
                f"""({_ID12} AND l.owner_id IS NOT NULL AND l.owner_id <> c.citizen_id
                     AND l.owner_household = c.household_id)
                    OR (r.id9 IS NOT NULL AND l.alias_owner IS NOT NULL AND l.alias_owner <> c.citizen_id
                        AND l.alias_household = c.household_id)""",
                0.004,
                4.0,
                "unique",
            ),
            Level(
                "ID_TYPO",
                f"{_ID12} AND {_NEAR_IDS} AND levenshtein(r.id12, c.personal_id) = 1",
                0.008,
                1e-4,
            ),
            Level(
                "ID_TRANSPOSED",
                f"{_ID12} AND {_NEAR_IDS} AND {_transposed('r.id12', 'c.personal_id', 12)}",
                0.004,
                5e-5,
            ),
            # The number is someone else's in the register: the strongest sign of another person.
            Level(
                "ID_OF_OTHER_PERSON",
                "(r.id12 IS NOT NULL AND l.owner_id IS NOT NULL) OR (r.id9 IS NOT NULL AND l.alias_owner IS NOT NULL)",
                0.002,
                0.9,
            ),
            # A number nobody in the register holds, with the candidate's place, sex, century and birth
            # year (its first six digits): a slip further in, or a number the register does not know yet.
            Level(
                "ID_UNKNOWN_SAME_PREFIX",
                f"{_ID12} AND l.owner_id IS NULL AND r.id_head = c.id_head",
                0.004,
                0.01,
            ),
            Level("ID_MISSING", "r.id_kind = 'empty'", 0.035, 0.035, missing=True),
            Level("ID_OTHER_DOCUMENT", "r.id_kind = 'other'", 0.005, 0.005, missing=True),
            # An old CMND the register has no record of, where the candidate's own is on record and the
            # record's is not it with a slip (more than two edits from it): not the candidate's number. A
            # relative's card the register never took, a card issued again under a new number, or the card
            # of somebody the register does not know (an outsider whose name and birth year a resident shares).
            Level(
                "ID_CMND_OTHER",
                "r.id9 IS NOT NULL AND l.alias_owner IS NULL AND c.cmnd IS NOT NULL AND levenshtein(r.id9, c.cmnd) > 2",
                0.002,
                0.03,
            ),
            # An old CMND the register has no record of: health may know a number the register never took
            # (or the candidate's own with a slip).
            Level("ID_CMND_UNKNOWN", "r.id9 IS NOT NULL AND l.alias_owner IS NULL", 0.008, 0.01),
            # A number nobody in the register holds, far from the candidate's, that tells the record's own year
            # of birth and sex: somebody's real number, and not the candidate's. Its holder is somebody the
            # register does not know (an outsider whose name and birth date a resident happens to share), never
            # linked to the candidate without a person.
            Level(
                "ID_OTHER_NUMBER",
                f"""{_ID12} AND l.owner_id IS NULL AND r.id_year = r.dob_year
                    AND (r.sex IS NULL OR r.id_sex = r.sex)""",
                0.001,
                0.9,
                veto="always",
            ),
            # Any other number: a number too garbled to read, or somebody else's. Linked only where the full
            # birth date and the home, or more, agree.
            Level("ID_DIFFERENT", "", 0.003, 0.95, veto="unless_corroborated"),
        ),
    ),
    Comparison(
        "name",
        (
            Level("NAME_EXACT", "r.full_name = c.full_name", 0.90, 0.95, "tf_exact_n", share=1e-4),
            Level(
                "NAME_DIACRITICS",
                "r.name_key = c.name_key AND (NOT r.has_marks OR NOT c.has_marks)",
                0.06,
                0.085,
                "tf_key_n",
                share=1e-4,
            ),
            # Same letters, other marks on both sides: Hùng / Hưng.
            Level("NAME_MARKS_DIFFER", "r.name_key = c.name_key", 0.005, 6e-4, veto="unless_corroborated"),
            Level("NAME_ORDER", "r.sorted_key = c.sorted_key", 0.004, 0.016, "tf_key_n", share=1e-4),
            # The middle name left out, or kept in part; with the given name written first too ("Anh Hồ" for
            # "Hồ Quốc Anh").
            Level(
                "NAME_MIDDLE_DROPPED",
                f"""((r.family_key = c.family_key AND r.given_key = c.given_key)
                     OR (r.family_key = c.given_key AND r.given_key = c.family_key)) AND {_MIDDLE_KEPT}""",
                0.008,
                2.5e-4,
            ),
            Level("NAME_TYPO", _NAME_TYPO, 0.01, 3e-4),
            # A slip in the given name: a word nobody in the register is called (Anj, Qýu, KKỳ) within two
            # edits of the citizen's given name, or a real name within one edit (Thy, Thúy) that no one of the
            # citizen's household carries. A twin's or a sibling's given name is a real name of the
            # household: that stays NAME_GIVEN_DIFFERS.
            Level(
                "NAME_GIVEN_TYPO",
                f"""r.family_key = c.family_key AND {_MIDDLE_KEPT} AND h.household_id IS NULL
                    AND ({_GIVEN_EDITS} <= 1
                         OR (l.given_n * {GIVEN_NAME_RARITY!r} <= z.total AND {_GIVEN_EDITS} <= 2
                             AND length(c.given_key) >= 3))""",
                0.006,
                6e-4,
                veto="unless_corroborated",
            ),
            # Same family and middle name, and where the given name belongs a nickname nobody of the citizen's
            # household is called by (Nguyễn Văn Út for Nguyễn Văn Toàn): what the family calls the citizen.
            # Linked only where the number or the home and the full birth date agree as well.
            Level(
                "NAME_GIVEN_NICKNAME",
                f"""r.family_key = c.family_key AND r.given_key <> c.given_key AND {_MIDDLE_KEPT}
                    AND h.household_id IS NULL
                    AND (r.given_name IN ({_NICKNAMES}) OR (NOT r.has_marks AND r.given_key IN ({_NICKNAME_KEYS})))""",
                0.002,
                0.002,
                veto="unless_corroborated",
            ),
            # A middle name of the other sex than the record's own (Văn on a woman's record, Thị on a man's):
            # the name is not the person's own but a relative's written in its place (the household head's, a
            # husband's), the sex being the person's. Says nothing for or against the citizen; linked only on
            # the citizen's own number with the full birth date and the same sex (`STRONG_AGREEMENT`), which a
            # relative of the other sex cannot carry together.
            Level(
                "NAME_OTHER_SEX",
                """(r.sex = 'F' AND list_contains(string_split(r.middle_key, ' '), 'van'))
                   OR (r.sex = 'M' AND list_contains(string_split(r.middle_key, ' '), 'thi'))""",
                0.001,
                0.001,
                veto="unless_strong",
            ),
            # The name of another member of the citizen's household (a parent's, a child's, a spouse's, a sibling's,
            # written where the person's own belongs), none of those who carry it born on the record's birth date
            # nor on a day the register does not know (nor the citizen, then: the record's date would be the
            # citizen's), and at most two of them (more, of one name in one house, are not told apart). The same
            # name with the record's date would be a twin's, or the dose that member's under the citizen's number:
            # NAME_GIVEN_DIFFERS. Linked only on the citizen's own number with the full birth date
            # (`STRONG_AGREEMENT`): the number, the date and the sex are the citizen's, three fields against one;
            # a relative's dose under the citizen's number carries the relative's own birth date. Weighs as
            # NAME_GIVEN_DIFFERS does.
            Level(
                "NAME_OF_HOUSEHOLD_MEMBER",
                "NOT h.undated AND h.carriers <= 2 AND r.dob <> h.dob_first AND r.dob <> h.dob_last",
                0.001,
                1.0,
                veto="unless_strong",
            ),
            # Same family and middle name, another given name that nobody of the citizen's household carries: a
            # name the register does not hold (what the citizen is called besides, a given name misread). A
            # sibling's or a twin's name is the household's (NAME_GIVEN_DIFFERS). Linked only on the citizen's
            # own number with the full birth date and the same sex (`defaults.STRONG_AGREEMENT`); it weighs as
            # NAME_GIVEN_DIFFERS does, so that nothing but that veto differs between the two.
            Level(
                "NAME_GIVEN_OTHER",
                f"""r.family_key = c.family_key AND r.given_key <> c.given_key AND {_MIDDLE_KEPT}
                    AND h.household_id IS NULL""",
                0.001,
                1.0,
                veto="unless_strong",
            ),
            # Same family, another given name: a sibling, a twin, a parent.
            Level(
                "NAME_GIVEN_DIFFERS",
                "r.family_key = c.family_key AND r.given_key <> c.given_key",
                0.001,
                1.0,
                veto="always",
            ),
            # Two slips at once (the given name first and a typo, a dropped middle name and a typo in the
            # family name): the same words but for a letter or two. Never a given name of its own.
            Level(
                "NAME_SIMILAR",
                f"""(abs(length(r.sorted_key) - length(c.sorted_key)) <= 2 AND {_LETTERS_WITHIN_TWO}
                       AND levenshtein(r.sorted_key, c.sorted_key) <= 2)
                   OR (r.given_key = c.given_key AND (levenshtein(r.family_key, c.family_key) <= 1
                       OR {_transposed("r.family_key", "c.family_key", FAMILY_NAME_LETTERS)}))""",
                0.004,
                0.004,
            ),
            # None of the above, and nobody of the citizen's household born on the citizen's birth date: a name
            # garbled past any slip the levels above read (typed with its letters astray, in pieces), or another
            # person's written in its place. With the citizen's own number, the full birth date and the same sex,
            # three fields against one, it is the citizen's dose (`STRONG_AGREEMENT`); a twin, whose number and
            # birth date a slip makes the citizen's, is born on that day (NAME_DIFFERENT). Weighs as
            # NAME_DIFFERENT does.
            Level("NAME_UNRECOGNISED", "c.born_alike_n = 1", 6e-5, 1.0, veto="unless_strong"),
            Level("NAME_DIFFERENT", "", 6e-5, 1.0, veto="always"),
        ),
        tf_max_weight=30.0,
    ),
    Comparison(
        "dob",
        (
            # The record gives no birth date it can be matched on (blank, unreadable, or the day of the dose):
            # no evidence either way, and linked without a person only on the number and the name.
            Level("DOB_MISSING", "r.dob_year IS NULL", 0.005, 0.005, missing=True, veto="unless_strong"),
            Level("DOB_EXACT", "r.dob IS NOT NULL AND r.dob = c.dob", 0.95, 0.95, "tf_dob_n", share=3.4e-5),
            # The year agrees and one side says no more than the year: known to the year or the month, or
            # written 1 January.
            Level(
                "DOB_YEAR_ONLY",
                f"""((r.dob_precision IN ('year', 'month') OR c.dob_precision IN ('year', 'month'))
                   AND r.dob_year = c.dob_year
                   AND (r.dob_month IS NULL OR c.dob_month IS NULL OR r.dob_month = c.dob_month))
                   OR (({_first_of_january("r")} OR {_first_of_january("c")}) AND r.dob_year = c.dob_year)""",
                0.01,
                0.01,
                "tf_year_n",
                share=0.0125,
            ),
            Level(
                "DOB_DAY_MONTH_SWAPPED",
                f"{_BOTH_DAYS} AND r.dob_year = c.dob_year AND r.dob_month = c.dob_day AND r.dob_day = c.dob_month",
                0.008,
                3e-5,
            ),
            Level(
                "DOB_TYPO",
                f"""{_BOTH_DAYS} AND (CASE WHEN r.dob_year = c.dob_year THEN 1 ELSE 0 END
                    + CASE WHEN r.dob_month = c.dob_month THEN 1 ELSE 0 END
                    + CASE WHEN r.dob_day = c.dob_day THEN 1 ELSE 0 END) = 2 AND levenshtein(r.dob, c.dob) = 1""",
                0.005,
                1.6e-4,
            ),
            # A day or two off, across a month's or a year's end too.
            Level("DOB_NEAR", f"{_BOTH_DAYS} AND abs(r.dob_days - c.dob_days) <= 2", 0.004, 1.4e-4),
            # Day and month right, the year off by one or by ten.
            Level(
                "DOB_YEAR_NEAR",
                f"""{_BOTH_DAYS} AND r.dob_month = c.dob_month AND r.dob_day = c.dob_day
                    AND abs(r.dob_year - c.dob_year) IN (1, 10)""",
                0.004,
                7e-5,
            ),
            # The record's date three to seven weeks before the citizen's (`prepare.LUNAR_DAYS`): the birthday
            # written in the lunar calendar. No slip of a digit gives it; a sibling is born further apart, a
            # twin on the day; the name and the rest say whether it is the citizen.
            Level(
                "DOB_LUNAR",
                f"{_BOTH_DAYS} AND c.dob_days - r.dob_days BETWEEN {LUNAR_DAYS.start} AND {LUNAR_DAYS.stop - 1}",
                0.003,
                1.5e-3,
            ),
            Level("DOB_SAME_YEAR", "r.dob_year = c.dob_year", 0.004, 0.0125, veto="unless_strong"),
            # A generation apart, and not the same day and month: no slip gives that. A parent's number and
            # name on a child's dose (the child had no number of its own) carry the child's birth date: the
            # number and the name agree with the parent, and the dose is the child's. Never linked without a
            # person, whatever agrees.
            Level(
                "DOB_OTHER_GENERATION",
                f"""r.dob_year IS NOT NULL AND c.dob_year IS NOT NULL
                    AND abs(r.dob_year - c.dob_year) >= {GENERATION_YEARS}
                    AND NOT coalesce(r.dob_month = c.dob_month AND r.dob_day = c.dob_day, false)""",
                5e-5,
                0.7,
                veto="always",
            ),
            Level("DOB_DIFFERENT", "", 2e-4, 0.28, veto="unless_strong"),
        ),
    ),
    Comparison(
        "sex",
        (
            Level("SEX_MISSING", "r.sex IS NULL", 0.01, 0.01, missing=True),
            Level("SEX_SAME", "r.sex = c.sex", 0.95, 0.5),
            Level("SEX_DIFFERS", "", 0.05, 0.5),
        ),
    ),
    Comparison(
        "ward",
        (
            Level("WARD_MISSING", "r.ward IS NULL", 0.02, 0.02, missing=True),
            # Set well below what the simulator shows: people get vaccinated where they work or stay.
            # The citizen's current or permanent ward, whichever structure each is written in.
            Level("WARD_SAME", _WARD_SAME, 0.8, 1.0, "tf_ward_n", share=0.01),
            Level("WARD_DIFFERS", "", 0.2, 1.0),
        ),
        tf_max_weight=14.0,
    ),
    Comparison(
        "address",
        (
            Level("ADDRESS_MISSING", "r.addr_street = '' OR c.addr_street = ''", 0.1, 0.1, missing=True),
            # The same house on the same street or hamlet: a household's home, so the name decides who.
            Level(
                "ADDRESS_SAME",
                f"{_HAS_ADDRESS} AND r.addr_house = c.addr_house AND r.addr_street = c.addr_street",
                0.5,
                1.0,
                "tf_addr_n",
                share=5e-5,
            ),
            Level("ADDRESS_SAME_STREET", "r.addr_street = c.addr_street", 0.2, 0.02),
            Level("ADDRESS_DIFFERS", "", 0.2, 0.9),
        ),
        tf_max_weight=12.0,
    ),
    Comparison(
        "phone",
        (
            # No phone on the record, or none in the register for the candidate: nothing to compare (a
            # register without the citizen's phone is not a disagreement). A relative's phone still says
            # "this household" when the candidate has none of their own.
            Level(
                "PHONE_MISSING",
                """r.phone IS NULL OR (coalesce(c.phone, '') = ''
                   AND NOT coalesce(l.phone_household = c.household_id, false))""",
                0.3,
                0.3,
                missing=True,
            ),
            Level("PHONE_SAME", "r.phone = c.phone", 0.4, 1.0, "tf_phone_n", share=3.3e-5),
            # A number someone of the candidate's household has: a relative's phone.
            Level(
                "PHONE_OF_HOUSEHOLD",
                "l.phone_household IS NOT NULL AND l.phone_household = c.household_id",
                0.1,
                2e-3,
            ),
            Level("PHONE_DIFFERS", "", 0.2, 0.7),
        ),
        tf_max_weight=8.0,
    ),
)

# Agreement strong enough that a birth-date or name-mark disagreement is taken for the record's own slip: the
# register's number (or its old CMND) and the name up to its writing or a slip of a letter or two (NAME_TYPO,
# never a name of the citizen's household), the sex not contradicting. A parent's or a child's number fails on
# the name; a twin's on the number.
# Or the home in full: the whole name as the register writes it (or without its marks), the same sex, the
# candidate's house and the candidate's own phone, and no number that says otherwise. Two people of one
# household do not share a whole name, so this names the person as the number does: a birth date missing, or
# astray within its year, is the record's slip. A date of another year is not lifted so: with a relative's name,
# house and phone it is the relative's birth date (a sibling's dose under an elder's name), and a parent and a
# child are a generation apart, which is never linked (DOB_OTHER_GENERATION).
HOME_AGREEMENT = (
    "dob_level IN ('DOB_MISSING', 'DOB_SAME_YEAR') "
    "AND name_level IN ('NAME_EXACT', 'NAME_DIACRITICS') AND sex_level = 'SEX_SAME' "
    "AND address_level = 'ADDRESS_SAME' AND phone_level = 'PHONE_SAME' "
    "AND id_level IN ('ID_EXACT', 'ID_LOST_ZERO', 'ID_OLD_CMND', 'ID_TYPO', 'ID_TRANSPOSED', 'ID_MISSING', "
    "'ID_OTHER_DOCUMENT', 'ID_CMND_UNKNOWN')"
)
# A given name the household does not know (NAME_GIVEN_OTHER), a relative's name of the other sex
# (NAME_OTHER_SEX), a name not read as the citizen's where no twin is (NAME_UNRECOGNISED), or the name of another
# member of the household born on another day (NAME_OF_HOUSEHOLD_MEMBER), is lifted only by the citizen's own
# number with the full birth date and the same sex: a twin born that day carries a name of the household, and
# stays apart. The member's name is lifted where the record does not give the sex too: its level already sets
# the twins apart, whose birth date is the record's.
STRONG_AGREEMENT = (
    "(id_level IN ('ID_EXACT', 'ID_LOST_ZERO', 'ID_OLD_CMND') "
    "AND name_level IN ('NAME_EXACT', 'NAME_DIACRITICS', 'NAME_ORDER', 'NAME_MIDDLE_DROPPED', 'NAME_MARKS_DIFFER', "
    "'NAME_TYPO') "
    f"AND sex_level <> 'SEX_DIFFERS') OR ({HOME_AGREEMENT}) "
    "OR (id_level IN ('ID_EXACT', 'ID_LOST_ZERO', 'ID_OLD_CMND') AND dob_level = 'DOB_EXACT' "
    "AND ((name_level IN ('NAME_GIVEN_OTHER', 'NAME_OTHER_SEX', 'NAME_UNRECOGNISED') AND sex_level = 'SEX_SAME') "
    "OR (name_level = 'NAME_OF_HOUSEHOLD_MEMBER' AND sex_level <> 'SEX_DIFFERS')))"
)


# A link the record's own data do not wholly carry: none of the citizen's numbers, or a birth date missing or
# not the citizen's, or the other sex, or a name that is not the citizen's own. Checked after the match against
# the doses the citizen already has (`services/reconciliation/taken_doses.py`): a dose number the citizen has on
# another day holds it for an officer.
PARTIAL_LINK = (
    "id_level NOT IN ('ID_EXACT', 'ID_LOST_ZERO', 'ID_OLD_CMND', 'ID_TYPO', 'ID_TRANSPOSED') "
    "OR dob_level IN ('DOB_MISSING', 'DOB_SAME_YEAR', 'DOB_YEAR_NEAR', 'DOB_DIFFERENT', 'DOB_OTHER_GENERATION') "
    "OR sex_level = 'SEX_DIFFERS' "
    "OR name_level IN ('NAME_OTHER_SEX', 'NAME_OF_HOUSEHOLD_MEMBER', 'NAME_GIVEN_OTHER', 'NAME_UNRECOGNISED')"
)


# The best candidate is another person, not a doubt for an officer: neither the name nor a birth date of the
# same generation agrees (a child's dose under a parent's number, the child not in the register); or the record
# carries a number of its own that nobody in the register holds, telling the record's own birth year and sex
# (ID_OTHER_NUMBER: somebody the register does not know, whose name and birth a resident shares). The record
# goes to the queue of people to collect, with the candidate's reasons.
ANOTHER_PERSON = (
    "(name_level IN ('NAME_DIFFERENT', 'NAME_UNRECOGNISED', 'NAME_GIVEN_DIFFERS', 'NAME_GIVEN_OTHER', "
    "'NAME_OTHER_SEX', 'NAME_OF_HOUSEHOLD_MEMBER') "
    "AND dob_level = 'DOB_OTHER_GENERATION') OR id_level = 'ID_OTHER_NUMBER'"
)


# Other marks on the same letters (Hùng / Hưng), or a slip in the given name: taken for the record's own slip
# when the full birth date (or the same date with day and month swapped: a sibling is not born the same year
# on the mirrored day) agrees with the number, or the full birth date with the home (address, phone or ward).
# With the number and the full birth date, a sex that differs is the record's slip too: the number carries
# the sex, and the record contradicts the number it carries itself. Twins whose
# names differ by a mark share all that, but both are in the register and compete as candidates; the rivals'
# odds then keep the record in review. A twin's real given name is not a slip (NAME_GIVEN_TYPO).
# The number with a birth date one slip from the citizen's (a digit, or a day or two), the same sex and the
# same home (house or own phone) vouch for it too: a relative who could carry the number, the name and the
# home would be a twin, born the same day, whom the exact date already lets through; a date a slip away
# speaks against a twin, not for one.
# Without the number, the same house or own phone and the same sex vouch for a birth date as far as it is known
# (its year, where one side knows no more) or a slip from it, as they do with the number: a sibling whose name
# differs by a mark is born in another year, or on the same day as a twin who competes as a candidate.
# The number of another member of the citizen's household names the citizen's house as the house itself does
# (`_HOUSE`): a relative's number written in the person's place.
_HOUSE = (
    "(address_level = 'ADDRESS_SAME' OR phone_level = 'PHONE_SAME' OR id_level = 'ID_OF_HOUSEHOLD_MEMBER')"
)
CORROBORATED = (
    f"({STRONG_AGREEMENT}) OR (id_level IN ('ID_EXACT', 'ID_LOST_ZERO', 'ID_OLD_CMND') "
    "AND (dob_level = 'DOB_EXACT' OR (dob_level = 'DOB_DAY_MONTH_SWAPPED' AND sex_level <> 'SEX_DIFFERS')"
    " OR (dob_level IN ('DOB_TYPO', 'DOB_NEAR') AND sex_level = 'SEX_SAME'"
    " AND (address_level = 'ADDRESS_SAME' OR phone_level = 'PHONE_SAME')))) "
    f"OR (sex_level <> 'SEX_DIFFERS' AND dob_level = 'DOB_EXACT' AND ({_HOUSE} OR ward_level = 'WARD_SAME')) "
    "OR (sex_level = 'SEX_SAME' AND dob_level IN ('DOB_YEAR_ONLY', 'DOB_DAY_MONTH_SWAPPED', 'DOB_TYPO', 'DOB_NEAR') "
    f"AND {_HOUSE})"
)

"""The shipped specification's comparisons: every comparison's levels with their SQL condition and prior m and
u (`spec.MatchSpec` takes them as its defaults; each run estimates m and u again on its own data). The blocking
rules are in `blocking.py`, the decision clauses over the levels in `decisions.py`.
"""

from __future__ import annotations

from vaxlink.domain.names import NICKNAMES, fold_name
from vaxlink.matching.blocking import first_of_january
from vaxlink.matching.levels import Comparison, Level
from vaxlink.matching.prepare import LUNAR_DAYS

_NICKNAMES = ", ".join(f"'{n}'" for n in sorted(NICKNAMES))
# The same written without marks (Ut, Sau, Bay): a name written so can be no other word.
_NICKNAME_KEYS = ", ".join(f"'{k}'" for k in sorted({fold_name(n) for n in NICKNAMES}))
# Birth years this far apart are two generations' (a parent and a child), not a slip of one date.
GENERATION_YEARS = 12


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
            # own number with the full birth date and the same sex (`decisions.STRONG_AGREEMENT`); it weighs as
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
                   OR (({first_of_january("r")} OR {first_of_january("c")}) AND r.dob_year = c.dob_year)""",
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

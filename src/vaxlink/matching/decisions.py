"""The shipped specification's decision clauses over a pair's levels: the agreements strong enough to lift a
veto, a link the dose check must confirm, and a best candidate that is another person (`spec.MatchSpec` takes
them as its defaults)."""

from __future__ import annotations

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


# A dose under one member's number and name with another member's full birth date: the number and the name are
# the holder's, the dose the member's whose birth date it carries (a parent's identity on a child's dose, the
# child having none of her own). The holder is a generation from the record's date (`GENERATION_APART`); the
# member is found by the household the number names, on the date (`DATED_MEMBER`). Where both are candidates
# the member ranks before the holder, for the officer: neither is linked without one (the holder's date is a
# veto, the member's name another's), and the holder stays the member's rival.
GENERATION_APART = "dob_level = 'DOB_OTHER_GENERATION'"
DATED_MEMBER = "id_level = 'ID_OF_HOUSEHOLD_MEMBER' AND dob_level = 'DOB_EXACT'"


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

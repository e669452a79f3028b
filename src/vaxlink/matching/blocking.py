"""The shipped specification's blocking rules: which citizens each record is compared with (`spec.MatchSpec`
takes them as its default `blocking`)."""

from __future__ import annotations

from vaxlink.matching.levels import BlockingRule

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


def first_of_january(side: str) -> str:
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
        record_filter=f"r.dob_precision <> 'day' OR {first_of_january('r')}",
    ),
    BlockingRule(
        "name_year_citizen_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        citizen_filter=f"c.dob_precision <> 'day' OR {first_of_january('c')}",
    ),
)

"""The match specification: versioned, serialisable, stored with every run.

It names the blocking rules, the comparison levels with their weights (log2 Bayes factors), and the
classification thresholds. The SQL that evaluates each named level lives in `compare.py`; changing a
weight or a threshold is a change of this object (and of its version), never of the pipeline code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

SPEC_VERSION = "2026.11.3"


@dataclass(frozen=True, slots=True)
class BlockingRule:
    """Candidate pairs: records and citizens that agree exactly on these keys.

    A key is a column present on both sides, or `record_column=citizen_column` (a day-month swap compares
    the record's month with the citizen's day). `record_filter` (SQL over r) and `citizen_filter` (over c)
    narrow one side each before the join, so that the estimate counts only the pairs really generated.
    """

    name: str
    keys: tuple[str, ...]
    # Keys shared by more than this many citizens generate no pairs (other rules still can): it bounds the
    # pair count of rules on common values. None: no cap (the rule is selective by construction).
    max_citizens_per_key: int | None = None
    record_filter: str = ""
    citizen_filter: str = ""

    def sides(self) -> list[tuple[str, str]]:
        return [tuple(k.split("=", 1)) if "=" in k else (k, k) for k in self.keys]  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class Level:
    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """A field compared on one pair; the first level whose condition holds applies."""

    name: str
    levels: tuple[Level, ...]

    def weight(self, level: str) -> float:
        for lv in self.levels:
            if lv.name == level:
                return lv.weight
        raise KeyError(f"{self.name}: no level {level}")


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
DEFAULT_BLOCKING: tuple[BlockingRule, ...] = (
    BlockingRule("id", ("id12",)),
    BlockingRule("old_id", ("id9",)),
    BlockingRule("name_dob", ("name_key", "dob")),
    BlockingRule("name_swapped", ("name_key", "dob_year", "dob_month=dob_day", "dob_day=dob_month")),
    BlockingRule("sorted_name_dob", ("sorted_key", "dob")),
    BlockingRule("id_tail_given", ("id_tail", "given_key")),
    BlockingRule("phone_given", ("phone", "given_key"), 50),
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
    BlockingRule("given_dob", ("province", "given_key", "dob"), PROVINCE_CAP),
    BlockingRule("family_middle_dob", ("province", "family_key", "middle_key", "dob"), PROVINCE_CAP),
    BlockingRule("family_given_dob", ("province", "family_key", "given_key", "dob"), PROVINCE_CAP),  # middle
    # A birth date known only to the year, on either side: the name and the year (two rules, so that each
    # side's filter applies before the join).
    BlockingRule(
        "name_year_record_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        record_filter="r.dob_precision <> 'day'",
    ),
    BlockingRule(
        "name_year_citizen_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        citizen_filter="c.dob_precision <> 'day'",
    ),
)

DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "id",
        (
            Level("ID_EXACT", 13.0),
            Level("ID_OLD_CMND", 12.0),
            Level("ID_LOST_ZERO", 12.0),
            Level("ID_TYPO", 6.0),
            Level("ID_TRANSPOSED", 6.0),
            Level("ID_OF_HOUSEHOLD_MEMBER", 2.0),  # a relative's number: the household, not the person
            Level("ID_MISSING", 0.0),
            Level("ID_OTHER_DOCUMENT", 0.0),
            Level("ID_DIFFERENT", -8.0),
        ),
    ),
    Comparison(
        "name",
        (
            Level("NAME_EXACT", 0.0),  # weight from the name's frequency in the register (tf)
            Level("NAME_DIACRITICS", -0.5),  # tf weight plus this
            Level("NAME_ORDER", -2.0),  # tf weight plus this
            Level("NAME_MARKS_DIFFER", 3.0),  # same letters, other marks on both sides: Hùng / Hưng
            Level("NAME_MIDDLE_DROPPED", 5.0),
            Level("NAME_TYPO", 5.0),
            Level("NAME_GIVEN_DIFFERS", -10.0),
            Level("NAME_DIFFERENT", -14.0),
        ),
    ),
    Comparison(
        "dob",
        (
            Level("DOB_EXACT", 14.5),  # u ≈ 1/29,000 birth dates
            Level("DOB_YEAR_ONLY", 6.0),  # u ≈ 1/80 birth years
            Level("DOB_DAY_MONTH_SWAPPED", 8.0),
            Level("DOB_TYPO", 5.0),
            Level("DOB_SAME_YEAR", -2.0),
            Level("DOB_DIFFERENT", -12.0),
        ),
    ),
    Comparison(
        "sex",
        (
            Level("SEX_SAME", 1.0),
            Level("SEX_MISSING", 0.0),
            Level("SEX_DIFFERS", -3.0),
        ),
    ),
    Comparison(
        "ward",
        (
            Level("WARD_SAME", 0.0),  # weight from the ward's share of the register (tf)
            Level("WARD_MISSING", 0.0),
            Level("WARD_DIFFERS", -2.0),  # log2((1 - ward_m) / 1)
        ),
    ),
    Comparison(
        "phone",
        (
            Level("PHONE_SAME", 2.0),
            Level("PHONE_MISSING", 0.0),
            Level("PHONE_DIFFERS", 0.0),
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class MatchSpec:
    version: str = SPEC_VERSION
    blocking: tuple[BlockingRule, ...] = DEFAULT_BLOCKING
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS
    # Name agreement is worth log2(m / u), u being the share of the register carrying that name key:
    # "nguyen van hung" agreeing says little, a rare name says much.
    name_m: float = 0.95
    name_tf_max_weight: float = 30.0
    # The same for the ward of residence: a record naming the citizen's ward is worth log2(ward_m / u), u the
    # share of the register living there (about 1/80 in a province, 1/10,000 nationally). ward_m is set
    # well below what the simulator shows (99%): people get vaccinated where they work or stay.
    ward_m: float = 0.8
    ward_tf_max_weight: float = 14.0
    # Prior odds that a register citizen is the record's person: presence / N, N the register's size
    # (presence: the share of health records whose person is in the register at all).
    presence: float = 0.98
    link_threshold: float = 8.0  # total weight for an automatic link
    review_threshold: float = -4.0  # below: unmatched
    min_margin: float = 6.0  # best candidate must beat the second by this much to be linked
    max_pairs: int = 50_000_000  # guard: refuse to generate more candidate pairs than this
    extra: dict[str, Any] = field(default_factory=dict)

    def comparison(self, name: str) -> Comparison:
        for c in self.comparisons:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MatchSpec:
        blocking = tuple(
            BlockingRule(
                b["name"],
                tuple(b["keys"]),
                b.get("max_citizens_per_key"),
                b.get("record_filter", ""),
                b.get("citizen_filter", ""),
            )
            for b in d.get("blocking", ())
        )
        comparisons = tuple(
            Comparison(c["name"], tuple(Level(lv["name"], lv["weight"]) for lv in c["levels"]))
            for c in d.get("comparisons", ())
        )
        rest = {k: v for k, v in d.items() if k not in ("blocking", "comparisons")}
        return replace(
            cls(**rest), blocking=blocking or DEFAULT_BLOCKING, comparisons=comparisons or DEFAULT_COMPARISONS
        )

    @classmethod
    def from_json(cls, text: str) -> MatchSpec:
        return cls.from_dict(json.loads(text))

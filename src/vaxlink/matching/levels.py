"""The words a match specification is written in: blocking rules, comparison levels and comparisons.

`spec.py` assembles them into a `MatchSpec`; `blocking.py`, `defaults.py` and `decisions.py` hold the ones the project ships.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


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
    """One way a field of a record and of a citizen can relate, with its evidence.

    `condition` is SQL over the pair: `r` the health identity, `c` the citizen, `l` what the record's
    numbers and given name point at in the register (`rec_lookup`), `h` a member of the citizen's household
    who carries the record's family and given name (NULL when none), `z.total` the register's size; the first level of a comparison whose condition holds
    applies, and the last has none (it is what remains). The weight is log2(m / u), m the share of true
    pairs at this level, u the share of pairs of different people. A level with `tf` takes u from the
    register itself: the share of citizens who carry the same value (`tf` names the count kept on each
    citizen; "unique" for a number only one citizen holds), times `u`, so that a rare name or birth date says
    more than a common one. The share is smoothed towards `share` (a typical value's share in the
    population) by `MatchSpec.tf_prior_citizens` pseudo-citizens: a small register cannot say that a birth
    date is shared by one person in three. `veto` levels
    forbid an automatic link unless the pair also agrees strongly (`MatchSpec.strong`) or, for "always",
    whatever else agrees: they say the record may well be another person.
    """

    name: str
    condition: str
    m: float
    u: float
    tf: str = ""
    veto: str = ""  # "", "always", "unless_strong" or "unless_corroborated"
    # A value missing on one side: no evidence either way (weight 0), and left out when m and u are
    # estimated, so that the other levels' shares are among the pairs where the field can be compared.
    missing: bool = False
    share: float = 0.0  # for a `tf` level: a typical value's share of the population

    @property
    def weight(self) -> float:
        """log2(m / u): the level's whole weight, or for a `tf` level what it adds to log2(1 / share)."""
        return 0.0 if self.missing else math.log2(self.m / self.u)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A field compared on one pair; the first level whose condition holds applies."""

    name: str
    levels: tuple[Level, ...]
    # A cap on the weight of this comparison's `tf` levels: a value carried by one citizen in ten million
    # is not worth more than an ID number.
    tf_max_weight: float = 30.0

    def level(self, name: str) -> Level:
        for lv in self.levels:
            if lv.name == name:
                return lv
        raise KeyError(f"{self.name}: no level {name}")

    def case_sql(self) -> str:
        """The SQL naming the level of a pair."""
        whens = " ".join(f"WHEN {lv.condition} THEN '{lv.name}'" for lv in self.levels[:-1])
        return f"CASE {whens} ELSE '{self.levels[-1].name}' END"

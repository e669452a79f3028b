"""The match specification: versioned, serialisable, stored with every run.

It names the blocking rules, the comparison levels with their weights (log2 Bayes factors), and the
classification: the SQL condition of every level beside its m and u, the vetoes and what overrides them,
and the precision asked, from which the thresholds follow. The spec's digest covers all of it; the pipeline
(`pipeline.py`) only assembles the spec's SQL into steps. Each run estimates m and u on its own data
(`estimate.py`) and stores the spec it decided with. The shipped rules, levels and decision clauses are in `blocking.py`, `defaults.py` and `decisions.py`,
written in the words of `levels.py`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from vaxlink.matching.blocking import DEFAULT_BLOCKING
from vaxlink.matching.decisions import (
    ANOTHER_PERSON,
    CORROBORATED,
    DATED_MEMBER,
    GENERATION_APART,
    PARTIAL_LINK,
    STRONG_AGREEMENT,
)
from vaxlink.matching.defaults import DEFAULT_COMPARISONS
from vaxlink.matching.levels import BlockingRule, Comparison, Level

SPEC_VERSION = "2026.12.22"


def _log2_odds(p: float) -> float:
    return math.log2(p / (1.0 - p))


@dataclass(frozen=True, slots=True)
class MatchSpec:
    version: str = SPEC_VERSION
    blocking: tuple[BlockingRule, ...] = DEFAULT_BLOCKING
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS
    strong: str = STRONG_AGREEMENT
    corroborated: str = CORROBORATED
    # Levels of a best candidate that make the record unmatched rather than a doubt (`decisions.ANOTHER_PERSON`).
    another_person: str = ANOTHER_PERSON
    # A candidate a generation from the record's birth date ranks after a member of its household whom the
    # record's number names and whose full birth date the record carries (`decisions.DATED_MEMBER`).
    generation_apart: str = GENERATION_APART
    dated_member: str = DATED_MEMBER
    # The links held for an officer when the citizen already has the record's dose number on another day
    # (`decisions.PARTIAL_LINK`, over `classified`); empty: none.
    taken_dose_check: str = PARTIAL_LINK
    # Prior odds that a register citizen is the record's person: presence / N, N the register's size
    # (presence: the share of health records whose person is in the register at all).
    presence: float = 0.98
    # The precision asked of one link: a record is linked without a person when the probability that its best
    # candidate is not its person (another candidate is, or nobody in the register is) is at most this. Nearly
    # every link is far surer, so a batch's expected share of wrong links (the sum of its links'
    # probabilities over their number, `RunStats.expected_wrong_links`) stays under 1 in 100,000 on every
    # error mix measured. Below `review_probability` for the best candidate, nobody is worth an officer's
    # look: unmatched.
    max_wrong_link: float = 1e-2
    # Of that, the share that another citizen of the register is the person (a twin, a namesake, a relative):
    # the confusion that puts a dose on someone else's record is held to a tighter bound than the odds that
    # the person is nobody in the register, which rest on the prior alone.
    max_wrong_citizen: float = 1e-3
    review_probability: float = 0.05
    # Estimation from each run's own data: m by expectation-maximisation over the candidate pairs (with the
    # priors above as `prior_strength` pseudo-pairs), u from random pairs where they can count it; no
    # level's weight moves more than `max_shift_bits` from its prior. Off: the priors are the weights.
    # A record takes the evidence of the other records of its health identity only for a citizen its own
    # data single out by at least this many bits.
    borrow_margin: float = 6.0
    estimate: bool = True
    prior_strength: float = 200.0
    max_shift_bits: float = 3.0
    estimation_identities: int = 50_000  # identities sampled for the estimation (all when fewer)
    min_estimation_identities: int = 1_000  # fewer: too little to estimate from, the priors are used
    random_pairs: int = 1_000_000  # random pairs counted for u
    tf_prior_citizens: float = 10_000.0  # pseudo-citizens smoothing the register's value shares
    max_pairs: int = 50_000_000  # guard: refuse to generate more candidate pairs than this
    extra: dict[str, Any] = field(default_factory=dict)

    def comparison(self, name: str) -> Comparison:
        for c in self.comparisons:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def link_threshold(self) -> float:
        """The best candidate's weight (log2 posterior odds) a link needs when it has no rival."""
        return _log2_odds(1.0 - self.max_wrong_link)

    @property
    def review_threshold(self) -> float:
        return _log2_odds(self.review_probability)

    @property
    def min_margin(self) -> float:
        """How far a rival must stay below the best candidate for the rival alone not to forbid the link."""
        return _log2_odds(1.0 - min(self.max_wrong_link, self.max_wrong_citizen))

    def with_levels(self, levels: dict[str, tuple[float, float]], extra: dict[str, Any]) -> MatchSpec:
        """This spec with each named level's (m, u) replaced, and `extra` recorded (the estimation)."""
        comparisons = tuple(
            replace(
                c,
                levels=tuple(
                    replace(lv, m=levels[lv.name][0], u=levels[lv.name][1]) if lv.name in levels else lv
                    for lv in c.levels
                ),
            )
            for c in self.comparisons
        )
        return replace(self, comparisons=comparisons, extra={**self.extra, **extra})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @property
    def digest(self) -> str:
        """Of everything that decides: rules, conditions, parameters, thresholds."""
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
            Comparison(
                c["name"],
                tuple(
                    Level(
                        lv["name"],
                        lv["condition"],
                        lv["m"],
                        lv["u"],
                        lv.get("tf", ""),
                        lv.get("veto", ""),
                        lv.get("missing", False),
                        lv.get("share", 0.0),
                    )
                    for lv in c["levels"]
                ),
                c.get("tf_max_weight", 30.0),
            )
            for c in d.get("comparisons", ())
        )
        rest = {k: v for k, v in d.items() if k not in ("blocking", "comparisons")}
        return replace(
            cls(**rest), blocking=blocking or DEFAULT_BLOCKING, comparisons=comparisons or DEFAULT_COMPARISONS
        )

"""The estimation counts a record's candidates as one person's: at most one of them is the record's.

A record under a relative's number has two candidates that each look true alone: its own person (all but the
number agree) and the number's holder (the number agrees, and nothing else). Counted pair by pair, both are
true pairs, and the holder's other given name, birth date and sex look like slips that true pairs make.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from vaxlink.matching import estimate as estimation
from vaxlink.matching.estimate import em
from vaxlink.matching.prepare import prepare_inputs
from vaxlink.matching.spec import MatchSpec
from vaxlink.simulation import simulate
from vaxlink.simulation.inputs import matcher_inputs

SPEC = MatchSpec()
NAMES = [c.name for c in SPEC.comparisons]
SAME = {
    "id": "ID_EXACT",
    "name": "NAME_EXACT",
    "dob": "DOB_EXACT",
    "sex": "SEX_SAME",
    "ward": "WARD_SAME",
    "address": "ADDRESS_SAME",
    "phone": "PHONE_SAME",
}


def _pattern(**change: str) -> tuple[str, ...]:
    return tuple({**SAME, **change}[n] for n in NAMES)


OWN = _pattern()
# The record's own person, under the relative's number.
OWN_BUT_NUMBER = _pattern(id="ID_OF_OTHER_PERSON")
# The relative who holds the number: one household, nothing else of the record.
HOLDER = _pattern(
    name="NAME_GIVEN_DIFFERS", dob="DOB_DIFFERENT", sex="SEX_DIFFERS", phone="PHONE_OF_HOUSEHOLD"
)
# Somebody else the blocking brought: the name and the birth date of a namesake.
NAMESAKE = _pattern(id="ID_MISSING", ward="WARD_DIFFERS", address="ADDRESS_DIFFERS", phone="PHONE_DIFFERS")
# A stranger with a name a little like the record's, born the same year.
STRANGER = _pattern(
    id="ID_MISSING",
    name="NAME_SIMILAR",
    dob="DOB_SAME_YEAR",
    ward="WARD_DIFFERS",
    address="ADDRESS_DIFFERS",
    phone="PHONE_DIFFERS",
)


def _fit(pairs: bool) -> tuple[dict[str, float], float]:
    # 1,000 records of their own person; 300 under a relative's number; every record with a namesake beside;
    # and 500 of people the register does not hold, with a stranger alone as their candidate.
    records: list[list[tuple[str, ...]]] = [[OWN, NAMESAKE] for _ in range(1000)]
    records += [[OWN_BUT_NUMBER, HOLDER, NAMESAKE] for _ in range(300)]
    records += [[STRANGER] for _ in range(500)]
    patterns = sorted({p for r in records for p in r})
    index = {p: i for i, p in enumerate(patterns)}
    counts = [(p, sum(r.count(p) for r in records)) for p in patterns]
    record = np.array([i for i, r in enumerate(records) for _ in r])
    pattern = np.array([index[p] for r in records for p in r])
    # u as random pairs give it: for a level judged by the value's frequency, its typical share.
    u = {
        lv.name: (lv.share or lv.u) if lv.tf else lv.u
        for c in SPEC.comparisons
        for lv in c.levels
        if not lv.missing
    }
    m, share, _, converged = em(
        counts,
        [c.levels for c in SPEC.comparisons],
        u,
        SPEC.prior_strength,
        start_share=0.5,
        pairs=(record, pattern) if pairs else None,
    )
    assert converged
    return m, share * sum(n for _, n in counts)


def test_a_record_has_one_person_among_its_candidates() -> None:
    m, true_pairs = _fit(pairs=True)
    # One true pair per record of a present person, not two for those under a relative's number; a lone
    # stranger is not taken for the person because nobody else is there.
    assert abs(true_pairs - 1300) < 5
    # The holder's disagreements are not taken for slips of true pairs: near their priors.
    assert m["NAME_GIVEN_DIFFERS"] < 0.005
    assert m["DOB_DIFFERENT"] < 0.005
    assert m["ID_OF_OTHER_PERSON"] > 0.15


def test_counted_pair_by_pair_the_holder_looks_true() -> None:
    # What the sharing prevents: the holder's pairs counted true as well, their disagreements as slips.
    m, true_pairs = _fit(pairs=False)
    assert true_pairs > 1550
    assert m["NAME_GIVEN_DIFFERS"] > 0.05


def test_the_run_s_estimate_gives_each_pair_its_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`estimate` hands `em` every sampled pair with its record and its pattern, in the patterns' order."""
    simulate(tmp_path, province="77", citizens=3000, seed=11, file_format="parquet")
    con = duckdb.connect()
    prepare_inputs(con, *matcher_inputs(tmp_path))
    seen: dict[str, Any] = {}
    real = estimation.em

    def spy(patterns: Any, *args: Any, **kwargs: Any) -> Any:
        seen["patterns"], seen["pairs"] = patterns, kwargs.get("pairs")
        return real(patterns, *args, **kwargs)

    monkeypatch.setattr(estimation, "em", spy)
    spec = estimation.estimate(con, MatchSpec())
    assert spec.extra["estimation"]["converged"]
    record, pattern = seen["pairs"]
    counts = np.array([n for _, n in seen["patterns"]])
    # Every pair once, each pattern's pairs as many as its count; records numbered from 0 without gaps.
    assert len(pattern) == counts.sum() == spec.extra["estimation"]["pairs"]
    assert (np.bincount(pattern, minlength=len(counts)) == counts).all()
    assert record.min() == 0 and len(np.unique(record)) == record.max() + 1
    # Some records have more than one candidate: the sharing has something to share.
    assert np.bincount(record).max() > 1

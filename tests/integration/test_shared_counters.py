"""Counters shared by every server process: many buckets added in one statement give the totals that one
`add` per bucket in turn gives, on both backends."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine, select

from vaxlink.services.access import limits
from vaxlink.storage.db import transaction
from vaxlink.storage.models import RateCounter


def _rows(engine: Engine) -> dict[tuple[str, int], int]:
    with engine.connect() as c:
        return {
            (b, w): h
            for b, w, h in c.execute(select(RateCounter.bucket, RateCounter.window_start, RateCounter.hits))
        }


@pytest.mark.db
def test_add_many_gives_the_totals_of_one_add_per_bucket(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "ADD_MANY_ROWS", 7)  # several statements, a bucket's rows in more than one
    rng = random.Random(11)
    with transaction(engine) as s:
        # Counters already there: some in the window added to, some in the window before.
        for i in range(0, 40, 3):
            limits.add(s, f"t:{i}", 600, i + 1)
            limits.add(s, f"t:{i}", 0, 5)
    counts = {f"t:{i}": rng.randint(1, 4) for i in range(40)}
    expected_rows = _rows(engine)
    expected: dict[str, int] = {}
    for bucket, n in counts.items():
        total = expected_rows.get((bucket, 600), 0) + n
        expected_rows[(bucket, 600)] = total
        expected[bucket] = total
    with transaction(engine) as s:
        totals = limits.add_many(s, counts, 600)
    assert totals == expected
    assert _rows(engine) == expected_rows
    with transaction(engine) as s:
        assert limits.add_many(s, {}, 600) == {}


@pytest.mark.db
def test_add_many_refuses_buckets_that_one_cut_makes_the_same(engine: Engine) -> None:
    long = "x" * 200
    with transaction(engine) as s, pytest.raises(ValueError):
        limits.add_many(s, {long + "a": 1, long + "b": 1}, 0)

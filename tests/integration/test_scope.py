"""Jurisdiction scopes against a world where codes collide: legacy ward 26560 (Phước Trung, district 748,
province 77) and 2025 ward 26560 (Bà Rịa, province 79) are different places with one code; legacy
province 79 and 2025 province 79 cover different wards; no-ward cases wait in the queues of two provinces
of each structure. Each scope sees exactly the rows the table below gives, on every backend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from tests.integration.web import world as w
from vaxlink.domain.permissions import Level
from vaxlink.storage.db import transaction
from vaxlink.storage.models import Case, Citizen, MatchResult, VerificationRequest
from vaxlink.storage.scope import (
    COUNTRY,
    Scope,
    cases_in,
    citizens_in,
    match_results_in,
    nothing,
    verification_requests_in,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)

# Rows: (name, units, ward code, province code of that structure).
ROWS = {
    "A": ("legacy", "26560", "77"),  # Phường Phước Trung, district 748
    "B": ("legacy", "26554", "77"),  # Phường Phước Nguyên, district 748
    "C": ("legacy", "26734", "79"),  # Phường Tân Định, district 760
    "A2025": ("2025", "26560", "79"),  # Phường Bà Rịa: A's code in the 2025 structure
    "none77": ("legacy", None, "77"),
    "none79": ("legacy", None, "79"),
    "none79_2025": ("2025", None, "79"),
}
WARDS = ("A", "B", "C", "A2025")

SCOPES = {
    "country": COUNTRY,
    "province 77": Scope(Level.PROVINCE, "legacy", "77"),
    "province 79": Scope(Level.PROVINCE, "legacy", "79"),
    "province 79 (2025)": Scope(Level.PROVINCE, "2025", "79"),
    "district 748": Scope(Level.DISTRICT, "legacy", "748"),
    "district 760": Scope(Level.DISTRICT, "legacy", "760"),
    "ward A": Scope(Level.WARD, "legacy", "26560"),
    "ward B": Scope(Level.WARD, "legacy", "26554"),
    "ward A (2025)": Scope(Level.WARD, "2025", "26560"),
}

# What each scope sees of the cases, worked out from the unit lists by hand.
CASES_SEEN = {
    "country": set(ROWS),
    "province 77": {"A", "B", "none77"},
    "province 79": {"C", "none79"},
    "province 79 (2025)": {"A2025", "none79_2025"},
    "district 748": {"A", "B"},
    "district 760": {"C"},
    "ward A": {"A"},
    "ward B": {"B"},
    "ward A (2025)": {"A2025"},
}


def _citizen(s: object, name: str) -> Citizen:
    units, ward, _ = ROWS[name]
    assert ward is not None
    c = w.add_citizen(s, ward, f"Nguyễn Văn {name}", born=date(1980, 1, 1))  # type: ignore[arg-type]
    c.current_units = c.permanent_units = units
    return c


@pytest.fixture
def rows(engine: Engine) -> dict[str, dict[str, int]]:
    """Ids by row name: citizens and match results of each ward, cases of each row, and requests."""
    out: dict[str, dict[str, int]] = {"citizen": {}, "case": {}, "result": {}, "request": {}}
    with transaction(engine) as s:
        for n, name in enumerate(ROWS, start=1):
            units, ward, province = ROWS[name]
            k = Case(
                kind="unmatched",
                status="open",
                priority=1,
                ward_code=ward,
                ward_units=units,
                province_code=province,
                created_at=NOW,
                due_at=NOW + timedelta(days=7),
                version=1,
            )
            s.add(k)
            if ward is not None:
                out["citizen"][name] = _citizen(s, name).id
                s.add(
                    MatchResult(
                        dose_record_id=900_000 + n,
                        outcome="unmatched",
                        reasons="",
                        flags="",
                        ward_code=ward,
                        ward_units=units,
                        decided_at=NOW,
                        version=1,
                    )
                )
                out["result"][name] = 900_000 + n
            s.flush()
            out["case"][name] = k.id
        for sender, receiver in (("A", "C"), ("B", "A2025"), ("C", "B")):
            r = VerificationRequest(
                from_units=ROWS[sender][0],
                from_ward_code=ROWS[sender][1],
                to_units=ROWS[receiver][0],
                to_ward_code=ROWS[receiver][1],
                person={"full_name": "Nguyễn Văn X"},
                status="open",
                created_at=NOW,
                created_by="test",
                due_at=NOW + timedelta(days=7),
                version=1,
            )
            s.add(r)
            s.flush()
            out["request"][f"{sender}->{receiver}"] = r.id
    return out


def _seen(engine: Engine, ids: dict[str, int], column: object, clause: object) -> set[str]:
    names = {v: k for k, v in ids.items()}
    with engine.connect() as c:
        found = c.execute(select(column).where(clause)).scalars().all()  # type: ignore[call-overload]
    return {names[i] for i in found if i in names}


@pytest.mark.db
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_cases_each_scope_sees(engine: Engine, rows: dict[str, dict[str, int]], scope_name: str) -> None:
    seen = _seen(engine, rows["case"], Case.id, cases_in(SCOPES[scope_name]))
    assert seen == CASES_SEEN[scope_name]


@pytest.mark.db
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_citizens_and_results_each_scope_sees(
    engine: Engine, rows: dict[str, dict[str, int]], scope_name: str
) -> None:
    # No citizen or result is without a ward: the no-ward queue is the cases' only.
    want = CASES_SEEN[scope_name] & set(WARDS)
    assert _seen(engine, rows["citizen"], Citizen.id, citizens_in(SCOPES[scope_name])) == want
    assert (
        _seen(engine, rows["result"], MatchResult.dose_record_id, match_results_in(SCOPES[scope_name]))
        == want
    )


REQUESTS_SEEN = {
    "country": {"A->C", "B->A2025", "C->B"},
    "province 77": {"A->C", "B->A2025", "C->B"},
    "province 79": {"A->C", "C->B"},
    "province 79 (2025)": {"B->A2025"},
    "district 748": {"A->C", "B->A2025", "C->B"},
    "district 760": {"A->C", "C->B"},
    "ward A": {"A->C"},
    "ward B": {"B->A2025", "C->B"},
    "ward A (2025)": {"B->A2025"},
}


@pytest.mark.db
@pytest.mark.parametrize("scope_name", list(SCOPES))
def test_requests_each_scope_sees(engine: Engine, rows: dict[str, dict[str, int]], scope_name: str) -> None:
    seen = _seen(
        engine, rows["request"], VerificationRequest.id, verification_requests_in(SCOPES[scope_name])
    )
    assert seen == REQUESTS_SEEN[scope_name]


@pytest.mark.db
def test_nothing_is_nothing(engine: Engine, rows: dict[str, dict[str, int]]) -> None:
    assert _seen(engine, rows["case"], Case.id, nothing()) == set()


def test_scope_needs_a_code_below_the_country() -> None:
    for level in (Level.WARD, Level.DISTRICT, Level.PROVINCE):
        with pytest.raises(ValueError):
            Scope(level, "legacy", None)
        with pytest.raises(ValueError):
            Scope(level, "legacy", "")
    assert Scope(Level.COUNTRY).code is None


def test_labels() -> None:
    assert COUNTRY.label == "country"
    assert Scope(Level.WARD, "legacy", "26560").label == "ward:legacy:26560"
    assert Scope(Level.PROVINCE, "2025", "79").label == "province:2025:79"


def test_scopes_are_values() -> None:
    import dataclasses

    s = Scope(Level.WARD, "legacy", "26560")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.code = "26554"  # type: ignore[misc]
    assert {s, Scope(Level.WARD, "legacy", "26560")} == {s}
    assert "__slots__" in Scope.__dict__

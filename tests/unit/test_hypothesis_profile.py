"""The Hypothesis profile each environment runs with: CI draws the same examples every run."""

from __future__ import annotations

from hypothesis import settings

from tests.conftest import hypothesis_profile


def test_ci_selects_the_derandomised_profile() -> None:
    assert hypothesis_profile({"CI": "true"}) == "ci"
    ci = settings.get_profile("ci")
    assert ci.derandomize is True
    assert ci.database is None
    assert ci.deadline is None


def test_outside_ci_the_everyday_profile_and_an_explicit_choice_wins() -> None:
    assert hypothesis_profile({}) == "vaxlink"
    assert hypothesis_profile({"CI": "false"}) == "vaxlink"
    assert hypothesis_profile({"CI": "true", "HYPOTHESIS_PROFILE": "mutation"}) == "mutation"
    assert settings.get_profile("mutation").derandomize is True

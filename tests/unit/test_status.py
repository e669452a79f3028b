"""Vaccination status from linked doses: same-day duplicates count once, one-dose products, mixed series,
boosters; the verifier's colour rule per province; the age bands of the statistics."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.domain.status import (
    AGE_BAND_STARTS,
    NOT_VACCINATED,
    PRIMARY_SERIES,
    Colour,
    ColourRule,
    ColourRules,
    Dose,
    StatusLevel,
    VaccinationStatus,
    age_band,
    age_band_labels,
    derive_status,
    min_interval,
    series_length,
)

AZ, PFIZER, JANSSEN, ABDALA = "EU/1/21/1529", "EU/1/20/1528", "EU/1/20/1525", "Abdala"
D0 = date(2021, 7, 1)

codes = st.sampled_from([*PRIMARY_SERIES, None, "NOT-A-PRODUCT"])
days = st.integers(min_value=0, max_value=600).map(lambda n: D0 + timedelta(days=n))
doses = st.lists(st.builds(Dose, day=days, vaccine_code=codes), max_size=8)


def day(n: int) -> date:
    return D0 + timedelta(days=n)


def test_no_dose_is_not_vaccinated() -> None:
    assert derive_status([]) == NOT_VACCINATED
    assert NOT_VACCINATED.level is StatusLevel.NONE


def test_one_dose_of_a_two_dose_product_is_partial() -> None:
    s = derive_status([Dose(day(0), AZ)])
    assert (s.doses, s.complete_date, s.level) == (1, None, StatusLevel.PARTIAL)


def test_janssen_alone_completes_the_series_and_a_later_dose_is_a_booster() -> None:
    assert derive_status([Dose(day(0), JANSSEN)]).complete_date == day(0)
    s = derive_status([Dose(day(0), JANSSEN), Dose(day(90), PFIZER)])
    assert (s.complete_date, s.boosters, s.level) == (day(0), 1, StatusLevel.BOOSTER)


def test_mixed_two_dose_products_complete_on_the_second_day() -> None:
    s = derive_status([Dose(day(28), PFIZER), Dose(day(0), AZ)])
    assert (s.doses, s.complete_date, s.boosters, s.level) == (2, day(28), 0, StatusLevel.COMPLETE)


def test_a_longer_series_among_the_products_used_waits_for_its_length() -> None:
    s = derive_status([Dose(day(0), PFIZER), Dose(day(28), ABDALA)])
    assert s.level is StatusLevel.PARTIAL
    s = derive_status([Dose(day(0), PFIZER), Dose(day(28), ABDALA), Dose(day(56), PFIZER)])
    assert (s.complete_date, s.boosters) == (day(56), 0)


def test_a_dose_entered_twice_on_one_day_counts_once() -> None:
    s = derive_status([Dose(day(0), AZ), Dose(day(0), AZ), Dose(day(60), AZ), Dose(day(60), AZ)])
    assert (s.doses, s.complete_date, s.boosters) == (2, day(60), 0)


def test_unknown_product_counts_as_a_two_dose_series() -> None:
    assert series_length(None) == series_length("NOT-A-PRODUCT") == 2
    assert derive_status([Dose(day(0), None)]).level is StatusLevel.PARTIAL


# The primary series written out from the products' labels, not read from the module.
_SERIES = {JANSSEN: 1, "Sputnik-Light": 1, ABDALA: 3}


def _reference(ds: list[Dose]) -> VaccinationStatus:
    """The rule read literally: keep the days that come at least the minimum interval (less 4 days) after
    the last kept day; the series is complete on the first kept day whose count reaches the longest
    series among the kept days so far."""
    need: dict[date, int] = {}
    gap: dict[date, int] = {}
    for d in ds:
        need[d.day] = max(need.get(d.day, 0), series_length(d.vaccine_code))
        gap[d.day] = max(gap.get(d.day, 0), min_interval(d.vaccine_code))
    ordered = sorted(need)
    if not ordered:
        return NOT_VACCINATED
    kept: list[date] = []
    k = None
    for i, x in enumerate(ordered, start=1):
        if kept and (x - kept[-1]).days < gap[kept[-1]] - 4:
            continue
        kept.append(x)
        if len(kept) >= max(need[y] for y in kept):
            k = i
            break
    return VaccinationStatus(
        len(ordered),
        ordered[0],
        ordered[-1],
        None if k is None else ordered[k - 1],
        0 if k is None else len(ordered) - k,
    )


# Histories worked out by hand: (doses as (day, product)), doses counted, completion day, boosters, level.
_P = StatusLevel.PARTIAL
HISTORIES = [
    ([], 0, None, 0, StatusLevel.NONE),
    ([(0, AZ)], 1, None, 0, _P),
    ([(0, AZ), (28, AZ)], 2, 28, 0, StatusLevel.COMPLETE),
    ([(0, AZ), (28, AZ), (200, PFIZER)], 3, 28, 1, StatusLevel.BOOSTER),
    ([(0, AZ), (28, AZ), (200, PFIZER), (400, PFIZER)], 4, 28, 2, StatusLevel.BOOSTER),
    ([(0, JANSSEN)], 1, 0, 0, StatusLevel.COMPLETE),
    ([(0, "Sputnik-Light"), (60, AZ)], 2, 0, 1, StatusLevel.BOOSTER),
    ([(0, ABDALA), (14, ABDALA)], 2, None, 0, _P),
    ([(0, ABDALA), (14, ABDALA), (28, ABDALA)], 3, 28, 0, StatusLevel.COMPLETE),
    ([(0, ABDALA), (14, ABDALA), (28, ABDALA), (100, ABDALA)], 4, 28, 1, StatusLevel.BOOSTER),
    # Pfizer first, Abdala second: the series now needs three days.
    ([(0, PFIZER), (28, ABDALA), (56, PFIZER), (90, PFIZER)], 4, 56, 1, StatusLevel.BOOSTER),
    # Janssen after one AZ dose: one product of one dose on day 2, the two days complete the series.
    ([(0, AZ), (30, JANSSEN)], 2, 30, 0, StatusLevel.COMPLETE),
    # Same day twice (a record typed twice): one dose; AZ and Abdala on one day: Abdala's three count.
    ([(0, AZ), (0, AZ)], 1, None, 0, _P),
    ([(0, AZ), (0, ABDALA), (20, AZ)], 2, None, 0, _P),
    # Day 5 is too close to day 0 to count towards the series (the minimum interval): day 40 completes it.
    ([(5, PFIZER), (0, None), (40, "NOT-A-PRODUCT")], 3, 40, 0, StatusLevel.COMPLETE),
]


@pytest.mark.parametrize(("history", "n", "complete", "boosters", "level"), HISTORIES)
def test_status_of_histories_worked_out_by_hand(
    history: list[tuple[int, str | None]], n: int, complete: int | None, boosters: int, level: StatusLevel
) -> None:
    s = derive_status([Dose(day(d), code) for d, code in history])
    first = min((d for d, _ in history), default=None)
    last = max((d for d, _ in history), default=None)
    assert s == VaccinationStatus(
        doses=n,
        first_dose_date=None if first is None else day(first),
        last_dose_date=None if last is None else day(last),
        complete_date=None if complete is None else day(complete),
        boosters=boosters,
    )
    assert s.level is level


def test_series_lengths_of_the_products() -> None:
    assert series_length(JANSSEN) == 1
    assert series_length("Sputnik-Light") == 1
    assert series_length(ABDALA) == 3
    assert series_length(AZ) == series_length(PFIZER) == 2
    assert series_length(None) == 2


def test_levels_in_vietnamese() -> None:
    assert StatusLevel.NONE.label_vi == "Chưa tiêm"
    assert StatusLevel.BOOSTER.label_vi == "Đã tiêm mũi nhắc lại"
    assert (
        Colour.GREEN.label_vi == "Xanh" and Colour.RED.label_vi == "Đỏ" and Colour.YELLOW.label_vi == "Vàng"
    )


@given(doses)
def test_status_follows_the_written_rule(ds: list[Dose]) -> None:
    assert derive_status(ds) == _reference(ds)


@given(doses, st.randoms(use_true_random=False))
def test_order_of_records_does_not_matter(ds: list[Dose], rnd: object) -> None:
    shuffled = list(ds)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert derive_status(shuffled) == derive_status(ds)


@given(doses, st.data())
def test_duplicates_of_a_dose_change_nothing(ds: list[Dose], data: st.DataObject) -> None:
    if not ds:
        return
    again = data.draw(st.sampled_from(ds))
    assert derive_status([*ds, again]) == derive_status(ds)


@given(doses, codes)
def test_a_later_dose_never_undoes_a_complete_series(ds: list[Dose], code: str | None) -> None:
    before = derive_status(ds)
    later = Dose((before.last_dose_date or D0) + timedelta(days=30), code)
    after = derive_status([*ds, later])
    assert after.doses == before.doses + 1
    if before.complete_date is not None:
        assert after.complete_date == before.complete_date
        assert after.boosters == before.boosters + 1


@given(doses)
def test_counts_are_consistent(ds: list[Dose]) -> None:
    s = derive_status(ds)
    assert s.doses == len({d.day for d in ds})
    assert 0 <= s.boosters < max(s.doses, 1)
    if s.complete_date is not None:
        assert s.first_dose_date is not None and s.last_dose_date is not None
        assert s.first_dose_date <= s.complete_date <= s.last_dose_date
    assert (s.level is StatusLevel.BOOSTER) == (s.boosters > 0)


def test_doses_closer_than_the_minimum_interval_do_not_complete_a_series() -> None:
    # AstraZeneca twice one day apart: two doses, no complete series.
    s = derive_status([Dose(day(0), AZ), Dose(day(1), AZ)])
    assert s.doses == 2 and s.level is StatusLevel.PARTIAL
    # A third dose at the interval after the first counted dose completes it, and is no booster.
    s = derive_status([Dose(day(0), AZ), Dose(day(1), AZ), Dose(day(28), AZ)])
    assert s.level is StatusLevel.COMPLETE and s.complete_date == day(28) and s.boosters == 0
    # Pfizer's 21 days, with the usual 4 days' grace.
    assert derive_status([Dose(day(0), PFIZER), Dose(day(17), PFIZER)]).level is StatusLevel.COMPLETE
    assert derive_status([Dose(day(0), PFIZER), Dose(day(16), PFIZER)]).level is StatusLevel.PARTIAL


def test_an_additional_dose_is_no_booster() -> None:
    # Liều bổ sung completes the protection of the primary series; only liều nhắc lại is a booster.
    s = derive_status([Dose(day(0), AZ), Dose(day(28), AZ), Dose(day(120), PFIZER, additional=True)])
    assert s.doses == 3 and s.boosters == 0 and s.level is StatusLevel.COMPLETE
    s = derive_status(
        [Dose(day(0), AZ), Dose(day(28), AZ), Dose(day(120), PFIZER, additional=True), Dose(day(300), PFIZER)]
    )
    assert s.boosters == 1 and s.level is StatusLevel.BOOSTER


# --- colours ------------------------------------------------------------------------------------------


def test_green_ends_after_the_validity_period_configured_per_province() -> None:
    complete = derive_status([Dose(day(0), AZ), Dose(day(28), AZ)])
    assert ColourRule().colour(complete, day(28 + 400)) is Colour.GREEN  # no period: the default
    rules = ColourRules.from_json(json.dumps({"provinces": {"79": {"valid_days": 365, "expired": "red"}}}))
    assert rules.for_province("79").colour(complete, day(28 + 364)) is Colour.GREEN
    assert rules.for_province("79").colour(complete, day(28 + 400)) is Colour.RED
    assert rules.for_province("01").colour(complete, day(28 + 400)) is Colour.GREEN
    # A booster starts the period again.
    boosted = derive_status([Dose(day(0), AZ), Dose(day(28), AZ), Dose(day(300), PFIZER)])
    assert rules.for_province("79").colour(boosted, day(28 + 400)) is Colour.GREEN


def test_default_colour_rule_green_fourteen_days_after_completion() -> None:
    rule = ColourRule()
    complete = derive_status([Dose(day(0), AZ), Dose(day(28), AZ)])
    assert rule.colour(complete, day(28 + 13)) is Colour.YELLOW
    assert rule.colour(complete, day(28 + 14)) is Colour.GREEN
    assert rule.colour(derive_status([Dose(day(0), AZ)]), day(400)) is Colour.YELLOW
    assert rule.colour(NOT_VACCINATED, day(400)) is Colour.RED


# (doses as (day, product), green_after_days, today as a day number, colour), worked out by hand.
COLOURS = [
    ([(0, AZ), (28, AZ)], 14, 41, Colour.YELLOW),
    ([(0, AZ), (28, AZ)], 14, 42, Colour.GREEN),
    ([(0, AZ), (28, AZ)], 14, 400, Colour.GREEN),
    ([(0, AZ), (28, AZ)], 0, 28, Colour.GREEN),
    ([(0, AZ), (28, AZ)], 0, 27, Colour.YELLOW),
    ([(0, AZ), (28, AZ)], 1, 28, Colour.YELLOW),
    ([(0, AZ), (28, AZ)], 1, 29, Colour.GREEN),
    ([(0, JANSSEN)], 14, 14, Colour.GREEN),
    ([(0, JANSSEN)], 14, 13, Colour.YELLOW),
    ([(0, AZ)], 0, 900, Colour.YELLOW),
    ([], 0, 900, Colour.RED),
]


@pytest.mark.parametrize(("history", "wait", "today", "colour"), COLOURS)
def test_colour_of_histories_worked_out_by_hand(
    history: list[tuple[int, str]], wait: int, today: int, colour: Colour
) -> None:
    s = derive_status([Dose(day(d), code) for d, code in history])
    assert ColourRule(green_after_days=wait).colour(s, day(today)) is colour


def test_colours_of_a_rule_come_from_its_configuration() -> None:
    rule = ColourRule.from_mapping({"waiting": "red", "partial": "green", "none": "yellow"})
    complete = derive_status([Dose(day(0), AZ), Dose(day(28), AZ)])
    assert rule.green_after_days == 14
    assert rule.colour(complete, day(30)) is Colour.RED
    assert rule.colour(derive_status([Dose(day(0), AZ)]), day(30)) is Colour.GREEN
    assert rule.colour(NOT_VACCINATED, day(30)) is Colour.YELLOW
    assert ColourRule.from_mapping({"green_after_days": 365}).green_after_days == 365
    assert ColourRule.from_mapping({"green_after_days": 0}).green_after_days == 0


@pytest.mark.parametrize(
    "text",
    ["[]", '"x"', '{"provinces": []}', '{"provinces": {"79": {"colour": "red"}}}', '{"default": {"x": 1}}'],
)
def test_bad_colour_rules_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ColourRules.from_json(text)


def test_province_rules_from_configuration() -> None:
    rules = ColourRules.from_json(
        json.dumps(
            {
                "default": {"green_after_days": 14},
                "provinces": {"79": {"green_after_days": 0, "partial": "red"}},
            }
        )
    )
    partial = derive_status([Dose(day(0), AZ)])
    complete = derive_status([Dose(day(0), AZ), Dose(day(28), AZ)])
    assert rules.for_province("79").colour(complete, day(28)) is Colour.GREEN
    assert rules.for_province("79").colour(partial, day(28)) is Colour.RED
    assert rules.for_province("01").colour(complete, day(28)) is Colour.YELLOW
    assert rules.for_province(None) == ColourRule()
    assert ColourRules.from_json("").default == ColourRule()


@pytest.mark.parametrize(
    "bad",
    [
        {"green_after_days": -1},
        {"green_after_days": "14"},
        {"orange": "x"},
        {"partial": "blue"},
        {"valid_days": 0},
        {"valid_days": "365"},
        {"green_after_days": 366},
        {"green_after_days": True},
        {"green_after_days": 14.0},
    ],
)
def test_bad_colour_configuration_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ColourRule.from_mapping(bad)


# --- age bands ------------------------------------------------------------------------------------------


def test_age_bands_cover_every_age_once() -> None:
    labels = age_band_labels()
    assert labels[0] == "0-4" and labels[-1] == "65+"
    assert [age_band(a) for a in AGE_BAND_STARTS] == list(labels)
    assert age_band(4) == "0-4" and age_band(17) == "12-17" and age_band(120) == "65+"


@given(st.integers(min_value=0, max_value=130))
def test_age_band_contains_the_age(age: int) -> None:
    label = age_band(age)
    low, _, high = label.partition("-")
    assert int(low.rstrip("+")) <= age
    if high:
        assert age <= int(high)


# The bands written out, with the ages on each side of every boundary (the age is the difference of years).
AGE_BANDS = [
    (0, "0-4"),
    (4, "0-4"),
    (5, "5-11"),
    (11, "5-11"),
    (12, "12-17"),
    (17, "12-17"),
    (18, "18-49"),
    (49, "18-49"),
    (50, "50-64"),
    (64, "50-64"),
    (65, "65+"),
    (120, "65+"),
]


@pytest.mark.parametrize(("age", "band"), AGE_BANDS)
def test_age_band_at_each_boundary(age: int, band: str) -> None:
    assert age_band(age) == band


def test_age_band_labels_in_order() -> None:
    assert age_band_labels() == ("0-4", "5-11", "12-17", "18-49", "50-64", "65+")


def test_a_birth_year_after_the_reference_year_counts_in_the_youngest_band() -> None:
    # A register error (born "after" the statistics' year): counted, never dropped.
    assert age_band(-1) == "0-4"


def test_status_values_are_immutable_and_slotted() -> None:
    import dataclasses

    s = derive_status([Dose(day(0), AZ)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.doses = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Dose(day(0), AZ).day = day(1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ColourRules().default = ColourRule()  # type: ignore[misc]
    for cls in (Dose, VaccinationStatus, ColourRule):
        assert "__slots__" in cls.__dict__, cls

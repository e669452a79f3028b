"""The match specification as an object: its defaults as the documentation states them, its blocking rules,
and its round trip through the JSON stored with every batch."""

from __future__ import annotations

import dataclasses
import json

import pytest

from vaxlink.matching.blocking import DEFAULT_BLOCKING
from vaxlink.matching.levels import BlockingRule, Comparison, Level
from vaxlink.matching.spec import MatchSpec

# docs/matching.md: the estimation and the decision's parameters.
DEFAULTS = {
    "presence": 0.98,
    "max_wrong_link": 1e-2,
    "max_wrong_citizen": 1e-3,
    "review_probability": 0.05,
    "borrow_margin": 6.0,
    "estimate": True,
    "prior_strength": 200.0,
    "max_shift_bits": 3.0,
    "estimation_identities": 50_000,
    "min_estimation_identities": 1_000,
    "random_pairs": 1_000_000,
    "tf_prior_citizens": 10_000.0,
    "max_pairs": 50_000_000,
}

# name, keys, cap of citizens per key, record filter, citizen filter
PROVINCE_CAP = 60
BLOCKING = [
    ("id", ("id12",), None, "", ""),
    ("old_id", ("id9",), None, "", ""),
    ("name_dob", ("name_key", "dob"), None, "", ""),
    ("name_swapped", ("name_key", "dob_year", "dob_month=dob_day", "dob_day=dob_month"), None, "", ""),
    ("sorted_name_dob", ("sorted_key", "dob"), None, "", ""),
    ("name_letters_dob", ("name_sig", "dob"), 50, "", ""),
    ("id_tail_given", ("id_tail", "given_key"), None, "", ""),
    (
        "id_household_given",
        ("id_household=household_id", "given_key"),
        None,
        "r.given_key <> r.holder_given_key",
        "",
    ),
    (
        "id_household_dob",
        ("id_household=household_id", "dob"),
        None,
        "r.holder_dob IS NULL OR r.dob <> r.holder_dob",
        "",
    ),
    ("phone_given", ("phone", "given_key"), 50, "", ""),
    ("phone_family", ("phone", "family_key"), 50, "", ""),
    ("phone_year", ("phone", "dob_year"), 50, "", ""),
    ("name_year_month", ("province", "name_key", "dob_year", "dob_month"), PROVINCE_CAP, "", ""),
    ("name_year_day", ("province", "name_key", "dob_year", "dob_day"), PROVINCE_CAP, "", ""),
    ("name_month_day", ("province", "name_key", "dob_month", "dob_day"), PROVINCE_CAP, "", ""),
    (
        "name_lunar_first",
        ("province", "name_key", "lunar_first=dob_ym"),
        PROVINCE_CAP,
        "r.id12 IS NULL",
        "",
    ),
    (
        "name_lunar_last",
        ("province", "name_key", "lunar_last=dob_ym"),
        PROVINCE_CAP,
        "r.id12 IS NULL",
        "",
    ),
    ("given_dob", ("province", "given_key", "dob"), PROVINCE_CAP, "", ""),
    ("family_middle_dob", ("province", "family_key", "middle_key", "dob"), PROVINCE_CAP, "", ""),
    ("family_given_dob", ("province", "family_key", "given_key", "dob"), PROVINCE_CAP, "", ""),
    (
        "name_year_record_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        "r.dob_precision <> 'day' OR (r.dob_precision = 'day' AND r.dob_month = 1 AND r.dob_day = 1)",
        "",
    ),
    (
        "name_year_citizen_imprecise",
        ("province", "name_key", "dob_year"),
        400,
        "",
        "c.dob_precision <> 'day' OR (c.dob_precision = 'day' AND c.dob_month = 1 AND c.dob_day = 1)",
    ),
]


def test_the_defaults_are_the_documented_ones() -> None:
    spec = MatchSpec()
    assert {k: getattr(spec, k) for k in DEFAULTS} == DEFAULTS


def test_the_blocking_rules() -> None:
    got = [
        (b.name, b.keys, b.max_citizens_per_key, b.record_filter, b.citizen_filter) for b in DEFAULT_BLOCKING
    ]
    assert got == BLOCKING
    assert MatchSpec().blocking == DEFAULT_BLOCKING


def test_a_key_names_one_column_or_a_record_column_and_a_citizen_column() -> None:
    rule = next(b for b in DEFAULT_BLOCKING if b.name == "name_swapped")
    assert rule.sides() == [
        ("name_key", "name_key"),
        ("dob_year", "dob_year"),
        ("dob_month", "dob_day"),
        ("dob_day", "dob_month"),
    ]
    assert BlockingRule("x", ("a=b=c",)).sides() == [("a", "b=c")]


def test_the_spec_survives_its_json() -> None:
    spec = MatchSpec(max_wrong_link=1e-4, estimate=False, extra={"estimation": {"pairs": 3}})
    spec = spec.with_levels({"SEX_SAME": (0.9, 0.45)}, {})
    back = MatchSpec.from_dict(json.loads(spec.to_json()))
    assert back == spec
    assert back.digest == spec.digest


def test_a_stored_spec_may_leave_out_what_has_a_default() -> None:
    stored = {
        "version": "old",
        "blocking": [{"name": "id", "keys": ["id12"]}],
        "comparisons": [
            {
                "name": "sex",
                "levels": [
                    {"name": "SEX_SAME", "condition": "r.sex = c.sex", "m": 0.9, "u": 0.5},
                    {"name": "SEX_DIFFERS", "condition": "", "m": 0.1, "u": 0.5},
                ],
            }
        ],
    }
    spec = MatchSpec.from_dict(stored)
    assert spec.version == "old"
    assert spec.blocking == (BlockingRule("id", ("id12",), None, "", ""),)
    same = Level("SEX_SAME", "r.sex = c.sex", 0.9, 0.5, "", "", False, 0.0)
    assert spec.comparisons == (Comparison("sex", (same, Level("SEX_DIFFERS", "", 0.1, 0.5)), 30.0),)
    assert spec.max_wrong_link == DEFAULTS["max_wrong_link"]


def test_an_empty_stored_spec_is_the_default() -> None:
    assert MatchSpec.from_dict({}) == MatchSpec()


def test_with_levels_replaces_the_named_levels_only() -> None:
    spec = MatchSpec().with_levels(
        {"PHONE_SAME": (0.5, 0.25), "NOT_A_LEVEL": (0.1, 0.1)}, {"estimation": {"n": 1}}
    )
    phone = spec.comparison("phone")
    assert (phone.level("PHONE_SAME").m, phone.level("PHONE_SAME").u) == (0.5, 0.25)
    assert phone.level("PHONE_DIFFERS") == MatchSpec().comparison("phone").level("PHONE_DIFFERS")
    others = [c for c in spec.comparisons if c.name != "phone"]
    assert others == [c for c in MatchSpec().comparisons if c.name != "phone"]
    assert spec.extra == {"estimation": {"n": 1}}
    assert spec.with_levels({}, {"more": 2}).extra == {"estimation": {"n": 1}, "more": 2}
    assert spec.digest != MatchSpec().digest


def test_unknown_names_are_refused() -> None:
    with pytest.raises(KeyError):
        MatchSpec().comparison("passport")
    with pytest.raises(KeyError):
        MatchSpec().comparison("name").level("NAME_NICKNAME")
    assert MatchSpec().comparison("dob").level("DOB_NEAR").name == "DOB_NEAR"
    assert MatchSpec().comparison("dob").name == "dob"


def test_a_missing_level_weighs_nothing_whatever_its_m_and_u() -> None:
    lv = Level("X", "", 0.5, 0.01, missing=True)
    assert lv.weight == 0.0
    assert dataclasses.replace(lv, missing=False).weight == pytest.approx(5.643856, abs=1e-6)


def test_the_stored_form_is_canonical_json() -> None:
    # Keys in order and text as written: the digest names the same spec on every machine, and the stored
    # spec reads as it was written.
    spec = MatchSpec(extra={"note": "Hùng"})
    text = spec.to_json()
    assert "Hùng" in text
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert text == json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False)
    assert len(spec.digest) == 12 and int(spec.digest, 16) >= 0
    assert spec.digest == MatchSpec(extra={"note": "Hùng"}).digest != MatchSpec().digest


@pytest.mark.parametrize(
    "value",
    [
        MatchSpec(),
        DEFAULT_BLOCKING[0],
        MatchSpec().comparisons[0],
        MatchSpec().comparisons[0].levels[0],
    ],
    ids=["spec", "blocking rule", "comparison", "level"],
)
def test_the_spec_and_its_parts_cannot_change_once_made(value: object) -> None:
    field = "version" if isinstance(value, MatchSpec) else "name"
    # A frozen class with slots refuses through its base class's check (a TypeError on Python 3.11).
    with pytest.raises((dataclasses.FrozenInstanceError, TypeError)):
        setattr(value, field, "other")
    assert getattr(value, field) != "other"
    assert not hasattr(value, "__dict__")

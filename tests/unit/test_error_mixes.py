"""The simulator's error kinds beyond the default mix, and the mixes the generalisation benchmark draws."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vaxlink.domain.dates import PartialDate, parse_date
from vaxlink.domain.names import canonical_name
from vaxlink.simulation import ErrorRates, simulate
from vaxlink.simulation.addresses import address_variants, in_other_ward, strip_marks
from vaxlink.simulation.rates import (
    ALWAYS_ON,
    BASE_RATES,
    EXCLUSIVE_GROUPS,
    MAX_GROUP_RATE,
    MAX_RATE,
)
from vaxlink.simulation.units import ward_table

from .test_simulation import Province, Row, _rate_ok

NEW_KINDS = (
    "name_given_typo",
    "name_family_typo",
    "dob_day_off",
    "dob_year_off",
    "ward_wrong_same_address",
    "address_variant",
    "phone_relative",
)
# The default mix, and the files of a default simulation, as they were before the kinds above existed.
DEFAULT_MIX = {
    "absent_person": 0.015,
    "dob_day_month_swapped": 0.008,
    "dob_digit": 0.005,
    "dob_year_only": 0.003,
    "duplicate": 0.008,
    "id_digit_typo": 0.008,
    "id_household_member": 0.004,
    "id_lost_leading_zero": 0.02,
    "id_missing": 0.035,
    "id_old_cmnd": 0.04,
    "id_transposed": 0.004,
    "name_given_first": 0.003,
    "name_middle_dropped": 0.008,
    "name_nfd": 0.015,
    "name_no_diacritics": 0.04,
    "name_tone_placement": 0.005,
    "name_typo": 0.008,
    "name_upper": 0.025,
    "sex_missing": 0.01,
    "sex_wrong": 0.003,
    "ward_missing": 0.02,
    "ward_wrong": 0.01,
}
DEFAULT_FILES_SHA256 = "2b72d127df9b31d8d21f3d57e058798cabfab2c109a22836e489fd82c95e027e"
MIX = replace(
    ErrorRates(),
    name_given_typo=0.02,
    name_family_typo=0.02,
    dob_day_off=0.03,
    dob_year_off=0.03,
    ward_wrong_same_address=0.03,
    address_variant=0.05,
    phone_relative=0.05,
)
NAME_KINDS = {
    "name_no_diacritics",
    "name_nfd",
    "name_tone_placement",
    "name_upper",
    "name_typo",
    "name_given_typo",
    "name_family_typo",
    "name_middle_dropped",
    "name_given_first",
}


class MixedProvince(Province):
    def __init__(self, out: Path) -> None:
        self.summary = simulate(out, citizens=10_000, seed=5, errors=MIX)
        super()._load()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> MixedProvince:
    return MixedProvince(tmp_path_factory.mktemp("mixed"))


def _with(province: Province, kind: str) -> list[tuple[Row, Row, set[str]]]:
    """(record, its citizen, its error kinds) of the records carrying `kind` whose person is registered."""
    out = []
    for d in province.doses:
        errs = province.errors(d)
        c = province.citizen(d)
        if kind in errs and c is not None:
            out.append((d, c, errs))
    assert len(out) > 20, kind
    return out


def _day(text: str | None) -> dt.date:
    d = parse_date(text or "")
    assert isinstance(d, PartialDate) and d.month and d.day
    return dt.date(d.year, d.month, d.day)


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _fold(text: str) -> str:
    return strip_marks(text).lower()


def test_default_mix_and_default_files_are_unchanged(tmp_path: Path) -> None:
    rates = ErrorRates()
    assert {k: v for k, v in rates.as_dict().items() if v} == DEFAULT_MIX
    assert all(getattr(rates, k) == 0.0 for k in NEW_KINDS)
    summary = simulate(tmp_path, citizens=3000, seed=11)
    digest = hashlib.sha256()
    for name in ("register", "doses", "truth"):
        digest.update(summary.files[name].read_bytes())
    assert digest.hexdigest() == DEFAULT_FILES_SHA256


def test_new_kinds_are_exclusive_with_their_neighbours() -> None:
    group_of = {kind: group for group in EXCLUSIVE_GROUPS for kind in group}
    assert {"dob_day_off", "dob_year_off"} <= set(group_of["dob_digit"])
    assert "ward_wrong_same_address" in group_of["ward_wrong"]
    assert {"name_given_typo", "name_family_typo"} <= set(group_of["name_typo"])
    with pytest.raises(ValueError):
        ErrorRates(dob_digit=0.6, dob_day_off=0.5)


def test_new_kinds_occur_at_their_rates(mixed: MixedProvince) -> None:
    n = len(mixed.truth)
    for kind in NEW_KINDS:
        count = mixed.summary.error_counts[kind]
        assert _rate_ok(count, n, getattr(MIX, kind)), (kind, count / n)
    # Kinds combine: some records carry a new kind together with an old one.
    combined = sum(1 for t in mixed.truth if t["errors"] and "address_variant" in t["errors"].split(";")[1:])
    assert combined > 0


def test_dob_day_off_is_exactly_one_day_from_the_truth(mixed: MixedProvince) -> None:
    records = _with(mixed, "dob_day_off")
    months = 0
    for d, c, _ in records:
        got, want = _day(d["date_of_birth"]), _day(c["date_of_birth"])
        assert abs((got - want).days) == 1
        months += got.month != want.month
    # Some cross a month's end (one in about fifteen).
    assert months > 0


def test_dob_year_off_keeps_day_and_month(mixed: MixedProvince) -> None:
    steps = set()
    for d, c, _ in _with(mixed, "dob_year_off"):
        got, want = _day(d["date_of_birth"]), _day(c["date_of_birth"])
        assert (got.month, got.day) == (want.month, want.day)
        assert abs(got.year - want.year) in (1, 10)
        steps.add(abs(got.year - want.year))
    assert steps == {1, 10}


@pytest.mark.parametrize(("kind", "position"), [("name_given_typo", -1), ("name_family_typo", 0)])
def test_name_typo_kinds_touch_their_part_of_the_name(mixed: MixedProvince, kind: str, position: int) -> None:
    checked = 0
    for d, c, errs in _with(mixed, kind):
        if errs & NAME_KINDS != {kind}:
            continue
        got, want = canonical_name(d["full_name"] or "").split(), (c["full_name"] or "").split()
        assert len(got) == len(want)
        differ = [i for i in range(len(want)) if got[i] != want[i]]
        assert differ == [position % len(want)]
        checked += 1
    assert checked > 20


def test_address_variant_folds_to_other_text_and_keeps_the_house_numbers(mixed: MixedProvince) -> None:
    # On the register's own addresses (full style, in the province): every variant differs once folded
    # and keeps the numbers of the local part (house number, alley, group).
    full = sorted({r["address"] for r in mixed.register if r["address"] and r["address"].count(", ") == 3})
    rng = np.random.default_rng(1)
    variants = address_variants(rng, full, np.zeros(len(full), np.int64))
    kinds = set()
    for before, after in zip(full, variants, strict=True):
        assert after is not None and _fold(after) != _fold(before)
        local = ", ".join(before.split(", ")[:2])
        assert sorted(_numbers(local)) == sorted(_numbers(after)[: len(_numbers(local))])
        kinds.add(
            "tail" if after.count(", ") < 3 else "abbreviated" if "Đ." in after or "P." in after else "other"
        )
    assert {"tail", "abbreviated", "other"} <= kinds
    # In the batch: the house number of people living at their registered urban home is still there.
    checked = 0
    for d, c, errs in _with(mixed, "address_variant"):
        if c["current_ward_code"] or not (c["address"] or "").startswith("Số ") or "ward_wrong" in errs:
            continue
        house = _numbers(c["address"] or "")[0]
        assert house in _numbers(d["address"] or ""), (d["address"], c["address"])
        checked += 1
    assert checked > 10


def test_ward_wrong_same_address_names_the_other_ward_after_ones_own_street(mixed: MixedProvince) -> None:
    wards = ward_table()
    index = {code: i for i, code in enumerate(wards.code.to_pylist())}
    names, shorts = wards.name.to_pylist(), wards.short.to_pylist()
    for d, c, errs in _with(mixed, "ward_wrong_same_address"):
        home = c["current_ward_code"] or c["permanent_ward_code"]
        assert d["ward_code"] and d["ward_code"] != home
        if "address_variant" in errs:
            continue
        w = index[d["ward_code"]]
        parts = (d["address"] or "").split(", ")
        assert names[w] in parts or shorts[w] in parts
        if not c["current_ward_code"] and (c["address"] or "").startswith("Số "):
            assert _numbers(c["address"] or "")[0] == _numbers(d["address"] or "")[0]
    assert in_other_ward(
        ["Số 3, Đường A, Phường B, Thành phố C"], np.zeros(1, np.int64), ["Phường D"], ["X"]
    ) == ["Số 3, Đường A, Phường D, X"]


def test_phone_relative_is_a_household_members_number(mixed: MixedProvince) -> None:
    household = {r["personal_id"]: r["household_id"] for r in mixed.register}
    # Phones of each household: in the register, and on the members' records without this error.
    phones: defaultdict[str, set[str]] = defaultdict(set)
    own: dict[str, str | None] = {}
    for r in mixed.register:
        if r["phone"]:
            phones[r["household_id"]].add(r["phone"])
    for d in mixed.doses:
        c = mixed.citizen(d)
        if c is not None and "phone_relative" not in mixed.errors(d):
            own[c["personal_id"] or ""] = d["phone"]
            if d["phone"]:
                phones[household[c["personal_id"]]].add(d["phone"])
    records = _with(mixed, "phone_relative")
    found = 0
    for d, c, _ in records:
        assert d["phone"] and d["phone"] != own.get(c["personal_id"] or "")
        found += d["phone"] in phones[household[c["personal_id"]]]
    # A member who is neither vaccinated nor shown with a phone in the register cannot be seen here.
    assert found >= 0.95 * len(records)


def test_random_mixes_are_reproducible_vary_and_stay_in_bounds() -> None:
    assert ErrorRates.from_seed(3) == ErrorRates.from_seed(3)
    mixes = [ErrorRates.from_seed(k) for k in range(40)]
    assert len({m.as_dict().values().__repr__() for m in mixes}) == 40
    base = ErrorRates.base().as_dict()
    assert all(base[k] == v for k, v in BASE_RATES.items())
    off = concentrated = 0
    for m in mixes:
        rates = m.as_dict()
        for kind, rate in rates.items():
            assert 0.0 <= rate <= min(MAX_RATE, 8 * base[kind]) + 1e-12, (kind, rate)
            assert kind not in ALWAYS_ON or rate >= 0.2 * base[kind] - 1e-12
            off += rate == 0.0
            concentrated += rate > 5 * base[kind]
        for group in EXCLUSIVE_GROUPS:
            assert sum(rates[k] for k in group) <= MAX_GROUP_RATE + 1e-9
        # Every new kind is drawn too, around its base rate.
        assert any(rates[k] > 0 for k in NEW_KINDS)
    assert off > 40 and concentrated > 5
    for kind in base:
        values = [m.as_dict()[kind] for m in mixes]
        assert max(values) > 2 * min(v for v in values if v > 0) and len(set(values)) > 25


def test_named_mixes(tmp_path: Path) -> None:
    default = ErrorRates()
    assert ErrorRates.named("default") == default
    assert ErrorRates.named("x3") == default.scaled(3.0)
    assert ErrorRates.named("random", 7) == ErrorRates.from_seed(7) != ErrorRates.named("random", 8)
    poor = ErrorRates.named("poor")
    assert poor.id_missing > 5 * default.id_missing and poor.absent_person > 3 * default.absent_person
    assert poor.ward_wrong > default.ward_wrong and poor.dob_year_only > default.dob_year_only
    for kind in ErrorRates.kinds():
        raised = ErrorRates.named(f"raise:{kind}")
        assert getattr(raised, kind) >= max(0.05, getattr(default, kind))
        assert {k: v for k, v in raised.as_dict().items() if k != kind} == {
            k: v for k, v in default.as_dict().items() if k != kind
        }
    for bad in ("raise:nothing", "x4", ""):
        with pytest.raises(ValueError):
            ErrorRates.named(bad)
    # A raised kind shows in the batch at its rate.
    summary = simulate(tmp_path, citizens=3000, seed=2, errors=ErrorRates.leave_one_kind_out("dob_day_off"))
    assert _rate_ok(summary.error_counts["dob_day_off"], summary.dose_records, 0.05)


def test_simulate_command_takes_a_mix(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vaxlink.cli.main import app

    runner = CliRunner()
    args = ["simulate", "--citizens", "1500", "--seed", "4", "--format", "parquet"]
    done = runner.invoke(app, [*args, "--out", str(tmp_path / "cli"), "--mix", "random", "--mix-seed", "3"])
    assert done.exit_code == 0, done.output
    direct = simulate(
        tmp_path / "direct", citizens=1500, seed=4, errors=ErrorRates.from_seed(3), file_format="parquet"
    )
    for name in ("register", "doses", "truth"):
        assert (tmp_path / "cli" / f"{name}.parquet").read_bytes() == direct.files[name].read_bytes()
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "bad"), "--mix", "raise:nothing"])
    assert refused.exit_code == 2

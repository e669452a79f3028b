"""How often each kind of error is written into the synthetic dose batch, and the names of the kinds."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np

# Kinds that cannot occur together on one record (one ID number, one way of writing the name's letters,
# one date of birth, one sex, one ward); within a group the rates add up.
EXCLUSIVE_GROUPS: tuple[tuple[str, ...], ...] = (
    (
        "id_missing",
        "id_old_cmnd",
        "id_lost_leading_zero",
        "id_digit_typo",
        "id_transposed",
        "id_household_member",
    ),
    ("name_no_diacritics", "name_nfd", "name_tone_placement"),
    ("name_typo", "name_given_typo", "name_family_typo"),
    ("dob_year_only", "dob_day_month_swapped", "dob_digit", "dob_day_off", "dob_year_off"),
    ("sex_wrong", "sex_missing"),
    ("ward_wrong", "ward_missing", "ward_wrong_same_address"),
)
# Caps that keep a scaled mix meaningful: some records must stay clean for a kind to be visible at all.
MAX_RATE = 0.5
MAX_GROUP_RATE = 0.9


@dataclass(frozen=True)
class ErrorRates:
    """Probability of each error kind per dose record (per vaccinated person where noted).

    The defaults are the documented default error mix: together they make about a quarter of the records
    differ from the register, mostly in ways that do not change who the record is about. A kind that
    needs something to act on (an old CMND number, a day ≤ 12, a tone mark that can move) is drawn among
    the records that have it, so that its overall rate is still the one given here as long as enough
    records have it (a rate above that share is reached only as far as the share allows).
    """

    # ID number left blank.
    id_missing: float = 0.035
    # The old 9-digit CMND number typed instead of the 12-digit personal id.
    id_old_cmnd: float = 0.04
    # The id went through a spreadsheet as a number: 11 digits remain.
    id_lost_leading_zero: float = 0.02
    # One digit of the id mistyped.
    id_digit_typo: float = 0.008
    # Two adjacent digits of the id swapped.
    id_transposed: float = 0.004
    # The id of another member of the household (a parent typing their own number for a child).
    id_household_member: float = 0.004
    # Name typed without diacritics ("Nguyen Van An"; đ becomes d).
    name_no_diacritics: float = 0.04
    # Name stored decomposed (NFD) by the exporting system.
    name_nfd: float = 0.015
    # The other tone-mark placement (Hòa → Hoà, Thủy → Thuỷ).
    name_tone_placement: float = 0.005
    # Name in capitals (combines with the script kinds: "NGUYEN VAN AN").
    name_upper: float = 0.025
    # One character of the given or family name mistyped (dropped, doubled, swapped, wrong key or tone).
    name_typo: float = 0.008
    # The same slip, always in the given name / always in the family name.
    name_given_typo: float = 0.0
    name_family_typo: float = 0.0
    # The middle name left out ("Nguyễn An" for "Nguyễn Văn An").
    name_middle_dropped: float = 0.008
    # Given name written first ("An Nguyễn Văn").
    name_given_first: float = 0.003
    # Only the year of birth recorded.
    dob_year_only: float = 0.003
    # Day and month of birth swapped (only possible when the day is 12 or less).
    dob_day_month_swapped: float = 0.008
    # One digit of the date of birth off by one (still a valid date).
    dob_digit: float = 0.005
    # Birth date one day early or late (across month and year ends: 31/12/1980 → 01/01/1981).
    dob_day_off: float = 0.0
    # Birth year off by one or by ten, day and month kept (never a 29 February).
    dob_year_off: float = 0.0
    # The other sex recorded.
    sex_wrong: float = 0.003
    # Sex left blank.
    sex_missing: float = 0.01
    # Another ward of the same district recorded as the ward of residence.
    ward_wrong: float = 0.01
    # Ward of residence left blank.
    ward_missing: float = 0.02
    # Another ward recorded, in the ward code and in the address, while the house number and street (or
    # hamlet) written are the person's own.
    ward_wrong_same_address: float = 0.0
    # The address written another way: abbreviations (Đường → Đ., Phường → P.), "Số 12" → "12", the
    # ward and district tail dropped, the alley before the house number ("Hẻm 5, số 12"), the hamlet
    # before the group, sometimes without diacritics. The numbers of the house stay.
    address_variant: float = 0.0
    # The phone of another member of the household instead of the person's own contact number.
    phone_relative: float = 0.0
    # The same dose entered again as a new record (per original record).
    duplicate: float = 0.008
    # Vaccinated persons who are not in the register at all (per vaccinated person).
    absent_person: float = 0.015

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"error rate {f.name} must be between 0 and 1, got {value}")
        for group in EXCLUSIVE_GROUPS:
            total = sum(getattr(self, name) for name in group)
            if total > 1.0:
                raise ValueError(f"error rates {', '.join(group)} add up to {total:.3f} > 1")

    @classmethod
    def kinds(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.kinds()}

    @classmethod
    def none(cls) -> ErrorRates:
        """A clean batch: every record agrees with the register and every person is in it."""
        return cls(**dict.fromkeys(cls.kinds(), 0.0))

    def scaled(self, factor: float) -> ErrorRates:
        """Every rate multiplied by `factor`, each capped at MAX_RATE and each exclusive group at
        MAX_GROUP_RATE (shrunk in proportion), so that 3.0 triples the default mix exactly."""
        if factor < 0:
            raise ValueError("the scale factor must not be negative")
        return replace(self, **_capped({name: rate * factor for name, rate in self.as_dict().items()}))

    def capped(self) -> ErrorRates:
        """Each rate capped at MAX_RATE and each exclusive group at MAX_GROUP_RATE (shrunk in proportion)."""
        return replace(self, **_capped(self.as_dict()))

    @classmethod
    def base(cls) -> ErrorRates:
        """The default mix with the kinds it leaves out at BASE_RATES: what random mixes vary around."""
        return replace(cls(), **BASE_RATES)

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        *,
        low: float = 0.2,
        high: float = 5.0,
        off: float = 0.15,
        max_focus: int = 2,
        focus: tuple[float, float] = (3.0, 8.0),
    ) -> ErrorRates:
        """A mix nothing was tuned on: each kind of `base()` at its rate times a factor drawn log-uniform
        in [low, high], switched off with probability `off` (never the duplicates nor the people absent
        from the register); then up to `max_focus` kinds concentrated, at `focus` times their base rate
        (drawn uniform), so that kinds combine differently from one mix to the next. The same generator
        state gives the same mix."""
        base = cls.base().as_dict()
        values = {}
        for name, rate in base.items():
            factor = math.exp(rng.uniform(math.log(low), math.log(high)))
            dropped = rng.random() < off and name not in ALWAYS_ON
            values[name] = 0.0 if dropped else rate * factor
        names = list(values)
        for i in rng.choice(len(names), size=int(rng.integers(0, max_focus + 1)), replace=False):
            values[names[int(i)]] = base[names[int(i)]] * rng.uniform(*focus)
        return cls(**_capped(values))

    @classmethod
    def from_seed(cls, seed: int) -> ErrorRates:
        """`random` on a generator of its own seeded with `seed`."""
        return cls.random(np.random.default_rng([seed, 13]))

    @classmethod
    def leave_one_kind_out(cls, kind: str, rate: float = 0.05) -> ErrorRates:
        """The default mix with one kind raised to `rate` (or three times its default when that is more),
        every other kind at its default: a kind the matcher was not tuned on."""
        if kind not in cls.kinds():
            raise ValueError(f"unknown error kind {kind!r}")
        default = cls()
        return replace(default, **{kind: max(rate, 3 * getattr(default, kind))}).capped()

    @classmethod
    def poor(cls) -> ErrorRates:
        """A poor province: many records without an ID number, more birth-date and ward errors, more
        people absent from the register, more addresses and names written loosely."""
        return replace(
            cls(),
            id_missing=0.25,
            id_old_cmnd=0.06,
            id_lost_leading_zero=0.03,
            name_no_diacritics=0.10,
            name_typo=0.015,
            name_middle_dropped=0.015,
            dob_year_only=0.02,
            dob_day_month_swapped=0.015,
            dob_digit=0.012,
            dob_day_off=0.008,
            dob_year_off=0.008,
            sex_missing=0.03,
            ward_wrong=0.04,
            ward_missing=0.06,
            ward_wrong_same_address=0.02,
            address_variant=0.08,
            phone_relative=0.04,
            absent_person=0.05,
        )

    @classmethod
    def named(cls, name: str, seed: int = 0) -> ErrorRates:
        """The mix called `name`: default, x3 (every default rate tripled), poor, random (`from_seed(seed)`)
        or raise:KIND (`leave_one_kind_out(KIND)`)."""
        if name == "default":
            return cls()
        if name == "x3":
            return cls().scaled(3.0)
        if name == "poor":
            return cls.poor()
        if name == "random":
            return cls.from_seed(seed)
        if name.startswith("raise:"):
            return cls.leave_one_kind_out(name.removeprefix("raise:"))
        raise ValueError(f"unknown error mix {name!r}: use {', '.join(MIX_NAMES)} or raise:KIND")


MIX_NAMES = ("default", "x3", "poor", "random")
# Rates around which random mixes vary for the kinds the default mix leaves out, of the order of their
# neighbours' (the name typo's split between given and family name, the other birth-date slips).
BASE_RATES: dict[str, float] = {
    "name_given_typo": 0.006,
    "name_family_typo": 0.002,
    "dob_day_off": 0.004,
    "dob_year_off": 0.004,
    "ward_wrong_same_address": 0.008,
    "address_variant": 0.03,
    "phone_relative": 0.02,
}
# Kinds a random mix never switches off: without them a figure (absent people linked) is not measured.
ALWAYS_ON = frozenset({"absent_person", "duplicate"})


def _capped(values: dict[str, float]) -> dict[str, float]:
    out = {name: min(MAX_RATE, rate) for name, rate in values.items()}
    for group in EXCLUSIVE_GROUPS:
        total = sum(out[name] for name in group)
        if total > MAX_GROUP_RATE:
            for name in group:
                out[name] *= MAX_GROUP_RATE / total
    return out


# Annotations written to truth.errors that no rate drives: the person's birth date is registered as a
# year only and health wrote the placeholder 01/01 of that year.
DOB_PLACEHOLDER = "dob_placeholder"

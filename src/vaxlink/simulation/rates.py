"""How often each kind of error is written into the synthetic dose batch, and the names of the kinds."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

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
    ("dob_year_only", "dob_day_month_swapped", "dob_digit"),
    ("sex_wrong", "sex_missing"),
    ("ward_wrong", "ward_missing"),
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
    # The other sex recorded.
    sex_wrong: float = 0.003
    # Sex left blank.
    sex_missing: float = 0.01
    # Another ward of the same district recorded as the ward of residence.
    ward_wrong: float = 0.01
    # Ward of residence left blank.
    ward_missing: float = 0.02
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
        values = {name: min(MAX_RATE, rate * factor) for name, rate in self.as_dict().items()}
        for group in EXCLUSIVE_GROUPS:
            total = sum(values[name] for name in group)
            if total > MAX_GROUP_RATE:
                for name in group:
                    values[name] *= MAX_GROUP_RATE / total
        return replace(self, **values)


# Annotations written to truth.errors that no rate drives: the person's birth date is registered as a
# year only and health wrote the placeholder 01/01 of that year.
DOB_PLACEHOLDER = "dob_placeholder"

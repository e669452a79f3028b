"""A citizen's vaccination status from the doses linked to them, the colour shown to verifiers, and the
age bands the statistics count in.

The series rule, in full (the SQL in `services/figures/status.py` computes exactly this):

- Only doses linked to the citizen count (outcome linked or confirmed, latest version of each record).
- Doses are counted by vaccination **day**: two records of the same day are one dose (re-entered
  records, a dose typed twice). Health's dose numbers are not used: they are often wrong
  (DOSE_ORDER flags), the dates are what was given.
- Each product has a primary-series length (Janssen and Sputnik Light 1, Abdala 3, the others 2). On a
  day with records of several products, the longest series of them counts (the cautious reading).
- Mixed products: the series is complete on the k-th counted day when k reaches the longest series
  length among the products of the counted days 1..k. So AZ + Pfizer is complete at 2, Janssen alone at
  1 (a later dose is a booster), Pfizer then Abdala waits for a third day.
- A day counts towards the series only when it comes at least the minimum interval of the product of
  the last counted day after that day (`Vaccine.min_interval_days`, WHO SAGE's per product: AZ 28,
  Pfizer 21, ...), less a grace of 4 days (the usual tolerance of schedules, ACIP's general best
  practice). A dose given sooner is still a dose (it is in `doses`) but completes nothing: AstraZeneca
  twice one day apart is `partial`. On a day with several products the longest interval counts.
- Boosters are the distinct days after the day the series was complete, except days whose doses are
  all additional doses (liều bổ sung: part of the primary series of people whose first doses may not
  protect them enough, MoH guidance of 2021-2022), which are no booster (liều nhắc lại).
- Status: `none` (no dose), `partial` (doses, series not complete), `complete`, `booster` (complete and
  at least one booster).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from types import MappingProxyType

from vaxlink.domain.vaccines import VACCINES

# A product the list does not know (cannot happen for a linked dose: unknown vaccines are rejected).
DEFAULT_SERIES_LENGTH = 2

PRIMARY_SERIES: Mapping[str, int] = MappingProxyType({v.code: v.primary_doses for v in VACCINES})
MIN_INTERVAL: Mapping[str, int] = MappingProxyType({v.code: v.min_interval_days for v in VACCINES})
# A product the list does not know: the shortest schedule of the known ones (Abdala, 14 days).
DEFAULT_MIN_INTERVAL = 14
# Doses up to this many days before the minimum interval still count (a schedule's usual tolerance).
INTERVAL_GRACE_DAYS = 4


def min_interval(vaccine_code: str | None) -> int:
    if vaccine_code is None:
        return DEFAULT_MIN_INTERVAL
    return MIN_INTERVAL.get(vaccine_code, DEFAULT_MIN_INTERVAL)


def series_length(vaccine_code: str | None) -> int:
    if vaccine_code is None:
        return DEFAULT_SERIES_LENGTH
    return PRIMARY_SERIES.get(vaccine_code, DEFAULT_SERIES_LENGTH)


class StatusLevel(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    COMPLETE = "complete"
    BOOSTER = "booster"

    @property
    def label_vi(self) -> str:
        return _LABELS_VI[self]


_LABELS_VI = {
    StatusLevel.NONE: "Chưa tiêm",
    StatusLevel.PARTIAL: "Đã tiêm 1 mũi / chưa đủ liều cơ bản",
    StatusLevel.COMPLETE: "Đã tiêm đủ liều cơ bản",
    StatusLevel.BOOSTER: "Đã tiêm mũi nhắc lại",
}


@dataclass(frozen=True, slots=True)
class Dose:
    """One linked dose record as the status rule sees it."""

    day: date
    vaccine_code: str | None
    additional: bool = False  # health says it is an additional dose (liều bổ sung), not a booster


@dataclass(frozen=True, slots=True)
class VaccinationStatus:
    doses: int  # distinct vaccination days
    first_dose_date: date | None
    last_dose_date: date | None
    complete_date: date | None
    boosters: int

    @property
    def level(self) -> StatusLevel:
        if self.doses == 0:
            return StatusLevel.NONE
        if self.complete_date is None:
            return StatusLevel.PARTIAL
        return StatusLevel.BOOSTER if self.boosters > 0 else StatusLevel.COMPLETE


NOT_VACCINATED = VaccinationStatus(0, None, None, None, 0)


def derive_status(doses: Iterable[Dose]) -> VaccinationStatus:
    """The status the linked doses give (rule in the module docstring)."""
    need_by_day: dict[date, int] = {}
    gap_by_day: dict[date, int] = {}
    additional_only: dict[date, bool] = {}
    for d in doses:
        additional_only[d.day] = additional_only.get(d.day, True) and d.additional
        need_by_day[d.day] = max(need_by_day.get(d.day, 0), series_length(d.vaccine_code))
        gap_by_day[d.day] = max(gap_by_day.get(d.day, 0), min_interval(d.vaccine_code))
    if not need_by_day:
        return NOT_VACCINATED
    days = sorted(need_by_day)
    need = 0
    counted = 0
    last: date | None = None
    complete_at: int | None = None
    for k, day in enumerate(days, start=1):
        if last is not None and (day - last).days < gap_by_day[last] - INTERVAL_GRACE_DAYS:
            continue  # too soon after the last dose of the series: a dose, but not one of the series
        counted += 1
        last = day
        need = max(need, need_by_day[day])
        if counted >= need:
            complete_at = k
            break
    return VaccinationStatus(
        doses=len(days),
        first_dose_date=days[0],
        last_dose_date=days[-1],
        complete_date=None if complete_at is None else days[complete_at - 1],
        boosters=0
        if complete_at is None
        else sum(1 for day in days[complete_at:] if not additional_only[day]),
    )


# --- colours shown to verifiers ------------------------------------------------------------------


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label_vi(self) -> str:
        return {"green": "Xanh", "yellow": "Vàng", "red": "Đỏ"}[self.value]


@dataclass(frozen=True, slots=True)
class ColourRule:
    """Green once the primary series has been complete for `green_after_days` days; until then the
    `waiting` colour; `partial` and `none` as given. Provinces set their own (configuration, not code)."""

    green_after_days: int = 14
    waiting: Colour = Colour.YELLOW
    partial: Colour = Colour.YELLOW
    none: Colour = Colour.RED
    # How long green lasts after the last dose of a complete series (its completion or the latest
    # booster); then `expired`. None: no end. Decision 5772/QĐ-BYT makes the certificate valid 12 months.
    valid_days: int | None = None
    expired: Colour = Colour.YELLOW

    def colour(self, status: VaccinationStatus, today: date) -> Colour:
        if status.doses == 0:
            return self.none
        if status.complete_date is None:
            return self.partial
        if today < status.complete_date + timedelta(days=self.green_after_days):
            return self.waiting
        last = status.last_dose_date or status.complete_date
        if self.valid_days is not None and today >= max(last, status.complete_date) + timedelta(
            days=self.valid_days
        ):
            return self.expired
        return Colour.GREEN

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> ColourRule:
        """From configuration: {"green_after_days": 14, "valid_days": 365, "waiting": "yellow",
        "partial": "yellow", "none": "red", "expired": "yellow"}."""
        unknown = set(data) - {"green_after_days", "valid_days", "waiting", "partial", "none", "expired"}
        if unknown:
            raise ValueError(f"unknown colour rule keys: {sorted(unknown)}")
        days = data.get("green_after_days", 14)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
            raise ValueError(f"green_after_days must be a whole number of days 0-365, not {days!r}")
        valid = data.get("valid_days")
        if valid is not None and (
            not isinstance(valid, int) or isinstance(valid, bool) or not 1 <= valid <= 3650
        ):
            raise ValueError(f"valid_days must be a whole number of days 1-3650 or null, not {valid!r}")
        colours = {k: Colour(str(data[k])) for k in ("waiting", "partial", "none", "expired") if k in data}
        return cls(green_after_days=days, valid_days=valid, **colours)


DEFAULT_COLOUR_RULE = ColourRule()


@dataclass(frozen=True)
class ColourRules:
    """The rule of each province (by province code, either structure's code as configured), else the default."""

    default: ColourRule = DEFAULT_COLOUR_RULE
    by_province: Mapping[str, ColourRule] = field(default_factory=dict)

    def for_province(self, province_code: str | None) -> ColourRule:
        if province_code is None:
            return self.default
        return self.by_province.get(province_code, self.default)

    @classmethod
    def from_json(cls, text: str) -> ColourRules:
        """`{"default": {...}, "provinces": {"79": {"green_after_days": 0}}}`; both keys optional."""
        data = json.loads(text) if text.strip() else {}
        if not isinstance(data, dict):
            raise ValueError("colour rules must be a JSON object")
        default = ColourRule.from_mapping(data.get("default", {}))
        provinces = data.get("provinces", {})
        if not isinstance(provinces, dict):
            raise ValueError("colour rules: 'provinces' must be an object keyed by province code")
        return cls(
            default=default,
            by_province={str(k): ColourRule.from_mapping(v) for k, v in provinces.items()},
        )


# --- age bands of the statistics -------------------------------------------------------------------

# Lower bounds of the bands, following the campaign's eligibility groups (adults first, then 12-17,
# then 5-11); the youngest band was never eligible.
AGE_BAND_STARTS: tuple[int, ...] = (0, 5, 12, 18, 50, 65)


def age_band_labels() -> tuple[str, ...]:
    starts = AGE_BAND_STARTS
    return tuple(
        f"{a}-{b - 1}" if i + 1 < len(starts) else f"{a}+"
        for i, (a, b) in enumerate(zip(starts, (*starts[1:], 0), strict=True))
    )


def age_band(age: int) -> str:
    labels = age_band_labels()
    band = labels[0]
    for start, label in zip(AGE_BAND_STARTS, labels, strict=True):
        if age >= start:
            band = label
    return band

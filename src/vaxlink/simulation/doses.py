"""Who got which COVID-19 vaccine when and where, following Vietnam's 2021–2022 campaign: dose schedules,
vaccination sites and lot numbers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vaxlink.simulation import tables
from vaxlink.simulation.columns import FloatArray, IntArray, days_from_ymd, weighted_choice, ymd_from_days
from vaxlink.simulation.population import (
    REFERENCE_YEAR,
    Households,
    People,
)
from vaxlink.simulation.units import WardTable

PRODUCTS = ("AZ", "PF", "MO", "VC", "JA", "SP", "AB")
AZ, PF, MO, VC, JA, SP, AB = range(len(PRODUCTS))
PRIMARY_DOSES = np.asarray([2, 2, 2, 2, 1, 2, 3], dtype=np.int64)
MAX_DOSES = 4
LOTS_PER_PRODUCT = 60
DATE_STYLES = ("dmy", "iso", "excel")
CAMPAIGN_END = "2022-12-31"

ADULT, TEEN, CHILD, INFANT = 0, 1, 2, 3


def day(text: str) -> int:
    return int(np.datetime64(text, "D").astype(np.int64))


# Product availability, also the span over which a product's lots are used up in order.
PRODUCT_WINDOWS: dict[int, tuple[str, str]] = {
    AZ: ("2021-03-08", "2022-09-30"),
    PF: ("2021-07-01", "2022-12-31"),
    MO: ("2021-07-01", "2022-12-31"),
    VC: ("2021-06-20", "2022-03-31"),
    JA: ("2021-09-01", "2021-12-31"),
    SP: ("2021-07-15", "2021-10-31"),
    AB: ("2021-09-15", "2022-01-31"),
}
# Adults' first doses: (first day, most likely day, last day, share, product mix).
ADULT_PERIODS: tuple[tuple[str, str, str, float, dict[int, float]], ...] = (
    ("2021-03-08", "2021-05-15", "2021-06-30", 0.04, {AZ: 0.93, MO: 0.07}),
    (
        "2021-07-01",
        "2021-08-25",
        "2021-10-31",
        0.71,
        {AZ: 0.33, VC: 0.40, PF: 0.12, MO: 0.10, SP: 0.015, JA: 0.01, AB: 0.025},
    ),
    ("2021-11-01", "2021-11-20", "2021-12-31", 0.18, {AZ: 0.40, PF: 0.30, VC: 0.12, MO: 0.10, AB: 0.08}),
    ("2022-01-01", "2022-02-15", "2022-06-30", 0.07, {AZ: 0.35, PF: 0.45, MO: 0.20}),
)
# Days between primary doses, (low, high), by product.
PRIMARY_INTERVAL: dict[int, tuple[int, int]] = {
    AZ: (56, 84),
    PF: (21, 35),
    MO: (28, 42),
    VC: (21, 35),
    JA: (0, 0),
    SP: (21, 30),
    AB: (14, 17),
}


@dataclass
class Sites:
    name: pa.StringArray
    date_style: IntArray  # index into DATE_STYLES, how this site's export writes dates
    address_style: IntArray  # index into population.ADDRESS_STYLES
    vaccine_label: IntArray  # (site, product) → index into `labels`
    labels: pa.StringArray
    station: IntArray  # per home ward (local index): the ward's health station
    mobile: IntArray  # per home ward: its mobile vaccination point
    school: IntArray  # per home ward: the school used for pupils
    centre: IntArray  # per ward (local index): its district's health centre
    zone: IntArray  # per ward: an industrial-zone site of its district, -1 when there is none
    hospitals: IntArray


@dataclass
class Doses:
    person: IntArray
    number: IntArray
    date: IntArray  # days since 1970
    product: IntArray
    lot: IntArray  # index into the lot table: product * LOTS_PER_PRODUCT + lot
    site: IntArray

    def __len__(self) -> int:
        return len(self.person)


def build_sites(rng: np.random.Generator, wards: WardTable, province: str) -> Sites:
    """The vaccination sites of the province, each with its own export habits."""
    home = wards.wards_of(province)
    names: list[str] = []
    province_label = wards.province_name[int(home[0])].as_py()

    def add(name: str) -> int:
        names.append(name)
        return len(names) - 1

    station = np.asarray([add(f"Trạm Y tế {wards.name[int(w)].as_py()}") for w in home], np.int64)
    mobile = np.asarray([add(f"Điểm tiêm lưu động {wards.name[int(w)].as_py()}") for w in home], np.int64)
    school = np.asarray([add(f"Điểm tiêm Trường THCS {wards.short[int(w)].as_py()}") for w in home], np.int64)
    district_of = wards.district[home]
    centre_by_district: dict[int, int] = {}
    zone_by_district: dict[int, list[int]] = {}
    for w, d in zip(home, district_of, strict=True):
        d = int(d)
        if d not in centre_by_district:
            centre_by_district[d] = add(f"Trung tâm Y tế {wards.district_name[int(w)].as_py()}")
            code = wards.district_codes[d]
            zone_by_district[d] = [add(f"Điểm tiêm {z}") for z in tables.INDUSTRIAL_ZONES.get(code, ())]
    centre = np.asarray([centre_by_district[int(d)] for d in district_of], np.int64)
    hospital_names = tables.PROVINCE_HOSPITALS.get(
        province,
        (f"Bệnh viện Đa khoa tỉnh {province_label}", f"Trung tâm Kiểm soát bệnh tật {province_label}"),
    )
    hospitals = np.asarray([add(h) for h in hospital_names], np.int64)
    zone_pick = rng.random(len(home))
    zone = np.asarray(
        [
            zone_by_district[int(d)][int(u * len(zone_by_district[int(d)]))]
            if zone_by_district[int(d)]
            else -1
            for d, u in zip(district_of, zone_pick, strict=True)
        ],
        np.int64,
    )
    n = len(names)
    labels: list[str] = []
    label_weights: list[FloatArray] = []
    label_start: list[int] = []
    for key in PRODUCTS:
        label_start.append(len(labels))
        labels.extend(label for label, _ in tables.VACCINE_LABELS[key])
        w = np.asarray([w for _, w in tables.VACCINE_LABELS[key]], np.float64)
        label_weights.append(w / w.sum())
    # A site's software writes a product one way, so labels vary between sites, not within one.
    vaccine_label = np.stack(
        [label_start[p] + weighted_choice(rng, label_weights[p], n) for p in range(len(PRODUCTS))], axis=1
    )
    return Sites(
        name=pa.array(names, pa.string()),
        date_style=weighted_choice(rng, np.asarray([0.85, 0.12, 0.03]), n),
        address_style=weighted_choice(rng, np.asarray([0.55, 0.30, 0.15]), n),
        vaccine_label=vaccine_label.astype(np.int64),
        labels=pa.array(labels, pa.string()),
        station=station,
        mobile=mobile,
        school=school,
        centre=centre,
        zone=zone,
        hospitals=hospitals,
    )


def build_lots(rng: np.random.Generator) -> pa.StringArray:
    """LOTS_PER_PRODUCT lot numbers per product, in the order they were shipped."""
    lots: list[str] = []
    for p, key in enumerate(PRODUCTS):
        start, stop = (np.datetime64(t, "D") for t in PRODUCT_WINDOWS[p])
        styles = tables.LOT_STYLES[key]
        for i in range(LOTS_PER_PRODUCT):
            when = start + (stop - start) * i // LOTS_PER_PRODUCT
            y, m, d = (int(x) for x in str(when).split("-"))
            prefix = styles[int(rng.integers(len(styles)))]
            k = int(rng.integers(0, 10000))
            if key == "MO":
                lots.append(f"{prefix}{k % 1000:03d}{'ABCDEF'[i % 6]}21A")
            elif key == "VC":
                lots.append(f"{y}{m:02d}{'ABCD'[i % 4]}{k:04d}")
            elif key == "SP":
                lots.append(f"{prefix}{d:02d}{m:02d}{y % 100:02d}")
            elif key == "JA":
                lots.append(f"{prefix}{k % 1000:03d}")
            else:
                lots.append(f"{prefix}{k:04d}")
    return pa.array(lots, pa.string())


def age_group(birth: IntArray) -> IntArray:
    age = REFERENCE_YEAR - ymd_from_days(birth)[0]
    return np.select([age >= 18, age >= 12, age >= 5], [ADULT, TEEN, CHILD], INFANT).astype(np.int64)


def choose_vaccinated(rng: np.random.Generator, birth: IntArray) -> npt.NDArray[np.bool_]:
    """About 85% of adults, most teenagers and some young children."""
    age = REFERENCE_YEAR - ymd_from_days(birth)[0]
    group = age_group(birth)
    p = np.select(
        [group == ADULT, group == TEEN, group == CHILD],
        [np.where(age >= 85, 0.72, 0.86), np.full(len(age), 0.8), np.full(len(age), 0.4)],
        0.0,
    )
    return np.asarray(rng.random(len(age)) < p, dtype=np.bool_)


def _between(rng: np.random.Generator, low: IntArray | int, high: IntArray | int, n: int) -> IntArray:
    return np.asarray(low + np.floor(rng.random(n) * (np.asarray(high) - low + 1)), dtype=np.int64)


def _mix(rng: np.random.Generator, mix: dict[int, float], n: int) -> IntArray:
    keys = np.asarray(list(mix), np.int64)
    return keys[weighted_choice(rng, np.asarray(list(mix.values()), np.float64), n)]


def schedule(rng: np.random.Generator, birth: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Dose dates and products of vaccinated people: (dates, products, count), dates and products as
    (people × MAX_DOSES) with count doses given each."""
    n = len(birth)
    group = age_group(birth)
    age = REFERENCE_YEAR - ymd_from_days(birth)[0]
    dates = np.zeros((n, MAX_DOSES), dtype=np.int64)
    products = np.zeros((n, MAX_DOSES), dtype=np.int64)

    count = np.select(
        [group == ADULT, group == TEEN],
        [
            1 + weighted_choice(rng, np.asarray([0.05, 0.38, 0.45, 0.12]), n),
            1 + weighted_choice(rng, np.asarray([0.06, 0.66, 0.28]), n),
        ],
        1 + weighted_choice(rng, np.asarray([0.2, 0.8]), n),
    ).astype(np.int64)
    # Second boosters were offered to people over 50 and at risk.
    count = np.where((count == 4) & (age < 50) & (rng.random(n) < 0.8), 3, count)

    first = np.zeros(n, dtype=np.int64)
    product = np.zeros(n, dtype=np.int64)
    adult = np.flatnonzero(group == ADULT)
    period = weighted_choice(rng, np.asarray([p[3] for p in ADULT_PERIODS]), len(adult))
    short_az = np.zeros(n, dtype=np.bool_)
    for i, (lo, mode, hi, _, mix) in enumerate(ADULT_PERIODS):
        idx = adult[period == i]
        first[idx] = np.floor(rng.triangular(day(lo), day(mode), day(hi) + 1, len(idx))).astype(np.int64)
        product[idx] = _mix(rng, mix, len(idx))
        if i == 1:
            # At the peak, AstraZeneca second doses were brought forward to four to six weeks.
            short_az[idx] = rng.random(len(idx)) < 0.25
    for g, (lo, mode, hi), mix in (
        (TEEN, ("2021-10-15", "2021-11-15", "2022-01-31"), {PF: 0.85, MO: 0.15}),
        (CHILD, ("2022-04-14", "2022-05-15", "2022-08-31"), {PF: 0.6, MO: 0.4}),
    ):
        idx = np.flatnonzero(group == g)
        first[idx] = np.floor(rng.triangular(day(lo), day(mode), day(hi) + 1, len(idx))).astype(np.int64)
        product[idx] = _mix(rng, mix, len(idx))

    primary = PRIMARY_DOSES[product]
    low = np.asarray([PRIMARY_INTERVAL[p][0] for p in range(len(PRODUCTS))], np.int64)[product]
    high = np.asarray([PRIMARY_INTERVAL[p][1] for p in range(len(PRODUCTS))], np.int64)[product]
    low = np.where(short_az & (product == AZ), 28, low)
    high = np.where(short_az & (product == AZ), 42, high)
    low = np.where(group == CHILD, np.where(product == PF, 21, 28), low)
    high = np.where(group == CHILD, 56, high)
    booster_start = np.where(group == ADULT, day("2021-12-15"), day("2022-07-01"))
    dates[:, 0] = first
    products[:, 0] = product
    boosters_given = np.zeros(n, dtype=np.int64)
    for k in range(1, MAX_DOSES):
        prev = dates[:, k - 1]
        in_primary = k < primary
        # Second doses were mostly the same product; some AstraZeneca and Sputnik V second doses were
        # replaced by Pfizer or AstraZeneca when supplies ran short.
        switch = rng.random(n)
        same = np.where(
            (product == AZ) & (switch < 0.08), PF, np.where((product == SP) & (switch < 0.2), AZ, product)
        )
        first_booster = boosters_given == 0
        booster_date = np.where(
            first_booster,
            np.maximum(prev + _between(rng, 90, 180, n), booster_start + _between(rng, 0, 75, n)),
            np.maximum(prev + _between(rng, 120, 200, n), day("2022-05-20") + _between(rng, 0, 90, n)),
        )
        booster_product = np.where(
            first_booster & (group == ADULT),
            _mix(rng, {PF: 0.45, MO: 0.30, AZ: 0.25}, n),
            np.where(group == ADULT, _mix(rng, {PF: 0.55, MO: 0.45}, n), PF),
        )
        dates[:, k] = np.where(in_primary, prev + _between(rng, low, high, n), booster_date)
        products[:, k] = np.where(in_primary, same, booster_product)
        boosters_given += (~in_primary) & (k < count)
    # Doses that would fall after the campaign did not happen.
    given = (np.arange(MAX_DOSES)[None, :] < count[:, None]) & (dates <= day(CAMPAIGN_END))
    count = np.cumprod(given, axis=1).sum(axis=1).astype(np.int64)
    return dates, products, count


def dose_records(
    rng: np.random.Generator,
    people: People,
    households: Households,
    vaccinated: IntArray,
    wards: WardTable,
    province: str,
    sites: Sites,
) -> Doses:
    """One record per dose given to the `vaccinated` people (indices into people)."""
    dates, products, count = schedule(rng, people.birth[vaccinated])
    person = np.repeat(vaccinated, count)
    row = np.repeat(np.arange(len(vaccinated)), count)
    starts = np.cumsum(count) - count
    k = np.arange(len(person)) - np.repeat(starts, count)
    date = dates[row, k]
    product = products[row, k]

    start = np.asarray([day(PRODUCT_WINDOWS[p][0]) for p in range(len(PRODUCTS))], np.int64)[product]
    stop = np.asarray([day(PRODUCT_WINDOWS[p][1]) for p in range(len(PRODUCTS))], np.int64)[product]
    position = (np.clip(date, start, stop) - start) * LOTS_PER_PRODUCT // (stop - start + 1)
    lot = product * LOTS_PER_PRODUCT + np.clip(
        position + rng.integers(-2, 3, len(date)), 0, LOTS_PER_PRODUCT - 1
    )

    n = len(person)
    local = (
        households.cur_ward[people.household[person]] - wards.province_start[wards.province_index(province)]
    )
    group = age_group(people.birth[person])
    age = REFERENCE_YEAR - ymd_from_days(people.birth[person])[0]
    u = rng.random(n)
    zone = sites.zone[local]
    works_in_zone = (zone >= 0) & (age >= 18) & (age <= 55)
    hospital = sites.hospitals[rng.integers(0, len(sites.hospitals), n)]
    adult_site = np.select(
        [u < 0.58, u < 0.78, u < 0.86, (u < 0.96) & works_in_zone],
        [sites.station[local], sites.centre[local], hospital, zone],
        sites.mobile[local],
    )
    young_site = np.select(
        [u < 0.5, u < 0.85], [sites.school[local], sites.station[local]], sites.centre[local]
    )
    site = np.where(group == ADULT, adult_site, young_site)
    return Doses(person=person, number=k + 1, date=date, product=product, lot=lot, site=site)


def new_birth(rng: np.random.Generator, year: IntArray) -> IntArray:
    n = len(year)
    ones = np.ones(n, dtype=np.int64)
    first = days_from_ymd(year, ones, ones)
    return first + np.floor(rng.random(n) * (days_from_ymd(year + 1, ones, ones) - first)).astype(np.int64)

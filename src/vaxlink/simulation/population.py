"""Synthetic citizens of one province: households, names, birth dates, ID numbers, phones and addresses,
each drawn as whole numpy columns (Python loops run only over wards, provinces or rounds)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.simulation import tables
from vaxlink.simulation.columns import (
    BoolArray,
    IntArray,
    days_from_ymd,
    ranks_within,
    unique_redraw,
    weighted_choice,
    ymd_from_days,
)
from vaxlink.simulation.units import WardTable
from vaxlink.simulation.vocab import NameVocab

REFERENCE_YEAR = 2021  # ages and eligibility are those of the vaccination campaign
MALE, FEMALE = 0, 1
ROLE_HEAD, ROLE_SPOUSE, ROLE_CHILD, ROLE_PARENT, ROLE_OTHER = 0, 1, 2, 3, 4
MAX_HOUSEHOLD = 6
SERIAL_SPACE = 1_000_000
CMND_SPACE = 10_000_000


@dataclass(frozen=True)
class ProvinceSpec:
    """One province to simulate. Provinces simulated into one register need distinct seeds and distinct
    `serial_slot`s out of the same `serial_slots`, so that their ID serials never collide."""

    code: str
    citizens: int
    seed: int
    serial_slot: int = 0
    serial_slots: int = 1


@dataclass
class People:
    """Column arrays, one row per simulated person (citizens first, then people absent from the register)."""

    household: IntArray  # index into Households
    role: IntArray
    sex: IntArray  # MALE / FEMALE
    birth: IntArray  # days since 1970-01-01
    family: IntArray  # name tokens; middles are -1 when absent
    middle1: IntArray
    middle2: IntArray
    given: IntArray
    prefix: IntArray  # the 3-digit place-of-birth code of the personal id, as a number (77, 116)
    pid: IntArray  # 12-digit personal id as a number; 0 when the person has none
    old_id: IntArray  # 9-digit CMND as a number; 0 when none
    phone: IntArray  # 10-digit mobile number without its leading zero; 0 when none
    year_only: BoolArray  # registered with the birth year only
    in_register: BoolArray

    def __len__(self) -> int:
        return len(self.sex)

    @classmethod
    def drawn(
        cls,
        household: IntArray,
        role: IntArray,
        sex: IntArray,
        birth: IntArray,
        names: tuple[IntArray, IntArray, IntArray, IntArray],
        prefix: IntArray,
        *,
        in_register: bool,
    ) -> People:
        """People with their names as draw_names gives them (family, middle1, middle2, given), as yet without
        numbers (pid, old_id and phone 0) and with their full birth dates (year_only False)."""
        count = len(sex)
        family, middle1, middle2, given = names
        return cls(
            household=household,
            role=role,
            sex=sex,
            birth=birth,
            family=family,
            middle1=middle1,
            middle2=middle2,
            given=given,
            prefix=prefix,
            pid=np.zeros(count, np.int64),
            old_id=np.zeros(count, np.int64),
            phone=np.zeros(count, np.int64),
            year_only=np.zeros(count, np.bool_),
            in_register=np.full(count, in_register, np.bool_),
        )

    def take(self, index: IntArray) -> People:
        return People(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def concat(self, other: People) -> People:
        return People(
            **{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self)}
        )


@dataclass
class Households:
    """One row per household: where it is registered, where it lives, how to reach it."""

    perm_ward: IntArray  # global ward index (may be in another province)
    cur_ward: IntArray  # where it lives, always in the simulated province
    phone: IntArray  # the household's contact number (the head's), 0 when none
    perm_address: pa.StringArray  # as the register writes it
    cur_address: tuple[pa.StringArray, ...]  # where it lives, in each address style of the sites

    def __len__(self) -> int:
        return len(self.perm_ward)


# ---------------------------------------------------------------- people


def draw_births(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray]:
    """Birth dates (days since 1970) and sexes following the age pyramid of Vietnam in 2021."""
    starts = np.asarray([a for a, _, _ in tables.AGE_PYRAMID], dtype=np.int64)
    stops = np.asarray([b for _, b, _ in tables.AGE_PYRAMID], dtype=np.int64)
    share = np.asarray([w for _, _, w in tables.AGE_PYRAMID], dtype=np.float64)
    cohort = weighted_choice(rng, share, n)
    width = stops[cohort] - starts[cohort] + 1
    # Within the oldest cohort the later years are more populous; elsewhere births are even.
    offset = np.floor(width * rng.random(n) ** np.where(cohort == 0, 0.5, 1.0)).astype(np.int64)
    year = starts[cohort] + offset
    male_share = np.asarray([tables.MALE_SHARE_BY_COHORT[int(s)] for s in starts])[cohort]
    sex = np.where(rng.random(n) < male_share, MALE, FEMALE).astype(np.int64)
    first = days_from_ymd(year, np.ones(n, np.int64), np.ones(n, np.int64))
    length = days_from_ymd(year + 1, np.ones(n, np.int64), np.ones(n, np.int64)) - first
    birth = first + np.floor(rng.random(n) * length).astype(np.int64)
    return birth, sex


def _attach(
    rng: np.random.Generator,
    item_year: npt.NDArray[np.float64],
    group_year: npt.NDArray[np.float64],
    room: IntArray,
    tolerance: float = 1.5,
) -> IntArray:
    """Give each item a group whose year is close to the item's target year and that still has room.

    Returns the group per item (-1 where none was found); `room` is decremented in place.
    """
    result = np.full(len(item_year), -1, dtype=np.int64)
    if len(group_year) == 0 or len(item_year) == 0:
        return result
    # A random fraction separates groups of the same year, so ties are broken at random.
    key = group_year + rng.random(len(group_year))
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    pos = np.searchsorted(sorted_key, item_year + rng.random(len(item_year)))
    pos = np.clip(pos, 0, len(order) - 1)
    g = order[pos]
    ok = np.abs(group_year[g] - item_year) <= tolerance
    cand = np.flatnonzero(ok)
    if len(cand) == 0:
        return result
    gc = g[cand]
    rank = ranks_within(gc)
    accept = rank < room[gc]
    chosen = cand[accept]
    result[chosen] = g[chosen]
    np.subtract.at(room, g[chosen], 1)
    return result


def _interp(age: IntArray, xs: list[float], ys: list[float]) -> npt.NDArray[np.float64]:
    return np.asarray(np.interp(age, xs, ys), dtype=np.float64)


def form_households(
    rng: np.random.Generator, birth: IntArray, sex: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Group people into households of 1–6: couples with their children and sometimes a widowed parent,
    and single people alone or sharing. Returns (household, role, family_source), where family_source is
    the person whose family name each one carries (the father for children of a couple)."""
    n = len(birth)
    by = ymd_from_days(birth)[0]
    age = REFERENCE_YEAR - by
    household = np.full(n, -1, dtype=np.int64)
    role = np.full(n, ROLE_OTHER, dtype=np.int64)
    source = np.arange(n, dtype=np.int64)

    p_married = np.where(
        sex == MALE,
        _interp(age, [21, 22, 25, 30, 35, 60, 70, 80, 95], [0.0, 0.2, 0.55, 0.8, 0.88, 0.87, 0.82, 0.7, 0.5]),
        _interp(
            age, [17, 18, 22, 25, 30, 55, 65, 75, 90], [0.0, 0.15, 0.45, 0.7, 0.86, 0.82, 0.68, 0.45, 0.2]
        ),
    )
    married = rng.random(n) < p_married
    men = np.flatnonzero(married & (sex == MALE))
    women = np.flatnonzero(married & (sex == FEMALE))
    k = min(len(men), len(women))
    men = np.sort(rng.permutation(men)[:k])
    women = np.sort(rng.permutation(women)[:k])
    # Rank pairing on a noisy birth year: spouses are of an age, husbands a little older on average.
    men = men[np.argsort(by[men] + rng.normal(0, 2.5, k), kind="stable")]
    women = women[np.argsort(by[women] + rng.normal(0, 2.5, k), kind="stable")]
    household[men] = np.arange(k)
    household[women] = np.arange(k)
    role[men] = ROLE_HEAD
    role[women] = ROLE_SPOUSE
    husband = men
    wife = women
    size = np.full(k, 2, dtype=np.int64)

    # Children and unmarried young adults live with a couple whose wife is 17–45 years older.
    stay = np.where(age < 18, 1.0, _interp(age, [18, 25, 30, 40, 50], [0.95, 0.8, 0.4, 0.1, 0.0]))
    dependent = np.flatnonzero((household < 0) & (rng.random(n) < stay))
    # Up to four children, three where space is kept for a grandparent (about half of the couples).
    room = np.full(k, MAX_HOUSEHOLD - 2, dtype=np.int64) - rng.integers(0, 2, k)
    wife_year = by[wife].astype(np.float64)
    kids = np.zeros(k, dtype=np.int64)
    # Raising the cap round by round fills families evenly (most have one or two children) instead of
    # piling children onto whichever couple is drawn first.
    for cap in (1, 2, 2, 3, 3, 4, 4, 4):
        todo = dependent[household[dependent] < 0]
        if len(todo) == 0:
            break
        gap = np.clip(rng.normal(27.0, 5.5, len(todo)), 17, 45)
        open_now = np.clip(np.minimum(room, cap) - kids, 0, None)
        g = _attach(rng, (by[todo] - gap).astype(np.float64), wife_year, open_now)
        got = g >= 0
        np.add.at(kids, g[got], 1)
        household[todo[got]] = g[got]
        role[todo[got]] = ROLE_CHILD
        source[todo[got]] = husband[g[got]]
    np.add.at(size, household[dependent[household[dependent] >= 0]], 1)

    # Widowed or single older people often live with a son's (or daughter's) family.
    elder = np.flatnonzero((household < 0) & (age >= 60) & (rng.random(n) < 0.65))
    room = np.minimum(MAX_HOUSEHOLD - size, 2)
    via_son = rng.random(len(elder)) < 0.7
    for use_son in (True, False):
        for _ in range(4):
            todo = elder[(household[elder] < 0) & (via_son == use_son)]
            if len(todo) == 0:
                break
            child_year = (by[husband] if use_son else by[wife]).astype(np.float64)
            gap = np.clip(rng.normal(27.0, 5.0, len(todo)), 18, 42)
            g = _attach(rng, (by[todo] + gap).astype(np.float64), child_year, room)
            got = g >= 0
            household[todo[got]] = g[got]
            role[todo[got]] = ROLE_PARENT
            # A widowed father shares his son's family name; mothers keep their own.
            from_son = got & (sex[todo] == MALE) & use_son
            from_daughter = got & (sex[todo] == MALE) & (not use_son)
            source[todo[from_son]] = husband[g[from_son]]
            source[todo[from_daughter]] = wife[g[from_daughter]]
            np.add.at(size, g[got], 1)

    # Everyone still without a household lives alone or shares with one or two others; the young among
    # them join a single parent of a suitable age.
    rest = np.flatnonzero(household < 0)
    adults = rest[age[rest] >= 18]
    minors = rest[age[rest] < 18]
    adults = adults[rng.permutation(len(adults))]
    group_size = weighted_choice(rng, np.asarray([0.0, 0.62, 0.28, 0.10]), len(adults))
    # Walk the shuffled adults in steps of their own group sizes; a cumulative sum does that at once.
    starts = np.cumsum(group_size) - group_size
    starts = starts[starts < len(adults)]
    n_groups = len(starts)
    group_of = np.zeros(len(adults), dtype=np.int64)
    group_of[starts[1:]] = 1
    group_of = np.cumsum(group_of)
    household[adults] = k + group_of
    first = np.zeros(len(adults), dtype=np.bool_)
    first[starts] = True
    role[adults] = np.where(first, ROLE_HEAD, ROLE_OTHER)
    single_size = np.bincount(group_of, minlength=n_groups).astype(np.int64)
    head_of_group = adults[starts]
    # A single parent lives with up to four children; shared flats take none.
    room = np.where(single_size == 1, 4, 0).astype(np.int64)
    for _ in range(6):
        todo = minors[household[minors] < 0]
        if len(todo) == 0:
            break
        gap = np.clip(rng.normal(28.0, 6.0, len(todo)), 17, 45)
        g = _attach(rng, (by[todo] - gap).astype(np.float64), by[head_of_group].astype(np.float64), room, 2.5)
        got = g >= 0
        household[todo[got]] = k + g[got]
        role[todo[got]] = ROLE_CHILD
        source[todo[got]] = head_of_group[g[got]]
    # Whoever is left (very few) is taken in by any couple with room, as a grandchild or relative would be.
    todo = minors[household[minors] < 0]
    if len(todo):
        room_left = MAX_HOUSEHOLD - np.bincount(household[household >= 0], minlength=k + n_groups)[:k]
        open_h = np.repeat(np.arange(k), np.maximum(room_left, 0))
        if len(open_h) >= len(todo):
            pick = rng.permutation(open_h)[: len(todo)]
            household[todo] = pick
            role[todo] = ROLE_OTHER
            source[todo] = husband[pick]
        else:
            household[todo] = k + n_groups + np.arange(len(todo))
            role[todo] = ROLE_HEAD
    return household, role, source


def draw_names(
    rng: np.random.Generator, vocab: NameVocab, sex: IntArray, birth: IntArray, source: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    n = len(sex)
    by = ymd_from_days(birth)[0]
    family = vocab.family[weighted_choice(rng, vocab.family_p, n)]
    family = family[source]
    middle1 = np.full(n, -1, dtype=np.int64)
    middle2 = np.full(n, -1, dtype=np.int64)
    given = np.empty(n, dtype=np.int64)
    # Văn and Thị fade for people born from the late 1980s on: blend the two generations' tables.
    younger = rng.random(n) < np.clip((by - 1985) / 15.0, 0.0, 1.0)
    for s in (MALE, FEMALE):
        for is_young, table in ((False, vocab.middle_older[s]), (True, vocab.middle_younger[s])):
            idx = np.flatnonzero((sex == s) & (younger == is_young))
            choice = weighted_choice(rng, table.p, len(idx))
            middle1[idx] = table.first[choice]
            middle2[idx] = table.second[choice]
        idx = np.flatnonzero(sex == s)
        given[idx] = vocab.given[s][weighted_choice(rng, vocab.given_p[s], len(idx))]
    return family, middle1, middle2, given


def id_numbers(
    rng: np.random.Generator, prefix: IntArray, sex: IntArray, birth: IntArray, spec: ProvinceSpec
) -> IntArray:
    """12-digit personal ids: prefix, sex-and-century digit, year, and a serial unique per (prefix, digit,
    year)."""
    base = id_base(prefix, sex, birth)
    serial = unique_redraw(
        rng, base, SERIAL_SPACE, np.zeros(len(base), np.bool_), spec.serial_slot, spec.serial_slots
    )
    return (base + serial).astype(np.int64)


def id_base(prefix: IntArray, sex: IntArray, birth: IntArray) -> IntArray:
    """The personal id without its serial: PPP, the sex-and-century digit, YY, then six zeros."""
    by = ymd_from_days(birth)[0]
    g = 2 * ((by - 1900) // 100) + (sex == FEMALE)
    return np.asarray(prefix * 10**9 + g * 10**8 + (by % 100) * 10**6, dtype=np.int64)


def cmnd_numbers(
    rng: np.random.Generator, issuing_province: IntArray, holder: BoolArray, spec: ProvinceSpec
) -> IntArray:
    """Old 9-digit CMND numbers (0 for people who never had one), prefixed by the issuing province."""
    n = len(holder)
    # Unlisted provinces get a made-up but stable three-digit prefix in the same 0xx–3xx range.
    first2 = np.asarray([(p * 7) % 38 for p in range(100)], dtype=np.int64)
    for code, prefix in tables.CMND_PREFIXES.items():
        first2[int(code)] = int(prefix)
    base = first2[issuing_province] * CMND_SPACE
    serial = unique_redraw(rng, base, CMND_SPACE, np.zeros(n, np.bool_), spec.serial_slot, spec.serial_slots)
    return np.where(holder, base + serial, 0).astype(np.int64)


def phone_numbers(rng: np.random.Generator, n: int) -> IntArray:
    prefixes = np.asarray([int(p) for p, _ in tables.PHONE_PREFIXES], dtype=np.int64)
    weights = np.asarray([w for _, w in tables.PHONE_PREFIXES], dtype=np.float64)
    base = prefixes[weighted_choice(rng, weights / weights.sum(), n)] * 10**7
    return (base + unique_redraw(rng, base, 10**7, np.zeros(n, np.bool_), 0, 1)).astype(np.int64)


# ---------------------------------------------------------------- addresses


ADDRESS_STYLES = ("full", "short", "with_province")


def build_addresses(
    rng: np.random.Generator, wards: WardTable, ward: IntArray, home_province: str
) -> tuple[pa.StringArray, ...]:
    """Addresses of homes in the given wards, in each of ADDRESS_STYLES:
    "Số 12, Đường Lê Lợi, Phường Phước Trung, Thành phố Bà Rịa" / "12 Lê Lợi, Phước Trung, Bà Rịa" /
    the full form followed by the province. Rural communes are addressed by hamlet and group (tổ)."""
    n = len(ward)
    urban = wards.urban[ward]
    # Each ward has its own handful of streets and hamlets, so neighbours share street names.
    street = (ward * 7 + rng.integers(0, 9, n)) % len(tables.STREETS)
    hamlet = (ward * 5 + rng.integers(0, 6, n)) % len(tables.HAMLETS)
    house = np.floor(np.exp(rng.normal(3.2, 1.0, n))).astype(np.int64) + 1
    alley = np.where(rng.random(n) < 0.25, rng.integers(1, 40, n), 0)
    group = rng.integers(1, 25, n)

    street_t = pa.array(tables.STREETS, pa.string()).take(pa.array(street))
    hamlet_t = pa.array(tables.HAMLETS, pa.string()).take(pa.array(hamlet))
    number_t = pa.array(house).cast(pa.string())
    number_t = pc.if_else(
        pa.array(alley > 0),
        pc.binary_join_element_wise(number_t, pa.array(alley).cast(pa.string()), "/"),
        number_t,
    )
    group_t = pa.array(group).cast(pa.string())
    urban_a = pa.array(urban)
    w = pa.array(ward)
    ward_name = wards.name.take(w)
    ward_short = wards.short.take(w)
    district_name = wards.district_name.take(w)
    district_short = wards.district_short.take(w)
    province_name = wards.province_name.take(w)

    local_full = pc.if_else(
        urban_a,
        pc.binary_join_element_wise(
            pc.binary_join_element_wise("Số", number_t, " "),
            pc.binary_join_element_wise("Đường", street_t, " "),
            ", ",
        ),
        pc.binary_join_element_wise(pc.binary_join_element_wise("Tổ", group_t, " "), hamlet_t, ", "),
    )
    local_short = pc.if_else(urban_a, pc.binary_join_element_wise(number_t, street_t, " "), hamlet_t)
    full = pc.binary_join_element_wise(local_full, ward_name, district_name, ", ")
    short = pc.binary_join_element_wise(local_short, ward_short, district_short, ", ")
    with_province = pc.binary_join_element_wise(full, province_name, ", ")
    # Addresses outside the simulated province always name their province.
    home = wards.province_index(home_province)
    elsewhere = pa.array(wards.province[ward] != home)
    full = pc.if_else(elsewhere, with_province, full)
    short = pc.if_else(elsewhere, pc.binary_join_element_wise(short, province_name, ", "), short)
    return full, short, with_province


# ---------------------------------------------------------------- one province


def _ward_weights(rng: np.random.Generator, wards: WardTable, home: IntArray) -> npt.NDArray[np.float64]:
    # Urban wards are denser; the spread between communes is wide, as in the census.
    w = rng.lognormal(0.0, 0.6, len(home)) * np.where(wards.urban[home], 1.6, 1.0)
    return np.asarray(w / w.sum(), dtype=np.float64)


def birth_places(
    rng: np.random.Generator, wards: WardTable, home_code: str, by: IntArray, migrant_from: IntArray
) -> IntArray:
    """The place-of-birth prefix of each person's id: mostly the home province, some born elsewhere,
    a few abroad; people who moved in from another province mostly carry that province's code."""
    n = len(by)
    home = int(home_code)
    codes = np.asarray(
        [int(c) for c, _ in tables.BIRTH_PROVINCES_ELSEWHERE if c != home_code], dtype=np.int64
    )
    weights = np.asarray([w for c, w in tables.BIRTH_PROVINCES_ELSEWHERE if c != home_code], np.float64)
    elsewhere = codes[weighted_choice(rng, weights / weights.sum(), n)]
    abroad = np.asarray([int(c) for c in tables.BIRTH_COUNTRY_CODES], np.int64)[
        rng.integers(0, len(tables.BIRTH_COUNTRY_CODES), n)
    ]
    u = rng.random(n)
    p_elsewhere = np.where(by < 2000, 0.197, 0.049)
    p_abroad = np.where(by < 2000, 0.003, 0.001)
    prefix = np.where(u < p_abroad, abroad, np.where(u < p_abroad + p_elsewhere, elsewhere, home))
    is_migrant = migrant_from >= 0
    migrant_code = np.asarray([int(c) for c in wards.province_codes], np.int64)[np.maximum(migrant_from, 0)]
    # Children of migrant families born recently were often registered where the family lives now.
    native_there = rng.random(n) < np.where(by >= 2012, 0.5, 0.9)
    prefix = np.where(is_migrant & native_there, migrant_code, prefix)
    return prefix.astype(np.int64)


def generate_people(
    rng: np.random.Generator, spec: ProvinceSpec, wards: WardTable, vocab: NameVocab
) -> tuple[People, Households]:
    """The citizens of one province, sorted by ward and household, and their households."""
    n = spec.citizens
    birth, sex = draw_births(rng, n)
    household, role, source = form_households(rng, birth, sex)
    by = ymd_from_days(birth)[0]
    age = REFERENCE_YEAR - by

    # Households: where they live, and whether they are registered somewhere else.
    n_h = int(household.max()) + 1 if n else 0
    head_age = np.zeros(n_h, dtype=np.int64)
    head_age[household[role == ROLE_HEAD]] = age[role == ROLE_HEAD]
    home = wards.wards_of(spec.code)
    cur = home[weighted_choice(rng, _ward_weights(rng, wards, home), n_h)]
    # Young households are the ones that came for work: registered in their home province.
    migrant = rng.random(n_h) < np.where((head_age >= 18) & (head_age <= 40), 0.12, 0.02)
    moved = ~migrant & (rng.random(n_h) < 0.04)
    perm = cur.copy()
    other = [
        (c, w) for c, w in tables.BIRTH_PROVINCES_ELSEWHERE if c != spec.code and c in wards.province_codes
    ]
    o_codes = np.asarray([wards.province_index(c) for c, _ in other], np.int64)
    o_w = np.asarray([w for _, w in other], np.float64)
    from_p = o_codes[weighted_choice(rng, o_w / o_w.sum(), n_h)]
    start, stop = wards.province_start[from_p], wards.province_stop[from_p]
    away = start + np.floor(rng.random(n_h) * (stop - start)).astype(np.int64)
    perm = np.where(migrant, away, perm)
    shift = rng.integers(1, len(home), n_h) if len(home) > 1 else np.zeros(n_h, np.int64)
    moved_to = home[(np.searchsorted(home, cur) + shift) % len(home)]
    perm = np.where(moved, moved_to, perm)
    migrant_from = np.where(migrant, from_p, -1)

    # Order people by where they live, household and role, as a ward's register lists them.
    order = np.lexsort((birth, role, household, cur[household]))
    household, role, source, birth, sex, by, age = (
        a[order] for a in (household, role, source, birth, sex, by, age)
    )
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n)
    source = inverse[source]
    first = np.flatnonzero(np.r_[True, household[1:] != household[:-1]]) if n else np.zeros(0, np.int64)
    h_order = household[first]
    renumber = np.empty(n_h, dtype=np.int64)
    renumber[h_order] = np.arange(len(h_order))
    household = renumber[household]
    cur, perm, migrant_from = cur[h_order], perm[h_order], migrant_from[h_order]

    names = draw_names(rng, vocab, sex, birth, source)
    prefix = birth_places(rng, wards, spec.code, by, migrant_from[household])
    pid = id_numbers(rng, prefix, sex, birth, spec)
    # CMND cards went to people from 14 until the chip cards replaced them (2016–2021).
    p_cmnd = _interp(by, [1999, 2000, 2003, 2004, 2007], [0.92, 0.7, 0.5, 0.25, 0.0])
    issuing = np.where(prefix < 100, prefix, int(spec.code))
    old_id = cmnd_numbers(rng, issuing, rng.random(n) < p_cmnd, spec)
    p_phone = _interp(age, [13, 14, 18, 60, 75, 90], [0.0, 0.4, 0.93, 0.9, 0.5, 0.2])
    phone = np.where(rng.random(n) < p_phone, phone_numbers(rng, n), 0)
    year_only = (by < 1955) & (rng.random(n) < 0.005)

    # The household's contact number is the head's, or the first member's who has one.
    has = np.flatnonzero(phone > 0)
    h_phone = np.zeros(n_h, dtype=np.int64)
    if len(has):
        ordered = has[np.lexsort((role[has], household[has]))]
        firsts = ordered[np.r_[True, household[ordered][1:] != household[ordered][:-1]]]
        h_phone[household[firsts]] = phone[firsts]

    cur_styles = build_addresses(rng, wards, cur, spec.code)
    # A household living at its registered home has one address; the others have two.
    perm_address = pc.if_else(
        pa.array(perm == cur), cur_styles[0], build_addresses(rng, wards, perm, spec.code)[0]
    )

    people = replace(
        People.drawn(household, role, sex, birth, names, prefix, in_register=True),
        pid=pid,
        old_id=old_id,
        phone=phone,
        year_only=year_only,
    )
    households = Households(
        perm_ward=perm,
        cur_ward=cur,
        phone=h_phone,
        perm_address=perm_address,
        cur_address=cur_styles,
    )
    return people, households

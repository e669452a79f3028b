"""People vaccinated in the province but missing from its register: siblings of citizens whose own
registration is missing, workers from other provinces not yet declared, and locals whose registration lags."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vaxlink.simulation import tables
from vaxlink.simulation.columns import IntArray, unique_redraw, weighted_choice, ymd_from_days
from vaxlink.simulation.doses import new_birth
from vaxlink.simulation.population import (
    CMND_SPACE,
    FEMALE,
    MALE,
    ROLE_CHILD,
    ROLE_HEAD,
    SERIAL_SPACE,
    Households,
    People,
    ProvinceSpec,
    build_addresses,
    draw_names,
    id_base,
    phone_numbers,
)
from vaxlink.simulation.units import WardTable
from vaxlink.simulation.vocab import NameVocab

SIBLING_SHARE = 0.45
MIGRANT_SHARE = 0.35


def _new_ids(
    rng: np.random.Generator, people: People, new: People, has_id: npt.NDArray[np.bool_], spec: ProvinceSpec
) -> tuple[IntArray, IntArray]:
    """Personal ids and CMND numbers for the new people that collide with no one already there."""
    n_old = len(people)
    base_new = id_base(new.prefix, new.sex, new.birth)
    base = np.concatenate([people.pid - people.pid % SERIAL_SPACE, base_new])
    fixed = np.r_[np.ones(n_old, np.bool_), np.zeros(len(new), np.bool_)]
    known = np.r_[people.pid % SERIAL_SPACE, np.zeros(len(new), np.int64)]
    serial = unique_redraw(rng, base, SERIAL_SPACE, fixed, spec.serial_slot, spec.serial_slots, known)
    pid = np.where(has_id, base_new + serial[n_old:], 0)

    by = ymd_from_days(new.birth)[0]
    holder = has_id & (by <= 1999) & (rng.random(len(new)) < 0.6)
    first2 = np.asarray([int(tables.CMND_PREFIXES.get(f"{p:02d}", "27")) for p in range(100)], np.int64)
    issuing = np.where(new.prefix < 100, new.prefix, int(spec.code))
    old = people.old_id[people.old_id > 0]
    cbase = np.concatenate([old - old % CMND_SPACE, first2[issuing] * CMND_SPACE])
    cfixed = np.r_[np.ones(len(old), np.bool_), np.zeros(len(new), np.bool_)]
    cknown = np.r_[old % CMND_SPACE, np.zeros(len(new), np.int64)]
    cserial = unique_redraw(rng, cbase, CMND_SPACE, cfixed, spec.serial_slot, spec.serial_slots, cknown)
    old_id = np.where(holder, cbase[len(old) :] + cserial[len(old) :], 0)
    return pid.astype(np.int64), old_id.astype(np.int64)


def _identity_key(p: People) -> IntArray:
    """Name tokens and birth date packed into one number (tokens < 2^9, days shifted into 16 bits)."""
    key = np.zeros(len(p), dtype=np.int64)
    for tok in (p.family, p.middle1, p.middle2, p.given):
        key = (key << 9) | (tok + 1)
    return np.asarray((key << 16) | (p.birth + 30_000), dtype=np.int64)


def _avoid_namesakes(rng: np.random.Generator, people: People, new: People) -> None:
    """Move the birthday of any newcomer whose name and birth date a citizen already has, so that the
    records of people absent from the register never describe a registered person exactly."""
    taken = np.sort(_identity_key(people))
    for _ in range(20):
        key = _identity_key(new)
        pos = np.minimum(np.searchsorted(taken, key), len(taken) - 1)
        clash = taken[pos] == key
        if not clash.any():
            return
        year = ymd_from_days(new.birth[clash])[0]
        new.birth[clash] = new_birth(rng, year)


def _siblings(rng: np.random.Generator, people: People, vocab: NameVocab, count: int) -> People | None:
    by = ymd_from_days(people.birth)[0]
    candidates = np.flatnonzero(
        people.in_register & (people.role == ROLE_CHILD) & (by >= 1975) & (by <= 2014)
    )
    if count == 0 or len(candidates) == 0:
        return None
    sib = candidates[rng.integers(0, len(candidates), count)]
    step = rng.integers(1, 7, count) * np.where(rng.random(count) < 0.5, -1, 1)
    year = np.clip(by[sib] + step, 1935, 2016)
    sex = np.where(rng.random(count) < 0.5, MALE, FEMALE).astype(np.int64)
    birth = new_birth(rng, year)
    # The family name is the sibling's; middle and given names are their own, never the sibling's.
    _, middle1, middle2, given = draw_names(rng, vocab, sex, birth, np.arange(count))
    for _ in range(10):
        same = given == people.given[sib]
        if not same.any():
            break
        _, _, _, redraw = draw_names(rng, vocab, sex[same], birth[same], np.arange(int(same.sum())))
        given[same] = redraw
    return People.drawn(
        people.household[sib],
        np.full(count, ROLE_CHILD, np.int64),
        sex,
        birth,
        (people.family[sib], middle1, middle2, given),
        people.prefix[sib],
        in_register=False,
    )


def _newcomers(
    rng: np.random.Generator,
    spec: ProvinceSpec,
    wards: WardTable,
    vocab: NameVocab,
    count: int,
    first_household: int,
    migrant: bool,
) -> tuple[People, IntArray, IntArray]:
    """Adults living alone in the province; returns them with their households' (permanent, current) wards."""
    home = wards.wards_of(spec.code)
    cur = home[rng.integers(0, len(home), count)]
    if migrant:
        other = [
            (c, w)
            for c, w in tables.BIRTH_PROVINCES_ELSEWHERE
            if c != spec.code and c in wards.province_codes
        ]
        codes = np.asarray([int(c) for c, _ in other], np.int64)
        index = np.asarray([wards.province_index(c) for c, _ in other], np.int64)
        pick = weighted_choice(rng, np.asarray([w for _, w in other], np.float64), count)
        p_index = index[pick]
        start, stop = wards.province_start[p_index], wards.province_stop[p_index]
        perm = start + np.floor(rng.random(count) * (stop - start)).astype(np.int64)
        prefix = codes[pick]
        year = np.clip(2003 - np.floor(rng.exponential(12.0, count)).astype(np.int64), 1955, 2003)
    else:
        perm = cur
        prefix = np.full(count, int(spec.code), np.int64)
        year = np.clip(2003 - np.floor(rng.exponential(25.0, count)).astype(np.int64), 1930, 2003)
    sex = np.where(rng.random(count) < (0.55 if migrant else 0.45), MALE, FEMALE).astype(np.int64)
    birth = new_birth(rng, year)
    names = draw_names(rng, vocab, sex, birth, np.arange(count))
    phone = np.where(rng.random(count) < 0.85, phone_numbers(rng, count), 0)
    household = first_household + np.arange(count)
    role = np.full(count, ROLE_HEAD, np.int64)
    people = People.drawn(household, role, sex, birth, names, prefix, in_register=False)
    return replace(people, phone=phone), perm, cur


def add_absent(
    rng: np.random.Generator,
    spec: ProvinceSpec,
    people: People,
    households: Households,
    count: int,
    wards: WardTable,
    vocab: NameVocab,
) -> tuple[People, Households]:
    """`count` people missing from the register appended to people (and their new households)."""
    n_sib = round(count * SIBLING_SHARE)
    n_mig = round(count * MIGRANT_SHARE)
    siblings = _siblings(rng, people, vocab, n_sib)
    if siblings is None:
        n_sib = 0
    n_mig = min(n_mig, count - n_sib)
    n_loc = count - n_sib - n_mig
    n_h = len(households)
    migrants, m_perm, m_cur = _newcomers(rng, spec, wards, vocab, n_mig, n_h, migrant=True)
    locals_, l_perm, l_cur = _newcomers(rng, spec, wards, vocab, n_loc, n_h + n_mig, migrant=False)
    new = migrants.concat(locals_)
    if siblings is not None:
        new = siblings.concat(new)
    _avoid_namesakes(rng, people, new)
    # Siblings often have a number the family never got registered; newcomers mostly have one.
    p_id = np.r_[np.full(n_sib, 0.55), np.full(n_mig, 0.85), np.full(n_loc, 0.4)]
    has_id = rng.random(len(new)) < p_id
    new.pid, new.old_id = _new_ids(rng, people, new, has_id, spec)

    perm = np.r_[m_perm, l_perm]
    cur = np.r_[m_cur, l_cur]
    styles = build_addresses(rng, wards, cur, spec.code)
    perm_full = build_addresses(rng, wards, perm, spec.code)[0]
    phone = np.r_[migrants.phone, locals_.phone]
    extended = Households(
        perm_ward=np.r_[households.perm_ward, perm],
        cur_ward=np.r_[households.cur_ward, cur],
        phone=np.r_[households.phone, phone],
        perm_address=pa.concat_arrays([households.perm_address, perm_full]),
        cur_address=tuple(
            pa.concat_arrays([old, add]) for old, add in zip(households.cur_address, styles, strict=True)
        ),
    )
    return people.concat(new), extended

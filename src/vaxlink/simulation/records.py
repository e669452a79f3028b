"""The output tables: the register snapshot, health's dose batch with its errors, and the truth, assembled
column-wise with pyarrow compute."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vaxlink.simulation.addresses import address_variants, in_other_ward
from vaxlink.simulation.columns import BoolArray, IntArray, days_from_ymd, digits_text, ymd_from_days
from vaxlink.simulation.doses import Doses, Sites
from vaxlink.simulation.population import (
    REFERENCE_YEAR,
    ROLE_CHILD,
    Households,
    People,
)
from vaxlink.simulation.rates import DOB_PLACEHOLDER, EXCLUSIVE_GROUPS, ErrorRates
from vaxlink.simulation.units import WardTable
from vaxlink.simulation.vocab import PLAIN, TONE_ALT, TYPO_FIRST, TYPO_VARIANTS, NameVocab

KINDS: tuple[str, ...] = (*ErrorRates.kinds(), DOB_PLACEHOLDER)
BIT = {kind: i for i, kind in enumerate(KINDS)}
EXCEL_EPOCH_SERIAL = 25569  # Excel's serial number of 1970-01-01
_CAMPAIGN_ORIGIN = int(np.datetime64("2021-01-01", "D").astype(np.int64))
_TWO_DIGITS = pa.array([f"{i:02d}" for i in range(100)], pa.string())
_SEX_LABELS = pa.array(["Nam", "Nữ"], pa.string())


def _strings_at(values: pa.Array, index: IntArray, missing: BoolArray | None = None) -> pa.Array:
    idx = pa.array(index, pa.int64(), mask=missing) if missing is not None else pa.array(index, pa.int64())
    return values.take(idx)


def full_names(
    vocab: NameVocab,
    family: IntArray,
    middle1: IntArray,
    middle2: IntArray,
    given: IntArray,
    variant: tuple[IntArray, IntArray, IntArray, IntArray] | None = None,
    given_first: BoolArray | None = None,
) -> pa.StringArray:
    """Names joined from their tokens, each position spelled by its variant table."""
    v = vocab.size
    parts = []
    for i, tok in enumerate((family, middle1, middle2, given)):
        offset = variant[i] * v if variant is not None else PLAIN * v
        parts.append(_strings_at(vocab.variants, offset + np.maximum(tok, 0), tok < 0))
    f, m1, m2, g = parts
    if given_first is None or not given_first.any():
        return pc.binary_join_element_wise(f, m1, m2, g, " ", null_handling="skip")
    gf = pa.array(given_first)
    return pc.binary_join_element_wise(
        pc.if_else(gf, g, f),
        pc.if_else(gf, f, m1),
        pc.if_else(gf, m1, m2),
        pc.if_else(gf, m2, g),
        " ",
        null_handling="skip",
    )


def _replace(values: pa.Array, mask: BoolArray, transform: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """values with `transform` applied to the masked rows only."""
    if not mask.any():
        return values
    m = pa.array(mask)
    return pc.replace_with_mask(values, m, transform(values.filter(m)))


def strip_diacritics(text: pa.Array) -> pa.Array:
    decomposed = pc.utf8_normalize(text, form="NFD")
    bare = pc.replace_substring_regex(decomposed, pattern=r"\p{Mn}", replacement="")
    return pc.replace_substring(pc.replace_substring(bare, "đ", "d"), "Đ", "D")


@functools.cache
def _date_texts() -> tuple[int, int, pa.StringArray]:
    """Every day of 1900–2100 written in each date style, so that formatting is one `take`.

    Returns (first day, number of days, texts laid out style-major).
    """
    first = int(days_from_ymd(np.asarray([1900]), np.asarray([1]), np.asarray([1]))[0])
    stop = int(days_from_ymd(np.asarray([2100]), np.asarray([12]), np.asarray([31]))[0]) + 1
    days = np.arange(first, stop, dtype=np.int64)
    year, month, day = ymd_from_days(days)
    y = pa.array(year).cast(pa.string())
    d2 = _TWO_DIGITS.take(pa.array(day))
    m2 = _TWO_DIGITS.take(pa.array(month))
    dmy = pc.binary_join_element_wise(d2, m2, y, "/")
    iso = pc.binary_join_element_wise(y, m2, d2, "-")
    excel = pa.array(days + EXCEL_EPOCH_SERIAL).cast(pa.string())
    return first, len(days), pa.concat_arrays([dmy, iso, excel])


def format_dates(days: IntArray, style: IntArray | int) -> pa.StringArray:
    """dd/mm/yyyy (style 0), yyyy-mm-dd (1) or an Excel serial number (2)."""
    first, count, texts = _date_texts()
    return texts.take(pa.array(np.asarray(style) * count + (days - first)))


@dataclass(frozen=True)
class PersonTexts:
    """Text columns per simulated person, built once and then taken per register row or dose record."""

    name: pa.StringArray
    pid: pa.StringArray  # null for people without a personal id
    registered_pid: pa.StringArray  # null also for people absent from the register
    contact_phone: pa.StringArray  # own number, or the household's
    key: pa.StringArray


def person_texts(province: str, people: People, households: Households, vocab: NameVocab) -> PersonTexts:
    pid = digits_text(people.pid, 12, people.pid == 0)
    registered = pc.if_else(pa.array(people.in_register), pid, pa.scalar(None, pa.string()))
    contact = np.where(people.phone > 0, people.phone, households.phone[people.household])
    return PersonTexts(
        name=full_names(vocab, people.family, people.middle1, people.middle2, people.given),
        pid=pid,
        registered_pid=registered,
        contact_phone=digits_text(contact, 10, contact == 0),
        key=pc.binary_join_element_wise(province, digits_text(np.arange(len(people)), 8), "-"),
    )


def register_table(
    rng: np.random.Generator,
    province: str,
    people: People,
    households: Households,
    wards: WardTable,
    texts: PersonTexts,
) -> pa.Table:
    """One row per citizen (the people in the register), in the interchange's column names."""
    reg = np.flatnonzero(people.in_register)
    p = people.take(reg)
    h = p.household
    n = len(reg)
    dob = format_dates(p.birth, 1)
    if p.year_only.any():
        years = pa.array(ymd_from_days(p.birth[p.year_only])[0]).cast(pa.string())
        dob = pc.replace_with_mask(dob, pa.array(p.year_only), years)
    perm = households.perm_ward[h]
    cur = households.cur_ward[h]
    # Minors without a phone of their own are reachable through the household's number.
    phone = np.where(p.phone > 0, np.where(rng.random(n) < 0.85, p.phone, 0), 0)
    phone = np.where(
        (phone == 0) & (p.role == ROLE_CHILD) & (rng.random(n) < 0.6), households.phone[h], phone
    )
    index = pa.array(reg)
    return pa.table(
        {
            "personal_id": texts.pid.take(index),
            "old_id": digits_text(p.old_id, 9, p.old_id == 0),
            "full_name": texts.name.take(index),
            "date_of_birth": dob,
            "sex": _SEX_LABELS.take(pa.array(p.sex)),
            "permanent_ward_code": wards.code.take(pa.array(perm)),
            "current_ward_code": _strings_at(wards.code, cur, cur == perm),
            "address": households.perm_address.take(pa.array(h)),
            "phone": digits_text(phone, 10, phone == 0),
            "household_id": pc.binary_join_element_wise(province, digits_text(h, 8), ""),
        }
    )


@dataclass(frozen=True)
class Batch:
    doses: pa.Table
    truth: pa.Table
    error_counts: dict[str, int]


class _Errors:
    """Draws error kinds per record so that each kind's overall rate is the configured one, choosing only
    among the records it can apply to, and keeps the bit mask of what was applied."""

    def __init__(self, rng: np.random.Generator, rates: ErrorRates, n: int) -> None:
        self.rng = rng
        self.rates = rates
        self.n = n
        self.bits = np.zeros(n, dtype=np.int64)
        self.group_of = {kind: group for group in EXCLUSIVE_GROUPS for kind in group}
        self.taken: dict[tuple[str, ...], BoolArray] = {}

    def draw(self, kind: str, eligible: BoolArray) -> BoolArray:
        rate = float(getattr(self.rates, kind))
        group = self.group_of.get(kind, (kind,))
        taken = self.taken.setdefault(group, np.zeros(self.n, dtype=np.bool_))
        free = eligible & ~taken
        m = int(free.sum())
        if rate <= 0.0 or m == 0:
            return np.zeros(self.n, dtype=np.bool_)
        p = min(1.0, rate * self.n / m)
        chosen = free & (self.rng.random(self.n) < p)
        taken |= chosen
        self.mark(kind, chosen)
        return chosen

    def mark(self, kind: str, mask: BoolArray) -> None:
        self.bits |= mask.astype(np.int64) << BIT[kind]

    def counts(self) -> dict[str, int]:
        return {kind: int(((self.bits >> BIT[kind]) & 1).sum()) for kind in KINDS}

    def labels(self) -> pa.StringArray:
        # Few distinct combinations occur, so each is spelled once and then looked up.
        unique, inverse = np.unique(self.bits, return_inverse=True)
        spelled = [";".join(k for k in KINDS if (int(u) >> BIT[k]) & 1) or None for u in unique]
        return pa.array(spelled, pa.string()).take(pa.array(inverse.astype(np.int64)))


def _digit_typo(rng: np.random.Generator, number: IntArray) -> IntArray:
    pos = rng.integers(0, 12, len(number))
    weight = np.asarray(10**pos, dtype=np.int64)
    digit = (number // weight) % 10
    new = (digit + rng.integers(1, 10, len(number))) % 10
    return np.asarray(number + (new - digit) * weight, dtype=np.int64)


def _transpose(rng: np.random.Generator, number: IntArray) -> IntArray:
    powers = 10 ** np.arange(11, -1, -1, dtype=np.int64)
    digits = (number[:, None] // powers[None, :]) % 10
    differ = digits[:, :-1] != digits[:, 1:]
    # A random pair among those whose digits differ, so the swap is visible.
    pick = np.argmax(rng.random(differ.shape) * differ, axis=1)
    rows = np.arange(len(number))
    a, b = digits[rows, pick], digits[rows, pick + 1]
    return np.asarray(number + (b - a) * powers[pick] + (a - b) * powers[pick + 1], dtype=np.int64)


def _shift_digit(
    rng: np.random.Generator, year: IntArray, month: IntArray, day: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """Change one digit of a date by one, keeping it a valid date: the year's last digit mostly, else the
    day or the month when that stays within the calendar."""
    n = len(year)

    def step(value: IntArray) -> IntArray:
        last = value % 10
        up = rng.random(n) < 0.5
        return np.where(last == 9, -1, np.where(last == 0, 1, np.where(up, 1, -1)))

    def dim(y: IntArray, m: IntArray) -> IntArray:
        ones = np.ones(n, dtype=np.int64)
        nxt_y = np.where(m == 12, y + 1, y)
        nxt_m = np.where(m == 12, 1, m + 1)
        return days_from_ymd(nxt_y, nxt_m, ones) - days_from_ymd(y, m, ones)

    which = rng.random(n)
    new_day = day + step(day)
    day_ok = (new_day >= 1) & (new_day <= dim(year, month)) & (new_day // 10 == day // 10)
    new_month = month + step(month)
    month_ok = (new_month >= 1) & (new_month <= 12) & (new_month // 10 == month // 10)
    month_ok &= day <= dim(year, np.clip(new_month, 1, 12))
    new_year = year + step(year)
    year_ok = ~((month == 2) & (day == 29))
    use_day = ((which < 0.3) | ~year_ok) & day_ok
    use_month = ~use_day & (which >= 0.3) & (which < 0.4) & month_ok
    use_year = ~use_day & ~use_month & year_ok
    # A 29 February whose day cannot move either becomes 28 February: still one digit.
    stuck = ~use_day & ~use_month & ~use_year
    return (
        np.where(use_year, new_year, year),
        np.where(use_month, new_month, month),
        np.where(use_day, new_day, np.where(stuck, 28, day)),
    )


def dose_batch(
    rng: np.random.Generator,
    rates: ErrorRates,
    province: str,
    doses: Doses,
    people: People,
    households: Households,
    wards: WardTable,
    vocab: NameVocab,
    sites: Sites,
    lots: pa.StringArray,
    texts: PersonTexts,
) -> Batch:
    """Health's view of every dose, with errors drawn at `rates`, re-entered duplicates, and the truth."""
    # Re-entered doses: the same person and dose typed again later, by someone else, under a new id.
    dup = np.flatnonzero(rng.random(len(doses)) < rates.duplicate)
    src = np.r_[np.arange(len(doses)), dup]
    is_dup = np.r_[np.zeros(len(doses), np.bool_), np.ones(len(dup), np.bool_)]
    entered = doses.date[src] + np.where(is_dup, rng.integers(1, 46, len(src)), 0)
    # One packed key sorts by entry day, then site, then at random.
    key = ((entered - _CAMPAIGN_ORIGIN) << 44) | (doses.site[src] << 28) | rng.integers(0, 1 << 28, len(src))
    order = np.argsort(key, kind="stable")
    src, is_dup = src[order], is_dup[order]
    n = len(src)
    person = doses.person[src]
    person_a = pa.array(person)
    site = doses.site[src]
    everyone = np.ones(n, np.bool_)
    err = _Errors(rng, rates, n)
    err.mark("duplicate", is_dup)
    err.mark("absent_person", ~people.in_register[person])

    # ---- ID number
    pid = people.pid[person]
    old = people.old_id[person]
    has_id = pid > 0
    hh = people.household[person]
    # Members of the same household in the register (the register part of people is grouped by household).
    reg = np.flatnonzero(people.in_register)
    reg_h = people.household[reg]
    n_h = len(households)
    h_start = np.searchsorted(reg_h, np.arange(n_h), side="left")
    h_count = np.searchsorted(reg_h, np.arange(n_h), side="right") - h_start
    self_reg = people.in_register[person]
    others = h_count[hh] - self_reg
    missing = err.draw("id_missing", has_id)
    use_old = err.draw("id_old_cmnd", has_id & (old > 0))
    lost_zero = err.draw("id_lost_leading_zero", has_id & (pid < 10**11))
    typo = err.draw("id_digit_typo", has_id)
    transposed = err.draw("id_transposed", has_id)
    member = err.draw("id_household_member", others > 0)
    number = pid.copy()
    number[typo] = _digit_typo(rng, pid[typo])
    number[transposed] = _transpose(rng, pid[transposed])
    pick = np.floor(rng.random(int(member.sum())) * others[member]).astype(np.int64)
    own_rank = person[member] - h_start[hh[member]]
    pick = pick + (self_reg[member] & (pick >= own_rank))
    number[member] = people.pid[reg[h_start[hh[member]] + pick]]
    retyped = typo | transposed | member
    id_text = texts.pid.take(person_a)
    id_text = _replace(id_text, retyped, lambda _: digits_text(number[retyped], 12))
    id_text = _replace(id_text, use_old, lambda _: digits_text(old[use_old], 9))
    id_text = _replace(id_text, lost_zero, lambda t: pc.utf8_slice_codeunits(t, 1))
    id_text = _replace(id_text, missing, lambda t: pa.nulls(len(t), pa.string()))

    # ---- name
    # Structural slips first; whether letters with marks or a movable tone remain depends on them.
    tokens = [a[person] for a in (people.family, people.middle1, people.middle2, people.given)]
    name_typo = err.draw("name_typo", everyone)
    given_typo = err.draw("name_given_typo", everyone)
    family_typo = err.draw("name_family_typo", everyone)
    dropped = err.draw("name_middle_dropped", tokens[1] >= 0)
    given_first = err.draw("name_given_first", everyone)
    tokens[1] = np.where(dropped, -1, tokens[1])
    tokens[2] = np.where(dropped, -1, tokens[2])
    typo_on_family = rng.random(n) < 0.25
    typo_variant = TYPO_FIRST + rng.integers(0, TYPO_VARIANTS, n)
    typo_at = [
        (name_typo & typo_on_family) | family_typo,
        np.zeros(n, np.bool_),
        np.zeros(n, np.bool_),
        (name_typo & ~typo_on_family) | given_typo,
    ]
    has_marks = np.zeros(n, dtype=np.bool_)
    decomposes = np.zeros(n, dtype=np.bool_)
    movable = np.zeros(n, dtype=np.bool_)
    for t, at in zip(tokens, typo_at, strict=True):
        spelled = np.where(at, typo_variant, PLAIN) * vocab.size + np.maximum(t, 0)
        has_marks |= (t >= 0) & ~vocab.ascii_only[spelled]
        decomposes |= (t >= 0) & vocab.decomposable[spelled]
        movable |= (t >= 0) & ~at & vocab.has_tone_alt[np.maximum(t, 0)]
    no_marks = err.draw("name_no_diacritics", has_marks)
    nfd = err.draw("name_nfd", decomposes)
    tone = err.draw("name_tone_placement", movable)
    upper = err.draw("name_upper", everyone)
    # Only names whose syllables change are rebuilt from tokens; the rest are the person's own text.
    r = tone | name_typo | given_typo | family_typo | dropped | given_first
    variant = [np.where(at[r], typo_variant[r], np.where(tone[r], TONE_ALT, PLAIN)) for at in typo_at]
    sub = [t[r] for t in tokens]
    name = texts.name.take(person_a)
    name = _replace(
        name,
        r,
        lambda _: full_names(
            vocab,
            sub[0],
            sub[1],
            sub[2],
            sub[3],
            variant=(variant[0], variant[1], variant[2], variant[3]),
            given_first=given_first[r],
        ),
    )
    name = _replace(name, nfd, lambda t: pc.utf8_normalize(t, form="NFD"))
    name = _replace(name, no_marks, strip_diacritics)
    name = _replace(name, upper, pc.utf8_upper)

    # ---- date of birth
    birth = people.birth[person]
    full_date = ~people.year_only[person]
    year_only = err.draw("dob_year_only", full_date)
    swapped = err.draw("dob_day_month_swapped", full_date & _swappable(birth))
    shifted = err.draw("dob_digit", full_date)
    day_off = err.draw("dob_day_off", full_date)
    _, b_month, b_day = ymd_from_days(birth)
    year_off = err.draw("dob_year_off", full_date & ~((b_month == 2) & (b_day == 29)))
    written = birth.copy()
    if day_off.any():
        written[day_off] += np.where(rng.random(int(day_off.sum())) < 0.5, -1, 1)
    if year_off.any():
        written[year_off] = _year_off(rng, birth[year_off])
    if shifted.any():
        written[shifted] = days_from_ymd(*_shift_digit(rng, *ymd_from_days(birth[shifted])))
    if swapped.any():
        y, m, d = ymd_from_days(birth[swapped])
        written[swapped] = days_from_ymd(y, d, m)
    # People registered with a year only: health writes the year too, or the 1 January placeholder.
    registered_year = ~full_date
    u = rng.random(n)
    placeholder = registered_year & (u < 0.4)
    err.mark(DOB_PLACEHOLDER, placeholder)
    if placeholder.any():
        y = ymd_from_days(birth[placeholder])[0]
        written[placeholder] = days_from_ymd(y, np.ones_like(y), np.ones_like(y))
    only_year = year_only | (registered_year & (u >= 0.4) & (u < 0.8))
    date_style = sites.date_style[site]
    dob = format_dates(written, date_style)
    dob = _replace(dob, only_year, lambda _: pa.array(ymd_from_days(birth[only_year])[0]).cast(pa.string()))

    # ---- sex
    sex = people.sex[person]
    wrong_sex = err.draw("sex_wrong", everyone)
    no_sex = err.draw("sex_missing", everyone)
    sex = np.where(wrong_sex, 1 - sex, sex)
    sex_text = _strings_at(_SEX_LABELS, sex, no_sex)

    # ---- ward of residence
    ward = households.cur_ward[hh]
    wrong_ward = err.draw("ward_wrong", everyone)
    no_ward = err.draw("ward_missing", everyone)
    moved_ward = err.draw("ward_wrong_same_address", everyone)
    district = wards.district[ward]
    start = wards.district_start[district]
    size = wards.district_stop[district] - start
    home = wards.wards_of(province)
    # Another ward of the same district; in a one-ward district, any other ward of the province.
    alt_district = start + (ward - start + rng.integers(1, np.maximum(size, 2))) % np.maximum(size, 1)
    home_pos = np.searchsorted(home, ward)
    alt_province = home[(home_pos + rng.integers(1, max(len(home), 2), n)) % len(home)]
    ward = np.where(wrong_ward | moved_ward, np.where(size > 1, alt_district, alt_province), ward)
    ward_text = _strings_at(wards.code, ward, no_ward)

    # ---- the rest of the record
    all_addresses = pa.concat_arrays(list(households.cur_address))
    style = sites.address_style[site]
    address = all_addresses.take(pa.array(style * n_h + hh))
    # The house and street of one's own home, the ward (and district) of the wrong ward code.
    if moved_ward.any():
        at = pa.array(ward[moved_ward])
        short = pa.array(style[moved_ward] == 1)
        ward_names = pc.if_else(short, wards.short.take(at), wards.name.take(at)).to_pylist()
        district_names = pc.if_else(short, wards.district_short.take(at), wards.district_name.take(at))
        address = _replace(
            address,
            moved_ward,
            lambda t: pa.array(
                in_other_ward(t.to_pylist(), style[moved_ward], ward_names, district_names.to_pylist()),
                pa.string(),
            ),
        )
    rewritten = err.draw("address_variant", everyone)
    address = _replace(
        address,
        rewritten,
        lambda t: pa.array(address_variants(rng, t.to_pylist(), style[rewritten]), pa.string()),
    )
    phone = texts.contact_phone.take(person_a)
    if rates.phone_relative > 0:
        relative_phone, related = _relatives_phones(people, households, person, hh)
        relative = err.draw("phone_relative", np.asarray(related.any(axis=1), dtype=np.bool_))
        if relative.any():
            pick = np.argmax(rng.random((int(relative.sum()), related.shape[1])) * related[relative], axis=1)
            chosen = relative_phone[relative][np.arange(len(pick)), pick]
            phone = _replace(phone, relative, lambda _: digits_text(chosen, 10))
    # A fixed odd multiplier not divisible by 5 permutes 0..10^10-1: ids look random and never repeat.
    scrambled = (np.arange(n, dtype=np.int64) * 7_368_787_157 + 1_000_003 * int(province)) % 10**10
    record_id = pc.binary_join_element_wise(province, digits_text(scrambled, 10), "-")
    vaccine = sites.labels.take(pa.array(sites.vaccine_label[site, doses.product[src]]))

    table = pa.table(
        {
            "record_id": record_id,
            "full_name": name,
            "date_of_birth": dob,
            "sex": sex_text,
            "id_number": id_text,
            "phone": phone,
            "address": address,
            "ward_code": ward_text,
            "vaccination_date": format_dates(doses.date[src], date_style),
            "dose_number": pa.array(doses.number[src], pa.int64()),
            "vaccine": vaccine,
            "lot_number": lots.take(pa.array(doses.lot[src])),
            "site": sites.name.take(pa.array(site)),
        }
    )
    truth = pa.table(
        {
            "record_id": record_id,
            "personal_id": texts.registered_pid.take(person_a),
            "person_key": texts.key.take(person_a),
            "errors": err.labels(),
        }
    )
    return Batch(doses=table, truth=truth, error_counts=err.counts())


def _year_off(rng: np.random.Generator, days: IntArray) -> IntArray:
    """The same day and month one or ten years off (ten less when more would make a child too young to be
    vaccinated); never called on a 29 February."""
    year, month, day = ymd_from_days(days)
    n = len(days)
    step = np.where(rng.random(n) < 0.6, 1, 10) * np.where(rng.random(n) < 0.5, -1, 1)
    step = np.where(year + step > REFERENCE_YEAR - 5, -np.abs(step), step)
    return days_from_ymd(year + step, month, day)


def _relatives_phones(
    people: People, households: Households, person: IntArray, hh: IntArray
) -> tuple[IntArray, BoolArray]:
    """For each record, the own phones of the members of its person's household (a row of slots), and
    which of them are another number than the contact number the record would carry."""
    order = np.argsort(people.household, kind="stable")
    sorted_h = people.household[order]
    ids = np.arange(len(households))
    start = np.searchsorted(sorted_h, ids, side="left")
    count = np.searchsorted(sorted_h, ids, side="right") - start
    slots = np.arange(max(int(count.max()), 1) if len(count) else 1)
    member = order[np.minimum(start[hh][:, None] + slots[None, :], len(order) - 1)]
    phone = np.where(slots[None, :] < count[hh][:, None], people.phone[member], 0)
    contact = np.where(people.phone[person] > 0, people.phone[person], households.phone[hh])
    return phone, (phone > 0) & (phone != contact[:, None])


def _swappable(days: IntArray) -> BoolArray:
    _, month, day = ymd_from_days(days)
    return np.asarray((day <= 12) & (day != month), dtype=np.bool_)


def concat_tables(tables: Sequence[pa.Table]) -> pa.Table:
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)

"""Whole-column numpy helpers of the simulator: weighted draws, ranks within groups, unique identifier
serials, calendar conversions and zero-padded digit text."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

EPOCH_YEAR = 1970


def weighted_choice(rng: np.random.Generator, p: npt.NDArray[np.float64], size: int) -> IntArray:
    """Indices drawn with probabilities p: one searchsorted instead of rng.choice's per-call overhead."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(p) - 1).astype(np.int64)


def ranks_within(groups: IntArray) -> IntArray:
    """0, 1, 2, ... within each group value, in order of appearance."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    lengths = np.diff(np.r_[starts, n])
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n) - np.repeat(starts, lengths)
    return ranks


def unique_redraw(
    rng: np.random.Generator,
    key_base: IntArray,
    space: int,
    fixed: BoolArray,
    slot: int,
    slots: int,
    fixed_serial: IntArray | None = None,
) -> IntArray:
    """Serials in [0, space) such that key_base + serial is unique; rows marked `fixed` keep their
    `fixed_serial`.

    Serials are slot, slot + slots, slot + 2*slots, ... so that simulations with different slots never
    draw the same number.
    """
    n = len(key_base)
    per_slot = space // slots
    serial = rng.integers(0, per_slot, n) * slots + slot
    if fixed_serial is not None:
        serial = np.where(fixed, fixed_serial, serial)
    key = key_base + serial
    # Among equal keys the fixed row sorts first and keeps its number.
    order = np.argsort(key * 2 + ~fixed, kind="stable")
    k = key[order]
    repeat = np.r_[False, k[1:] == k[:-1]] if n else np.zeros(0, np.bool_)
    redo = order[repeat]
    if fixed[redo].any():
        raise ValueError("fixed identifiers collide")
    taken = k[~repeat]
    rounds = 0
    while len(redo):
        rounds += 1
        if rounds > 200:
            raise ValueError("too many people for the identifier space of one birth year and place")
        serial[redo] = rng.integers(0, per_slot, len(redo)) * slots + slot
        new = key_base[redo] + serial[redo]
        pos = np.minimum(np.searchsorted(taken, new), len(taken) - 1)
        clash = taken[pos] == new
        o = np.argsort(new, kind="stable")
        again = np.zeros(len(new), dtype=np.bool_)
        again[o[1:]] = new[o][1:] == new[o][:-1]
        ok = ~clash & ~again
        taken = np.sort(np.concatenate([taken, new[ok]]))
        redo = redo[~ok]
    return serial


# Calendar lookup tables over the years any date here can fall in: numpy's own datetime64 unit
# conversions cost a second per few million values, a table lookup a few milliseconds.
_CAL_FIRST_YEAR, _CAL_LAST_YEAR = 1900, 2100
_MONTH_START = (
    np.arange((_CAL_FIRST_YEAR - EPOCH_YEAR) * 12, (_CAL_LAST_YEAR + 1 - EPOCH_YEAR) * 12 + 1)
    .astype("datetime64[M]")
    .astype("datetime64[D]")
    .astype(np.int64)
)
_FIRST_DAY = int(_MONTH_START[0])
_DAYS = np.arange(_FIRST_DAY, int(_MONTH_START[-1]), dtype=np.int64)
_DAY_MONTH = np.searchsorted(_MONTH_START, _DAYS, side="right") - 1
_DAY_YEAR = (_CAL_FIRST_YEAR + _DAY_MONTH // 12).astype(np.int64)
_DAY_OF_MONTH = (_DAYS - _MONTH_START[_DAY_MONTH] + 1).astype(np.int64)
_DAY_MONTH_OF_YEAR = (_DAY_MONTH % 12 + 1).astype(np.int64)


def days_from_ymd(year: IntArray, month: IntArray, day: IntArray) -> IntArray:
    """Days since 1970-01-01 of the given dates (1900–2100)."""
    return np.asarray(_MONTH_START[(year - _CAL_FIRST_YEAR) * 12 + (month - 1)] + day - 1, dtype=np.int64)


def ymd_from_days(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(year, month, day) of days since 1970-01-01 (1900–2100)."""
    i = days - _FIRST_DAY
    return _DAY_YEAR[i], _DAY_MONTH_OF_YEAR[i], _DAY_OF_MONTH[i]


def digits_text(values: IntArray, width: int, missing: BoolArray | None = None) -> pa.StringArray:
    """Zero-padded decimal text of a number column; null where `missing`."""
    text = pc.utf8_lpad(pa.array(values, pa.int64()).cast(pa.string()), width=width, padding="0")
    if missing is not None and missing.any():
        text = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    return text

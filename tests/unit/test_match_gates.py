"""The cheap gates in front of the edit distances never turn away a pair the distance would accept.

A gate only saves work: a name two edits away from another must pass `LETTERS_WITHIN_TWO` whatever its
characters (two of them may share a bit), and one that differs in more than two characters each way
should not pass, or the gate saves nothing."""

from __future__ import annotations

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.matching.defaults import _LETTERS_WITHIN_TWO
from vaxlink.matching.normalise import LETTER_BITS

# Folded name letters, a space, and characters whose codes share a bit with them (code modulo 63).
ALPHABET = "abcdeghiklmnopqrstuvxy đ?~\u00e0"


def _gate(pairs: list[tuple[str, str]]) -> list[tuple[str, str, int, bool]]:
    con = duckdb.connect()
    con.execute("CREATE TABLE p (i INTEGER, a VARCHAR, b VARCHAR)")
    con.executemany("INSERT INTO p VALUES (?, ?, ?)", [(i, a, b) for i, (a, b) in enumerate(pairs)])
    return [
        (a, b, int(d), bool(g))
        for a, b, d, g in con.execute(
            f"""SELECT a, b, levenshtein(a, b), {_LETTERS_WITHIN_TWO} FROM (
                SELECT i, a, b, {LETTER_BITS.format(key="a")} AS ra, {LETTER_BITS.format(key="b")} AS cb FROM p)
                CROSS JOIN LATERAL (SELECT ra AS name_letters) r
                CROSS JOIN LATERAL (SELECT cb AS name_letters) c
            ORDER BY i"""
        ).fetchall()
    ]


def _edited(draw: st.DrawFn, a: str) -> str:
    b = a
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["sub", "ins", "del"]))
        at = draw(st.integers(0, len(b)))
        ch = draw(st.sampled_from(ALPHABET))
        if kind == "ins":
            b = b[:at] + ch + b[at:]
        elif b and at < len(b):
            b = b[:at] + (ch if kind == "sub" else "") + b[at + 1 :]
    return b


@st.composite
def near_pairs(draw: st.DrawFn) -> tuple[str, str]:
    a = draw(st.text(alphabet=ALPHABET, max_size=20))
    return a, _edited(draw, a)


@settings(max_examples=60)
@given(
    st.lists(near_pairs(), min_size=1, max_size=50),
    st.lists(st.tuples(st.text(ALPHABET, max_size=12), st.text(ALPHABET, max_size=12)), max_size=50),
)
def test_names_within_two_edits_always_pass(
    near: list[tuple[str, str]], other: list[tuple[str, str]]
) -> None:
    for a, b, distance, passed in _gate(near + other):
        if distance <= 2:
            assert passed, (a, b, distance)


def test_names_of_other_people_are_turned_away() -> None:
    got = _gate([("an nguyen van", "bich thi tran"), ("an nguyen van", "an nguyen vna"), ("", "")])
    assert [g[3] for g in got] == [False, True, True]


def test_a_third_character_missing_each_way_is_turned_away() -> None:
    # Three letters gone (h, u, g) and one new: more than two edits, and the gate says so.
    assert [g[3] for g in _gate([("hung", "nea"), ("hung", "hunk")])] == [False, True]

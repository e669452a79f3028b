"""The neighbour-run watch looks for a run in the blocks around a number, not in every lookup of the window:
the runs it finds are those of the plain definition (the distinct numbers of the window within `span` of
the one looked up), whatever the order, the gaps in time and the window's bound."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.services.lookup.counters import NeighbourWatch


class PlainWatch:
    """The definition, read straight: every lookup of the window compared with the new one."""

    def __init__(self, window: float, span: int, run: int, pause: float, bound: int) -> None:
        self.window, self.span, self.run, self.pause, self.bound = window, span, run, pause, bound
        self.seen: dict[int, deque[tuple[float, int]]] = {}
        self.paused: dict[int, float] = {}

    def see(self, user: int, number: int, t: float) -> int:
        seen = self.seen.setdefault(user, deque())
        while seen and seen[0][0] < t - self.window:
            seen.popleft()
        seen.append((t, number))
        if len(seen) > self.bound:
            seen.popleft()
        near = {n for _, n in seen if abs(n - number) <= self.span}
        if len(near) < self.run or self.paused.get(user, 0.0) > t:
            return 0
        self.paused[user] = t + self.pause
        return len(near)


lookups = st.lists(
    st.tuples(
        st.integers(0, 2),  # user
        st.integers(0, 60),  # seconds since the last lookup
        st.integers(0, 5000),  # number
    ),
    max_size=300,
)


@settings(max_examples=200, deadline=None)
@given(lookups, st.integers(1, 400), st.integers(2, 6))
def test_runs_are_those_of_the_plain_definition(seq, span, run) -> None:
    watch = NeighbourWatch(window=300.0, span=span, run=run, pause=120.0)
    plain = PlainWatch(300.0, span, run, 120.0, bound=10_000)
    t = 1_000_000.0
    for user, gap, number in seq:
        t += gap
        assert watch.see(user, str(number), now=t) == plain.see(user, number, t)


def test_the_window_keeps_at_most_ten_thousand_lookups() -> None:
    watch = NeighbourWatch(window=10**9, span=10, run=3, pause=1.0)
    plain = PlainWatch(10**9, 10, 3, 1.0, bound=10_000)
    t = 0.0
    # Ten thousand scattered lookups, then two neighbours of the first: the first has left the window.
    for i in range(10_000):
        t += 1
        assert watch.see(1, str(1_000 * i), now=t) == plain.see(1, 1_000 * i, t)
    for n in (5, 9):
        t += 1
        assert watch.see(1, str(n), now=t) == plain.see(1, n, t) == 0
    t += 1
    assert watch.see(1, str(1_000 * 9_999 + 1), now=t) == plain.see(1, 1_000 * 9_999 + 1, t) == 0
    t += 1
    assert watch.see(1, str(1_000 * 9_999 + 2), now=t) == plain.see(1, 1_000 * 9_999 + 2, t) == 3


def test_a_number_exactly_span_away_is_a_neighbour_and_one_more_is_not() -> None:
    watch = NeighbourWatch(window=600.0, span=10, run=2, pause=60.0)
    assert watch.see(1, "100", now=1.0) == 0
    assert watch.see(1, "111", now=2.0) == 0
    assert watch.see(2, "100", now=1.0) == 0
    assert watch.see(2, "110", now=2.0) == 2


def test_the_window_forgets_what_it_held() -> None:
    """Memory follows the window: blocks whose lookups have all left it are dropped."""
    watch = NeighbourWatch(window=10.0, span=100, run=50, pause=1.0)
    for i in range(200):
        watch.see(1, str(1_000 * i), now=float(i) / 100)
    watch.see(1, "5", now=1_000.0)
    assert watch._blocks[1] == {0: {5: 1}}

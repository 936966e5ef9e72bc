"""The alert state machine, on synthetic traffic and on the CSV file's real timeline.

Time is whatever the test says: RateAlert never reads a clock.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from loglane.analyse.accesslog import FORMATS
from loglane.analyse.alerts import AlertEvent, RateAlert
from loglane.analyse.monitor import Monitor
from loglane.analyse.replay import blocks_of_file
from loglane.analyse.run import replay


def reference(hits: dict[int, int], window: int, threshold: float, end: int) -> list[tuple]:
    """The definition, evaluated naively at every instant from the first hit to `end`."""
    events, active = [], False
    for e in range(min(hits) + 1, end + 1):
        total = sum(n for s, n in hits.items() if e - window <= s < e)
        if not active and total > threshold * window:
            active = True
            events.append(("triggered", e, total))
        elif active and total <= threshold * window:
            active = False
            events.append(("recovered", e, total))
    return events


def run(hits: dict[int, int], window: int, threshold: float, end: int) -> list[tuple]:
    alert = RateAlert(window, threshold, start=min(hits))
    for s in sorted(hits):
        alert.add(s, hits[s])
    return [(e.state, e.at, e.hits) for e in alert.advance(end)]


def test_strictly_greater_triggers_equal_does_not() -> None:
    # window 10 s, threshold 1/s: the limit is 10 hits in the window
    assert run({100: 10}, 10, 1.0, 200) == []
    assert run({100: 11}, 10, 1.0, 200) == [("triggered", 101, 11), ("recovered", 111, 0)]


def test_recovers_when_back_to_exactly_the_threshold() -> None:
    # 12 hits at 100, then 1 per second: at 111 the 12 leave and the window holds 10 → recover
    hits = {100: 12, **{s: 1 for s in range(101, 130)}}
    events = run(hits, 10, 1.0, 130)
    assert events[0] == ("triggered", 101, 12)
    assert events[1] == ("recovered", 111, 10)  # 10 hits = 1.0/s: not above, so recovered


def test_no_warm_up_a_burst_can_alert_before_the_window_fills() -> None:
    # 120 s window, 10/s: 1201 hits within the first 3 seconds is enough
    events = run({0: 600, 1: 600, 2: 1}, 120, 10, 5)
    assert events == [("triggered", 3, 1201)]


def test_flapping_alternates_and_never_repeats_a_state() -> None:
    # window 2, threshold 1: limit 2 hits; alternate 3-hit and 0-hit pairs of seconds
    hits = {s: 3 for s in range(0, 40, 4)} | {s + 1: 0 for s in range(0, 40, 4)}
    events = run(hits, 2, 1.0, 50)
    states = [e[0] for e in events]
    assert states[:2] == ["triggered", "recovered"]
    assert all(a != b for a, b in itertools.pairwise(states))
    assert len(events) == 20
    assert events == reference(hits, 2, 1.0, 50)


def test_long_gap_with_no_lines_still_recovers_and_is_cheap() -> None:
    alert = RateAlert(120, 10, start=0)
    alert.add(0, 5000)
    started = time.perf_counter()
    events = alert.advance(10**9)  # thirty years with no line at all
    assert time.perf_counter() - started < 1.0
    assert [(e.state, e.at) for e in events] == [("triggered", 1), ("recovered", 121)]
    assert events[1].peak == 5000 / 120
    # traffic after the gap is evaluated normally
    alert.add(10**9 + 5, 1201)
    assert [e.state for e in alert.advance(10**9 + 10)] == ["triggered"]


def test_late_hits_inside_the_window_count_older_ones_are_refused() -> None:
    alert = RateAlert(10, 1.0, start=0)
    assert alert.advance(50) == []
    assert alert.add(45, 11)  # already evaluated, still inside [40, 50)
    assert alert.hits == 11
    events = alert.advance(51)
    assert [(e.state, e.at, e.hits) for e in events] == [("triggered", 51, 11)]
    assert not alert.add(30, 5)  # outside the window: too late
    assert alert.hits == 11


def test_fractional_threshold_is_exact() -> None:
    # 0.1/s over 120 s is 12 hits; float 0.1 * 120 is 12.000000000000002
    assert run({0: 12}, 120, 0.1, 10) == []
    assert run({0: 13}, 120, 0.1, 10) == [("triggered", 1, 13)]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.integers(0, 300), st.integers(0, 30), min_size=1, max_size=80),
    st.integers(1, 40),
    st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0]),
)
def test_matches_the_naive_definition(hits: dict[int, int], window: int, threshold: float) -> None:
    end = max(hits) + 2 * window
    assert run(hits, window, threshold, end) == reference(hits, window, threshold, end)


def test_advancing_in_small_steps_equals_one_big_step() -> None:
    hits = {s: (s * 7919) % 23 for s in range(0, 400)}
    a = RateAlert(30, 10, start=0)
    b = RateAlert(30, 10, start=0)
    for s, n in hits.items():
        a.add(s, n)
        b.add(s, n)
    small = [ev for t in range(1, 500) for ev in a.advance(t)]
    assert small == b.advance(499)


class Collect:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def event(self, ev: object) -> None:
        if isinstance(ev, AlertEvent):
            self.events.append((ev.state, ev.at, ev.hits))

    def unparsed(self, line: bytes) -> None: ...
    def summary(self, s: object) -> None: ...


def test_csv_timeline_against_the_definition(accesslog: Path) -> None:
    """The CSV sample (394 s, lines up to 2 s out of order): replaying it must give exactly
    the alerts that the definition gives on its sorted timestamps."""
    path = accesslog / "generated_csv_traffic.txt"
    stamps = Counter(
        int(line.split(b",")[3]) for line in path.read_bytes().splitlines()[1:] if line.strip()
    )
    for window, threshold in ((120, 10.0), (60, 12.0), (10, 15.0)):
        monitor = Monitor(interval=10, window=window, threshold=threshold, collapse_quiet=True)
        collect = Collect()
        blocks = blocks_of_file(str(path), FORMATS["csv"], 10, jobs=1)
        replay(blocks, monitor, [collect])
        assert collect.events == reference(dict(stamps), window, threshold, max(stamps) + 1), window
    # the defaults give two alerts and two recoveries on this file, the first recovery at
    # exactly the threshold (1200 hits in 120 s); checked with awk in SOURCES.md
    assert run(dict(stamps), 120, 10, max(stamps) + 1) == [
        ("triggered", 1709294497, 1208),
        ("recovered", 1709294578, 1200),
        ("triggered", 1709294685, 1207),
        ("recovered", 1709294784, 1179),
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 30),  # how far to advance after this batch
            st.dictionaries(st.integers(-40, 40), st.integers(1, 20), max_size=6),  # offsets
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 20),
    st.sampled_from([0.5, 1.0, 3.0]),
)
def test_interleaved_and_late_hits_match_the_naive_definition(
    ops: list[tuple[int, dict[int, int]]], window: int, threshold: float
) -> None:
    """Hits arrive in batches between advances, some in the past (late), some in the future;
    the machine must agree with evaluating the definition naively at every instant over the
    hits known at that instant."""
    alert = RateAlert(window, threshold, start=1000)
    known: dict[int, int] = {}
    now, active, expected, got = 1000, False, [], []
    for step, batch in ops:
        for offset, n in batch.items():
            second = now + offset
            accepted = alert.add(second, n)
            assert accepted == (second >= now - window)
            if accepted:
                known[second] = known.get(second, 0) + n
        got += [(e.state, e.at, e.hits) for e in alert.advance(now + step)]
        for e in range(now + 1, now + step + 1):
            total = sum(n for s, n in known.items() if e - window <= s < e)
            if not active and total > threshold * window:
                active = True
                expected.append(("triggered", e, total))
            elif active and total <= threshold * window:
                active = False
                expected.append(("recovered", e, total))
        now += step
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 200),  # how far to advance after this batch (0: no move)
            st.dictionaries(st.integers(-60, 60), st.integers(1, 40), max_size=8),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 60),
    st.sampled_from([0.1, 0.5, 1.0, 3.0]),
)
def test_window_sum_after_every_advance_matches_the_definition(
    ops: list[tuple[int, dict[int, int]]], window: int, threshold: float
) -> None:
    """The fast paths of advance (jumping over seconds, or a whole step when no trigger is
    possible) must leave the same window sum (reported as window_rate) and the same state as
    evaluating every instant."""
    alert = RateAlert(window, threshold, start=5000)
    known: dict[int, int] = {}
    now, active = 5000, False
    for step, batch in ops:
        for offset, n in batch.items():
            if alert.add(now + offset, n):
                known[now + offset] = known.get(now + offset, 0) + n
        alert.advance(now + step)
        for e in range(now + 1, now + step + 1):
            total = sum(n for s, n in known.items() if e - window <= s < e)
            if not active and total > threshold * window:
                active = True
            elif active and total <= threshold * window:
                active = False
        now += step
        assert alert.hits == sum(n for s, n in known.items() if now - window <= s < now)
        assert alert.active == active


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 150),
            st.dictionaries(st.integers(-80, 80), st.integers(-1, 30), max_size=10),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 60),
    st.sampled_from([0.1, 0.5, 1.0, 3.0]),
    st.booleans(),
)
def test_add_many_equals_add_in_order(
    ops: list[tuple[int, dict[int, int]]], window: int, threshold: float, started: bool
) -> None:
    """add_many (bulk, C-level) is add() called for each item in order: same late count, same
    events, same window sum."""
    bulk = RateAlert(window, threshold, start=7000 if started else None)
    single = RateAlert(window, threshold, start=7000 if started else None)
    now = 7000
    for step, batch in ops:
        hits = {now + offset: n for offset, n in batch.items()}
        late = sum(n for s, n in hits.items() if not single.add(s, n))
        assert bulk.add_many(hits) == late
        now += step
        got = [(e.state, e.at, e.hits, e.peak) for e in bulk.advance(now)]
        assert got == [(e.state, e.at, e.hits, e.peak) for e in single.advance(now)]
        assert (bulk.hits, bulk.active, bulk.peak) == (single.hits, single.active, single.peak)

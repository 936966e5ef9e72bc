"""The Monitor on synthetic blocks: interval alignment, quiet runs, late lines, the final
partial report. Time is whatever the test passes to advance()."""

from __future__ import annotations

from collections import Counter

from loglane.analyse.aggregate import Block, Detail
from loglane.analyse.alerts import AlertEvent
from loglane.analyse.monitor import Monitor, Quiet, Report


def block(hits: dict[int, int], interval: int = 10, section: str = "/a") -> Block:
    details: dict[int, Detail] = {}
    for sec, n in hits.items():
        d = details.setdefault(sec // interval, Detail())
        d.hits += n
        d.sections[section] += n
        d.statuses[200] += n
    totals = Detail(sum(hits.values()), 0, Counter({200: sum(hits.values())}))
    n = sum(hits.values())
    return Block(lines=n, requests=n, per_second=dict(hits), details=details, totals=totals)


def kinds(events: list) -> list[tuple]:
    out = []
    for ev in events:
        if isinstance(ev, Report):
            out.append(("report", ev.start, ev.end, ev.detail.hits, ev.late))
        elif isinstance(ev, Quiet):
            out.append(("quiet", ev.start, ev.end, ev.intervals))
        elif isinstance(ev, AlertEvent):
            out.append((ev.state, ev.at))
    return out


def test_reports_are_aligned_and_come_for_every_interval_live() -> None:
    m = Monitor(interval=10, window=30, threshold=100)
    m.start(1003)
    m.add(block({1004: 2, 1015: 1}))
    assert kinds(m.advance(1041)) == [
        ("report", 1000, 1010, 2, 0),  # the first interval, although the clock began at 1003
        ("report", 1010, 1020, 1, 0),
        ("report", 1020, 1030, 0, 0),  # nothing arrived: still a report (live)
        ("report", 1030, 1040, 0, 0),
    ]
    assert kinds(m.finish(1045)) == [("report", 1040, 1045, 0, 0)]


def test_replay_collapses_quiet_runs_but_not_an_active_alert() -> None:
    m = Monitor(interval=10, window=10, threshold=1.0, collapse_quiet=True)
    m.add(block({100: 20, 5000: 1}))
    events = kinds(m.advance(5001))
    assert events == [  # in time order: an alert at 101 comes before the report due at 110
        ("triggered", 101),
        ("report", 100, 110, 20, 0),
        ("recovered", 111),  # reports continue while the alert is active...
        ("report", 110, 120, 0, 0),
        ("quiet", 120, 5000, 488),  # ...then the silence is one line
    ]
    assert kinds(m.finish()) == [("report", 5000, 5001, 1, 0)]
    assert m.summary.requests == 21 and len(m.summary.alerts) == 1


def test_late_lines_go_to_the_next_report_and_the_summary() -> None:
    m = Monitor(interval=10, window=60, threshold=100)
    m.add(block({100: 1}))
    assert kinds(m.advance(130)) == [
        ("report", 100, 110, 1, 0),
        ("report", 110, 120, 0, 0),
        ("report", 120, 130, 0, 0),
    ]
    m.add(block({105: 3}))  # its interval was reported already; still inside the window
    assert m.alert.hits == 4
    assert kinds(m.advance(140)) == [("report", 130, 140, 0, 3)]
    m.add(block({10: 2}))  # older than the window: only the summary has it
    assert m.alert.hits == 4
    assert m.summary.late == 2 and m.summary.requests == 6
    assert m.summary.totals.hits == 6


def test_lines_after_the_end_count_in_the_summary_only() -> None:
    m = Monitor(interval=10, window=60, threshold=100)
    m.start(100)
    m.add(block({105: 1, 500: 4}))
    events = kinds(m.finish(120))
    assert events == [("report", 100, 110, 1, 0), ("report", 110, 120, 0, 0)]
    assert m.summary.totals.hits == 5

"""The replay's fast paths against the plain definitions they replace.

* `Aggregator._seconds` (CLF times cut into date-hour-minute-zone + seconds in C) against
  `parse_time` per value, including times it must refuse;
* `report_line` (JSON written directly) against `json.dumps` of `report_json`;
* the text renderer's output for every report of the real data files.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loglane.analyse.accesslog import FORMATS, detect_format, parse_time
from loglane.analyse.aggregate import Aggregator, Detail
from loglane.analyse.monitor import AlertPeriod, Monitor, Report
from loglane.analyse.render import (
    JsonRenderer,
    TextRenderer,
    clock,
    human_bytes,
    report_json,
    report_line,
    stamp,
    status_classes,
    top,
)
from loglane.analyse.replay import blocks_of_file
from loglane.analyse.run import replay


def _expected_seconds(times: list[bytes]) -> list[int] | None:
    try:
        return [parse_time(t) for t in times]
    except ValueError:
        return None


def _check_seconds(times: list[bytes]) -> None:
    agg = Aggregator(FORMATS["combined"], 10)
    expected = _expected_seconds(times)
    if expected is None:
        with pytest.raises(ValueError):
            agg._seconds(times)
    else:
        assert agg._seconds(times) == expected
        assert agg._seconds(times) == expected  # and again from the warm caches


_clf_time = st.builds(
    lambda t, zone: datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S ").encode() + zone,
    st.integers(0, 4_000_000_000),
    st.sampled_from([b"+0000", b"-0700", b"+0530", b"-1200", b"+1400", b"+00:00"]),
)
_odd_time = st.sampled_from(
    [
        b"31/Feb/2020:10:00:00 +0000",  # no such day
        b"10/Oct/2000:13:55:60 -0700",  # no second 60
        b"10/Oct/2000:13:55:6a -0700",
        b"10/Foo/2000:13:55:36 -0700",
        b"1/Oct/2000:13:55:36 -0700",  # one-digit day: the per-value path
        b"10/Oct/2000:13:55:36.250 -0700",
        b"10/oct/2000:13:55:36 -0700",
        b"10/Oct/2000:13:55:36 -07:00",
        b"10/Oct/2000:13:55:36 +0000",
        b"1700000000",
        b"2019-02-07T21:11:10+00:00",
        b"xxxxxxxxxxxxxxxxxxxxxxxxxx",
        b"10/Oct/2000:13:55-36 -0700",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_clf_time, _clf_time, _clf_time, _odd_time), min_size=1, max_size=40))
def test_column_times_equal_parse_time(times: list[bytes]) -> None:
    _check_seconds(times)


@settings(max_examples=200, deadline=None)
@given(st.lists(_clf_time, min_size=1, max_size=40))
def test_column_times_equal_parse_time_clf_only(times: list[bytes]) -> None:
    _check_seconds(times)


def test_column_times_on_the_real_files(accesslog_file: Path) -> None:
    path = accesslog_file
    fmt = detect_format(path.read_bytes().splitlines()[:50])
    rows = fmt.bulk.findall(path.read_bytes()) if fmt.bulk is not None else []
    times = [r[1] for r in rows]
    if times:
        _check_seconds(times)


_names = st.text(max_size=12)
_counts = st.dictionaries(_names, st.integers(1, 10**6), max_size=15)


@st.composite
def _reports(draw: st.DrawFn) -> Report:
    statuses = draw(st.dictionaries(st.integers(0, 999), st.integers(1, 10**6), max_size=8))
    detail = Detail(
        draw(st.integers(0, 10**9)),
        draw(st.integers(0, 10**15)),
        Counter(statuses),
        Counter(draw(_counts)),
        Counter(draw(_counts)),
    )
    periods = st.builds(
        AlertPeriod,
        st.integers(0, 2**37),
        st.one_of(st.none(), st.integers(0, 2**37)),
        st.floats(0, 1e9, allow_nan=False),
    )
    start = draw(st.integers(0, 2**37))
    return Report(
        start,
        start + draw(st.integers(0, 3600)),
        detail,
        draw(st.integers(0, 10**6)),
        draw(st.integers(0, 10**6)),
        draw(st.one_of(st.none(), periods)),
        draw(st.lists(periods, max_size=5)),
        draw(st.integers(1, 100)),
        draw(st.floats(0, 1e9, allow_nan=False)),
    )


@settings(max_examples=300, deadline=None)
@given(_reports())
def test_report_line_equals_json_dumps(report: Report) -> None:
    assert report_line(report) == json.dumps(report_json(report), ensure_ascii=False) + "\n"


def test_report_line_on_the_real_files(accesslog_file: Path) -> None:
    path = accesslog_file
    fmt = detect_format(path.read_bytes().splitlines()[:50])
    monitor = Monitor(interval=10, window=120, threshold=0.5, collapse_quiet=True)
    expected: list[str] = []

    class Collect:
        def event(self, ev: object) -> None:
            # at event time: alert periods in a report are updated as the alert goes on
            if isinstance(ev, Report):
                expected.append(json.dumps(report_json(ev), ensure_ascii=False))

        def unparsed(self, line: bytes) -> None:
            pass

        def summary(self, summary: object) -> None:
            pass

    out = io.StringIO()
    replay(
        blocks_of_file(str(path), fmt, 10, jobs=1),
        monitor,
        [Collect(), JsonRenderer(out, 0.5, flush=False)],  # type: ignore[list-item]
    )
    assert expected
    lines = [line for line in out.getvalue().splitlines() if '"type": "report"' in line]
    assert lines == expected


@settings(max_examples=500, deadline=None)
@given(st.integers(-62_135_596_800, 253_402_300_799))  # 0001-01-01 .. 9999-12-31 23:59:59
def test_stamp_and_clock_equal_datetime(t: int) -> None:
    assert stamp(t) == datetime.fromtimestamp(t, UTC).isoformat(sep=" ")
    assert clock(t) == datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def test_stamp_out_of_range_raises_like_datetime() -> None:
    for t in (253_402_300_800, 10**13):
        with pytest.raises((ValueError, OverflowError, OSError)):
            datetime.fromtimestamp(t, UTC)
        with pytest.raises((ValueError, OverflowError, OSError)):
            stamp(t)
        with pytest.raises((ValueError, OverflowError, OSError)):
            clock(t)


def _reference_text_report(r: Report) -> str:
    """TextRenderer.report as it was written before it was made fast (the definition)."""

    def ref_stamp(t: int) -> str:
        return datetime.fromtimestamp(t, UTC).isoformat(sep=" ")

    def ref_clock(t: int) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")

    def ref_top(counter: Counter[object], n: int = 5) -> str:
        items = top(counter, n)
        return " · ".join(f"{k} {v}" for k, v in items) if items else "-"

    def ref_period(p: AlertPeriod, n: int) -> str:
        end = ref_clock(p.recovered) if p.recovered is not None else "now"
        return f"#{n} {ref_clock(p.triggered)} → {end} (peak {p.peak:.1f}/s)"

    d = r.detail
    classes = status_classes(d.statuses)
    cls = "  ".join(f"{k} {v}" for k, v in classes.items())
    rate = d.hits / r.seconds if r.seconds else 0.0
    late = f"   late {r.late}" if r.late else ""
    lines = [
        f"[{ref_stamp(r.end)}] REPORT {ref_clock(r.start)}–{ref_clock(r.end)} ({r.seconds} s)",  # noqa: RUF001
        f"  hits {d.hits} ({rate:.1f}/s)   {cls}   bytes {human_bytes(d.bytes)}"
        f"   unparsed {r.unparsed}{late}",
        f"  top sections  {ref_top(d.sections)}",
        f"  top status    {ref_top(d.statuses)}",
        f"  top hosts     {ref_top(d.hosts, 3)}",
    ]
    now = (
        f"ACTIVE since {ref_clock(r.alert.triggered)} (peak {r.alert.peak:.1f}/s)"
        if r.alert
        else "none"
    )
    history = " · ".join(ref_period(p, r.history_first + i) for i, p in enumerate(r.history))
    lines.append(f"  alert: {now} · window {r.window_rate:.1f}/s · history: {history or '-'}")
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(_reports())
def test_text_report_equals_the_reference(report: Report) -> None:
    assert TextRenderer(io.StringIO()).report(report) == _reference_text_report(report)

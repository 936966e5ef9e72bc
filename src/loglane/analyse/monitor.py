"""The monitor: blocks of traffic in, reports and alerts out, driven by a given clock.

`Monitor.add(block)` files a block's hits by their own timestamps; `Monitor.advance(t)` moves
the monitor's clock to instant t (Unix seconds) and returns the events that became due:
alert changes (evaluated at every second) and one report per elapsed interval. Intervals are
aligned to multiples of `interval` in Unix time (…:20, …:30), so reports read naturally.

Who drives the clock decides the mode: the wall clock when following a live file, the log's
own timestamps (minus a lateness allowance) when replaying. Lines for an interval that has
already been reported still count for the alert window (if inside it) and in the summary,
and show up as `late` in the next report.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field

from .aggregate import Block, Detail
from .alerts import AlertEvent, RateAlert

__all__ = ["AlertPeriod", "Monitor", "Quiet", "Report", "Summary"]

MAX_PATHS = 100_000  # top paths are approximate beyond this many distinct paths


@dataclass
class AlertPeriod:
    triggered: int
    recovered: int | None
    peak: float  # hits/s


@dataclass
class Report:
    start: int
    end: int
    detail: Detail
    unparsed: int
    late: int
    alert: AlertPeriod | None
    history: list[AlertPeriod]
    history_first: int = 1  # the number of history[0] among all alerts so far
    window_rate: float = 0.0  # the alert's average rate over the window at `end`

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass
class Quiet:
    """Intervals with no traffic while no alert is active, collapsed (replay only)."""

    start: int
    end: int
    intervals: int


@dataclass
class Summary:
    lines: int = 0
    requests: int = 0
    unparsed: int = 0
    late: int = 0  # lines too old for the alert window when they arrived
    first: int | None = None
    last: int | None = None
    totals: Detail = field(default_factory=Detail)
    hosts: set[str] = field(default_factory=set)
    paths: Counter[str] = field(default_factory=Counter)
    alerts: list[AlertPeriod] = field(default_factory=list)


Event = AlertEvent | Report | Quiet
EMPTY = Detail()  # shared by the reports of intervals without traffic; never mutated


class Monitor:
    def __init__(
        self,
        *,
        interval: int = 10,
        window: int = 120,
        threshold: float = 10.0,
        collapse_quiet: bool = False,
        history: int = 5,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.window = window
        self.threshold = threshold
        self.collapse_quiet = collapse_quiet
        self.history_shown = history
        self.alert = RateAlert(window, threshold)
        self.summary = Summary()
        self.now: int | None = None  # every interval ending at or before now is reported
        self._details: dict[int, Detail] = {}
        self._detail_ivs: list[int] = []  # heap of the keys of _details (and stale ones)
        self._unparsed = 0
        self._late = 0
        self._current: AlertPeriod | None = None

    def start(self, now: int) -> None:
        """Begin at instant `now` (live mode: the wall clock; lines before it are old)."""
        if self.now is None:
            self.now = now
            self.alert.now = now

    def add(self, block: Block) -> None:
        s = self.summary
        s.lines += block.lines
        s.requests += block.requests
        s.unparsed += block.unparsed
        self._unparsed += block.unparsed
        if block.per_second:
            lo, hi = min(block.per_second), max(block.per_second)
            s.first = lo if s.first is None else min(s.first, lo)
            s.last = hi if s.last is None else max(s.last, hi)
            self.start(lo)
        s.late += self.alert.add_many(block.per_second)
        assert self.now is not None or not block.details
        reported_iv = -1 if self.now is None else self.now // self.interval
        for iv, detail in block.details.items():
            if iv < reported_iv:
                self._late += detail.hits
            else:
                mine = self._details.get(iv)
                if mine is None:
                    self._details[iv] = detail
                    heapq.heappush(self._detail_ivs, iv)
                else:
                    mine.merge(detail)
        t = block.totals
        s.totals.hits += t.hits
        s.totals.bytes += t.bytes
        s.totals.statuses.update(t.statuses)
        s.totals.sections.update(t.sections)
        s.hosts.update(t.hosts)
        s.paths.update(block.paths)
        if len(s.paths) > 2 * MAX_PATHS:
            s.paths = Counter(dict(s.paths.most_common(MAX_PATHS)))

    def advance(self, to: int) -> list[Event]:
        """Move the clock to instant `to`; alert changes and reports that fell due."""
        events: list[Event] = []
        if self.now is None:
            self.start(to)
            return events
        width = self.interval
        while self.now < to:
            boundary = (self.now // width + 1) * width
            if self.collapse_quiet and boundary <= to:
                quiet_end = self._quiet_until(boundary, to)
                if quiet_end - boundary >= width:
                    self._alerts_until(quiet_end)
                    intervals = (quiet_end - boundary) // width + 1
                    events.append(Quiet(boundary - width, quiet_end, intervals))
                    self.now = quiet_end
                    continue
            step = min(boundary, to)
            events += self._alerts(step)
            if step == boundary:
                events.append(self._report(boundary - width, boundary))
            self.now = step
        return events

    def _quiet_until(self, boundary: int, to: int) -> int:
        """Where the run of empty intervals starting at boundary - interval ends."""
        width = self.interval
        # The alert window may still be draining: with no new hits its sum can only fall, so
        # while no alert is active nothing can happen there but a slow decline.
        if (
            boundary // width - 1 in self._details
            or self.alert.active
            or self._unparsed
            or self._late
        ):
            return boundary - width
        ivs = self._detail_ivs
        while ivs and ivs[0] not in self._details:
            heapq.heappop(ivs)
        nxt = min(ivs[0] * width, to) if ivs else to
        return max(boundary - width, nxt // width * width)

    def _alerts_until(self, to: int) -> None:
        events = self.alert.advance(to)
        assert not events, "an empty window cannot change the alert state"

    def _alerts(self, to: int) -> list[Event]:
        events: list[Event] = []
        for ev in self.alert.advance(to):
            if ev.state == "triggered":
                self._current = AlertPeriod(ev.at, None, ev.peak)
                self.summary.alerts.append(self._current)
            elif self._current is not None:
                self._current.recovered = ev.at
                self._current.peak = ev.peak
                self._current = None
            events.append(ev)
        return events

    def _report(self, start: int, end: int) -> Report:
        if self._current is not None:
            self._current.peak = self.alert.peak
        detail = self._details.pop(start // self.interval, None) or EMPTY
        report = Report(
            start,
            end,
            detail,
            self._unparsed,
            self._late,
            self._current,
            self.summary.alerts[-self.history_shown :],
            max(1, len(self.summary.alerts) - self.history_shown + 1),
            self.alert.hits / self.window,
        )
        self._unparsed = 0
        self._late = 0
        return report

    def finish(self, end: int | None = None) -> list[Event]:
        """Flush at instant `end` (default: just after the last line): alerts up to it, and a
        last report for the partial interval it falls in."""
        if self.now is None:
            return []
        if end is None:
            end = max(self.now, (self.summary.last or self.now) + 1)
        events = self.advance(end)
        width = self.interval
        if end % width:
            events.append(self._report(end // width * width, end))
        self._details.clear()  # lines stamped after the end: in the summary, in no report
        self._detail_ivs.clear()
        return events

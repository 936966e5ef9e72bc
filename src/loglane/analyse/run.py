"""The two drivers: replay (log time) and live (a clock), both feeding one Monitor."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from .aggregate import Aggregator, Block
from .clock import Clock
from .follow import Follower, StreamFollower
from .monitor import Event, Monitor, Summary

__all__ = ["Output", "live", "replay"]


class Output(Protocol):
    def event(self, ev: Event) -> None: ...
    def unparsed(self, line: bytes) -> None: ...
    def summary(self, summary: Summary) -> None: ...


def _emit(outputs: Sequence[Output], events: Iterable[Event]) -> None:
    for ev in events:
        for out in outputs:
            out.event(ev)


def _take(monitor: Monitor, block: Block, outputs: Sequence[Output], show: bool) -> None:
    monitor.add(block)
    if show:
        for line in block.unparsed_lines:
            for out in outputs:
                out.unparsed(line)


def replay(
    blocks: Iterable[Block],
    monitor: Monitor,
    outputs: Sequence[Output],
    *,
    lateness: int | None = None,
    show_unparsed: bool = False,
    stop: threading.Event | None = None,
) -> Summary:
    """Run the monitor on the log's own time.

    The clock trails the newest timestamp seen by `lateness` seconds (default: the window),
    so lines up to that much out of order still land in their own interval's report, and
    the alert timeline equals that of the same lines sorted by time.
    """
    lag = monitor.window if lateness is None else lateness
    newest: int | None = None
    # The replay makes millions of short-lived containers (blocks, details, reports) and no
    # reference cycles of its own; the cyclic GC would rescan what is alive over and over
    # (a fifth of the CPU time). Collect the young generations between blocks instead.
    enabled = gc.isenabled()
    gc.disable()
    try:
        for n, block in enumerate(blocks, 1):
            _take(monitor, block, outputs, show_unparsed)
            if block.per_second:
                top = max(block.per_second)
                newest = top if newest is None else max(newest, top)
            if newest is not None:
                _emit(outputs, monitor.advance(newest + 1 - lag))
            del block
            if n % 16 == 0:
                gc.collect(1)
            if stop is not None and stop.is_set():
                break
    finally:
        if enabled:
            gc.enable()
    _emit(outputs, monitor.finish())
    for out in outputs:
        out.summary(monitor.summary)
    return monitor.summary


def live(
    follower: Follower | StreamFollower,
    aggregator: Aggregator,
    monitor: Monitor,
    outputs: Sequence[Output],
    clock: Clock,
    stop: threading.Event,
    *,
    poll: float = 0.25,
    show_unparsed: bool = False,
) -> Summary:
    """Follow a file on `clock` until `stop` is set; alerts are evaluated every second of
    that clock and a report comes every interval, lines or not."""
    monitor.start(int(clock.now()))
    try:
        while True:
            data = follower.poll()
            if data:
                _take(monitor, aggregator.aggregate(data), outputs, show_unparsed)
            now = clock.now()
            _emit(outputs, monitor.advance(int(now)))
            if stop.is_set() or getattr(follower, "eof", False):
                break
            # Wake at the next whole second at the latest: alerts are due every second.
            if clock.wait(stop, min(poll, int(now) + 1 - now + 0.001)):
                data = follower.poll()  # what was written up to the stop still counts
                if data:
                    _take(monitor, aggregator.aggregate(data), outputs, show_unparsed)
                break
    finally:
        follower.close()
    # Close the current second too: at exit, what has arrived is all there will be.
    _emit(outputs, monitor.finish(max(int(clock.now()) + 1, monitor.now or 0)))
    for out in outputs:
        out.summary(monitor.summary)
    return monitor.summary

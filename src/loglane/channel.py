"""A logger's queue, sinks and counters: what the log call and the writer thread share.

The log call only appends a tuple to ``queue`` (a deque: append and popleft are atomic, so the
hot path takes no lock, which is also what makes logging from a signal handler safe). The
writer thread is the only one that pops, formats and touches sinks.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from queue import SimpleQueue
from typing import Any

from loglane.format import BatchFormatter, batch_formatter
from loglane.sinks.base import Formatter, Sink

RawRecord = tuple[Any, ...]  # Record's fields in order; see loglane.record.Record

OVERFLOW_POLICIES = ("drop", "block")


@dataclass
class SinkState:
    """The writer's book-keeping for one sink: start, failures, back-off, held records."""

    sink: Sink
    batch_format: BatchFormatter | None  # None: the channel's formatter
    started: bool = False
    errors: int = 0
    failing_since: float | None = None
    next_retry: float = 0.0
    backoff: float = 0.0
    last_report: float = -1e18
    unreported: int = 0  # errors since the last report on stderr
    held_records: list[RawRecord] = field(default_factory=list)
    held_lines: list[str] = field(default_factory=list)
    backlogged: bool = False  # the sink raised SinkBacklogged: it holds data to write itself
    lost: int = 0  # records given up on (held buffer full, or still failing at close)
    closed: bool = False


def pace_mark(queue_size: int) -> int:
    """The queue length from which a log call may pace itself (see ``Logger._full``)."""
    return queue_size - queue_size // 4


class Channel:
    """Everything behind one ``Logger``: bounded queue, policy, sinks, counters."""

    def __init__(
        self,
        name: str,
        sinks: Sequence[Sink],
        formatter: Formatter,
        *,
        queue_size: int,
        overflow: str,
        block_timeout: float | None,
    ) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be 'drop' or 'block', not {overflow!r}")
        if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1:
            raise ValueError(f"queue_size must be a positive int, not {queue_size!r}")
        if block_timeout is not None and block_timeout < 0:
            raise ValueError(f"block_timeout must be >= 0 or None, not {block_timeout!r}")
        self.name = name
        self.queue: deque[RawRecord] = deque()
        self.queue_size = queue_size
        self.block = overflow == "block"
        self.block_timeout = block_timeout
        self.formatter = formatter
        self.batch_format = batch_formatter(formatter)
        self.states: tuple[SinkState, ...] = tuple(self.state_for(s) for s in sinks)
        # Counters. Only the writer thread writes `dequeued`; `dropped` changes under
        # `count_lock` (an RLock, so a signal handler interrupting a holder cannot deadlock).
        self.dequeued = 0
        self.dropped = 0
        self.dropped_reported = 0
        self.drop_seen_at = 0.0  # when the writer first saw drops it has not reported yet
        self.discarded = 0  # thrown away by close(drain=False)
        self.count_lock = threading.RLock()
        # Callers blocked on a full queue (policy block) wait on tokens the writer puts here.
        self.space: SimpleQueue[None] = SimpleQueue()
        self.space_waiters = 0
        self.paced_at = -1  # `dequeued` when a caller last paced itself
        self.paced = 0  # how many times a caller did
        self.closing = False
        self.closed = threading.Event()

    def state_for(self, sink: Sink) -> SinkState:
        fmt = None if sink.formatter is None else batch_formatter(sink.formatter)
        return SinkState(sink=sink, batch_format=fmt)

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return tuple(st.sink for st in self.states)

    def min_level(self) -> int:
        """The lowest level any sink takes: below it the log call returns at once."""
        levels = [st.sink.level for st in self.states]
        return min(levels) if levels else 1 << 30

    def count_drop(self, n: int = 1) -> None:
        with self.count_lock:
            self.dropped += n

    def stats(self) -> dict[str, Any]:
        queued = len(self.queue)
        held = max((len(st.held_records) for st in self.states), default=0)
        lost = max((st.lost for st in self.states), default=0)
        return {
            "enqueued": self.dequeued + queued + self.discarded,
            "written": max(self.dequeued - held - lost, 0),
            "dropped": self.dropped,
            "errors": sum(st.errors for st in self.states),
            "queued": queued,
            "held": held,
            "lost": lost,
            "discarded": self.discarded,
            "paced": self.paced,
            "sinks": [
                {
                    "sink": st.sink.describe(),
                    "errors": st.errors,
                    "held": len(st.held_records),
                    "lost": st.lost,
                    "failing": st.failing_since is not None,
                }
                for st in self.states
            ],
        }

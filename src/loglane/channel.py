"""A logger's queue, sinks and counters: what the log call and the writer thread share.

The log call only appends a tuple to ``queue`` (a deque: append and popleft are atomic, so the
hot path takes no lock, which is also what makes logging from a signal handler safe). The
writer thread is the only one that pops, formats and touches sinks.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from queue import SimpleQueue
from typing import Any

from loglane import validate
from loglane.format import BatchFormatter, batch_formatter, safe_str, type_name
from loglane.sinks.base import Formatter, Sink
from loglane.validate import DEFAULT_BLOCK_TIMEOUT, DEFAULT_OVERFLOW, OVERFLOW_POLICIES

__all__ = ["DEFAULT_BLOCK_TIMEOUT", "DEFAULT_OVERFLOW", "OVERFLOW_POLICIES", "Channel",
           "SinkState", "may_log", "pace_mark"]

RawRecord = tuple[Any, ...]  # Record's fields in order; see loglane.record.Record



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
    # Accounting (see delivery.counts): records the writer delivered while this sink was in
    # the channel, those that passed its level, and those the sink took from the writer.
    seen: int = 0
    routed: int = 0
    given: int = 0
    lost_said: int = 0  # the sink's own ``lost`` when it was last reported
    last_lost_report: float = -1e18

    def describe(self) -> str:
        """The sink's name for messages; a sink's own describe() may be broken too."""
        try:
            return safe_str(self.sink.describe())
        except BaseException:
            return type_name(self.sink)

    def counts(self) -> dict[str, Any]:
        """This sink's counters. Every record the writer gave the channel while this sink was
        in it (``seen``) is exactly one of: written, skipped (below its level), pending (held
        by the writer or kept by the sink to retry), lost."""
        sink = self.sink
        try:
            kept = int(sink.pending_records())
            gave_up = int(sink.lost)
        except BaseException:
            kept = gave_up = 0
        filtered = getattr(sink, "filtered", 0)  # a configured sink's records routed elsewhere
        held = len(self.held_records)
        return {
            "sink": self.describe(),
            "seen": self.seen,
            "written": self.given - kept - gave_up - filtered,
            "skipped": self.seen - self.routed + filtered,
            "pending": held + kept,
            "held": held,
            "lost": self.lost + gave_up,
            "errors": self.errors,
            "failing": self.failing_since is not None,
        }


def may_log(part: object) -> bool:
    """Whether a sink or formatter may log from the writer thread: loglane's own ones say
    ``may_log = False``; anything else (a user's callable, a stdlib handler) may."""
    return part is not None and getattr(part, "may_log", True) is not False


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
        queue_size = validate.queue_size(queue_size)
        overflow = validate.overflow(overflow)
        block_timeout = validate.block_timeout(block_timeout)
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
        self.refused = 0  # logged from inside a sink while it handled such a record
        self.lost = 0  # taken from the queue and never handed to any sink (a writer accident)
        self.notes = 0  # lines loglane itself added ("loglane dropped N records")
        self.count_lock = threading.RLock()
        # Callers blocked on a full queue (policy block) wait on tokens the writer puts here.
        self.space: SimpleQueue[None] = SimpleQueue()
        self.space_waiters = 0
        self.stalled_at = -1  # `dequeued` when a blocked caller gave up on a stalled writer
        self.paced_at = -1  # `dequeued` when a caller last paced itself
        self.paced = 0  # how many times a caller did
        self.closing = False
        self.closed = threading.Event()
        # The loggers writing here, so the writer can route the log calls a sink makes from
        # its own thread (see Writer.guard_sinks).
        self.loggers: weakref.WeakSet[Any] = weakref.WeakSet()

    @property
    def pace_at(self) -> int:
        return pace_mark(self.queue_size)

    @property
    def untrusted(self) -> bool:
        """True when a sink or formatter of this channel runs code that may log."""
        return may_log(self.formatter) or any(
            may_log(st.sink) or may_log(st.sink.formatter) for st in self.states)

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
        """The channel's counters; per sink, exact (see ``delivery.counts``).

        The top-level ``written``, ``pending``, ``held`` and ``lost`` are those of the sink that
        is worst off (most lost, then most pending): with one sink, exactly its counters.
        """
        queued = len(self.queue)
        sinks = [st.counts() for st in self.states]
        worst = max(sinks, key=lambda c: (c["lost"], c["pending"]), default=None)
        return {
            "enqueued": self.dequeued + queued + self.discarded,
            "written": worst["written"] + worst["skipped"] - self.notes if worst else 0,
            "dropped": self.dropped,
            "refused": self.refused,
            "errors": sum(c["errors"] for c in sinks),
            "queued": queued,
            "pending": worst["pending"] if worst else 0,
            "held": worst["held"] if worst else 0,
            "lost": (worst["lost"] if worst else 0) + self.lost,
            "discarded": self.discarded,
            "paced": self.paced,
            "notes": self.notes,
            "sinks": sinks,
        }

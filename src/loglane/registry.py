"""``get_logger(name)``: one logger per name, levels and sinks from the configuration.

Every logger made here writes into one shared channel (one queue for the whole registry, so
the writer's cycle does not grow with the number of names). The configuration is a ``Plan``:
sinks plus routes, a route being a logger-name prefix with a level and/or a set of sinks; a
name takes each of the two from its most specific prefix that sets it (``a.b.c`` looks at
``a.b.c``, ``a.b``, ``a``, then the root ``""``).

Each configured sink sits in the channel behind a ``_RoutedSink`` that keeps only the records
whose logger name routes to it, at the route's level. Reconfiguring swaps the channel's sink
states through the writer's own control request, which is answered on the writer thread
after everything queued before it went to the old sinks: nothing is lost and no queue changes,
so loggers handed out earlier keep working. The same request switches the default format at
that exact point (see ``_SwapDone``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from loglane.channel import (
    DEFAULT_BLOCK_TIMEOUT,
    DEFAULT_OVERFLOW,
    Channel,
    may_log,
    pace_mark,
)
from loglane.format import CHECKED, BatchFormatter, TextFormatter, batch_formatter
from loglane.logger import DEFAULT_QUEUE_SIZE, Logger
from loglane.plan import OFF, ROOT, Plan, Route, default_plan
from loglane.record import INFO, Record
from loglane.sinks.base import Formatter, Sink
from loglane.writer import get_writer


class _Life:
    """Start/close book-keeping for a sink that may outlive one configuration (add_sink)."""

    __slots__ = ("refs", "started")

    def __init__(self) -> None:
        self.refs = 0
        self.started = False


class _RoutedSink(Sink):
    """A configured sink as the channel sees it: passes on only the records routed to it."""

    raw_records = True

    def __init__(self, inner: Sink, index: int, plan: Plan, life: _Life) -> None:
        super().__init__(inner.level, inner.max_level, inner.formatter)
        self.inner = inner
        self.index = index
        self.plan = plan
        self.life = life
        self._min: dict[str, int] = {}  # logger name -> lowest level passed on
        self.filtered = 0  # records taken and not passed on: not routed to this sink

    @property
    def may_log(self) -> bool:  # type: ignore[override]
        return may_log(self.inner) or may_log(self.inner.formatter)

    @property
    def lost(self) -> int:  # type: ignore[override]
        return self.inner.lost

    def pending_records(self) -> int:
        return self.inner.pending_records()

    def _threshold(self, name: str) -> int:
        level, idx = self.plan.resolve(name)
        found = max(level, self.inner.level) if self.index in idx else OFF
        if len(self._min) > 10_000:  # names made up at run time must not grow this forever
            self._min.clear()
        self._min[name] = found
        return found

    # The writer sees every wrapper as started (see Registry._swap), so that it always closes
    # the old ones; the inner sink is started here, once, whichever wrapper comes first.
    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        if not self.life.started:
            self.inner.start()
            self.life.started = True
        if records:
            mins = self._min
            keep = []
            for i, r in enumerate(records):
                t = mins.get(r[6])
                if t is None:
                    t = self._threshold(r[6])
                if r[0] >= t:
                    keep.append(i)
            self.filtered += len(records) - len(keep)
            if not keep:
                return
            if len(keep) != len(records):
                records = [records[i] for i in keep]
                lines = [lines[i] for i in keep]
            if not self.inner.raw_records:
                records = [Record._make(r) for r in records]
        self.inner.write(records, lines)

    def flush(self) -> None:
        if self.life.started:
            self.inner.flush()

    def close(self) -> None:
        self.life.refs -= 1
        if self.life.refs <= 0 and self.life.started:
            self.inner.close()

    def after_fork_in_child(self) -> None:
        if self.life.started:
            self.inner.after_fork_in_child()

    def describe(self) -> str:
        return self.inner.describe()


class _SwitchFormatter:
    """The shared channel's formatter: the configuration's default, switchable on the writer
    thread between two batches (records are formatted by the configuration they reach)."""

    def __init__(self, current: Formatter) -> None:
        self.current = current
        self._batch: BatchFormatter = batch_formatter(current)

    @property
    def may_log(self) -> bool:
        return may_log(self.current)

    def switch(self, formatter: Formatter) -> None:
        self.current = formatter
        self._batch = batch_formatter(formatter)

    def format_batch(self, records: Sequence[Sequence[Any]]) -> list[str]:
        return self._batch(records)

    def __call__(self, record: Record) -> str:
        return self._batch([record])[0]


CHECKED.add(_SwitchFormatter)  # it hands batches to the configuration's (checked) one


class _SwapDone(threading.Event):
    """The writer sets this on its own thread right after it swapped the sink states and
    before it formats another batch: the one moment the default format may change."""

    def __init__(self, switch: _SwitchFormatter, formatter: Formatter) -> None:
        super().__init__()
        self._switch = switch
        self._formatter = formatter

    def set(self) -> None:
        self._switch.switch(self._formatter)
        super().set()


class Registry:
    def __init__(self) -> None:
        # Two locks: _lock serialises (re)configuration, which waits for the writer thread;
        # _make_lock only guards making a logger, so a sink that logs from the writer thread
        # (through stdlib, say) never waits for a configure() that is waiting for that writer.
        # Both reentrant: a signal handler may ask for a new logger while its thread holds one.
        self._lock = threading.RLock()
        self._make_lock = threading.RLock()
        self._loggers: dict[str, Logger] = {}
        self._plan: Plan | None = None
        # The channel exists from the start (cheap, no thread); it is handed to the writer on
        # first use. So a logger can always be made, even from a signal handler that interrupts
        # that first use, and its records wait in the queue until the writer takes it.
        self._format = _SwitchFormatter(TextFormatter())
        self._channel = Channel("loglane", [], self._format, queue_size=DEFAULT_QUEUE_SIZE,
                                overflow=DEFAULT_OVERFLOW, block_timeout=DEFAULT_BLOCK_TIMEOUT)
        self._started = False
        self._starting = False
        self._lives: dict[int, _Life] = {}  # id(inner sink) -> its life, for the current plan
        self.on_apply: list[Any] = []  # callbacks after each swap (capture_stdlib's level)

    # -- lookups --------------------------------------------------------------------------

    def get(self, name: str) -> Logger:
        found = self._loggers.get(name)
        if found is not None:
            return found
        if not self._started:
            with self._lock:
                self._ensure()
        with self._make_lock:
            found = self._loggers.get(name)
            if found is None:
                plan = self._plan  # None only while a first use is interrupted (signal)
                level = plan.threshold(name) if plan is not None else INFO
                found = Logger._shared(name, self._channel, level, self)
                self._loggers[name] = found
            return found

    def _after_fork_in_child(self) -> None:
        # A thread of the parent may have held a lock at fork(); it does not exist here.
        self._lock = threading.RLock()
        self._make_lock = threading.RLock()

    @property
    def plan(self) -> Plan:
        with self._lock:
            self._ensure()
            plan = self._plan
            return plan if plan is not None else default_plan()

    def lowest_level(self) -> int:
        """The lowest level any logger name can pass (for the stdlib root logger's level)."""
        plan = self.plan
        return min((plan.threshold(p) for p in plan.routes), default=OFF)

    # -- (re)configuration ----------------------------------------------------------------

    def _ensure(self) -> None:
        """First use: hand the channel to the writer and install the plan (default or given).
        Re-entered from a signal handler during that, it returns: the outer call finishes."""
        if self._started or self._starting:
            return
        self._starting = True
        try:
            plan = self._plan if self._plan is not None else default_plan()
            self._plan = plan
            # Sinks first, then the writer takes the channel: records queued before (by a
            # signal handler, say) go to this plan's sinks rather than to none.
            self._swap(plan)
            get_writer().add(self._channel)
            self._started = True
        finally:
            self._starting = False

    def apply(self, plan: Plan) -> None:
        with self._lock:
            if not self._started:
                self._plan = plan
                self._ensure()
            else:
                self._swap(plan)
        for callback in list(self.on_apply):
            callback()

    def _swap(self, plan: Plan) -> None:
        ch = self._channel
        lives: dict[int, _Life] = {}
        states = []
        for i, sink in enumerate(plan.sinks):
            life = self._lives.get(id(sink)) or lives.get(id(sink)) or _Life()
            life.refs += 1  # before the swap: the old wrapper's close must not close it
            lives[id(sink)] = life
            state = ch.state_for(_RoutedSink(sink, i, plan, life))
            state.started = True
            states.append(state)
        # Raising the limits first and lowering them after keeps callers from seeing a queue
        # "full" at a size neither configuration has.
        ch.queue_size = max(ch.queue_size, plan.queue_size)
        self._set_limits(ch.queue_size)
        done = _SwapDone(self._format, plan.formatter)
        writer = get_writer()
        if writer.on_writer_thread():
            writer._control(("sinks", ch, tuple(states), done))
        else:
            writer.request("sinks", ch, tuple(states), done)
            done.wait()
        ch.queue_size = plan.queue_size
        ch.block = plan.overflow == "block"
        ch.block_timeout = plan.block_timeout
        self._lives = lives
        with self._make_lock:  # a logger made from here on sees the new plan
            self._plan = plan
            for name, lg in list(self._loggers.items()):  # (a signal handler may add one)
                lg._max = pace_mark(plan.queue_size)
                lg._level = plan.threshold(name)

    def _set_limits(self, size: int) -> None:
        with self._make_lock:
            for lg in list(self._loggers.values()):
                lg._max = pace_mark(size)

    # -- Logger's hooks ---------------------------------------------------------------------

    def add_sink(self, logger: Logger, sink: Sink) -> None:
        """``get_logger(n).add_sink(s)``: ``s`` takes the records of ``n`` and below."""
        with self._lock:
            plan = self.plan
            _level, idx = plan.resolve(logger.name)
            routes = dict(plan.routes)
            key = "" if logger.name == ROOT else logger.name
            old = routes.get(key, Route())
            routes[key] = Route(old.level, (*idx, len(plan.sinks)))
            self.apply(_replace(plan, sinks=(*plan.sinks, sink), routes=routes))

    def remove_sink(self, logger: Logger, sink: Sink) -> None:
        with self._lock:
            plan = self.plan
            pos = [i for i, s in enumerate(plan.sinks) if s is sink]
            if not pos:
                raise ValueError(f"{sink!r} is not a sink of logger {logger.name!r}")
            gone = pos[0]
            renumber = {i: (i if i < gone else i - 1) for i in range(len(plan.sinks)) if i != gone}
            routes = {
                k: Route(r.level, None if r.sinks is None
                         else tuple(renumber[i] for i in r.sinks if i != gone))
                for k, r in plan.routes.items()
            }
            sinks = [s for i, s in enumerate(plan.sinks) if i != gone]
            self.apply(_replace(plan, sinks=sinks, routes=routes))

    def shutdown(self) -> None:
        """Drain, then close every configured sink; loggers stay, silent until configure()."""
        with self._lock:
            if not self._started:
                return
            plan = self.plan
            self.apply(_replace(plan, sinks=(), routes={"": Route(plan.routes[""].level, ())}))

    def reset(self) -> None:
        """Back to the state before any configure() (tests use it); drains first."""
        with self._lock:
            self.shutdown()
            self._plan = None
            if self._started:
                self._swap(default_plan())


def _replace(plan: Plan, **kw: Any) -> Plan:
    values = {f: getattr(plan, f) for f in plan.__dataclass_fields__}
    values.update(kw)
    return Plan(**values)


REGISTRY = Registry()
os.register_at_fork(after_in_child=REGISTRY._after_fork_in_child)


def get_logger(name: str | None = None) -> Logger:
    """The logger for ``name`` (the same object every time), thread-safe.

    Dotted names form a hierarchy: ``get_logger("a.b")`` takes its level and sinks from the
    configuration's most specific prefix (``a.b``, then ``a``, then the root). No name, ``""``
    or ``"root"`` give the root logger. Before any ``configure()``: INFO and above, to stdout
    below WARNING and to stderr from WARNING (``LOGLANE_LEVEL`` changes the level).
    """
    if not name:
        name = ROOT
    elif not isinstance(name, str):
        raise TypeError(f"logger name must be a str, not {type(name).__name__}")
    return REGISTRY.get(name)


def shutdown() -> None:
    """Write everything logged so far, then close every configured sink."""
    REGISTRY.shutdown()

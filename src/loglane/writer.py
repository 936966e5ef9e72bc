"""The one background writer thread per process: drains every channel, formats, fans out.

Loop: take the pending control requests, drain each channel up to what it held at that moment
(in batches), hand each batch to the sinks that take its levels, flush, then answer the
control requests (a drain barrier is answered only once everything enqueued before it has
been written). With nothing to do it sleeps; the log call wakes it only when the ``sleeping``
flag is up, so a busy writer costs the caller one attribute read.

Sink failures never leave this module: they are counted, reported on stderr at most once per
``REPORT_INTERVAL`` per sink, and retried with exponential back-off while the records wait in
a bounded per-sink buffer.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from itertools import repeat, starmap
from operator import itemgetter
from queue import Empty, SimpleQueue
from typing import Any

from loglane import delivery
from loglane.channel import Channel, RawRecord
from loglane.clock import monotonic, now_ns
from loglane.delivery import stderr
from loglane.format import safe_repr, safe_str, type_name
from loglane.record import WARNING

BATCH = 4096  # records per batch: big enough to amortise a write(), small enough to interleave
IDLE_WAIT = 0.5
POLL_FIRST = 0.001  # a recently busy writer looks for records after 1 ms, then 2, 4 ...
POLL_MAX = 0.05  # ... up to every 50 ms (which bounds a record's wait while it polls)
LINGER = 2.0  # how long it keeps polling after its last work before it sleeps
ECHO_LIMIT = 10_000  # records sinks may log in one cycle; more are refused (counted)

Control = tuple[Any, ...]


class Writer:
    """Process-wide singleton (see ``get_writer``)."""

    def __init__(self) -> None:
        self.sleeping = True  # the first log call starts the thread through wake()
        self.channels: tuple[Channel, ...] = ()
        self._wake: SimpleQueue[None] = SimpleQueue()
        self._ctrl: SimpleQueue[Control] = SimpleQueue()
        self._lock = threading.Lock()  # guards channels and thread start
        # Held by the writer around each cycle and by fork() around the fork, so a child never
        # inherits a half-written batch.
        self.cycle_lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self.ident: int | None = None
        self.restarts = 0  # writer threads that ended by accident and were replaced
        self._echo: list[tuple[Channel, RawRecord]] = []  # records logged by sinks, see from_sink
        self._echo_depth = 0
        self._refused_unreported = 0
        self._refused_report = -1e18

    # -- called from any thread -------------------------------------------------------------

    def wake(self) -> None:
        if self._thread is None:
            self._start()
        self._wake.put(None)  # SimpleQueue.put is reentrant: safe in a signal handler

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="loglane-writer", daemon=True)
                self._thread = thread
                thread.start()

    def add(self, channel: Channel) -> None:
        with self._lock:
            self.channels = (*self.channels, channel)
        self.wake()

    def request(self, *item: Any) -> None:
        self._ctrl.put(item)
        self.wake()

    def on_writer_thread(self) -> bool:
        return threading.get_ident() == self.ident

    def barrier(self, timeout: float | None = None) -> bool:
        """Return once everything enqueued before the call is written and flushed."""
        if self.on_writer_thread():
            # From inside a sink: the writer cannot wait for itself, and a nested cycle would
            # deliver later records before the batch in hand has reached every sink.
            return True
        self.ensure_alive()
        done = threading.Event()
        self.request("barrier", done)
        return _wait_with_progress(done, self, timeout)

    # -- the writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        """The thread's body: the loop, and a successor if the loop ever ends."""
        self.ident = threading.get_ident()
        self.sleeping = False  # it was up so that the first log call would start this thread
        try:
            self._loop()
        except BaseException as exc:
            self._restart(f"{type_name(exc)}: {safe_str(exc)}")

    def _restart(self, why: str) -> None:
        """The writer thread is ending by accident: start another one, and say so."""
        self.restarts += 1
        stderr(f"loglane: the writer thread stopped ({why}); starting a new one "
               f"(restart {self.restarts})")
        with self._lock:
            self._thread = None
            self.ident = None
        self.sleeping = True
        self.wake()

    def _loop(self) -> None:
        idle_since = 0.0
        poll = POLL_FIRST
        while True:
            try:
                busy = self._cycle()
            except BaseException as exc:  # a bug here must not kill logging for good
                stderr(f"loglane: writer error (continuing): {type_name(exc)}: {safe_str(exc)}")
                busy = False
            if busy:
                idle_since = 0.0
                poll = POLL_FIRST
                continue
            # Shortly after work, poll instead of sleeping with the flag up: a caller that finds
            # the writer awake pays no wake-up (a futex call and a thread switch, ~10 µs, most
            # of the cost of an occasional log call). The poll slows down as the quiet goes on;
            # control requests still wake it at once. Only a writer idle for LINGER sleeps.
            now = monotonic()
            if not idle_since:
                idle_since = now
            if now - idle_since < LINGER:
                self._take_wake(poll)
                poll = min(poll * 2, POLL_MAX)
                continue
            self.sleeping = True
            # Re-check after raising the flag: a record appended before the flag went up was
            # appended without a wake-up, so it must be seen here.
            if any(ch.queue for ch in self.channels) or not self._ctrl.empty():
                self.sleeping = False
                continue
            self._take_wake(self._idle_timeout())
            self.sleeping = False

    def alive(self) -> bool:
        """False when the writer should be running and is not (checked off the hot path)."""
        thread = self._thread
        return thread is None or thread.is_alive()

    def ensure_alive(self) -> None:
        """Restart a writer thread that vanished without saying so (last line of defence)."""
        if not self.alive():
            self._restart("it was found dead")

    def _take_wake(self, timeout: float) -> None:
        """Wait for a wake-up token (or the timeout), then drop any extra tokens."""
        try:
            self._wake.get(timeout=timeout)
        except Empty:
            return
        try:
            while True:
                self._wake.get_nowait()
        except Empty:
            pass

    def _idle_timeout(self) -> float:
        soonest = IDLE_WAIT
        now = monotonic()
        for ch in self.channels:
            for st in ch.states:
                if st.held_records or st.failing_since is not None:
                    soonest = min(soonest, max(st.next_retry - now, 0.001))
        return soonest

    def _cycle(self) -> bool:
        """One pass; True when it did any work."""
        ctrl: list[Control] = []
        try:
            while True:
                ctrl.append(self._ctrl.get_nowait())
        except Empty:
            pass
        with self.cycle_lock:
            busy = bool(ctrl) or bool(self._echo)
            guard = any(ch.untrusted for ch in self.channels)
            if guard:
                self.guard_sinks(True)
            try:
                for ch in self.channels:
                    n = len(ch.queue)
                    if n or ch.dropped != ch.dropped_reported:
                        busy = True
                        self._drain(ch, n)
                    elif delivery.retry_held(ch.states):
                        delivery.flush(ch.states)
                if self._echo:
                    self._deliver_echo()
                for item in ctrl:
                    self._control(item)
            finally:
                if guard:
                    self.guard_sinks(False)
        return busy

    # -- records logged by sinks ------------------------------------------------------------

    def guard_sinks(self, on: bool) -> None:
        """Route every log call made on this thread through ``Logger._full``.

        A sink or formatter that may log (a user's callable, a stdlib handler, an HTTP client)
        would otherwise feed itself: each record it writes makes another. While the writer
        runs such code, every logger's fast-path limit is 0, so each call reaches ``_full``,
        which hands calls made on the writer thread to ``from_sink`` (calls from other threads
        pay that check only during these cycles). Loggers are few; this costs a pass over them
        per cycle, and nothing at all when every sink is loglane's own.
        """
        for ch in self.channels:
            limit = 0 if on else ch.pace_at
            for lg in list(ch.loggers):
                lg._max = limit

    def from_sink(self, ch: Channel, rec: RawRecord) -> None:
        """A record logged on the writer thread: delivered once, after the records in hand.

        Records logged while those are delivered in turn are refused (counted per channel and
        said on stderr), so a sink that logs about each record it writes cannot loop.
        """
        if self._echo_depth == 0 and len(self._echo) < ECHO_LIMIT:
            self._echo.append((ch, rec))
            return
        with ch.count_lock:
            ch.refused += 1
        self._refused_unreported += 1

    def _deliver_echo(self) -> None:
        echo, self._echo = self._echo, []
        by_channel: dict[int, tuple[Channel, list[RawRecord]]] = {}
        for ch, rec in echo:
            by_channel.setdefault(id(ch), (ch, []))[1].append(rec)
        self._echo_depth = 1
        try:
            for ch, recs in by_channel.values():
                if ch in self.channels:
                    ch.dequeued += len(recs)  # enqueued and taken in one step
                    self._deliver_guarded(ch, recs)
                    delivery.flush(ch.states)
                else:  # its logger was closed meanwhile
                    with ch.count_lock:
                        ch.discarded += len(recs)
        finally:
            self._echo_depth = 0
        now = monotonic()
        if self._refused_unreported and now - self._refused_report >= delivery.REPORT_INTERVAL:
            self._refused_report = now
            stderr(f"loglane: refused {self._refused_unreported} record(s) logged by a sink "
                   f"while it wrote records logged by a sink (it would feed itself for ever)")
            self._refused_unreported = 0

    def _drain(self, ch: Channel, n: int) -> None:
        popleft = ch.queue.popleft
        wrote = False
        while n > 0:
            take = min(n, BATCH)
            try:
                raw = list(starmap(popleft, repeat((), take)))  # C-level loop: ~2x a listcomp
            except IndexError:  # close(drain=False) emptied it under us
                break
            n -= take
            ch.dequeued += take
            self._deliver_guarded(ch, raw)
            wrote = True
            if ch.space_waiters > 0:
                for _ in range(ch.space_waiters):
                    ch.space.put(None)
        # Say it after the records that were queued before the drops (queue empty), or at
        # least every second under sustained overload.
        if ch.dropped != ch.dropped_reported and not ch.drop_seen_at:
            ch.drop_seen_at = monotonic()
        if ch.dropped != ch.dropped_reported and (
            not ch.queue or monotonic() - ch.drop_seen_at >= 1.0
        ):
            ch.drop_seen_at = 0.0
            dropped = ch.dropped - ch.dropped_reported
            ch.dropped_reported = ch.dropped
            why = (f"the writer made no progress for {ch.block_timeout:g} s (policy block)"
                   if ch.block else "queue full (policy drop)")
            note = (WARNING, now_ns(), "loglane dropped %d records: %s",
                    (dropped, why), None, None, ch.name)
            ch.notes += 1
            self._deliver_guarded(ch, [note])
            wrote = True
        if wrote:
            delivery.flush(ch.states)

    def _deliver_guarded(self, ch: Channel, raw: list[RawRecord]) -> None:
        """``_deliver``; if even that fails (a bug of loglane's), the batch is counted lost."""
        try:
            self._deliver(ch, raw)
        except BaseException as exc:
            ch.lost += len(raw)
            stderr(f"loglane: {len(raw)} record(s) of {ch.name!r} lost to a writer error: "
                   f"{type_name(exc)}: {safe_str(exc)}")

    def _deliver(self, ch: Channel, raw: list[RawRecord]) -> None:
        lines_all: list[str] | None = None
        bounds: tuple[int, int] | None = None
        # (Loggers sharing a channel may have levels below its sinks', so a sink's level is
        # always checked against the batch; only a sink taking every level skips that.)
        for st in ch.states:
            if st.closed:
                continue
            st.seen += len(raw)
            sink = st.sink
            try:
                if sink.max_level is None and sink.level <= 0:
                    recs = raw
                else:
                    if bounds is None:
                        bounds = _level_bounds(raw)
                    lo, hi = bounds
                    if sink.level <= lo and (sink.max_level is None or hi < sink.max_level):
                        recs = raw
                    else:
                        recs = [r for r in raw if sink.accepts(r[0])]
                        if not recs:
                            continue
                if st.batch_format is None:
                    if lines_all is None:
                        lines_all = _format(ch.batch_format, raw)
                    if recs is raw:
                        lines = lines_all
                    else:
                        lines = [ln for r, ln in zip(raw, lines_all, strict=True)
                                 if sink.accepts(r[0])]
                else:
                    lines = _format(st.batch_format, recs)
            except BaseException as exc:
                # Never raised by loglane's own sinks and formatters: a user's, broken. This
                # sink loses the batch (counted); the other sinks still get it.
                st.routed += len(raw)
                st.lost += len(raw)
                st.errors += 1
                stderr(f"loglane: sink {st.describe()} lost {len(raw)} record(s): "
                       f"{type_name(exc)}: {safe_str(exc)}")
                continue
            delivery.give(st, recs, lines)

    def _control(self, item: Control) -> None:
        kind = item[0]
        if kind == "barrier":
            item[1].set()
        elif kind == "close":
            _, ch, drain, done = item
            for st in ch.states:
                delivery.close(st, drain)
            with self._lock:
                self.channels = tuple(c for c in self.channels if c is not ch)
            ch.closed.set()
            if done is not None:
                done.set()
        elif kind == "sinks":
            _, ch, states, done = item
            keep = {id(st) for st in states}
            for st in ch.states:
                if id(st) not in keep:
                    delivery.close(st, True)
            ch.states = states
            done.set()

    # -- fork -------------------------------------------------------------------------------

    def before_fork(self) -> None:
        self.cycle_lock.acquire()

    def after_fork_parent(self) -> None:
        self.cycle_lock.release()

    def after_fork_child(self) -> None:
        self.cycle_lock.release()
        # The parent's thread does not exist here; the parent writes what was queued.
        self._thread = None
        self.ident = None
        self.sleeping = True
        self._wake = SimpleQueue()
        self._ctrl = SimpleQueue()
        self._lock = threading.Lock()
        for ch in self.channels:
            ch.queue.clear()
            ch.count_lock = threading.RLock()
            ch.space = SimpleQueue()
            ch.space_waiters = 0
            ch.dequeued = ch.dropped = ch.dropped_reported = ch.discarded = ch.paced = 0
            ch.paced_at = -1
            for st in ch.states:
                st.held_records, st.held_lines = [], []
                if st.started:
                    try:
                        st.sink.after_fork_in_child()
                    except Exception as exc:
                        stderr(f"loglane: sink {st.sink.describe()} after fork: {exc!r}")


_LEVEL = itemgetter(0)


def _level_bounds(raw: list[RawRecord]) -> tuple[int, int]:
    levels = set(map(_LEVEL, raw))
    return min(levels), max(levels)


def _format(fmt: Callable[[list[RawRecord]], list[str]], raw: list[RawRecord]) -> list[str]:
    try:
        lines = fmt(raw)
        if type(lines) is list and len(lines) == len(raw):
            return lines
        raise TypeError(f"a batch of {len(raw)} records gave {type_name(lines)} "
                        f"of {safe_len(lines)} lines")
    except BaseException:
        out = []          # only the bad records say so
        for r in raw:
            try:
                line = fmt([r])[0]
                out.append(line if type(line) is str else safe_str(line))
            except BaseException as exc:
                out.append(f"<loglane: formatter failed: {type_name(exc)}: "
                           f"{safe_str(exc)}; record={safe_repr(r)}>")
        return out


def safe_len(value: object) -> str:
    try:
        return str(len(value))  # type: ignore[arg-type]
    except BaseException:
        return "?"


def _wait_with_progress(done: threading.Event, writer: Writer, timeout: float | None) -> bool:
    """Wait for ``done``; with timeout None, give up only when the writer stops progressing."""
    if timeout is not None:
        return done.wait(timeout)
    last = -1
    stalled_since = time.monotonic()
    while not done.wait(1.0):
        writer.ensure_alive()
        progress = sum(ch.dequeued for ch in writer.channels)
        if progress != last:
            last, stalled_since = progress, time.monotonic()
        elif time.monotonic() - stalled_since > 30.0:
            stderr("loglane: the writer made no progress for 30 s; giving up waiting")
            return False
    return True


_writer = Writer()


def get_writer() -> Writer:
    return _writer


def _at_exit() -> None:
    if _writer._thread is not None and _writer.channels:
        _writer.barrier()


atexit.register(_at_exit)
os.register_at_fork(
    before=_writer.before_fork,
    after_in_parent=_writer.after_fork_parent,
    after_in_child=_writer.after_fork_child,
)

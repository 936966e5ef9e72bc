"""The front: level check, time stamp, argument capture, enqueue. Nothing else happens here.

The per-level methods are written out rather than delegating to ``log()``: one Python call
less is a sixth of the log call's budget. Arguments of immutable types are kept as they are
(formatting happens on the writer thread); anything else, a list or an object with its own
``__str__``, is formatted here so the line shows its value at call time.

Measured with callgrind on CPython 3.11, each form below is the cheaper one: ``type(x)``
(a specialised call) rather than ``x.__class__`` (an unspecialised descriptor lookup); two
arguments, the common shape, checked without a loop; the clock read into a local, because a
method-style call of an instance attribute is not specialised either.
"""

from __future__ import annotations

import importlib
import os
import threading
import weakref
from collections.abc import Iterable
from queue import Empty
from sys import getswitchinterval
from time import sleep as _sleep
from typing import Any

from loglane import context as _context
from loglane import validate
from loglane.capture import IMMUTABLE, capture_fields, immutable, pop_exc_info
from loglane.channel import (
    DEFAULT_BLOCK_TIMEOUT,
    DEFAULT_OVERFLOW,
    Channel,
    RawRecord,
    pace_mark,
)
from loglane.clock import Clock, monotonic, now_ns
from loglane.context import fields as _ctx_fields
from loglane.format import (
    error_text,
    interrupted,
    render_message,
    safe_str,
)
from loglane.record import DEBUG, ERROR, INFO, WARNING, ExcInfo, parse_level
from loglane.sinks.base import Formatter, Sink
from loglane.sinks.console import ConsoleSink
from loglane.sinks.file import FileSink
from loglane.writer import get_writer

DEFAULT_QUEUE_SIZE = 100_000
_OFF = 1 << 30  # above every level: what a closed logger compares against
# True once loglane.contextualize() has been entered (set by loglane.context; never reset).
# A module global because that is the cheapest test the fast path can make: an attribute of
# another object costs it ~20 ns, this ~2 ns.
_context_on = False

class Logger:
    """A named logger writing through the process's background writer.

    ``Logger("my app", "logs/app.log")`` writes ``logs/app-YYYY-MM-DD.log`` at ``file_level``
    and above, ``stdout_level`` and above (below ``stderr_level``) to stdout, and
    ``stderr_level`` and above to stderr; ``None`` turns any of them off.
    """

    def __init__(
        self,
        name: str,
        filepath: str | os.PathLike[str] | None = None,
        *,
        file_level: int | str | None = DEBUG,
        stdout_level: int | str | None = INFO,
        stderr_level: int | str | None = WARNING,
        sinks: Iterable[Sink] = (),
        queue_size: int = DEFAULT_QUEUE_SIZE,
        overflow: str = DEFAULT_OVERFLOW,
        block_timeout: float | None = DEFAULT_BLOCK_TIMEOUT,
        clock: Clock | None = None,
        utc: bool = False,
        fmt: str | Formatter | None = None,
        json: bool = False,
        retention_days: int | None = None,
        compress: bool = False,
        socket: str | None = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"logger name must be a str, not {type(name).__name__}")
        # Every argument is checked before anything is built (no directory made for nothing).
        formatter = validate.formatter(fmt, json=json, utc=utc)
        queue_size = validate.queue_size(queue_size)
        overflow = validate.overflow(overflow)
        block_timeout = validate.block_timeout(block_timeout)
        file_level = validate.optional_level(file_level, "file_level")
        stdout_level = validate.optional_level(stdout_level, "stdout_level")
        stderr_level = validate.optional_level(stderr_level, "stderr_level")
        all_sinks: list[Sink] = []
        if filepath is not None and file_level is not None:
            if socket is not None:
                # Imported here: the daemon client is not needed by most programs.
                daemon_sink: Any = importlib.import_module("loglane.daemon.sink").DaemonSink
                all_sinks.append(daemon_sink(filepath, socket=socket, level=file_level, utc=utc))
            else:
                all_sinks.append(FileSink(filepath, level=file_level, utc=utc,
                                          retention_days=retention_days, compress=compress))
        out_max = stderr_level
        if stdout_level is not None and (out_max is None or stdout_level < out_max):
            all_sinks.append(ConsoleSink("stdout", level=stdout_level, max_level=out_max))
        if stderr_level is not None:
            all_sinks.append(ConsoleSink("stderr", level=stderr_level))
        for sink in sinks:
            if not isinstance(sink, Sink):
                raise TypeError(f"sinks must be loglane Sink objects, got {sink!r}")
            all_sinks.append(sink)
        self.name = name
        self._channel = ch = Channel(name, all_sinks, formatter, queue_size=queue_size,
                                     overflow=overflow, block_timeout=block_timeout)
        self._q = ch.queue
        self._max = pace_mark(queue_size)  # the fast path's limit; _full handles the rest
        self._clock: Clock = clock if clock is not None else now_ns
        self._level = ch.min_level()
        self._writer = get_writer()
        self._close_lock = threading.Lock()
        self._closed = False
        ch.loggers.add(self)
        self._writer.add(ch)
        # A logger dropped without close() must not keep its channel, sinks and descriptors
        # in the writer for ever: when it is collected, its channel is drained and closed.
        # (Not at exit: other atexit handlers may still log; the at-exit barrier drains.)
        weakref.finalize(self, self._writer.request, "close", ch, True, None).atexit = False

    # Set on loggers made by loglane.get_logger: they share the registry's channel, so closing
    # or changing sinks goes through the registry (see loglane.registry).
    _registry: Any = None

    @classmethod
    def _shared(cls, name: str, channel: Channel, level: int, registry: Any) -> Logger:
        """A logger writing into an existing channel (attributes in __init__'s order)."""
        self = cls.__new__(cls)
        self.name = name
        self._channel = channel
        self._q = channel.queue
        self._max = pace_mark(channel.queue_size)
        self._clock = now_ns
        self._level = level
        self._writer = get_writer()
        self._close_lock = threading.Lock()
        self._closed = False
        self._registry = registry
        channel.loggers.add(self)
        return self

    # -- the log calls ----------------------------------------------------------------------

    def debug(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if self._level > 10:
            return
        if fields or type(msg) is not str:
            return self._slow(10, msg, args, fields)
        if len(args) == 2:
            if type(args[0]) not in IMMUTABLE or type(args[1]) not in IMMUTABLE:
                return self._slow(10, msg, args, fields)
        else:
            for a in args:
                if type(a) not in IMMUTABLE:
                    return self._slow(10, msg, args, fields)
        q = self._q
        clock = self._clock
        if len(q) >= self._max:
            return self._full((10, clock(), msg, args,
                               _ctx_fields.get() if _context_on else None, None, self.name))
        q.append((10, clock(), msg, args,
                  _ctx_fields.get() if _context_on else None, None, self.name))
        if self._writer.sleeping:
            self._writer.wake()

    def info(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if self._level > 20:
            return
        if fields or type(msg) is not str:
            return self._slow(20, msg, args, fields)
        if len(args) == 2:
            if type(args[0]) not in IMMUTABLE or type(args[1]) not in IMMUTABLE:
                return self._slow(20, msg, args, fields)
        else:
            for a in args:
                if type(a) not in IMMUTABLE:
                    return self._slow(20, msg, args, fields)
        q = self._q
        clock = self._clock
        if len(q) >= self._max:
            return self._full((20, clock(), msg, args,
                               _ctx_fields.get() if _context_on else None, None, self.name))
        q.append((20, clock(), msg, args,
                  _ctx_fields.get() if _context_on else None, None, self.name))
        if self._writer.sleeping:
            self._writer.wake()

    def warning(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if self._level <= 30:
            self._slow(30, msg, args, fields)

    warn = warning

    def error(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if self._level <= 40:
            self._slow(40, msg, args, fields)

    def critical(self, msg: object, /, *args: Any, **fields: Any) -> None:
        if self._level <= 50:
            self._slow(50, msg, args, fields)

    fatal = critical

    def exception(self, msg: object, /, *args: Any, **fields: Any) -> None:
        """ERROR with the exception being handled; its traceback follows the line."""
        if self._level <= 40:
            fields.setdefault("exc_info", True)
            self._slow(40, msg, args, fields)

    def log(self, level: int | str, msg: object, /, *args: Any, **fields: Any) -> None:
        try:
            lvl = level if type(level) is int else parse_level(level)
        except BaseException as exc:
            if interrupted(exc):
                raise
            lvl = ERROR
            fields["loglane_error"] = safe_str(exc)
        if self._level <= lvl:
            self._slow(lvl, msg, args, fields)

    def is_enabled_for(self, level: int | str) -> bool:
        return self._level <= parse_level(level)

    def bind(self, **fields: Any) -> _context.BoundLogger:
        """A logger that adds ``fields`` to every call (captured now, like arguments)."""
        return _context.BoundLogger(self, capture_fields(fields))

    # -- capture: everything beyond the plain fast path ---------------------------------

    def _slow(self, level: int, msg: object, args: tuple[Any, ...], fields: dict[str, Any]) -> None:
        try:
            ts = self._clock()
            exc: ExcInfo | None = None
            if fields:
                exc = pop_exc_info(fields)
                if fields:
                    fields = capture_fields(fields)
            if _context_on:
                ctx = _ctx_fields.get()
                if ctx:  # the call's own fields win over the context's
                    fields = {**ctx, **fields} if fields else ctx
            fields_or_none: dict[str, Any] | None = fields or None
            if type(msg) is not str or not all(map(immutable, args)):
                # Format now: the line must show the values as they are at call time, and the
                # writer must never run a caller's __str__ (it could raise, hang or log).
                msg, args = render_message(msg, args), ()
            self._enqueue((level, ts, msg, args, fields_or_none, exc, self.name))
        except BaseException as err:  # never raise into the application
            if interrupted(err):
                raise
            self._enqueue((ERROR, now_ns(), "loglane could not capture a log call: %s",
                           (error_text(err),), None, None, self.name))

    def _enqueue(self, rec: RawRecord) -> None:
        q = self._q
        if len(q) >= self._max:
            return self._full(rec)
        q.append(rec)
        if self._writer.sleeping:
            self._writer.wake()

    def _full(self, rec: RawRecord) -> None:
        """The queue is past its pace mark: pace, wait or drop, then enqueue if there is room.

        Pacing: the writer and the callers share the GIL. A thread logging in a loop makes
        records about as fast as the writer formats them, and each time the writer releases
        the GIL (a write, a stat) the caller keeps it for a whole switch interval, so without
        help one thread outruns the writer. From the pace mark (three quarters full) on, once
        per batch the writer has taken since, the call sleeps one switch interval (5 ms by
        default): the pause any thread gets when another one runs, handed to the writer.
        Counted in ``stats()["paced"]``.

        Full queue, policy ``block`` (the default): the call waits for room for as long as the
        writer makes progress on this channel, however many threads log. A writer that takes
        nothing for ``block_timeout`` seconds (a hung sink) is declared stalled: this call and
        every later one drop at once (counted, and said in one line later) until it moves
        again. Policy ``drop`` never waits. The writer thread itself never waits here.
        """
        ch = self._channel
        writer = self._writer
        q = self._q
        if writer.on_writer_thread():  # logged by a sink or formatter while it works
            writer.from_sink(ch, rec)
            return
        n = len(q)
        if n < ch.queue_size:
            if n >= ch.pace_at and ch.paced_at != ch.dequeued:
                ch.paced_at = ch.dequeued
                with ch.count_lock:
                    ch.paced += 1
                if writer.sleeping:
                    writer.wake()
                _sleep(getswitchinterval())
            q.append(rec)
            if writer.sleeping:
                writer.wake()
            return
        if not ch.block or ch.stalled_at == ch.dequeued:
            ch.count_drop()
            return
        self._wait_for_room(ch, rec)

    def _wait_for_room(self, ch: Channel, rec: RawRecord) -> None:
        """Policy block: wait while the writer makes progress; drop once it has stalled."""
        writer = self._writer
        q = self._q
        writer.ensure_alive()
        writer.wake()
        timeout = ch.block_timeout
        progress = ch.dequeued
        since = monotonic()
        while len(q) >= ch.queue_size:
            if self._level == _OFF:  # closed while waiting: thrown away like the queue
                with ch.count_lock:
                    ch.discarded += 1
                return
            now = monotonic()
            if ch.dequeued != progress:
                progress, since = ch.dequeued, now
            elif ch.stalled_at == progress:  # another caller already gave up on it
                ch.count_drop()
                return
            elif timeout is not None and now - since >= timeout:
                ch.stalled_at = progress
                ch.count_drop()
                return
            wait = 0.05 if timeout is None else min(0.05, max(since + timeout - now, 0.0))
            with ch.count_lock:  # (+= is not atomic between threads)
                ch.space_waiters += 1
            try:
                ch.space.get(timeout=wait)
            except Empty:
                pass
            finally:
                with ch.count_lock:
                    ch.space_waiters -= 1
        q.append(rec)
        if writer.sleeping:
            writer.wake()

    # -- sinks, stats, stopping -----------------------------------------------------------

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return self._channel.sinks

    def add_sink(self, sink: Sink) -> None:
        if not isinstance(sink, Sink):
            raise TypeError(f"expected a loglane Sink, got {sink!r}")
        if self._registry is not None:
            return self._registry.add_sink(self, sink)  # type: ignore[no-any-return]
        ch = self._channel
        self._set_states((*ch.states, ch.state_for(sink)))

    def remove_sink(self, sink: Sink) -> None:
        """Stop giving records to ``sink``; it is flushed and closed before this returns."""
        if self._registry is not None:
            return self._registry.remove_sink(self, sink)  # type: ignore[no-any-return]
        ch = self._channel
        states = tuple(st for st in ch.states if st.sink is not sink)
        if len(states) == len(ch.states):
            raise ValueError(f"{sink!r} is not a sink of logger {self.name!r}")
        self._set_states(states)

    def _set_states(self, states: tuple[Any, ...]) -> None:
        ch = self._channel
        if self._closed:
            raise RuntimeError(f"logger {self.name!r} is closed")
        done = threading.Event()
        if self._writer.on_writer_thread():
            self._writer._control(("sinks", ch, states, done))
        else:
            self._writer.request("sinks", ch, states, done)
            done.wait()
        self._level = ch.min_level()

    def stats(self) -> dict[str, Any]:
        """Counters: enqueued, written, dropped, errors, queued, and per sink."""
        return self._channel.stats()

    def flush(self, timeout: float | None = None) -> bool:
        """Return once everything logged before the call is written and flushed."""
        return self._writer.barrier(timeout)

    def close(self, drain: bool = True, timeout: float | None = None) -> bool:
        """Stop this logger.

        ``drain=True``: return once every accepted record is written and flushed and the
        sinks are closed. ``drain=False``: discard what is still queued and return at once;
        the writer closes the sinks. Idempotent and safe from any thread; log calls made
        after it are ignored. A logger from ``loglane.get_logger`` shares its sinks with the
        others, so there ``close()`` only drains (``loglane.shutdown()`` stops them all).
        """
        if self._registry is not None:  # shared with other loggers: drain, do not stop them
            return True if not drain else self.flush(timeout)
        ch = self._channel
        with self._close_lock:
            first = not self._closed
            self._closed = True
            self._level = _OFF
        if first:
            if not drain:
                discarded = 0
                try:
                    while True:
                        ch.queue.popleft()
                        discarded += 1
                except IndexError:
                    pass
                ch.discarded += discarded
            writer = self._writer
            if writer.on_writer_thread():
                writer._control(("close", ch, drain, None))
                return True
            writer.request("close", ch, drain, None)
        if not drain or self._writer.on_writer_thread():
            return True
        return ch.closed.wait(timeout) if timeout is not None else _wait(ch.closed)

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<loglane.Logger {self.name!r} sinks={list(self.sinks)!r}>"


def _wait(event: threading.Event) -> bool:
    # Wait in slices so a KeyboardInterrupt in the main thread is not held up.
    while not event.wait(0.5):
        pass
    return True

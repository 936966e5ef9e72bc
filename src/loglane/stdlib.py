"""The bridge with the standard library's ``logging``, both ways.

In: ``StdlibHandler`` is a ``logging.Handler`` whose ``emit`` only captures the LogRecord (name,
level, message and arguments, exception, stack, ``extra`` fields) and appends it to the queue
of ``loglane.get_logger(record.name)``: no formatting, no lock, no I/O on the caller's thread.
``capture_stdlib()`` puts it on the root logger, so every ``logging`` call in the process,
libraries included, takes that path.

Out: ``StdlibSink(handler)`` runs an existing ``logging.Handler`` on loglane's writer thread, so
a slow handler (SMTP, syslog over TCP, a vendor's HTTP handler) no longer slows the caller.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from loglane import logger as _logger_module
from loglane.capture import IMMUTABLE, capture_exc, capture_fields
from loglane.context import fields as _ctx_fields
from loglane.format import render_message, safe_str
from loglane.logger import Logger
from loglane.record import level_name
from loglane.registry import REGISTRY, get_logger
from loglane.sinks.base import Sink, SinkBacklogged
from loglane.writer import get_writer

# What every LogRecord has; anything else on a record came from ``extra=`` (or a filter).
_PLAIN = logging.LogRecord("", 0, "", 0, "", (), None)
_STANDARD = frozenset(_PLAIN.__dict__) | {"message", "asctime", "taskName"}
_PLAIN_SIZE = len(_PLAIN.__dict__)
_loggers = REGISTRY._loggers  # read without the registry's lock: dict.get is atomic
_writer = get_writer()
_get_ident = threading.get_ident
_WARNING = logging.WARNING


class StdlibHandler(logging.Handler):
    """A ``logging.Handler`` that hands records to loglane; usable from ``dictConfig``.

    ``logger``: the loglane logger name to log under; by default each record's own logger
    name, so ``loglane.configure(loggers=...)`` levels and sinks apply to library names too.
    The handler's ``formatter`` is not used: loglane formats on its writer thread.
    """

    def __init__(self, level: int | str = logging.NOTSET, *, logger: str | None = None) -> None:
        super().__init__(level)
        self._fixed: Logger | None = get_logger(logger) if logger else None

    def handle(self, record: logging.LogRecord) -> Any:
        # No handler lock: emit only appends to a deque, which is thread-safe by itself.
        rv = self.filter(record) if self.filters else True
        if rv:
            self.emit(rv if isinstance(rv, logging.LogRecord) else record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        try:
            name = record.name
            fixed = self._fixed
            lg = fixed or _loggers.get(name) or get_logger(name)
            level = record.levelno
            if lg._level > level:
                return
            if level < _WARNING and _get_ident() == _writer.ident:
                # Logged by a sink's own code (an HTTP library's debug lines): it would feed
                # back into the sink that caused it, for ever.
                return
            msg: Any = record.msg
            args: Any = record.args
            if args:
                if type(args) is not tuple:  # a single mapping argument (stdlib unpacks it)
                    args = (args,)
                if type(msg) is not str:
                    msg, args = render_message(msg, args), ()
                else:
                    for a in args:
                        if type(a) not in IMMUTABLE:
                            # Values as they are now, as the core log call does.
                            msg, args = render_message(msg, args), ()
                            break
            else:
                args = ()
                if type(msg) is not str:
                    msg = safe_str(msg)
            if record.stack_info:  # after the message, as stdlib's Formatter puts it
                msg = render_message(msg, args) + "\n" + record.stack_info
                args = ()
            exc = record.exc_info
            exc = capture_exc(exc) if exc and exc[0] is not None else None
            d = record.__dict__
            fields = None
            if len(d) > _PLAIN_SIZE:
                extra = {k: v for k, v in d.items() if k not in _STANDARD}
                if extra:
                    fields = capture_fields(extra)
            if _logger_module._context_on:
                ctx = _ctx_fields.get()
                if ctx:
                    fields = {**ctx, **fields} if fields else ctx
            rec = (level, int(record.created * 1e9), msg, args, fields, exc,
                   name if fixed is None else fixed.name)
            q = lg._q  # what Logger._enqueue does, without its call
            if len(q) >= lg._max:
                lg._full(rec)
                return
            q.append(rec)
            if _writer.sleeping:
                _writer.wake()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Return once everything handed to loglane so far is written (``logging.shutdown``
        calls this at exit; loglane's own exit drain has usually done it already)."""
        if not _writer.on_writer_thread():
            _writer.barrier(10.0)

    def __repr__(self) -> str:
        return f"<loglane.StdlibHandler ({logging.getLevelName(self.level)})>"


_captured: StdlibHandler | None = None
_before: tuple[list[logging.Handler], int] | None = None  # the root's handlers and level


def capture_stdlib(level: int | str | None = None, *, replace: bool = True,
                   warnings: bool = False, lean: bool = False) -> StdlibHandler:
    """Send every ``logging`` call of the process through loglane; returns the handler.

    Installs a ``StdlibHandler`` on the root logger (once; calling again only updates the
    level). ``level``: the root logger's level; None follows loglane's configuration (the
    lowest level it lets through anywhere, kept in step by later ``configure()`` calls), so
    stdlib does not build records that loglane would drop. ``replace``: remove the root's
    other handlers (they would write the same lines a second time); they are not closed.
    ``warnings``: route ``warnings.warn`` too (``logging.captureWarnings``).
    ``lean``: stop stdlib from collecting what loglane's lines do not show — the caller's
    file, line and function (the stack walk of ``findCaller``), thread and process details —
    with the switches the logging HOWTO documents under "Optimization". It cuts the caller's
    cost by a third to a half, but for the whole process: other handlers and filters then see
    ``pathname="(unknown file)"``, ``lineno=0``, no thread or process name.
    """
    global _captured, _before
    root = logging.getLogger()
    handler = _captured
    if handler is None:
        _before = (list(root.handlers), root.level)
        handler = _captured = StdlibHandler()
        REGISTRY.on_apply.append(_follow_configuration)
    if replace:
        for other in list(root.handlers):
            if other is not handler:
                root.removeHandler(other)
    if handler not in root.handlers:
        root.addHandler(handler)
    handler._level_fixed = level is not None  # type: ignore[attr-defined]
    if level is None:
        _follow_configuration()
    else:
        root.setLevel(level if isinstance(level, int) else level.upper())
    if warnings:
        logging.captureWarnings(True)
    if lean:
        logging._srcfile = None
        logging.logThreads = False
        logging.logProcesses = False
        logging.logMultiprocessing = False
    return handler


def release_stdlib() -> None:
    """Undo ``capture_stdlib``: its handler off the root logger, the root's handlers and level
    as they were before."""
    global _captured, _before
    if _captured is not None:
        root = logging.getLogger()
        root.removeHandler(_captured)
        if _before is not None:
            handlers, level = _before
            for other in handlers:
                if other not in root.handlers:
                    root.addHandler(other)
            root.setLevel(level)
        if _follow_configuration in REGISTRY.on_apply:
            REGISTRY.on_apply.remove(_follow_configuration)
        _captured = _before = None


def _follow_configuration() -> None:
    handler = _captured
    if handler is None or getattr(handler, "_level_fixed", False):
        return
    lowest = REGISTRY.lowest_level()
    logging.getLogger().setLevel(min(lowest, logging.CRITICAL + 1))


class StdlibSink(Sink):
    """Runs a ``logging.Handler`` as a loglane sink, on the writer thread.

    Each record becomes a ``LogRecord`` (name, level, message and arguments, exception, the
    record's own time, fields as attributes, as ``extra=`` would set them) and goes through
    ``handler.handle``, so the handler's own formatter, filters and level apply. A handler
    error, which stdlib would print and forget, is counted and retried by loglane from the
    record that failed. The sink owns the handler: it closes it when it is closed.
    """

    raw_records = True
    PENDING_LIMIT = 100_000

    def __init__(self, handler: logging.Handler, level: int | str = 0,
                 max_level: int | str | None = None) -> None:
        if not isinstance(handler, logging.Handler):
            raise TypeError(f"StdlibSink needs a logging.Handler, got {handler!r}")
        super().__init__(level, max_level)
        self.handler = handler
        self.lost = 0
        self._pending: list[Sequence[Any]] = []  # records from the one that failed onwards
        self._error: BaseException | None = None

    def start(self) -> None:
        # Instead of printing and forgetting, tell loglane (see write).
        self.handler.handleError = self._on_error  # type: ignore[method-assign]

    def _on_error(self, record: logging.LogRecord) -> None:
        self._error = sys.exc_info()[1] or RuntimeError("handler error")

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        if self._pending:
            records = [*self._pending, *records]
            self._pending = []
        handle = self.handler.handle
        for i, r in enumerate(records):
            self._error = None
            handle(to_log_record(r))
            if self._error is not None:
                pending = list(records[i:])
                excess = len(pending) - self.PENDING_LIMIT
                if excess > 0:
                    del pending[:excess]
                    self.lost += excess
                self._pending = pending
                raise SinkBacklogged(f"{len(pending)} record(s) waiting") from self._error

    def flush(self) -> None:
        self.handler.flush()

    def close(self) -> None:
        self.handler.close()
        self.handler.__dict__.pop("handleError", None)

    def describe(self) -> str:
        return f"StdlibSink({type(self.handler).__name__}, level={level_name(self.level)})"


def to_log_record(r: Sequence[Any]) -> logging.LogRecord:
    level, ts, msg, args, fields, exc, name = r[:7]
    if args:
        try:  # a message that cannot be formatted becomes a line that says so, as elsewhere
            msg % (args[0] if len(args) == 1 and isinstance(args[0], Mapping) else args)
        except Exception:
            msg, args = render_message(msg, args), ()
    rec = logging.LogRecord(name, level, "", 0, msg, args or None, exc, None, None)
    rec.created = ts / 1e9
    rec.msecs = (ts // 1_000_000) % 1000
    if fields:
        d = rec.__dict__
        for key, value in fields.items():
            if key not in d:  # like extra=, but a clash is skipped rather than raised
                d[key] = value
    return rec

"""Structured fields that travel with the code rather than with one call.

``with loglane.contextualize(request_id="r1"):`` adds ``request_id`` to every record logged
inside the block, by any logger, in this thread or asyncio task only: the fields live in a
``ContextVar``, so each thread starts without them and each asyncio task starts with a copy of
its creator's. ``log.bind(user=42)`` returns a logger that adds its fields to each of its calls.

The log call's fast path reads the context only once a context has ever been entered
(``loglane.logger._context_on``), so programs that never use it pay one global's test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from loglane.capture import capture_fields

if TYPE_CHECKING:
    from loglane.logger import Logger

# The current fields: a dict that is never mutated once published (the log call hands it to
# the writer as it is, so a record shares it instead of copying it).
fields: ContextVar[dict[str, Any] | None] = ContextVar("loglane_fields", default=None)


@contextmanager
def contextualize(**kw: Any) -> Iterator[dict[str, Any]]:
    """Add ``kw`` to every record logged inside the block (inner blocks win on equal keys).

    Values are captured when the block is entered, like the arguments of a log call: a list
    mutated later in the block still shows its value at entry.
    """
    from loglane import logger  # (imported here: the logger imports this module)

    current = fields.get()
    merged = dict(current) if current else {}
    merged.update(capture_fields(dict(kw)))
    token = fields.set(merged)
    logger._context_on = True
    try:
        yield merged
    finally:
        fields.reset(token)


def current_fields() -> dict[str, Any]:
    """A copy of the fields the context adds right here."""
    current = fields.get()
    return dict(current) if current else {}


class BoundLogger:
    """A logger that adds fixed fields to each call; made by ``Logger.bind``.

    It always takes the capture path of the logger it wraps (fields make a call "not plain"),
    and it asks that logger for the level at each call, so reconfiguration reaches it.
    """

    __slots__ = ("_fields", "_logger")

    def __init__(self, logger: Logger, bound: dict[str, Any]) -> None:
        self._logger = logger
        self._fields = bound

    @property
    def name(self) -> str:
        return self._logger.name

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self._fields)

    def bind(self, **kw: Any) -> BoundLogger:
        return BoundLogger(self._logger, {**self._fields, **capture_fields(kw)})

    def _call(self, level: int, msg: object, args: tuple[Any, ...], kw: dict[str, Any]) -> None:
        # Call-site fields win over bound ones; the merged dict is new, so _slow may pop from it.
        self._logger._slow(level, msg, args, {**self._fields, **kw} if kw else dict(self._fields))

    def debug(self, msg: object, /, *args: Any, **kw: Any) -> None:
        if self._logger._level <= 10:
            self._call(10, msg, args, kw)

    def info(self, msg: object, /, *args: Any, **kw: Any) -> None:
        if self._logger._level <= 20:
            self._call(20, msg, args, kw)

    def warning(self, msg: object, /, *args: Any, **kw: Any) -> None:
        if self._logger._level <= 30:
            self._call(30, msg, args, kw)

    warn = warning

    def error(self, msg: object, /, *args: Any, **kw: Any) -> None:
        if self._logger._level <= 40:
            self._call(40, msg, args, kw)

    def critical(self, msg: object, /, *args: Any, **kw: Any) -> None:
        if self._logger._level <= 50:
            self._call(50, msg, args, kw)

    fatal = critical

    def exception(self, msg: object, /, *args: Any, **kw: Any) -> None:
        if self._logger._level <= 40:
            kw.setdefault("exc_info", True)
            self._call(40, msg, args, kw)

    def log(self, level: int | str, msg: object, /, *args: Any, **kw: Any) -> None:
        from loglane.record import parse_level

        try:
            lvl = level if type(level) is int else parse_level(level)
        except ValueError:
            self._logger.log(level, msg, *args, **{**self._fields, **kw})
            return
        if self._logger._level <= lvl:
            self._call(lvl, msg, args, kw)

    def is_enabled_for(self, level: int | str) -> bool:
        return self._logger.is_enabled_for(level)

    def flush(self, timeout: float | None = None) -> bool:
        return self._logger.flush(timeout)

    def __getattr__(self, attr: str) -> Any:
        # close, stats, sinks, add_sink...: those of the logger it wraps. Not our own slots
        # or dunders: copy and pickle probe those on an instance whose slots are still empty.
        if attr.startswith("__") or attr in BoundLogger.__slots__:
            raise AttributeError(attr)
        return getattr(self._logger, attr)

    def __repr__(self) -> str:
        return f"<loglane.BoundLogger {self.name!r} fields={self._fields!r}>"

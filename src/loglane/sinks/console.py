"""Lines to a text stream: stdout and stderr by name (looked up at write time, so a replaced
``sys.stdout`` is honoured) or any object with ``write``.

Colours by level when the stream is a terminal (rules in ``loglane.colors``); decided again
whenever the stream object changes, never per line."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from loglane.colors import colorize, wants_color
from loglane.sinks.base import Formatter, Sink, SinkBacklogged


class ConsoleSink(Sink):
    raw_records = True

    def __init__(
        self,
        stream: TextIO | str = "stderr",
        level: int | str = 0,
        max_level: int | str | None = None,
        formatter: Formatter | None = None,
        *,
        color: bool | None = None,
    ) -> None:
        super().__init__(level, max_level, formatter)
        self.color = color  # None: decide from the environment and the stream
        self._color_for: object = None
        self._colored = False
        if isinstance(stream, str):
            if stream not in ("stdout", "stderr"):
                raise ValueError(f"stream must be 'stdout', 'stderr' or a stream, not {stream!r}")
        elif not callable(getattr(stream, "write", None)):
            raise TypeError(f"stream must have a write() method, got {stream!r}")
        self.stream = stream

    def _stream(self) -> TextIO:
        if isinstance(self.stream, str):
            found: TextIO | None = getattr(sys, self.stream)
            if found is None:  # pythonw, or closed by the application
                raise OSError(f"sys.{self.stream} is None")
            return found
        return self.stream

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        stream = self._stream()
        if stream is not self._color_for:
            self._color_for = stream
            self._colored = wants_color(stream, self.color)
        if self._colored:
            lines = [colorize(r[0], ln) for r, ln in zip(records, lines, strict=True)]
        stream.write("\n".join(lines) + "\n")

    def flush(self) -> None:
        self._stream().flush()

    def describe(self) -> str:
        name = self.stream if isinstance(self.stream, str) else type(self.stream).__name__
        return f"ConsoleSink({name})"


class CallableSink(Sink):
    """Calls ``fn(line)`` for each formatted line (no trailing newline)."""

    raw_records = True

    def __init__(
        self,
        fn: Any,
        level: int | str = 0,
        max_level: int | str | None = None,
        formatter: Formatter | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"CallableSink needs a callable, got {fn!r}")
        super().__init__(level, max_level, formatter)
        self.fn = fn
        self._rest: list[str] = []  # lines not yet taken when fn last raised

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        fn = self.fn
        # Resume after the line that failed, so a retry gives no line twice. While those
        # still fail, the new batch is not taken (a plain exception hands it back to the
        # writer, which holds it bounded and counted): what this sink keeps never grows
        # beyond the one batch it failed in.
        rest, self._rest = self._rest, []
        for i, line in enumerate(rest):
            try:
                fn(line)
            except Exception as exc:
                self._rest = rest[i:]
                if not lines:
                    raise SinkBacklogged(f"{len(self._rest)} line(s) waiting") from exc
                raise
        for i, line in enumerate(lines):
            try:
                fn(line)
            except Exception as exc:
                self._rest = list(lines[i:])
                raise SinkBacklogged(f"{len(self._rest)} line(s) waiting") from exc

    def describe(self) -> str:
        return f"CallableSink({getattr(self.fn, '__qualname__', repr(self.fn))})"

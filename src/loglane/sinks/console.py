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
    may_log = False

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
        text = "\n".join(lines) + "\n"
        try:
            stream.write(text)
        except UnicodeEncodeError:
            # A character the stream cannot encode (a lone surrogate, or a strict ASCII
            # stdout): replace it, never fail the whole sink over one record. A text stream
            # encodes before it writes, so nothing went out twice.
            stream.write(_encodable(text, stream))

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
        self.last_error: BaseException | None = None  # why the last refused line was refused

    PROBE = 16  # lines tried after one that failed twice, to tell a bad line from an outage

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        # Resume at the line that failed, so a retry gives no line twice. When that line fails
        # again, the next few lines are tried: if one of them goes through, the target works
        # and refuses those lines themselves (bad records, not an outage), so they are given
        # up, counted in ``lost``, and the others go on. While the old lines still fail, the
        # new batch is not taken (a plain exception hands it back to the writer, which holds
        # it bounded and counted): what this sink keeps never grows beyond one batch.
        fn = self.fn
        rest, self._rest = self._rest, []
        todo: Sequence[str] = [*rest, *lines] if rest else lines
        retry = bool(rest)  # todo[0] failed before
        i = 0
        while i < len(todo):
            try:
                fn(todo[i])
                i += 1
                retry = False
                continue
            except Exception as exc:
                taken = self._probe(todo, i + 1) if retry else -1
                if taken >= 0:
                    self.lost += taken - i
                    self.last_error = exc
                    i = taken + 1
                    retry = False
                    continue
                if i < len(rest) and lines:
                    self._rest = list(rest[i:])
                    raise
                self._rest = list(todo[i:])
                raise SinkBacklogged(f"{len(self._rest)} line(s) waiting") from exc

    def _probe(self, todo: Sequence[str], start: int) -> int:
        """The index of the first of the next PROBE lines that ``fn`` takes, or -1."""
        for j in range(start, min(start + self.PROBE, len(todo))):
            try:
                self.fn(todo[j])
                return j
            except Exception:
                continue
        return -1

    def pending_records(self) -> int:
        return len(self._rest)

    def close(self) -> None:
        self.lost += len(self._rest)  # still refused at close: given up, and counted
        self._rest = []

    def describe(self) -> str:
        return f"CallableSink({getattr(self.fn, '__qualname__', repr(self.fn))})"


def _encodable(text: str, stream: TextIO) -> str:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding, "replace")
    except LookupError:  # an encoding name Python does not know
        return text.encode("ascii", "backslashreplace").decode("ascii")

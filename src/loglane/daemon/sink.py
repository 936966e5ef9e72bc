"""``DaemonSink``: the logger's daily files, written through ``loglane serve``.

It runs on the logger's writer thread only, so the application pays nothing but its enqueue.
Each record goes to its own day's file (``DailyNames``), one daemon connection per file;
``link.Link`` does the sending, reconnecting, resending and falling back.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Sequence

from loglane.daemon import protocol
from loglane.daemon.connect import OpenRefused
from loglane.daemon.link import Link
from loglane.record import Record
from loglane.sinks.base import Formatter, Sink, SinkBacklogged
from loglane.sinks.daily import DailyNames

DEFAULT_SOCKET = "/tmp/loglane.sock"
#: connections kept per sink: today's file, and yesterday's for late records around midnight
_MAX_LINKS = 2
_SUN_PATH_MAX = 107  # sockaddr_un's sun_path holds 108 bytes with the final NUL
_timestamp = operator.itemgetter(1)  # Record.ts_ns, also for raw record tuples


class DaemonSink(Sink):
    """Appends formatted lines to daily files via the daemon; falls back to direct appends."""

    raw_records = True  # only the timestamp (field 1) is read

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        socket: str = DEFAULT_SOCKET,
        level: int | str = 0,
        max_level: int | str | None = None,
        formatter: Formatter | None = None,
        utc: bool = False,
        fallback_after: float = 5.0,
        buffer_limit: int = 4 << 20,
        timeout: float = 2.0,
    ) -> None:
        super().__init__(level, max_level, formatter)
        if fallback_after < 0:
            raise ValueError(f"fallback_after must not be negative, got {fallback_after}")
        if buffer_limit <= 0:
            raise ValueError(f"buffer_limit must be positive, got {buffer_limit}")
        self.names = DailyNames(path, utc=utc)
        directory = os.path.dirname(self.names.base)
        if not os.path.isdir(directory):
            raise ValueError(f"log directory does not exist: {directory!r}")
        # Fail now, not on the writer thread, for a name the protocol cannot carry.
        protocol.open_message(os.fsencode(self.names.path_for(0)))
        if len(os.fsencode(socket)) > _SUN_PATH_MAX:
            raise ValueError(f"socket path longer than {_SUN_PATH_MAX} bytes: {socket!r}")
        self.socket = socket
        self.fallback_after = fallback_after
        self.buffer_limit = buffer_limit
        self.timeout = timeout
        self._links: dict[str, Link] = {}

    def describe(self) -> str:
        return f"DaemonSink({self.names.base!r} via {self.socket})"

    def _link(self, path: str) -> Link:
        link = self._links.get(path)
        if link is None:
            if len(self._links) >= _MAX_LINKS:
                self._retire_oldest()
            link = Link(
                os.fsencode(path),
                self.socket,
                fallback_after=self.fallback_after,
                buffer_limit=self.buffer_limit,
                timeout=self.timeout,
            )
            self._links[path] = link
        return link

    def _retire_oldest(self) -> None:
        # Days only move forward; the oldest file gets no more records (or very late ones,
        # which simply reopen it). Closing waits for the daemon's BYE, on the writer thread.
        oldest = next(iter(self._links))
        self._links.pop(oldest).close()

    def write(self, records: Sequence[Record], lines: Sequence[str]) -> None:
        if not records:
            return
        errors: list[Exception] = []
        stamps = list(map(_timestamp, records))
        path_for = self.names.path_for
        first = path_for(min(stamps))
        if path_for(max(stamps)) == first:
            # A day is one interval of time: if the earliest and latest records share a
            # file, all do. The usual case, at C speed rather than a call per record.
            self._send(first, lines, errors)
        else:
            self._write_by_day(stamps, lines, errors)
        if errors:
            # Every line is kept by its link (bounded); do not hand the batch back.
            raise SinkBacklogged(f"{self.describe()}: {errors[0]}")

    def _write_by_day(
        self, stamps: list[int], lines: Sequence[str], errors: list[Exception]
    ) -> None:
        # Consecutive records of one day go together; order within each file is kept.
        path_for = self.names.path_for
        current = path_for(stamps[0])
        start = 0
        for i, ts in enumerate(stamps):
            path = path_for(ts)
            if path != current:
                self._send(current, lines[start:i], errors)
                current, start = path, i
        self._send(current, lines[start:], errors)

    def _send(self, path: str, lines: Sequence[str], errors: list[Exception]) -> None:
        data = ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")
        link = self._link(path)
        try:
            link.write(data)
        except (OSError, OpenRefused) as exc:
            errors.append(exc)
            return
        if link.last_error is not None and isinstance(link.last_error, OpenRefused):
            errors.append(link.last_error)

    def flush(self) -> None:
        errors: list[Exception] = []
        for link in list(self._links.values()):
            try:
                link.pump(wait=True)
            except (OSError, OpenRefused) as exc:
                errors.append(exc)
        if errors:
            raise SinkBacklogged(f"{self.describe()}: {errors[0]}")

    def close(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            link.close()

    def after_fork_in_child(self) -> None:
        # The connections and unsent bytes are the parent's; the child opens its own.
        links, self._links = list(self._links.values()), {}
        for link in links:
            link.forget()

    @property
    def pending(self) -> int:
        """Bytes accepted but not yet handed to the daemon or written directly."""
        return sum(len(link.pending) for link in self._links.values())

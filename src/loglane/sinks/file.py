"""Daily files: ``FileSink("logs/app.log")`` writes ``logs/app-YYYY-MM-DD.log``.

Descriptors are shared per path across the whole process (however many loggers and sinks name
the same file, there is one open descriptor), opened ``O_APPEND`` so that other processes
appending too never overwrite us, and written with ``os.write``. Batches are gathered in memory
and written at the writer's flush (after each cycle) or once ``FLUSH_BYTES`` are waiting: one
system call per cycle instead of one per batch. That matters beyond the syscall itself: every
``os.write`` releases the GIL, and a caller thread waiting for it takes it for a whole switch
interval (5 ms), so a writer that wrote per batch got a fraction of the interpreter while one
thread logged in a loop, and fell behind it. Everything gathered is written before the flush
returns, so a forked child inherits nothing half-done. Before each write the sink checks that
the path still names the open file, so a file deleted or moved away by another tool is created
again.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from loglane.format import safe_str
from loglane.record import parse_level
from loglane.sinks.base import Formatter, Sink, SinkBacklogged
from loglane.sinks.daily import DailyNames
from loglane.sinks.housekeeping import Housekeeper

_ts = itemgetter(1)  # a record's time stamp

FLUSH_BYTES = 1 << 20  # gathered bytes that trigger a write before the cycle's flush

_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class _Shared:
    """One open descriptor for a path, shared by every sink that writes it."""

    __slots__ = ("fd", "ino", "path", "users")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1
        self.ino: tuple[int, int] = (0, 0)
        self.users = 0
        self.open()

    def open(self) -> None:
        try:
            fd = os.open(self.path, _FLAGS, 0o644)
        except FileNotFoundError:  # the directory was removed (rm -r logs/): make it again
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, _FLAGS, 0o644)
        st = os.fstat(fd)
        if self.fd >= 0:
            os.close(self.fd)
        self.fd, self.ino = fd, (st.st_dev, st.st_ino)

    def ensure_current(self) -> None:
        """Reopen when the path no longer names our file (deleted, moved, replaced)."""
        try:
            st = os.stat(self.path)
            if (st.st_dev, st.st_ino) == self.ino:
                return
        except FileNotFoundError:
            pass
        self.open()


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, _Shared] = {}

    def acquire(self, path: str) -> _Shared:
        with self._lock:
            shared = self._files.get(path)
            if shared is None:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                shared = self._files[path] = _Shared(path)
            shared.users += 1
            return shared

    def release(self, shared: _Shared) -> None:
        with self._lock:
            shared.users -= 1
            if shared.users <= 0:
                self._files.pop(shared.path, None)
                try:
                    os.close(shared.fd)
                except OSError:
                    pass

    def is_open(self, path: str) -> bool:
        with self._lock:
            return path in self._files

    def count(self) -> int:
        with self._lock:
            return len(self._files)


FILES = _Registry()


def _after_fork_in_child() -> None:
    # Another thread may have held the lock at fork(); in the child nobody will release it.
    FILES._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Rest:
    """Bytes of one file that a write could not take yet, kept to be written first."""

    __slots__ = ("data", "ends", "head", "path", "torn")

    def __init__(self, path: str, data: bytes, ends: list[int]) -> None:
        self.path = path
        self.data = data
        self.ends = ends  # where each record ends in data: one entry per record
        self.head = b""  # the first record's bytes already in the file (a short write)
        # (device, inode, offset where that record starts, file size after it): to take a
        # torn record out of the file again if it is given up
        self.torn: tuple[int, int, int, int] | None = None


class FileSink(Sink):
    """Append records to daily files named from each record's own timestamp."""

    raw_records = True
    may_log = False
    OPEN_DAYS = 2  # the current day and the one before, for records written late

    def __init__(
        self,
        path: str | os.PathLike[str],
        level: int | str = 0,
        *,
        utc: bool = False,
        retention_days: int | None = None,
        compress: bool = False,
        formatter: Formatter | None = None,
    ) -> None:
        super().__init__(parse_level(level), None, formatter)
        if retention_days is not None and (
            not isinstance(retention_days, int) or retention_days < 1
        ):
            raise ValueError(f"retention_days must be a positive int or None, not "
                             f"{retention_days!r}")
        self.names = DailyNames(path, utc=utc)
        self.retention_days = retention_days
        self.compress = compress
        _check_directory(os.path.dirname(self.names.base))
        self._open: dict[str, _Shared] = {}  # daily path -> shared descriptor, oldest first
        self._backlog: list[_Rest] = []  # what failed writes left, oldest first
        # gathered and not yet written: (daily path, lines), and their bytes and records
        self._gathered: list[tuple[str, Sequence[str]]] = []
        self._gathered_size = 0
        self._gathered_records = 0
        self._newest_day = ""
        self.lost = 0

    # -- writer thread ------------------------------------------------------------------

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        if self._backlog:  # a retry after a failure: the old bytes go first
            try:
                self._write_backlog()
            except SinkBacklogged as exc:
                if not records:
                    raise
                # Not SinkBacklogged: these records were not taken, so the writer holds them
                # (bounded, counted) instead of this sink's memory growing with the outage.
                raise OSError(f"still failing: {exc}") from exc.__cause__
        if not records:
            return
        names = self.names
        path = names.path_for(min(map(_ts, records)))
        if names.path_for(max(map(_ts, records))) == path:  # days are contiguous: one file
            self._gather(path, lines)
        else:
            groups: dict[str, list[str]] = {}
            for rec, line in zip(records, lines, strict=True):
                groups.setdefault(names.path_for(rec[1]), []).append(line)
            for day_path in sorted(groups):
                self._gather(day_path, groups[day_path])
        if self._gathered_size >= FLUSH_BYTES:
            self._write_gathered()

    def _gather(self, path: str, lines: Sequence[str]) -> None:
        self._gathered.append((path, lines))
        self._gathered_size += sum(map(len, lines)) + len(lines)  # (characters: close enough)
        self._gathered_records += len(lines)

    def pending_records(self) -> int:
        return self._gathered_records + sum(len(rest.ends) for rest in self._backlog)

    def _write_gathered(self) -> None:
        """Write the backlog, then what was gathered: per file, in order, one write each."""
        if self._backlog:
            self._write_backlog()  # raises while the failure lasts; the gathered lines wait
        gathered = self._gathered
        self._gathered, self._gathered_size, self._gathered_records = [], 0, 0
        by_path: dict[str, list[str]] = {}
        for path, lines in gathered:
            by_path.setdefault(path, []).extend(lines)
        paths = sorted(by_path)  # names sort by date: older days first
        for i, path in enumerate(paths):
            lines = by_path[path]
            data = _encode(lines)
            try:
                self._write_lines(path, data, lines)
            except SinkBacklogged:  # this file's rest is in the backlog; the others go after
                for later in paths[i + 1 :]:
                    more = by_path[later]
                    self._backlog.append(_Rest(later, _encode(more), _ends(more)))
                raise

    def _write_lines(self, path: str, data: bytes, lines: Sequence[str]) -> None:
        """Write data (the lines of one file); keep what fails in the backlog."""
        shared: _Shared | None = None
        try:
            shared = self._current(path)
            self._write_all(shared, data, 0)
        except OSError as exc:
            rest = _Rest(path, data, _ends(lines))
            done = getattr(exc, "loglane_done", 0)
            if done and shared is not None:
                self._cut(rest, done, shared)
            self._backlog.append(rest)
            raise SinkBacklogged(safe_str(exc)) from exc

    def _write_all(self, shared: _Shared, data: bytes, done: int) -> int:
        """os.write until everything is out; on an error, raise with ``done`` updated."""
        view = memoryview(data)
        while done < len(data):
            try:
                done += os.write(shared.fd, view[done:])
            except InterruptedError:
                continue
            except OSError as exc:
                exc.loglane_done = done  # type: ignore[attr-defined]
                raise
        return done

    def _cut(self, rest: _Rest, done: int, shared: _Shared) -> None:
        """``done`` bytes of rest went out: keep the others, and note a record cut in two."""
        ends = rest.ends
        whole = bisect.bisect_right(ends, done)  # records now complete in the file
        start = ends[whole - 1] if whole else 0  # where the first unfinished record begins
        # Its bytes already in the file: those written now, after any head written earlier.
        head = (b"" if whole else rest.head) + rest.data[start:done]
        rest.data = rest.data[done:]
        rest.ends = [e - done for e in ends[whole:]]
        rest.head, rest.torn = head, None
        if head:
            try:
                st = os.fstat(shared.fd)
                rest.torn = (st.st_dev, st.st_ino, st.st_size - len(head), st.st_size)
            except OSError:
                pass

    def _write_backlog(self) -> None:
        backlog, self._backlog = self._backlog, []
        for i, rest in enumerate(backlog):
            shared: _Shared | None = None
            try:
                shared = self._current(rest.path)
                if rest.head and (rest.torn is None or rest.torn[:2] != shared.ino):
                    # The file that holds the record's head is gone: write the record whole.
                    rest.ends = [e + len(rest.head) for e in rest.ends]
                    rest.data = rest.head + rest.data
                    rest.head, rest.torn = b"", None
                self._write_all(shared, rest.data, 0)
            except OSError as exc:
                done = getattr(exc, "loglane_done", 0)
                if done and shared is not None:
                    self._cut(rest, done, shared)
                self._backlog = [rest, *backlog[i + 1 :]]
                raise SinkBacklogged(safe_str(exc)) from exc

    def _current(self, path: str) -> _Shared:
        """The descriptor for ``path``, checked to be the file now at that path (a file or its
        directory deleted or moved away is created again)."""
        shared = self._open.get(path)
        if shared is None:
            return self._take(path)
        shared.ensure_current()
        return shared

    def _take(self, path: str) -> _Shared:
        shared = FILES.acquire(path)
        self._open[path] = shared
        while len(self._open) > self.OPEN_DAYS:
            oldest = min(self._open)  # names sort by date
            FILES.release(self._open.pop(oldest))
        day = path[len(self.names.pattern_parts()[0]):][:10]
        if day > self._newest_day:
            self._newest_day = day
            self._housekeep()
        return shared

    def _housekeep(self) -> None:
        if self.retention_days is None and not self.compress:
            return
        prefix, suffix = self.names.pattern_parts()
        Housekeeper.get().submit(prefix, suffix, self._newest_day, self.retention_days,
                                 self.compress, FILES.is_open)

    def flush(self) -> None:
        if self._gathered or self._backlog:
            self._write_gathered()

    def close(self) -> None:
        try:
            if self._gathered or self._backlog:
                self._write_gathered()
        except SinkBacklogged:
            self._give_up()
            raise
        finally:
            for shared in self._open.values():
                FILES.release(shared)
            self._open.clear()

    def _give_up(self) -> None:
        """Still failing at close: count what is not written as lost, and take a record cut
        in two out of its file (if nothing was appended after it), so no torn line stays."""
        for rest in self._backlog:
            if rest.torn is not None:
                _untear(self._open.get(rest.path), rest.torn)
        self.lost += self.pending_records()
        self._backlog = []
        self._gathered, self._gathered_size, self._gathered_records = [], 0, 0

    def after_fork_in_child(self) -> None:
        # Bytes gathered or held before the fork are the parent's to write; writing them here
        # too would double them. (The descriptors are shared O_APPEND: safe to keep.)
        self._gathered, self._gathered_size, self._gathered_records = [], 0, 0
        self._backlog = []

    def describe(self) -> str:
        return f"FileSink({self.names.base!r})"


def _encode(lines: Sequence[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8", "backslashreplace")


def _ends(lines: Sequence[str]) -> list[int]:
    """Where each line ends in ``_encode(lines)`` (computed only after a failed write)."""
    ends = []
    pos = 0
    for line in lines:
        pos += len(line.encode("utf-8", "backslashreplace")) + 1
        ends.append(pos)
    return ends


def _untear(shared: _Shared | None, torn: tuple[int, int, int, int]) -> None:
    dev, ino, start, end = torn
    if shared is None or shared.ino != (dev, ino):
        return
    try:
        if os.fstat(shared.fd).st_size == end:  # nobody appended after the torn head
            os.ftruncate(shared.fd, start)
    except OSError:
        pass


def _check_directory(directory: str) -> None:
    """Fail at construction, clearly, when the directory cannot be created or written."""
    try:
        os.makedirs(directory, exist_ok=True)
    except FileExistsError:
        raise ValueError(f"cannot create log directory {directory!r}: a file is in the way")\
            from None
    except NotADirectoryError:
        raise ValueError(f"cannot create log directory {directory!r}: a part of the path is a "
                         f"file, not a directory") from None
    except OSError as exc:
        raise ValueError(f"cannot create log directory {directory!r}: "
                         f"{safe_str(exc.strerror or exc)}") from None
    # Try it rather than ask os.access: root passes every permission check, yet an immutable
    # or read-only directory still refuses new files.
    probe = os.path.join(directory, f".loglane-probe-{os.getpid()}-{threading.get_ident()}")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ValueError(f"log directory {directory!r} is not writable: "
                         f"{safe_str(exc.strerror or exc)}") from None

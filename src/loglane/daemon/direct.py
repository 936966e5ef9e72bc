"""The fallback when the daemon is away: appending the file ourselves, and bounding the buffer."""

from __future__ import annotations

import os

_FILE_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC


def open_direct(path: bytes) -> int:
    """An O_APPEND descriptor on ``path``, as the daemon would have opened it."""
    return os.open(path, _FILE_FLAGS, 0o666)


def append_all(fd: int, buffer: bytearray) -> None:
    """Write and remove all of ``buffer``; on an error, what was written is removed first,
    so it is never written twice."""
    done = 0
    try:
        with memoryview(buffer) as view:
            while done < len(view):
                done += os.write(fd, view[done:])
    finally:
        del buffer[:done]


def drop_oldest(buffer: bytearray, limit: int) -> int:
    """Remove the oldest whole lines until ``buffer`` fits ``limit``; returns bytes removed."""
    excess = len(buffer) - limit
    if excess <= 0:
        return 0
    cut = buffer.find(b"\n", excess - 1)
    cut = len(buffer) if cut < 0 else cut + 1
    del buffer[:cut]
    return cut

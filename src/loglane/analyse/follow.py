"""Follow a file like `tail -F`: new complete lines on each poll, across rotation and truncation.

No clock and no sleeping here: the caller polls (the live loop decides when). Each poll:

* waits for a missing file (returns nothing until it appears);
* on the first open starts at the end of the file (only new traffic is live traffic), or at
  its start with `from_start=True`; a file that appears later is read from its start;
* keeps a partial last line until its newline arrives;
* truncation (the file got shorter than what was read) restarts at offset 0;
* rotation (the path now names another inode, or nothing) drains the old file to its end,
  then switches to the new file from its start. A partial line left at the end of a rotated
  file is complete by definition and is returned as a line.
"""

from __future__ import annotations

import os
from typing import BinaryIO

__all__ = ["Follower", "StreamFollower"]

READ_LIMIT = 8 << 20  # per poll, so one poll never holds a whole huge backlog


class Follower:
    def __init__(self, path: str, *, from_start: bool = False) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._ident: tuple[int, int] | None = None
        self._pos = 0
        self._partial = b""
        self._seek_end = not from_start
        self.rotations = 0
        self.truncations = 0
        self._open()  # "the end" means the end as of now, not as of the first poll

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self) -> bool:
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - kept open across polls
        except FileNotFoundError:
            self._seek_end = False  # whatever appears later is all new
            return False
        st = os.fstat(f.fileno())
        self._file, self._ident = f, (st.st_dev, st.st_ino)
        self._pos = f.seek(0, os.SEEK_END) if self._seek_end else 0
        self._seek_end = False
        return True

    def _read(self) -> bytes:
        assert self._file is not None
        try:
            size = os.fstat(self._file.fileno()).st_size
        except OSError:
            size = self._pos
        if size < self._pos:
            self.truncations += 1
            self._partial = b""
            self._pos = 0
        self._file.seek(self._pos)
        data = self._file.read(READ_LIMIT)
        self._pos += len(data)
        return data

    def _rotated(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != self._ident

    def poll(self) -> bytes:
        """Complete new lines (ending in a newline), possibly empty."""
        if self._file is None and not self._open():
            return b""
        data = self._read()
        out = self._partial + data
        if self._rotated():
            while chunk := self._read():  # what was written just before the rename
                out += chunk
            if out and not out.endswith(b"\n"):
                out += b"\n"
            self._partial = b""
            self.close()
            self.rotations += 1
            if self._open():
                out += self._read()
        cut = out.rfind(b"\n") + 1
        if len(out) - cut > READ_LIMIT:  # a "line" this long is garbage: pass it on as one
            out += b"\n"
            cut = len(out)
        self._partial = out[cut:]
        return out[:cut]


class StreamFollower:
    """Live lines from a pipe or terminal (`loglane monitor -`): whatever is readable now,
    without blocking, up to the last newline. `eof` turns true when the writer is gone."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.eof = False
        self._partial = b""

    def poll(self) -> bytes:
        import select

        out = self._partial
        while not self.eof:
            ready, _, _ = select.select([self.fd], [], [], 0)
            if not ready:
                break
            data = os.read(self.fd, 1 << 20)
            if not data:
                self.eof = True
                break
            out += data
            if len(out) > READ_LIMIT:
                break
        if self.eof and out and not out.endswith(b"\n"):
            out += b"\n"
        cut = out.rfind(b"\n") + 1
        self._partial = out[cut:]
        return out[:cut]

    def close(self) -> None:
        pass

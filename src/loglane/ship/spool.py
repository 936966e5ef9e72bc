"""A bounded on-disk spool of batches waiting for the broker.

Layout: ``DIR/seg-00000001.spool`` … , each a sequence of records::

    magic b"LLS1" | meta length u32 | body length u32 | crc32(meta + body) u32 | meta JSON | body

Records are appended to the newest segment; a segment is rolled at ``segment_bytes`` and
deleted once every record in it has been confirmed by the broker. The bound counts the bytes
of the segments on disk, so it holds even while confirmed records wait for their neighbours.

Writes are not fsynced: the spool protects against the broker being away and against the
process being killed (the page cache survives that), not against the machine losing power.
A record torn by a kill mid-write fails its length or crc check when the spool is reopened,
and the segment is cut back to the last whole record.

One process owns a spool directory at a time (``flock`` on ``DIR/.lock``); opening a spool
another live process holds raises ``SpoolBusy``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import zlib
from collections import deque
from pathlib import Path

from loglane.ship.batch import Batch

_HEAD = struct.Struct("<4sIII")
_MAGIC = b"LLS1"
DEFAULT_SEGMENT_BYTES = 8 << 20


class SpoolBusy(Exception):
    """Another process holds this spool directory."""


class _Segment:
    __slots__ = ("acked", "fd", "number", "path", "records", "size")

    def __init__(self, number: int, path: Path, fd: int, size: int) -> None:
        self.number = number
        self.path = path
        self.fd = fd
        self.size = size
        self.records = 0
        self.acked = 0


class Spool:
    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_bytes: int,
        *,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self._lock_fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise SpoolBusy(f"spool {self.dir} is in use by another process") from None
        self._segments: dict[int, _Segment] = {}
        self._active: _Segment | None = None
        # records not yet handed out: (segment number, position, meta length, body length)
        self._unread: deque[tuple[int, int, int, int]] = deque()
        self._bytes = 0
        self._recover()

    # -- opening -------------------------------------------------------------------------

    def _recover(self) -> None:
        for path in sorted(self.dir.glob("seg-*.spool")):
            try:
                number = int(path.stem.split("-", 1)[1])
            except ValueError:
                continue
            fd = os.open(path, os.O_RDWR)
            size = os.fstat(fd).st_size
            good = self._scan(number, fd, size)
            if good < size:
                os.ftruncate(fd, good)  # a record torn by a kill mid-write
            seg = _Segment(number, path, fd, good)
            seg.records = sum(1 for r in self._unread if r[0] == number)
            if seg.records == 0:
                os.close(fd)
                path.unlink()
                continue
            self._segments[number] = seg
            self._bytes += good

    def _scan(self, number: int, fd: int, size: int) -> int:
        pos = 0
        while pos + _HEAD.size <= size:
            magic, mlen, blen, crc = _HEAD.unpack(os.pread(fd, _HEAD.size, pos))
            end = pos + _HEAD.size + mlen + blen
            if magic != _MAGIC or end > size:
                break
            if zlib.crc32(os.pread(fd, mlen + blen, pos + _HEAD.size)) != crc:
                break
            self._unread.append((number, pos, mlen, blen))
            pos = end
        return pos

    # -- writing -------------------------------------------------------------------------

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def unread(self) -> int:
        return len(self._unread)

    def append(self, batch: Batch) -> bool:
        """Store ``batch``; False (and nothing stored) when that would pass the bound."""
        if self._bytes + len(batch.body) + _HEAD.size > self.max_bytes:
            return False  # the cheap check first: no need to encode what cannot fit
        meta = json.dumps(batch.meta(), separators=(",", ":")).encode()
        payload = meta + batch.body
        record = _HEAD.pack(_MAGIC, len(meta), len(batch.body), zlib.crc32(payload)) + payload
        if self._bytes + len(record) > self.max_bytes:
            return False
        seg = self._active
        if seg is None or seg.size >= self.segment_bytes:
            seg = self._new_segment()
        pos = seg.size
        os.pwrite(seg.fd, record, pos)
        seg.size += len(record)
        seg.records += 1
        self._bytes += len(record)
        self._unread.append((seg.number, pos, len(meta), len(batch.body)))
        return True

    def _new_segment(self) -> _Segment:
        number = max(self._segments, default=0) + 1
        path = self.dir / f"seg-{number:08d}.spool"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        seg = _Segment(number, path, fd, 0)
        self._segments[number] = seg
        self._active = seg
        return seg

    # -- reading -------------------------------------------------------------------------

    def pop(self) -> Batch | None:
        """The oldest record not yet handed out, or None. It stays on disk until ``ack``."""
        if not self._unread:
            return None
        number, pos, mlen, blen = self._unread.popleft()
        seg = self._segments[number]
        data = os.pread(seg.fd, mlen + blen, pos + _HEAD.size)
        meta = json.loads(data[:mlen])
        return Batch.from_meta(meta, data[mlen:], number)

    def ack(self, number: int) -> None:
        """One record of segment ``number`` is confirmed; drop the segment when all are."""
        seg = self._segments.get(number)
        if seg is None:
            return
        seg.acked += 1
        if seg.acked < seg.records:
            return
        if any(r[0] == number for r in self._unread):
            return  # cannot happen for the oldest segments; cheap insurance for the active one
        os.close(seg.fd)
        with contextlib.suppress(FileNotFoundError):
            seg.path.unlink()
        del self._segments[number]
        self._bytes -= seg.size
        if seg is self._active:
            self._active = None

    def close(self) -> None:
        for seg in self._segments.values():
            os.close(seg.fd)
        self._segments.clear()
        self._active = None
        os.close(self._lock_fd)

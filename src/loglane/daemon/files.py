"""The daemon's open files: one descriptor per file, shared by all clients writing to it.

Files are keyed by (device, inode) after opening, not by the path a client sent, so two
spellings of one file share a descriptor, and a client that opens a path after the old file
was rotated away gets the new file rather than the old descriptor.

Each descriptor is opened with O_APPEND and written with ``os.write``: there is no user-space
buffer to flush, and the kernel places every write at the end of the file atomically, so a
whole batch of whole lines never interleaves with another writer's.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import Protocol

# O_NONBLOCK: opening a FIFO must not hang the whole server (it fails with ENXIO instead).
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NONBLOCK


class Writer(Protocol):
    """What a file tells a client: how much of its data was written, or why it was not."""

    def wrote(self, size: int) -> None: ...

    def write_failed(self, exc: OSError) -> None: ...


class OpenFile:
    """One open descriptor, the clients using it, and the chunks waiting for this batch."""

    __slots__ = ("chunks", "fd", "key", "owners", "path", "rotated", "users", "writing")

    def __init__(self, fd: int, path: bytes, key: tuple[int, int]) -> None:
        self.fd = fd
        self.path = path
        self.key = key
        self.users = 0
        self.rotated = False
        self.writing = False  # inside write_batch: a failing client may release us meanwhile
        self.chunks: list[bytes] = []
        self.owners: list[Writer] = []  # owners[i] sent chunks[i]

    def queue(self, owner: Writer, data: bytes) -> None:
        self.chunks.append(data)
        self.owners.append(owner)

    def write_batch(self) -> None:
        """Write the queued chunks with one system call when all goes well.

        On an error, the chunks not yet written are retried one by one, so only the clients
        whose own data fails hear about it (a disk that fills mid-batch, an I/O error).
        """
        chunks, owners = self.chunks, self.owners
        self.chunks, self.owners = [], []
        if not chunks:
            return
        self.writing = True
        try:
            self._write(chunks, owners)
        finally:
            self.writing = False

    def _write(self, chunks: list[bytes], owners: list[Writer]) -> None:
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        done = 0
        try:
            done = _write_all(self.fd, data, 0)
        except OSError:
            pass
        else:
            for chunk, owner in zip(chunks, owners, strict=True):
                owner.wrote(len(chunk))
            return
        # Find the chunk the failure happened in and retry from there, chunk by chunk.
        start = 0
        for chunk, owner in zip(chunks, owners, strict=True):
            end = start + len(chunk)
            if end <= done:
                owner.wrote(len(chunk))
                start = end
                continue
            try:
                _write_all(self.fd, chunk, max(0, done - start))
            except OSError as exc:
                owner.write_failed(exc)
            else:
                owner.wrote(len(chunk))
            start = end

    def is_rotated(self) -> bool:
        """Whether the path now names another file, or nothing (renamed or deleted)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return True
        return (st.st_dev, st.st_ino) != self.key


def _write_all(fd: int, data: bytes, offset: int) -> int:
    view = memoryview(data)
    total = len(data)
    while offset < total:
        offset += os.write(fd, view[offset:])
    return offset


class FileTable:
    """Opens, shares and closes the daemon's files."""

    def __init__(self, check_path: Callable[[bytes], bytes] | None = None) -> None:
        self._by_key: dict[tuple[int, int], OpenFile] = {}
        self._retired: set[OpenFile] = set()  # rotated away, still used by their clients
        # Returns the path to open (resolved) or raises PermissionError; set by --root.
        self._check_path = check_path
        self.dirty: list[OpenFile] = []

    def __len__(self) -> int:
        return len(self._by_key) + len(self._retired)

    def files(self) -> list[OpenFile]:
        return [*self._by_key.values(), *self._retired]

    def acquire(self, path: bytes) -> OpenFile:
        target = path
        flags = _FLAGS
        if self._check_path is not None:
            target = self._check_path(path)
            flags |= os.O_NOFOLLOW  # the resolved path's last part must not become a link
        fd = os.open(target, flags, 0o666)
        try:
            st = os.fstat(fd)
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISCHR(st.st_mode)):
                raise ValueError(f"not a regular file: {os.fsdecode(path)!r}")
        except BaseException:
            os.close(fd)
            raise
        key = (st.st_dev, st.st_ino)
        entry = self._by_key.get(key)
        if entry is None:
            entry = self._by_key[key] = OpenFile(fd, target, key)
        else:
            os.close(fd)
        entry.users += 1
        return entry

    def retire(self, entry: OpenFile) -> None:
        """The file was rotated: its clients keep the descriptor, new clients get a new one."""
        entry.rotated = True
        if self._by_key.get(entry.key) is entry:
            del self._by_key[entry.key]
            self._retired.add(entry)

    def release(self, entry: OpenFile) -> None:
        entry.users -= 1
        if entry.users > 0 or entry.writing:
            return  # when writing, _write_entry closes it once the batch is done
        self._write_entry(entry)

    def _write_entry(self, entry: OpenFile) -> None:
        if entry.chunks:
            entry.write_batch()
        if entry.users <= 0 and entry.fd >= 0:
            if self._by_key.get(entry.key) is entry:
                del self._by_key[entry.key]
            self._retired.discard(entry)
            os.close(entry.fd)
            entry.fd = -1

    def queue(self, entry: OpenFile, owner: Writer, data: bytes) -> None:
        if not entry.chunks:
            self.dirty.append(entry)
        entry.queue(owner, data)

    def write_dirty(self) -> None:
        dirty, self.dirty = self.dirty, []
        for entry in dirty:
            self._write_entry(entry)

    def close_all(self) -> None:
        self.write_dirty()
        for entry in self.files():
            os.close(entry.fd)
        self._by_key.clear()
        self._retired.clear()

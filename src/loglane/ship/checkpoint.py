"""Where each followed file stands: what the broker has confirmed, per inode, in ``--state``.

A file is known by ``dev:ino`` rather than by name, so a rotated file keeps its progress under
its new name and a new file at the old name starts at 0. ``offset`` only moves when the broker
has confirmed every byte before it; confirms that arrive out of order wait in ``_ahead``.

``cuts`` records where a short batch (one cut at end of file rather than after a full
``--batch-lines``) ended. They are saved *before* such a batch is published, so that after a
crash the same bytes are batched the same way again and a re-sent message carries the same id
as the one the broker may already hold: a duplicate the consumer can recognise, never an
overlapping message it would count twice.

``fingerprint`` (crc32 of the first bytes) guards against inode reuse: a new file that got a
deleted file's inode must not resume at the old file's offset, and ``gen`` (a time stamp of
the file's incarnation, in its message ids) keeps its ids apart from the old file's.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FINGERPRINT_BYTES = 1024
STATE_FILE = "checkpoints.json"
_VERSION = 1


def fingerprint(fd: int, size: int) -> tuple[int, int]:
    """(length, crc32) of the file's first bytes; appending never changes them."""
    length = min(size, FINGERPRINT_BYTES)
    data = os.pread(fd, length, 0) if length else b""
    return len(data), zlib.crc32(data)


def new_generation(previous: int = 0) -> int:
    return max(time.time_ns(), previous + 1)


@dataclass
class FileState:
    path: str
    dev: int
    ino: int
    #: this incarnation of the inode: the time (ns) we first saw it, renewed on truncation and
    #: when the inode turns out to hold another file. Part of every message id, so a reused
    #: inode or restarted offsets never repeat an id that consumers have already counted.
    gen: int = 0
    offset: int = 0  # every byte before this is confirmed
    cuts: list[int] = field(default_factory=list)
    fp_len: int = 0
    fp_crc: int = 0
    #: the batching this file started with, kept for its life: a restart with other options
    #: must still cut the unconfirmed batches where they were cut before (0: not yet chosen)
    batch_lines: int = 0
    batch_bytes: int = 0
    _ahead: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return f"{self.dev}:{self.ino}"

    def confirm(self, gen: int, start: int, end: int) -> bool:
        """The broker confirmed bytes [start, end); True when ``offset`` moved."""
        if gen != self.gen or end <= self.offset:
            return False  # an older generation, or a duplicate of what is already confirmed
        if start > self.offset:
            self._ahead[start] = end
            return False
        self.offset = end
        while self.offset in self._ahead:
            self.offset = self._ahead.pop(self.offset)
        if self.cuts and self.cuts[0] <= self.offset:
            self.cuts = [c for c in self.cuts if c > self.offset]
        return True

    def truncated(self) -> None:
        self.gen = new_generation(self.gen)
        self.offset = 0
        self.cuts = []
        self._ahead.clear()
        self.fp_len = self.fp_crc = 0

    def matches(self, fd: int, size: int) -> bool:
        """Is the open file the one this state describes (not a reused inode)?"""
        if size < self.fp_len:
            return False
        data = os.pread(fd, self.fp_len, 0) if self.fp_len else b""
        return zlib.crc32(data) == self.fp_crc

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "dev": self.dev,
            "ino": self.ino,
            "gen": self.gen,
            "offset": self.offset,
            "cuts": self.cuts,
            "fp_len": self.fp_len,
            "fp_crc": self.fp_crc,
            "batch_lines": self.batch_lines,
            "batch_bytes": self.batch_bytes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileState:
        return cls(
            path=str(data["path"]),
            dev=int(data["dev"]),
            ino=int(data["ino"]),
            gen=int(data.get("gen", 0)),
            offset=int(data.get("offset", 0)),
            cuts=[int(c) for c in data.get("cuts", [])],
            fp_len=int(data.get("fp_len", 0)),
            fp_crc=int(data.get("fp_crc", 0)),
            batch_lines=int(data.get("batch_lines", 0)),
            batch_bytes=int(data.get("batch_bytes", 0)),
        )


class Checkpoints:
    """All files' states, loaded from and saved (atomically) to ``state_dir``."""

    def __init__(self, state_dir: str | os.PathLike[str]) -> None:
        self.dir = Path(state_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / STATE_FILE
        self.files: dict[str, FileState] = {}
        #: whole files already confirmed: key -> size (a re-run does not send them again)
        self.shipped: dict[str, int] = {}
        self.dirty = False
        self._load()

    def _load(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        try:
            data = json.loads(raw)
        except ValueError as exc:
            # A torn write cannot happen (we rename), so this is someone else's damage: say so.
            raise ValueError(f"{self.path}: not a loglane checkpoint file ({exc})") from exc
        for item in data.get("files", []):
            state = FileState.from_json(item)
            self.files[state.key] = state
        self.shipped = {str(k): int(v) for k, v in data.get("shipped", {}).items()}

    def get(self, dev: int, ino: int) -> FileState | None:
        return self.files.get(f"{dev}:{ino}")

    def add(self, state: FileState) -> None:
        self.files[state.key] = state
        self.dirty = True

    def remove(self, key: str) -> None:
        if self.files.pop(key, None) is not None:
            self.dirty = True

    def for_path(self, path: str) -> list[FileState]:
        return [s for s in self.files.values() if s.path == path]

    def save(self, *, sync: bool = True) -> None:
        """Write all states to a temporary file and rename it over the old one."""
        data = {
            "version": _VERSION,
            "files": [s.to_json() for s in self.files.values()],
            "shipped": self.shipped,
        }
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"))
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self.dirty = False

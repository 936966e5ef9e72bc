"""Follow files like ``tail -F`` (and Filebeat): across rotation and truncation. No broker here.

A ``Follower`` watches one path. It reads the file open under that path through a
``FileReader`` (one inode). When the path disappears or names another inode, the old reader
keeps draining the renamed (or deleted but still open) file for ``grace`` seconds after its last
new byte, since writers often finish a line or two before they reopen; the new file is read from
its start. A file that shrinks under us was truncated (``copytruncate``): reading restarts at 0
under a new generation (a time stamp in the ids), so its message ids do not repeat the old
ones; a file whose inode we knew from a deleted file gets a new generation the same way.

Batching is deterministic so that a restart re-creates the same messages: from a batch's
start, it ends after ``batch_lines`` lines, or at the last newline within ``batch_bytes``, or at
a cut recorded in the checkpoint. Only a batch cut short at end of file depends on timing; such
cuts are recorded (``new_cuts``) and must be saved before the batch is published.

A line longer than ``batch_bytes`` is split into pieces of that size, each given a newline; a
rotated file's unfinished last line is shipped with a newline once its grace period is over.
Invalid UTF-8 is replaced by U+FFFD (offsets keep counting the file's own bytes).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import stat
import time
from collections.abc import Callable

from loglane import wire
from loglane.ship.batch import Batch, utf8_body
from loglane.ship.checkpoint import (
    FINGERPRINT_BYTES,
    Checkpoints,
    FileState,
    fingerprint,
    new_generation,
)

READ_BYTES = 1 << 20
DEFAULT_BATCH_LINES = 1000
DEFAULT_BATCH_BYTES = 1 << 20
ROTATE_GRACE = 1.0


def batch_end(buf: bytes, start: int, lines: int, cap: int, eof: bool, hint: int = 0) -> int | None:
    """Where the batch starting at ``buf[start]`` ends, or None when more data is needed.

    At ``eof`` a short batch of whatever complete lines there are is allowed. ``hint`` (bytes
    per line, from the previous batch) only makes it faster: one ``count`` over the guessed
    span and a few ``find``s to correct it, instead of one ``find`` per line. The answer is
    the same whatever the hint, which keeps batching deterministic.
    """
    limit = min(len(buf), start + cap)
    guess = min(limit, start + hint * lines) if hint > 0 else start
    seen = buf.count(b"\n", start, guess) if guess > start else 0
    if seen >= lines:  # overshot: step back to the lines-th newline
        end = guess
        for _ in range(seen - lines + 1):
            end = buf.rfind(b"\n", start, end)
        return end + 1
    pos = buf.rfind(b"\n", start, guess) + 1 if seen else start
    scan = guess
    while seen < lines:
        nl = buf.find(b"\n", scan, limit)
        if nl < 0:
            break
        seen += 1
        pos = scan = nl + 1
    else:
        return pos
    if limit - start >= cap:
        return pos if pos > start else start + cap  # cap reached; a giant line is split
    if eof and pos > start:
        return pos
    return None


class FileReader:
    """One inode, read from its checkpointed offset and cut into batches."""

    def __init__(
        self, path: str, fd: int, state: FileState, host: str, lines: int, cap: int
    ) -> None:
        self.path = path
        self.fd = fd
        self.state = state
        self.host = host
        self.lines = lines
        self.cap = cap
        self.draining_since: float | None = None  # set once the path no longer names us
        self.last_data = time.monotonic()
        self.finished = False  # everything up to end of file is batched; nothing more comes
        self._hint = 0  # bytes per line of the last batch: makes batch_end faster
        self._reset(state.offset)

    def _reset(self, offset: int) -> None:
        self._buf = b""
        self._i = 0  # index in _buf of the next batch's first byte
        self._buf_off = offset  # file offset of _buf[0]
        self.at_eof = False

    @property
    def next_offset(self) -> int:
        return self._buf_off + self._i

    @property
    def read_pos(self) -> int:
        return self._buf_off + len(self._buf)

    @property
    def source_id(self) -> str:
        return f"{self.host}:{self.state.dev}:{self.state.ino}:{self.state.gen}"

    def truncated(self) -> None:
        self.state.truncated()
        self._reset(0)

    def poll(self, max_batches: int) -> tuple[list[Batch], bool]:
        """Read what is there; return up to ``max_batches`` batches and whether a cut is new."""
        out: list[Batch] = []
        new_cut = False
        self.at_eof = False
        cuts = self.state.cuts
        while len(out) < max_batches and not self.finished:
            # the first recorded cut after this batch's start (cuts before it stay recorded
            # until confirmed: they are the ends of batches that may have to be re-sent)
            k = bisect.bisect_right(cuts, self.next_offset)
            forced = cuts[k] - self._buf_off if k < len(cuts) else None
            end = batch_end(self._buf, self._i, self.lines, self.cap, False, self._hint)
            short = False
            if end is None and self.at_eof:
                end = batch_end(self._buf, self._i, self.lines, self.cap, eof=True)
                short = end is not None
            if forced is not None and forced <= len(self._buf) and (end is None or forced <= end):
                end, short = forced, False
            if end is not None:
                if short:
                    cuts.append(self._buf_off + end)  # timing-dependent: remember where it ended
                    new_cut = True
                out.append(self._batch(end))
                continue
            if self.at_eof:
                break
            chunk = os.pread(self.fd, READ_BYTES, self.read_pos)
            if chunk:
                self._buf = self._buf[self._i :] + chunk
                self._buf_off += self._i
                self._i = 0
                self.last_data = time.monotonic()
                if self.state.fp_len < FINGERPRINT_BYTES:
                    self.state.fp_len, self.state.fp_crc = fingerprint(self.fd, self.read_pos)
            else:
                self.at_eof = True
        rotated_away = self.draining_since is not None
        if self.at_eof and rotated_away and not self.finished and self._quiet():
            if self._i < len(self._buf):  # an unfinished last line: it will never end
                cuts.append(self.read_pos)
                new_cut = True
                out.append(self._batch(len(self._buf)))
            self.finished = True
        return out, new_cut

    def _quiet(self) -> bool:
        return time.monotonic() - self.last_data >= ROTATE_GRACE

    def _batch(self, end: int) -> Batch:
        raw = self._buf[self._i : end]
        body = utf8_body(raw)
        if not body.endswith(b"\n"):
            body += b"\n"
        batch = Batch(
            source=self.path,
            source_id=self.source_id,
            offset=self._buf_off + self._i,
            length=len(raw),
            kind=wire.KIND_LINES,
            body=body,
            lines=body.count(b"\n"),
            host=self.host,
            key=self.state.key,
            gen=self.state.gen,
        )
        self._i = end
        if batch.lines:
            self._hint = len(raw) // batch.lines + 1
        return batch

    @property
    def done(self) -> bool:
        """Finished and every batch confirmed: the reader and its checkpoint can go."""
        return self.finished and self.state.offset >= self.read_pos

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class Follower:
    """One path, followed across rotation and truncation; waits for it when missing."""

    def __init__(
        self,
        path: str,
        checkpoints: Checkpoints,
        host: str,
        *,
        batch_lines: int = DEFAULT_BATCH_LINES,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        report: Callable[[str], None] = print,
    ) -> None:
        self.path = os.path.abspath(path)
        self.checkpoints = checkpoints
        self.host = host
        self.lines = batch_lines
        self.cap = batch_bytes
        self.report = report
        self.current: FileReader | None = None
        self.old: list[FileReader] = []  # rotated away, still draining or awaiting confirms
        self._said_missing = False
        self._why = ""
        self._resume_rotated()
        self._open_current()

    def _resume_rotated(self) -> None:
        """After a restart: finish files that were rotated away while we were not running."""
        try:
            here = os.stat(self.path)
            here_key = f"{here.st_dev}:{here.st_ino}"
        except OSError:
            here_key = ""
        for state in self.checkpoints.for_path(self.path):
            if state.key == here_key:
                continue
            found = self._find_inode(state)
            if found is None:
                self.checkpoints.remove(state.key)  # its data is gone; nothing to resume
                continue
            reader = self._reader(found, state)
            if reader is None:
                self.checkpoints.remove(state.key)
                continue
            reader.draining_since = time.monotonic()
            self.old.append(reader)

    def _find_inode(self, state: FileState) -> str | None:
        directory = os.path.dirname(self.path)
        with contextlib.suppress(OSError), os.scandir(directory) as entries:
            for entry in entries:
                if (
                    entry.inode() == state.ino
                    and entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_dev == state.dev
                ):
                    return entry.path
        return None

    def _reader(self, path: str, state: FileState | None) -> FileReader | None:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            self._why = exc.strerror or type(exc).__name__
            return None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            self._why = "not a regular file"
            return None
        known = state or self.checkpoints.get(st.st_dev, st.st_ino)
        if known is None or not known.matches(fd, st.st_size):
            before = 0
            if known is not None:  # a reused inode, or rewritten: another file, new ids
                self.checkpoints.remove(known.key)
                before = known.gen
            gen = new_generation(before)
            known = FileState(path=self.path, dev=st.st_dev, ino=st.st_ino, gen=gen)
            known.fp_len, known.fp_crc = fingerprint(fd, st.st_size)
        known.path = self.path
        if not known.batch_lines:
            known.batch_lines, known.batch_bytes = self.lines, self.cap
        self.checkpoints.add(known)
        lines, cap = known.batch_lines, known.batch_bytes
        reader = FileReader(self.path, fd, known, self.host, lines, cap)
        if st.st_size < known.offset:
            reader.truncated()  # shrank while we were away
        return reader

    def _open_current(self) -> None:
        reader = self._reader(self.path, None)
        if reader is None:
            if not self._said_missing:
                why = "no such file yet" if self._why == os.strerror(2) else self._why
                self.report(f"loglane ship: {self.path}: {why}; waiting for it")
                self._said_missing = True
            return
        self._said_missing = False
        self.current = reader

    def poll(self, max_batches: int) -> tuple[list[Batch], bool]:
        """Batches ready now from all this path's files, and whether a new cut must be saved."""
        out: list[Batch] = []
        new_cut = False
        if self.current is None:
            self._open_current()
        for reader in [*self.old, self.current]:
            if reader is None:
                continue
            batches, cut = reader.poll(max_batches - len(out))
            out += batches
            new_cut |= cut
            if len(out) >= max_batches:
                return out, new_cut
        cur = self.current
        if cur is not None and cur.at_eof:
            self._check_rotation(cur)
        for reader in [r for r in self.old if r.done]:
            reader.close()
            self.old.remove(reader)
            self.checkpoints.remove(reader.state.key)
        return out, new_cut

    def _check_rotation(self, cur: FileReader) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        if st is not None and (st.st_dev, st.st_ino) == (cur.state.dev, cur.state.ino):
            if os.fstat(cur.fd).st_size < cur.read_pos:
                cur.truncated()
            return
        cur.draining_since = time.monotonic()
        self.old.append(cur)
        self.current = None
        if st is not None:
            self._open_current()

    @property
    def caught_up(self) -> bool:
        """Everything currently in the file(s) is batched (for --exit-when-done)."""
        readers = [*self.old, self.current]
        return all(r is None or (r.at_eof or r.finished) for r in readers)

    def close(self) -> None:
        for reader in [*self.old, self.current]:
            if reader is not None:
                reader.close()

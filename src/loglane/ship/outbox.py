"""Batches between their producer (a file tailer, the logger's writer) and the publisher.

Three places, taken in this order by the publisher:

* ``retry``: batches that were in flight when a connection died (or the broker nacked them);
* the disk spool: batches that arrived while the broker was away (or, for the sink, while
  memory was full);
* ``memory``: the fast path while the broker is there (or being connected to), bounded.

``put`` never blocks. It answers False when the batch fits nowhere; the file tailer then keeps
the batch and pauses that file (the file itself is the backlog), while the logger's sink counts
the lines as dropped. Thread-safe, because the sink's producer is the logger's writer thread
while the publisher runs on its own I/O thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from loglane.ship.batch import Batch
from loglane.ship.spool import Spool

DEFAULT_MEMORY_BYTES = 32 << 20


class Outbox:
    def __init__(self, spool: Spool | None, memory_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self.spool = spool
        self.memory_bytes = memory_bytes
        #: set while the broker is known away (an attempt failed, or the connection died):
        #: batches then go to disk first, and to memory only when the spool is full
        self.away = False
        self._lock = threading.Lock()
        self._memory: deque[Batch] = deque()
        self._memory_used = 0
        self._retry: deque[Batch] = deque()
        #: called after a put, from the putting thread; the publisher sets it to wake itself
        self.wake: Callable[[], None] = lambda: None
        self.spooled_batches = 0

    def put(self, batch: Batch, *, spill: bool = False) -> bool:
        """Queue ``batch``; spill to disk when the broker is away (or ``spill`` and memory full)."""
        size = len(batch.body)
        with self._lock:
            # While the broker is away, disk first: what was read survives our own exit too.
            if self.away and self.spool is not None and self.spool.append(batch):
                self.spooled_batches += 1
            elif self._memory_used + size <= self.memory_bytes or not self._memory:
                self._memory.append(batch)
                self._memory_used += size
            elif (spill or self.away) and self.spool is not None and self.spool.append(batch):
                self.spooled_batches += 1
            else:
                return False
        self.wake()
        return True

    def take(self) -> Batch | None:
        with self._lock:
            if self._retry:
                return self._retry.popleft()
            if self.spool is not None:
                batch = self.spool.pop()
                if batch is not None:
                    return batch
            if self._memory:
                batch = self._memory.popleft()
                self._memory_used -= len(batch.body)
                return batch
            return None

    def retry(self, batch: Batch) -> None:
        with self._lock:
            self._retry.append(batch)

    def done(self, batch: Batch) -> None:
        """The broker confirmed ``batch``: release its spool record."""
        if batch.spool_seg >= 0 and self.spool is not None:
            with self._lock:
                self.spool.ack(batch.spool_seg)

    def pending(self) -> int:
        """Batches not yet handed to the publisher."""
        with self._lock:
            unread = self.spool.unread if self.spool is not None else 0
            return len(self._retry) + len(self._memory) + unread

    def has_room(self, size: int) -> bool:
        with self._lock:
            return self._memory_used + size <= self.memory_bytes

    def adopt(self, other: Spool) -> int:
        """Move every record of an orphaned spool into ours; returns lines that did not fit."""
        lost = 0
        with self._lock:
            while (batch := other.pop()) is not None:
                batch.spool_seg = -1
                if self.spool is None or not self.spool.append(batch):
                    lost += batch.lines
        self.wake()
        return lost

    def disconnected(self) -> None:
        """The broker went away: move what waits in memory to disk, where it outlives us."""
        with self._lock:
            self.away = True
            if self.spool is None:
                return
            keep: deque[Batch] = deque()
            for queue in (self._retry, self._memory):
                for batch in queue:
                    if batch.spool_seg >= 0 or not self.spool.append(batch):
                        keep.append(batch)
                    else:
                        self.spooled_batches += 1
                queue.clear()
            self._memory_used = 0
            self._retry = keep  # already spooled, or no room on disk: stays in memory

    def spill_all(self, extra: list[Batch]) -> tuple[int, int]:
        """Move everything held in memory (and ``extra``) to the spool, for a later run.

        Batches already in the spool stay there and are sent again next time. Returns
        (batches spooled, lines that did not fit).
        """
        with self._lock:
            todo = [*extra, *self._retry, *self._memory]
            self._retry.clear()
            self._memory.clear()
            self._memory_used = 0
            spooled = lost = 0
            for batch in todo:
                if batch.spool_seg >= 0:
                    continue
                if self.spool is not None and self.spool.append(batch):
                    spooled += 1
                else:
                    lost += batch.lines
            return spooled, lost

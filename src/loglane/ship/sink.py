"""``AmqpSink``: a logger's lines to RabbitMQ, without the application ever waiting for it.

``write`` runs on loglane's writer thread: it appends lines to the current batch and, when the
batch is full, hands it to an ``Outbox`` and returns. A dedicated I/O thread runs an asyncio
loop with its own connection and a ``Publisher`` (confirms, many in flight, reconnects). While
the broker is away, batches go to a bounded disk spool in ``spool_dir`` (when given); what fits
nowhere is dropped, counted, and reported on stderr. A partly filled batch is sent when the
publisher is idle or it is older than ``linger``, so a quiet logger's lines do not wait.

Message ids: the source is ``host:pid:logger`` (the header) and its id adds the start time
(``host:pid:logger:start_ns``), so a restarted process is a new source; the offset is the byte
position in the stream of bodies this sink produced.

A spool left behind by a process that exited while the broker was away (``spool_dir/*``, no
longer locked) is adopted by the next sink that starts with the same ``spool_dir`` and sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loglane import wire
from loglane.ship.batch import Batch
from loglane.ship.outbox import DEFAULT_MEMORY_BYTES, Outbox
from loglane.ship.spool import Spool, SpoolBusy
from loglane.ship.url import check_url, redact
from loglane.sinks.base import Sink

if TYPE_CHECKING:
    from loglane.ship.publisher import Publisher

DEFAULT_WINDOW = 64  # publishes awaiting a confirm (publisher.DEFAULT_WINDOW; no aio-pika here)
DEFAULT_SINK_BATCH_LINES = 1000
DEFAULT_SINK_SPOOL_BYTES = 256 << 20
_REPORT_EVERY = 10.0


def _stderr(message: str) -> None:
    with contextlib.suppress(Exception):
        print(message, file=sys.stderr, flush=True)


class AmqpSink(Sink):
    raw_records = True  # only the formatted lines are used

    def __init__(
        self,
        url: str = wire.DEFAULT_AMQP_URL,
        queue: str = wire.DEFAULT_QUEUE,
        *,
        level: int | str = 0,
        max_level: int | str | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        batch_lines: int = DEFAULT_SINK_BATCH_LINES,
        max_spool_bytes: int = DEFAULT_SINK_SPOOL_BYTES,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        window: int = DEFAULT_WINDOW,
        linger: float = 0.2,
        close_timeout: float = 5.0,
    ) -> None:
        super().__init__(level, max_level)
        check_url(url)  # a configuration mistake raises here, at construction
        if batch_lines <= 0:
            raise ValueError(f"batch_lines must be positive, got {batch_lines}")
        self.url = url
        self.queue = queue
        self.batch_lines = batch_lines
        self.max_spool_bytes = max_spool_bytes
        self.memory_bytes = memory_bytes
        self.window = window
        self.linger = linger
        self.close_timeout = close_timeout
        self.spool_dir = Path(spool_dir) if spool_dir is not None else None
        if self.spool_dir is not None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.spool_dir, os.W_OK | os.X_OK):
                raise PermissionError(f"spool_dir {self.spool_dir} is not writable")
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._pending: list[str] = []
        self._pending_since = 0.0
        self._source = ""
        self._source_id = ""
        self._offset = 0
        self._host = socket.gethostname()
        self._start_ns = time.time_ns()
        self._spool: Spool | None = None
        self._outbox: Outbox | None = None
        self._publisher: Publisher | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_ticker = threading.Event()
        self.dropped_lines = 0
        self._dropped_reported = 0
        self._last_drop_report = 0.0

    # -- the writer thread's side ------------------------------------------------------------

    def start(self) -> None:
        # aio-pika is imported here, not at module level: ``import loglane`` stays stdlib-only
        from loglane.ship.publisher import Publisher

        if self.spool_dir is not None:
            own = self.spool_dir / f"{self._host}-{os.getpid()}-{self._start_ns}"
            self._spool = Spool(own, self.max_spool_bytes)
        self._outbox = Outbox(self._spool, self.memory_bytes)
        self._publisher = Publisher(
            self.url,
            self.queue,
            self._outbox,
            window=self.window,
            report=_stderr,
            name="loglane AmqpSink",
            spool_hint=str(self.spool_dir or ""),
        )
        # The loop exists before its thread runs it, so close() can always reach it.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._io_main, name="loglane-amqp", daemon=True)
        self._thread.start()

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        if not self._source and records:
            name = records[0][6]  # Record.name, also when records are raw tuples
            self._source = f"{self._host}:{os.getpid()}:{name}"
            self._source_id = f"{self._source}:{self._start_ns}"
        with self._lock:
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.extend(lines)
            while len(self._pending) >= self.batch_lines:
                chunk = self._pending[: self.batch_lines]
                del self._pending[: self.batch_lines]
                self._send(chunk)

    def flush(self) -> None:
        self._cut(force=False)

    def _cut(self, *, force: bool) -> None:
        """Send the partial batch if forced, the publisher is idle, or it waited ``linger``."""
        publisher = self._publisher
        with self._lock:
            if not self._pending or publisher is None:
                return
            idle = publisher.idle
            stale = time.monotonic() - self._pending_since >= self.linger
            if force or idle or stale:
                chunk, self._pending = self._pending, []
                self._send(chunk)

    def _send(self, lines: list[str]) -> None:
        assert self._outbox is not None
        body = ("\n".join(lines) + "\n").encode("utf-8", "replace")
        batch = Batch(
            source=self._source or f"{self._host}:{os.getpid()}",
            source_id=self._source_id or f"{self._host}:{os.getpid()}:{self._start_ns}",
            offset=self._offset,
            length=len(body),
            kind=wire.KIND_LINES,
            body=body,
            lines=body.count(b"\n"),
            host=self._host,
        )
        self._offset += len(body)
        if not self._outbox.put(batch, spill=True):
            self.dropped_lines += batch.lines

    def close(self) -> None:
        publisher, thread, outbox = self._publisher, self._thread, self._outbox
        if publisher is None or thread is None or outbox is None:
            return  # never started, or closed already
        self._cut(force=True)
        # Wait for the broker only while it is there; otherwise spool at once.
        timeout = 0.0 if publisher.down else self.close_timeout
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(publisher.stop, timeout)
        self._stop_ticker.set()
        thread.join(timeout + 10.0)
        _, lost = outbox.spill_all([])
        self.dropped_lines += lost
        self._report_drops(force=True)
        if self._spool is not None:
            empty = self._spool.bytes == 0
            self._spool.close()
            if empty:  # nothing left for a later process: leave no directory behind
                shutil.rmtree(self._spool.dir, ignore_errors=True)
        self._thread = None

    def after_fork_in_child(self) -> None:
        # The parent's thread does not exist here and its spool is the parent's (its lock is
        # shared with the parent's descriptor): start over as a new source.
        self._lock = threading.Lock()
        self._reset()
        self.start()

    def stats(self) -> dict[str, int]:
        publisher = self._publisher
        return {
            "confirmed_lines": publisher.confirmed_lines if publisher else 0,
            "confirmed_messages": publisher.confirmed_batches if publisher else 0,
            "spooled_messages": self._outbox.spooled_batches if self._outbox else 0,
            "dropped_lines": self.dropped_lines,
            "outages": publisher.outages if publisher else 0,
        }

    def describe(self) -> str:
        return f"AmqpSink({redact(self.url)}, queue={self.queue!r})"

    def _report_drops(self, *, force: bool = False) -> None:
        new = self.dropped_lines - self._dropped_reported
        now = time.monotonic()
        if new > 0 and (force or now - self._last_drop_report >= _REPORT_EVERY):
            self._dropped_reported = self.dropped_lines
            self._last_drop_report = now
            where = "memory and spool are" if self.spool_dir else "memory is (no spool_dir)"
            _stderr(f"loglane AmqpSink: dropped {new} lines: the broker is away and {where} full")

    # -- the I/O thread ----------------------------------------------------------------------

    def _io_main(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._io())
        except Exception as exc:
            _stderr(f"loglane AmqpSink: I/O thread failed: {exc!r}")
        finally:
            loop.close()

    async def _io(self) -> None:
        from loglane.ship.publisher import BrokerRefused

        ticker = asyncio.create_task(self._tick())
        publisher = self._publisher
        assert publisher is not None
        self._adopt_orphans()
        said = False
        try:
            while True:
                try:
                    await publisher.run()
                    return
                except BrokerRefused as exc:
                    if not said:
                        _stderr(f"loglane AmqpSink: the broker refused us: {exc}; retrying")
                        said = True
                    if self._stop_ticker.is_set():
                        return
                    await asyncio.sleep(2.0)
        finally:
            ticker.cancel()

    async def _tick(self) -> None:
        while not self._stop_ticker.is_set():
            await asyncio.sleep(self.linger / 2)
            self._cut(force=False)
            self._report_drops()

    def _adopt_orphans(self) -> None:
        """Take over spools that exited processes left in ``spool_dir``."""
        if self.spool_dir is None or self._spool is None or self._outbox is None:
            return
        for path in sorted(self.spool_dir.iterdir()):
            if not path.is_dir() or path == self._spool.dir:
                continue
            try:
                other = Spool(path, max_bytes=1 << 62)
            except (SpoolBusy, OSError):
                continue  # a live process's spool
            self.dropped_lines += self._outbox.adopt(other)
            other.close()
            shutil.rmtree(path, ignore_errors=True)

"""``ProxyFile``: append to a file through the daemon, like offlog's, without blocking or raising.

``write`` only appends the bytes to a deque (and wakes the sender thread if it sleeps); a
background thread per ProxyFile hands them to the daemon, reconnects when it restarts, and
falls back to appending the file itself when it stays away (see ``link.Link``). The deque is
bounded by ``buffer_limit``: beyond it, writes are dropped and counted, never blocking.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from types import TracebackType

from loglane.daemon.connect import OpenRefused
from loglane.daemon.link import Link

DEFAULT_SOCKET = "/tmp/loglane.sock"
_MAX_ROUND = 1 << 20  # bytes the sender takes per round, so pending stays modest
_SHALLOW_POLL = 0.002  # seconds between looks at the queue while writes keep coming
_SHALLOW_FOR = 0.5  # seconds of quiet before the sender sleeps until woken

_open_files: weakref.WeakSet[ProxyFile] = weakref.WeakSet()


class ProxyFile:
    """A file opened for append by the daemon; ``write`` never blocks and never raises.

    Opening is confirmed: the constructor raises the daemon's own error (``PermissionError``,
    ``ValueError: not an absolute path`` ...) or the connection's (``FileNotFoundError`` when
    no daemon listens), as offlog's ProxyFile does. A relative path is made absolute here.
    """

    def __init__(
        self,
        path: str | bytes | os.PathLike[str],
        *,
        socket: str = DEFAULT_SOCKET,
        timeout: float = 5.0,
        fallback_after: float = 5.0,
        buffer_limit: int = 8 << 20,
    ) -> None:
        raw = os.fsencode(path)
        if b"\0" in raw:
            raise ValueError("embedded null byte in path")
        self.path = os.path.abspath(raw)
        self.buffer_limit = buffer_limit
        self.dropped = 0  # bytes refused because the buffer was full (caller side)
        self._link = Link(
            self.path,
            socket,
            fallback_after=fallback_after,
            buffer_limit=buffer_limit,
            timeout=timeout,
        )
        try:
            self._link.open()
        except OpenRefused as exc:
            raise exc.error from None
        self._timeout = timeout
        self._close_timeout = timeout
        self._queue: deque[bytes] = deque()
        self._added = 0  # bytes appended by writers (only writers change it)
        self._taken = 0  # bytes taken by the sender (only the sender changes it)
        self._handed = 0  # bytes the sender has passed to the link (so: sent, or pending there)
        self._sleeping = False
        self._closing = False
        self._closed = False
        self._ok = False
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loglane-proxyfile", daemon=True)
        self._thread.start()
        _open_files.add(self)

    # ---- the caller's side --------------------------------------------------------------

    def write(self, data: bytes | str) -> None:
        """Queue ``data`` for appending; drops (and counts) it if the buffer is full."""
        if self._closing:
            return
        if type(data) is not bytes:
            data = (
                data.encode("utf-8", "backslashreplace") if isinstance(data, str) else bytes(data)
            )
        n = len(data)
        # Approximate when several threads write at once; it only bounds memory.
        if self._added - self._taken + n > self.buffer_limit:
            self.dropped += n
            return
        self._queue.append(data)
        self._added += n
        if self._sleeping:
            self._sleeping = False
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything written so far was handed on; True if it was in time."""
        if self._closed:
            return True
        target = self._added
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        while self._handed < target or self._link.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._thread.is_alive():
                return False
            self._idle.clear()
            self._wake.set()
            self._idle.wait(min(remaining, 0.05))
        return True

    def close(self, timeout: float | None = None) -> bool:
        """Send everything, end the connection and wait for the daemon's ``BYE``.

        Returns True when every byte was confirmed written (by the daemon or directly).
        Idempotent; never raises.
        """
        if not self._closing:
            self._closing = True
            self._close_timeout = self._timeout if timeout is None else timeout
            self._wake.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(self._timeout * 2 if timeout is None else timeout * 2)
        self._closed = True
        _open_files.discard(self)
        return self._ok and self.dropped == 0

    def __enter__(self) -> ProxyFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pending(self) -> int:
        """Bytes written but not yet handed to the daemon or the file."""
        return self._added - self._taken + len(self._link.pending)

    def _restart_in_child(self) -> None:
        self._link.forget()
        self._queue.clear()
        self._added = self._taken = self._handed = 0
        self._sleeping = False
        self._wake = threading.Event()
        self._idle = threading.Event()
        if not self._closing:
            self._thread = threading.Thread(target=self._run, name="loglane-proxyfile", daemon=True)
            self._thread.start()

    # ---- the sender thread --------------------------------------------------------------

    def _take(self) -> bytes:
        queue = self._queue
        parts = []
        size = 0
        while queue and size < _MAX_ROUND:
            part = queue.popleft()
            parts.append(part)
            size += len(part)
        self._taken += size
        return b"".join(parts)

    def _run(self) -> None:
        link = self._link
        idle_since = time.monotonic()
        while True:
            if self._queue:
                data = self._take()
                try:
                    link.write(data, wait=True)
                except Exception:
                    pass  # the link kept the data (bounded) and told stderr; retried below
                self._handed = self._taken
                idle_since = time.monotonic()
                continue
            if link.pending:
                self._pump(link)
            if not self._queue and not link.pending:
                self._idle.set()
            if self._closing:
                break
            if time.monotonic() - idle_since < _SHALLOW_FOR:
                # Recently busy: poll. Waking us with an Event costs a writer ~15 us (a lock
                # and a thread switch); a poll every 2 ms costs writers nothing.
                time.sleep(_SHALLOW_POLL)
                continue
            # Long idle: sleep until a writer wakes us (once, for the first write).
            self._sleeping = True
            if not self._queue:  # re-check: a write may have come before _sleeping was set
                self._wake.wait(0.05 if link.pending else 1.0)
            self._wake.clear()
            self._sleeping = False
        while self._queue:
            link.pending += self._take()
        self._ok = link.close(self._close_timeout)
        self._idle.set()

    def _pump(self, link: Link) -> None:
        try:
            link.pump(wait=True)
        except Exception:
            pass


def _reinit_after_fork() -> None:
    # A forked child inherits the parent's queued bytes and a copy of its connections, but
    # not its sender threads: forget the parent's data, and start afresh (lazily reconnecting).
    for proxy in list(_open_files):
        proxy._restart_in_child()


def _close_all() -> None:
    # A normal interpreter exit loses nothing that was accepted.
    for proxy in list(_open_files):
        proxy.close()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_reinit_after_fork)

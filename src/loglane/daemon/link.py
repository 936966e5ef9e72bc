"""One file's path to disk through the daemon, with reconnection and a direct fallback.

A ``Link`` is driven by exactly one thread (the logger's writer thread, or a ProxyFile's
sender thread), which may block here; the application's threads never call it.

What is never lost, and why (the acknowledgement reasoning, also in docs/daemon.md):

* Bytes are kept in ``pending`` until ``send()`` hands them to the kernel. Bytes ``send()``
  refused (EPIPE, reset) stay pending and go to the next connection.
* The server answers ``OK`` before writing any data, and we send data only after ``OK``: a
  connection that ends without ``OK`` wrote nothing, so all its data is still pending.
* With a loglane server we ask for acknowledgements (``protocol.ACK_MARKER``): after each
  write the server says how many of our bytes are in the file. Sent bytes are kept
  (``inflight.Inflight``) until then, and whatever ends the connection (a stop, a crash, a
  write error), the unacknowledged bytes go again to the next connection. Only bytes written
  in the instant between the server's write and its ACK can be written twice.
* Without acks (offlog's server), a stopping server that drains loses nothing: it shuts its
  read side, so our later sends fail (and stay pending) while it writes everything queued
  to it (loglane's server also says how many bytes of an unfinished line it kept back, and
  we resend exactly those). Only a crash can lose what sat unread in its socket buffer.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable

from loglane.daemon import protocol
from loglane.daemon.connect import OpenRefused, connect, read_answers, say_on_stderr
from loglane.daemon.direct import append_all, drop_oldest, open_direct
from loglane.daemon.inflight import Inflight

_SEND_FLAGS = getattr(socket, "MSG_NOSIGNAL", 0)
_BACKOFF_FIRST = 0.05
_BACKOFF_MAX = 2.0
_REPORT_INTERVAL = 10.0
_DONE, _BLOCKED, _LOST = object(), object(), object()


class Link:
    """Pending bytes for one file, and the connection (or direct descriptor) they go to."""

    def __init__(
        self,
        path: bytes,
        socket_path: str,
        *,
        fallback_after: float = 5.0,
        buffer_limit: int = 4 << 20,
        timeout: float = 2.0,
        say: Callable[[str], None] = say_on_stderr,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.name = os.fsdecode(path)
        self.socket_path = socket_path
        self.fallback_after = fallback_after
        self.buffer_limit = buffer_limit
        self.timeout = timeout
        self.say = say
        self.clock = clock
        self.pending = bytearray()
        self.sock: socket.socket | None = None
        self.fd: int | None = None  # set while falling back to appending ourselves
        self.dropped = 0  # bytes given up when neither the daemon nor the file would take them
        self.last_error: Exception | None = None
        self._poll: select.poll | None = None
        self._replies = protocol.Replies()
        self._inflight = Inflight()  # what this connection sent and may have to resend
        self._ask_acks = True  # until an offlog server shows it does not know them
        self._rotated = False
        self._down_since: float | None = None
        self._next_attempt = 0.0
        self._backoff = _BACKOFF_FIRST
        self._failing_until = 0.0  # until then, a successful open does not reset the back-off
        self._quiet_until: dict[str, float] = {}

    # ---- the two entry points -----------------------------------------------------------

    def write(self, data: bytes, *, wait: bool = False) -> None:
        """Take ``data`` and pass on what can go now; with ``wait``, until all has gone.

        Raises OpenRefused or OSError when the data can go nowhere (it stays pending, within
        ``buffer_limit``); never blocks much longer than ``fallback_after``.
        """
        if data:
            self.pending += data
        self.pump(wait=wait or len(self.pending) > self.buffer_limit)

    def pump(self, *, wait: bool) -> None:
        if self.sock is not None and self._rotated:
            self._reconnect_rotated()
        # Twice: a connection found dead while sending is retried at once (a restarted
        # daemon is usually listening again), then back-off applies.
        for _ in range(2):
            if self.sock is None and self.clock() >= self._next_attempt:
                self._try_open(self.clock())
            if self.sock is None:
                break
            self._send(wait)
            if self.sock is not None or not self.pending:
                break
        if self.sock is None:
            self._without_daemon(self.clock())

    # ---- connecting ---------------------------------------------------------------------

    def open(self) -> None:
        """Connect and open the file now, raising what went wrong (for ProxyFile's constructor)."""
        self._open_connection()

    def _try_open(self, now: float) -> None:
        try:
            try:
                self._open_connection()
            except ValueError as exc:  # a path the protocol cannot carry
                raise OpenRefused(exc) from None
        except OpenRefused as exc:
            if self.last_error is None or str(self.last_error) != str(exc):
                self.say(f"the daemon at {self.socket_path} refused {self.name!r}: {exc}")
            self.last_error = exc
            self._went_down(now)
        except OSError as exc:
            self.last_error = exc
            self._went_down(now)
        else:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
                self._report(
                    "back", f"daemon at {self.socket_path} is back; {self.name!r} goes through it"
                )
            self._down_since = None
            if now >= self._failing_until:
                self._backoff = _BACKOFF_FIRST
            self.last_error = None

    def _report(self, kind: str, message: str) -> None:
        # Errors that can repeat (a full disk, a crashing daemon) are told once per interval.
        now = self.clock()
        if now >= self._quiet_until.get(kind, 0.0):
            self._quiet_until[kind] = now + _REPORT_INTERVAL
            self.say(message)

    def _went_down(self, now: float) -> None:
        if self._down_since is None:
            self._down_since = now
        self._next_attempt = now + self._backoff
        self._backoff = min(self._backoff * 2, _BACKOFF_MAX)

    def _open_connection(self) -> None:
        try:
            sock, replies, extra = connect(
                self.socket_path, self.path, self.timeout, acks=self._ask_acks
            )
        except OpenRefused:
            if not self._ask_acks:
                raise
            # Perhaps an offlog server, which cannot open the marked path: try plainly.
            sock, replies, extra = connect(self.socket_path, self.path, self.timeout)
            self._ask_acks = False
        self._inflight = Inflight(acks=self._ask_acks)
        self.sock = sock
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._replies = replies
        self._rotated = False
        for message in extra:
            self._message(message)

    # ---- sending ------------------------------------------------------------------------

    def _send(self, wait: bool) -> None:
        self._check_replies()
        deadline = self.clock() + self.fallback_after
        while self.sock is not None and self.pending:
            sock = self.sock
            before = len(self.pending)
            status = self._send_some(sock)
            if len(self.pending) < before:  # progress: a slow daemon is not a stalled one
                deadline = self.clock() + self.fallback_after
            if status is _LOST:
                self._lost()
                return
            if status is _DONE:
                return
            if not wait:
                return
            remaining = deadline - self.clock()
            if remaining <= 0:
                self._stalled()
                return
            readable, _, _ = select.select([sock], [sock], [], remaining)
            if readable:
                self._check_replies()

    def _send_some(self, sock: socket.socket) -> object:
        sent = 0
        status = _DONE
        with memoryview(self.pending) as view:
            total = len(view)
            while sent < total:
                try:
                    sent += sock.send(view[sent:], _SEND_FLAGS)
                except BlockingIOError:
                    status = _BLOCKED
                    break
                except OSError:
                    status = _LOST
                    break
        self._note_sent(sent)
        del self.pending[:sent]
        return status

    def _note_sent(self, sent: int) -> None:
        if sent:
            self._inflight.sent(self.pending, sent)

    def _stalled(self) -> None:
        # Connected, but the daemon took nothing for fallback_after seconds (stopped, hung
        # on a dead disk). Give up this connection: what we sent stays queued for the daemon,
        # which will still write it if it recovers; the rest goes to the fallback.
        self.say(f"daemon at {self.socket_path} took nothing for {self.fallback_after:g} s")
        self._drop_connection()
        now = self.clock()
        self._down_since = now - self.fallback_after
        self._next_attempt = now + _BACKOFF_MAX

    # ---- what the server says -----------------------------------------------------------

    def _check_replies(self) -> None:
        if self.sock is None or self._poll is None or not self._poll.poll(0):
            return
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lost()
            return
        for message in self._replies.feed(data):
            if self.sock is None:  # an earlier message ended the connection
                break
            self._message(message)

    def _message(self, message: bytes) -> None:
        if message == protocol.ROTATED[:-1]:
            self._rotated = True
        elif message in (protocol.OK[:-1], protocol.BYE[:-1]):
            pass
        elif not self._inflight.ack(message):
            self._lost(first=message)

    def _lost(self, first: bytes | None = None) -> None:
        """The connection ended (send failed, EOF, or the server's error): find out why."""
        messages = [first] if first is not None else []
        if self.sock is not None and first is None:
            # A stopping server answers once it has written what we sent; wait for that.
            deadline = self.clock() + self.timeout
            messages, _ = read_answers(self.sock, self._replies, deadline, self.clock)
        for message in messages:
            self._inflight.ack(message)
        inflight = self._inflight
        self._drop_connection()
        now = self.clock()
        self._went_down(now)
        errors = [m for m in messages if not protocol.is_informational(m)]
        unwritten = protocol.parse_shutdown(errors[0]) if errors else None
        # With acks: everything not acknowledged, whatever ended the connection. Without:
        # the unfinished line a stopping loglane server kept back.
        resend = inflight.to_resend(unwritten)
        self.pending[:0] = resend
        if unwritten is None:
            # A crash or a failing file: do not reconnect at once, and keep backing off
            # across reconnections (a full disk fails every new connection too).
            self._failing_until = now + _BACKOFF_MAX * 2
            if errors:
                text = errors[0].decode("utf-8", "backslashreplace")
                self._report(
                    "failed", f"the daemon at {self.socket_path} failed {self.name!r}: {text}"
                )
            else:
                consequence = (
                    f"resending the {len(resend)} bytes it had not confirmed"
                    if inflight.acks
                    else "what it had not read yet may be lost"
                )
                self._report(
                    "lost",
                    f"connection to the daemon at {self.socket_path} for {self.name!r} was "
                    f"lost without an answer; {consequence}",
                )
            return
        self._next_attempt = now  # a restarting daemon is usually back at once

    def forget(self) -> None:
        """Drop the connection and pending bytes without telling anyone (after fork)."""
        self._drop_connection()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        del self.pending[:]

    def _drop_connection(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self._poll = None
        self._inflight = Inflight()

    def _reconnect_rotated(self) -> None:
        # The file was renamed or deleted: finish this connection cleanly, then reopen the path.
        self._send(wait=True)
        if self.sock is not None and not self.pending:
            self._goodbye(self.clock() + self.timeout)
        self._rotated = False

    # ---- without the daemon -------------------------------------------------------------

    def _without_daemon(self, now: float) -> None:
        if not self.pending:
            return
        down_for = now - (self._down_since if self._down_since is not None else now)
        if self.fd is None and (
            down_for >= self.fallback_after or len(self.pending) > self.buffer_limit
        ):
            self._start_fallback(down_for)
        if self.fd is None:
            return
        try:
            append_all(self.fd, self.pending)
        except OSError:
            self._bound()
            raise

    def _start_fallback(self, down_for: float) -> None:
        try:
            self.fd = open_direct(self.path)
        except OSError:
            self._bound()
            raise
        reason = self.last_error or "unreachable"
        # Once per episode, and at most once per interval when the daemon flaps.
        self._report(
            "fallback",
            f"daemon at {self.socket_path} unavailable for {down_for:.1f} s ({reason}); "
            f"appending to {self.name!r} directly until it is back",
        )

    def _bound(self) -> None:
        """Give up the oldest whole lines beyond buffer_limit: nothing grows without bound."""
        cut = drop_oldest(self.pending, self.buffer_limit)
        if not cut:
            return
        self.dropped += cut
        self._report(
            "dropped",
            f"dropping the oldest lines for {self.name!r} ({self.dropped} bytes so far): "
            "neither the daemon nor the file takes them",
        )

    # ---- closing ------------------------------------------------------------------------

    def close(self, timeout: float | None = None) -> bool:
        """Send or write everything, wait for ``BYE``; True when all of it was confirmed."""
        deadline = self.clock() + (self.timeout if timeout is None else timeout)
        ok = False
        try:
            while self.pending and self.clock() < deadline:
                self.pump(wait=True)
                if self.pending and self.sock is None and self.fd is None:
                    # Exiting: do not wait for fallback_after; write the file ourselves.
                    self._start_fallback(0.0)
            if self.sock is not None:
                ok = self._goodbye(deadline) and not self.pending
            else:
                ok = not self.pending
        except OSError as exc:
            self.say(f"could not write {len(self.pending)} bytes to {self.name!r}: {exc}")
        finally:
            self._drop_connection()
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        return ok

    def _goodbye(self, deadline: float) -> bool:
        sock = self.sock
        assert sock is not None
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._lost()
            return False
        messages, ended = read_answers(sock, self._replies, deadline, self.clock)
        for message in messages:
            self._inflight.ack(message)
        if messages and messages[-1] == protocol.BYE[:-1]:
            self._drop_connection()
            return True
        if messages and not protocol.is_informational(messages[-1]):
            self._lost(first=messages[-1])
        elif ended:
            self._lost()
        return False

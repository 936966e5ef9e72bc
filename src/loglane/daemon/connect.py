"""Opening a connection to the daemon and confirming the file, for loglane's clients."""

from __future__ import annotations

import select
import socket
import sys
import time
from collections.abc import Callable

from loglane.daemon import protocol

#: a larger send buffer lets a burst go to the kernel without waiting for the daemon
_SNDBUF = 1 << 20


class OpenRefused(Exception):
    """The daemon answered the opening message with an error (permission, --root, ...)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error


def say_on_stderr(message: str) -> None:
    try:
        sys.stderr.write(f"loglane: {message}\n")
        sys.stderr.flush()
    except Exception:  # stderr closed: nothing else to tell
        pass


def _connect(sock: socket.socket, socket_path: str, timeout: float) -> None:
    # A Unix socket whose listen backlog is full refuses with EAGAIN instead of waiting
    # (a burst of clients starting at once): retry until the timeout, as TCP would wait.
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            sock.connect(socket_path)
            return
        except BlockingIOError:
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.05)


def connect(
    socket_path: str, path: bytes, timeout: float, *, acks: bool = False
) -> tuple[socket.socket, protocol.Replies, list[bytes]]:
    """Connect, send the path and wait for ``OK``; returns a non-blocking socket, the reply
    reader, and any messages that came after ``OK``.

    Raises OpenRefused for the daemon's error, OSError when there is no answering daemon
    (or it is stopping), ValueError for a path that cannot be sent.
    """
    message = protocol.open_message(path, acks=acks)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SNDBUF)
        _connect(sock, socket_path, timeout)
        sock.sendall(message)
        replies = protocol.Replies()
        messages: list[bytes] = []
        while not messages:
            data = sock.recv(4096)
            if not data:
                raise ConnectionResetError(f"daemon at {socket_path} closed the connection")
            messages = replies.feed(data)
        first = messages[0]
        if first != protocol.OK[:-1]:
            if protocol.parse_shutdown(first) is not None:
                raise ConnectionResetError(f"daemon at {socket_path} is stopping")
            raise OpenRefused(protocol.exception_for(first))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, replies, messages[1:]


def read_answers(
    sock: socket.socket,
    replies: protocol.Replies,
    deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[bytes], bool]:
    """Messages until one that ends the connection (BYE, an error), end of stream or the
    deadline; the flag says whether the stream ended."""
    messages: list[bytes] = []
    while not messages or protocol.is_informational(messages[-1]):
        remaining = deadline - clock()
        if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
            return messages, False
        try:
            data = sock.recv(4096)
        except OSError:
            data = b""
        if not data:
            return messages, True
        messages += replies.feed(data)
    return messages, False

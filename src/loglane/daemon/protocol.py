"""The append daemon's wire protocol (offlog's, plus loglane's additions), without any I/O.

Everything here takes bytes and returns bytes or plain values, so the server, the clients and
the tests share one definition of every message. docs/protocol.md describes the same thing
in prose.

A connection carries one file::

    client: <absolute path> NUL [data...]           -> server: "OK" NUL  or  "<Exc>: <msg>" NUL
    client: data... (appended verbatim)            <- server: "ROTATED" NUL (once, if renamed)
    client: shutdown(SHUT_WR)                       -> server: "BYE" NUL after writing everything

loglane's additions, all invisible to an offlog client: the server writes each client's data
up to its last newline only (so clients sharing a file never interleave inside a line), and
its shutdown message says how many bytes of an unfinished line it did *not* write, so a
loglane client can resend exactly those.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass

#: longest path accepted, as Linux's PATH_MAX (offlog asks pathconf; it is 4096 everywhere)
PATH_MAX = 4096
#: an unfinished line longer than this is written anyway: a server must not grow without
#: bound on a client that never sends a newline (such a line may then be split)
MAX_PARTIAL = 1 << 20

NUL = b"\0"
OK = b"OK\0"
BYE = b"BYE\0"
ROTATED = b"ROTATED\0"
ERR_NOT_ABSOLUTE = b"ValueError: not an absolute path\0"
ERR_PATH_TOO_LONG = b"ValueError: path longer than PATH_MAX\0"
ERR_NO_PATH = b"ValueError: connection closed before a complete path was sent\0"

_SHUTDOWN_PREFIX = "OSError: loglane server exited"
_SHUTDOWN_RE = re.compile(
    rb"^OSError: loglane server exited(?:; (\d+) bytes of an unfinished line not written)?$"
)


def error_message(exc: BaseException) -> bytes:
    """``PermissionError: [Errno 13] Permission denied: '/x'`` NUL, as offlog answers errors.

    The message must not contain NUL (it would end the message early), so NULs are replaced.
    """
    text = f"{type(exc).__name__}: {exc}".replace("\0", "\\0")
    return text.encode("utf-8", "backslashreplace") + NUL


def shutdown_message(unwritten: int) -> bytes:
    """What a client hears when the server stops, after everything else it sent was written.

    ``unwritten`` is the length of the trailing unfinished line the server kept back; an
    offlog client just raises ``OSError`` with this text.
    """
    if unwritten:
        return f"{_SHUTDOWN_PREFIX}; {unwritten} bytes of an unfinished line not written\0".encode()
    return f"{_SHUTDOWN_PREFIX}\0".encode()


def parse_shutdown(message: bytes) -> int | None:
    """The unwritten byte count of a shutdown message (without NUL); None if it is not one."""
    m = _SHUTDOWN_RE.match(message)
    if m is None:
        return None
    return int(m.group(1)) if m.group(1) else 0


# ---- server side: the opening message ---------------------------------------------------------


#: loglane's opt-in for acknowledgements: a path prefix no real file can have (an offlog
#: server answers FileNotFoundError, and a loglane client then opens without acks)
ACK_MARKER = b"/\x01loglane-ack\x01"


@dataclass(frozen=True, slots=True)
class Opened:
    """A complete, absolute path arrived; ``rest`` is data that followed it in the same read.

    ``acks``: the client asked (with ACK_MARKER) to be told how much of its data is written.
    """

    path: bytes
    rest: bytes
    acks: bool = False


@dataclass(frozen=True, slots=True)
class Refused:
    """The opening message is invalid; answer ``reply`` and close."""

    reply: bytes


def parse_open(buffer: bytes) -> Opened | Refused | None:
    """Parse what a client sent before its path was complete; None means: wait for more."""
    end = buffer.find(NUL, 0, PATH_MAX + 1)
    if end < 0:
        return Refused(ERR_PATH_TOO_LONG) if len(buffer) > PATH_MAX else None
    path = buffer[:end]
    acks = path.startswith(ACK_MARKER)
    if acks:
        path = path[len(ACK_MARKER) :]
    if not path.startswith(b"/"):
        return Refused(ERR_NOT_ABSOLUTE)
    return Opened(path, buffer[end + 1 :], acks)


def ack_message(written: int) -> bytes:
    """``ACK <n>`` NUL: the first n bytes this client sent after its path are in the file."""
    return b"ACK %d\0" % written


def parse_ack(message: bytes) -> int | None:
    """The byte count of an ``ACK`` message (without NUL), or None if it is not one."""
    if message.startswith(b"ACK ") and message[4:].isdigit():
        return int(message[4:])
    return None


# ---- server side: cutting data at line ends ---------------------------------------------------


def take_lines(partial: bytes, data: bytes) -> tuple[bytes, bytes]:
    """Split ``partial + data`` into (whole lines to write now, unfinished rest to keep).

    Costs one ``rfind`` per read, and no copy when a read ends with a newline (the usual case
    for a logger). An unfinished rest longer than MAX_PARTIAL is released as it is.
    """
    cut = data.rfind(b"\n")
    if cut < 0:
        rest = partial + data
        if len(rest) > MAX_PARTIAL:
            return rest, b""
        return b"", rest
    if cut == len(data) - 1:
        return (partial + data if partial else data), b""
    head = data[: cut + 1]
    return (partial + head if partial else head), data[cut + 1 :]


# ---- client side: reading the server's messages -----------------------------------------------


class Replies:
    """Collects received bytes and yields the NUL-terminated messages in them."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf + data
        *messages, self._buf = buf.split(NUL)
        return messages

    @property
    def pending(self) -> bytes:
        """Bytes of a message not yet terminated (a server that died mid-message)."""
        return self._buf


def is_informational(message: bytes) -> bool:
    """OK, ROTATED and ACK leave the connection open; BYE and errors end it."""
    return message in (OK[:-1], ROTATED[:-1]) or message.startswith(b"ACK ")


def exception_for(message: bytes) -> Exception:
    """Turn an error message (without NUL) into the exception it names, as offlog does.

    Only builtin exception classes are used; anything else becomes an OSError with the text.
    """
    text = message.decode("utf-8", "backslashreplace")
    name, sep, detail = text.partition(": ")
    cls = getattr(builtins, name, None) if sep else None
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(detail)
        except Exception:  # a builtin whose constructor wants other arguments
            pass
    return OSError(text)


def open_message(path: bytes, *, acks: bool = False) -> bytes:
    """The opening message for an absolute path; ValueError for a path that cannot be sent."""
    if b"\0" in path:
        raise ValueError("embedded null byte in path")
    if not path.startswith(b"/"):
        raise ValueError(f"not an absolute path: {path!r}")
    if len(path) + len(ACK_MARKER) > PATH_MAX:
        raise ValueError("path longer than PATH_MAX")
    return (ACK_MARKER + path if acks else path) + NUL

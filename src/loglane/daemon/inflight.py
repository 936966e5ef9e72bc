"""What a client has sent on one connection and may have to send again: no I/O here.

Two ways to know what a server wrote, depending on the server:

* with acknowledgements (loglane's server, asked with ``protocol.ACK_MARKER``): every sent
  byte is kept until an ``ACK n`` covers it; after any end of the connection, the bytes not
  covered are to be sent again;
* without (offlog's server): only the bytes after the last newline are kept, because a
  stopping loglane server may keep back an unfinished line and say how many of its bytes.
"""

from __future__ import annotations

from loglane.daemon import protocol


class Inflight:
    """Sent bytes of one connection that the server has not confirmed writing."""

    __slots__ = ("_acked", "_tail", "_unacked", "acks")

    def __init__(self, acks: bool = False) -> None:
        self.acks = acks
        self._unacked = bytearray()  # with acks: sent, not yet acknowledged
        self._acked = 0  # with acks: bytes acknowledged on this connection
        self._tail = b""  # without acks: bytes sent after the last newline

    def sent(self, buffer: bytearray, size: int) -> None:
        """The first ``size`` bytes of ``buffer`` were just sent."""
        if self.acks:
            with memoryview(buffer) as view, view[:size] as head:
                self._unacked += head
            return
        cut = buffer.rfind(b"\n", 0, size)
        if cut >= 0:
            self._tail = bytes(buffer[cut + 1 : size])
        else:
            # A server writes an unfinished line beyond MAX_PARTIAL anyway: keep no more.
            self._tail = (self._tail + bytes(buffer[:size]))[-protocol.MAX_PARTIAL :]

    def ack(self, message: bytes) -> bool:
        """Apply an ``ACK n`` message (without NUL); False if it is not one."""
        written = protocol.parse_ack(message)
        if written is None:
            return False
        del self._unacked[: written - self._acked]
        self._acked = written
        return True

    @property
    def unconfirmed(self) -> int:
        return len(self._unacked) if self.acks else len(self._tail)

    def to_resend(self, unwritten: int | None) -> bytes:
        """What to send again once the connection ended.

        ``unwritten`` is the count from a loglane server's shutdown message, or None (no such
        message: a crash, a write error). With acks the acknowledgements alone decide.
        """
        if self.acks:
            return bytes(self._unacked)
        if unwritten:
            return self._tail[-unwritten:]
        return b""

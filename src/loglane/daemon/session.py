"""One client connection on the server: the asyncio protocol that speaks the wire protocol.

Reads are cut at the last newline (``protocol.take_lines``) and queued on the client's file;
the server writes every file's queue once per event-loop iteration, so a burst of reads from
many clients costs one ``write`` per file. ``OK`` is sent as soon as the file is open, before
any data is written, so a client that saw no ``OK`` knows nothing of its data was written.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import TYPE_CHECKING

from loglane.daemon import protocol
from loglane.daemon.files import OpenFile

if TYPE_CHECKING:
    from loglane.daemon.server import Server

log = logging.getLogger("loglane.serve")
#: bytes of unread answers to a client beyond which intermediate ACKs are skipped
_ACK_BACKLOG = 4096


class Session(asyncio.Protocol):
    """The server side of one connection (one client, one file)."""

    _next_id = 0

    def __init__(self, server: Server) -> None:
        Session._next_id += 1
        self.id = Session._next_id
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.file: OpenFile | None = None
        self.opening = b""  # bytes of the path received so far
        self.partial = b""  # an unfinished line, kept until its newline or the client's close
        self.closed = False
        self.draining = False  # the server is stopping; our read side is shut
        self.acks = False  # the client asked for ACK messages (loglane's extension)
        self.written = 0  # bytes of this client's data written so far
        self.ack_owed = False  # an ACK was skipped; the final count must still be sent
        self.name = ""

    # ---- asyncio callbacks --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.sessions.add(self)
        if self.server.stopping:
            self.begin_drain()

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        if self.file is None:
            self._opening(data)
            return
        lines, self.partial = protocol.take_lines(self.partial, data)
        if lines:
            self.server.queue(self.file, self, lines)

    def eof_received(self) -> bool:
        if self.closed:
            return False
        if self.file is None:
            # A client that gave up before finishing its path; nothing to write.
            reply = protocol.shutdown_message(0) if self.draining else protocol.ERR_NO_PATH
            if self.opening or self.draining:
                self._send(reply)
            self._finish()
            return False
        if self.draining:
            # Keep an unfinished line back: the client will resend it whole to the next server.
            unwritten = len(self.partial)
            self.partial = b""
            self.server.write_now()
            if self.ack_owed:
                self._ack()
            self._send(protocol.shutdown_message(unwritten))
        else:
            if self.partial:
                self.server.queue(self.file, self, self.partial)
                self.partial = b""
            self.server.write_now()
            if not self.closed:  # a write error already answered and closed
                self._send(protocol.BYE)
        self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        # A client that vanished (reset, or closed without half-closing first): its data still
        # counts, including an unfinished last line.
        if self.file is not None and not self.closed and self.partial:
            self.server.queue(self.file, self, self.partial)
            self.partial = b""
        self._finish()

    # ---- called by the server -----------------------------------------------------------

    def wrote(self, size: int) -> None:
        self.written += size
        if self.acks:
            # ACKs are cumulative: while a client does not read them, skip all but the last
            # rather than let them pile up in our memory.
            if self.transport is not None and self.transport.get_write_buffer_size() > _ACK_BACKLOG:
                self.ack_owed = True
            else:
                self._ack()

    def _ack(self) -> None:
        self.ack_owed = False
        self._send(protocol.ack_message(self.written))

    def write_failed(self, exc: OSError) -> None:
        """Our data could not be written: tell this client why and hang up (others go on)."""
        if self.closed:
            return
        log.warning("client %d: write to %s failed: %s", self.id, self.name, exc)
        if self.ack_owed:
            self._ack()
        self._send(protocol.error_message(exc))
        self._finish()

    def rotated(self) -> None:
        if not self.closed:
            log.info("client %d: %s was renamed or deleted; told the client", self.id, self.name)
            self._send(protocol.ROTATED)

    def begin_drain(self) -> None:
        """Stop taking new data: the kernel refuses the client's further sends (EPIPE) and
        we read what it already sent, then answer with the shutdown message at EOF."""
        self.draining = True
        if self.transport is None or self.closed:
            return
        sock = self.transport.get_extra_info("socket")
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    # ---- internals ----------------------------------------------------------------------

    def _opening(self, data: bytes) -> None:
        self.opening += data
        parsed = protocol.parse_open(self.opening)
        if parsed is None:
            return
        self.opening = b""
        if isinstance(parsed, protocol.Refused):
            log.warning("client %d: %s", self.id, parsed.reply[:-1].decode())
            self._send(parsed.reply)
            self._finish()
            return
        self.name = os.fsdecode(parsed.path)
        try:
            self.file = self.server.files.acquire(parsed.path)
        except (OSError, ValueError) as exc:
            log.warning("client %d: cannot open %r: %s", self.id, self.name, exc)
            self._send(protocol.error_message(exc))
            self._finish()
            return
        log.debug("client %d: opened %r%s", self.id, self.name, " (acks)" if parsed.acks else "")
        self.acks = parsed.acks
        self._send(protocol.OK)
        if parsed.rest:
            self.data_received(parsed.rest)

    def _send(self, message: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.transport.write(message)
            except (OSError, RuntimeError):  # the client is already gone
                pass

    def _finish(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.file is not None:
            self.server.release(self.file)
        if self.transport is not None:
            self.transport.close()
        self.server.sessions.discard(self)
        self.server.session_closed()

"""Publish batches to RabbitMQ with publisher confirms, many in flight, reconnecting forever.

One asyncio task pulls batches from the ``Outbox`` and starts one publish per batch, keeping
up to ``window`` unconfirmed at once (a confirm costs a round trip; a window hides it). A batch
counts as delivered only when the broker acks it; then ``on_confirm`` runs (the tailer moves its
checkpoint). When the connection dies, every batch still in flight goes back to the outbox and
is published again after reconnecting: at least once, and a re-sent batch has the same id.

No timeout on a confirm by default: a broker under a memory or disk alarm blocks publishers
(aiormq then holds every frame until Connection.Unblocked), and waiting is the right answer;
giving up and re-publishing would only repeat the same messages. A dead TCP peer is found by
AMQP heartbeats instead, which close the connection and send the window back to the outbox.

The broker away is not an error to the caller: we say so once on stderr, retry with back-off
(0.1 s doubling to 5 s) and say so once again when it is back. Only on the *first* connection
are refused credentials, an unknown vhost or a queue declared with other arguments fatal, since
those are configuration mistakes that waiting will not fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import aio_pika
import aiormq.exceptions
from aio_pika.connection import make_url

from loglane import wire
from loglane.ship.batch import Batch
from loglane.ship.outbox import Outbox
from loglane.ship.url import check_url, redact

DEFAULT_WINDOW = 64
_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 5.0


class BrokerRefused(Exception):
    """A configuration mistake the broker told us about: credentials, vhost, queue arguments."""


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiormq.exceptions.AMQPConnectionError) and exc.args:
        first = exc.args[0]
        if len(exc.args) == 2 and isinstance(first, int):
            text = str(exc.args[1])  # (errno, "Connect call failed ...")
        elif isinstance(first, str):
            text = first
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _is_refusal(exc: BaseException) -> bool:
    errors = aiormq.exceptions
    return isinstance(
        exc,
        errors.AuthenticationError
        | errors.ProbableAuthenticationError
        | errors.ChannelPreconditionFailed  # the queue exists with other arguments
        # an unknown vhost closes the connection during the handshake (NOT_ALLOWED)
        | errors.InvalidFrameError
        | errors.ConnectionNotAllowed,
    )


class _QuietTransportErrors(logging.Filter):
    """aiormq logs every failed connect attempt; we report the outage once ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        noisy = ("error when creating transport", "Unexpected connection close")
        return not record.getMessage().startswith(noisy)


_QUIET = _QuietTransportErrors()
for _name in ("aiormq.connection", "aio_pika.connection"):
    logging.getLogger(_name).addFilter(_QUIET)


class Publisher:
    def __init__(
        self,
        url: str,
        queue: str,
        outbox: Outbox,
        *,
        window: int = DEFAULT_WINDOW,
        on_confirm: Callable[[Batch], None] | None = None,
        report: Callable[[str], None] = print,
        name: str = "loglane ship",
        spool_hint: str = "",
        confirm_timeout: float | None = None,
    ) -> None:
        check_url(url)
        self.url = url
        self.queue = queue
        self.outbox = outbox
        self.window = window
        self.on_confirm = on_confirm
        self.report = report
        self.name = name
        self.spool_hint = spool_hint
        self.confirm_timeout = confirm_timeout
        self.confirmed_batches = 0
        self.confirmed_lines = 0
        self.outages = 0
        self._stop_at: float | None = None  # monotonic deadline once a stop is asked
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._ever_connected = False
        self._down_since: float | None = None

    # -- control, from the loop's thread (``wake`` from any thread) ----------------------------

    def wake(self) -> None:
        loop, event = self._loop, self._wake
        if loop is None or event is None:
            return
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:
            pass  # the loop is closed: nothing left to wake

    def stop(self, timeout: float) -> None:
        """Publish what is queued and wait for confirms, for at most ``timeout`` seconds."""
        self._stop_at = time.monotonic() + timeout
        if self._wake is not None:
            self._wake.set()

    @property
    def down(self) -> bool:
        """The last connection attempt failed (False while the first one is under way)."""
        return self._down_since is not None

    @property
    def idle(self) -> bool:
        return not self._inflight and self.outbox.pending() == 0

    def _stop_due(self) -> bool:
        if self._stop_at is None:
            return False
        # Once stopping, a broker known to be away ends the wait: what is unconfirmed stays
        # in the spool (or the files) for the next run, so there is nothing to wait for.
        return self.idle or self.down or time.monotonic() >= self._stop_at

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until ``stop()`` and then everything is confirmed (or its deadline passes).

        Raises ``BrokerRefused`` when the very first connection is refused.
        """
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.outbox.wake = self.wake
        backoff = _BACKOFF_FIRST
        while not self._stop_due():
            # aio_pika.connect() would leave a half-made connection unclosed when the
            # handshake fails (a broker still starting): close it here, on its own loop.
            connection = aio_pika.Connection(make_url(self.url))
            try:
                await connection.connect(timeout=5.0)
            except asyncio.CancelledError:
                await self._close(connection)
                raise
            except Exception as exc:
                await self._close(connection)
                if _is_refusal(exc) and not self._ever_connected:
                    raise BrokerRefused(self._refusal(exc)) from exc
                self._went_down(exc)
                await self._sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX)
                continue
            try:
                await self._pump(connection)
                backoff = _BACKOFF_FIRST
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if _is_refusal(exc) and not self._ever_connected:
                    raise BrokerRefused(self._refusal(exc)) from exc
                await self._close(connection)
                await self._abandon_inflight()  # their batches go back before we spool
                self._went_down(exc)
            finally:
                await self._close(connection)
                await self._abandon_inflight()

    @staticmethod
    async def _close(connection: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 2.0)

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def _refusal(self, exc: BaseException) -> str:
        if isinstance(exc, aiormq.exceptions.InvalidFrameError) and "Close" in str(exc):
            # RabbitMQ answers Connection.Open for a vhost it lacks (or we may not use) with
            # Connection.Close, which aiormq reports as an unexpected frame
            vhost = unquote(urlsplit(self.url).path[1:]) or "/"
            return f"NOT_ALLOWED - no access to vhost {vhost!r} (does it exist?)"
        return _describe(exc)

    def _went_down(self, exc: BaseException) -> None:
        self.outbox.disconnected()  # what waits in memory goes to disk, where it outlives us
        if self._down_since is None:
            self._down_since = time.monotonic()
            self.outages += 1
            where = f"; spooling to {self.spool_hint}" if self.spool_hint else ""
            self.report(
                f"{self.name}: broker unreachable at {redact(self.url)} ({_describe(exc)})"
                f"{where}; retrying"
            )

    def _came_up(self) -> None:
        self._ever_connected = True
        self.outbox.away = False
        if self._down_since is not None:
            away = time.monotonic() - self._down_since
            self._down_since = None
            self.report(
                f"{self.name}: broker back at {redact(self.url)} after {away:.1f}s; "
                f"sending {self.outbox.pending()} queued batches"
            )

    async def _pump(self, connection: Any) -> None:
        lost = asyncio.Event()
        connection.close_callbacks.add(lambda *_: lost.set())
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        channel.close_callbacks.add(lambda *_: lost.set())
        await channel.declare_queue(self.queue, durable=True, arguments=dict(wire.QUEUE_ARGUMENTS))
        exchange = channel.default_exchange
        self._came_up()
        assert self._wake is not None
        wake = self._wake
        while not lost.is_set():
            if self._stop_due():
                return
            if len(self._inflight) >= self.window:
                await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                continue
            batch = self.outbox.take()
            if batch is None:
                wake.clear()
                if self.outbox.pending():
                    continue
                waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(lost.wait())]
                await asyncio.wait(waiters, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
                continue
            task = asyncio.create_task(self._publish(exchange, batch, lost))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        raise ConnectionError("connection lost")

    async def _publish(self, exchange: Any, batch: Batch, lost: asyncio.Event) -> None:
        message = aio_pika.Message(
            batch.body,
            message_id=batch.message_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers=batch.headers(),
            content_type="text/plain",
            content_encoding="utf-8",
        )
        try:
            await exchange.publish(message, routing_key=self.queue, timeout=self.confirm_timeout)
        except asyncio.CancelledError:
            self.outbox.retry(batch)
            raise
        except Exception:
            # nack, return, timeout or a dead connection: all mean "not known delivered";
            # reconnecting re-declares the queue, which also cures a deleted one.
            self.outbox.retry(batch)
            lost.set()
            return
        self.outbox.done(batch)
        self.confirmed_batches += 1
        self.confirmed_lines += batch.lines
        if self.on_confirm is not None:
            self.on_confirm(batch)

    async def _abandon_inflight(self) -> None:
        """After a connection died: give every unconfirmed publish back to the outbox."""
        if not self._inflight:
            return
        pending = list(self._inflight)
        _, still = await asyncio.wait(pending, timeout=2.0)
        for task in still:
            task.cancel()  # _publish puts its batch back on cancellation
        if still:
            await asyncio.wait(still)

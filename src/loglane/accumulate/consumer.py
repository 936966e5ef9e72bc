"""One of N competing consumers on a RabbitMQ queue, writing to a shared store.

Per batch of deliveries: parse each, commit all their contributions and ids in one store
transaction, then ack the batch with one ``multiple=True`` ack. A crash before the ack means
the broker redelivers and the store's id check drops what was already committed, so the
effect is exactly once. A malformed message, and a message the store refuses (found by
committing the batch again without it), is published to the dead-letter queue with the reason
(with a publisher confirm) before the ack that covers it, so it is neither lost nor blocking,
and the store counts it (``acc_dead``).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from loglane.accumulate.limits import clean
from loglane.accumulate.messages import Malformed, dead_key, from_message
from loglane.accumulate.store import Contribution, DeadLetter, Store
from loglane.wire import HEADER_REASON, QUEUE_ARGUMENTS, dead_letter_queue


class AmqpSetupError(Exception):
    """The broker cannot be used at start-up (bad URL, refused, wrong credentials, ...)."""


@dataclass
class ConsumerOptions:
    url: str
    queue: str
    prefetch: int = 1000
    batch: int = 250  # messages per store transaction (and per ack)
    batch_bytes: int = 64 << 20  # ... or fewer, once their bodies add up to this
    max_delay: float = 0.2  # seconds a message may wait in an open batch
    exit_when_idle: float | None = None  # exit once the queue gave nothing for this long


@dataclass
class ConsumerStats:
    messages: int = 0
    new: int = 0  # not seen before (the rest were redeliveries)
    lines: int = 0
    dead: int = 0  # dead-lettered, of every kind
    dead_kinds: Counter[str] = field(default_factory=Counter)  # malformed, refused, unparsable
    batches: int = 0
    reconnects: int = 0
    reasons: list[str] = field(default_factory=list)  # the first 20


@dataclass
class _Pending:
    """A delivery in the open batch: its contribution, and what a dead letter would need."""

    item: Contribution
    props: Any
    body: bytes


def check_url(url: str) -> Any:
    """pika's parameters for ``url``, or AmqpSetupError with a one-line reason."""
    import pika

    shown = redact(url)
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("amqp", "amqps") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise AmqpSetupError(f"bad AMQP URL {shown!r}: expected amqp://user:pass@host:port/vhost")
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise AmqpSetupError(f"bad AMQP URL {shown!r}: {exc}") from None
    params.connection_attempts = 1
    params.socket_timeout = 5
    params.blocked_connection_timeout = 300
    return params


def redact(url: str) -> str:
    """``url`` without its password, for messages that end up in logs."""
    return re.sub(r"(://[^:@/]*:)[^@/]*@", r"\1***@", url)


def connect(params: Any) -> Any:
    """A BlockingConnection, or AmqpSetupError saying why not, on one line."""
    import pika
    import pika.exceptions as pe

    where = f"{params.host}:{params.port}"
    try:
        return pika.BlockingConnection(params)
    except (pe.ProbableAuthenticationError, pe.AuthenticationError):
        raise AmqpSetupError(
            f"RabbitMQ at {where} refused the credentials of user {params.credentials.username!r}"
        ) from None
    except pe.ProbableAccessDeniedError:
        raise AmqpSetupError(
            f"RabbitMQ at {where} denied access to virtual host {params.virtual_host!r}"
        ) from None
    except pe.AMQPConnectionError as exc:
        reason = _reason(exc)
        if "ACCESS_REFUSED" in reason:
            raise AmqpSetupError(f"RabbitMQ at {where} refused the credentials: {reason}") from None
        raise AmqpSetupError(f"cannot connect to RabbitMQ at {where}: {reason}") from None


def _reason(exc: BaseException) -> str:
    inner: BaseException = exc
    while inner.args and isinstance(inner.args[0], BaseException):
        inner = inner.args[0]
    text = str(inner).strip() or type(inner).__name__
    if text.startswith("(") and "," in text:  # pika's (code, 'TEXT') tuples
        text = text.strip("()").split(",", 1)[1].strip(" '\"")
    return text.splitlines()[0]


def declare(channel: Any, queue: str) -> None:
    """Declare the queue and its dead-letter queue exactly as the wire contract says."""
    for name in (queue, dead_letter_queue(queue)):
        channel.queue_declare(queue=name, durable=True, arguments=dict(QUEUE_ARGUMENTS))


class Consumer:
    def __init__(
        self,
        options: ConsumerOptions,
        store: Store,
        *,
        err: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.opts = options
        self.store = store
        self.err = err or sys.stderr
        self.clock = clock
        self.stats = ConsumerStats()
        self._stopping = False
        self._declared = False  # the queue was declared once: later refusals are transient
        self._letters: list[DeadLetter] = []  # dead-lettered in the open batch
        self._params = check_url(options.url)
        # shown by `rabbitmqctl list_connections client_properties` and the management UI
        self._params.client_properties = {
            "connection_name": f"loglane accumulate {options.queue} pid {os.getpid()}"
        }

    def stop(self) -> None:
        """Ask to finish the current batch, commit, ack and return. Signal-handler safe."""
        self._stopping = True

    def run(self) -> None:
        """Consume until stopped or idle. The first connection's failure raises
        AmqpSetupError; later losses of the broker reconnect with back-off."""
        import pika.exceptions as pe

        conn = connect(self._params)
        while True:
            why = "the broker cancelled the consumer"
            try:
                if self._consume(conn):
                    return
            except pe.AMQPError as exc:  # connection or channel lost, a dead letter nacked...
                refused = isinstance(exc, pe.ChannelClosedByBroker) and exc.reply_code in (
                    403,
                    404,
                    406,
                )
                # only at start-up: after a broker restart a quorum queue may briefly answer
                # 404 (no leader yet), which must not end a consumer that was working
                if refused and not self._declared:
                    raise AmqpSetupError(f"RabbitMQ refused the queue: {_reason(exc)}") from None
                why = _reason(exc)
            if self.stats.reconnects == 0:  # once: a flapping broker must not flood stderr
                print(f"loglane accumulate: lost RabbitMQ ({why}); reconnecting", file=self.err)
            self.stats.reconnects += 1
            backoff = 0.5
            _close_quietly(conn)
            conn = None
            lost = time.monotonic()
            while conn is None and not self._stopping:
                try:
                    conn = connect(self._params)
                except AmqpSetupError:
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
            if conn is None:
                return
            if self.stats.reconnects == 1:
                took = time.monotonic() - lost
                print(f"loglane accumulate: RabbitMQ is back after {took:.1f} s", file=self.err)

    def _consume(self, conn: Any) -> bool:
        """Consume on ``conn``; True when finished (stopped or idle)."""
        channel = conn.channel()
        declare(channel, self.opts.queue)
        self._declared = True
        channel.basic_qos(prefetch_count=self.opts.prefetch)
        dead = conn.channel()
        dead.confirm_delivery()
        self._letters = []  # a batch cut short by a lost connection comes back whole
        batch: list[_Pending] = []
        size = 0  # body bytes in the open batch
        last_tag = 0  # highest delivery tag received and not yet acked
        opened = 0.0  # when the open batch got its first message
        idle_since = self.clock()
        poll = min(0.1, self.opts.max_delay)
        for method, props, body in channel.consume(self.opts.queue, inactivity_timeout=poll):
            now = self.clock()
            if method is not None:
                idle_since = now
                if not last_tag:
                    opened = now
                last_tag = method.delivery_tag
                self.stats.messages += 1
                self._take(dead, props, body, batch)
                size += len(body)
            # whole-file messages can be large: bytes close a batch too, so memory stays bounded
            full = len(batch) >= self.opts.batch or size >= self.opts.batch_bytes
            late = last_tag and now - opened >= self.opts.max_delay
            if last_tag and (full or late or method is None or self._stopping):
                self._flush(channel, dead, batch, last_tag)
                batch, last_tag, size = [], 0, 0
            idle = self.opts.exit_when_idle
            if self._stopping or (idle is not None and now - idle_since >= idle and not last_tag):
                channel.cancel()  # prefetched, unacked messages go back to the queue
                _close_quietly(conn)
                return True
        return False  # the generator ends when the broker cancels us: reconnect

    def _take(self, dead: Any, props: Any, body: bytes, batch: list[_Pending]) -> None:
        try:
            ts = float(props.timestamp) if props.timestamp else None
            item = from_message(body, props.headers, props.message_id, ts)
        except Malformed as exc:
            self._dead_letter(dead, props, body, str(exc), "malformed")
            return
        except Exception as exc:  # a parser bug must not turn one message into a crash loop
            why = f"cannot parse: {type(exc).__name__}: {exc}"
            self._dead_letter(dead, props, body, why, "unparsable")
            return
        self.stats.lines += item.parsed.lines
        batch.append(_Pending(item, props, body))

    def _dead_letter(self, dead: Any, props: Any, body: bytes, reason: str, kind: str) -> None:
        import pika

        reason = clean(reason)[:1000].replace("\n", " ")  # a header and a store row: one line
        headers = dict(props.headers or {})
        headers[HEADER_REASON] = reason
        out = pika.BasicProperties(
            headers=headers,
            message_id=props.message_id,
            timestamp=props.timestamp,
            content_type=props.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
        )
        # confirmed before the ack that covers the original: the message always exists
        # somewhere (raises on a nack, so the original stays unacked and comes back)
        dead.basic_publish("", dead_letter_queue(self.opts.queue), body, out, mandatory=True)
        self._letters.append(DeadLetter(dead_key(props.message_id, body), kind, reason))
        self.stats.dead += 1
        self.stats.dead_kinds[kind] += 1
        if len(self.stats.reasons) < 20:
            self.stats.reasons.append(reason)

    def _flush(self, channel: Any, dead: Any, batch: list[_Pending], last_tag: int) -> None:
        """Commit, dead-letter what the store refused, count the dead letters, then ack."""
        if batch:
            new, refused = self.store.add_isolating([p.item for p in batch])
            self.stats.new += new
            if refused:
                by_item = {id(p.item): p for p in batch}
                for item, why in refused:
                    p = by_item[id(item)]
                    self._dead_letter(dead, p.props, p.body, why, "refused")
        self.store.add_dead(self._letters)
        self._letters = []
        channel.basic_ack(delivery_tag=last_tag, multiple=True)
        self.stats.batches += 1


def _close_quietly(conn: Any) -> None:
    try:
        if conn is not None and conn.is_open:
            conn.close()
    except Exception:
        pass  # it is already gone; nothing was left unacked that the broker will not redeliver

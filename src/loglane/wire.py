"""What travels over RabbitMQ between ``loglane ship`` / ``AmqpSink`` and ``loglane accumulate``.

Both sides import these names, so the queue arguments and headers cannot drift apart.

A message's body is UTF-8 text: whole lines, each ending in ``\\n`` (kind ``lines``), or a
whole file (kind ``file``). Its ``message_id`` is stable for the same bytes of the same source,
so a redelivered or re-sent message is recognised and counted once.
"""

from __future__ import annotations

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
DEFAULT_QUEUE = "loglane.logs"
#: durable quorum queues: they survive a broker restart and replicate where there is a cluster
QUEUE_ARGUMENTS: dict[str, object] = {"x-queue-type": "quorum"}

HEADER_SOURCE = "x-loglane-source"  # the source's name: a file path, or host:pid:logger
HEADER_OFFSET = "x-loglane-offset"  # byte offset of the body's first byte in the source
HEADER_KIND = "x-loglane-kind"  # "lines" or "file"
HEADER_HOST = "x-loglane-host"  # the producing host's name
HEADER_REASON = "x-loglane-reason"  # on dead-lettered messages: why it was rejected

KIND_LINES = "lines"
KIND_FILE = "file"


def dead_letter_queue(queue: str) -> str:
    """The queue where consumers put messages they cannot parse, with the reason."""
    return f"{queue}.dead"


def message_id(source_id: str, offset: int) -> str:
    """Stable id of the message starting at ``offset`` of ``source_id``.

    ``source_id`` identifies the bytes, not just the name: for a file it includes the device
    and inode, so a rotated file that reuses the name does not collide with its predecessor.
    """
    return f"{source_id}@{offset}"

"""From a message (or a file) to a :class:`Contribution`, or the reason it is malformed.

No I/O here: the consumer hands in what the broker gave it, the file reader what it read.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

from loglane.accumulate.parsers import parse_text
from loglane.accumulate.store import Contribution
from loglane.wire import (
    HEADER_HOST,
    HEADER_KIND,
    HEADER_OFFSET,
    HEADER_SOURCE,
    KIND_FILE,
    KIND_LINES,
)


class Malformed(Exception):
    """The message breaks the wire contract; ``str(exc)`` is the dead-letter reason."""


def from_message(
    body: bytes,
    headers: Mapping[str, Any] | None,
    message_id: str | None,
    timestamp: float | None = None,
) -> Contribution:
    """Validate and parse one AMQP message; raises :class:`Malformed` with the reason."""
    if not message_id:
        raise Malformed("no message_id: a redelivery could not be recognised")
    headers = headers or {}
    source = _text(headers.get(HEADER_SOURCE))
    if not source:
        raise Malformed(f"missing header {HEADER_SOURCE}")
    kind = _text(headers.get(HEADER_KIND))
    if kind not in (KIND_LINES, KIND_FILE):
        raise Malformed(f"header {HEADER_KIND} is {kind!r}, not {KIND_LINES!r} or {KIND_FILE!r}")
    raw_offset = headers.get(HEADER_OFFSET, 0 if kind == KIND_FILE else None)
    if raw_offset is None:
        raise Malformed(f"missing header {HEADER_OFFSET}")
    try:
        offset = int(_text(raw_offset) if isinstance(raw_offset, bytes) else raw_offset)
    except (TypeError, ValueError):
        raise Malformed(f"header {HEADER_OFFSET} is not an integer: {raw_offset!r}") from None
    if offset < 0:
        raise Malformed(f"header {HEADER_OFFSET} is negative: {offset}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed(f"body is not UTF-8 (byte {exc.start})") from None
    # the id is "<source bytes' identity>@<offset>" (wire.message_id); that identity keeps a
    # rotated file that reuses the name apart from its predecessor when ordering events
    suffix = f"@{offset}"
    key = message_id[: -len(suffix)] if message_id.endswith(suffix) else source
    whole = kind == KIND_FILE
    parsed = parse_text(text, whole=whole, source=source, base_offset=offset)
    seen = timestamp if timestamp and timestamp > 0 else time.time()
    # CI machines often write the same paths: per-source counts keep hosts apart
    host = _text(headers.get(HEADER_HOST))
    shown = f"{host}:{source}" if host and not source.startswith(f"{host}:") else source
    return Contribution(message_id, shown, key, float(seen), parsed, label=source)


def from_file(path: str, data: bytes, mtime: float) -> Contribution:
    """A whole file read from disk. Its id is its path and content hash: accumulating the same
    unchanged file twice counts it once; a rewritten file counts as a new run."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    text = data.decode("utf-8", "replace")  # a stray bad byte in a file is no reason to skip it
    parsed = parse_text(text, whole=True, source=path)
    return Contribution(f"file:{path}:{digest}", path, path, mtime, parsed)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ("" if value is None else str(value))

"""From a message (or a file) to a :class:`Contribution`, or the reason it is malformed.

No I/O here: the consumer hands in what the broker gave it, the file reader what it read.
Everything that leaves this module is inside both stores' limits (:mod:`.limits`): a header
value the stores cannot hold makes the message :class:`Malformed` (dead-lettered with the
reason), and a test name in the body that holds a NUL is stored with U+FFFD in its place and
counted as an anomaly of its source — the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from collections.abc import Mapping
from typing import Any

from loglane.accumulate.limits import (
    INT64_MAX,
    MAX_MESSAGE_ID_BYTES,
    clean,
    fit_key,
    is_clean,
    plausible_time,
    shown,
)
from loglane.accumulate.parsers import START, Parsed, parse_text
from loglane.accumulate.store import Contribution
from loglane.wire import (
    HEADER_HOST,
    HEADER_KIND,
    HEADER_OFFSET,
    HEADER_SOURCE,
    KIND_FILE,
    KIND_LINES,
)

_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII only: int() would also take " 1_0 " or "١٢"


class Malformed(Exception):
    """The message breaks the wire contract; ``str(exc)`` is the dead-letter reason."""


def from_message(
    body: bytes,
    headers: Mapping[str, Any] | None,
    message_id: str | bytes | None,
    timestamp: float | None = None,
) -> Contribution:
    """Validate and parse one AMQP message; raises :class:`Malformed` with the reason."""
    mid = _message_id(message_id)
    if headers is None:
        headers = {}
    elif not isinstance(headers, Mapping):
        raise Malformed(f"headers are not a table: {shown(headers)}")
    source = _header_text(headers, HEADER_SOURCE)
    if not source:
        raise Malformed(f"missing header {HEADER_SOURCE}")
    kind = _text(headers.get(HEADER_KIND))
    if kind not in (KIND_LINES, KIND_FILE):
        raise Malformed(
            f"header {HEADER_KIND} is {shown(kind)}, not {KIND_LINES!r} or {KIND_FILE!r}"
        )
    offset = _offset(headers.get(HEADER_OFFSET, 0 if kind == KIND_FILE else None))
    # event positions are offset + a character index < offset + len(body): all must fit
    if offset > INT64_MAX - len(body):
        raise Malformed(
            f"header {HEADER_OFFSET} is {offset}: with the body's {len(body)} bytes its "
            "positions pass 2^63 - 1"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed(f"body is not UTF-8 (byte {exc.start})") from None
    host = _header_text(headers, HEADER_HOST)
    # the id is "<source bytes' identity>@<offset>" (wire.message_id); that identity keeps a
    # rotated file that reuses the name apart from its predecessor when ordering events
    suffix = f"@{offset}"
    key = mid[: -len(suffix)] if mid.endswith(suffix) else source
    whole = kind == KIND_FILE
    parsed = parse_text(text, whole=whole, source=source, base_offset=offset)
    if "\x00" in text:
        _clean_names(parsed)
    seen = timestamp if timestamp and plausible_time(timestamp) else time.time()
    # CI machines often write the same paths: per-source counts keep hosts apart
    name = f"{host}:{source}" if host and not source.startswith(f"{host}:") else source
    return Contribution(
        mid, fit_key(name), fit_key(key), float(seen), parsed, label=fit_key(source)
    )


def from_file(path: str, data: bytes, mtime: float) -> Contribution:
    """A whole file read from disk. Its id is its path and content hash: accumulating the same
    unchanged file twice counts it once; a rewritten file counts as a new run."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    # a name that is not UTF-8 comes from os.walk with surrogates, which no store can hold
    name = fit_key(os.fsencode(path).decode("utf-8", "replace"))
    text = data.decode("utf-8", "replace")  # a stray bad byte in a file is no reason to skip it
    parsed = parse_text(text, whole=True, source=name)
    if "\x00" in text:
        _clean_names(parsed)
    seen = mtime if plausible_time(mtime) else time.time()
    return Contribution(f"file:{name}:{digest}", name, name, seen, parsed)


def dead_key(message_id: object, body: bytes) -> str:
    """The identity of a dead letter, whatever its id is (or is not): a redelivered one is
    counted once in the store."""
    h = hashlib.sha256(repr(message_id).encode("utf-8", "backslashreplace"))
    h.update(b"\n")
    h.update(body)
    return h.hexdigest()[:32]


def _message_id(value: object) -> str:
    if not value:
        raise Malformed("no message_id: a redelivery could not be recognised")
    if isinstance(value, bytes):  # pika hands over an id that is not UTF-8 as bytes
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed(f"message_id is not UTF-8: {shown(value)}") from None
    if not isinstance(value, str):
        raise Malformed(f"message_id is not text: {shown(value)}")
    if not is_clean(value):
        raise Malformed(f"message_id holds a NUL or an unpaired surrogate: {shown(value)}")
    if len(value) * 4 > MAX_MESSAGE_ID_BYTES and len(value.encode()) > MAX_MESSAGE_ID_BYTES:
        raise Malformed(f"message_id is longer than {MAX_MESSAGE_ID_BYTES} bytes")
    return value


def _header_text(headers: Mapping[str, Any], name: str) -> str:
    """A text header that the stores can hold (or "" when absent)."""
    text = _text(headers.get(name))
    if not is_clean(text):
        raise Malformed(f"header {name} holds a NUL or an unpaired surrogate: {shown(text)}")
    return text


def _offset(raw: object) -> int:
    """A byte offset: an AMQP integer, or its decimal digits as text, in 0 .. 2^63 - 1."""
    if raw is None:
        raise Malformed(f"missing header {HEADER_OFFSET}")
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    if isinstance(raw, str) and _DIGITS.fullmatch(raw):
        value = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        raise Malformed(f"header {HEADER_OFFSET} is not an integer: {shown(raw)}")
    if value < 0:
        raise Malformed(f"header {HEADER_OFFSET} is negative: {value}")
    if value > INT64_MAX:
        raise Malformed(f"header {HEADER_OFFSET} is {value}, past 2^63 - 1")
    return value


def _clean_names(parsed: Parsed) -> None:
    """Replace NUL in the names the body gave (the only text of a body that is stored), and
    count each altered name as an anomaly: the edges, which may pair with other messages,
    and the outcomes, which a trailing start is never one of."""
    altered = 0
    for i, (name, status) in enumerate(parsed.outcomes):
        if "\x00" in name:
            parsed.outcomes[i] = (clean(name), status)
            altered += 1
    for attr in ("first", "last"):
        ev = getattr(parsed, attr)
        if ev is not None and ev.kind == START and "\x00" in ev.value:
            setattr(parsed, attr, dataclasses.replace(ev, value=clean(ev.value)))
            if attr == "last":
                altered += 1
    parsed.anomalies += altered


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ("" if value is None else str(value))

"""AMQP URL checks with the standard library only, so importing ``AmqpSink`` needs no pika."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def check_url(url: str) -> None:
    """Raise ValueError with a one-line reason when ``url`` is not an AMQP URL."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError(f"bad AMQP URL {url!r}: {exc}") from None
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"bad AMQP URL {url!r}: the scheme must be amqp:// or amqps://")
    if not parts.hostname:
        raise ValueError(f"bad AMQP URL {url!r}: no host")
    if port == 0:
        raise ValueError(f"bad AMQP URL {url!r}: port 0")


def redact(url: str) -> str:
    """``url`` with its password replaced, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{user}:***@{host}{port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    except ValueError:
        return url

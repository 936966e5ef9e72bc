"""One message's worth of lines (or one whole file), and how it becomes AMQP headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loglane import wire


@dataclass(slots=True)
class Batch:
    """Bytes ``[offset, offset + length)`` of a source, ready to publish.

    ``body`` is valid UTF-8 and ends in a newline (kind ``lines``). ``length`` counts the
    source's bytes, which differs from ``len(body)`` when invalid UTF-8 was replaced.
    """

    source: str  # what x-loglane-source says: a path, or host:pid:logger
    source_id: str  # identity of the bytes: host:dev:ino[#gen] for files
    offset: int
    length: int
    kind: str
    body: bytes
    lines: int
    host: str
    key: str = ""  # checkpoint key (dev:ino) for files; "" for logger sources
    gen: int = 0
    spool_seg: int = -1  # the spool segment holding it, -1 when it lives only in memory

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def message_id(self) -> str:
        # Batching is deterministic (see tail.py), so a message starting at this offset of
        # this source always covers the same bytes: a re-sent one is an exact duplicate.
        return wire.message_id(self.source_id, self.offset)

    def headers(self) -> dict[str, Any]:
        return {
            wire.HEADER_SOURCE: self.source,
            wire.HEADER_OFFSET: self.offset,
            wire.HEADER_KIND: self.kind,
            wire.HEADER_HOST: self.host,
        }

    def meta(self) -> dict[str, Any]:
        """Everything but the body, for the spool."""
        return {
            "source": self.source,
            "source_id": self.source_id,
            "offset": self.offset,
            "length": self.length,
            "kind": self.kind,
            "lines": self.lines,
            "host": self.host,
            "key": self.key,
            "gen": self.gen,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any], body: bytes, spool_seg: int) -> Batch:
        return cls(
            source=str(meta["source"]),
            source_id=str(meta["source_id"]),
            offset=int(meta["offset"]),
            length=int(meta["length"]),
            kind=str(meta["kind"]),
            body=body,
            lines=int(meta["lines"]),
            host=str(meta["host"]),
            key=str(meta.get("key", "")),
            gen=int(meta.get("gen", 0)),
            spool_seg=spool_seg,
        )


def utf8_body(data: bytes) -> bytes:
    """``data`` itself when it is valid UTF-8 (the usual, cheap case), else with U+FFFD."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data

"""What both stores accept, checked before anything reaches them. No I/O.

SQLite and PostgreSQL refuse different things, and a value one of them refuses halts every
consumer it is redelivered to. So values are brought inside the *intersection* of their limits
here, the same way for both stores, so that they agree:

* integers: signed 64-bit (PostgreSQL ``bigint``; SQLite's ``INTEGER``, which Python's sqlite3
  refuses past 2^63 - 1 with "Python int too large to convert to SQLite INTEGER");
* text: no NUL (PostgreSQL "text fields cannot contain NUL (0x00) bytes") and no unpaired
  surrogate (neither store can encode one as UTF-8);
* text in a key: at most :data:`MAX_KEY_BYTES` of UTF-8, so a two-column key of a test name
  and a source stays under PostgreSQL's 2,704-byte btree index row;
* times: seconds from 1970 to the end of year 9999, which every later step (``int(seen)``,
  ``time.localtime``) can handle.
"""

from __future__ import annotations

import hashlib
import re

INT64_MAX = 2**63 - 1
#: UTF-8 bytes of a source, a label or a source key (a test name is at most 500 characters,
#: so at most 2,000 bytes: with a 512-byte source its pair key stays under 2,704 bytes)
MAX_KEY_BYTES = 512
#: a message id travels as an AMQP short string
MAX_MESSAGE_ID_BYTES = 255
#: the last second of year 9999: a later timestamp cannot be shown or bucketed
MAX_SEEN = 253_402_300_799
REPLACEMENT = "\ufffd"

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


def is_clean(text: str) -> bool:
    """True when ``text`` has no NUL and no unpaired surrogate."""
    if text.isascii():  # the common case: two C-speed scans, no regex
        return "\x00" not in text
    return _BAD_CHARS.search(text) is None


def clean(text: str) -> str:
    """``text`` with each NUL and each unpaired surrogate replaced by U+FFFD (the replacement
    character, as a bad byte in a file becomes when it is decoded)."""
    return _BAD_CHARS.sub(REPLACEMENT, text)


def fit_key(text: str, max_bytes: int = MAX_KEY_BYTES) -> str:
    """``text`` if its UTF-8 fits in ``max_bytes``; else its head, "…" and 16 hex digits of
    its hash, in ``max_bytes``: two long keys that differ only in their tails stay apart."""
    if len(text) * 4 <= max_bytes:  # the common case, without encoding
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return text
    tag = "…" + hashlib.sha256(data).hexdigest()[:16]
    head = data[: max_bytes - len(tag.encode())].decode("utf-8", "ignore")
    return head + tag


def fits_int64(value: int) -> bool:
    return -INT64_MAX - 1 <= value <= INT64_MAX


def plausible_time(seconds: float | None) -> bool:
    """A time worth using: from 1970 to the end of year 9999, a real number (not NaN)."""
    return seconds is not None and 0 <= seconds <= MAX_SEEN


def shown(value: object, limit: int = 120) -> str:
    """A hostile value as reason text: ``repr`` (which escapes NUL and surrogates), cut."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

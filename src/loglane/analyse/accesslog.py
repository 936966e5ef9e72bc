"""Access-log formats: one compiled regex per format, and the few conversions they need.

Pure functions, no I/O. Every format yields the same five fields per request line, in this
order: host, time, path (without its query string), status, bytes. The per-line parser and the
bulk chunk parser (`aggregate.py`) share one pattern, so they cannot disagree.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

__all__ = [
    "FORMATS",
    "LogFormat",
    "Request",
    "detect_format",
    "get_format",
    "parse_line",
    "parse_time",
    "section_of",
]

# The client is the token just before ident and authuser. Anything before it (a vhost, an
# X-Forwarded-For list, a quoted proxy chain) is skipped lazily, so the common case costs
# nothing and the nginx oddities in the beats fixtures still parse.
_PREFIX = rb"(?:[^\n]*? )??"
_CLF_HEAD = rb"(?P<host>[^ \n]++) [^ \n]++ [^ \n]++ \[(?P<time>[^\]\n]++)\] "
# A request is `METHOD target [protocol]`, with any number of spaces (NASA has several), or
# "-" / "" when the client never sent one (408 / 400).
_REQUEST = rb'"(?:[A-Za-z]++ ++(?P<path>[^ ?"\n]*+)[^"\n]*+|-|)"'
_TAIL = rb" (?P<status>\d{3}) (?P<bytes>\d++|-)"

_CLF = _PREFIX + _CLF_HEAD + _REQUEST + _TAIL
_VHOST = rb"[^ \n]++ " + _CLF_HEAD + _REQUEST + _TAIL
_CSV = (
    rb'"(?P<host>[^"\n]*+)","[^"\n]*+","[^"\n]*+",(?P<time>\d++),'
    + _REQUEST
    + rb",(?P<status>\d{3}),(?P<bytes>\d++|-)"
)
_CSV_HEADER = b'"remotehost","rfc931","authuser","date","request","status","bytes"'

FIELDS = ("host", "time", "path", "status", "bytes")


class Request(NamedTuple):
    host: str
    time: int  # Unix seconds
    path: str  # request target without query string; "" when there was no request line
    section: str
    status: int
    bytes: int


@dataclass(frozen=True)
class LogFormat:
    """A named line pattern; `bulk` is set when the pattern can run over a whole chunk."""

    name: str
    line: re.Pattern[bytes]
    bulk: re.Pattern[bytes] | None
    header: bytes | None = None

    def fields(self, line: bytes) -> tuple[bytes, bytes, bytes, bytes, bytes] | None:
        """The five raw fields of one line (without its line end), or None."""
        m = self.line.match(line) if self.bulk is not None else self.line.search(line)
        if m is None:
            return None
        g = m.groupdict()
        path = g.get("path")
        if path is None and g.get("request") is not None:
            path = _path_of_request(g["request"])
        return (
            g.get("host") or b"-",
            g["time"],
            path or b"",
            g.get("status") or b"0",
            g.get("bytes") or b"-",
        )


def _builtin(name: str, pattern: bytes, header: bytes | None = None) -> LogFormat:
    # Anchored at line starts and possessive throughout: a line that does not match fails
    # in time linear in its length (a 5 MB garbage line must not cost minutes), and the
    # rest of the line is consumed so findall yields exactly one tuple per matching line.
    line = re.compile(rb"(?m)^" + pattern)
    bulk = re.compile(rb"(?m)^" + pattern + rb"[^\n]*+\n")
    assert tuple(line.groupindex) == FIELDS, name
    return LogFormat(name, line, bulk, header)


FORMATS: dict[str, LogFormat] = {
    "common": _builtin("common", _CLF),
    "combined": _builtin("combined", _CLF),
    "nginx": _builtin("nginx", _CLF),
    "vhost_combined": _builtin("vhost_combined", _VHOST),
    "csv": _builtin("csv", _CSV, _CSV_HEADER),
}


def get_format(spec: str) -> LogFormat:
    """`common`, `combined`, ..., or `regex:PATTERN` with named groups.

    A custom pattern needs a `time` group and may have host, path or request, status, bytes.
    """
    if spec.startswith("regex:"):
        try:
            pattern = re.compile(spec[6:].encode())
        except re.error as exc:
            raise ValueError(f"bad regex: {exc}") from None
        if "time" not in pattern.groupindex:
            raise ValueError("a regex format needs a named group 'time'")
        return LogFormat("regex", pattern, None)
    try:
        return FORMATS[spec]
    except KeyError:
        names = ", ".join([*FORMATS, "regex:PATTERN", "auto"])
        raise ValueError(f"unknown format {spec!r} (expected one of {names})") from None


def detect_format(sample: list[bytes]) -> LogFormat:
    """The built-in format that parses most of the sample lines (combined when none do)."""
    best, best_hits = FORMATS["combined"], 0
    for name in ("combined", "csv"):
        fmt = FORMATS[name]
        hits = sum(1 for line in sample if fmt.fields(line.rstrip(b"\r\n")) is not None)
        if hits > best_hits:
            best, best_hits = fmt, hits
    return best


_MONTHS = {
    m.encode(): i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_CLF_TIME = re.compile(
    rb"(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:\.\d+)? ([+-])(\d\d):?(\d\d)$"
)


def parse_time(raw: bytes) -> int:
    """Unix seconds from a CLF time (`10/Oct/2000:13:55:36 -0700`), epoch digits or ISO 8601.

    Raises ValueError for anything else; callers count such lines as unparsed.
    """
    m = _CLF_TIME.match(raw)
    if m is not None:
        day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
        month = _MONTHS.get(mon.capitalize())
        if month is None:
            raise ValueError(f"bad month in {raw!r}")
        # datetime validates the calendar (no 31 Feb); timegm keeps it free of local time.
        stamp = datetime(int(year), month, int(day), int(hh), int(mm), int(ss))
        offset = (int(oh) * 3600 + int(om) * 60) * (1 if sign == b"+" else -1)
        return calendar.timegm(stamp.timetuple()) - offset
    text = raw.decode("ascii", "replace").strip()
    if text.isdigit():
        return int(text)
    try:
        return int(float(text))
    except ValueError:
        pass
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        raise ValueError(f"unrecognised time {raw!r}") from None


def section_of(path: str) -> str:
    """The first path segment: `/api/user` → `/api`, `/` → `/`, `*` → `*`, none → `-`."""
    if not path:
        return "-"
    if path[0] != "/":
        # absolute-form targets (`http://host/a/b`) count under their path; `*` stays `*`
        scheme = path.find("://")
        if scheme < 0:
            return path.split("/", 1)[0] or "-"
        slash = path.find("/", scheme + 3)
        if slash < 0:
            return "/"
        path = path[slash:]
    end = path.find("/", 1)
    return path if end < 0 else path[:end]


def _path_of_request(request: bytes) -> bytes:
    parts = request.split()
    if len(parts) < 2:
        return b""
    return parts[1].split(b"?", 1)[0]


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def parse_line(fmt: LogFormat, line: bytes | str) -> Request | None:
    """One line (with or without its line end) → Request, or None when it is not a request."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    fields = fmt.fields(line.rstrip(b"\r\n"))
    if fields is None:
        return None
    host, raw_time, raw_path, status, size = fields
    try:
        when = parse_time(raw_time)
    except ValueError:
        return None
    path = decode(raw_path)
    return Request(
        decode(host),
        when,
        path,
        section_of(path),
        int(status),
        0 if size == b"-" else int(size),
    )

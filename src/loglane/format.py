"""Turning records into lines, on the writer thread.

The default text line is ``[2026-11-22 10:12:54.796 my app INFO] message key=value``; the
``[date time`` part is cached per second and the ``name LEVEL] `` part per (name, level), so
formatting a record costs one ``%`` of its message and one f-string. Nothing here raises for a
bad record: a message that cannot be formatted yields a line that says so.
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from loglane.record import ExcInfo, Record, level_name
from loglane.template import RECORD_KEYS, SAFE, compile_template

_NS = 1_000_000_000
_MS = 1_000_000


def interrupted(exc: BaseException) -> bool:
    """True for a KeyboardInterrupt on the main thread: it may be the user's own Ctrl-C
    arriving during a log call, and swallowing that would be worse than any line lost.
    Anything else a hostile ``__str__`` raises (SystemExit, a BaseException of its own, or
    KeyboardInterrupt on another thread, which no signal delivers there) is caught."""
    return isinstance(exc, KeyboardInterrupt) and (
        threading.current_thread() is threading.main_thread())


def type_name(value: object) -> str:
    """The name of ``value``'s type; never raises (a metaclass may make ``__name__`` lie)."""
    try:
        name = type(value).__name__
        return name if type(name) is str else "?"
    except BaseException as err:
        if interrupted(err):
            raise
        return "?"


def _text(value: object, convert: Callable[[object], object], depth: int) -> str:
    try:
        text = convert(value)
        # str()/repr() of a str subclass may return the subclass: keep only a plain str, so
        # nothing later calls its __format__ or __str__.
        return text if type(text) is str else str.__str__(text)
    except BaseException as exc:
        if interrupted(exc):
            raise
        what = "unrepresentable" if convert is repr else "unprintable"
        if depth:  # the exception's own text failed too: stop here
            return f"<{what} {type_name(value)}>"
        return f"<{what} {type_name(value)}: {type_name(exc)}: {_text(exc, str, depth + 1)}>"


def safe_repr(value: object) -> str:
    """``repr(value)``, or a text saying it failed; never raises (but KeyboardInterrupt)."""
    return _text(value, repr, 0)


def safe_str(value: object) -> str:
    """``str(value)``, or a text saying it failed; never raises (but KeyboardInterrupt)."""
    return value if type(value) is str else _text(value, str, 0)


def error_text(exc: BaseException) -> str:
    """``TypeName: message`` for an exception, whatever its ``__str__`` does."""
    return f"{type_name(exc)}: {safe_str(exc)}"


def render_message(msg: object, args: tuple[Any, ...]) -> str:
    """``msg % args`` as stdlib logging does it, or a line saying why that failed."""
    if not args:
        return safe_str(msg)
    # stdlib compatibility: log.info("%(user)s", {"user": ...}) formats with the mapping
    fmt_args: Any = args[0] if len(args) == 1 and isinstance(args[0], Mapping) else args
    try:
        return str.__str__(safe_str(msg) % fmt_args)
    except BaseException as exc:
        if interrupted(exc):
            raise
        return (
            f"{safe_str(msg)} <loglane: message could not be formatted: "
            f"{error_text(exc)}; args={safe_repr(args)}>"
        )


_BARE = re.compile(r"[^\s\"'=\\]+")


def render_fields(fields: Mapping[str, Any]) -> str:
    """`` key=value key2="two words"``: values quoted only when a reader would need it."""
    parts = []
    for key, value in fields.items():
        text = value if type(value) is str else safe_str(value)
        if not _BARE.fullmatch(text):
            text = json.dumps(text, ensure_ascii=False)
        parts.append(f" {key}={text}")
    return "".join(parts)


def render_exception(exc_info: ExcInfo) -> str:
    try:
        # A log call's exception comes with its text taken on the caller's thread
        # (loglane.capture.CapturedExc): rendering it runs none of the exception's code.
        summary = getattr(exc_info, "summary", None)
        if summary is not None:
            return "".join(summary.format()).rstrip("\n")
        return "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    except BaseException as exc:  # a broken exception object must not lose the line
        if interrupted(exc):
            raise
        return f"<loglane: traceback could not be formatted: {error_text(exc)}>"


class TextFormatter:
    """The default line, or a ``str.format`` template given as ``fmt``.

    Template keys: ``{time}`` (``2026-11-22 10:12:54.796``), ``{iso}`` (ISO 8601 with offset),
    ``{ts}`` (epoch seconds, float), ``{name}``, ``{level}``, ``{levelno}``, ``{message}``,
    ``{fields}`` (the `` key=value`` text) and any field of the record by its key. A traceback
    always follows the formatted line.
    """

    may_log = False  # loglane's own: runs no code that logs (see loglane.channel.may_log)

    def __init__(self, fmt: str | None = None, *, utc: bool = False) -> None:
        self.utc = utc
        self.fmt = fmt
        self._to_tm = time.gmtime if utc else time.localtime
        self._sec = -1
        self._sec_text = ""
        self._templates: dict[tuple[str, int, str], str] = {}
        self._compiled = "" if fmt is None else self._check_template(fmt)

    @staticmethod
    def _check_template(fmt: str) -> str:
        """The template ``_template`` runs, or ValueError now (see loglane.template)."""
        compiled = compile_template(fmt)
        try:  # what compile_template accepts must format; a slip there must not cost lines
            compiled.format_map(_Fallback(RECORD_KEYS))
        except Exception as exc:
            raise ValueError(f"invalid fmt {fmt!r}: {type(exc).__name__}: {exc}") from None
        return compiled

    def _second(self, sec: int) -> str:
        tm = self._to_tm(sec)
        self._sec = sec
        self._sec_text = text = (
            f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"
        )
        return text

    def timestamp(self, ts_ns: int) -> str:
        sec = ts_ns // _NS
        text = self._sec_text if sec == self._sec else self._second(sec)
        return f"{text}.{ts_ns // _MS % 1000:03d}"

    def __call__(self, record: Record) -> str:
        return self.format_batch([record])[0]

    def format_batch(self, records: Sequence[Sequence[Any]]) -> list[str]:
        if self.fmt is not None:
            return [self._template(r) for r in records]
        out: list[str] = []
        templates = self._templates
        if len(templates) > 4096:  # messages built at run time must not grow this forever
            templates.clear()
        # Runs: consecutive records of the same message, level, logger and millisecond, with
        # as many arguments each. The time stamp is the same for the whole run, so it goes
        # into the template, and one `%` formats the run (the template repeated k times,
        # NUL-separated): about a third of the cost of k separate `%` calls.
        start = -1  # where the open run starts (-1: none)
        flat: list[Any] = []  # the run's arguments, in order
        extend = flat.extend
        msg: object = None
        level = name = nargs = lo = hi = 0
        for i, r in enumerate(records):
            a = r[3]
            t = r[1]
            # (levels are small ints, so `is` compares them; a miss only ends the run)
            if (r[2] is msg and r[0] is level and r[6] is name and r[4] is None
                    and r[5] is None and len(a) == nargs and lo <= t < hi):
                extend(a)
                continue
            if start >= 0:
                self._run(records, start, i, flat, out)
                start = -1
                flat = []
                extend = flat.extend
            level, t, msg, a, fields, exc, name = r
            if not a or fields or exc is not None:
                out.append(self._one(r))
                msg = None  # no run is open
                continue
            start = i
            extend(a)
            nargs = len(a)
            lo = t // _MS * _MS
            hi = lo + _MS
        if start >= 0:
            self._run(records, start, len(records), flat, out)
        return out

    def _run(
        self, records: Sequence[Sequence[Any]], start: int, end: int, flat: list[Any],
        out: list[str],
    ) -> None:
        """Format records[start:end], a run whose arguments are `flat`, onto `out`."""
        level, ts, msg, _, _, _, name = records[start]
        key = (msg, level, name)
        rest = self._templates.get(key)
        if rest is None:
            head = f" {name} {level_name(level)}] ".replace("%", "%%")
            rest = self._templates[key] = head + msg
        msec = ts // _MS
        sec = msec // 1000
        sec_text = self._sec_text if sec == self._sec else self._second(sec)
        template = f"[{sec_text}.{msec % 1000:03d}{rest}"
        k = end - start
        try:
            if k == 1:
                out.append(template % tuple(flat))
                return
            lines = ((template + "\0") * k % tuple(flat)).split("\0")
            lines.pop()
            if len(lines) != k:  # an argument held a NUL: do them one by one
                raise ValueError("NUL in a line")
            out += lines
        except Exception:
            out += [self._one(r) for r in records[start:end]]

    def _one(self, record: Sequence[Any]) -> str:
        """One record the slow way: every case, every error handled."""
        level, ts, msg, args, fields, exc, name = record
        sec = ts // _NS
        sec_text = self._sec_text if sec == self._sec else self._second(sec)
        head = f"[{sec_text}.{ts // _MS % 1000:03d} {name} {level_name(level)}] "
        line = head + render_message(msg, args)
        if fields:
            line += render_fields(fields)
        if exc is not None:
            line += "\n" + render_exception(exc)
        return line

    def _template(self, record: Sequence[Any]) -> str:
        level, ts, msg, args, fields, exc, name = record
        values: dict[str, Any] = dict(fields) if fields else {}
        values.update(
            time=self.timestamp(ts),
            iso=iso_time(ts, self.utc),
            ts=ts / _NS,
            name=name,
            level=level_name(level),
            levelno=level,
            message=render_message(msg, args),
            fields=render_fields(fields) if fields else "",
        )
        try:
            line = self._compiled.format_map(_Fallback(values))
        except BaseException as err:
            if interrupted(err):
                raise
            line = f"{values['time']} {name} {values['level']} {values['message']} " + (
                f"<loglane: fmt failed: {error_text(err)}>"
            )
        if exc is not None:
            line += "\n" + render_exception(exc)
        return line


class _Fallback(dict[str, Any]):
    """A record's values for a compiled template (see loglane.template).

    A key marked ``SAFE`` is a record's field (or ``levelno`` with a spec): it comes wrapped
    in a ``_Field``, ``-`` when the record lacks it. Any other unknown key renders as ``-``.
    """

    def __missing__(self, key: str) -> object:
        if key[:1] == SAFE:
            return _Field(self.get(key[1:], "-"))
        return "-"


class _Field:
    """A field's value in a template: formats with the template's spec where the value
    allows it, as text where it does not, and never raises (a field can hold anything)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        value = self.value
        try:
            return format(value, spec)
        except Exception:
            text = safe_str(value)
            try:
                return format(text, spec)
            except Exception:
                return text

    def __str__(self) -> str:
        return safe_str(self.value)

    def __repr__(self) -> str:
        return safe_repr(self.value)


def iso_time(ts_ns: int, utc: bool) -> str:
    sec, rem = divmod(ts_ns, _NS)
    tm = time.gmtime(sec) if utc else time.localtime(sec)
    off = tm.tm_gmtoff or 0
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:"
        f"{tm.tm_sec:02d}.{rem // 1000:06d}{sign}{off // 3600:02d}:{off % 3600 // 60:02d}"
    )


def _json_default(value: object) -> str:
    return safe_str(value)


class JsonFormatter:
    """One JSON object per line: time, ts, level, logger, message, fields, exception."""

    may_log = False

    def __init__(self, *, utc: bool = False) -> None:
        self.utc = utc

    def __call__(self, record: Record) -> str:
        return self.format_batch([record])[0]

    def format_batch(self, records: Iterable[Sequence[Any]]) -> list[str]:
        out = []
        for level, ts, msg, args, fields, exc, name in records:
            obj: dict[str, Any] = {
                "time": iso_time(ts, self.utc),
                "ts": ts / _NS,
                "level": level_name(level),
                "logger": name,
                "message": render_message(msg, args) if args else safe_str(msg),
            }
            if fields:
                for key, value in fields.items():
                    obj.setdefault(key, value)
            if exc is not None:
                obj["exception"] = render_exception(exc)
            try:
                out.append(json.dumps(obj, ensure_ascii=False, default=_json_default))
            except BaseException as err:  # e.g. circular structures in fields
                if interrupted(err):
                    raise
                obj = {k: (v if isinstance(v, str | int | float) else safe_repr(v))
                       for k, v in obj.items()}
                out.append(json.dumps(obj, ensure_ascii=False))
        return out


BatchFormatter = Callable[[Sequence[Sequence[Any]]], list[str]]


#: Formatter classes whose ``format_batch`` is loglane's own and always returns one plain
#: str per record; any other formatter's output is checked (see ``batch_formatter``).
CHECKED: set[type] = {TextFormatter, JsonFormatter}


def batch_formatter(formatter: Callable[[Record], str]) -> BatchFormatter:
    """A formatter's batch form: its own ``format_batch`` or a loop over it. A user's
    formatter may return anything; sinks get only ``str`` lines."""
    fast = getattr(formatter, "format_batch", None)
    if fast is not None:
        if type(formatter) in CHECKED:
            return fast  # type: ignore[no-any-return]

        def checked(records: Sequence[Sequence[Any]]) -> list[str]:
            lines = fast(records)
            if (type(lines) is list and len(lines) == len(records)
                    and all(type(line) is str for line in lines)):
                return lines
            raise TypeError("format_batch must return a list with one str per record")

        return checked

    def loop(records: Sequence[Sequence[Any]]) -> list[str]:
        out = []
        for r in records:
            try:
                line = formatter(Record._make(r))
                out.append(line if type(line) is str else safe_str(line))
            except BaseException as exc:
                if interrupted(exc):
                    raise
                level, ts, msg, args, _f, _e, name = r
                out.append(
                    f"{iso_time(ts, False)} {name} {level_name(level)} "
                    f"{render_message(msg, args)} <loglane: formatter failed: "
                    f"{error_text(exc)}>"
                )
        return out

    return loop

"""What a log call keeps of its arguments and fields.

Values of exact immutable types are kept as they are: the writer formats them later, and they
cannot have changed by then. Anything else is captured at call time, so a line shows the value
as it was when the call was made, and so that the writer thread never runs a caller's code:
arguments are formatted into the message (by the logger), fields are rebuilt from plain values
or turned into their text, an exception's text and stack are taken (here).
"""

from __future__ import annotations

import datetime
import decimal
import fractions
import sys
import traceback
import uuid
from collections.abc import Mapping
from pathlib import PosixPath, PurePosixPath, PureWindowsPath, WindowsPath
from typing import Any

from loglane.format import interrupted, safe_repr, safe_str
from loglane.record import ExcInfo

__all__ = ["IMMUTABLE", "CapturedExc", "capture_exc", "capture_fields", "immutable",
           "pop_exc_info", "snapshot"]

# Types whose values cannot change after the call and whose text comes from the standard
# library alone, so formatting can wait for the writer. Exact types only: a subclass (an enum
# member, a str subclass) may carry a mutable __dict__ or a __str__ of its own, and the writer
# thread must never run code a caller passed in (it could raise, hang or log).
IMMUTABLE = frozenset({
    str, int, float, bool, type(None), bytes, complex, decimal.Decimal, fractions.Fraction,
    datetime.datetime, datetime.date, datetime.time, datetime.timedelta, uuid.UUID,
    range, PurePosixPath, PureWindowsPath, PosixPath, WindowsPath,
})

MAX_DEPTH = 16  # nesting kept in a field's snapshot; deeper parts become their text


def immutable(value: object, depth: int = 0) -> bool:
    cls = type(value)
    if cls in IMMUTABLE:
        return True
    if (cls is tuple or cls is frozenset) and depth < MAX_DEPTH:
        return all(immutable(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    return False


def pop_exc_info(fields: dict[str, Any]) -> ExcInfo | None:
    value = fields.pop("exc_info", None)
    fields.pop("stack_info", None)
    if not value:
        return None
    if isinstance(value, BaseException):
        return capture_exc((type(value), value, value.__traceback__))
    if type(value) is tuple and len(value) == 3 and value[0] is not None:
        return capture_exc(value)
    info = sys.exc_info()
    return capture_exc(info) if info[0] is not None else None


class CapturedExc(tuple):  # type: ignore[type-arg]
    """``(type, value, traceback)`` as ``sys.exc_info()`` gives it, plus ``summary``: the
    exception's text and stack taken on the caller's thread, so the writer renders the
    traceback without running any of the exception's own code."""

    summary: traceback.TracebackException


def capture_exc(exc_info: Any) -> ExcInfo | None:
    """The exception of a log call, with its text captured now (see ``CapturedExc``)."""
    try:
        exc_type, exc, tb = exc_info
        if not (isinstance(exc_type, type) and issubclass(exc_type, BaseException)):
            return None
        captured = CapturedExc((exc_type, exc, tb))
        # lookup_lines=False: source lines are read later, on the writer (that is I/O).
        captured.summary = summary = traceback.TracebackException(
            exc_type, exc, tb, lookup_lines=False)
        _plain_notes(summary, 0)
        return captured
    except BaseException as err:
        if interrupted(err):
            raise
        return None


def _plain_notes(summary: traceback.TracebackException, depth: int) -> None:
    # Notes are rendered lazily with str(); make them plain text now.
    notes = getattr(summary, "__notes__", None)
    if notes is not None:
        try:
            summary.__notes__ = [safe_str(n) for n in notes]
        except BaseException as err:
            if interrupted(err):
                raise
            summary.__notes__ = ["<loglane: notes could not be read>"]
    if depth < MAX_DEPTH:
        for inner in (summary.__cause__, summary.__context__,
                      *(getattr(summary, "exceptions", None) or ())):
            if inner is not None:
                _plain_notes(inner, depth + 1)


def capture_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields, in place, with every value that could still change snapshotted."""
    for key, value in fields.items():
        if type(key) is not str:  # a str subclass key (``**{K("a"): 1}``): keep its plain text
            return {str.__str__(k): v if immutable(v) else snapshot(v)
                    for k, v in fields.items()}
        if not immutable(value):
            fields[key] = snapshot(value)
    return fields


def snapshot(value: object, depth: int = 0) -> object:
    """A field's value as it is now, made of plain values only: containers rebuilt (JSON keeps
    their shape), anything else turned into its text. The writer never sees a caller's object."""
    try:
        if immutable(value):
            return value
        if depth >= MAX_DEPTH:
            return safe_repr(value)
        cls = type(value)
        if cls is dict or (cls is not str and isinstance(value, Mapping)):
            return {k if type(k) is str else safe_str(k): snapshot(v, depth + 1)
                    for k, v in list(value.items())}  # type: ignore[attr-defined]
        if cls is list or cls is tuple:
            items = [snapshot(v, depth + 1) for v in value]  # type: ignore[attr-defined]
            return items if cls is list else tuple(items)
        if cls is set or cls is frozenset:
            return cls(snapshot(v, depth + 1) for v in value)  # type: ignore[attr-defined]
        return safe_str(value)
    except BaseException as err:
        if interrupted(err):
            raise
        return safe_repr(value)

"""What a log call keeps of its arguments and fields.

Values of exact immutable types are kept as they are: the writer formats them later, and they
cannot have changed by then. Anything else is captured at call time, so a line shows the value
as it was when the call was made: arguments are formatted into the message (by the logger),
fields are deep-copied or turned into their text (here).
"""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import fractions
import sys
import uuid
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

from loglane.format import safe_repr, safe_str
from loglane.record import ExcInfo

__all__ = ["IMMUTABLE", "capture_fields", "immutable", "pop_exc_info"]

# Types whose values cannot change after the call, so formatting can wait for the writer.
# Exact types only: a subclass may carry a mutable __dict__ or a custom __str__.
IMMUTABLE = frozenset({
    str, int, float, bool, type(None), bytes, complex, decimal.Decimal, fractions.Fraction,
    datetime.datetime, datetime.date, datetime.time, datetime.timedelta, uuid.UUID,
    range, frozenset,
})


def immutable(value: object) -> bool:
    cls = value.__class__
    if cls in IMMUTABLE or isinstance(value, enum.Enum | PurePath):
        return True
    if cls is tuple:
        return all(immutable(v) for v in value)  # type: ignore[attr-defined]
    return False



def pop_exc_info(fields: dict[str, Any]) -> ExcInfo | None:
    value = fields.pop("exc_info", None)
    fields.pop("stack_info", None)
    if not value:
        return None
    if isinstance(value, BaseException):
        return (type(value), value, value.__traceback__)
    if isinstance(value, tuple) and len(value) == 3 and value[0] is not None:
        return value
    info = sys.exc_info()
    return info if info[0] is not None else None


def capture_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields, in place, with every value that could still change snapshotted."""
    for key, value in fields.items():
        if not immutable(value):
            fields[key] = _snapshot(value)
    return fields


def _snapshot(value: object) -> object:
    """A field's value as it is now: containers deep-copied (JSON keeps their shape), other
    objects turned into their text."""
    if isinstance(value, Mapping | list | set | tuple):
        try:
            return copy.deepcopy(value)
        except Exception:
            return safe_repr(value)
    return safe_str(value)


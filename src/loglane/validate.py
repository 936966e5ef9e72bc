"""Checks of the arguments that configure a logger, shared by ``Logger(...)`` and
``configure()``: each returns the value to use or raises ``ValueError`` naming the argument
(``configure()`` passes the key path as ``where`` and re-raises as ``ConfigError``).

They run before anything is built, so a mistake never leaves a half-made logger or a
half-applied configuration, and a value that passes cannot fail later (``nan`` seconds,
``10**400`` seconds, a template that breaks at the first line).
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from loglane.format import JsonFormatter, TextFormatter
from loglane.record import parse_level
from loglane.sinks.base import Formatter

OVERFLOW_POLICIES = ("block", "drop")
DEFAULT_OVERFLOW = "block"
# Under "block", how long the writer may make no progress before calls stop waiting and drop
# (until it moves again). A writer that is slow but moving is always waited for.
DEFAULT_BLOCK_TIMEOUT = 5.0

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 3


def queue_size(value: object, where: str = "queue_size") -> int:
    """A positive int (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where} must be a positive int, got {shown(value)}")
    return value


def overflow(value: object, where: str = "overflow") -> str:
    """``"drop"`` or ``"block"``."""
    if not isinstance(value, str) or value not in OVERFLOW_POLICIES:
        raise ValueError(f"{where} must be 'drop' or 'block', got {shown(value)}")
    return value


def block_timeout(value: object, where: str = "block_timeout") -> float | None:
    """Seconds, a finite number >= 0, or None (wait as long as it takes)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number of seconds or None, got {shown(value)}")
    try:
        seconds = float(value)
    except OverflowError:  # an int too large for a float
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(
            f"{where} must be a finite number of seconds >= 0 or None, got {shown(value)}"
        )
    return seconds


def level(value: object, where: str = "level") -> int:
    """A level number >= 0 or a level name (``"info"``, ``"WARNING"``, ``"25"``)."""
    try:
        return parse_level(value)  # type: ignore[arg-type]  # any value: it says what is wrong
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def optional_level(value: object, where: str) -> int | None:
    """A level, or None (that output is off)."""
    return None if value is None else level(value, where)


def formatter(
    fmt: object = None, *, json: bool = False, utc: bool = False, where: str = "fmt"
) -> Formatter:
    """The formatter that ``fmt`` / ``json`` describe.

    ``fmt`` is None (the default line), a template string (checked now: see
    ``loglane.template``) or a callable taking a ``Record`` and returning the line.
    """
    if json:
        if fmt is not None:
            raise ValueError(f"give either {where} or json=True, not both")
        return JsonFormatter(utc=utc)
    if fmt is None or isinstance(fmt, str):
        return TextFormatter(fmt, utc=utc)  # ValueError "invalid fmt '...': ..." if bad
    if callable(fmt):
        return fmt
    raise ValueError(f"{where} must be a template string or a callable formatter, got {shown(fmt)}")


def shown(value: Any) -> str:
    """A value in an error message: its repr, cut short, and never raising."""
    try:
        return _SHOWN.repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


__all__ = [
    "DEFAULT_BLOCK_TIMEOUT",
    "DEFAULT_OVERFLOW",
    "OVERFLOW_POLICIES",
    "block_timeout",
    "formatter",
    "level",
    "optional_level",
    "overflow",
    "queue_size",
    "shown",
]

"""Levels and the record that travels from the log call to the sinks."""

from __future__ import annotations

from types import TracebackType
from typing import Any, NamedTuple

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40
CRITICAL = 50

LEVEL_NAMES: dict[int, str] = {
    DEBUG: "DEBUG",
    INFO: "INFO",
    WARNING: "WARNING",
    ERROR: "ERROR",
    CRITICAL: "CRITICAL",
}
_BY_NAME: dict[str, int] = {name: num for num, name in LEVEL_NAMES.items()}
_BY_NAME.update({"WARN": WARNING, "FATAL": CRITICAL, "NOTSET": 0})

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def level_name(level: int) -> str:
    """``INFO`` for 20, ``Level 25`` for a level without a name (as stdlib does)."""
    name = LEVEL_NAMES.get(level)
    return name if name is not None else f"Level {level}"


def parse_level(value: int | str) -> int:
    """Accept a level number or a (case-insensitive) name; raise ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"unknown log level {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"log level must not be negative, got {value}")
        return value
    if isinstance(value, str):
        key = value.strip().upper()
        if key in _BY_NAME:
            return _BY_NAME[key]
        if key.isdigit():
            return int(key)
        known = ", ".join(LEVEL_NAMES.values())
        raise ValueError(f"unknown log level {value!r} (known: {known})")
    raise ValueError(f"log level must be an int or a name, got {type(value).__name__}")


class Record(NamedTuple):
    """One accepted log call, as the writer thread hands it to sinks.

    ``args`` are already captured: immutable values are kept as they are, anything else was
    formatted into ``msg`` on the caller's thread (so later mutation cannot show).
    """

    level: int
    ts_ns: int  # nanoseconds since the epoch, from the logger's clock
    msg: str
    args: tuple[Any, ...]
    fields: dict[str, Any] | None
    exc_info: ExcInfo | None
    name: str  # the logger's name

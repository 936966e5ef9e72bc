"""Colours by level for terminals, and whether to use them.

The decision, first match wins: an explicit ``color=True/False`` on the sink (a per-instance
setting overrides the environment, as no-color.org asks); ``NO_COLOR`` set and not empty: no
colour; ``FORCE_COLOR`` set and not empty: colour, even into a pipe; ``TERM=dumb``: no colour;
otherwise colour only when the stream is a terminal. (The same order as CPython's own
``_colorize``, minus its ``PYTHON_COLORS``.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

RESET = "\x1b[0m"
# (lowest level, SGR prefix), highest first: a custom level takes the colour of the one below it
_STYLES = ((50, "\x1b[1;31m"), (40, "\x1b[31m"), (30, "\x1b[33m"), (20, ""), (0, "\x1b[2m"))


def wants_color(stream: object, explicit: bool | None = None,
                environ: Mapping[str, str] | None = None) -> bool:
    if explicit is not None:
        return explicit
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except Exception:  # a closed or odd stream: plain text is the safe answer
        return False


def style(level: int) -> str:
    for lowest, prefix in _STYLES:
        if level >= lowest:
            return prefix
    return ""


def colorize(level: int, line: str) -> str:
    prefix = style(level)
    return f"{prefix}{line}{RESET}" if prefix else line

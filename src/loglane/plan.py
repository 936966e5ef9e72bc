"""The routing plan behind ``get_logger`` and ``configure``: sinks, and per logger-name prefix
a level and/or a set of sinks. Pure data and lookups; ``registry.py`` applies a plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from loglane.channel import DEFAULT_BLOCK_TIMEOUT, DEFAULT_OVERFLOW
from loglane.format import TextFormatter
from loglane.logger import DEFAULT_QUEUE_SIZE
from loglane.record import INFO, WARNING, parse_level
from loglane.sinks.base import Formatter, Sink
from loglane.sinks.console import ConsoleSink

OFF = 1 << 30  # above every level (what Logger compares against when nothing is enabled)
ROOT = "root"  # the root logger's name, as in the standard library
ENV_LEVEL = "LOGLANE_LEVEL"


@dataclass(frozen=True)
class Route:
    """What a logger-name prefix sets: a level, sinks (indices into Plan.sinks), or both."""

    level: int | None = None
    sinks: tuple[int, ...] | None = None


@dataclass
class Plan:
    """A complete configuration, built and checked before it replaces the running one."""

    sinks: Sequence[Sink]
    routes: Mapping[str, Route]  # "" is the root and sets both level and sinks
    formatter: Formatter = field(default_factory=TextFormatter)
    queue_size: int = DEFAULT_QUEUE_SIZE
    overflow: str = DEFAULT_OVERFLOW
    block_timeout: float | None = DEFAULT_BLOCK_TIMEOUT

    def resolve(self, name: str) -> tuple[int, tuple[int, ...]]:
        """(level, sink indices) for a logger name: each from the most specific prefix."""
        level: int | None = None
        sinks: tuple[int, ...] | None = None
        for prefix in _prefixes(name):
            route = self.routes.get(prefix)
            if route is None:
                continue
            if level is None:
                level = route.level
            if sinks is None:
                sinks = route.sinks
            if level is not None and sinks is not None:
                break
        return (INFO if level is None else level), (sinks or ())

    def threshold(self, name: str) -> int:
        """The lowest level any sink takes from this name: below it the call returns at once."""
        level, idx = self.resolve(name)
        if not idx:
            return OFF
        return max(level, min(self.sinks[i].level for i in idx))


def _prefixes(name: str) -> list[str]:
    if name in ("", ROOT):
        return [""]
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)] + [""]


def env_level() -> int | None:
    """``LOGLANE_LEVEL`` from the environment (it overrides the root level), or None."""
    value = os.environ.get(ENV_LEVEL, "").strip()
    if not value:
        return None
    try:
        return parse_level(value)
    except ValueError as exc:
        raise ValueError(f"{ENV_LEVEL}: {exc}") from None


def default_plan() -> Plan:
    """Before any configure(): what ``Logger(name)`` does without a file — INFO and above,
    below WARNING to stdout, WARNING and above to stderr. ``LOGLANE_LEVEL`` moves the level."""
    try:
        level = env_level()
    except ValueError as exc:
        from loglane.delivery import stderr as _stderr

        _stderr(f"loglane: ignoring {exc}")
        level = None
    return Plan(
        sinks=(ConsoleSink("stdout", max_level=WARNING), ConsoleSink("stderr", level=WARNING)),
        routes={"": Route(INFO if level is None else level, (0, 1))},
    )

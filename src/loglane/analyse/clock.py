"""The one place the monitor reads wall time. Tests and the demo inject their own clock."""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ScaledClock", "WallClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Unix seconds."""
        ...

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Wait up to `seconds` of this clock's time; True if `stop` was set."""
        ...


class WallClock:
    def now(self) -> float:
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds))


class ScaledClock:
    """Time that runs `speed` times faster than the wall clock, from `start` (the demo)."""

    def __init__(self, speed: float, start: float | None = None) -> None:
        self.speed = speed
        self._origin = time.monotonic()
        self._start = time.time() if start is None else start

    def now(self) -> float:
        return self._start + (time.monotonic() - self._origin) * self.speed

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(max(0.0, seconds) / self.speed)

"""The high-traffic alert: a pure state machine driven by whole-second timestamps.

The caller feeds hits per second (`add`) and moves time forward (`advance`); nothing here
reads a clock. At every integer instant E the window is the `window` whole seconds
[E - window, E), its average rate is hits / window, and:

* not alerting and rate > threshold  → "triggered" at E (strictly greater: the issue says
  "exceeds");
* alerting and rate <= threshold      → "recovered" at E.

The average always divides by the full window, so no alert can fire before the window has
filled unless the hits seen so far already exceed threshold * window; there is no warm-up.
Seconds that have already been evaluated may still receive late hits as long as they are
inside the current window; older ones are refused (the caller counts them as too late).
Long gaps are skipped in O(1) once the window is empty, so a replay spanning years is cheap,
and an alert still recovers during a gap with no lines at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["AlertEvent", "RateAlert"]


@dataclass(frozen=True)
class AlertEvent:
    state: str  # "triggered" | "recovered"
    at: int  # Unix seconds: the instant the condition was evaluated
    hits: int  # hits in the window at that instant
    window: int
    peak: float  # highest rate (hits/s) seen during the alert; on "triggered" the current rate

    @property
    def rate(self) -> float:
        return self.hits / self.window


class RateAlert:
    def __init__(self, window: int, threshold: float | Fraction, start: int | None = None) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        if threshold < 0:
            raise ValueError("threshold must not be negative")
        self.window = window
        # Compare integers: hits > threshold * window, exactly, with no float rounding.
        self._limit = Fraction(threshold).limit_denominator(1_000_000) * window
        self._pending: dict[int, int] = {}  # second -> hits, for seconds >= now - window
        self._sum = 0  # hits in [now - window, now)
        self.now: int | None = start  # next instant to evaluate is now + 1
        self.active = False
        self._peak = 0

    @property
    def hits(self) -> int:
        """Hits in the current window."""
        return self._sum

    def add(self, second: int, hits: int) -> bool:
        """Count hits at `second`; False when that second has left the window (too late)."""
        if self.now is None:
            self.now = second
        if second < self.now - self.window:
            return False
        self._pending[second] = self._pending.get(second, 0) + hits
        if second < self.now:
            self._sum += hits
        return True

    def advance(self, to: int) -> list[AlertEvent]:
        """Evaluate every instant in (now, to]; returns what changed, in time order."""
        events: list[AlertEvent] = []
        if self.now is None:
            self.now = to
            return events
        pending, window = self._pending, self.window
        while self.now < to:
            if self._sum == 0 and not self.active:
                # Empty window: nothing can happen before the next second that has hits.
                upcoming = [s for s in pending if self.now <= s < to]
                nxt = min(upcoming) if upcoming else to
                if nxt > self.now:
                    for s in [s for s in pending if s < nxt - window]:
                        del pending[s]
                    self.now = nxt
                    continue
            closing = self.now
            self._sum += pending.get(closing, 0)
            self._sum -= pending.pop(closing - window, 0)
            self.now = closing + 1
            if self.active:
                self._peak = max(self._peak, self._sum)
                if self._sum <= self._limit:
                    self.active = False
                    events.append(
                        AlertEvent("recovered", self.now, self._sum, window, self._peak / window)
                    )
            elif self._sum > self._limit:
                self.active = True
                self._peak = self._sum
                events.append(
                    AlertEvent("triggered", self.now, self._sum, window, self._sum / window)
                )
        return events

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

import bisect
import math
from dataclasses import dataclass
from fractions import Fraction
from itertools import repeat

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
        # hits > threshold * window, exactly: hits is an integer, so comparing it with the
        # floor of the exact product is the same test, and an int comparison is cheap.
        self._limit = math.floor(Fraction(threshold).limit_denominator(1_000_000) * window)
        self._pending: dict[int, int] = {}  # second -> hits, for seconds >= now - window
        # Every pending second, sorted, from index _ki on. Entries below now - window may be
        # stale (already dropped from _pending); entries >= now never are.
        self._keys: list[int] = []
        self._ki = 0
        self._sum = 0  # hits in [now - window, now)
        self.now: int | None = start  # next instant to evaluate is now + 1
        self.active = False
        self._peak = 0

    @property
    def hits(self) -> int:
        """Hits in the current window."""
        return self._sum

    @property
    def peak(self) -> float:
        """The highest windowed rate (hits/s) of the current alert so far."""
        return self._peak / self.window

    def add(self, second: int, hits: int) -> bool:
        """Count hits at `second`; False when that second has left the window (too late)."""
        if self.now is None:
            self.now = second
        if second < self.now - self.window:
            return False
        if hits <= 0:
            return True
        known = self._pending.get(second)
        self._pending[second] = (known or 0) + hits
        if known is None:
            bisect.insort(self._keys, second, self._ki)
        if second < self.now:
            self._sum += hits
        return True

    def add_many(self, hits: dict[int, int]) -> int:
        """add() for a block's per-second counts; returns how many hits were too late.

        The same as calling add() for each item in order, done with C-level dict and list
        operations: a sparse log has nearly one distinct second per line."""
        if not hits:
            return 0
        if self.now is None:
            self.now = next(iter(hits))
        now, pending = self.now, self._pending
        late = 0
        if min(hits) < now - self.window or min(hits.values()) <= 0:
            fresh: dict[int, int] = {}
            for second, n in hits.items():
                if second < now - self.window:
                    late += n
                elif n > 0:
                    fresh[second] = n
            hits = fresh
        if pending and not pending.keys().isdisjoint(hits):
            hits = dict(hits)
            for second in pending.keys() & hits.keys():
                n = hits.pop(second)
                pending[second] += n
                if second < now:
                    self._sum += n
        if hits:
            pending.update(hits)
            new = sorted(hits)
            if new[0] < now:
                self._sum += sum(map(hits.__getitem__, new[: bisect.bisect_left(new, now)]))
            keys = self._keys
            del keys[: self._ki]
            self._ki = 0
            sort = bool(keys) and keys[-1] > new[0]
            keys += new
            if sort:
                keys.sort()
        return late

    def advance(self, to: int) -> list[AlertEvent]:
        """Evaluate every instant in (now, to]; returns what changed, in time order."""
        events: list[AlertEvent] = []
        if self.now is None:
            self.now = to
            return events
        pending, window, limit = self._pending, self.window, self._limit
        # Locals in the per-second loop: it runs once per second of log time.
        now, total, active, peak = self.now, self._sum, self.active, self._peak
        get, pop = pending.get, pending.pop
        keys, ki, bisect_left = self._keys, self._ki, bisect.bisect_left
        if not active and total <= limit and now < to:
            # Fast path: even if no hit left the window, the hits already in it plus every
            # hit due in [now, to) stay within the limit, so no instant in (now, to] can
            # trigger: move straight to `to`. (Typical of a replay's many short advances.)
            lo = bisect_left(keys, now, ki)
            due = sum(map(pending.__getitem__, keys[lo : bisect_left(keys, to, lo)]))
            if total + due <= limit:
                total += due
                k = bisect_left(keys, to - window, ki)
                if k > ki:
                    total -= sum(map(pop, keys[ki:k], repeat(0)))
                self.now, self._sum, self._ki = to, total, k
                return events
        while now < to:
            if not active and total <= limit:
                # No new hits before the next pending second, so until then the window sum
                # can only fall and nothing can trigger: jump there, dropping what leaves the
                # window on the way. An empty window makes this the skip over long gaps.
                # (Late hits can push the sum over the limit between two advances; then the
                # next instant must be evaluated, hence `total <= limit`.)
                j = bisect_left(keys, now, ki)
                nxt = keys[j] if j < len(keys) and keys[j] < to else to
                if nxt > now:
                    # Seconds below nxt - window leave; all are < now (none pending in
                    # [now, nxt)), so all are counted in total.
                    k = bisect_left(keys, nxt - window, ki)
                    if k > ki:
                        total -= sum(map(pop, keys[ki:k], repeat(0)))
                        ki = k
                    now = nxt
                    continue
            total += get(now, 0) - pop(now - window, 0)
            now += 1
            if active:
                if total > peak:
                    peak = total
                if total <= limit:
                    active = False
                    events.append(AlertEvent("recovered", now, total, window, peak / window))
            elif total > limit:
                active = True
                peak = total
                events.append(AlertEvent("triggered", now, total, window, total / window))
        self.now, self._sum, self.active, self._peak, self._ki = now, total, active, peak, ki
        return events

"""The one place that reads wall time.

A clock is any callable returning nanoseconds since the epoch. Tests inject their own to
cross midnight or DST without waiting; everything else asks ``now_ns``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]

now_ns: Clock = time.time_ns
#: for intervals (back-off, report rates), never for record timestamps
monotonic: Callable[[], float] = time.monotonic

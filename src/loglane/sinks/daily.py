"""Which daily file a record belongs to: ``logs/app.log`` -> ``logs/app-2026-11-22.log``.

The day comes from the record's own timestamp, so a record stamped 23:59:59.999 lands in that
day's file even when it is written after midnight. Day boundaries are computed with
``time.mktime`` on local midnights, so DST days (23 or 25 hours) are still one file each.
"""

from __future__ import annotations

import calendar
import os
import time

_NS = 1_000_000_000


class DailyNames:
    """Maps record timestamps (ns since the epoch) to daily file paths, caching the current day."""

    __slots__ = ("_end", "_path", "_prefix", "_start", "_suffix", "base", "utc")

    def __init__(self, path: str | os.PathLike[str], *, utc: bool = False) -> None:
        base = os.path.abspath(os.fspath(path))
        self.base = base
        self.utc = utc
        root, ext = os.path.splitext(base)
        self._prefix = root + "-"
        self._suffix = ext
        self._start = 0
        self._end = 0  # [start, end) in ns of the cached day; empty until first use
        self._path = ""

    def path_for(self, ts_ns: int) -> str:
        if self._start <= ts_ns < self._end:
            return self._path
        day, start, end = self.day_bounds(ts_ns)
        self._start, self._end = start, end
        self._path = f"{self._prefix}{day}{self._suffix}"
        return self._path

    def day_of(self, ts_ns: int) -> str:
        """The ``YYYY-MM-DD`` a timestamp belongs to."""
        return self.day_bounds(ts_ns)[0]

    def day_bounds(self, ts_ns: int) -> tuple[str, int, int]:
        """The day's name and its [start, end) in ns, in local time or UTC."""
        secs = ts_ns // _NS
        if self.utc:
            tm = time.gmtime(secs)
            start = calendar.timegm((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0, 0, 0, 0))
            end = start + 86400
        else:
            tm = time.localtime(secs)
            start = _local_midnight(tm.tm_year, tm.tm_mon, tm.tm_mday)
            # Day + 1 via mktime's normalisation (handles month and year ends).
            end = _local_midnight(tm.tm_year, tm.tm_mon, tm.tm_mday + 1)
            if not start <= secs < end:  # a zone whose midnight does not exist; be safe
                start, end = secs - secs % 3600, secs - secs % 3600 + 3600
        day = f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}"
        return day, start * _NS, end * _NS

    def pattern_parts(self) -> tuple[str, str]:
        """The (prefix, suffix) around the date, for retention to recognise its files."""
        return self._prefix, self._suffix


def _local_midnight(year: int, month: int, mday: int) -> int:
    # isdst=-1 lets the C library decide whether DST is in force at that midnight.
    return int(time.mktime((year, month, mday, 0, 0, 0, 0, 0, -1)))

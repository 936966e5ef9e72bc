"""Turning monitor events into what people (text) and programs (JSON lines) read."""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from json.encoder import encode_basestring
from operator import itemgetter
from typing import Any, Protocol, TextIO

from .aggregate import Detail
from .alerts import AlertEvent
from .monitor import AlertPeriod, Event, Quiet, Report, Summary

__all__ = ["JsonRenderer", "Renderer", "TextRenderer", "alert_message", "status_classes"]

TOP = 5


class Renderer(Protocol):
    def event(self, ev: Event) -> None: ...
    def unparsed(self, line: bytes) -> None: ...
    def summary(self, summary: Summary) -> None: ...


_DAYS: dict[int, str] = {}


def _date(t: int) -> str:
    """`YYYY-MM-DD` of instant t (UTC), computed once per day; raises like datetime for an
    instant out of its range."""
    day = t // 86400
    text = _DAYS.get(day)
    if text is None:
        text = datetime.fromtimestamp(day * 86400, UTC).isoformat()[:10]
        if len(_DAYS) > 10_000:
            _DAYS.clear()
        _DAYS[day] = text
    return text


def stamp(t: int) -> str:
    """`datetime.fromtimestamp(t, UTC).isoformat(sep=" ")` for a whole second t, faster."""
    s = t % 86400
    return f"{_date(t)} {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00"


def clock(t: int) -> str:
    """`datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")` for a whole second t, faster."""
    _date(t)
    s = t % 86400
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"


def alert_message(ev: AlertEvent) -> str:
    if ev.state == "triggered":
        return f"High traffic generated an alert - hits = {ev.hits}, triggered at {stamp(ev.at)}"
    return f"High traffic alert recovered at {stamp(ev.at)}"


def status_classes(statuses: Mapping[int, int]) -> dict[str, int]:
    classes = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
    for code, n in statuses.items():
        key = f"{code // 100}xx" if 100 <= code < 600 else "other"
        classes[key] = classes.get(key, 0) + n
    return classes


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _period(p: AlertPeriod, n: int) -> str:
    end = clock(p.recovered) if p.recovered is not None else "now"
    return f"#{n} {clock(p.triggered)} → {end} (peak {p.peak:.1f}/s)"


def top(counter: Mapping[Any, int], n: int | None = None) -> list[tuple[Any, int]]:
    """`Counter.most_common(n)` for any dict of counts; faster for the small ones of one
    interval (the same order: by count, ties in insertion order)."""
    if n is None:
        return sorted(counter.items(), key=_count, reverse=True)
    if len(counter) > 64:
        return heapq.nlargest(n, counter.items(), key=_count)
    return sorted(counter.items(), key=_count, reverse=True)[:n]


_count = itemgetter(1)


def _top(counter: Mapping[Any, int], n: int = TOP) -> str:
    items = top(counter, n)
    return " · ".join([f"{k} {v}" for k, v in items]) if items else "-"


class TextRenderer:
    def __init__(self, out: TextIO, *, flush: bool = True) -> None:
        self.out = out
        self.flush = flush  # live: every event at once; replay: leave it to the buffer

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        if self.flush:
            self.out.flush()

    def event(self, ev: Event) -> None:
        if isinstance(ev, AlertEvent):
            self._write(alert_message(ev))
        elif isinstance(ev, Quiet):
            self._write(
                f"[{stamp(ev.end)}] QUIET {clock(ev.start)}–{clock(ev.end)} "  # noqa: RUF001
                f"({ev.intervals} intervals with no requests)"
            )
        else:
            self._write(self.report(ev))

    def report(self, r: Report) -> str:
        d = r.detail
        seconds = r.end - r.start
        cls = "  ".join([f"{k} {v}" for k, v in status_classes(d.statuses).items()])
        rate = d.hits / seconds if seconds else 0.0
        late = f"   late {r.late}" if r.late else ""
        now = (
            f"ACTIVE since {clock(r.alert.triggered)} (peak {r.alert.peak:.1f}/s)"
            if r.alert
            else "none"
        )
        first = r.history_first
        history = " · ".join([_period(p, first + i) for i, p in enumerate(r.history)]) or "-"
        return (
            f"[{stamp(r.end)}] REPORT {clock(r.start)}–{clock(r.end)} ({seconds} s)\n"  # noqa: RUF001
            f"  hits {d.hits} ({rate:.1f}/s)   {cls}   bytes {human_bytes(d.bytes)}"
            f"   unparsed {r.unparsed}{late}\n"
            f"  top sections  {_top(d.sections)}\n"
            f"  top status    {_top(d.statuses)}\n"
            f"  top hosts     {_top(d.hosts, 3)}\n"
            f"  alert: {now} · window {r.window_rate:.1f}/s · history: {history}"
        )

    def unparsed(self, line: bytes) -> None:
        self._write("unparsed: " + line.decode("utf-8", "backslashreplace"))

    def summary(self, s: Summary) -> None:
        t = s.totals
        span = f"{stamp(s.first)} → {stamp(s.last)}" if s.first is not None and s.last else "-"
        classes = "  ".join(f"{k} {v}" for k, v in status_classes(t.statuses).items())
        paths = " · ".join(f"{p or '-'} {n}" for p, n in s.paths.most_common(TOP)) or "-"
        self._write(
            "\n".join(
                [
                    f"SUMMARY {span}",
                    f"  lines {s.lines}   requests {s.requests}   unparsed {s.unparsed}"
                    f"   hosts {len(s.hosts)}   bytes {human_bytes(t.bytes)}",
                    f"  {classes}",
                    f"  top sections  {_top(t.sections)}",
                    f"  top paths     {paths}",
                    f"  alerts {len(s.alerts)}"
                    + "".join(f"\n    {_period(p, i + 1)}" for i, p in enumerate(s.alerts)),
                ]
            )
        )


def _period_json(p: AlertPeriod) -> dict[str, Any]:
    return {"triggered": p.triggered, "recovered": p.recovered, "peak": round(p.peak, 3)}


def detail_json(d: Detail) -> dict[str, Any]:
    return {
        "hits": d.hits,
        "bytes": d.bytes,
        "status_classes": status_classes(d.statuses),
        "status_codes": {str(k): v for k, v in sorted(d.statuses.items())},
    }


def report_json(ev: Report) -> dict[str, Any]:
    """The JSON object of a report (the definition; `report_line` is the fast equivalent)."""
    d = ev.detail
    return {
        "type": "report",
        "start": ev.start,
        "end": ev.end,
        "seconds": ev.seconds,
        **detail_json(d),
        "rate": round(d.hits / ev.seconds, 3) if ev.seconds else 0.0,
        "sections": top(d.sections, TOP * 2),
        "hosts": top(d.hosts, TOP),
        "unparsed": ev.unparsed,
        "late": ev.late,
        "window_rate": round(ev.window_rate, 3),
        "alert": _period_json(ev.alert) if ev.alert else None,
        "history": [_period_json(p) for p in ev.history],
    }


class _JsonStrings(dict[str, str]):
    """str -> its JSON literal, as json.dumps(ensure_ascii=False) writes it; bounded."""

    def __missing__(self, key: str) -> str:
        value: str = encode_basestring(key)
        if len(self) > 100_000:
            self.clear()
        self[key] = value
        return value


_JSON_STR = _JsonStrings()


def _pairs_json(items: list[tuple[str, int]]) -> str:
    strings = _JSON_STR
    return ", ".join([f"[{strings[k]}, {v!r}]" for k, v in items])


def _top_json(counter: Mapping[str, int], n: int) -> str:
    """`_pairs_json(top(counter, n))`; when all counts are equal (a sparse interval: one hit
    per host) the stable sort would keep the insertion order, so it is skipped."""
    counts = counter.values()
    if len(counter) <= n and min(counts, default=0) == max(counts, default=0):
        return _pairs_json(list(counter.items()))
    return _pairs_json(top(counter, n))


class _Memo(dict[Any, str]):
    """A bounded cache of rendered fragments: intervals repeat the same few status mixes,
    sections and alert periods, so each is rendered once."""

    def __init__(self, render: Any) -> None:
        super().__init__()
        self._render = render

    def __missing__(self, key: Any) -> str:
        value: str = self._render(key)
        if len(self) > 20_000:
            self.clear()
        self[key] = value
        return value


def _statuses_json(items: tuple[tuple[int, int], ...]) -> str:
    statuses: Counter[int] = Counter(dict(items))
    classes = ", ".join([f'"{k}": {v!r}' for k, v in status_classes(statuses).items()])
    codes = ", ".join([f'"{k}": {v!r}' for k, v in sorted(statuses.items())])
    return f'"status_classes": {{{classes}}}, "status_codes": {{{codes}}}'


def _period_key_line(key: tuple[int, int | None, float]) -> str:
    triggered, recovered, peak = key
    return (
        f'{{"triggered": {triggered!r}, "recovered": {"null" if recovered is None else recovered}, '
        f'"peak": {round(peak, 3)!r}}}'
    )


_STATUSES_JSON = _Memo(_statuses_json)
_SECTIONS_JSON = _Memo(lambda items: _pairs_json(top(Counter(dict(items)), TOP * 2)))
_PERIOD_JSON = _Memo(_period_key_line)


def _period_line(p: AlertPeriod) -> str:
    return _PERIOD_JSON[p.triggered, p.recovered, p.peak]


def report_line(ev: Report) -> str:
    """`json.dumps(report_json(ev), ensure_ascii=False) + "\\n"`, written directly: a sparse
    replay has a report every few lines, so this is hot. Tests hold the two equal."""
    d = ev.detail
    seconds = ev.end - ev.start
    hits = d.hits
    rate = round(hits / seconds, 3) if seconds else 0.0
    alert = "null" if ev.alert is None else _period_line(ev.alert)
    history = ", ".join([_period_line(p) for p in ev.history]) if ev.history else ""
    sections = d.sections
    top_sections = (
        _SECTIONS_JSON[tuple(sections.items())]
        if len(sections) <= 4
        else _top_json(sections, TOP * 2)
    )
    return (
        f'{{"type": "report", "start": {ev.start!r}, "end": {ev.end!r}, "seconds": {seconds!r}, '
        f'"hits": {hits!r}, "bytes": {d.bytes!r}, {_STATUSES_JSON[tuple(d.statuses.items())]}, '
        f'"rate": {rate!r}, '
        f'"sections": [{top_sections}], '
        f'"hosts": [{_top_json(d.hosts, TOP)}], "unparsed": {ev.unparsed!r}, '
        f'"late": {ev.late!r}, "window_rate": {round(ev.window_rate, 3)!r}, '
        f'"alert": {alert}, "history": [{history}]}}\n'
    )


class JsonRenderer:
    def __init__(self, out: TextIO, threshold: float, *, flush: bool = True) -> None:
        self.out = out
        self.threshold = threshold
        self.flush = flush

    def _write(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        if self.flush:
            self.out.flush()

    def event(self, ev: Event) -> None:
        if isinstance(ev, AlertEvent):
            self._write(
                {
                    "type": "alert",
                    "state": ev.state,
                    "at": ev.at,
                    "hits": ev.hits,
                    "rate": round(ev.rate, 3),
                    "window": ev.window,
                    "threshold": self.threshold,
                    "message": alert_message(ev),
                }
            )
        elif isinstance(ev, Quiet):
            self._write(
                {"type": "quiet", "start": ev.start, "end": ev.end, "intervals": ev.intervals}
            )
        else:
            self.out.write(report_line(ev))
            if self.flush:
                self.out.flush()

    def unparsed(self, line: bytes) -> None:
        self._write({"type": "unparsed", "line": line.decode("utf-8", "backslashreplace")})

    def summary(self, s: Summary) -> None:
        t = s.totals
        self._write(
            {
                "type": "summary",
                "lines": s.lines,
                "requests": s.requests,
                "unparsed": s.unparsed,
                "late": s.late,
                **detail_json(t),
                "sections": dict(top(t.sections)),
                "top_paths": [[p or "-", n] for p, n in s.paths.most_common(10)],
                "hosts": len(s.hosts),
                "first": s.first,
                "last": s.last,
                "alerts": [_period_json(p) for p in s.alerts],
            }
        )

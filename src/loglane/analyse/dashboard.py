"""`--dashboard`: a live terminal view (rich): rate over time, top sections, alert state.

rich is optional; this module is imported only when --dashboard is asked for.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .alerts import AlertEvent
from .monitor import Event, Quiet, Report, Summary
from .render import alert_message, clock, human_bytes, status_classes
from .render import top as top_counts

__all__ = ["Dashboard", "sparkline"]

BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float], top: float) -> str:
    if top <= 0:
        return " " * len(values)
    return "".join(BARS[min(len(BARS) - 1, round(v / top * (len(BARS) - 1)))] for v in values)


class Dashboard:
    def __init__(self, threshold: float, window: int, width: int = 60) -> None:
        self.threshold = threshold
        self.window = window
        self._rates: deque[float] = deque(maxlen=width)
        self._last: Report | None = None
        self._messages: deque[str] = deque(maxlen=6)
        self._summary: Summary | None = None
        self._live: Any = None

    def start(self) -> None:
        self._live = Live(self.render(), refresh_per_second=4, transient=False)
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.update(self.render())
            self._live.stop()
            self._live = None

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.render())

    def event(self, ev: Event) -> None:
        if isinstance(ev, AlertEvent):
            self._messages.append(alert_message(ev))
        elif isinstance(ev, Quiet):
            self._rates.extend([0.0] * min(ev.intervals, self._rates.maxlen or 0))
        else:
            self._last = ev
            self._rates.append(ev.detail.hits / ev.seconds if ev.seconds else 0.0)
        self._refresh()

    def unparsed(self, line: bytes) -> None:
        pass

    def summary(self, summary: Summary) -> None:
        self._summary = summary
        self._refresh()

    def render(self) -> Group:
        rates = list(self._rates)
        top = max([*rates, self.threshold, 1.0])
        r = self._last
        head = Text()
        if r is None:
            head.append("waiting for the first report…")
        else:
            d = r.detail
            classes = "  ".join(f"{k} {v}" for k, v in status_classes(d.statuses).items())
            head.append(f"{clock(r.start)}–{clock(r.end)}  hits {d.hits}  ")  # noqa: RUF001
            head.append(f"{classes}  bytes {human_bytes(d.bytes)}  unparsed {r.unparsed}")
        chart = Text(sparkline(rates, top), style="cyan")
        chart.append(f"  max {top:.1f}/s, threshold {self.threshold:g}/s")
        sections = Table("section", "hits", box=None)
        if r is not None:
            for name, n in top_counts(r.detail.sections, 8):
                sections.add_row(name, str(n))
        if r is not None and r.alert is not None:
            state = Text(
                f"ALERT since {clock(r.alert.triggered)}, {r.window_rate:.1f}/s over "
                f"{self.window} s",
                style="bold red",
            )
        else:
            rate = r.window_rate if r is not None else 0.0
            state = Text(f"OK, {rate:.1f}/s over {self.window} s", style="green")
        log = Text("\n".join(self._messages) or "no alerts yet", style="yellow")
        return Group(
            Panel(Group(head, chart), title="loglane monitor"),
            Panel(sections, title="top sections"),
            Panel(Group(state, log), title="alert"),
        )

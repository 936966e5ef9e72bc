"""`--html OUT`: one self-contained HTML file (inline SVG, no scripts, no network) for a replay:
requests per second over time, the alert's window average, the threshold line, alert periods
shaded, and the summary tables."""

from __future__ import annotations

import html
from dataclasses import dataclass

from .alerts import AlertEvent
from .monitor import Event, Quiet, Report, Summary
from .render import human_bytes, stamp, status_classes, top

__all__ = ["HtmlReport"]

_CSS = """
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 2em 1em 0;display:inline-table;vertical-align:top}
td{border-bottom:1px solid #ddd;padding:2px 10px} svg{width:100%;border:1px solid #ccc}
.rate{fill:none;stroke:#1f77b4;stroke-width:1} .avg{fill:none;stroke:#ff7f0e;stroke-width:2}
.threshold{stroke:#d62728;stroke-dasharray:6 4} .alert{fill:#d62728;opacity:.15}
text{font-size:12px}
"""

MAX_POINTS = 4000  # points kept for the chart; older ones are merged pairwise beyond this
W, H, PAD = 1100, 320, 48


@dataclass
class _Point:
    start: int
    end: int
    hits: int
    window_rate: float


class HtmlReport:
    def __init__(self, path: str, *, threshold: float, window: int) -> None:
        self.path = path
        self.threshold = threshold
        self.window = window
        self._points: list[_Point] = []

    def event(self, ev: Event) -> None:
        if isinstance(ev, Report):
            self._points.append(_Point(ev.start, ev.end, ev.detail.hits, ev.window_rate))
        elif isinstance(ev, Quiet):
            self._points.append(_Point(ev.start, ev.end, 0, 0.0))
        elif isinstance(ev, AlertEvent):
            return
        if len(self._points) > MAX_POINTS:
            # Bounded memory for long replays: halve the resolution.
            merged = []
            for a, b in zip(self._points[::2], self._points[1::2], strict=False):
                merged.append(
                    _Point(a.start, b.end, a.hits + b.hits, max(a.window_rate, b.window_rate))
                )
            if len(self._points) % 2:
                merged.append(self._points[-1])
            self._points = merged

    def unparsed(self, line: bytes) -> None:
        pass

    def summary(self, summary: Summary) -> None:
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(self.render(summary))

    def _svg(self, summary: Summary) -> str:
        pts = self._points
        if not pts:
            return "<p>No requests.</p>"
        t0, t1 = pts[0].start, max(pts[-1].end, pts[0].start + 1)
        rates = [p.hits / max(1, p.end - p.start) for p in pts]
        top = max([*rates, *(p.window_rate for p in pts), self.threshold, 1e-9]) * 1.1

        def x(t: float) -> float:
            return PAD + (t - t0) / (t1 - t0) * (W - 2 * PAD)

        def y(v: float) -> float:
            return H - PAD - v / top * (H - 2 * PAD)

        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img">']
        for period in summary.alerts:
            end = period.recovered if period.recovered is not None else t1
            parts.append(
                f'<rect class="alert" x="{x(period.triggered):.1f}" y="{PAD}" '
                f'width="{max(1.0, x(end) - x(period.triggered)):.1f}" height="{H - 2 * PAD}">'
                f"<title>alert {html.escape(stamp(period.triggered))}, "
                f"peak {period.peak:.1f}/s</title></rect>"
            )
        steps = " ".join(
            f"{x(p.start):.1f},{y(r):.1f} {x(p.end):.1f},{y(r):.1f}"
            for p, r in zip(pts, rates, strict=True)
        )
        parts.append(f'<polyline class="rate" points="{steps}"/>')
        avg = " ".join(f"{x(p.end):.1f},{y(p.window_rate):.1f}" for p in pts)
        parts.append(f'<polyline class="avg" points="{avg}"/>')
        ty = y(self.threshold)
        anchor = 'text-anchor="end"'
        parts += [
            f'<line class="threshold" x1="{PAD}" x2="{W - PAD}" y1="{ty:.1f}" y2="{ty:.1f}"/>',
            f'<text x="{W - PAD}" y="{ty - 4:.1f}" {anchor}>threshold {self.threshold:g}/s</text>',
            f'<text x="{PAD}" y="{PAD - 8}">{top / 1.1:.1f} req/s</text>',
            f'<text x="{PAD}" y="{H - PAD + 18}">{html.escape(stamp(t0))}</text>',
            f'<text x="{W - PAD}" y="{H - PAD + 18}" {anchor}>{html.escape(stamp(t1))}</text>',
        ]
        parts.append("</svg>")
        return "\n".join(parts)

    def render(self, s: Summary) -> str:
        t = s.totals
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in top(t.sections, 15)
        )
        paths = "".join(
            f"<tr><td>{html.escape(p or '-')}</td><td>{n}</td></tr>"
            for p, n in s.paths.most_common(15)
        )
        codes = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in sorted(t.statuses.items()))
        classes = " · ".join(f"{k} {v}" for k, v in status_classes(t.statuses).items())
        alerts = (
            "".join(
                f"<li>{html.escape(stamp(p.triggered))} → "
                f"{html.escape(stamp(p.recovered)) if p.recovered is not None else 'still active'}"
                f" (peak {p.peak:.1f}/s)</li>"
                for p in s.alerts
            )
            or "<li>none</li>"
        )
        span = (
            f"{stamp(s.first)} → {stamp(s.last)}"
            if s.first is not None and s.last is not None
            else ""
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>loglane monitor report</title>
<style>{_CSS}</style></head><body>
<h1>loglane monitor report</h1>
<p>{html.escape(span)}<br>{s.requests} requests, {s.unparsed} unparsed lines, {len(s.hosts)} hosts,
{html.escape(human_bytes(t.bytes))}; {classes}</p>
<p>Requests per second (blue, per report interval), average over the {self.window} s alert window
(orange), threshold (red dashes), alert periods shaded.</p>
{self._svg(s)}
<h2>Alerts</h2><ol>{alerts}</ol>
<table><tr><th>section</th><th>hits</th></tr>{rows}</table>
<table><tr><th>path</th><th>hits</th></tr>{paths}</table>
<table><tr><th>status</th><th>hits</th></tr>{codes}</table>
</body></html>
"""

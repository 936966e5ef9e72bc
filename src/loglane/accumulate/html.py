"""A self-contained HTML report: totals, the graphs (inline PNG), failing/flaky/all tests."""

from __future__ import annotations

import base64
import time
from html import escape

from loglane.accumulate.graphs import render
from loglane.accumulate.summary import Summary, TestRow

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}
th,td{padding:.25em .7em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}
tr.fail td:first-child{color:#c8453c;font-weight:600}
.tot span{margin-right:1.5em}
img{max-width:100%}
"""


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "-"


def _tests(rows: list[TestRow]) -> str:
    if not rows:
        return "<p>none</p>"
    out = [
        "<table><tr><th>test</th><th>runs</th><th>passed</th><th>failed</th>"
        "<th>skipped</th><th>first seen</th><th>last seen</th><th>sources</th></tr>"
    ]
    for t in rows:
        cls = ' class="fail"' if t.failures else ""
        out.append(
            f"<tr{cls}><td>{escape(t.name)}</td><td>{t.runs}</td><td>{t.passes}</td>"
            f"<td>{t.failures}</td><td>{t.skips}</td><td>{_when(t.first_seen)}</td>"
            f"<td>{_when(t.last_seen)}</td><td>{len(t.sources)}</td></tr>"
        )
    out.append("</table>")
    return "\n".join(out)


def build_html(summary: Summary) -> str:
    png = base64.b64encode(render(summary)).decode("ascii")
    j = summary.to_json()["totals"]
    totals = "".join(
        f"<span><b>{escape(k.replace('_', ' '))}</b>: {v}</span>" for k, v in j.items()
    )
    srcs = sorted(summary.sources.values(), key=lambda r: (-r.failures, r.source))
    src_rows = "\n".join(
        f"<tr><td>{escape(r.source)}</td><td>{r.passes}</td><td>{r.failures}</td>"
        f"<td>{r.skips}</td><td>{r.lines}</td><td>{r.anomalies}</td></tr>"
        for r in srcs
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>loglane results</title><style>{_CSS}</style></head>
<body><h1>loglane results</h1>
<p class="tot">{totals}</p>
<img alt="passes and failures per test; failures over time" src="data:image/png;base64,{png}">
<h2>Failing tests</h2>{_tests(summary.failing())}
<h2>Flaky tests</h2>{_tests(summary.flaky())}
<h2>All tests</h2>{_tests(summary.ordered())}
<h2>Sources</h2>
<table><tr><th>source</th><th>passed</th><th>failed</th><th>skipped</th><th>lines</th>
<th>anomalies</th></tr>
{src_rows}</table>
</body></html>
"""


def write_html(summary: Summary, path: str) -> None:
    text = build_html(summary)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)

"""``loglane results``: the condensed summary of a store, as text, JSON, PNG or HTML."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from loglane.accumulate.store import DEFAULT_STORE, Store, StoreError
from loglane.accumulate.summary import Summary, TestRow, load

LIST_LIMIT = 25  # rows per section in the text summary; --all shows every row


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loglane results", description="Print the condensed pass/fail summary of a store."
    )
    p.add_argument("--store", default=DEFAULT_STORE, help=f"store URL (default {DEFAULT_STORE})")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--png", metavar="OUT", help="write graphs to this PNG file (matplotlib)")
    p.add_argument("--html", metavar="OUT", help="write an HTML report with the graphs")
    p.add_argument("--all", action="store_true", help="list every test and source")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with Store(args.store, create=False) as store:
            summary = load(store)
    except StoreError as exc:
        print(f"loglane results: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary.to_json(), indent=2))
    else:
        print(format_text(summary, limit=None if args.all else LIST_LIMIT))
    try:
        if args.png:
            from loglane.accumulate.graphs import write_png

            write_png(summary, args.png)
        if args.html:
            from loglane.accumulate.html import write_html

            write_html(summary, args.html)
    except ImportError as exc:
        print(f"loglane results: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"loglane results: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "-"


def _table(rows: list[TestRow], limit: int | None) -> list[str]:
    shown = rows if limit is None else rows[:limit]
    width = min(max((len(t.name) for t in shown), default=4), 60)
    out = [f"  {'test':<{width}}  {'runs':>6} {'pass':>6} {'fail':>6} {'fail%':>6}  last seen"]
    for t in shown:
        name = t.name if len(t.name) <= width else t.name[: width - 1] + "…"
        pct = 100.0 * t.failures / t.runs if t.runs else 0.0
        out.append(
            f"  {name:<{width}}  {t.runs:>6} {t.passes:>6} {t.failures:>6} {pct:>5.1f}%"
            f"  {_when(t.last_seen)}"
        )
    if len(shown) < len(rows):
        out.append(f"  … and {len(rows) - len(shown)} more (--all lists them)")
    return out


_DEAD_KINDS = {
    "malformed": "malformed",
    "refused": "refused by the store",
    "unparsable": "unparsable",
}


def _dead_line(s: Summary) -> str:
    if not s.dead_letters:
        return "dead letters: 0"
    kinds = ", ".join(f"{n} {_DEAD_KINDS.get(k, k)}" for k, n in sorted(s.dead.items()))
    return f"dead letters: {s.dead_letters} ({kinds}; the messages wait in the dead-letter queue)"


def format_text(s: Summary, *, limit: int | None = LIST_LIMIT) -> str:
    j = s.to_json()["totals"]
    pct = 100.0 * s.failures / s.runs if s.runs else 0.0
    lines = [
        f"tests: {j['tests']}  runs: {s.runs}  passed: {s.passes}  failed: {s.failures}"
        f" ({pct:.1f}%)  skipped: {s.skips}  flaky: {j['flaky']}",
        f"sources: {j['sources']}  messages: {s.messages}  lines: {j['lines']}"
        f"  unrecognised lines: {j['unparsed_lines']}  anomalies: {j['anomalies']}"
        f"  open tests: {s.open_tests}",
        _dead_line(s),
    ]
    unknown = s.not_understood()
    if unknown:
        names = ", ".join(r.source for r in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        lines.append(f"not understood (nothing recognised): {len(unknown)}: {names}{more}")
    if not s.tests:
        lines.append("no test outcomes yet")
        return "\n".join(lines)
    failing = s.failing()
    lines += ["", f"failing tests ({len(failing)}), most failures first:"]
    lines += _table(failing, limit) if failing else ["  none"]
    flaky = s.flaky()
    lines += ["", f"flaky tests ({len(flaky)}), both passed and failed:"]
    lines += _table(flaky, limit) if flaky else ["  none"]
    passing = sorted(
        (t for t in s.tests.values() if t.runs and not t.failures), key=lambda t: t.name
    )
    lines += ["", f"passing tests ({len(passing)}):"]
    lines += _table(passing, limit) if passing else ["  none"]
    srcs = sorted(s.sources.values(), key=lambda r: (-r.failures, r.source))
    shown = srcs if limit is None else srcs[:limit]
    width = min(max((len(r.source) for r in shown), default=6), 60)
    lines += ["", f"per source ({len(srcs)}):"]
    lines.append(f"  {'source':<{width}}  {'pass':>6} {'fail':>6} {'skip':>6} {'lines':>8}")
    for r in shown:
        name = r.source if len(r.source) <= width else "…" + r.source[-(width - 1) :]
        lines.append(f"  {name:<{width}}  {r.passes:>6} {r.failures:>6} {r.skips:>6} {r.lines:>8}")
    if len(shown) < len(srcs):
        lines.append(f"  … and {len(srcs) - len(shown)} more (--all lists them)")
    return "\n".join(lines)

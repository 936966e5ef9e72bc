"""PNG graphs of a summary: passes/failures per test, failures over time (matplotlib, lazily)."""

from __future__ import annotations

import io
from typing import Any

from loglane.accumulate.summary import Summary

MAX_BARS = 30  # more bars than this stop being readable; the failing ones are kept first
_STEPS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)  # timeline bin widths, seconds
_PASS, _FAIL = "#4c9a5a", "#c8453c"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "graphs need matplotlib, which is not installed: pip install 'loglane[graphs]'"
        ) from None
    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt


def rebin(
    timeline: dict[int, list[int]], max_bins: int = 60
) -> tuple[int, list[tuple[int, int, int]]]:
    """(bin width, [(bin start, passes, failures)]) with at most ``max_bins`` bins."""
    if not timeline:
        return _STEPS[0], []
    lo, hi = min(timeline), max(timeline)
    step = next((s for s in _STEPS if (hi - lo) // s < max_bins), _STEPS[-1])
    # every bin from first to last, empty ones too, so gaps in time look like gaps
    bins: dict[int, list[int]] = {b: [0, 0] for b in range(lo // step * step, hi + 1, step)}
    for bucket, (passes, failures) in timeline.items():
        b = bins.setdefault(bucket // step * step, [0, 0])
        b[0] += passes
        b[1] += failures
    return step, [(b, p, f) for b, (p, f) in sorted(bins.items())]


def render(summary: Summary) -> bytes:
    plt = _pyplot()
    import matplotlib.dates as mdates

    tests = [t for t in summary.ordered() if t.runs][:MAX_BARS]
    hidden = sum(1 for t in summary.tests.values() if t.runs) - len(tests)
    height = 2.8 + 0.28 * max(len(tests), 4)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(10, height + 3.2), gridspec_kw={"height_ratios": [height, 3.2]}
    )
    names = [_short(t.name) for t in tests]
    y = list(range(len(tests)))[::-1]  # failing tests at the top
    ax1.barh(y, [t.passes for t in tests], color=_PASS, label="passed")
    ax1.barh(
        y, [t.failures for t in tests], left=[t.passes for t in tests], color=_FAIL, label="failed"
    )
    ax1.set_yticks(y, names, fontsize=8)
    ax1.set_xlabel("runs")
    more = f" (first {len(tests)}; {hidden} more not shown)" if hidden else ""
    pct = 100.0 * summary.failures / summary.runs if summary.runs else 0.0
    ax1.set_title(
        f"Passes and failures per test{more}\n{summary.runs} runs, {summary.failures} failed "
        f"({pct:.1f}%), {len(summary.flaky())} flaky",
        fontsize=10,
    )
    ax1.legend(loc="lower right", fontsize=8)
    ax1.grid(axis="x", alpha=0.3)
    step, bins = rebin(summary.timeline)
    if bins:
        from datetime import datetime

        from matplotlib.ticker import MaxNLocator

        when = [datetime.fromtimestamp(b + step / 2) for b, _, _ in bins]
        width = step / 86400 * 0.85  # matplotlib dates are in days
        # failures on their own scale (next to passes they vanish), the failure rate beside
        ax2.bar(when, [f for _, _, f in bins], width=width, color=_FAIL, label="failures")
        ax2.set_ylabel("failures")
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        rate = ax2.twinx()
        rates = [100.0 * f / (p + f) if p + f else float("nan") for _, p, f in bins]
        top = max((x for x in rates if x == x), default=0.0)  # x == x: not NaN
        rate.plot(when, rates, color="#555555", marker=".", lw=1, label="failure rate")
        rate.set_ylabel("failure rate %")
        rate.set_ylim(0, max(5.0, min(100.0, top * 1.2)))
        fmt = mdates.DateFormatter("%m-%d %H:%M")  # type: ignore[no-untyped-call]
        ax2.xaxis.set_major_formatter(fmt)
        ax2.tick_params(axis="x", labelrotation=30, labelsize=8)
        handles = ax2.get_legend_handles_labels()
        more = rate.get_legend_handles_labels()
        ax2.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    else:
        ax2.text(0.5, 0.5, "no runs yet", ha="center", va="center", transform=ax2.transAxes)
    ax2.set_title(f"Failures over time (per {_step_name(step)})", fontsize=10)
    ax2.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def _short(name: str, width: int = 48) -> str:
    """Cut the middle of a long name: its start (file) and end (test) tell tests apart."""
    if len(name) <= width:
        return name
    head = width // 3
    return name[:head] + "…" + name[-(width - head - 1) :]


def _step_name(step: int) -> str:
    if step % 86400 == 0:
        return f"{step // 86400} day" + ("s" if step > 86400 else "")
    if step % 3600 == 0:
        return f"{step // 3600} hour" + ("s" if step > 3600 else "")
    return f"{step // 60} minute" + ("s" if step > 60 else "")


def write_png(summary: Summary, path: str) -> None:
    data = render(summary)
    with open(path, "wb") as fh:
        fh.write(data)

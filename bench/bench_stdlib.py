"""The stdlib bridge: what a plain ``logging.getLogger(...).info(...)`` costs its caller.

The same call, ``logging.getLogger("bench").info("request %s took %d ms", "GET /x", i)``, N
times into a file, each contender in a fresh interpreter, R times, interleaved; medians:

* stdlib-FileHandler: the handler on the root logger (formats and writes on the caller's thread);
* stdlib-QueueHandler: stdlib's recipe, QueueHandler + QueueListener(FileHandler);
* loglane-capture: ``loglane.capture_stdlib()`` with a loglane file sink;
* loglane-capture-lean: the same with ``capture_stdlib(lean=True)`` (stdlib stops collecting
  caller file/line/function, thread and process details that loglane's lines do not show);
* loglane-native: ``loglane.get_logger("bench").info(...)``, the same line without stdlib,
  for reference.

Per contender: caller latency (median, p99, p99.9, max, calls >= 1 ms), end-to-end lines/s
from the first call until close/stop has returned, and CPU µs per line (all threads).

Run:  .venv/bin/python bench/bench_stdlib.py [--calls 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any

MSG = "request %s took %d ms"
CONTENDERS = [
    "stdlib-FileHandler",
    "stdlib-QueueHandler",
    "loglane-capture",
    "loglane-capture-lean",
    "loglane-native",
]
LINE = "[%(asctime)s %(name)s %(levelname)s] %(message)s"  # the shape of loglane's default


def setup(name: str, path: str) -> tuple[Any, Any]:
    """(log function, close function) for a contender."""
    import logging

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if name == "stdlib-FileHandler":
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter(LINE))
        root.addHandler(handler)
        return logging.getLogger("bench").info, handler.close
    if name == "stdlib-QueueHandler":
        import logging.handlers
        import queue

        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter(LINE))
        q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        listener = logging.handlers.QueueListener(q, handler)
        listener.start()
        root.addHandler(logging.handlers.QueueHandler(q))

        def close_q() -> None:
            listener.stop()
            handler.close()

        return logging.getLogger("bench").info, close_q
    import loglane

    loglane.configure(level="INFO", sinks=[{"kind": "file", "path": path}])
    if name.startswith("loglane-capture"):
        loglane.capture_stdlib(lean=name.endswith("lean"))
        return logging.getLogger("bench").info, loglane.shutdown
    if name == "loglane-native":
        return loglane.get_logger("bench").info, loglane.shutdown
    raise SystemExit(f"unknown contender {name}")


def one(name: str, calls: int) -> dict[str, Any]:
    from bench_core import measure  # the same timing loop as the core benchmark

    tmp = tempfile.mkdtemp(prefix="loglane-bench-stdlib-")
    info, close = setup(name, os.path.join(tmp, "bench.log"))
    return measure(info, close, MSG, calls, tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", choices=CONTENDERS)
    parser.add_argument("--one", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.calls)))
        return 0
    names = args.only or CONTENDERS
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.runs):  # interleaved, so machine noise hits all alike
        for name in names:
            cmd = [sys.executable, __file__, "--one", name, "--calls", str(args.calls)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                print(f"{name}: failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
                continue
            results.setdefault(name, []).append(json.loads(proc.stdout))
    print(
        "| contender | median µs | p99 µs | p99.9 µs | max µs | calls ≥1 ms | lines/s e2e "
        "| CPU µs/line | lines in file |"
    )
    print("|" + "---|" * 9)
    for name in names:
        runs = results.get(name)
        if not runs:
            continue
        r = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        print(
            f"| {name} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p999']:.1f} | {r['max']:.0f} "
            f"| {r['over_1ms']:.0f} | {r['lines_per_s']:,.0f} | {r['cpu_us_per_line']:.2f} "
            f"| {r['lines_in_file']:,.0f} |"
        )
    print(
        f"\n{args.calls:,} calls per run, median of {args.runs} runs; python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Core logger benchmark: loglane against stdlib logging, picologging, structlog and loguru.

Every contender logs ``log.info("request %s took %d ms", "GET /x", i)`` N times into a file,
each in a fresh interpreter, R times; the table shows medians over the runs:

* caller latency of each call (median, p99, p99.9, max, calls >= 1 ms), timed around the call;
* end-to-end lines/s: from the first call until the contender's close/stop has returned;
* CPU µs per line: the process's CPU time (all threads) over the same span, per line;
* the caller's latency again while the sink stalls 1 ms every 1000 lines written;
* then loglane alone, one thread logging 1M calls in a loop (``--sustained``): whether the
  writer keeps up (lines in file, dropped), with its pacing on, off, and under ``block``.

Run:  .venv/bin/python bench/bench_core.py [--calls 200000] [--runs 3] [--sustained 1000000]
(peers come from the `bench` extra: pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from typing import Any

MSG = "request %s took %d ms"
CONTENDERS = [
    "deque-append",
    "stdlib-FileHandler",
    "stdlib-QueueHandler",
    "picologging",
    "structlog",
    "loguru",
    "loguru-enqueue",
    "loglane",
    "loglane-block",
]
SUSTAINED = ["loglane", "loglane-unpaced", "loglane-block"]
EXTRA: dict[str, Any] = {}  # a contender's own counters (loglane: dropped, paced)


class StallingFile:
    """A text file whose writes stall 1 ms every 1000 lines (a slow disk, a full pipe)."""

    def __init__(self, path: str) -> None:
        self.f = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self.lines = 0

    def write(self, text: str) -> int:
        before = self.lines
        self.lines += text.count("\n")
        if self.lines // 1000 != before // 1000:
            time.sleep(0.001)
        return self.f.write(text)

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def setup(name: str, path: str, stall: bool) -> tuple[Any, Any]:
    """Return (log_function, close_function) for a contender."""
    if name == "deque-append":
        from collections import deque

        q: deque[tuple[Any, ...]] = deque()

        def bare(msg: str, *args: Any) -> None:
            q.append((msg, args))

        def close_bare() -> None:
            with open(path, "w") as f:
                f.writelines(m % a + "\n" for m, a in q)

        return bare, close_bare
    if name.startswith("stdlib") or name == "picologging":
        if name == "picologging":
            import picologging as logging_mod
        else:
            import logging as logging_mod
        logger = logging_mod.getLogger("bench")
        logger.setLevel(logging_mod.INFO)
        logger.propagate = False
        if stall:
            handler: Any = logging_mod.StreamHandler(StallingFile(path))
        else:
            handler = logging_mod.FileHandler(path)
        handler.setFormatter(logging_mod.Formatter(
            "[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        if name == "stdlib-QueueHandler":
            import logging.handlers
            import queue

            qq: queue.SimpleQueue[Any] = queue.SimpleQueue()
            listener = logging.handlers.QueueListener(qq, handler)
            listener.start()
            logger.addHandler(logging.handlers.QueueHandler(qq))

            def close_q() -> None:
                listener.stop()
                handler.close()

            return logger.info, close_q
        logger.addHandler(handler)
        return logger.info, handler.close
    if name == "structlog":
        import logging

        import structlog

        out: Any = StallingFile(path) if stall else open(path, "a")  # noqa: SIM115
        structlog.configure(
            processors=[
                structlog.processors.TimeStamper(fmt="%Y-%m-%d %H:%M:%S", utc=False),
                structlog.processors.add_log_level,
                structlog.processors.KeyValueRenderer(key_order=["timestamp", "level", "event"]),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            logger_factory=structlog.WriteLoggerFactory(file=out),
            cache_logger_on_first_use=True,
        )
        slog = structlog.get_logger()
        return slog.info, out.close
    if name.startswith("loguru"):
        from loguru import logger as lg

        lg.remove()
        target: Any = StallingFile(path) if stall else path
        lg.add(target, enqueue=name.endswith("enqueue"),
               format="[{time:YYYY-MM-DD HH:mm:ss.SSS} {name} {level}] {message}")

        def close_loguru() -> None:
            lg.complete()
            lg.remove()

        return lg.info, close_loguru
    if name.startswith("loglane"):
        import loglane

        if name == "loglane-unpaced":  # what the pacing buys: the same logger without it
            import loglane.logger

            loglane.logger._sleep = lambda seconds: None  # type: ignore[assignment]

        sinks: list[loglane.Sink] = []
        filepath: str | None = path
        if stall:
            filepath = None
            sinks = [StallSink(path)]
        log = loglane.Logger("bench", filepath, stdout_level=None, stderr_level=None,
                             sinks=sinks, overflow="block" if name.endswith("block") else "drop")
        def close_loglane() -> None:
            log.close()
            stats = log.stats()
            EXTRA.update(dropped=stats["dropped"], paced=stats["paced"])

        return log.info, close_loglane
    raise SystemExit(f"unknown contender {name}")


def _stall_sink_class() -> Any:
    import loglane

    class _StallSink(loglane.Sink):
        raw_records = True

        def __init__(self, path: str) -> None:
            super().__init__()
            self.f = StallingFile(path)

        def write(self, records: Any, lines: Any) -> None:
            for i in range(0, len(lines), 1000):  # the same stall per 1000 lines as the others
                self.f.write("\n".join(lines[i:i + 1000]) + "\n")

        def flush(self) -> None:
            self.f.flush()

        def close(self) -> None:
            self.f.close()

    return _StallSink


def StallSink(path: str) -> Any:
    return _stall_sink_class()(path)


def one(name: str, calls: int, stall: bool) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="loglane-bench-")
    info, close = setup(name, os.path.join(tmp, "bench.log"), stall)
    # loguru formats with {}: the same message in its own style
    msg = MSG.replace("%s", "{}").replace("%d", "{}") if name.startswith("loguru") else MSG
    return {"name": name, "stall": stall, **measure(info, close, msg, calls, tmp), **EXTRA}


def measure(info: Any, close: Any, msg: str, calls: int, tmp: str) -> dict[str, Any]:
    """Time ``calls`` calls of ``info(msg, ...)``, then ``close()``; count the lines in tmp."""
    lat = array("q", bytes(8 * calls))
    clock = time.perf_counter_ns
    for i in range(1000):  # warm up caches and lazily created state
        info(msg, "GET /warm", i)
    cpu0, t0 = time.process_time(), time.perf_counter()
    for i in range(calls):
        s = clock()
        info(msg, "GET /x", i)
        lat[i] = clock() - s
    close()
    t1, cpu1 = time.perf_counter(), time.process_time()
    written = 0
    for f in os.listdir(tmp):
        with open(os.path.join(tmp, f), "rb") as fh:
            written += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    lats = sorted(lat)
    return {
        "p50": lats[calls // 2] / 1000,
        "p99": lats[int(calls * 0.99)] / 1000,
        "p999": lats[int(calls * 0.999)] / 1000,
        "max": lats[-1] / 1000,
        "over_1ms": sum(1 for x in lats if x >= 1_000_000),
        "lines_per_s": calls / (t1 - t0),
        "cpu_us_per_line": (cpu1 - cpu0) / calls * 1e6,
        "lines_in_file": written - 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", action="append", choices=CONTENDERS)
    parser.add_argument("--stall", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sustained", type=int, default=1_000_000,
                        help="calls in the one-thread loop of the second table (0: skip it)")
    parser.add_argument("--one", choices=sorted({*CONTENDERS, *SUSTAINED}),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.calls, args.stall)))
        return 0
    print_core(args)
    if args.sustained:
        print_sustained(args)
    return 0


def run_one(name: str, calls: int, stall: bool = False) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--one", name, "--calls", str(calls)]
    proc = subprocess.run(cmd + (["--stall"] if stall else []), capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        print(f"{name}: failed: {proc.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def medians(results: dict[Any, list[dict[str, Any]]]) -> dict[Any, dict[str, float]]:
    return {key: {k: statistics.median(r[k] for r in runs) for k in runs[0]
                  if isinstance(runs[0][k], int | float) and not isinstance(runs[0][k], bool)}
            for key, runs in results.items()}


def print_core(args: argparse.Namespace) -> None:
    results: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for _ in range(args.runs):  # interleave contenders so machine noise hits all alike
        for name in args.only or CONTENDERS:
            for stall in (False, True):
                res = run_one(name, args.calls, stall)
                if res is not None:
                    results.setdefault((name, stall), []).append(res)
    med = medians(results)
    head = ("| contender | median µs | p99 µs | p99.9 µs | max µs | calls ≥1 ms | lines/s e2e "
            "| CPU µs/line | lines in file | stalled sink: median / p99.9 / max µs, ≥1 ms, "
            "lines in file |")
    print(head)
    print("|" + "---|" * 10)
    for name in args.only or CONTENDERS:
        r, s = med.get((name, False)), med.get((name, True))
        if r is None:
            continue
        stalled = (f"{s['p50']:.2f} / {s['p999']:.1f} / {s['max']:.0f}, {s['over_1ms']:.0f}, "
                   f"{s['lines_in_file']:,.0f}" if s else "n/a")
        print(f"| {name} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p999']:.1f} | {r['max']:.0f} "
              f"| {r['over_1ms']:.0f} | {r['lines_per_s']:,.0f} | {r['cpu_us_per_line']:.2f} "
              f"| {r['lines_in_file']:,.0f} | {stalled} |")
    print(f"\n{args.calls:,} calls per run, median of {args.runs} runs; python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs\n")


def print_sustained(args: argparse.Namespace) -> None:
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.runs):
        for name in SUSTAINED:
            res = run_one(name, args.sustained)
            if res is not None:
                results.setdefault(name, []).append(res)
    med = medians(results)
    print("| one thread, sustained | median µs | p99.9 µs | max µs | calls ≥1 ms | lines/s e2e "
          "| CPU µs/line | lines in file | dropped | paced |")
    print("|" + "---|" * 10)
    for name in SUSTAINED:
        r = med.get(name)
        if r is None:
            continue
        print(f"| {name} | {r['p50']:.2f} | {r['p999']:.1f} | {r['max']:.0f} "
              f"| {r['over_1ms']:.0f} | {r['lines_per_s']:,.0f} | {r['cpu_us_per_line']:.2f} "
              f"| {r['lines_in_file']:,.0f} | {r.get('dropped', 0):,.0f} "
              f"| {r.get('paced', 0):,.0f} |")
    print(f"\n{args.sustained:,} calls per run in one loop, median of {args.runs} runs")


if __name__ == "__main__":
    sys.exit(main())

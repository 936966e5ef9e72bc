"""``loglane demo``: loglane's main job on its embedded defaults, with the numbers.

Several threads log at full speed into ./logs for a few seconds; then the demo prints lines
written, lines/s, the callers' latency percentiles and where the files are. Further parts
(the append daemon, the access-log monitor, test-log accumulation) run after it when they are
installed, each on the embedded defaults (no broker needed).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import TextIO

from loglane.logger import Logger

PARTS = ("core", "daemon", "monitor", "accumulate")


def percentile(sorted_values: Sequence[int], q: float) -> int:
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index]


def run_core(out: TextIO, *, seconds: float, threads: int, directory: str) -> int:
    path = os.path.join(directory, "demo.log")
    # block: when the writer falls behind, callers wait for room rather than lose lines
    log = Logger("demo", path, stdout_level=None, stderr_level=None, overflow="block",
                 block_timeout=None)
    stop = threading.Event()
    samples: list[list[int]] = [[] for _ in range(threads)]
    counts = [0] * threads

    def worker(k: int) -> None:
        mine = samples[k]
        clock = time.perf_counter_ns
        info = log.info
        i = 0
        while not stop.is_set():
            for _ in range(64):  # measure one call in 64; the rest run untimed at full speed
                info("request %s took %d ms", "GET /x", i)
                i += 1
            t0 = clock()
            info("request %s took %d ms", "GET /y", i)
            mine.append(clock() - t0)
            i += 1
        counts[k] = i

    workers = [threading.Thread(target=worker, args=(k,), name=f"demo-{k}")
               for k in range(threads)]
    print(f"core: {threads} threads logging at full speed for {seconds:g} s into {directory}/",
          file=out)
    start = time.perf_counter()
    for w in workers:
        w.start()
    deadline = start + seconds
    tty = out.isatty()
    while time.perf_counter() < deadline:
        time.sleep(min(0.25, max(deadline - time.perf_counter(), 0)))
        written = log.stats()["written"]
        text = f"  {time.perf_counter() - start:4.1f} s  {written:>12,} lines written"
        print(("\r" + text) if tty else text, end="" if tty else "\n", file=out, flush=True)
    stop.set()
    for w in workers:
        w.join()
    log.close()
    elapsed = time.perf_counter() - start
    if tty:
        print(file=out)
    stats = log.stats()
    lat = sorted(x for s in samples for x in s)
    files = sorted(os.path.join(directory, f) for f in os.listdir(directory)
                   if f.startswith("demo-"))
    print(f"  lines written   {stats['written']:,} (dropped {stats['dropped']:,}, "
          f"sink errors {stats['errors']})", file=out)
    print(f"  throughput      {stats['written'] / elapsed:,.0f} lines/s end to end "
          f"(until close() returned)", file=out)
    print("  caller latency  " + "  ".join(
        f"p{label} {percentile(lat, q) / 1000:.2f} µs"
        for label, q in (("50", 0.5), ("99", 0.99), ("99.9", 0.999))
    ) + f"  max {lat[-1] / 1000 if lat else 0:.0f} µs", file=out)
    print(f"  files           {', '.join(files)}", file=out)
    return 0 if stats["written"] == sum(counts) else 1


def run_daemon(out: TextIO, *, workdir: str, threads: int = 4, lines: int = 50_000) -> int:
    """The daemon path: ``loglane serve`` on a private socket, loggers sending through it."""
    import signal
    import subprocess

    sock = os.path.join(tempfile.mkdtemp(prefix="ll-", dir="/tmp"), "demo.sock")
    server = subprocess.Popen([sys.executable, "-m", "loglane", "serve", "--socket", sock],
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if server.poll() is not None or time.monotonic() > deadline:
                why = server.stderr.read() if server.stderr else ""
                print(f"daemon: loglane serve did not start: {why}", file=out)
                return 1
            time.sleep(0.01)  # waiting for another process to create its socket
        path = os.path.join(workdir, "via-daemon.log")
        print(f"daemon: {threads} threads, {lines:,} lines each, through `loglane serve` "
              f"({sock})", file=out)
        log = Logger("demo-daemon", path, socket=sock, stdout_level=None, stderr_level=None,
                     overflow="block", block_timeout=None)

        def worker(k: int) -> None:
            for i in range(lines):
                log.info("thread %d line %d", k, i)

        start = time.perf_counter()
        workers = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        log.close()
        elapsed = time.perf_counter() - start
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(30)
    files = sorted(os.path.join(workdir, f) for f in os.listdir(workdir))
    counted = 0
    for name in files:
        with open(name, "rb") as f:
            counted += sum(1 for _ in f)
    print(f"  lines in files  {counted:,} of {threads * lines:,}, {counted / elapsed:,.0f} "
          f"lines/s; the daemon exited {code} on SIGTERM", file=out)
    print(f"  files           {', '.join(files)}", file=out)
    return 0 if counted == threads * lines and code == 0 else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loglane demo", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="core part duration")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--dir", default="logs", help="where the log files go (./logs)")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.threads < 1:
        parser.error("--seconds must be > 0 and --threads >= 1")
    try:
        os.makedirs(args.dir, exist_ok=True)
    except OSError as exc:
        print(f"loglane demo: cannot create {args.dir!r}: {exc.strerror}", file=sys.stderr)
        return 2
    out = sys.stdout
    parts = args.only or list(PARTS)
    status = 0
    if "core" in parts:
        status |= run_core(out, seconds=args.seconds, threads=args.threads, directory=args.dir)
    if "daemon" in parts:
        print(file=out)
        status |= run_daemon(out, workdir=tempfile.mkdtemp(prefix="daemon-", dir=args.dir))
    for part, module in (("monitor", "loglane.analyse.demo"),
                         ("accumulate", "loglane.accumulate.demo")):
        if part not in parts:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            if args.only:
                print(f"loglane demo: part {part!r} is not available", file=sys.stderr)
                status |= 2
            continue
        print(file=out)
        workdir = tempfile.mkdtemp(prefix=f"loglane-demo-{part}-", dir=args.dir)
        status |= int(mod.run(out, workdir=workdir))
    return status

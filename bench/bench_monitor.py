"""Replay speed of `loglane monitor --replay --json` against GoAccess, same file, same run.

    .venv/bin/python bench/bench_monitor.py [--lines 1000000] [--runs 3] [--sample elastic|nasa]
        [--data DIR]

The input is elastic's Apache sample repeated into a temporary file until it holds `--lines`
lines (1M by default); `--sample nasa` takes the NASA August 1995 excerpt instead (a denser
log: more lines per second, shorter lines). Both come from tests/data/accesslog (1,403 and
5,239 lines, see SOURCES.md there); `--data DIR` reads files of the same names from DIR
instead, e.g. the untrimmed 10,000- and 20,000-line originals.
Each copy moves the year on by one (2015, 2016, ...), so the log
keeps going forward in time as a real log does; without that every later copy would be
hours behind the first and the monitor would treat it as late lines. GoAccess parses the same
file with --log-format=COMBINED (COMMON for the NASA log) and --no-ip-validation (NASA's
clients are hostnames). For each tool: the median over the runs of wall-clock lines/s, and of
lines per CPU-second (user + system time of the process and its children, so loglane's worker
processes count). A naive single-core Python loop (one regex match and a few dict counts per
line, no windows, no reports) is shown for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests/data/accesslog"
SAMPLES = {  # name: (file, year of its lines, GoAccess --log-format)
    "elastic": ("elastic_apache_logs.log", 2015, "COMBINED"),
    "nasa": ("nasa_aug95_excerpt.log", 1995, "COMMON"),
}


def make_input(
    path: Path, lines: int, sample: str = "elastic", data: Path = DATA
) -> tuple[int, int]:
    """Write copies of the sample, each a year later, until there are `lines` lines; return
    (lines written, copies)."""
    name, year, _ = SAMPLES[sample]
    raw = (data / name).read_bytes()
    copies = max(1, -(-lines // raw.count(b"\n")))
    with open(path, "wb") as f:
        for k in range(copies):
            f.write(raw.replace(f"/{year}:".encode(), f"/{year + k}:".encode()))
    return raw.count(b"\n") * copies, copies


def timed(cmd: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def regex_loop(path: Path) -> tuple[float, float]:
    """The naive monitor: one regex match per line, a dict count per field."""
    pattern = re.compile(
        rb'(\S+) \S+ \S+ \[([^\]]+)\] "(?:\S+ (/[^/ ?"]*)[^"]*|-|)" (\d{3}) (\d+|-)'
    )
    start, cpu0 = time.perf_counter(), time.process_time()
    hosts: dict[bytes, int] = {}
    seconds: dict[bytes, int] = {}
    sections: dict[bytes, int] = {}
    statuses: dict[bytes, int] = {}
    size = 0
    with open(path, "rb") as f:
        for line in f:
            m = pattern.match(line)
            if m is None:
                continue
            host, when, section, status, nbytes = m.groups()
            hosts[host] = hosts.get(host, 0) + 1
            seconds[when] = seconds.get(when, 0) + 1
            sections[section] = sections.get(section, 0) + 1
            statuses[status] = statuses.get(status, 0) + 1
            if nbytes != b"-":
                size += int(nbytes)
    return time.perf_counter() - start, time.process_time() - cpu0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="lines of input, at least")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None, help="loglane worker processes")
    ap.add_argument("--sample", choices=sorted(SAMPLES), default="elastic", help="input log")
    ap.add_argument("--data", type=Path, default=DATA, help=f"folder of the samples ({DATA})")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        log = Path(tmp) / "access.log"
        lines, copies = make_input(log, args.lines, args.sample, args.data)
        size_mb = log.stat().st_size / 1e6
        log_format = SAMPLES[args.sample][2]
        sample = args.data / SAMPLES[args.sample][0]
        print(f"input: {lines:,} lines, {size_mb:.0f} MB ({copies} x {sample})")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
        results: dict[str, list[tuple[float, float]]] = {}

        loglane = [sys.executable, "-m", "loglane", "monitor", "--replay", "--json", str(log)]
        if args.jobs:
            loglane += ["--jobs", str(args.jobs)]
        goaccess = shutil.which("goaccess")
        version = ""
        if goaccess:
            version = subprocess.run(
                [goaccess, "--version"], capture_output=True, text=True
            ).stdout.split("\n")[0]
        for _ in range(args.runs):
            wall, cpu, out = timed(loglane)
            summary = json.loads(out.splitlines()[-1])
            assert summary["requests"] == lines, summary["requests"]
            results.setdefault("loglane monitor --replay --json", []).append((wall, cpu))
            if goaccess:
                report = Path(tmp) / "goaccess.json"
                cmd = [goaccess, str(log), f"--log-format={log_format}", "--no-global-config",
                       "--no-ip-validation", "-o", str(report)]  # fmt: skip
                wall, cpu, _ = timed(cmd)
                total = json.loads(report.read_text())["general"]["valid_requests"]
                assert total == lines, total
                results.setdefault(f"{version} ({log_format}, JSON report)", []).append((wall, cpu))
            wall, cpu = regex_loop(log)
            results.setdefault(
                "naive Python loop: regex + dict counts per line, no windows (1 core)", []
            ).append((wall, cpu))
        if not goaccess:
            print("goaccess is not installed: skipped (apt-get install goaccess)")
        print()
        print("| tool | lines/s (wall) | lines per CPU-second | wall s | CPU s |")
        print("|---|---:|---:|---:|---:|")
        for name, runs in results.items():
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            print(f"| {name} | {lines / wall:,.0f} | {lines / cpu:,.0f} | {wall:.2f} | {cpu:.2f} |")
        print(f"\nmedians of {args.runs} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Append-daemon benchmark: loglane (client + `loglane serve`) against offlog 0.3.1 (its
Logger/ProxyFile + its own server), in one run.

For each contender and scenario, in fresh interpreters, R times (medians shown):

* end-to-end lines/s (a run without timers in the caller's loop): from the first log call
  until every client's close() has returned (both wait for the daemon's BYE, i.e. every
  line is in the file); the file is then checked: lines counted, and lines that are not
  exactly one log line counted as "torn";
* the caller's cost per call (median, p99; a second run), timed around each call, minus the
  timer's own cost.

Scenarios: 1 client; 4 processes on one file; 4 processes on four files; 1 client paced at
one call per 0.5 ms (the caller's cost when the client's thread is not kept busy: wake-ups
and cold caches, not a tight loop); and the daemons' own capacity: 4 raw-socket clients on
one file sending preformatted lines in 64 KiB chunks (10x the lines each; no caller cost).
Contenders: `loglane` = loglane.Logger(name, path, socket=...) (DaemonSink on the writer
thread, overflow="block" so no line is dropped); `loglane-proxyfile` = loglane.daemon.ProxyFile
writing preformatted bytes; `offlog` = offlog.Logger(...) through `python -m offlog`;
`offlog-proxyfile` = offlog.ProxyFile writing preformatted bytes.

Run:  .venv/bin/python bench/bench_daemon.py [--lines 100000] [--runs 3] [--markdown]
      [--only loglane,offlog-raw,...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from array import array
from typing import Any

CONTENDERS = ["loglane", "loglane-proxyfile", "offlog", "offlog-proxyfile"]
PACED = "1 client, paced"
PACE = 0.0005  # one call every 0.5 ms: what an application that is not a benchmark does
PACED_CALLS = 4000
SCENARIOS = ["1 client", "4 procs, 1 file", "4 procs, 4 files", PACED]
# The daemons alone: 4 raw-socket clients on one file, 10x the lines each.
CAPACITY = ("4 raw clients, 1 file", ["loglane-raw", "offlog-raw"])
MSG = "request %s took %d ms"
# One log line, whatever the logger's prefix: "... request w3 123 took 123 ms"
LINE = re.compile(rb"^.*request w\d+ \d+ took \d+ ms$")


# ---- the worker: one client process -------------------------------------------------------


def worker(
    kind: str, sock: str, path: str, n: int, tag: str, pace: float = 0.0, timed: bool = True
) -> None:
    timer = time.perf_counter_ns
    if kind == "loglane":
        from loglane.logger import Logger

        log = Logger(
            "bench", path, socket=sock, stdout_level=None, stderr_level=None, overflow="block"
        )
        call = log.info
        close = log.close
    elif kind == "offlog":
        import offlog

        olog = offlog.Logger(
            "bench", path, stdout_level=None, stderr_level=None, offlog_socket_path=sock
        )
        call = olog.info
        close = olog.close
    elif kind == "loglane-proxyfile":
        from loglane.daemon import ProxyFile

        f = ProxyFile(path, socket=sock)
        call = None
        write = f.write
        close = f.close
    elif kind == "offlog-proxyfile":
        import offlog

        of = offlog.ProxyFile(path, sock_path=sock)
        call = None
        write = of.write
        close = of.close
    elif kind.endswith("-raw"):
        raw_client(sock, path, n, tag)
        return
    else:
        raise SystemExit(f"unknown contender {kind}")
    # Timer overhead, to subtract from the per-call numbers.
    empty = array("q", [0]) * 10000
    for i in range(10000):
        t0 = timer()
        empty[i] = timer() - t0
    overhead = statistics.median(empty)
    durations = array("q", [0]) * n
    who = f"{tag} "
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says go to all workers at once
    start = time.time()
    if not timed:  # the throughput run: no timer in the caller's loop
        if call is not None:
            for i in range(n):
                call(MSG, who + str(i), i)
        else:
            btag = tag.encode()
            for i in range(n):
                write(b"request %s %d took %d ms\n" % (btag, i, i))
    elif call is not None:
        for i in range(n):
            t0 = timer()
            call(MSG, who + str(i), i)
            durations[i] = timer() - t0
            if pace:
                time.sleep(pace)
    else:
        for i in range(n):
            data = b"request %s %d took %d ms\n" % (tag.encode(), i, i)
            t0 = timer()
            write(data)
            durations[i] = timer() - t0
            if pace:
                time.sleep(pace)
    close()
    end = time.time()
    ordered = sorted(durations)
    print(
        json.dumps(
            {
                "start": start,
                "end": end,
                "median_ns": max(0.0, ordered[n // 2] - overhead),
                "p99_ns": max(0.0, ordered[int(n * 0.99)] - overhead),
            }
        ),
        flush=True,
    )


def raw_client(sock_path: str, path: str, n: int, tag: str) -> None:
    """The daemon's own capacity: a raw socket sending preformatted lines in 64 KiB chunks."""
    lines = [b"request %s %d took %d ms\n" % (tag.encode(), i, i) for i in range(n)]
    chunks = []
    for i in range(0, n, 2000):
        chunks.append(b"".join(lines[i : i + 2000]))
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(path.encode() + b"\0")
    assert s.recv(3) == b"OK\0"
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.time()
    for chunk in chunks:
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):  # until the daemon's BYE and close: everything is written
        pass
    end = time.time()
    print(json.dumps({"start": start, "end": end, "median_ns": 0.0, "p99_ns": 0.0}), flush=True)


# ---- the parent: daemons, scenarios, table ------------------------------------------------


def wait_listening(path: str, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"daemon exited with {proc.returncode}")
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(path)
                return
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise SystemExit(f"daemon did not listen on {path}")
        time.sleep(0.02)


def start_daemon(kind: str, sock: str) -> subprocess.Popen[bytes]:
    if kind.startswith("loglane"):
        cmd = [sys.executable, "-m", "loglane", "serve", "--socket", sock]
    else:
        cmd = [sys.executable, "-m", "offlog", "-s", sock]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(sock, proc)
    return proc


def run_once(kind: str, scenario: str, n: int, workdir: str, timed: bool) -> dict[str, Any]:
    sock = os.path.join(workdir, "s")
    daemon = start_daemon(kind, sock)
    try:
        clients = 1 if scenario.startswith("1 client") else 4
        pace = PACE if scenario == PACED else 0.0
        if kind.endswith("-raw") and scenario.endswith("1 file"):
            clients = 4
        paths = [
            os.path.join(workdir, f"app{k if scenario.endswith('4 files') else 0}.log")
            for k in range(clients)
        ]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    kind,
                    sock,
                    paths[k],
                    str(n),
                    f"w{k}",
                    str(pace),
                    "1" if timed else "0",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for k in range(clients)
        ]
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"{kind} worker failed to start")
        go = time.time()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=600)
            if p.returncode != 0:
                raise SystemExit(f"{kind} worker exited {p.returncode}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = max(r["end"] for r in results) - go
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            daemon.kill()
    lines = torn = 0
    for name in os.listdir(workdir):
        if name.startswith("app"):
            with open(os.path.join(workdir, name), "rb") as f:
                for line in f:
                    lines += 1
                    if not LINE.match(line.rstrip(b"\n")):
                        torn += 1
            os.unlink(os.path.join(workdir, name))
    expected = n * len(results)
    return {
        "lines_per_s": expected / elapsed,
        "median_ns": statistics.median(r["median_ns"] for r in results),
        "p99_ns": statistics.median(r["p99_ns"] for r in results),
        "lines": lines,
        "expected": expected,
        "torn": torn,
    }


def rate(row: dict[str, Any]) -> str:
    # A paced run measures the caller only; its lines/s is the pace.
    return "—" if row["scenario"] == PACED else f"{row['lines_per_s']:,.0f}"


def cost(row: dict[str, Any], key: str) -> str:
    return "—" if row["contender"].endswith("-raw") else f"{row[key] / 1000:.2f} µs"


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in and args_in[0] == "--worker":
        _, kind, sock, path, n, tag, pace, timed = args_in
        worker(kind, sock, path, int(n), tag, float(pace), timed == "1")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100_000, help="log calls per client")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--only", default=None, help="comma-separated contenders")
    args = parser.parse_args(args_in)
    contenders = args.only.split(",") if args.only else CONTENDERS
    clients = [k for k in contenders if not k.endswith("-raw")]
    raws = [k for k in contenders if k.endswith("-raw")] if args.only else CAPACITY[1]
    plan = [
        (scenario, kind, PACED_CALLS if scenario == PACED else args.lines)
        for scenario in SCENARIOS
        for kind in clients
    ]
    plan += [(CAPACITY[0], kind, args.lines * 10) for kind in raws]
    # Rounds interleave the contenders, so the machine's noise hits all of them alike. Each
    # round runs throughput without timers in the caller's loop, then the caller's cost with
    # a timer around each call (the paced scenario only measures cost, raw clients only rate).
    rates: dict[tuple[str, str], list[dict[str, Any]]] = {(sc, k): [] for sc, k, _ in plan}
    costs: dict[tuple[str, str], list[dict[str, Any]]] = {(sc, k): [] for sc, k, _ in plan}
    for round_no in range(args.runs):
        for scenario, kind, lines in plan:
            for timed, into in ((False, rates), (True, costs)):
                if (timed and kind.endswith("-raw")) or (not timed and scenario == PACED):
                    continue
                workdir = tempfile.mkdtemp(prefix="llb", dir="/tmp")
                try:
                    result = run_once(kind, scenario, lines, workdir, timed)
                finally:
                    shutil.rmtree(workdir, ignore_errors=True)
                into[scenario, kind].append(result)
                if timed:
                    what = f"median {result['median_ns'] / 1000:.2f} µs"
                    what += f" p99 {result['p99_ns'] / 1000:.2f} µs"
                else:
                    what = f"{result['lines_per_s']:,.0f} lines/s"
                print(
                    f"# round {round_no + 1}: {scenario} / {kind}: {what}, "
                    f"missing {result['expected'] - result['lines']}, torn {result['torn']}",
                    file=sys.stderr,
                    flush=True,
                )
    rows = []
    for scenario, kind, _ in plan:
        r_rates, r_costs = rates[scenario, kind], costs[scenario, kind]
        every = r_rates + r_costs
        rows.append(
            {
                "scenario": scenario,
                "contender": kind,
                "lines_per_s": statistics.median(r["lines_per_s"] for r in r_rates or r_costs),
                "median_ns": statistics.median(r["median_ns"] for r in r_costs or r_rates),
                "p99_ns": statistics.median(r["p99_ns"] for r in r_costs or r_rates),
                "missing": max(r["expected"] - r["lines"] for r in every),
                "torn": max(r["torn"] for r in every),
            }
        )
    if args.markdown:
        print("| scenario | contender | lines/s | caller median | caller p99 | missing | torn |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for r in rows:
            print(
                f"| {r['scenario']} | {r['contender']} | {rate(r)} | "
                f"{cost(r, 'median_ns')} | {cost(r, 'p99_ns')} | "
                f"{r['missing']} | {r['torn']} |"
            )
        print()
        print(
            f"{args.lines:,} calls per client ({PACED_CALLS:,} paced), median of {args.runs} "
            f"runs; python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} at the end"
        )
    else:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

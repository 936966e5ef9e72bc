"""Live mode: tail -F semantics (the test writes, rotates and truncates the file itself), the
monitor on an injected clock, and the real command following a file until SIGINT."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from loglane.analyse.accesslog import FORMATS
from loglane.analyse.aggregate import Aggregator
from loglane.analyse.follow import Follower
from loglane.analyse.monitor import Monitor
from loglane.analyse.render import JsonRenderer
from loglane.analyse.run import live


def clf(t: float, path: str = "/api/x", status: int = 200) -> bytes:
    ts = datetime.fromtimestamp(int(t), UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'10.0.0.1 - - [{ts}] "GET {path} HTTP/1.1" {status} 100\n'.encode()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


# --- Follower ------------------------------------------------------------------------------


def test_starts_at_the_end_and_keeps_partial_lines(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"old line\n")
    f = Follower(str(log))
    assert f.poll() == b""
    append(log, b"one\ntw")
    assert f.poll() == b"one\n"
    assert f.poll() == b""
    append(log, b"o\r\nthree\n")
    assert f.poll() == b"two\r\nthree\n"
    f.close()


def test_from_start(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"old line\n")
    assert Follower(str(log), from_start=True).poll() == b"old line\n"


def test_truncation_restarts_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"")
    f = Follower(str(log))
    append(log, b"a long first line\n")
    assert f.poll() == b"a long first line\n"
    with open(log, "wb") as w:  # copytruncate: same inode, shorter
        w.write(b"new\n")
    assert f.poll() == b"new\n"
    assert f.truncations == 1


def test_rotation_drains_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"")
    f = Follower(str(log))
    writer = open(log, "ab")  # noqa: SIM115 - a server keeping its descriptor across rotation
    writer.write(b"before\n")
    writer.flush()
    assert f.poll() == b"before\n"
    os.rename(log, tmp_path / "access.log.1")
    writer.write(b"late in old file, no newline")
    writer.flush()
    writer.close()
    log.write_bytes(b"first of new\n")
    assert f.poll() == b"late in old file, no newline\nfirst of new\n"
    assert f.rotations == 1
    append(log, b"second of new\n")
    assert f.poll() == b"second of new\n"


def test_waits_for_a_missing_file_and_survives_deletion(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    f = Follower(str(log))
    assert f.poll() == b""
    log.write_bytes(b"appeared\n")
    assert f.poll() == b"appeared\n"  # a file that appears later is read from its start
    log.unlink()
    assert f.poll() == b""
    assert f.poll() == b""
    log.write_bytes(b"again\n")
    assert f.poll() == b"again\n"


# --- live mode on an injected clock ------------------------------------------------------


class ScriptedClock:
    """Wall time that only moves when the monitor waits; actions run when their time comes."""

    def __init__(self, start: float, actions: list[tuple[float, object]], end: float) -> None:
        self.t = start
        self.actions = sorted(actions, key=lambda a: a[0])
        self.end = end

    def now(self) -> float:
        return self.t

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.t += seconds
        while self.actions and self.actions[0][0] <= self.t:
            _, action = self.actions.pop(0)
            action()  # type: ignore[operator]
        if self.t >= self.end:
            stop.set()
        return stop.is_set()


class Lines:
    def __init__(self) -> None:
        self.objs: list[dict] = []

    def write(self, text: str) -> None:
        self.objs += [json.loads(line) for line in text.splitlines() if line]

    def flush(self) -> None:
        pass


def test_live_mode_on_a_scripted_clock(tmp_path: Path) -> None:
    """Reports come every interval of wall time even with no lines; the alert is evaluated
    every wall second, so it recovers during the silence that follows a burst."""
    log = tmp_path / "access.log"
    log.write_bytes(clf(0) * 5)  # history before the monitor starts: not counted
    t0 = 1_800_000_000.0
    # a burst of 40 lines stamped t0+3 .. t0+6 written at t0+7 (a little late, as servers do)
    burst = b"".join(clf(t0 + 3 + i % 4) for i in range(40))
    actions = [(t0 + 7, lambda: append(log, burst)), (t0 + 31.5, lambda: append(log, clf(t0 + 31)))]
    clock = ScriptedClock(t0, actions, end=t0 + 45)
    out = Lines()
    monitor = Monitor(interval=10, window=10, threshold=2.0)
    live(
        Follower(str(log)),
        Aggregator(FORMATS["combined"], 10),
        monitor,
        [JsonRenderer(out, 2.0)],  # type: ignore[arg-type]
        clock,
        threading.Event(),
        poll=0.25,
    )
    reports = [o for o in out.objs if o["type"] == "report"]
    assert [(r["start"] - t0, r["end"] - t0, r["hits"]) for r in reports] == [
        (0, 10, 40),
        (10, 20, 0),  # nothing arrived: still a report
        (20, 30, 0),
        (30, 40, 1),
        (40, 46, 0),  # the partial interval at the stop, its current second included
    ]
    alerts = [(o["state"], o["at"] - t0, o["hits"]) for o in out.objs if o["type"] == "alert"]
    # the lines arrive at t0+7 (the poll at 7.0), so the window [-3, 7) holds all 40
    # window [5, 15) holds 20 hits = 2.0/s, no longer above the threshold
    assert alerts == [("triggered", 7, 40), ("recovered", 15, 20)]
    summary = out.objs[-1]
    assert summary["type"] == "summary" and summary["requests"] == 41


# --- the real command --------------------------------------------------------------------


def test_follow_write_rotate_truncate_then_sigint(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(clf(time.time() - 3600) * 3)  # old content: skipped
    proc = subprocess.Popen(
        [sys.executable, "-m", "loglane", "monitor", str(log), "--json",
         "--interval", "1", "--window", "2", "--threshold", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[dict] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    seen: list[dict] = []

    def wait_for(pred, timeout: float = 15.0) -> dict:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                obj = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(obj)
            if pred(obj):
                return obj
        raise AssertionError(f"timed out; saw {seen[-5:]}")

    try:
        wait_for(lambda o: o["type"] == "report")  # running: reports come with no lines
        append(log, b"".join(clf(time.time()) for _ in range(20)))
        wait_for(lambda o: o["type"] == "alert" and o["state"] == "triggered")
        wait_for(lambda o: o["type"] == "alert" and o["state"] == "recovered")
        os.rename(log, tmp_path / "access.log.1")
        log.write_bytes(b"".join(clf(time.time(), "/rotated") for _ in range(3)))
        wait_for(lambda o: o["type"] == "report" and ["/rotated", 3] in o["sections"])
        with open(log, "wb") as w:
            w.write(clf(time.time(), "/truncated") + b"not a request\n")
        wait_for(lambda o: o["type"] == "report" and ["/truncated", 1] in o["sections"])
        proc.send_signal(signal.SIGINT)
        summary = wait_for(lambda o: o["type"] == "summary")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert summary["requests"] == 24 and summary["unparsed"] == 1
    assert summary["sections"] == {"/api": 20, "/rotated": 3, "/truncated": 1}
    assert len(summary["alerts"]) == 1 and summary["alerts"][0]["recovered"] is not None
    assert proc.stderr is not None and proc.stderr.read() == ""


def test_live_from_a_pipe_until_eof() -> None:
    data = b"".join(clf(time.time(), "/pipe/x") for _ in range(30)) + b"garbage\n"
    proc = subprocess.run(
        [sys.executable, "-m", "loglane", "monitor", "-", "--json", "--interval", "1",
         "--window", "2", "--threshold", "5"],
        input=data, capture_output=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert objs[-1]["type"] == "summary"
    assert objs[-1]["requests"] == 30 and objs[-1]["unparsed"] == 1
    assert objs[-1]["sections"] == {"/pipe": 30}
    assert any(o["type"] == "alert" and o["state"] == "triggered" for o in objs)

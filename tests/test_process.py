"""Whole-process behaviour, in child interpreters: exit, signals, fork, signal handlers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run(script: str, tmp_path: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=timeout, cwd=tmp_path)


def lines_of(tmp_path: Path) -> list[str]:
    out: list[str] = []
    for path in sorted((tmp_path / "logs").iterdir()):
        out += path.read_text().splitlines()
    return out


@pytest.mark.parametrize("overflow", ["drop", "block"])
def test_a_normal_exit_without_close_keeps_every_accepted_line(
    tmp_path: Path, overflow: str
) -> None:
    proc = run(f"""
        import loglane
        log = loglane.Logger("exit", "logs/app.log", stdout_level=None, stderr_level=None,
                             overflow={overflow!r})
        for i in range(200_000):
            log.info("line %d", i)
        print(log.stats()["enqueued"])
        # no close(): the interpreter's exit must drain
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    accepted = int(proc.stdout)
    lines = [ln for ln in lines_of(tmp_path) if "loglane dropped" not in ln]
    assert len(lines) == accepted
    if overflow == "block":
        assert accepted == 200_000
        assert lines[-1].endswith("] line 199999")


SLOW_SINK = """
import os, time
os.makedirs("logs", exist_ok=True)
out = open("logs/slow.log", "a")
count = 0
def slow_write(line):  # a sink slower than the producer: 1 ms every 10 lines
    global count
    out.write(line + "\\n"); out.flush()
    count += 1
    if count % 10 == 0:
        time.sleep(0.001)
"""


def test_with_a_slow_sink_the_stdlib_queue_recipe_loses_lines_at_exit_and_loglane_does_not(
    tmp_path: Path,
) -> None:
    # The comparison the issue makes: QueueHandler + QueueListener, no stop() before exit.
    proc = run(SLOW_SINK + """
import logging, logging.handlers, queue
class Slow(logging.Handler):
    def emit(self, record):
        slow_write(self.format(record))
q = queue.SimpleQueue()
logging.handlers.QueueListener(q, Slow()).start()
log = logging.getLogger("std")
log.addHandler(logging.handlers.QueueHandler(q))
log.setLevel(logging.INFO)
for i in range(20_000):
    log.info("line %d", i)
""", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(lines_of(tmp_path)) < 10_000  # most were still queued when the process ended
    (tmp_path / "logs" / "slow.log").unlink()
    proc = run(SLOW_SINK + """
import loglane
log = loglane.Logger("ll", None, stdout_level=None, stderr_level=None,
                     sinks=[loglane.CallableSink(slow_write)])
for i in range(20_000):
    log.info("line %d", i)
""", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(lines_of(tmp_path)) == 20_000


def test_sigterm_drains_then_exits_as_the_default_would(tmp_path: Path) -> None:
    proc = run("""
        import os, signal, loglane
        loglane.install_signal_handlers()
        log = loglane.Logger("term", "logs/app.log", stdout_level=None, stderr_level=None)
        for i in range(100_000):
            log.info("line %d", i)
        os.kill(os.getpid(), signal.SIGTERM)
        log.info("never reached")
    """, tmp_path)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    lines = lines_of(tmp_path)
    assert len(lines) == 100_000 and "never reached" not in lines[-1]


def test_sigint_drains_then_raises_keyboardinterrupt(tmp_path: Path) -> None:
    proc = run("""
        import os, signal, loglane
        loglane.install_signal_handlers()
        log = loglane.Logger("int", "logs/app.log", stdout_level=None, stderr_level=None)
        try:
            for i in range(50_000):
                log.info("line %d", i)
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            print("interrupted", len(open(
                [f for f in __import__("glob").glob("logs/*")][0]).read().splitlines()))
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["interrupted", "50000"]


def test_after_fork_the_child_logs_through_its_own_writer_and_the_parent_loses_nothing(
    tmp_path: Path,
) -> None:
    proc = run("""
        import os, loglane
        log = loglane.Logger("fork", "logs/app.log", stdout_level=None, stderr_level=None)
        for i in range(20_000):
            log.info("parent before %d", i)
        pid = os.fork()  # records are still queued in the parent here
        if pid == 0:
            for i in range(5_000):
                log.info("child %d", i)
            log.close()
            os._exit(0)
        for i in range(20_000):
            log.info("parent after %d", i)
        _, status = os.waitpid(pid, 0)
        log.close()
        print(os.waitstatus_to_exitcode(status))
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0"
    msgs = [ln.split("] ", 1)[1] for ln in lines_of(tmp_path)]
    before = [m for m in msgs if m.startswith("parent before")]
    after = [m for m in msgs if m.startswith("parent after")]
    child = [m for m in msgs if m.startswith("child")]
    assert before == [f"parent before {i}" for i in range(20_000)]
    assert after == [f"parent after {i}" for i in range(20_000)]
    assert child == [f"child {i}" for i in range(5_000)]


@pytest.mark.parametrize("overflow", ["drop", "block"])
def test_logging_from_a_signal_handler_does_not_deadlock(tmp_path: Path, overflow: str) -> None:
    proc = run(f"""
        import signal, loglane
        log = loglane.Logger("sig", "logs/app.log", stdout_level=None, stderr_level=None,
                             overflow={overflow!r}, queue_size=1000)
        fired = 0
        def handler(signum, frame):
            global fired
            fired += 1
            log.warning("from handler %d", fired)
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
        for i in range(100_000):
            log.info("main %d", i)
        signal.setitimer(signal.ITIMER_REAL, 0)
        log.close()
        stats = log.stats()
        print(fired, stats["dropped"])
    """, tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    fired, dropped = map(int, proc.stdout.split())
    lines = lines_of(tmp_path)
    handler_lines = [ln for ln in lines if "from handler" in ln]
    assert fired > 10
    if overflow == "block":
        assert dropped == 0
        assert len(handler_lines) == fired
        assert len(lines) == 100_000 + fired
    else:
        logged = [ln for ln in lines if "loglane dropped" not in ln]
        assert len(logged) == 100_000 + fired - dropped


def test_exit_status_is_untouched(tmp_path: Path) -> None:
    proc = run("""
        import sys, loglane
        log = loglane.Logger("code", "logs/app.log", stdout_level=None, stderr_level=None)
        log.error("bye")
        sys.exit(3)
    """, tmp_path)
    assert proc.returncode == 3
    assert lines_of(tmp_path)[0].endswith("ERROR] bye")
    assert os.path.isdir(tmp_path / "logs")

"""The whole road: files -> loglane ship -> RabbitMQ -> two loglane accumulate -> summary,
and an application's Logger -> AmqpSink -> the same queue.

Mid-stream, one consumer is SIGKILLed and restarted, and the broker itself is restarted
(``rabbitmqctl stop_app`` / ``start_app``). The summary must still equal the truth computed
from the files: every line counted once, every test outcome counted once.

The broker is started again in a ``finally`` (and waited for) whatever happens, because other
tests and CI share it; the stopped period is kept to a few seconds.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pika
import pytest
from ship_helpers import StderrLines, env, start_ship, wait_for

import loglane
from loglane.ship import AmqpSink

pytestmark = pytest.mark.services

RABBITMQCTL = shutil.which("rabbitmqctl")


def _broker_accepts(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 1).close()
        conn = pika.BlockingConnection(pika.URLParameters(url))
    except Exception:
        return False
    conn.close()
    return True


@pytest.fixture
def broker_restart(rabbitmq_url: str) -> Iterator[object]:
    """``stop()`` stops the broker's app; teardown starts it again if a test did not."""
    if RABBITMQCTL is None:
        pytest.skip("rabbitmqctl is not installed here")

    class Control:
        stopped = False

        def stop(self) -> None:
            self.stopped = True
            subprocess.run([RABBITMQCTL, "stop_app"], check=True, capture_output=True, timeout=60)

        def start(self) -> None:
            subprocess.run([RABBITMQCTL, "start_app"], check=True, capture_output=True, timeout=120)
            wait_for(lambda: _broker_accepts(rabbitmq_url), 60, "the broker to accept again", 0.2)
            self.stopped = False

    control = Control()
    try:
        yield control
    finally:
        if control.stopped:
            control.start()


def _accumulate(url: str, queue: str, store: str) -> subprocess.Popen[str]:
    cmd = [
        sys.executable,
        "-m",
        "loglane",
        "accumulate",
        "--amqp",
        url,
        "--queue",
        queue,
        "--store",
        store,
    ]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env()
    )


def _results(store: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "loglane", "results", "--store", store, "--json", "--all"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env(),
    )
    if done.returncode != 0:
        return {}
    data: dict[str, object] = json.loads(done.stdout)
    return data


class Truth:
    """Test-log lines with known outcomes, in pytest's and the Test:/Result: forms."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lines = 0
        self.passes: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    def block(self, n: int, file_no: int) -> str:
        out: list[str] = []
        while len(out) < n:
            kind = self.rng.random()
            ok = self.rng.random() < 0.8
            if kind < 0.6:
                name = f"tests/test_m{file_no}.py::test_{self.rng.randrange(60)}"
                out.append(f"{name} {'PASSED' if ok else 'FAILED'} [ 50%]")
            elif kind < 0.8:
                name = f"case_{self.rng.randrange(40)}"
                out += [f"Test: {name}", f"  doing {name}", f"Result: {'PASS' if ok else 'FAIL'}"]
            else:
                out.append(f"noise {self.rng.random():.6f} nothing to see")
                continue
            (self.passes if ok else self.failures)[name] += 1
        self.lines += len(out)
        return "".join(line + "\n" for line in out)


def test_two_consumers_consumer_kill_and_broker_restart_give_exact_truth(
    tmp_path: Path, rabbitmq_url: str, queue: str, broker_restart: object
) -> None:
    control = broker_restart
    truth = Truth(seed=6)
    files = [tmp_path / f"host{i}.log" for i in range(4)]
    store = f"sqlite:///{tmp_path / 'results.db'}"
    state = tmp_path / "state"
    stop_writing = threading.Event()
    # an application logging through AmqpSink into the same queue, through the same outage
    sink = AmqpSink(rabbitmq_url, queue, spool_dir=tmp_path / "app-spool", batch_lines=200)
    app = loglane.Logger(
        "e2e-app", None, sinks=[sink], stdout_level=None, stderr_level=None, overflow="block"
    )
    app_lines = 0

    def write(rounds: int) -> None:
        nonlocal app_lines
        for _ in range(rounds):
            for i, f in enumerate(files):
                with open(f, "a") as fh:
                    fh.write(truth.block(200, i))
            for _ in range(100):
                app.info("app line %d, nothing a parser would count", app_lines)
                app_lines += 1
            if stop_writing.wait(0.05):  # pace the producers: data keeps arriving mid-test
                return

    write(1)
    consumers = [_accumulate(rabbitmq_url, queue, store) for _ in range(2)]
    shipper = start_ship(
        *map(str, files),
        "--amqp",
        rabbitmq_url,
        "--queue",
        queue,
        "--state",
        str(state),
        "--batch-lines",
        "200",
        "--poll-interval",
        "0.02",
    )
    ship_err = StderrLines(shipper)
    try:
        writer = threading.Thread(target=write, args=(600,))  # at most ~30 s
        writer.start()

        def lines_counted() -> int:
            totals = _results(store).get("totals") or {}
            assert isinstance(totals, dict)
            return int(totals.get("lines", 0))

        wait_for(lambda: lines_counted() > 5000, 30, "the consumers to be under way", 0.2)
        consumers[0].kill()  # SIGKILL mid-stream: its unacked messages go back to the queue
        consumers[0].wait(10)
        consumers[0] = _accumulate(rabbitmq_url, queue, store)

        before = lines_counted()
        wait_for(lambda: lines_counted() > before + 5000, 30, "progress after the kill", 0.2)
        control.stop()  # type: ignore[attr-defined]
        try:
            ship_err.wait("broker unreachable", 20)
            spooled = lambda: list((state / "spool").glob("seg-*.spool"))  # noqa: E731
            wait_for(spooled, 20, "the shipper to spool")
        finally:
            control.start()  # type: ignore[attr-defined]
        ship_err.wait("broker back", 30)
        before = lines_counted()
        wait_for(lambda: lines_counted() > before + 5000, 30, "progress after the restart", 0.2)
        stop_writing.set()
        writer.join(10)
        app.close()  # returns once the broker confirmed every app line
        assert sink.stats()["outages"] == 1 and sink.stats()["dropped_lines"] == 0
        expected = truth.lines + app_lines
        wait_for(lambda: lines_counted() >= expected, 90, "the summary to catch up", 0.3)
    finally:
        stop_writing.set()
        app.close()
        for proc in [shipper, *consumers]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [shipper, *consumers]:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert shipper.returncode == 0
    summary = _results(store)
    totals = summary["totals"]
    assert isinstance(totals, dict)
    assert totals["lines"] == truth.lines + app_lines  # nothing lost, nothing counted twice
    tests = summary["tests"]
    assert isinstance(tests, list)
    got_passes = Counter({t["name"]: t["passes"] for t in tests if t["passes"]})
    got_failures = Counter({t["name"]: t["failures"] for t in tests if t["failures"]})
    assert got_passes == truth.passes
    assert got_failures == truth.failures

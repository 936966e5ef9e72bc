"""The default policy: callers that outrun a writer making progress wait, however many threads
log; only a writer that makes no progress for ``block_timeout`` makes calls drop, at once, and
lossless operation resumes when it moves again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any

import pytest

import loglane


class GateSink(loglane.Sink):
    """Holds the writer inside write() while the gate is closed."""

    raw_records = True

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.lines: list[str] = []

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        self.entered.set()
        self.gate.wait(60)
        self.lines.extend(lines)


class CountingSpace(SimpleQueue[None]):
    """The channel's room tokens, counting how often a caller waited on them."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def get(self, block: bool = True, timeout: float | None = None) -> None:
        self.waits += 1
        return super().get(block, timeout)


def messages(lines: list[str]) -> list[str]:
    return [ln.split("] ", 1)[1] for ln in lines]


@pytest.mark.parametrize("threads", [2, 8, 16])
def test_many_threads_lose_nothing_under_the_default_policy(tmp_path: Path, threads: int) -> None:
    # A small queue makes every thread meet a full queue many times.
    log = loglane.Logger("burst", tmp_path / "b.log", stdout_level=None, stderr_level=None,
                         queue_size=256)
    per_thread = 5000

    def work(k: int) -> None:
        for i in range(per_thread):
            log.info("thread %d line %d", k, i)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert log.close(timeout=60)
    (path,) = tmp_path.iterdir()
    got = messages(path.read_text().splitlines())
    assert len(got) == threads * per_thread
    for k in range(threads):  # each thread's lines, whole and in its order
        assert [m for m in got if m.startswith(f"thread {k} ")] == [
            f"thread {k} line {i}" for i in range(per_thread)]
    stats = log.stats()
    assert (stats["dropped"], stats["lost"], stats["written"]) == (0, 0, threads * per_thread)


def test_a_stalled_writer_makes_calls_drop_at_once_then_logging_resumes(
    wait_until: Callable[..., None],
) -> None:
    gate = GateSink()
    log = loglane.Logger("hung", None, stdout_level=None, stderr_level=None, sinks=[gate],
                         queue_size=10, block_timeout=0.2)
    space = CountingSpace()
    log._channel.space = space
    gate.gate.clear()
    log.info("first")
    wait_until(gate.entered.is_set, what="the writer inside the hung sink")
    for i in range(10):
        log.info("queued %d", i)  # fills the queue
    log.info("waits, then drops")  # waits block_timeout for progress that never comes
    waited = space.waits
    assert waited >= 1 and log.stats()["dropped"] == 1
    for i in range(100):
        log.info("dropped at once %d", i)
    assert space.waits == waited  # declared stalled: nobody waits any more
    assert log.stats()["dropped"] == 101
    gate.gate.set()  # the sink comes back
    wait_until(lambda: log.stats()["queued"] == 0, what="the writer to drain")
    for i in range(50):
        log.info("after %d", i)
    assert log.close(timeout=10)
    got = messages(gate.lines)
    assert got[:11] == ["first"] + [f"queued {i}" for i in range(10)]
    note = "loglane dropped 101 records: the writer made no progress for 0.2 s (policy block)"
    assert note in got
    assert [m for m in got if m.startswith("after")] == [f"after {i}" for i in range(50)]
    stats = log.stats()
    assert (stats["dropped"], stats["written"], stats["lost"]) == (101, 61, 0)


def test_a_slow_writer_that_makes_progress_is_waited_for_past_block_timeout(
    wait_until: Callable[..., None],
) -> None:
    # Each write takes longer than block_timeout in all, but the writer moves all the time.
    release = threading.Semaphore(0)

    class Slow(loglane.Sink):
        raw_records = True

        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
            for line in lines:
                release.acquire(timeout=30)
                self.lines.append(line)

    slow = Slow()
    log = loglane.Logger("slow", None, stdout_level=None, stderr_level=None, sinks=[slow],
                         queue_size=4, block_timeout=0.05)
    done = threading.Event()

    def produce() -> None:
        for i in range(40):
            log.info("n %d", i)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    while not done.is_set():  # one line at a time, each a little later than the last
        before = len(slow.lines)
        release.release()
        wait_until(lambda b=before: len(slow.lines) > b or done.is_set(), what="the next line")
    for _ in range(40):
        release.release()
    t.join(10)
    assert log.close(timeout=10)
    assert messages(slow.lines) == [f"n {i}" for i in range(40)]
    assert log.stats()["dropped"] == 0


def test_drop_is_still_available_and_never_waits(wait_until: Callable[..., None]) -> None:
    gate = GateSink()
    log = loglane.Logger("strict", None, stdout_level=None, stderr_level=None, sinks=[gate],
                         queue_size=5, overflow="drop")
    space = CountingSpace()
    log._channel.space = space
    gate.gate.clear()
    log.info("first")
    wait_until(gate.entered.is_set)
    for i in range(20):
        log.info("n %d", i)
    assert space.waits == 0 and log.stats()["dropped"] == 15
    gate.gate.set()
    assert log.close(timeout=10)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, "5", True])
def test_block_timeout_must_be_a_real_number(bad: Any) -> None:
    with pytest.raises(ValueError, match="block_timeout must be a"):
        loglane.Logger("x", None, block_timeout=bad)

"""The writer thread: back-pressure, sink failures, stopping, add/remove sinks, threads."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import loglane
from loglane import delivery
from loglane import logger as logger_mod

LINE = re.compile(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\S+) (\w+)\] (.*)")


class GateSink(loglane.Sink):
    """Holds the writer inside write() until the test opens the gate."""

    raw_records = True

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.lines: list[str] = []

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        self.entered.set()
        self.gate.wait(30)
        self.lines.extend(lines)


class FlakySink(loglane.Sink):
    """Fails the first ``failures`` calls, before taking anything."""

    def __init__(self, failures: int, exc: Exception | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.exc = exc or OSError(28, "No space left on device")
        self.lines: list[str] = []
        self.calls = 0

    def write(self, records: Sequence[loglane.Record], lines: Sequence[str]) -> None:
        self.calls += 1
        assert all(isinstance(r, loglane.Record) for r in records)
        if self.failures > 0:
            self.failures -= 1
            raise self.exc
        self.lines.extend(lines)


def quiet(name: str, *sinks: loglane.Sink, **kw: Any) -> loglane.Logger:
    return loglane.Logger(name, None, stdout_level=None, stderr_level=None, sinks=sinks, **kw)


def messages(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        m = LINE.fullmatch(line)
        assert m, f"torn or malformed line: {line!r}"
        out.append(m.group(3))
    return out


def test_drop_policy_counts_and_later_writes_one_line_saying_how_many(
    wait_until: Callable[..., None],
) -> None:
    gate = GateSink()
    log = quiet("drop", gate, queue_size=10, overflow="drop")
    log.info("first")
    wait_until(gate.entered.is_set, what="writer inside the sink")
    for i in range(100):
        log.info("n %d", i)
    assert log.stats()["dropped"] == 90
    gate.gate.set()
    log.close()
    msgs = messages(gate.lines)
    assert msgs[:11] == ["first"] + [f"n {i}" for i in range(10)]
    assert msgs[11:] == ["loglane dropped 90 records: queue full (policy drop)"]
    stats = log.stats()
    # the note is not a record the application logged
    assert (stats["dropped"], stats["written"], stats["enqueued"]) == (90, 11, 11)


def test_one_thread_past_the_pace_mark_hands_the_writer_time_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., None],
) -> None:
    # The pause is the writer's turn: here it lasts until the writer has emptied the queue,
    # where a real switch interval lets it catch up in the same way.
    log_holder: list[loglane.Logger] = []
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        wait_until(lambda: log_holder[0].stats()["queued"] == 0, what="the writer's turn")

    monkeypatch.setattr(logger_mod, "_sleep", pause)
    lines: list[str] = []
    log = quiet("paced", loglane.CallableSink(lines.append), queue_size=100)
    log_holder.append(log)
    for i in range(5000):
        log.info("n %d", i)
    log.close()
    assert messages(lines) == [f"n {i}" for i in range(5000)]
    stats = log.stats()
    assert stats["dropped"] == 0
    assert stats["paced"] == len(pauses) > 0
    assert set(pauses) == {sys.getswitchinterval()}


def test_a_writer_that_takes_nothing_is_not_waited_for_and_drop_still_drops(
    monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., None],
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr(logger_mod, "_sleep", pauses.append)
    gate = GateSink()
    log = quiet("stalled", gate, queue_size=100, overflow="drop")
    log.info("first")
    wait_until(gate.entered.is_set, what="writer inside the sink")
    for i in range(300):
        log.info("n %d", i)
    # one pause when the queue first reached the mark (the writer had taken "first" since),
    # none after: the writer took nothing more
    assert len(pauses) == 1
    assert log.stats()["dropped"] == 200
    gate.gate.set()
    log.close()
    assert messages(gate.lines)[:101] == ["first"] + [f"n {i}" for i in range(100)]


def test_block_policy_waits_for_room_and_loses_nothing(wait_until: Callable[..., None]) -> None:
    gate = GateSink()
    log = quiet("block", gate, queue_size=5, overflow="block", block_timeout=30)
    log.info("first")
    wait_until(gate.entered.is_set)
    done = threading.Event()

    def producer() -> None:
        for i in range(50):
            log.info("n %d", i)
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    wait_until(lambda: log.stats()["queued"] == 5, what="queue full")
    assert not done.is_set()  # the producer is waiting, not dropping
    gate.gate.set()
    t.join(30)
    log.close()
    assert messages(gate.lines) == ["first"] + [f"n {i}" for i in range(50)]
    assert log.stats()["dropped"] == 0


def test_block_policy_gives_up_after_its_timeout(wait_until: Callable[..., None]) -> None:
    gate = GateSink()
    log = quiet("block-timeout", gate, queue_size=2, overflow="block", block_timeout=0.05)
    log.info("first")
    wait_until(gate.entered.is_set)
    for i in range(4):
        log.info("n %d", i)
    assert log.stats()["dropped"] == 2
    gate.gate.set()
    log.close()


def test_eight_threads_under_block_lose_nothing_and_never_interleave(tmp_path: Path) -> None:
    log = loglane.Logger("threads", tmp_path / "t.log", stdout_level=None, stderr_level=None,
                         queue_size=64, overflow="block", block_timeout=None)
    per_thread = 5000

    def work(k: int) -> None:
        for i in range(per_thread):
            log.info("thread %d line %d %s", k, i, "x" * (i % 50))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    (path,) = tmp_path.iterdir()
    msgs = messages(path.read_text().splitlines())
    assert len(msgs) == 8 * per_thread
    for k in range(8):
        mine = [m for m in msgs if m.startswith(f"thread {k} ")]
        assert mine == [f"thread {k} line {i} {'x' * (i % 50)}" for i in range(per_thread)]
    assert log.stats()["dropped"] == 0


def test_a_failing_sink_is_retried_and_the_others_keep_every_line(
    capsys: pytest.CaptureFixture[str], wait_until: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.01)
    good: list[str] = []
    flaky = FlakySink(failures=5)
    log = quiet("flaky", flaky, loglane.CallableSink(good.append))
    for i in range(200):
        log.info("n %d", i)
        if i % 20 == 0:
            log.flush()
    wait_until(lambda: len(flaky.lines) == 200, what="the flaky sink to catch up")
    log.close()
    assert messages(good) == [f"n {i}" for i in range(200)]
    assert messages(flaky.lines) == [f"n {i}" for i in range(200)]  # in order, none twice
    assert log.stats()["errors"] == 5
    err = capsys.readouterr().err
    # reported once per interval, not once per error; and the recovery is said
    assert err.count("failed: OSError: [Errno 28] No space left on device") == 1
    assert "works again after 5 errors" in err


def test_a_callable_sink_failing_mid_batch_resumes_without_duplicates(
    monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., None],
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    got: list[str] = []
    state = {"fail_at": 3}

    def fn(line: str) -> None:
        if len(got) == state["fail_at"]:
            state["fail_at"] = -1
            raise ConnectionError("peer went away")
        got.append(line)

    log = quiet("mid", loglane.CallableSink(fn))
    for i in range(10):
        log.info("n %d", i)
    log.close()
    assert messages(got) == [f"n {i}" for i in range(10)]


def test_a_callable_sink_down_for_many_batches_keeps_them_with_the_writer_then_all_once(
    monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., None],
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.002)
    got: list[str] = []
    down = threading.Event()

    def fn(line: str) -> None:
        if down.is_set():
            raise ConnectionError("peer went away")
        got.append(line)

    sink = loglane.CallableSink(fn)
    log = quiet("outage", sink)
    log.info("before")
    log.flush()
    down.set()
    expected = ["before"]
    for batch in range(5):
        errors = log.stats()["errors"]
        for i in range(40):
            log.info("batch %d line %d", batch, i)
            expected.append(f"batch {batch} line {i}")
        wait_until(lambda e=errors: log.stats()["errors"] > e + 1, what="more failed retries")
    assert log.stats()["held"] > 0  # newer batches wait with the writer (bounded, counted)
    down.clear()
    log.close()
    assert messages(got) == expected
    assert log.stats()["lost"] == 0


def test_a_sink_that_never_recovers_does_not_block_close(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "CLOSE_RETRY", 0.05)
    ok: list[str] = []
    log = quiet("doomed", FlakySink(failures=10**9), loglane.CallableSink(ok.append))
    for i in range(5):
        log.info("n %d", i)
    assert log.close(timeout=10)
    assert len(ok) == 5
    assert "still failing at close; 5 record(s) lost" in capsys.readouterr().err
    assert log.stats()["lost"] == 5


def test_close_is_idempotent_and_safe_from_many_threads(tmp_path: Path) -> None:
    log = loglane.Logger("c", tmp_path / "c.log", stdout_level=None, stderr_level=None)
    for i in range(10000):
        log.info("n %d", i)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(log.close())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8
    assert log.close() and log.close(drain=False)
    (path,) = tmp_path.iterdir()
    assert len(path.read_text().splitlines()) == 10000
    log.info("after close is ignored")
    assert log.stats()["enqueued"] == 10000


def test_close_without_drain_discards_and_returns_at_once(wait_until: Callable[..., None]) -> None:
    gate = GateSink()
    log = quiet("nodrain", gate)
    log.info("first")
    wait_until(gate.entered.is_set)
    for i in range(1000):
        log.info("n %d", i)
    t0 = time.monotonic()
    assert log.close(drain=False)
    assert time.monotonic() - t0 < 1.0  # the writer is still stuck in the sink
    assert log.stats()["discarded"] == 1000
    gate.gate.set()
    assert log._channel.closed.wait(10)
    assert messages(gate.lines) == ["first"]


def test_close_from_inside_a_sink_does_not_deadlock() -> None:
    holder: dict[str, loglane.Logger] = {}
    seen: list[str] = []

    def fn(line: str) -> None:
        seen.append(line)
        holder["log"].close()

    log = quiet("selfclose", loglane.CallableSink(fn))
    holder["log"] = log
    log.info("one")
    assert log._channel.closed.wait(10)
    assert len(seen) == 1


def test_add_and_remove_sinks_at_run_time() -> None:
    a: list[str] = []
    b: list[str] = []
    sink_b = loglane.CallableSink(b.append)
    log = quiet("dyn", loglane.CallableSink(a.append))
    log.info("one")
    log.add_sink(sink_b)
    log.info("two")
    log.remove_sink(sink_b)
    log.info("three")
    log.close()
    assert messages(a) == ["one", "two", "three"]
    assert messages(b) == ["two"]
    with pytest.raises(ValueError, match="is not a sink"):
        log.remove_sink(sink_b)


def test_sink_level_bounds() -> None:
    low: list[str] = []
    mid: list[str] = []
    log = quiet("bounds", loglane.CallableSink(low.append, level="DEBUG", max_level="INFO"),
                loglane.CallableSink(mid.append, level="INFO", max_level="ERROR"))
    for level in ("DEBUG", "INFO", "WARNING", "ERROR"):
        log.log(level, level.lower())
    log.close()
    assert messages(low) == ["debug"]
    assert messages(mid) == ["info", "warning"]


def test_flush_returns_once_everything_before_it_is_written(tmp_path: Path) -> None:
    log = loglane.Logger("fl", tmp_path / "f.log", stdout_level=None, stderr_level=None)
    for i in range(5000):
        log.info("n %d", i)
    assert log.flush(timeout=30)
    (path,) = tmp_path.iterdir()
    assert len(path.read_text().splitlines()) == 5000
    log.close()


def test_one_fast_caller_loses_nothing_within_the_queue_bound(tmp_path: Path) -> None:
    # The caller outruns the writer in bursts (both need the GIL); the default queue absorbs
    # a burst of this size, and the writer drains it: nothing is dropped.
    log = loglane.Logger("burst", tmp_path / "b.log", stdout_level=None, stderr_level=None)
    for i in range(100_000):
        log.info("request %s took %d ms", "GET /x", i)
    log.close()
    assert log.stats()["dropped"] == 0
    (path,) = tmp_path.iterdir()
    assert sum(1 for _ in path.open()) == 100_000


def test_a_logger_dropped_without_close_is_drained_and_released(
    tmp_path: Path, wait_until: Callable[..., None]
) -> None:
    import gc

    from loglane.writer import get_writer

    log = loglane.Logger("gone", tmp_path / "g.log", stdout_level=None, stderr_level=None)
    channel = log._channel
    for i in range(100):
        log.info("n %d", i)
    del log
    gc.collect()
    assert channel.closed.wait(10)
    assert channel not in get_writer().channels
    (path,) = tmp_path.iterdir()
    assert len(path.read_text().splitlines()) == 100


def test_occasional_calls_after_recent_work_pay_no_wake_up(
    monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., None]
) -> None:
    from loglane.writer import Writer

    got: list[str] = []
    log = quiet("paced", loglane.CallableSink(got.append))
    log.info("first")
    wait_until(lambda: len(got) == 1)
    wakes: list[int] = []
    real = Writer.wake

    def counting(self: Writer) -> None:
        wakes.append(1)
        real(self)

    monkeypatch.setattr(Writer, "wake", counting)
    for i in range(20):  # each call waits until the previous line is out: a paced caller
        log.info("n %d", i)
        wait_until(lambda i=i: len(got) == i + 2)
    assert wakes == []  # the writer was polling, not asleep: no futex, no thread switch
    log.close()

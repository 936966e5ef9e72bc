"""AmqpSink: driven directly (as the writer thread would) and through a real Logger."""

from __future__ import annotations

import os
import time
from itertools import pairwise
from pathlib import Path

import pytest
from ship_helpers import Proxy, QueueReader, wait_for

import loglane
from loglane import wire
from loglane.record import INFO, Record
from loglane.ship import AmqpSink

pytestmark = pytest.mark.services


def _records(n: int, name: str = "app") -> list[Record]:
    return [Record(INFO, 0, "m", (), None, None, name) for _ in range(n)]


def _write(sink: AmqpSink, start: int, count: int, step: int = 250) -> list[str]:
    lines = [f"record {i}" for i in range(start, start + count)]
    for i in range(0, count, step):
        chunk = lines[i : i + step]
        sink.write(_records(len(chunk)), chunk)
        sink.flush()
    return lines


def _received_lines(reader: QueueReader) -> list[str]:
    text = b"".join(reader.got.text_by_source().values()).decode()
    return text.splitlines()


def test_sink_direct_ids_are_source_and_offset(rabbitmq_url: str, queue: str) -> None:
    sink = AmqpSink(rabbitmq_url, queue, batch_lines=400)
    sink.start()
    sent = _write(sink, 0, 5000)
    sink.close()
    reader = QueueReader(rabbitmq_url, queue)
    reader.wait_lines(5000)
    assert reader.got.duplicates == 0 and _received_lines(reader) == sent
    by_offset = sorted((int(m.rsplit("@", 1)[1]), len(b)) for m, b in reader.got.bodies.items())
    assert by_offset[0][0] == 0  # offsets are byte positions in the stream: contiguous
    assert all(a + size == b for (a, size), (b, _) in pairwise(by_offset))
    headers = next(iter(reader.got.headers.values()))
    assert headers[wire.HEADER_SOURCE].endswith(":app") and headers[wire.HEADER_KIND] == "lines"
    assert sink.stats()["confirmed_lines"] == 5000
    reader.close()


def test_logger_end_to_end(rabbitmq_url: str, queue: str) -> None:
    sink = AmqpSink(rabbitmq_url, queue)
    log = loglane.Logger("e2e", None, sinks=[sink], stdout_level=None, stderr_level=None)
    for i in range(20_000):
        log.info("request %d took %d ms", i, i % 17)
    log.close()
    reader = QueueReader(rabbitmq_url, queue)
    reader.wait_lines(20_000)
    lines = _received_lines(reader)
    assert len(lines) == 20_000 and reader.got.duplicates == 0
    assert "request 0 took 0 ms" in lines[0] and "request 19999 took 7 ms" in lines[-1]
    reader.close()


def test_broker_away_spools_and_the_next_process_sends_it(
    tmp_path: Path,
    rabbitmq_url: str,
    queue: str,
    proxy: Proxy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proxy.down()
    spool = tmp_path / "spool"
    sink = AmqpSink(proxy.url(), queue, spool_dir=spool, batch_lines=100)
    sink.start()
    t0 = time.monotonic()
    sent = _write(sink, 0, 3000)
    assert time.monotonic() - t0 < 1.0  # the writer never waits for the broker
    wait_for(lambda: sink.stats()["spooled_messages"] >= 30, 10, "batches in the spool")
    sink.close()  # broker away: spools what is left at once rather than waiting
    assert "broker unreachable" in capsys.readouterr().err
    assert list(spool.glob("*/seg-*.spool"))
    # a later process (here: a new sink) with the same spool_dir adopts and sends it
    proxy.up()
    later = AmqpSink(proxy.url(), queue, spool_dir=spool)
    later.start()
    reader = QueueReader(rabbitmq_url, queue)
    reader.wait_lines(3000)
    later.close()
    assert _received_lines(reader) == sent
    assert not list(spool.glob("*/seg-*.spool"))
    reader.close()


def test_without_spool_overflow_is_dropped_counted_and_reported(
    rabbitmq_url: str, queue: str, proxy: Proxy, capsys: pytest.CaptureFixture[str]
) -> None:
    proxy.down()
    sink = AmqpSink(proxy.url(), queue, batch_lines=100, memory_bytes=20_000)
    sink.start()
    t0 = time.monotonic()
    _write(sink, 0, 5000)
    assert time.monotonic() - t0 < 1.0
    sink.close()
    dropped = sink.stats()["dropped_lines"]
    assert 4000 < dropped <= 5000
    err = capsys.readouterr().err
    assert "broker unreachable" in err and "dropped" in err and "no spool_dir" in err


def test_bad_url_raises_at_construction() -> None:
    with pytest.raises(ValueError, match="bad AMQP URL"):
        AmqpSink("localhost:5672")


def test_forked_child_ships_as_a_source_of_its_own(rabbitmq_url: str, queue: str) -> None:
    sink = AmqpSink(rabbitmq_url, queue)
    log = loglane.Logger("forky", None, sinks=[sink], stdout_level=None, stderr_level=None)
    log.info("parent before fork")
    reader = QueueReader(rabbitmq_url, queue)
    reader.wait_lines(1)  # the sink has started: the child inherits a running sink
    pid = os.fork()
    if pid == 0:  # the child: log, drain, and leave without running pytest's teardown
        code = 1
        try:
            for i in range(100):
                log.info("child %d", i)
            log.close()
            code = 0
        finally:
            os._exit(code)
    for i in range(100):
        log.info("parent %d", i)
    _, status = os.waitpid(pid, 0)
    log.close()
    assert os.waitstatus_to_exitcode(status) == 0
    got = reader.wait_lines(201)
    sources = {h[wire.HEADER_SOURCE] for h in got.headers.values()}
    assert any(s.endswith(f":{pid}:forky") for s in sources) and len(sources) == 2
    assert got.lines == 201 and got.duplicates == 0
    reader.close()

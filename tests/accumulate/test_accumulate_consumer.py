"""Competing consumers against the real RabbitMQ (and PostgreSQL): exact truth, always."""

from __future__ import annotations

import io
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from accumulate_helpers import truth, workload
from broker_helpers import (
    Msg,
    committed,
    consumers,
    finish,
    publish,
    queue_depth,
    start_consumer,
    wait_for,
)

from loglane.accumulate.consumer import Consumer, ConsumerOptions
from loglane.accumulate.store import Store
from loglane.accumulate.summary import load
from loglane.wire import (
    HEADER_KIND,
    HEADER_OFFSET,
    HEADER_REASON,
    HEADER_SOURCE,
    dead_letter_queue,
)

pytestmark = pytest.mark.services


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_consumers_give_the_exact_truth(
    rabbitmq_url: str, queue: str, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    store = str(tmp_path / "r.db")
    if backend == "postgres":
        store = request.getfixturevalue("pg_store_url")
    texts, msgs = workload(1, files=12, tests=40, max_lines=6)
    publish(rabbitmq_url, queue, [])  # declare, so both consumers find it
    procs = [
        start_consumer(
            rabbitmq_url, queue, store, "--exit-when-idle", "3", "--prefetch", "50", "--batch", "20"
        )
        for _ in range(2)
    ]

    def both_attached() -> bool:
        for p in procs:
            if p.poll() is not None:  # say why, rather than time out
                raise AssertionError(f"a consumer exited early: {finish(p)}")
        return consumers(rabbitmq_url, queue) == 2

    wait_for(both_attached, 30, "both consumers to attach")
    for i in range(0, len(msgs), 200):
        publish(rabbitmq_url, queue, msgs[i : i + 200])
    results = [finish(p) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    took = [int(err.split(" messages")[0].rsplit(" ", 1)[-1]) for _, err in results]
    assert sum(took) == len(msgs) and min(took) > 0, took  # both did real work
    with Store(store) as st:
        summary = load(st)
    assert summary.counts() == truth(texts)
    assert summary.open_tests == 0 and summary.messages == len(msgs)


def test_sigkill_mid_stream_then_restart_is_exact(
    rabbitmq_url: str, queue: str, tmp_path: Path
) -> None:
    store = str(tmp_path / "r.db")
    texts, msgs = workload(2, files=10, tests=60, max_lines=3)
    publish(rabbitmq_url, queue, msgs)
    victim = start_consumer(rabbitmq_url, queue, store, "--prefetch", "40", "--batch", "10")
    wait_for(lambda: committed(store) >= 100, 30, "the first consumer to commit")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert committed(store) < len(msgs), "killed too late to test anything"
    rc, err = finish(start_consumer(rabbitmq_url, queue, store, "--exit-when-idle", "1.5"))
    assert rc == 0, err
    with Store(store) as st:
        summary = load(st)
    assert summary.counts() == truth(texts)
    assert summary.messages == len(msgs)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_commits_acks_and_exits_0(
    rabbitmq_url: str, queue: str, tmp_path: Path, signum: int
) -> None:
    store = str(tmp_path / "r.db")
    _, msgs = workload(3, files=6, tests=80, max_lines=2)
    publish(rabbitmq_url, queue, msgs)
    proc = start_consumer(rabbitmq_url, queue, store, "--prefetch", "40", "--batch", "10")
    wait_for(lambda: committed(store) >= 50, 30, "a commit")
    proc.send_signal(signum)
    rc, err = finish(proc)
    assert rc == 0, err
    # everything committed was acked, everything else went back to the queue
    wait_for(
        lambda: committed(store) + queue_depth(rabbitmq_url, queue) == len(msgs),
        10,
        "committed + queued == published",
    )


class _AckLoser(Consumer):
    """Commits its first batch and then loses the connection before the ack."""

    lost = False

    def _flush(self, channel: Any, dead: Any, batch: list[Any], last_tag: int) -> None:
        if not self.lost and batch:
            self.stats.new += self.store.add([p.item for p in batch])
            self.lost = True
            channel.connection.close()  # the broker requeues the unacked batch
            return
        super()._flush(channel, dead, batch, last_tag)


def test_redelivered_after_commit_is_counted_once(
    rabbitmq_url: str, queue: str, tmp_path: Path
) -> None:
    texts, msgs = workload(4, files=3, tests=10, max_lines=2)
    dup = msgs[:5]  # the shipper re-sent these (same ids) too
    publish(rabbitmq_url, queue, msgs + dup)
    with Store(str(tmp_path / "r.db")) as store:
        c = _AckLoser(
            ConsumerOptions(rabbitmq_url, queue, prefetch=30, batch=30, exit_when_idle=1.0), store
        )
        c.run()
        assert c.lost and c.stats.reconnects == 1
        assert c.stats.messages > len(msgs) + len(dup)  # the lost batch came back
        assert c.stats.new == len(msgs)
        assert load(store).counts() == truth(texts)
    assert queue_depth(rabbitmq_url, queue) == 0


def test_malformed_messages_go_to_the_dead_letter_queue(
    rabbitmq_url: str, queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pika

    from loglane.accumulate import consumer as consumer_module

    real = consumer_module.from_message

    def buggy(body: bytes, headers: Any, mid: str | None, ts: float | None = None) -> Any:
        if mid == "parser-bug@0":
            raise RuntimeError("simulated parser bug")
        return real(body, headers, mid, ts)

    monkeypatch.setattr(consumer_module, "from_message", buggy)

    texts, good = workload(5, files=2, tests=10, max_lines=4)
    ok_headers = {HEADER_SOURCE: "s", HEADER_OFFSET: 0, HEADER_KIND: "lines"}
    bad: list[Msg] = [
        (b"Test: x\n\xff\xfe\n", ok_headers, "bad-utf8@0"),
        (b"Test: x\n", {HEADER_OFFSET: 0, HEADER_KIND: "lines"}, "no-source@0"),
        (b"Test: x\n", {**ok_headers, HEADER_KIND: "zip"}, "bad-kind@0"),
        (b"Test: x\n", ok_headers, None),
        (b"Test: x\n", ok_headers, "parser-bug@0"),
    ]
    msgs = good[:10] + bad + good[10:]
    publish(rabbitmq_url, queue, msgs)
    with Store(str(tmp_path / "r.db")) as store:
        c = Consumer(ConsumerOptions(rabbitmq_url, queue, exit_when_idle=1.0), store)
        c.run()
        assert c.stats.dead == len(bad)
        assert load(store).counts() == truth(texts)
    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    ch = conn.channel()
    reasons, bodies = [], []
    for _ in range(len(bad)):
        method, props, body = ch.basic_get(dead_letter_queue(queue), auto_ack=True)
        assert method is not None
        reasons.append(props.headers[HEADER_REASON])
        bodies.append(body)
    assert sorted(bodies) == sorted(b for b, _, _ in bad)  # kept byte for byte
    assert ch.basic_get(dead_letter_queue(queue))[0] is None
    conn.close()
    assert any("UTF-8" in r for r in reasons) and any(HEADER_SOURCE in r for r in reasons)
    assert any(HEADER_KIND in r for r in reasons) and any("message_id" in r for r in reasons)
    assert any("simulated parser bug" in r for r in reasons)
    assert queue_depth(rabbitmq_url, queue) == 0


def test_whole_file_messages_including_junit(rabbitmq_url: str, queue: str, tmp_path: Path) -> None:
    junit = (
        b'<testsuite><testcase classname="k" name="a"/>'
        b'<testcase classname="k" name="b"><failure/></testcase></testsuite>'
    )
    pytest_out = b"t.py::test_x PASSED [50%]\nt.py::test_y FAILED [100%]\n"
    msgs: list[Msg] = [
        (junit, {HEADER_SOURCE: "j.xml", HEADER_KIND: "file"}, "j.xml:1@0"),
        (pytest_out, {HEADER_SOURCE: "p.log", HEADER_KIND: "file", HEADER_OFFSET: 0}, "p:1@0"),
        (b"Result: FAIL\n", {HEADER_SOURCE: "/ci/test_boot.log", HEADER_KIND: "file"}, "b@0"),
    ]
    publish(rabbitmq_url, queue, msgs)
    with Store(str(tmp_path / "r.db")) as store:
        # batch_bytes=1: every (large) whole-file message is committed and acked on its own
        c = Consumer(ConsumerOptions(rabbitmq_url, queue, exit_when_idle=0.5, batch_bytes=1), store)
        c.run()
        assert c.stats.batches == 3
        assert load(store).counts() == {
            "k.a": (1, 1, 0),
            "k.b": (1, 0, 1),
            "t.py::test_x": (1, 1, 0),
            "t.py::test_y": (1, 0, 1),
            "/ci/test_boot.log": (1, 0, 1),
        }


@pytest.mark.parametrize(
    ("url", "expect"),
    [
        ("http://guest:s3cret@127.0.0.1:5672/", "bad AMQP URL 'http://guest:***@127"),
        ("amqp://guest:s3cret@[::1/", "bad AMQP URL"),
        ("amqp://", "bad AMQP URL"),
        ("amqp://guest:wrong@127.0.0.1:5672/%2F", "refused the credentials"),
        ("amqp://guest:guest@127.0.0.1:1/%2F", "cannot connect to RabbitMQ at 127.0.0.1:1"),
    ],
)
def test_setup_errors_are_one_line_exit_2(
    rabbitmq_url: str, tmp_path: Path, url: str, expect: str
) -> None:
    proc = start_consumer(url, "q", str(tmp_path / "r.db"))
    rc, err = finish(proc)
    assert rc == 2
    assert expect in err and len(err.strip().splitlines()) == 1, err
    assert "s3cret" not in err


def _close_connections_of(queue: str) -> int:
    """Make the broker drop this queue's consumer connections (not the broker itself)."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    pids = [line.split("\t", 1)[0] for line in out.splitlines() if queue in line]
    for pid in pids:
        subprocess.run(
            ["rabbitmqctl", "-q", "close_connection", pid, "test: connection lost"],
            capture_output=True,
            timeout=30,
        )
    return len(pids)


def test_connection_lost_mid_stream_reconnects_exactly(
    rabbitmq_url: str, queue: str, tmp_path: Path
) -> None:
    if not shutil.which("rabbitmqctl"):
        pytest.skip("rabbitmqctl is not available to drop a connection")
    texts, msgs = workload(6, files=6, tests=30, max_lines=2)
    publish(rabbitmq_url, queue, msgs)

    class DroppingStore(Store):
        """After its third commit, has the broker drop the connection before the ack."""

        commits = 0
        dropped = 0

        def add(self, items: Any) -> int:
            n = super().add(items)
            self.commits += 1
            if self.commits == 3:
                self.dropped = _close_connections_of(queue)
            return n

    err = io.StringIO()
    with DroppingStore(str(tmp_path / "r.db")) as store:
        c = Consumer(
            ConsumerOptions(rabbitmq_url, queue, prefetch=20, batch=10, exit_when_idle=1.0),
            store,
            err=err,
        )
        c.run()
        assert store.dropped == 1 and c.stats.reconnects >= 1
        assert "lost RabbitMQ" in err.getvalue() and "RabbitMQ is back" in err.getvalue()
        summary = load(store)
    assert summary.counts() == truth(texts) and summary.messages == len(msgs)
    assert queue_depth(rabbitmq_url, queue) == 0


def test_queue_with_other_arguments_is_a_clear_error(
    rabbitmq_url: str, queue: str, tmp_path: Path
) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(rabbitmq_url))
    conn.channel().queue_declare(queue, durable=False)  # a classic queue: not the contract
    conn.close()
    rc, err = finish(start_consumer(rabbitmq_url, queue, str(tmp_path / "r.db")))
    assert rc == 2 and "refused the queue" in err and len(err.strip().splitlines()) == 1, err

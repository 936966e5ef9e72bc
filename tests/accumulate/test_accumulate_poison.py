"""Poison messages, through the real RabbitMQ into real SQLite and PostgreSQL stores.

A message the store would refuse, batched with good ones: the good ones are committed, the
poison one is dead-lettered with its reason, and every consumer stays up for later messages.
"""

from __future__ import annotations

import signal
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from accumulate_helpers import INT64, hostile_messages, truth, workload
from broker_helpers import (
    Msg,
    consumers,
    drain,
    finish,
    publish,
    queue_depth,
    start_consumer,
    wait_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglane.accumulate import results_cli
from loglane.accumulate.consumer import Consumer, ConsumerOptions
from loglane.accumulate.messages import Malformed, from_message
from loglane.accumulate.store import Store, StoreError
from loglane.accumulate.summary import load
from loglane.wire import (
    HEADER_KIND,
    HEADER_OFFSET,
    HEADER_REASON,
    HEADER_SOURCE,
    dead_letter_queue,
)

pytestmark = pytest.mark.services


def refuse_names_starting_poison(url: str) -> None:
    """Make the real store refuse a test named ``poison…`` (a constraint / trigger), standing
    for whatever a store may refuse that loglane's own checks did not foresee."""
    Store(url).close()  # the tables
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "ALTER TABLE acc_tests ADD CONSTRAINT no_poison CHECK (name NOT LIKE 'poison%')"
            )
    else:
        with sqlite3.connect(url) as db:
            db.execute(
                "CREATE TRIGGER no_poison BEFORE INSERT ON acc_tests WHEN NEW.name LIKE 'poison%'"
                " BEGIN SELECT RAISE(ABORT, 'poison refused by the test trigger'); END"
            )


def store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        return str(request.getfixturevalue("pg_store_url"))
    return str(tmp_path / "r.db")


def lines(source: str, offset: Any = 0) -> dict[str, Any]:
    return {HEADER_SOURCE: source, HEADER_OFFSET: offset, HEADER_KIND: "lines"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_poison_batched_with_good_messages_is_dead_lettered_and_consumers_stay_up(
    rabbitmq_url: str,
    queue: str,
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = store_url(backend, tmp_path, request)
    refuse_names_starting_poison(url)
    texts, good = workload(7, files=4, tests=15, max_lines=3)
    events = b"Test: a\nResult: PASS\nTest: b\n"
    poison: list[Msg] = [
        (b"Test: poison_1\nResult: PASS\n", lines("/ci/p.log"), "p:1@0"),  # store refuses
        (b"Test: a\nResult: PASS\n", lines("/ci/a\x00.log"), "nul-source@0"),
        (events, lines("/ci/o.log", str(INT64)), "o:1@9223372036854775808"),
        (events, lines("/ci/o.log", INT64 - 1), "o:2@9223372036854775807"),
    ]
    nul_name: Msg = (b"Test: a\x00b\nResult: PASS\n", lines("/ci/n.log"), "n:1@0")
    first = good[:40]
    for i, msg in enumerate([*poison, nul_name]):  # spread through the batches
        first.insert(5 + 9 * i, msg)
    publish(rabbitmq_url, queue, first)  # queued before any consumer: batches mix them
    procs = [start_consumer(rabbitmq_url, queue, url, "--prefetch", "60", "--batch", "30")]
    procs.append(start_consumer(rabbitmq_url, queue, url, "--prefetch", "60", "--batch", "30"))
    dead_q = dead_letter_queue(queue)

    def stored() -> int:
        for p in procs:  # say why, rather than time out
            if p.poll() is not None:
                raise AssertionError(f"a consumer exited: {finish(p)}")
        with Store(url, create=False) as st:
            return load(st).messages

    wait_for(lambda: stored() == len(first) - len(poison), 60, "the good messages committed")
    wait_for(lambda: queue_depth(rabbitmq_url, dead_q) == len(poison), 30, "the dead letters")
    assert [p.poll() for p in procs] == [None, None], "a consumer exited"
    # later messages are still consumed, by consumers that are still attached
    wait_for(lambda: consumers(rabbitmq_url, queue) == 2, 30, "both consumers attached")
    publish(rabbitmq_url, queue, good[40:])
    wait_for(lambda: stored() == len(good) + 1, 60, "the later messages committed")
    for p in procs:
        p.send_signal(signal.SIGTERM)
    results = [finish(p) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    assert sum(int(err.split(" dead-lettered")[0].rsplit(" ", 1)[-1]) for _, err in results) == 4

    with Store(url, create=False) as st:
        s = load(st)
    assert s.counts() == {**truth(texts), "a\ufffdb": (1, 1, 0)}
    assert s.dead == {"malformed": 3, "refused": 1} and s.dead_letters == 4
    assert results_cli.main(["--store", url]) == 0
    assert "dead letters: 4 (3 malformed, 1 refused by the store;" in capsys.readouterr().out
    letters = drain(rabbitmq_url, dead_q)
    by_id = {props.message_id: (props.headers[HEADER_REASON], body) for props, body in letters}
    assert set(by_id) == {mid for _, _, mid in poison}
    assert "the store refused it" in by_id["p:1@0"][0] and "poison" in by_id["p:1@0"][0]
    assert "NUL" in by_id["nul-source@0"][0]
    assert "past 2^63 - 1" in by_id["o:1@9223372036854775808"][0]
    assert "positions pass 2^63 - 1" in by_id["o:2@9223372036854775807"][0]
    assert {mid: body for mid, (_, body) in by_id.items()} == {m: b for b, _, m in poison}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_isolation_commits_all_but_the_refused_and_a_failing_store_is_not_blamed_on_messages(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    url = store_url(backend, tmp_path, request)
    refuse_names_starting_poison(url)
    h = lines("/ci/x.log")
    msgs = [from_message(f"Test: t{i}\nResult: PASS\n".encode(), h, f"x:{i}@0") for i in range(9)]
    msgs[3] = from_message(b"Test: poison\nResult: FAIL\n", h, "x:3@0")
    msgs[7] = from_message(b"Test: poison2\nResult: FAIL\n", h, "x:7@0")
    with Store(url) as store:
        new, refused = store.add_isolating(msgs)
        assert new == 7 and [c.message_id for c, _ in refused] == ["x:3@0", "x:7@0"]
        assert all("the store refused it" in why for _, why in refused)
        assert load(store).messages == 7
        store.db.close()  # the store is gone: no message is at fault
        with pytest.raises(StoreError) as failed:
            store.add_isolating(msgs[:2])
        assert not failed.value.refused


def _wire(msg: tuple[Any, ...], prefix: str) -> tuple[bytes, Any, Any, int]:
    """A generated message made unique to this example, as pika publishes it."""
    body, headers, mid, ts = msg
    if isinstance(mid, str):
        mid = prefix + mid
    elif isinstance(mid, bytes):
        mid = prefix.encode() + mid
    return body, headers, mid, int(ts or 0)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_generated_messages_end_to_end(
    rabbitmq_url: str, queue: str, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """Hypothesis-made messages through the broker: each is committed or dead-lettered exactly
    as the pure decoding says, and the consumer never stops."""
    url = store_url(backend, tmp_path, request)

    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(hostile_messages(wire=True), min_size=1, max_size=6))
    def check(msgs: list[tuple[Any, ...]]) -> None:
        prefix = f"{uuid.uuid4().hex[:8]}:"
        sent = [_wire(m, prefix) for m in msgs]
        accepted, malformed = set(), 0
        for body, headers, mid, ts in sent:
            try:
                accepted.add(from_message(body, headers, mid, ts).message_id)
            except Malformed:
                malformed += 1
        publish(rabbitmq_url, queue, [(b, h, m) for b, h, m, _ in sent], [ts for *_, ts in sent])
        with Store(url) as store:
            before = load(store).messages
            c = Consumer(ConsumerOptions(rabbitmq_url, queue, exit_when_idle=0.3), store)
            c.run()  # returns only once the queue is idle
            assert c.stats.messages == len(sent) and c.stats.dead == malformed
            assert load(store).messages == before + len(accepted)
        letters = drain(rabbitmq_url, dead_letter_queue(queue))
        assert len(letters) == malformed
        assert all(props.headers[HEADER_REASON] for props, _ in letters)
        assert queue_depth(rabbitmq_url, queue) == 0

    check()

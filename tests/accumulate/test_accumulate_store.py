"""The store: exact summaries whatever the message order, redeliveries counted once."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from accumulate_helpers import make_log, split_lines, truth

from loglane.accumulate.messages import Malformed, from_message
from loglane.accumulate.store import Store, StoreError
from loglane.accumulate.summary import load
from loglane.wire import HEADER_HOST, HEADER_KIND, HEADER_OFFSET, HEADER_SOURCE, message_id


def _msg(
    source: str, offset: int, body: bytes, kind: str = "lines"
) -> tuple[bytes, dict[str, object], str]:
    headers = {HEADER_SOURCE: source, HEADER_OFFSET: offset, HEADER_KIND: kind}
    return body, headers, message_id(f"{source}#ino", offset)


def _shuffled_messages(rng: random.Random, texts: list[str], max_lines: int):  # type: ignore[no-untyped-def]
    msgs = []
    for i, text in enumerate(texts):
        for offset, chunk in split_lines(rng, text, max_lines):
            msgs.append(_msg(f"/logs/run{i}.log", offset, chunk))
    rng.shuffle(msgs)
    return msgs


@pytest.mark.parametrize("seed", range(6))
def test_split_shuffled_lines_give_the_exact_truth(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    texts = [make_log(rng, rng.randint(1, 30), noise=rng.choice([0, 3])) for _ in range(8)]
    with Store(str(tmp_path / "r.db")) as store:
        msgs = _shuffled_messages(rng, texts, max_lines=rng.choice([1, 2, 5, 40]))
        # commit in random batches, and deliver a random tenth of them twice
        msgs += rng.sample(msgs, len(msgs) // 10)
        i = 0
        while i < len(msgs):
            n = rng.randint(1, 30)
            store.add([from_message(*m) for m in msgs[i : i + n]])
            i += n
        summary = load(store)
    assert summary.counts() == truth(texts)
    assert summary.open_tests == 0
    assert sum(s.anomalies for s in summary.sources.values()) == 0
    assert summary.messages == len(set(m[2] for m in msgs))


def test_partial_arrival_is_exact_for_what_has_arrived(tmp_path: Path) -> None:
    text = "Test: a\nnoise\nResult: PASS\nTest: b\n"
    tail = "Result: FAIL\n"
    with Store(str(tmp_path / "r.db")) as store:
        store.add([from_message(*_msg("s", 0, text.encode()))])
        s = load(store)
        assert s.counts() == {"a": (1, 1, 0)} and s.open_tests == 1
        store.add([from_message(*_msg("s", len(text), tail.encode()))])
        s = load(store)
        assert s.counts() == {"a": (1, 1, 0), "b": (1, 0, 1)} and s.open_tests == 0


def test_redelivery_is_a_no_op(tmp_path: Path) -> None:
    m = _msg("s", 0, b"Test: a\nResult: FAIL\n")
    with Store(f"sqlite:///{tmp_path}/r.db") as store:
        assert store.add([from_message(*m)]) == 1
        assert store.add([from_message(*m), from_message(*m)]) == 0
        assert load(store).counts() == {"a": (1, 0, 1)}


def test_first_result_of_a_source_is_named_after_it(tmp_path: Path) -> None:
    with Store(str(tmp_path / "r.db")) as store:
        store.add([from_message(*_msg("/ci/test_boot.log", 7, b"Result: PASS\n"))])
        assert load(store).counts() == {"/ci/test_boot.log": (1, 1, 0)}


def test_same_path_on_two_hosts_stays_two_sources(tmp_path: Path) -> None:
    def on(host: str, body: bytes) -> tuple[bytes, dict[str, object], str]:
        headers = {HEADER_SOURCE: "/ci/t_boot.log", HEADER_OFFSET: 0, HEADER_KIND: "lines"}
        return body, {**headers, HEADER_HOST: host}, message_id(f"{host}:8:1", 0)

    with Store(str(tmp_path / "r.db")) as store:
        store.add(
            [from_message(*on("a", b"Result: PASS\n")), from_message(*on("b", b"Result: FAIL\n"))]
        )
        s = load(store)
    assert set(s.sources) == {"a:/ci/t_boot.log", "b:/ci/t_boot.log"}
    assert s.counts() == {"/ci/t_boot.log": (2, 1, 1)}  # one test, seen on both hosts


def test_malformed_messages_are_rejected_with_a_reason() -> None:
    good_headers = {HEADER_SOURCE: "s", HEADER_OFFSET: 0, HEADER_KIND: "lines"}
    cases = [
        (b"\xff\xfe bad", good_headers, "id@0", "not UTF-8"),
        (b"x\n", {HEADER_OFFSET: 0, HEADER_KIND: "lines"}, "id@0", HEADER_SOURCE),
        (b"x\n", {**good_headers, HEADER_KIND: "blob"}, "id@0", HEADER_KIND),
        (b"x\n", {HEADER_SOURCE: "s", HEADER_KIND: "lines"}, "id@0", HEADER_OFFSET),
        (b"x\n", {**good_headers, HEADER_OFFSET: "ten"}, "id@0", "not an integer"),
        (b"x\n", {**good_headers, HEADER_OFFSET: -5}, "id@0", "negative"),
        (b"x\n", good_headers, None, "message_id"),
        (b"x\n", None, "id@0", HEADER_SOURCE),
    ]
    for body, headers, mid, reason in cases:
        with pytest.raises(Malformed, match=reason):
            from_message(body, headers, mid)


def test_bad_store_urls_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="unknown store URL"):
        Store("mysql://x")
    with pytest.raises(StoreError, match="does not exist"):
        Store(str(tmp_path / "no" / "such" / "r.db"))
    with pytest.raises(StoreError, match="cannot connect"):
        Store("postgresql://nobody@127.0.0.1:1/none")


def _concurrent_writers(url: str, seed: int) -> None:
    rng = random.Random(seed)
    texts = [make_log(rng, 20) for _ in range(6)]
    msgs = _shuffled_messages(rng, texts, max_lines=4)
    halves = [msgs[0::2] + msgs[:10], msgs[1::2] + msgs[-10:]]  # overlap: both see some twice
    errors: list[BaseException] = []

    def write(part: list) -> None:  # type: ignore[type-arg]
        try:
            with Store(url) as store:
                for i in range(0, len(part), 7):
                    store.add([from_message(*m) for m in part[i : i + 7]])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(h,)) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with Store(url) as store:
        assert load(store).counts() == truth(texts)


def test_two_sqlite_writers(tmp_path: Path) -> None:
    _concurrent_writers(str(tmp_path / "r.db"), 1)


@pytest.mark.services
def test_two_postgres_writers(pg_store_url: str) -> None:
    _concurrent_writers(pg_store_url, 2)


@pytest.mark.services
def test_postgres_split_shuffled_and_redelivered(pg_store_url: str) -> None:
    rng = random.Random(5)
    texts = [make_log(rng, 15) for _ in range(5)]
    msgs = _shuffled_messages(rng, texts, max_lines=3)
    with Store(pg_store_url) as store:
        for i in range(0, len(msgs), 9):
            store.add([from_message(*m) for m in msgs[i : i + 9]])
        assert store.add([from_message(*m) for m in msgs[:20]]) == 0
        assert load(store).counts() == truth(texts)

"""The consumer's decoding: every message is either inside both stores' limits or Malformed.

Pure and fast (many hypothesis examples), then the accepted contributions committed to real
SQLite and PostgreSQL stores, which must never refuse them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from accumulate_helpers import INT64, hostile_messages
from hypothesis import HealthCheck, given, settings

from loglane.accumulate.limits import MAX_KEY_BYTES, MAX_SEEN, clean, fit_key, is_clean
from loglane.accumulate.messages import Malformed, from_file, from_message
from loglane.accumulate.parsers import MAX_NAME, Status
from loglane.accumulate.store import Contribution, Store
from loglane.accumulate.summary import load
from loglane.wire import HEADER_HOST, HEADER_KIND, HEADER_OFFSET, HEADER_SOURCE

LINES = {HEADER_SOURCE: "/ci/a.log", HEADER_KIND: "lines", HEADER_OFFSET: 0}


def inside_limits(c: Contribution) -> None:
    """What both stores accept (checked independently of the code under test)."""
    for key in (c.source, c.source_key, c.label):
        assert is_clean(key) and len(key.encode()) <= MAX_KEY_BYTES, key
    assert is_clean(c.message_id) and len(c.message_id.encode()) <= 255
    assert 0 <= c.seen <= MAX_SEEN
    for name, _ in c.parsed.outcomes:
        assert is_clean(name) and len(name) <= MAX_NAME
    for ev in (c.parsed.first, c.parsed.last):
        if ev is not None:
            assert -INT64 <= ev.offset < INT64 and is_clean(ev.value)


@settings(max_examples=1000, deadline=None)
@given(hostile_messages())
def test_decoding_accepts_only_what_the_stores_hold(msg: tuple[Any, ...]) -> None:
    body, headers, mid, ts = msg
    try:
        c = from_message(body, headers, mid, ts)
    except Malformed as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and is_clean(reason) and len(reason) < 400
        return
    inside_limits(c)


@pytest.fixture(scope="module")
def sqlite_store() -> Iterator[Store]:
    with Store("sqlite:///:memory:") as store:
        yield store


@settings(max_examples=300, deadline=None)
@given(hostile_messages())
def test_sqlite_never_refuses_an_accepted_message(
    sqlite_store: Store, msg: tuple[Any, ...]
) -> None:
    _commit_if_accepted(sqlite_store, msg)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hostile_messages())
def test_postgres_never_refuses_an_accepted_message(
    pg_store_url: str, msg: tuple[Any, ...]
) -> None:
    with Store(pg_store_url) as store:
        _commit_if_accepted(store, msg)


def _commit_if_accepted(store: Store, msg: tuple[Any, ...]) -> None:
    body, headers, mid, ts = msg
    try:
        c = from_message(body, headers, mid, ts)
    except Malformed:
        return
    store.add([c])  # raises StoreError if the store refused it


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({**LINES, HEADER_SOURCE: "/ci/a\x00.log"}, "NUL"),
        ({**LINES, HEADER_SOURCE: "/ci/\udc80.log"}, "surrogate"),
        ({**LINES, HEADER_HOST: "ci\x00"}, "NUL"),
        ({**LINES, HEADER_OFFSET: str(INT64)}, "past 2^63 - 1"),
        ({**LINES, HEADER_OFFSET: INT64}, "past 2^63 - 1"),
        ({**LINES, HEADER_OFFSET: INT64 - 1}, "positions pass 2^63 - 1"),
        ({**LINES, HEADER_OFFSET: "9" * 30}, "not an integer"),
        ({**LINES, HEADER_OFFSET: " 12"}, "not an integer"),
        ({**LINES, HEADER_OFFSET: "١٢"}, "not an integer"),  # int() would take these digits
        ({**LINES, HEADER_OFFSET: True}, "not an integer"),
        ({**LINES, HEADER_OFFSET: -1}, "negative"),
        ({HEADER_SOURCE: "s", HEADER_KIND: "lines"}, "missing header"),
    ],
)
def test_header_values_the_stores_cannot_hold_are_malformed(
    headers: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Malformed, match=re.escape(reason)):
        from_message(b"Test: a\nResult: PASS\n", headers, "s:1@0")


@pytest.mark.parametrize("mid", ["a\x00b@0", b"\xff\xfe@0", "x" * 300, 12])
def test_message_ids_the_stores_cannot_hold_are_malformed(mid: Any) -> None:
    with pytest.raises(Malformed, match="message_id"):
        from_message(b"Test: a\n", LINES, mid)


def test_the_last_offset_that_fits_is_accepted() -> None:
    body = b"Test: a\nResult: PASS\nTest: b\n"
    c = from_message(body, {**LINES, HEADER_OFFSET: str(INT64 - 1 - len(body))}, "s:1@x")
    assert c.parsed.last is not None and c.parsed.last.offset < INT64 - 1


def test_a_nul_in_a_test_name_becomes_u_fffd_and_an_anomaly() -> None:
    body = b"Test: lo\x00gin\nResult: PASS\nTest: up\x00load\n"
    c = from_message(body, LINES, "s:1@0")
    assert c.parsed.outcomes == [("lo\ufffdgin", Status.PASS)]
    assert c.parsed.last is not None and c.parsed.last.value == "up\ufffdload"
    assert c.parsed.anomalies == 2
    f = from_file("/ci/t.log", b"ok 1 - a\x00b\nnot ok 2 - c\n", 1.7e9)
    assert [n for n, _ in f.parsed.outcomes] == ["a\ufffdb", "c"] and f.parsed.anomalies == 1


def test_a_file_name_that_is_not_utf8_and_a_long_path_fit_the_store() -> None:
    f = from_file("/ci/bad\udcff.log", b"Result: PASS\n", 1.7e9)
    assert f.source == "/ci/bad\ufffd.log" and is_clean(f.message_id)
    long_path = "/ci/" + "é" * 2000 + ".log"
    g = from_file(long_path, b"Result: PASS\n", 1.7e9)
    assert len(g.source.encode()) <= MAX_KEY_BYTES
    assert g.source != fit_key("/ci/" + "é" * 2000 + ".txt")  # a hash keeps long keys apart


@pytest.mark.parametrize("ts", [2**64 - 1, 2**63, float("inf"), float("nan"), -5.0])
def test_an_impossible_timestamp_is_replaced_by_the_time_consumed(ts: float) -> None:
    before = time.time()
    c = from_message(b"Result: PASS\n", LINES, "s:1@0", ts)
    assert before <= c.seen <= time.time()


def test_clean_replaces_nul_and_surrogates_only() -> None:
    assert clean("a\x00b\udc80c\u00e9\U0001f600") == "a\ufffdb\ufffdc\u00e9\U0001f600"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_issue_s_poison_values_commit_the_same_on_both_stores(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """Both stores end up with the same rows: the decisions are made before either sees them."""
    url = str(tmp_path / "r.db") if backend == "sqlite" else request.getfixturevalue("pg_store_url")
    body = b"Test: a\x00b\nResult: FAIL\n"
    near = str(INT64 - 1 - len(body))
    with Store(url) as store:
        store.add([from_message(body, {**LINES, HEADER_OFFSET: near}, f"s:1@{near}")])
        s = load(store)
    assert s.counts() == {"a\ufffdb": (1, 0, 1)}
    assert sum(r.anomalies for r in s.sources.values()) == 1

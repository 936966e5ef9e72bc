"""Formatting: the batched fast path must equal formatting each record on its own."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from loglane.format import JsonFormatter, TextFormatter, render_fields, render_message

MESSAGES = ["req %s took %d ms", "%s", "%s %s", "%d", "plain", "100%% %s", "%(a)s", "%*d",
            "tab\t%s", "%r", "%.2f"]
ARG = st.one_of(st.integers(-10**6, 10**6), st.text(max_size=8), st.floats(allow_nan=False),
                st.sampled_from(["", "\x00", "%s", "\n", "\udcff"]))
# a few seconds, a few milliseconds in each (runs share one), any nanosecond in those
TIMES = st.builds(lambda s, ms, ns: s * 10**9 + ms * 10**6 + ns,
                  st.integers(1_795_342_370, 1_795_342_373),
                  st.sampled_from([0, 1, 2, 998, 999]), st.integers(0, 999_999))
RECORD = st.tuples(
    st.sampled_from([10, 20, 30, 40, 50, 25]),
    TIMES,
    st.sampled_from(MESSAGES),
    st.lists(ARG, max_size=3).map(tuple),
    st.sampled_from([None, {"k": 1}]),
    st.just(None),
    st.sampled_from(["app", "other", "100%"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(RECORD, max_size=40))
def test_batched_lines_equal_one_by_one(records: list[tuple[Any, ...]]) -> None:
    fmt = TextFormatter(utc=True)
    assert fmt.format_batch(records) == [fmt._one(r) for r in records]


RUNNY = st.tuples(  # few shapes, so that long runs (and their ends) are common
    st.sampled_from([20, 20, 20, 30]),
    TIMES,
    st.sampled_from(["req %s took %d ms", "req %s took %d ms", "%s"]),
    st.tuples(st.sampled_from(["GET /x", "\x00", "%s"]), st.integers(-5, 10**6)),
    st.sampled_from([None, None, None, {"k": 1}]),
    st.just(None),
    st.sampled_from(["app", "app", "100%"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(RUNNY, max_size=60))
def test_runs_equal_one_by_one(records: list[tuple[Any, ...]]) -> None:
    fmt = TextFormatter(utc=True)
    assert fmt.format_batch(records) == [fmt._one(r) for r in records]


def test_runs_of_the_same_message_with_a_bad_record_in_the_middle() -> None:
    fmt = TextFormatter(utc=True)
    ts = 1_795_342_374_796_000_000
    recs = [(20, ts, "n %d", (i,), None, None, "a") for i in range(5)]
    recs[2] = (20, ts, "n %d", ("two",), None, None, "a")
    lines = fmt.format_batch(recs)
    assert lines[0] == "[2026-11-22 10:12:54.796 a INFO] n 0"
    assert lines[2].startswith("[2026-11-22 10:12:54.796 a INFO] n %d <loglane: message could")
    assert lines[4].endswith("] n 4")


def test_render_message_and_fields() -> None:
    assert render_message("%s-%s", (1, 2)) == "1-2"
    assert render_message("no args %d", ()) == "no args %d"
    assert render_fields({"a": 1, "b": "x y", "c": 'q"uote'}) == ' a=1 b="x y" c="q\\"uote"'


def test_json_formatter_survives_unserialisable_fields() -> None:
    line = JsonFormatter(utc=True).format_batch(
        [(20, 0, "m", (), {"obj": object(), "n": 1}, None, "x")])[0]
    assert '"n": 1' in line and '"obj": "<object object at' in line

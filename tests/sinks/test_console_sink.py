"""Console and callable sinks: one bad record never ends the sink for the records after it."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import loglane
from loglane import delivery


def test_a_character_the_stream_cannot_encode_is_replaced_not_fatal() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict", write_through=True)
    log = loglane.Logger("enc", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.ConsoleSink(stream)], fmt="{message}")
    log.info("clean 1")
    log.info("lone surrogate \ud800 here")
    log.info("café")
    log.info("clean 2")
    assert log.close(timeout=10)
    assert raw.getvalue().decode("ascii").splitlines() == [
        "clean 1", "lone surrogate \\ud800 here", "caf\\xe9", "clean 2"]
    stats = log.stats()
    assert (stats["errors"], stats["written"], stats["lost"]) == (0, 4, 0)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(), min_size=1, max_size=10),
       encoding=st.sampled_from(["ascii", "latin-1", "utf-8", "cp1252"]))
def test_any_text_reaches_a_strict_stream_of_any_encoding(texts: list[str], encoding: str) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", write_through=True,
                              newline="\n")
    log = loglane.Logger("enc", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.ConsoleSink(stream)], fmt="{message}")
    for text in texts:
        log.info("<%s>", text)
    assert log.close(timeout=10)
    stats = log.stats()
    assert (stats["errors"], stats["written"]) == (0, len(texts))
    assert raw.getvalue().decode(encoding).count("<") >= len(texts)


def refusing(bad: set[str], out: list[str]) -> Callable[[str], None]:
    def fn(line: str) -> None:
        if line in bad:
            raise ValueError(f"refused {line!r}")
        out.append(line)

    return fn


def test_a_callable_that_refuses_one_line_still_gets_the_lines_after_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.002)
    out: list[str] = []
    log = loglane.Logger("cb", None, stdout_level=None, stderr_level=None, fmt="{message}",
                         sinks=[loglane.CallableSink(refusing({"poison"}, out))])
    log.info("first")
    log.info("poison")
    for i in range(100):
        log.info("good %d", i)
    assert log.close(timeout=10)
    assert out == ["first"] + [f"good {i}" for i in range(100)]
    stats = log.stats()
    assert (stats["written"], stats["lost"], stats["pending"]) == (101, 1, 0)
    err = capsys.readouterr().err
    assert "gave up 1 record(s) it could not write (last: ValueError: refused 'poison')" in err


def test_a_callable_that_is_down_loses_nothing_and_resumes(
    monkeypatch: pytest.MonkeyPatch, wait_until: Callable[..., None],
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.002)
    out: list[str] = []
    down = {"yes": True}

    def fn(line: str) -> None:
        if down["yes"]:
            raise ConnectionError("down")
        out.append(line)

    log = loglane.Logger("cb", None, stdout_level=None, stderr_level=None, fmt="{message}",
                         sinks=[loglane.CallableSink(fn)])
    for i in range(50):
        log.info("n %d", i)
    wait_until(lambda: log.stats()["errors"] >= 3, what="several failed retries")
    down["yes"] = False
    assert log.close(timeout=10)
    assert out == [f"n {i}" for i in range(50)]
    stats = log.stats()
    assert (stats["written"], stats["lost"]) == (50, 0)


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(st.sampled_from(["ok", "bad"]), min_size=1, max_size=40))
def test_every_line_is_delivered_or_counted_lost(lines: list[str]) -> None:
    # (More than PROBE refused lines in a row look like an outage: they wait, and at close
    # they and the lines after them are lost, counted. Within that, nothing is.)
    assume("bad" * (loglane.CallableSink.PROBE + 1) not in "".join(lines))
    saved = delivery.BACKOFF_FIRST, delivery.CLOSE_RETRY
    delivery.BACKOFF_FIRST, delivery.CLOSE_RETRY = 0.0005, 0.05
    try:
        out: list[str] = []
        numbered = [f"{kind} {i}" for i, kind in enumerate(lines)]
        bad = {text for text in numbered if text.startswith("bad")}
        log = loglane.Logger("cb", None, stdout_level=None, stderr_level=None,
                             fmt="{message}", sinks=[loglane.CallableSink(refusing(bad, out))])
        for text in numbered:
            log.info(text)
        assert log.close(timeout=10)
        stats = log.stats()
        assert out == [t for t in numbered if t not in bad]
        assert stats["written"] + stats["lost"] == len(numbered)
        assert stats["lost"] == len(bad) and stats["pending"] == 0
    finally:
        delivery.BACKOFF_FIRST, delivery.CLOSE_RETRY = saved

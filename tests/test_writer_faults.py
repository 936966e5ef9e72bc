"""The writer survives anything: its own errors (restarted, and it says so), sinks and
formatters that raise anything at all, and sinks that log (bounded, never feeding themselves)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

import loglane
from loglane import writer as writer_mod
from loglane.writer import get_writer


def quiet(name: str, *sinks: loglane.Sink, **kw: Any) -> loglane.Logger:
    return loglane.Logger(name, None, stdout_level=None, stderr_level=None, sinks=sinks, **kw)


class Unprintable(BaseException):
    def __str__(self) -> str:
        raise Unprintable()


def test_a_writer_thread_that_dies_is_replaced_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # Make the writer's own error report fail once, after a cycle failed: the exception
    # then leaves the loop and ends the thread, which is what killed logging before.
    real_cycle, real_stderr = writer_mod.Writer._cycle, writer_mod.stderr
    armed = {"cycle": True, "report": True}

    def cycle(self: writer_mod.Writer) -> bool:
        if armed["cycle"]:
            armed["cycle"] = False
            raise Unprintable()
        return real_cycle(self)

    def report(text: str) -> None:
        if armed["report"] and "writer error" in text:
            armed["report"] = False
            raise Unprintable()
        real_stderr(text)

    lines: list[str] = []
    log = quiet("dies", loglane.CallableSink(lines.append))
    log.info("before")
    assert log.flush(timeout=10)
    writer = get_writer()
    restarts = writer.restarts
    monkeypatch.setattr(writer_mod.Writer, "_cycle", cycle)
    monkeypatch.setattr(writer_mod, "stderr", report)
    log.info("during")
    assert log.flush(timeout=10)
    log.info("after")
    assert log.close(timeout=10)
    assert [ln.rsplit("] ", 1)[1] for ln in lines] == ["before", "during", "after"]
    assert writer.restarts == restarts + 1 and writer.alive()
    err = capsys.readouterr().err
    assert "the writer thread stopped (Unprintable: <unprintable Unprintable" in err
    assert "starting a new one" in err


class Explodes(loglane.Sink):
    """Raises ``exc`` from ``method`` (write, accepts, flush, describe...)."""

    raw_records = True

    def __init__(self, method: str, exc: BaseException) -> None:
        super().__init__(level="INFO")
        self.method, self.exc = method, exc
        self.lines: list[str] = []

    def accepts(self, level: int) -> bool:
        if self.method == "accepts":
            raise self.exc
        return super().accepts(level)

    def write(self, records: Sequence[Any], lines: Sequence[str]) -> None:
        if self.method == "write":
            raise self.exc
        self.lines.extend(lines)

    def flush(self) -> None:
        if self.method == "flush":
            raise self.exc

    def describe(self) -> str:
        if self.method == "describe":
            raise self.exc
        return "Explodes"


@pytest.mark.parametrize("method", ["write", "accepts", "flush", "describe"])
@pytest.mark.parametrize("exc", [SystemExit(1), KeyboardInterrupt(), Unprintable(),
                                 RecursionError()], ids=type)
def test_whatever_a_sink_raises_the_other_sinks_get_every_line(
    method: str, exc: BaseException, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loglane.delivery, "CLOSE_RETRY", 0.1)
    good: list[str] = []
    bad = Explodes(method, exc)
    log = quiet("explodes", bad, loglane.CallableSink(good.append))
    for i in range(50):
        log.debug("debug %d", i)  # below the bad sink's level: it must check accepts()
        log.info("info %d", i)
    assert log.close(timeout=20)
    assert len(good) == 100
    assert get_writer().alive()
    for sink in log.stats()["sinks"]:
        assert sink["seen"] == sink["written"] + sink["skipped"] + sink["pending"] + sink["lost"]


def test_a_formatter_that_raises_or_returns_nonsense_costs_only_its_lines() -> None:
    def formatter(record: loglane.Record) -> Any:
        if record.msg == "raise":
            raise Unprintable()
        if record.msg == "int":
            return 42
        return f"ok {record.msg}"

    lines: list[str] = []
    log = quiet("fmt", loglane.CallableSink(lines.append), fmt=formatter)
    for msg in ("a", "raise", "int", "b"):
        log.info(msg)
    assert log.close(timeout=10)
    assert lines[0] == "ok a" and lines[3] == "ok b"
    assert "formatter failed: Unprintable" in lines[1]
    assert lines[2] == "42"


def test_a_sink_that_logs_each_line_it_writes_is_delivered_once_not_for_ever(
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines: list[str] = []
    holder: list[loglane.Logger] = []

    def chatty(line: str) -> None:
        lines.append(line)
        holder[0].info("sink wrote %d chars", len(line))

    log = quiet("chatty", loglane.CallableSink(chatty))
    holder.append(log)
    for i in range(100):
        log.info("line %d", i)
    assert log.flush(timeout=10)
    assert log.flush(timeout=10)  # a second cycle: nothing more appears
    stats = log.stats()
    # 100 lines, then the 100 records the sink logged about them, once; what it logged
    # about those is refused and counted
    assert len(lines) == 200 and stats["refused"] == 100
    assert sum("sink wrote" in ln for ln in lines) == 100
    log.close()
    assert "refused 100 record(s) logged by a sink" in capsys.readouterr().err


def test_a_sink_that_logs_through_another_logger_is_bounded_too() -> None:
    seen: list[str] = []
    other_lines: list[str] = []
    other = quiet("other", loglane.CallableSink(other_lines.append))

    def relay(line: str) -> None:
        seen.append(line)
        other.info("relayed %s", line)

    relay_log = quiet("relay", loglane.CallableSink(relay))
    back = quiet("back", loglane.CallableSink(lambda line: relay_log.info("echo")))
    for i in range(10):
        relay_log.info("r %d", i)
        back.info("b %d", i)
    assert relay_log.flush(timeout=10) and relay_log.flush(timeout=10)
    for log in (relay_log, back, other):
        log.close()
    # relay saw its own 10 lines and the 10 echoes back's sink logged; it relayed the first
    # 10 (logged by a sink: delivered once); what it logged about the echoes was refused
    assert (len(seen), len(other_lines), other.stats()["refused"]) == (20, 10, 10)


def test_writer_restart_and_refusals_show_in_stats(wait_until: Callable[..., None]) -> None:
    log = quiet("stats", loglane.CallableSink(lambda line: None))
    log.info("x")
    log.close()
    stats = log.stats()
    assert {"refused", "pending", "notes"} <= stats.keys()
    assert stats["sinks"][0].keys() >= {"seen", "written", "skipped", "pending", "lost"}

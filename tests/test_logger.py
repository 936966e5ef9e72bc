"""The log call: what it writes, that it never raises, that it captures values at call time."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest

import loglane

# 2026-11-22 10:12:54.796 UTC
T0 = 1_795_342_374_796_000_000


class Clock:
    def __init__(self, ns: int = T0) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def collect(**kw: Any) -> tuple[loglane.Logger, list[str]]:
    lines: list[str] = []
    kw.setdefault("stdout_level", None)
    kw.setdefault("stderr_level", None)
    log = loglane.Logger(kw.pop("name", "my app"), None,
                         sinks=[loglane.CallableSink(lines.append)], **kw)
    return log, lines


def test_default_line_format_matches_the_documented_example(tmp_path: Path) -> None:
    log = loglane.Logger("my app", tmp_path / "app.log", clock=Clock(), utc=True,
                         stdout_level=None, stderr_level=None)
    log.info("Hello %s, params %d", "foo", 7)
    log.close()
    text = (tmp_path / "app-2026-11-22.log").read_text()
    assert text == "[2026-11-22 10:12:54.796 my app INFO] Hello foo, params 7\n"


def test_levels_methods_and_names() -> None:
    log, lines = collect(clock=Clock(), utc=True)
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    log.critical("c")
    log.log("WARNING", "by name")
    log.log(25, "custom %s", "level")
    log.close()
    assert [ln.split("] ")[0].removeprefix("[2026-11-22 10:12:54.796 my app ") for ln in lines] == [
        "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "WARNING", "Level 25"]
    assert loglane.INFO == 20 and loglane.parse_level("debug") == 10


def test_exception_traceback_follows_the_line() -> None:
    log, lines = collect()
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.exception("Got an error")
    log.close()
    first, *rest = lines[0].split("\n")
    assert first.endswith("ERROR] Got an error")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "ZeroDivisionError: division by zero"


def test_a_list_mutated_after_the_call_shows_its_value_at_call_time() -> None:
    log, lines = collect()
    items = [1, 2]
    fields = {"k": [1]}
    log.info("items %s", items, extra=fields)
    items.append(3)
    fields["k"].append(2)
    log.close()
    assert lines == [lines[0]]
    assert lines[0].endswith("items [1, 2] extra=\"{'k': [1]}\"")


class Loud:
    """An object whose text changes: formatted at call time, it shows the first value."""

    def __init__(self) -> None:
        self.n = 0

    def __str__(self) -> str:
        self.n += 1
        return f"loud#{self.n}"


def test_objects_are_formatted_on_the_callers_thread_immutables_on_the_writer() -> None:
    seen: list[str] = []

    def fmt(record: loglane.Record) -> str:
        seen.append(threading.current_thread().name)
        return record.msg % record.args if record.args else record.msg

    log, lines = collect(fmt=fmt)
    obj = Loud()
    log.info("obj %s", obj)
    str(obj)  # a later change must not show
    log.info("ints %d %s", 1, "two")
    log.close()
    assert lines == ["obj loud#1", "ints 1 two"]
    assert set(seen) == {"loglane-writer"}


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")

    def __repr__(self) -> str:
        raise RuntimeError("broken __repr__")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda log: log.info("%d apples", "many"),
         "%d apples <loglane: message could not be formatted: TypeError"),
        (lambda log: log.info("%s and %s", 1), "not enough arguments"),
        (lambda log: log.info("%s", 1, 2), "not all arguments converted"),
        (lambda log: log.info("obj %s", BadStr()), "RuntimeError: broken __str__"),
        (lambda log: log.info(BadStr()), "<unprintable BadStr: RuntimeError: broken __str__>"),
        (lambda log: log.info(None), "] None"),
        (lambda log: log.info(12345), "] 12345"),
        (lambda log: log.info(b"\xff bytes"), "] b'\\xff bytes'"),
        (lambda log: log.info("%(user)s", {"user": "ann"}), "] ann"),
        (lambda log: log.log("NOPE", "bad level"), "ERROR] bad level loglane_error="),
        (lambda log: log.info("f", field=BadStr()), "field=\"<unprintable BadStr"),
        (lambda log: log.info("%s", "\udcff surrogate"), "surrogate"),
        (lambda log: log.info("%s", float("nan")), "] nan"),
    ],
)
def test_bad_input_gives_a_line_that_says_so_and_never_raises(call: Any, expected: str) -> None:
    log, lines = collect()
    call(log)
    log.close()
    assert len(lines) == 1
    assert expected in lines[0]


def test_recursive_structures_do_not_hang_or_raise() -> None:
    log, lines = collect(json=True)
    loop: list[Any] = []
    loop.append(loop)
    log.info("loop %s", loop, loop=loop)
    log.close()
    obj = json.loads(lines[0])
    assert obj["message"] == "loop [[...]]"


def test_fields_text_quoting() -> None:
    log, lines = collect()
    log.info("login", user_id=42, name="Ann Lee", empty="", eq="a=b", ok="plain")
    log.close()
    assert lines[0].endswith('login user_id=42 name="Ann Lee" empty="" eq="a=b" ok=plain')


def test_json_lines() -> None:
    log, lines = collect(json=True, clock=Clock(), utc=True)
    log.info("Hello %s", "foo", user=7)
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("failed")
    log.close()
    first = json.loads(lines[0])
    assert first == {"time": "2026-11-22T10:12:54.796000+00:00", "ts": T0 / 1e9,
                     "level": "INFO", "logger": "my app", "message": "Hello foo", "user": 7}
    second = json.loads(lines[1])
    assert second["level"] == "ERROR" and "ValueError: bad" in second["exception"]


def test_custom_template_fmt() -> None:
    log, lines = collect(fmt="{time} {level:<8} {name}: {message}{fields} ({user})",
                         clock=Clock(), utc=True)
    log.warning("hi %s", "there", user="ann")
    log.info("no user")
    log.close()
    assert lines == ["2026-11-22 10:12:54.796 WARNING  my app: hi there user=ann (ann)",
                     "2026-11-22 10:12:54.796 INFO     my app: no user (-)"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"file_level": "LOUD"}, "unknown log level 'LOUD'"),
        ({"stdout_level": -3}, "must not be negative"),
        ({"overflow": "explode"}, "overflow must be 'drop' or 'block'"),
        ({"queue_size": 0}, "queue_size must be a positive int"),
        ({"fmt": "{unclosed"}, "invalid fmt"),
        ({"fmt": "{x}", "json": True}, "either fmt or json"),
        ({"retention_days": 0}, "retention_days must be a positive int"),
    ],
)
def test_bad_configuration_raises_clearly_at_construction(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        loglane.Logger("x", tmp_path / "a.log", **kwargs)


def test_a_path_under_a_regular_file_raises_at_construction(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("I am a file")
    with pytest.raises(ValueError, match="a part of the path is a file"):
        loglane.Logger("x", tmp_path / "plain" / "logs" / "app.log")


def test_stdout_and_stderr_split_by_level(capsys: pytest.CaptureFixture[str]) -> None:
    log = loglane.Logger("split", None, clock=Clock(), utc=True)
    log.debug("not shown")
    log.info("to out")
    log.warning("to err")
    log.error("also err")
    log.close()
    out, err = capsys.readouterr()
    assert out == "[2026-11-22 10:12:54.796 split INFO] to out\n"
    assert err.splitlines() == ["[2026-11-22 10:12:54.796 split WARNING] to err",
                                "[2026-11-22 10:12:54.796 split ERROR] also err"]


def test_streams_can_be_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    log = loglane.Logger("quiet", None, stdout_level=None, stderr_level=None)
    log.error("nowhere")
    log.close()
    assert capsys.readouterr() == ("", "")
    log2 = loglane.Logger("all-out", None, stderr_level=None, stdout_level="DEBUG")
    log2.debug("dbg")
    log2.critical("crit")
    log2.close()
    assert capsys.readouterr().out.count("\n") == 2


def test_stats_counts(tmp_path: Path) -> None:
    log = loglane.Logger("s", tmp_path / "a.log", stdout_level=None, stderr_level=None)
    for i in range(1000):
        log.info("n %d", i)
    log.close()
    stats = log.stats()
    assert {k: stats[k] for k in ("enqueued", "written", "dropped", "errors", "queued")} == {
        "enqueued": 1000, "written": 1000, "dropped": 0, "errors": 0, "queued": 0}


def test_no_io_on_the_callers_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real_write = os.write

    def spy(fd: int, data: Any) -> int:
        threads.append(threading.current_thread().name)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", spy)
    log = loglane.Logger("io", tmp_path / "a.log", stdout_level=None, stderr_level=None)
    for i in range(100):
        log.info("line %d", i)
    log.close()
    assert threads and set(threads) == {"loglane-writer"}

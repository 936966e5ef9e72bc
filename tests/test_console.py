"""Console colours: by level on terminals; NO_COLOR, FORCE_COLOR, TERM=dumb, explicit choice."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import loglane
from loglane.colors import wants_color


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(var, raising=False)


def run(stream: io.StringIO, color: bool | None = None) -> list[str]:
    log = loglane.Logger("app", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.ConsoleSink(stream, color=color)], fmt="{level} {message}")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    log.critical("c")
    log.close()
    return stream.getvalue().splitlines()


COLOURED = ["\x1b[2mDEBUG d\x1b[0m", "INFO i", "\x1b[33mWARNING w\x1b[0m",
            "\x1b[31mERROR e\x1b[0m", "\x1b[1;31mCRITICAL c\x1b[0m"]
PLAIN = ["DEBUG d", "INFO i", "WARNING w", "ERROR e", "CRITICAL c"]


def test_a_terminal_gets_colours_by_level_and_a_pipe_does_not() -> None:
    assert run(Tty()) == COLOURED
    assert run(io.StringIO()) == PLAIN


@pytest.mark.parametrize(("env", "tty", "expected"), [
    ({"NO_COLOR": "1"}, True, PLAIN),
    ({"NO_COLOR": ""}, True, COLOURED),  # set but empty counts as unset (no-color.org)
    ({"FORCE_COLOR": "1"}, False, COLOURED),
    ({"FORCE_COLOR": ""}, False, PLAIN),
    ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, PLAIN),  # NO_COLOR wins, as in CPython
    ({"TERM": "dumb"}, True, PLAIN),
    ({"TERM": "dumb", "FORCE_COLOR": "1"}, False, COLOURED),
])
def test_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool,
                     expected: list[str]) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert run(Tty() if tty else io.StringIO()) == expected


def test_an_explicit_choice_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert run(io.StringIO(), color=True) == COLOURED
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR")
    assert run(Tty(), color=False) == PLAIN


def test_a_traceback_stays_inside_the_colour_and_odd_streams_are_plain() -> None:
    stream = Tty()
    log = loglane.Logger("app", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.ConsoleSink(stream)], fmt="{message}")
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("boom")
    log.close()
    text = stream.getvalue()
    assert text.startswith("\x1b[31mboom\nTraceback") and text.endswith("KeyError: 'k'\x1b[0m\n")

    class Broken(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("closed")

    assert wants_color(Broken(), environ={}) is False
    assert wants_color(object(), environ={}) is False


def test_configuration_colour_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from loglane.registry import REGISTRY

    try:
        loglane.configure(sinks=[{"kind": "console", "stream": "stdout", "color": True}])
        (sink,) = REGISTRY.plan.sinks
        assert isinstance(sink, loglane.ConsoleSink) and sink.color is True
    finally:
        REGISTRY.reset()


def test_stderr_of_a_real_process_with_force_color(tmp_path: Path) -> None:
    code = ("import loglane; log = loglane.Logger('app', fmt='{level} {message}'); "
            "log.info('to stdout'); log.error('to stderr')")
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.stdout == "INFO to stdout\n"
    assert proc.stderr == "\x1b[31mERROR to stderr\x1b[0m\n"

"""Nothing a caller passes can raise into the caller or stop the writer.

Hypothesis throws hostile objects (a ``__str__`` that raises an exception whose own ``__str__``
raises, ``SystemExit``, non-str results, str subclasses with their own ``__format__``, enum
members, cyclic and deep containers, mappings that fail to iterate, lying ``__class__``) at
every public log call, as message, arguments, fields, ``exc_info`` and level. Every call
returns normally, the writer stays the same thread, and every record is one line in the sink.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import loglane
from loglane.registry import REGISTRY
from loglane.writer import get_writer


class Evil(Exception):
    """An exception whose text is another Evil: str() of it never succeeds."""

    def __str__(self) -> str:
        raise Evil()

    def __repr__(self) -> str:
        raise Evil()


class Raises:
    """__str__, __repr__ and __format__ raise ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __str__(self) -> str:
        raise self.exc

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        raise self.exc


class NotStr:
    def __str__(self) -> Any:
        return 42

    def __repr__(self) -> Any:
        return None


class SneakyStr(str):
    def __str__(self) -> str:
        raise Evil()

    def __format__(self, spec: str) -> str:
        raise Evil()


class Color(enum.Enum):
    RED = 1

    def __str__(self) -> str:
        raise Evil()

    def __format__(self, spec: str) -> str:
        raise Evil()


class BadMapping(dict[str, Any]):
    def items(self) -> Any:
        raise Evil()

    def __getitem__(self, key: str) -> Any:
        raise Evil()


class LyingClass:
    @property  # type: ignore[misc]
    def __class__(self) -> Any:
        raise Evil()


def cyclic() -> list[Any]:
    a: list[Any] = [1]
    a.append(a)
    return a


def deep(n: int) -> Any:
    value: Any = "leaf"
    for _ in range(n):
        value = [value]
    return value


# By name, so that hypothesis can print a failing example (the objects cannot be printed).
HOSTILE: dict[str, Callable[[], object]] = {
    "Evil()": Evil,
    "raises ValueError": lambda: Raises(ValueError("no")),
    "raises SystemExit": lambda: Raises(SystemExit(3)),
    "raises Evil": lambda: Raises(Evil()),
    "raises RecursionError": lambda: Raises(RecursionError()),
    "returns non-str": NotStr,
    "str subclass": lambda: SneakyStr("sneaky"),
    "enum member": lambda: Color.RED,
    "bad mapping": lambda: BadMapping(a=1),
    "lying __class__": LyingClass,
    "cyclic list": cyclic,
    "2000 deep": lambda: deep(2000),
    "dict of evil": lambda: {"k": [Evil(), {"x": Evil()}]},
    "tuple of evil": lambda: (1, Evil(), "x"),
    "frozenset with enum": lambda: frozenset({"a", Color.RED}),
    "format string": lambda: "%s %d %(x)s",
    "bad bytes": lambda: b"\xff\xfe",
    "lone surrogate": lambda: "\ud800 lone surrogate",
    "huge int": lambda: 10**5000,
    "nan": lambda: float("nan"),
    "exc_info tuple": lambda: (Evil, Evil(), None),
    "bad exc_info tuple": lambda: (1, 2, 3),
}


class Named:
    """A hostile object, by name: made fresh for each call."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


def make(value: Any) -> Any:
    if isinstance(value, Named):
        return HOSTILE[value.name]()
    if isinstance(value, list):
        return [make(v) for v in value]
    return value


hostile = st.sampled_from(sorted(HOSTILE)).map(Named)
values = st.one_of(hostile, st.text(max_size=20), st.integers(), st.none(),
                   st.lists(hostile, max_size=3))
messages = st.one_of(st.sampled_from(["%s", "%s %s", "%d", "%(k)s", "{}", "plain", "%"]),
                     st.text(max_size=20), values)
levels = st.one_of(st.integers(min_value=-5, max_value=100),
                   st.sampled_from(["INFO", "warn", "LOUD", "", "15"]), values)
exc_infos = st.one_of(st.booleans(), hostile)
field_names = st.sampled_from(["user", "exc_info", "stack_info", "message", "name", "x y"])
calls = st.tuples(
    st.sampled_from(["debug", "info", "warning", "error", "critical", "exception", "log",
                     "bound", "stdlib"]),
    levels, messages, st.lists(values, max_size=3),
    st.dictionaries(field_names, st.one_of(values, exc_infos), max_size=3),
)


STDLIB_HANDLER = loglane.StdlibHandler()
Logged = tuple[loglane.Logger, list[str], list[str]]


@pytest.fixture(scope="module")
def logger() -> Iterator[Logged]:
    """A logger of its own, and the configured loggers (what stdlib records go to)."""
    lines: list[str] = []
    log = loglane.Logger("hostile", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.CallableSink(lines.append)], file_level=None)
    configured: list[str] = []
    loglane.configure(sinks=[loglane.CallableSink(configured.append)], level="DEBUG")
    yield log, lines, configured
    log.close()
    REGISTRY.reset()


def call(log: loglane.Logger, kind: str, level: Any, msg: Any, args: list[Any],
         fields: dict[str, Any]) -> int:
    """Make the call; return how many records it should produce (0 or 1)."""
    if kind == "log":
        log.log(level, msg, *args, **fields)
        try:
            lvl = loglane.parse_level(level) if type(level) is not int else level
        except Exception:
            lvl = loglane.ERROR  # an unknown level logs at ERROR and says so
        return int(lvl >= 0 and log.is_enabled_for(max(lvl, 0)))
    if kind == "bound":
        log.bind(**fields).info(msg, *args)
        return 1
    if kind == "stdlib":  # what logging.Logger.info hands the handler
        try:
            record = logging.LogRecord("hostile.stdlib", logging.INFO, __file__, 1, msg,
                                       tuple(args), None)
        except Exception:  # the stdlib itself cannot make a record of these: not ours
            return 0
        STDLIB_HANDLER.handle(record)
        return 1
    getattr(log, kind)(msg, *args, **fields)
    return 1


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(calls, min_size=1, max_size=8))
def test_no_log_call_raises_and_every_record_is_one_line(logger: Logged, batch: list[Any]) -> None:
    log, lines, configured = logger
    writer = get_writer()
    restarts = writer.restarts
    before, before_std = len(lines), len(configured)
    expected = expected_std = 0
    for kind, level, msg, args, fields in batch:
        made = call(log, kind, make(level), make(msg), make(args),
                    {k: make(v) for k, v in fields.items()})
        if kind == "stdlib":
            expected_std += made
        else:
            expected += made
    assert log.flush(timeout=30)
    assert (len(lines) - before, len(configured) - before_std) == (expected, expected_std)
    assert writer.restarts == restarts and writer.alive()
    stats = log.stats()
    (sink,) = stats["sinks"]
    assert sink["seen"] == sink["written"] + sink["skipped"] + sink["pending"] + sink["lost"]
    assert (sink["lost"], sink["pending"], stats["dropped"]) == (0, 0, 0)


def test_the_two_reported_cases(capsys: pytest.CaptureFixture[str]) -> None:
    # An enum whose __str__ raises an exception whose __str__ raises stopped the writer;
    # an exception whose __str__ raises itself raised into the caller.
    lines: list[str] = []
    log = loglane.Logger("cases", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.CallableSink(lines.append)])
    log.info("%s", Color.RED)
    log.info("%s", Evil())
    log.info("after")
    assert log.close(timeout=10)
    assert len(lines) == 3 and lines[2].endswith("] after")
    assert "could not be formatted" in lines[0] and "could not be formatted" in lines[1]
    assert "writer" not in capsys.readouterr().err


def test_the_writer_never_runs_a_callers_code() -> None:
    # What the writer formats is made of standard-library values only, so a __str__ that
    # hangs (or logs, or raises) runs on the caller's thread, never on the writer's.
    on_writer: list[str] = []
    writer = get_writer()

    class Watch:
        def __str__(self) -> str:
            if writer.on_writer_thread():
                on_writer.append("str")
            return "watched"

        __repr__ = __str__

    class WatchedError(Exception):
        def __str__(self) -> str:
            if writer.on_writer_thread():
                on_writer.append("exc")
            return "watched error"

    class WatchedEnum(enum.Enum):
        A = 1

        def __str__(self) -> str:
            if writer.on_writer_thread():
                on_writer.append("enum")
            return "watched enum"

        __format__ = enum.Enum.__format__

    lines: list[str] = []
    log = loglane.Logger("watch", None, stdout_level=None, stderr_level=None, json=True,
                         sinks=[loglane.CallableSink(lines.append)])
    log.info("%s %r", Watch(), Watch(), field=Watch(), nested={"a": [Watch(), (Watch(),)]})
    log.info("%s", WatchedEnum.A, member=WatchedEnum.A)
    try:
        raise WatchedError() from WatchedError()
    except WatchedError:
        log.exception("failed", more={Watch()})
    log.close()
    assert on_writer == []
    assert '"watched watched"' in lines[0] and "watched enum" in lines[1]
    assert "watched error" in lines[2]


def test_a_hanging_str_stalls_only_its_caller(wait_until: Callable[..., None]) -> None:
    release = threading.Event()
    entered = threading.Event()

    class Hangs:
        def __str__(self) -> str:
            entered.set()
            release.wait(30)
            return "released"

    hung: list[str] = []
    other: list[str] = []
    slow = loglane.Logger("slow", None, stdout_level=None, stderr_level=None,
                          sinks=[loglane.CallableSink(hung.append)])
    fast = loglane.Logger("fast", None, stdout_level=None, stderr_level=None,
                          sinks=[loglane.CallableSink(other.append)])
    t = threading.Thread(target=lambda: slow.info("%s", Hangs()))
    t.start()
    entered.wait(10)
    for i in range(100):
        fast.info("other %d", i)
    wait_until(lambda: len(other) == 100, what="the other logger's lines while one hangs")
    release.set()
    t.join(10)
    slow.close()
    fast.close()
    assert hung[0].endswith("] released")

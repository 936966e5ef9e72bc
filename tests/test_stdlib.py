"""The stdlib bridge: code that only knows `logging` goes through loglane, and stdlib handlers
run as loglane sinks on the writer thread."""

from __future__ import annotations

import importlib
import logging
import logging.config
import logging.handlers
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import loglane
from loglane.registry import REGISTRY

FMT = "{level} {name}: {message}{fields}"

FAKELIB = '''\
"""A third-party library: it knows only the standard logging module."""
import logging

log = logging.getLogger(__name__)
sub = logging.getLogger(__name__ + ".pool")


def work(items):
    log.info("processing %d items: %s", len(items), items)
    sub.debug("pool detail %s", "x")
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed for %r", "missing")
    log.warning("slow request", extra={"request_id": "r-7", "ms": 1234})
    log.info("where am I", stack_info=True)
    log.error("%(user)s logged out", {"user": "ann"})
'''


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOGLANE_LEVEL", raising=False)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    REGISTRY.reset()
    yield
    loglane.release_stdlib()
    REGISTRY.reset()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name in ("audit", "fakelib"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


@pytest.fixture
def fakelib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    (tmp_path / "fakelib.py").write_text(FAKELIB)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakelib", raising=False)
    return importlib.import_module("fakelib")


def configure_memory(**kw: Any) -> list[str]:
    lines: list[str] = []
    loglane.configure(format=FMT, sinks=[loglane.CallableSink(lines.append)], **kw)
    return lines


def test_a_library_that_knows_only_logging_keeps_names_args_exceptions_stacks_extra(
        fakelib: ModuleType) -> None:
    lines = configure_memory(level="DEBUG")
    loglane.capture_stdlib()
    items = [1, 2]
    fakelib.work(items)
    items.append(3)  # after the call: must not show
    loglane.get_logger().flush()
    exc_line, *trace = lines[2].split("\n")
    stack_line, *stack = lines[4].split("\n")
    assert [lines[0], lines[1], exc_line, lines[3], stack_line, lines[5]] == [
        "INFO fakelib: processing 2 items: [1, 2]",
        "DEBUG fakelib.pool: pool detail x",
        "ERROR fakelib: lookup failed for 'missing'",
        "WARNING fakelib: slow request request_id=r-7 ms=1234",
        "INFO fakelib: where am I",
        "ERROR fakelib: ann logged out",
    ]
    assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "KeyError: 'missing'"
    assert stack[0] == "Stack (most recent call last):"
    assert any("in work" in s for s in stack)
    assert len(lines) == 6


def test_the_callers_thread_does_not_format_immutable_arguments(fakelib: ModuleType) -> None:
    threads: list[str] = []

    def fmt(record: loglane.Record) -> str:
        threads.append(threading.current_thread().name)
        return f"{record.name}: {record.msg % record.args if record.args else record.msg}"

    lines: list[str] = []
    loglane.configure(sinks=[loglane.CallableSink(lines.append, formatter=fmt)])
    loglane.capture_stdlib()
    logging.getLogger("fakelib").info("n=%d s=%s", 5, "five")
    loglane.get_logger().flush()
    assert lines == ["fakelib: n=5 s=five"] and threads == ["loglane-writer"]


def test_prefix_levels_of_the_configuration_apply_to_stdlib_names(fakelib: ModuleType) -> None:
    lines = configure_memory(level="INFO", loggers={"fakelib.pool": "DEBUG", "fakelib": "ERROR"})
    loglane.capture_stdlib()
    assert logging.getLogger().level == logging.DEBUG  # stdlib builds what loglane may want
    fakelib.work([])
    loglane.get_logger().flush()
    assert [ln.split("\n")[0] for ln in lines] == [
        "DEBUG fakelib.pool: pool detail x",
        "ERROR fakelib: lookup failed for 'missing'",
        "ERROR fakelib: ann logged out",
    ]
    loglane.configure(format=FMT, level="WARNING", sinks=[loglane.CallableSink(lines.append)])
    assert logging.getLogger().level == logging.WARNING  # kept in step with configure()
    loglane.capture_stdlib(level="ERROR")
    assert logging.getLogger().level == logging.ERROR


def test_capture_replaces_the_roots_handlers_and_context_fields_reach_stdlib_records() -> None:
    old = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(old)
    level_before = logging.getLogger().level
    lines = configure_memory()
    handler = loglane.capture_stdlib()
    assert logging.getLogger().handlers == [handler]
    assert loglane.capture_stdlib() is handler  # idempotent
    with loglane.contextualize(request_id="abc"):
        logging.getLogger("web").info("inside", extra={"user": 1})
    logging.getLogger("web").info("outside")
    handler.flush()  # what logging.shutdown() calls: returns once loglane has written it
    assert lines == ["INFO web: inside request_id=abc user=1", "INFO web: outside"]
    loglane.release_stdlib()
    assert old in logging.getLogger().handlers and handler not in logging.getLogger().handlers
    assert logging.getLogger().level == level_before


def test_dictconfig_with_loglane_stdlibhandler_by_class_and_by_factory() -> None:
    lines = configure_memory(level="DEBUG")
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "lane": {"class": "loglane.StdlibHandler", "level": "INFO"},
            "audit": {"()": "loglane.StdlibHandler", "logger": "audit"},
        },
        "loggers": {"audit": {"handlers": ["audit"], "level": "INFO", "propagate": False}},
        "root": {"level": "DEBUG", "handlers": ["lane"]},
    })
    logging.getLogger("app").debug("below the handler's level")
    logging.getLogger("app").info("hello %s", "dictConfig")
    logging.getLogger("audit.login").info("user %s", "ann")
    loglane.get_logger().flush()
    assert lines == ["INFO app: hello dictConfig", "INFO audit: user ann"]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s [%(user)s]"))
        self.out: list[str] = []
        self.threads: set[str] = set()
        self.gate = threading.Event()
        self.gate.set()
        self.fail = 0
        self.closed = False

    def emit(self, record: logging.LogRecord) -> None:
        self.gate.wait()
        self.threads.add(threading.current_thread().name)
        if self.fail:
            self.fail -= 1
            raise ConnectionError("smtp server away")
        try:
            self.out.append(self.format(record))
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.closed = True
        super().close()


def test_stdlibsink_runs_a_handler_on_the_writer_thread_with_its_own_formatter() -> None:
    handler = Collect()
    log = loglane.Logger("svc", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.StdlibSink(handler)])
    log.info("hi %s", "there", user="ann")
    try:
        raise ValueError("bad")
    except ValueError:
        log.exception("oops", user="bob")
    log.close()
    assert handler.out[0] == "svc INFO hi there [ann]"
    first, *trace = handler.out[1].split("\n")
    assert first == "svc ERROR oops [bob]" and trace[-1] == "ValueError: bad"
    assert handler.threads == {"loglane-writer"} and handler.closed


def test_a_slow_handler_does_not_hold_up_the_caller() -> None:
    handler = Collect()
    handler.gate.clear()  # the handler blocks until released
    log = loglane.Logger("svc", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.StdlibSink(handler)])
    for i in range(500):
        log.info("n %d", i, user="u")  # returns although the handler is stuck
    assert handler.out == []
    handler.gate.set()
    log.close()
    assert handler.out == [f"svc INFO n {i} [u]" for i in range(500)]


def test_a_failing_handler_is_retried_from_the_failed_record_without_duplicates(
        wait_until: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    handler = Collect()
    handler.fail = 2
    log = loglane.Logger("svc", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.StdlibSink(handler)])
    for i in range(5):
        log.info("n %d", i, user="u")
    wait_until(lambda: len(handler.out) == 5, what="the handler to recover")
    assert handler.out == [f"svc INFO n {i} [u]" for i in range(5)]
    assert log.stats()["errors"] >= 1
    log.close()
    assert "ConnectionError: smtp server away" in capsys.readouterr().err


def test_a_bad_message_reaches_a_handler_as_a_line_that_says_so() -> None:
    handler = Collect()
    log = loglane.Logger("svc", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.StdlibSink(handler)])
    log.info("%d apples", "many", user="u")
    log.close()
    assert handler.out == ["svc INFO %d apples <loglane: message could not be formatted: "
                           "TypeError: %d format: a real number is required, not str; "
                           "args=('many',)> [u]"]


def test_a_stdlib_handler_from_configuration(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "vendor_handlers.py").write_text(textwrap.dedent("""\
        import logging

        class Keep(logging.Handler):
            def __init__(self, tag):
                super().__init__()
                self.tag, self.records = tag, []

            def emit(self, record):
                self.records.append((self.tag, record.name, record.levelname, record.getMessage()))
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    conf = tmp_path / "c.toml"
    conf.write_text(textwrap.dedent("""\
        [[sinks]]
        kind = "stdlib"
        handler = "vendor_handlers:Keep"
        args = { tag = "t1" }
        level = "WARNING"
        """))
    loglane.configure(conf)
    (sink,) = REGISTRY.plan.sinks
    loglane.get_logger("x").info("not at WARNING")
    loglane.get_logger("x").warning("to the handler")
    loglane.get_logger().flush()
    assert isinstance(sink, loglane.StdlibSink)
    assert sink.handler.records == [  # type: ignore[attr-defined]
        ("t1", "x", "WARNING", "to the handler")]


def test_lean_capture_keeps_what_loglane_shows(monkeypatch: pytest.MonkeyPatch,
                                               fakelib: ModuleType) -> None:
    for flag in ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing"):
        monkeypatch.setattr(logging, flag, getattr(logging, flag))  # restored after the test
    lines = configure_memory(level="DEBUG")
    loglane.capture_stdlib(lean=True)
    fakelib.work([1])
    loglane.get_logger().flush()
    assert lines[0] == "INFO fakelib: processing 1 items: [1]" and len(lines) == 6
    assert lines[3] == "WARNING fakelib: slow request request_id=r-7 ms=1234"
    assert logging._srcfile is None and not logging.logThreads


def test_stdlib_logging_from_inside_a_sink_neither_loops_nor_deadlocks_a_configure() -> None:
    lines: list[str] = []
    n = iter(range(1_000_000))

    def chatty(line: str) -> None:
        # A sink whose own library logs through stdlib, under ever new names, on the writer.
        k = next(n)
        logging.getLogger(f"vendor.http.{k}").debug("sending %d", k)  # would feed back
        if "loop" not in line:
            logging.getLogger(f"vendor.http.{k}").warning("retrying (loop)")
        lines.append(line)

    loglane.configure(format=FMT, level="DEBUG", sinks=[loglane.CallableSink(chatty)])
    loglane.capture_stdlib()
    log = loglane.get_logger("app")
    done = threading.Event()

    def reconfigure() -> None:
        for _ in range(20):
            loglane.configure(format=FMT, level="DEBUG", sinks=[loglane.CallableSink(chatty)])
        done.set()

    worker = threading.Thread(target=reconfigure, daemon=True)
    worker.start()
    for i in range(200):
        log.info("n %d", i)
    assert done.wait(30), "configure() deadlocked with a sink logging on the writer thread"
    log.flush()
    log.flush()  # the warnings the last batch logged
    assert not any("sending" in ln for ln in lines)
    assert sum(ln.startswith("INFO app: n ") for ln in lines) == 200
    warnings = [ln for ln in lines if ln.startswith("WARNING vendor.http.")]
    assert len(warnings) == 200  # one per app line: kept, and no more than that


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("broken __str__")


def test_broken_stdlib_calls_give_lines_that_say_so_and_never_raise() -> None:
    lines = configure_memory()
    loglane.capture_stdlib()
    lib = logging.getLogger("lib")
    lib.info(BadStr())
    lib.info("%d apples", "many")
    lib.info("obj %s", BadStr())
    lib.info("%s and %s", 1)
    lib.info("dict %(a)s", {"b": 1})
    lib.info("no args but a %s")
    loglane.get_logger().flush()
    assert lines[0] == "INFO lib: <unprintable BadStr: RuntimeError: broken __str__>"
    assert lines[1].startswith("INFO lib: %d apples <loglane: message could not be formatted: "
                               "TypeError")
    assert "RuntimeError: broken __str__" in lines[2]
    assert "not enough arguments" in lines[3]
    assert lines[4].startswith("INFO lib: dict %(a)s <loglane: message could not be formatted: "
                               "KeyError: 'a'")
    assert lines[5] == "INFO lib: no args but a %s"


def test_stdlib_and_loglane_callers_in_threads_lose_nothing_across_reconfigures() -> None:
    sinks = [loglane.CallableSink(lines.append) for lines in ([], [], [])]
    collected = [s.fn.__self__ for s in sinks]  # the three lists
    loglane.configure(format="{message}", sinks=[sinks[0]], overflow="block")
    loglane.capture_stdlib()
    per_thread = 3000

    def native(t: int) -> None:
        log = loglane.get_logger(f"native.{t}")
        for i in range(per_thread):
            log.info("%d-%d", t, i)

    def stdlib(t: int) -> None:
        log = logging.getLogger(f"lib.{t}")
        with loglane.contextualize(thread=t):
            for i in range(per_thread):
                log.info("%d-%d", t, i)

    threads = [threading.Thread(target=native if t % 2 else stdlib, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    swaps = 0
    while any(thread.is_alive() for thread in threads) or swaps < 3:
        swaps += 1
        loglane.configure(format="{message}", sinks=[sinks[swaps % 3]], overflow="block")
    for thread in threads:
        thread.join()
    loglane.get_logger().flush()
    seen = [line for lines in collected for line in lines]
    assert sorted(seen) == sorted(f"{t}-{i}" for t in range(4) for i in range(per_thread))


def test_a_real_syslog_handler_as_a_sink() -> None:
    import socket

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(10)
    try:
        handler = logging.handlers.SysLogHandler(address=server.getsockname())
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        log = loglane.Logger("billing", None, stdout_level=None, stderr_level=None,
                             sinks=[loglane.StdlibSink(handler, level="WARNING")])
        log.info("not sent")
        log.warning("card %s declined", "visa")
        log.close()
        datagram = server.recv(4096).decode()
    finally:
        server.close()
    assert datagram == "<12>billing: card visa declined\x00"  # user.warning, NUL-terminated

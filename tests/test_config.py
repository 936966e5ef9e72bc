"""configure() from a dict and from TOML; every kind of mistake names its key, changes nothing."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import loglane
import loglane.format
from loglane.registry import REGISTRY

FMT = "{level} {name}: {message}{fields}"


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOGLANE_LEVEL", raising=False)
    REGISTRY.reset()
    yield
    REGISTRY.reset()


def day_file(directory: Path, stem: str = "app") -> str:
    (found,) = directory.glob(f"{stem}-*.log")
    return found.read_text()


def test_a_dict_configuration_with_files_levels_and_formats(tmp_path: Path) -> None:
    loglane.configure({
        "level": "INFO",
        "format": FMT,
        "sinks": {
            "app": {"kind": "file", "path": str(tmp_path / "app.log")},
            "errors": {"kind": "file", "path": str(tmp_path / "errors.log"), "level": "ERROR",
                       "json": True},
        },
        "loggers": {"noisy": "ERROR", "myapp.db": {"level": "DEBUG"}},
    })
    loglane.get_logger("myapp.db").debug("query %s", "select 1")
    loglane.get_logger("noisy.lib").warning("hidden")
    loglane.get_logger("myapp").error("failed", code=7)
    loglane.get_logger().flush()
    assert day_file(tmp_path) == ("DEBUG myapp.db: query select 1\n"
                                  "ERROR myapp: failed code=7\n")
    (err,) = [json.loads(x) for x in day_file(tmp_path, "errors").splitlines()]
    assert (err["level"], err["logger"], err["message"], err["code"]) == (
        "ERROR", "myapp", "failed", 7)


def test_a_toml_file_and_a_pyproject_table(tmp_path: Path) -> None:
    conf = tmp_path / "logging.toml"
    conf.write_text(textwrap.dedent(f"""\
        level = "WARNING"
        format = "{FMT}"

        [[sinks]]
        kind = "file"
        path = "{tmp_path / 'app.log'}"

        [loggers]
        "myapp" = "DEBUG"
        """))
    loglane.configure(conf)
    loglane.get_logger("myapp.x").debug("yes")
    loglane.get_logger("lib").info("no")
    loglane.get_logger().flush()
    assert day_file(tmp_path) == "DEBUG myapp.x: yes\n"
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(textwrap.dedent(f"""\
        [project]
        name = "x"
        [tool.loglane]
        format = "{{message}}"
        sinks = [{{ kind = "file", path = "{tmp_path / 'py.log'}" }}]
        """))
    loglane.configure(str(pyproject))
    loglane.get_logger("lib").info("from pyproject")
    loglane.get_logger().flush()
    assert day_file(tmp_path, "py") == "from pyproject\n"


def test_a_sink_in_utc_writes_its_lines_in_utc_too(tmp_path: Path) -> None:
    loglane.configure(format="{iso} {message}", sinks={
        "local": {"kind": "console"},
        "utc": {"kind": "file", "path": str(tmp_path / "u.log"), "utc": True},
    })
    local, utc = REGISTRY.plan.sinks
    assert local.formatter is None  # shares the configuration's formatter
    assert isinstance(utc.formatter, loglane.format.TextFormatter) and utc.formatter.utc


def test_a_callable_sink_by_import_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "collector_mod.py").write_text("LINES = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    loglane.configure(format=FMT,
                      sinks=[{"kind": "callable", "target": "collector_mod:LINES.append"}])
    loglane.get_logger("c").info("to a function")
    loglane.get_logger().flush()
    assert sys.modules["collector_mod"].LINES == ["INFO c: to a function"]


def test_loglane_level_overrides_the_configured_root_level(monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    monkeypatch.setenv("LOGLANE_LEVEL", "ERROR")
    loglane.configure(level="DEBUG", format=FMT, loggers={"chatty": "DEBUG"},
                      sinks=[loglane.CallableSink(lines.append)])
    loglane.get_logger("x").warning("hidden by the environment")
    loglane.get_logger("x").error("shown")
    loglane.get_logger("chatty").debug("a prefix level still applies")
    loglane.get_logger().flush()
    assert lines == ["ERROR x: shown", "DEBUG chatty: a prefix level still applies"]


def bad_cases(tmp: Path) -> list[tuple[Any, str]]:
    blocker = tmp / "a-file"
    blocker.write_text("")
    file_sink = {"kind": "file", "path": str(tmp / "ok.log")}
    return [
        ({"levle": "INFO"}, "levle: unknown key (known: block_timeout, capture_stdlib"),
        ({"level": "LOUD"}, "level: unknown log level 'LOUD'"),
        ({"level": -5}, "level: log level must not be negative"),
        ({"level": True}, "level: unknown log level True"),
        ({"sinks": [file_sink, {"kind": "console", "level": "LOUD"}]},
         "sinks[1].level: unknown log level 'LOUD'"),
        ({"sinks": {"main": {"kind": "console", "max_level": []}}},
         "sinks.main.max_level: log level must be an int or a name, got list"),
        ({"sinks": "stdout"}, "sinks: expected a list or a table of sinks, got str"),
        ({"sinks": [42]}, "sinks[0]: expected a table or a Sink, got int"),
        ({"sinks": [{"path": "x.log"}]}, "sinks[0]: missing 'kind' (one of: file, console"),
        ({"sinks": [{"kind": "syslog"}]}, "sinks[0].kind: unknown sink kind 'syslog'"),
        ({"sinks": [{**file_sink, "rotate": "daily"}]}, "sinks[0].rotate: unknown key"),
        ({"sinks": [{"kind": "file"}]}, "sinks[0]: missing 'path'"),
        ({"sinks": [{"kind": "file", "path": 3}]}, "sinks[0].path: expected a string, got 3"),
        ({"sinks": [{"kind": "file", "path": str(blocker / "x.log")}]},
         "sinks[0]: cannot create log directory"),
        ({"sinks": [{**file_sink, "retention_days": 0}]},
         "sinks[0]: retention_days must be a positive int"),
        ({"sinks": [{**file_sink, "compress": "yes"}]},
         "sinks[0].compress: expected true or false, got 'yes'"),
        ({"sinks": [{"kind": "console", "stream": "stdlog"}]},
         "sinks[0].stream: must be 'stdout' or 'stderr', got 'stdlog'"),
        ({"sinks": [{"kind": "console", "color": "always"}]}, "sinks[0].color: must be true"),
        ({"sinks": [{"kind": "callable", "target": "no_such_module_xyz:f"}]},
         "sinks[0].target: cannot import 'no_such_module_xyz'"),
        ({"sinks": [{"kind": "callable", "target": "json:no_such_fn"}]},
         "sinks[0].target: 'json' has no attribute 'no_such_fn'"),
        ({"sinks": [{"kind": "callable", "target": "json:__doc__"}]},
         "sinks[0].target: 'json:__doc__' is not callable"),
        ({"sinks": [{"kind": "callable", "target": "print"}]},
         "sinks[0].target: 'print' is not an import path"),
        ({"sinks": [{"kind": "stdlib", "handler": "json:dumps", "args": {"obj": 1}}]},
         "sinks[0].handler: made '1', not a logging.Handler"),
        ({"sinks": [{"kind": "factory", "factory": "builtins:dict"}]},
         "sinks[0]: the factory returned {}, not a loglane Sink"),
        ({"sinks": [{"kind": "console", "format": "{time"}]}, "sinks[0].format: invalid fmt"),
        ({"format": "{message", "sinks": []}, "format: invalid fmt '{message'"),
        ({"format": "{message}", "json": True}, "format: give either format or json = true"),
        ({"json": "yes"}, "json: expected true or false, got 'yes'"),
        ({"queue_size": 0}, "queue_size: must be a positive int, got 0"),
        ({"queue_size": "big"}, "queue_size: expected an integer, got 'big'"),
        ({"overflow": "explode"}, "overflow: must be 'drop' or 'block', got 'explode'"),
        ({"block_timeout": -1}, "block_timeout: must be >= 0, got -1"),
        ({"loggers": ["a"]}, "loggers: expected a table of logger-name prefixes, got list"),
        ({"loggers": {"a.b": "CHATTY"}}, "loggers.\"a.b\": unknown log level 'CHATTY'"),
        ({"loggers": {"a": {"level": "INFO", "handlers": []}}}, "loggers.a.handlers: unknown key"),
        ({"loggers": {"a": {"sinks": ["nope"]}}, "sinks": {"main": file_sink}},
         "loggers.a.sinks[0]: no sink named 'nope' (sinks: 'main')"),
        ({"loggers": {"a": {"sinks": "main"}}}, "loggers.a.sinks: expected a list of sink names"),
        ({"loggers": {"a": {"sinks": ["console"]}},
          "sinks": [{"kind": "console"}, {"kind": "console", "stream": "stdout"}]},
         "loggers.a.sinks[0]: 2 sinks are named 'console'; give them distinct names"),
        ({"loggers": {"a..b": "INFO"}}, "loggers.\"a..b\": not a logger name prefix"),
        ({"loggers": {"a": 3.5}}, "loggers.a: expected a level or a table"),
        ({"level": "INFO", "loggers": {"root": "DEBUG"}}, "level: the root level is given twice"),
        ({"sinks": [{"kind": "factory", "factory": "fractions:Fraction",
                     "args": {"numerator": 1, "denominator": 0}}]},
         "sinks[0]: ZeroDivisionError: Fraction(1, 0)"),
        ({"sinks": [{"kind": "callable", "target": "broken_mod_for_tests:f"}]},
         "sinks[0].target: cannot import 'broken_mod_for_tests': SyntaxError"),
        ({"sinks": [{"kind": "factory", "factory": "json:dumps", "args": [1]}]},
         "sinks[0].args: expected a table, got [1]"),
        ({"sinks": [{"kind": "console", "name": 5}]}, "sinks[0].name: expected a string, got 5"),
        ({"capture_stdlib": "LOUD"}, "capture_stdlib: unknown log level 'LOUD'"),
        ({"excepthook": 1}, "excepthook: expected true or false, got 1"),
    ]


def test_every_kind_of_mistake_names_its_key_and_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_mod_for_tests.py").write_text("def f(:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    lines: list[str] = []
    loglane.configure(format=FMT, sinks=[loglane.CallableSink(lines.append)])
    log = loglane.get_logger("still")
    for n, (config, message) in enumerate(bad_cases(tmp_path)):
        with pytest.raises(loglane.ConfigError) as info:
            loglane.configure(config)
        assert message in str(info.value), (config, str(info.value))
        log.info("case %d", n)
    log.flush()
    assert lines == [f"INFO still: case {n}" for n in range(len(bad_cases(tmp_path)))]
    assert not (tmp_path / "ok.log").exists()


def test_mistakes_outside_the_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(loglane.ConfigError, match=r"nope\.toml: cannot read: No such file"):
        loglane.configure(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("level = \n")
    with pytest.raises(loglane.ConfigError, match=r"broken\.toml: invalid TOML: "):
        loglane.configure(broken)
    with pytest.raises(loglane.ConfigError, match=r"configure\(\) takes a mapping or a TOML file"):
        loglane.configure(42)  # type: ignore[arg-type]
    monkeypatch.setenv("LOGLANE_LEVEL", "SHOUTY")
    with pytest.raises(loglane.ConfigError, match="LOGLANE_LEVEL: unknown log level 'SHOUTY'"):
        loglane.configure({})


@pytest.mark.parametrize("kind", ["daemon", "amqp"])
def test_daemon_and_broker_sinks_are_imported_lazily_and_missing_ones_say_so(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = {"daemon": "loglane.daemon.sink", "amqp": "loglane.ship.sink"}[kind]
    monkeypatch.setitem(sys.modules, module, None)  # as if that part were not installed
    with pytest.raises(loglane.ConfigError,
                       match=rf"sinks\[0\].kind: sink kind '{kind}' needs {module}\."):
        loglane.configure(sinks=[{"kind": kind, "path": "/tmp/x.log"}])


def test_a_daemon_sink_from_configuration_passes_its_options(tmp_path: Path) -> None:
    pytest.importorskip("loglane.daemon.sink")
    loglane.configure(sinks=[{"kind": "daemon", "path": str(tmp_path / "d.log"),
                              "socket": str(tmp_path / "none.sock"), "level": "INFO"}])
    (sink,) = REGISTRY.plan.sinks
    assert type(sink).__name__ == "DaemonSink" and sink.level == 20
    with pytest.raises(loglane.ConfigError, match=r"sinks\[0\]: DaemonSink: .*'colour'"):
        loglane.configure(sinks=[{"kind": "daemon", "path": "/tmp/x.log", "colour": 1}])


def test_capture_stdlib_and_excepthook_from_configuration() -> None:
    import logging
    import threading

    lines: list[str] = []
    try:
        loglane.configure(format=FMT, sinks=[loglane.CallableSink(lines.append)],
                          capture_stdlib=True, excepthook=True)
        logging.getLogger("lib").info("through stdlib")
        assert sys.excepthook is not sys.__excepthook__
        assert threading.excepthook is not threading.__excepthook__
        loglane.get_logger().flush()
        assert lines == ["INFO lib: through stdlib"]
    finally:
        loglane.uninstall_excepthook()
        loglane.release_stdlib()

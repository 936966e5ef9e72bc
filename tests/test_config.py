"""configure() from a dict and from TOML; every kind of mistake names its key, changes nothing."""

from __future__ import annotations

import json
import math
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
        ({"sinks": [{"kind": ["file"]}]}, "sinks[0].kind: unknown sink kind ['file']"),
        ({"sinks": [{"kind": {"file": 1}}]}, "sinks[0].kind: unknown sink kind {'file': 1}"),
        ({"sinks": [{"kind": 3}]}, "sinks[0].kind: unknown sink kind 3"),
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
        ({"sinks": [{"kind": "console", "color": 1}]}, "sinks[0].color: must be true"),
        ({"sinks": [{"kind": "console", "color": []}]}, "sinks[0].color: must be true"),
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
        ({"format": "{name[x]}"}, "format: invalid fmt '{name[x]}': {name[x]}: attribute and "
                                  "index access are not supported"),
        ({"format": "{message.x}"}, "format: invalid fmt '{message.x}': {message.x}: attribute"),
        ({"format": "{0} {message}"}, "format: invalid fmt '{0} {message}': positional field"),
        ({"format": "{level:d}"}, "format: invalid fmt '{level:d}': {level:d}: Unknown format "
                                  "code 'd' for object of type 'str'"),
        ({"format": "%(asctime)s %(message)s"},
         "format: invalid fmt '%(asctime)s %(message)s': stdlib %(name)s templates are not "
         "supported yet"),
        ({"sinks": [{"kind": "console", "format": "{message!x}"}]},
         "sinks[0].format: invalid fmt '{message!x}': {message!x}: unknown conversion"),
        ({"format": 5}, "format: expected a string, got 5"),
        ({"format": "{message}", "json": True}, "format: give either format or json = true"),
        ({"json": "yes"}, "json: expected true or false, got 'yes'"),
        ({"queue_size": 0}, "queue_size must be a positive int, got 0"),
        ({"queue_size": "big"}, "queue_size must be a positive int, got 'big'"),
        ({"queue_size": True}, "queue_size must be a positive int, got True"),
        ({"queue_size": 2.5}, "queue_size must be a positive int, got 2.5"),
        ({"overflow": "explode"}, "overflow must be 'drop' or 'block', got 'explode'"),
        ({"overflow": ["drop"]}, "overflow must be 'drop' or 'block', got ['drop']"),
        ({"block_timeout": -1}, "block_timeout must be a finite number of seconds >= 0"),
        ({"block_timeout": math.nan}, "block_timeout must be a finite number of seconds >= 0 "
                                      "or None, got nan"),
        ({"block_timeout": math.inf}, "block_timeout must be a finite number of seconds"),
        ({"block_timeout": -math.inf}, "block_timeout must be a finite number of seconds"),
        ({"block_timeout": 10**400}, "block_timeout must be a finite number of seconds"),
        ({"block_timeout": "5"}, "block_timeout must be a number of seconds or None, got '5'"),
        ({"block_timeout": True}, "block_timeout must be a number of seconds or None"),
        ({"loggers": ["a"]}, "loggers: expected a table of logger-name prefixes, got list"),
        ({"loggers": {"a.b": "CHATTY"}}, "loggers.\"a.b\": unknown log level 'CHATTY'"),
        ({"loggers": {"a": {"level": "INFO", "handlers": []}}}, "loggers.a.handlers: unknown key"),
        ({"loggers": {"a": {"sinks": ["nope"]}}, "sinks": {"main": file_sink}},
         "loggers.a.sinks[0]: no sink named 'nope' (sinks: 'main')"),
        ({"loggers": {"a": {"sinks": "main"}}}, "loggers.a.sinks: expected a list of sink names"),
        ({"loggers": {"a": {"sinks": [["main"]]}}, "sinks": {"main": file_sink}},
         "loggers.a.sinks[0]: expected a sink name, got ['main']"),
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


# -- input from outside: every mistake is a ConfigError, and a failed call changes nothing ---


def test_a_toml_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('level = "INFO"\n# caf\xe9\n'.encode("latin-1"))
    with pytest.raises(loglane.ConfigError,
                       match=r"latin1\.toml: not UTF-8 \(byte 20 is b'\\xe9'\)"):
        loglane.configure(latin1)


def test_a_toml_path_with_a_nul_and_a_toml_file_nested_too_deeply(tmp_path: Path) -> None:
    with pytest.raises(loglane.ConfigError, match=r"cannot read: embedded null byte"):
        loglane.configure(str(tmp_path / "a\0b.toml"))
    deep = tmp_path / "deep.toml"
    deep.write_text("level = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(loglane.ConfigError, match=r"deep\.toml: invalid TOML: .*nested too deep"):
        loglane.configure(deep)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1.5"])
def test_a_toml_block_timeout_must_be_finite_and_not_negative(tmp_path: Path, value: str) -> None:
    conf = tmp_path / "c.toml"
    conf.write_text(f"block_timeout = {value}\n")
    with pytest.raises(loglane.ConfigError, match=r"^block_timeout must be a finite number"):
        loglane.configure(conf)


def test_values_nested_too_deeply_to_print_still_give_a_short_config_error() -> None:
    deep: Any = []
    for _ in range(10_000):
        deep = [deep]
    for config, key in [({"format": deep}, "format"), ({"level": deep}, "level"),
                        ({"sinks": [{"kind": deep}]}, "sinks[0].kind"),
                        ({"loggers": {"a": {"sinks": [deep]}}}, "loggers.a.sinks[0]"),
                        ({"block_timeout": deep}, "block_timeout")]:
        with pytest.raises(loglane.ConfigError) as info:
            loglane.configure(config)
        assert str(info.value).startswith(key) and len(str(info.value)) < 300, str(info.value)


def test_block_timeout_none_means_no_limit_as_for_logger() -> None:
    loglane.configure(block_timeout=None, overflow="block", sinks=[])
    assert REGISTRY.plan.block_timeout is None
    loglane.configure(block_timeout=2, sinks=[])
    assert REGISTRY.plan.block_timeout == 2.0 and isinstance(REGISTRY.plan.block_timeout, float)


def test_a_failed_configure_keeps_the_running_plan_and_closes_the_handlers_it_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "handlers_for_tests.py").write_text(textwrap.dedent("""\
        import logging
        MADE = []
        def file_handler(filename):
            handler = logging.FileHandler(filename)  # opens the file now
            MADE.append(handler)
            return handler
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    lines: list[str] = []
    loglane.configure(format=FMT, sinks=[loglane.CallableSink(lines.append)])
    running = REGISTRY.plan
    with pytest.raises(loglane.ConfigError, match=r"sinks\[1\].level: unknown log level"):
        loglane.configure(format="{message}", level="DEBUG", sinks=[
            {"kind": "stdlib", "handler": "handlers_for_tests:file_handler",
             "args": {"filename": str(tmp_path / "std.log")}},
            {"kind": "console", "level": "LOUD"},
        ])
    assert REGISTRY.plan is running
    (handler,) = sys.modules["handlers_for_tests"].MADE
    assert handler.stream is None  # closed: the failed configuration holds no descriptor
    loglane.get_logger("app").debug("below the running level")
    loglane.get_logger("app").info("through the running sinks")
    loglane.get_logger().flush()
    assert lines == ["INFO app: through the running sinks"]


# -- generated configurations ---------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from loglane import config as config_module  # noqa: E402

# Text without "/" (paths stay in the test's directory) or ":" (no import path names a real
# function: a generated "callable" sink must not call something like os._exit).
TEXT = st.text(alphabet=st.sampled_from("abcxyz019 ._-{}[]%()!=\\\"'\n\x00é"), max_size=10)
WORDS = st.sampled_from([
    "INFO", "debug", "LOUD", "25", "-3", "file", "console", "callable", "stdlib", "factory",
    "stdout", "stderr", "auto", "drop", "block", "root", "app.log", "", "{message}",
    "{name[x]}", "{message.x}", "{level:d}", "{levelno:>5} {user:d}", "%(message)s",
    "%(name)s {message}", "{", "json.nope", "no_such_module_xyz.f",
])
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**400))
           | st.floats() | TEXT | WORDS)
KEYS = sorted(config_module._TOP | config_module._COMMON
              | {k for keys in config_module._KINDS.values() for k in keys}
              | {"app", "app.db", "root", ""})
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KEYS) | TEXT, inner, max_size=4),
    max_leaves=12,
)
LEVELS = st.sampled_from(["INFO", "debug", "LOUD", "25", "-3", 30, -1, 0, True, 2.5])
TEMPLATES = st.sampled_from([
    "{message}", "{level} {name}: {message}{fields}", "{name[x]}", "{message.x}", "{level:d}",
    "{levelno:>5} {user:d}", "{0}", "%(message)s", "%(name)s {message}", "{", "{message!x}",
    "{time:>99999}",
])
# Plausible values per key (right or nearly right), drawn as often as arbitrary ones.
VALUES: dict[str, Any] = {
    "level": LEVELS, "max_level": LEVELS, "capture_stdlib": st.booleans() | LEVELS,
    "format": TEMPLATES, "json": st.booleans(), "utc": st.booleans(),
    "excepthook": st.booleans(), "compress": st.booleans(),
    "color": st.sampled_from([True, False, "auto", 1, "always"]),
    "queue_size": st.integers(-2, 1000), "overflow": st.sampled_from(["drop", "block", "x"]),
    "block_timeout": st.floats() | st.integers(-5, 10**400) | st.none(),
    "path": TEXT.map(lambda t: t + ".log"), "stream": st.sampled_from(["stdout", "stderr", "x"]),
    "retention_days": st.integers(-1, 30), "name": TEXT,
    "target": st.sampled_from(["json.nope", "no_such_module_xyz.f", "json.__doc__"]),
    "handler": st.sampled_from(["logging.NullHandler", "logging.Handler", "json.dumps"]),
    "factory": st.sampled_from(["loglane.ConsoleSink", "builtins.dict", "json.nope"]),
    "args": st.dictionaries(st.sampled_from(["stream", "level", "x"]), JSON_LIKE, max_size=2),
    "loggers": st.dictionaries(
        st.sampled_from(["app", "app.db", "root", "", "a..b"]) | TEXT,
        LEVELS | st.dictionaries(st.sampled_from(["level", "sinks"]),
                                 LEVELS | st.lists(WORDS | SCALARS, max_size=2)), max_size=3),
}


def value_for(key: str) -> st.SearchStrategy[Any]:
    plausible = VALUES.get(key, JSON_LIKE)
    return st.one_of(plausible, plausible, JSON_LIKE)


def table(keys: list[str], **fixed: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A table over some of ``keys`` (plausible values mostly), with ``fixed`` entries."""
    return st.lists(st.sampled_from(keys), max_size=4, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({k: value_for(k) for k in chosen})
    ).map(lambda t: {**t, **fixed})


KINDS = ["file", "console", "callable", "stdlib", "factory"]
SINK = st.sampled_from(KINDS).flatmap(lambda kind: table(
    sorted(config_module._COMMON - {"kind"} | config_module._KINDS[kind]), kind=kind)
) | table(sorted(config_module._COMMON)) | st.builds(
    lambda kind: {"kind": kind}, JSON_LIKE)
# The daemon and broker sinks always get an unknown option: the call fails before it could
# connect to a real daemon or broker on this machine.
LAZY_SINK = st.sampled_from(["daemon", "amqp"]).flatmap(
    lambda kind: table(["path", "level", "url"], kind=kind, not_an_option=1))
SINKS = st.lists(SINK | LAZY_SINK, max_size=3) | st.dictionaries(TEXT, SINK, max_size=2)
CONFIG = table(sorted(config_module._TOP - {"sinks"})).flatmap(lambda top: st.one_of(
    st.just(top), SINKS.map(lambda sinks: {**top, "sinks": sinks}),
    SINKS.map(lambda sinks: {**top, "sinks": sinks}),
    st.builds(lambda junk: {**top, **junk}, st.dictionaries(TEXT, JSON_LIKE, max_size=2)),
))


class _Collector:
    """A base configuration to return to, and the check that it still logs."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.n = 0

    def install(self) -> None:
        loglane.configure(format="{message}", sinks=[loglane.CallableSink(self.lines.append)])

    def still_logs(self) -> None:
        self.n += 1
        loglane.get_logger("still").info("check %d", self.n)
        loglane.get_logger().flush()
        assert self.lines[-1:] == [f"check {self.n}"]


def _try(collector: _Collector, source: Any) -> None:
    before = REGISTRY.plan
    try:
        loglane.configure(source)
    except loglane.ConfigError as exc:  # anything else fails the test
        assert str(exc)
        assert REGISTRY.plan is before
        collector.still_logs()
    else:  # a generated configuration may be a valid one: back to the base
        loglane.uninstall_excepthook()
        loglane.release_stdlib()
        collector.install()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Collector]:
    monkeypatch.chdir(tmp_path)
    collector = _Collector()
    collector.install()
    try:
        yield collector
    finally:
        loglane.uninstall_excepthook()
        loglane.release_stdlib()


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=CONFIG)
def test_generated_configurations_raise_only_config_error_and_change_nothing(
        in_tmp: _Collector, config: dict[str, Any]) -> None:
    _try(in_tmp, config)


TOML_VALUES = st.sampled_from([
    '"INFO"', '"LOUD"', "10", "-1", "0", "1.5", "nan", "inf", "-inf", "true", "false",
    "1979-05-27", "07:32:00", "1979-05-27T07:32:00Z", '"{message}"', '"{name[x]}"',
    '"%(message)s"', '"file"', '"console"', '"callable"', '"app.log"', '"stdout"',
    "[]", '["a", 1]', "{}", '{ kind = "console" }', '{ kind = ["file"] }', '"\\u00e9"',
    "9223372036854775807", "-9223372036854775808", '"block"', '"drop"',
])
TOML_KEY = st.sampled_from(KEYS[1:]) | st.from_regex(r"[a-z_]{1,6}", fullmatch=True)
TOML_LINE = (
    st.builds(lambda k, v: f"{k} = {v}", TOML_KEY, TOML_VALUES)
    | st.sampled_from(["[sinks.app]", "[[sinks]]", "[loggers]", "[tool.loglane]",
                       "[tool]", "[sinks]", 'kind = "file"', 'path = "x.log"'])
)


def to_toml(table: dict[Any, Any]) -> str:
    """A generated configuration as a TOML document (None values left out, as TOML has none)."""
    return "\n".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()
                     if v is not None)


def _toml_key(key: object) -> str:
    return json.dumps(str(key), ensure_ascii=False)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}"
                               for k, v in value.items() if v is not None) + "}"
    return json.dumps(str(value), ensure_ascii=False)


TOML_TEXT = (CONFIG.map(to_toml) | CONFIG.map(lambda c: "[tool.loglane]\n" + to_toml(c))
             | st.lists(TOML_LINE, max_size=8).map("\n".join) | st.text(max_size=40))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=TOML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary())
def test_generated_toml_files_raise_only_config_error_and_change_nothing(
        in_tmp: _Collector, document: bytes) -> None:
    path = Path("generated.toml")
    path.write_bytes(document)
    _try(in_tmp, path)

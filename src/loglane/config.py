"""``loglane.configure()``: the whole logging setup from a dict or a TOML file.

Everything is checked and built first; only a configuration with no mistake replaces the
running one (``Registry.apply``), so a typo never leaves a process half-configured. Every error
names the key path, e.g. ``sinks[1].level: unknown log level 'LOUD'``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from loglane import validate
from loglane.logger import DEFAULT_QUEUE_SIZE
from loglane.plan import ENV_LEVEL, Plan, Route, env_level
from loglane.registry import REGISTRY
from loglane.sinks.base import Formatter, Sink
from loglane.sinks.console import CallableSink, ConsoleSink
from loglane.sinks.file import FileSink


class ConfigError(ValueError):
    """A mistake in a configuration; the message starts with the key path."""


_TOP = {"level", "format", "json", "utc", "queue_size", "overflow", "block_timeout", "sinks",
        "loggers", "capture_stdlib", "excepthook"}
_COMMON = {"kind", "name", "level", "max_level", "format", "json", "utc"}
_KINDS: dict[str, set[str]] = {
    "file": {"path", "retention_days", "compress"},
    "console": {"stream", "color"},
    "callable": {"target"},
    "stdlib": {"handler", "args"},
    "factory": {"factory", "args"},
    "daemon": set(),  # any further key goes to DaemonSink(...) as a keyword argument
    "amqp": set(),  # likewise for AmqpSink(...)
}
_LAZY = {"daemon": ("loglane.daemon.sink", "DaemonSink"), "amqp": ("loglane.ship.sink", "AmqpSink")}


def configure(source: Mapping[str, Any] | str | os.PathLike[str] | None = None,
              /, **options: Any) -> None:
    """Replace the logging configuration of ``loglane.get_logger`` loggers.

    ``source`` is a mapping or the path of a TOML file (its ``[tool.loglane]`` table when it
    has one, so ``pyproject.toml`` works); keyword arguments override its top-level keys.
    Raises ``ConfigError`` and changes nothing when anything is wrong.
    """
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        data = dict(source)
    elif isinstance(source, str | os.PathLike):
        data = load_toml(source)
    else:
        raise ConfigError(f"configure() takes a mapping or a TOML file path, not "
                          f"{type(source).__name__}")
    data.update(options)
    plan, extras = build(data)
    # Nothing below can fail on account of the configuration: every value was checked above.
    REGISTRY.apply(plan)
    if extras.get("capture_stdlib") is not None:
        from loglane.stdlib import capture_stdlib

        capture = extras["capture_stdlib"]
        capture_stdlib(level=None if capture is True else capture)
    if extras.get("excepthook"):
        from loglane.hooks import install_excepthook

        install_excepthook()


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    import tomllib  # here: its import costs more than the rest of configure()

    try:
        where = os.fspath(path)
    except TypeError as exc:  # a PathLike whose __fspath__ gives neither str nor bytes
        raise ConfigError(f"configure(): {exc}") from None
    try:
        with open(where, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"{where!s}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL in the path
        raise ConfigError(f"{where!r}: cannot read: {exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # TOML is UTF-8, by its specification
        bad = raw[exc.start:exc.start + 1]
        raise ConfigError(f"{where}: not UTF-8 (byte {exc.start} is {bad!r}); a TOML file "
                          "is UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and tables
        raise ConfigError(f"{where}: invalid TOML: arrays or tables nested too deeply") from None
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("loglane"), dict):
        return dict(tool["loglane"])
    return data


@contextmanager
def _closed_on_error(made: list[Sink]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        for sink in made:
            try:
                sink.close()
            except Exception:  # the configuration error is the one to report
                pass
        raise


def build(data: Mapping[str, Any]) -> tuple[Plan, dict[str, Any]]:
    """Check ``data`` and build the sinks; raise ConfigError naming the first mistake.

    On a mistake, a stdlib handler made for a sink already built (``logging.FileHandler``
    opens its file at once) is closed again: a failed configuration leaves nothing open.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"configuration: expected a table, got {type(data).__name__}")
    _known(data, _TOP, "")
    utc = _bool(data, "utc", "", False)
    as_json = _bool(data, "json", "", False)
    fmt = _opt(data, "format", str, "")
    formatter = _formatter(fmt, as_json, utc, "")
    queue_size = _check(validate.queue_size, _given(data, "queue_size", DEFAULT_QUEUE_SIZE),
                        "queue_size")
    overflow = _check(validate.overflow, _given(data, "overflow", validate.DEFAULT_OVERFLOW),
                      "overflow")
    # (None, from Python, is no limit here, as in Logger(block_timeout=None).)
    block_timeout = _check(validate.block_timeout,
                           data.get("block_timeout", validate.DEFAULT_BLOCK_TIMEOUT),
                           "block_timeout")

    level = _level(data["level"], "level") if "level" in data else None
    try:
        env = env_level()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    extras: dict[str, Any] = {}
    capture = data.get("capture_stdlib", False)
    if capture is True:
        extras["capture_stdlib"] = True
    elif capture is not False:
        extras["capture_stdlib"] = _level(capture, "capture_stdlib")
    extras["excepthook"] = _bool(data, "excepthook", "", False)
    # Sinks last: the only step that may open something (closed again if a later key fails).
    made: list[Sink] = []
    with _closed_on_error(made):
        sinks, names = _sinks(data.get("sinks"), (fmt, as_json, utc), made)
        routes = _routes(data.get("loggers", {}), names, len(sinks))
        root = routes.get("", Route())
        if level is not None and root.level is not None:
            raise ConfigError("level: the root level is given twice (level and "
                              "loggers.root.level)")
    root_level = next(lv for lv in (env, level, root.level, 20) if lv is not None)
    if root.sinks is None:  # the root takes every sink that no prefix claims for itself
        claimed = {i for r in routes.values() for i in (r.sinks or ())}
        root = Route(root.level, tuple(i for i in range(len(sinks)) if i not in claimed))
    routes[""] = Route(root_level, root.sinks)
    plan = Plan(sinks=tuple(sinks), routes=routes, formatter=formatter, queue_size=queue_size,
                overflow=overflow, block_timeout=block_timeout)
    return plan, extras


# -- pieces ---------------------------------------------------------------------------------


Style = tuple[str | None, bool, bool]  # the top level's format, json, utc


def _sinks(raw: Any, top: Style, made: list[Sink]) -> tuple[list[Sink], dict[str, list[int]]]:
    if raw is None:  # no sinks key: the console split that get_logger uses by default
        raw = [{"kind": "console", "stream": "stdout", "max_level": "WARNING"},
               {"kind": "console", "stream": "stderr", "level": "WARNING"}]
    items: list[tuple[str, str | None, Any]]
    if isinstance(raw, Mapping):
        items = [(f"sinks.{_key(k)}", str(k), v) for k, v in raw.items()]
    elif isinstance(raw, list):
        items = [(f"sinks[{i}]", None, v) for i, v in enumerate(raw)]
    else:
        raise ConfigError(f"sinks: expected a list or a table of sinks, got {type(raw).__name__}")
    sinks: list[Sink] = []
    names: dict[str, list[int]] = {}
    for where, key_name, spec in items:
        if isinstance(spec, Sink):  # configured in Python: a sink object as it is
            sinks.append(spec)
            names.setdefault(key_name or type(spec).__name__, []).append(len(sinks) - 1)
            continue
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: expected a table or a Sink, got {type(spec).__name__}")
        name = _opt(spec, "name", str, where + ".") or key_name or spec.get("kind")
        sink = _sink(spec, where, top, made)
        sinks.append(sink)
        names.setdefault(str(name), []).append(len(sinks) - 1)
    return sinks, names


def _sink(spec: Mapping[str, Any], where: str, top: Style, made: list[Sink]) -> Sink:
    kind = spec.get("kind")
    if kind is None:
        raise ConfigError(f"{where}: missing 'kind' (one of: {', '.join(_KINDS)})")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ConfigError(f"{where}.kind: unknown sink kind {validate.shown(kind)} "
                          f"(known: {', '.join(_KINDS)})")
    if kind not in _LAZY:
        _known(spec, _COMMON | _KINDS[kind], where + ".")
    level = _level(spec["level"], f"{where}.level") if "level" in spec else 0
    max_level = _level(spec["max_level"], f"{where}.max_level") if "max_level" in spec else None
    top_fmt, top_json, top_utc = top
    sink_utc = _bool(spec, "utc", where + ".", top_utc)
    fmt = _opt(spec, "format", str, where + ".")
    as_json = _bool(spec, "json", where + ".", False)
    formatter = None  # None: the configuration's formatter, shared by the sinks that use it
    if fmt or as_json:
        formatter = _formatter(fmt, as_json, sink_utc, where + ".")
    elif sink_utc != top_utc:  # lines in the same time as the sink's file names
        formatter = _formatter(top_fmt, top_json, sink_utc, where + ".")
    try:
        sink = _make(kind, spec, where, level, sink_utc, made)
    except ConfigError:
        raise
    except (ValueError, TypeError, OSError) as exc:  # the sink's own, clear, messages
        raise ConfigError(f"{where}: {exc}") from None
    except Exception as exc:  # a user's factory or handler class failing in its own way
        raise ConfigError(f"{where}: {type(exc).__name__}: {exc}") from None
    if not isinstance(sink, Sink):
        raise ConfigError(f"{where}: the factory returned {validate.shown(sink)}, "
                          "not a loglane Sink")
    if "level" in spec or kind != "factory":  # a factory's own level stands unless given
        sink.level = level
    if max_level is not None:
        sink.max_level = max_level
    if formatter is not None:
        sink.formatter = formatter
    return sink


def _make(kind: str, spec: Mapping[str, Any], where: str, level: int, utc: bool,
          made: list[Sink]) -> Any:
    if kind == "file":
        path = _required(spec, "path", str, where)
        retention = _opt(spec, "retention_days", int, where + ".")
        return FileSink(path, level, utc=utc, retention_days=retention,
                        compress=_bool(spec, "compress", where + ".", False))
    if kind == "console":
        stream = _opt(spec, "stream", str, where + ".") or "stderr"
        if stream not in ("stdout", "stderr"):
            raise ConfigError(f"{where}.stream: must be 'stdout' or 'stderr', got {stream!r}")
        color = spec.get("color", "auto")
        if not isinstance(color, bool) and color != "auto":  # (1 == True: not a colour)
            raise ConfigError(f"{where}.color: must be true, false or \"auto\", "
                              f"got {validate.shown(color)}")
        return ConsoleSink(stream, level, color=None if color == "auto" else color)
    if kind == "callable":
        fn = resolve(_required(spec, "target", str, where), f"{where}.target")
        if not callable(fn):
            raise ConfigError(f"{where}.target: {spec['target']!r} is not callable")
        return CallableSink(fn, level)
    if kind == "stdlib":
        import logging

        from loglane.stdlib import StdlibSink

        obj = handler = resolve(_required(spec, "handler", str, where), f"{where}.handler")
        args = _opt(spec, "args", dict, where + ".") or {}
        if not isinstance(obj, logging.Handler):
            if not callable(obj):
                raise ConfigError(f"{where}.handler: {spec['handler']!r} is not a "
                                  "logging.Handler or a factory of one")
            obj = obj(**args)
        if not isinstance(obj, logging.Handler):
            raise ConfigError(f"{where}.handler: made {validate.shown(obj)}, not a logging.Handler")
        sink = StdlibSink(obj, level)
        if obj is not handler:  # made here, so ours to close (a handler instance is not)
            made.append(sink)
        return sink
    if kind == "factory":
        fn = resolve(_required(spec, "factory", str, where), f"{where}.factory")
        return fn(**(_opt(spec, "args", dict, where + ".") or {}))  # errors: see _sink
    module, cls_name = _LAZY[kind]
    try:
        cls = getattr(importlib.import_module(module), cls_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{where}.kind: sink kind {kind!r} needs {module}.{cls_name}, "
                          f"which is not available here ({exc})") from None
    kwargs = {k: v for k, v in spec.items() if k not in _COMMON}
    if kind == "daemon":
        kwargs["utc"] = utc
    try:
        return cls(level=level, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {cls_name}: {exc}") from None


def _routes(raw: Any, names: dict[str, list[int]], count: int) -> dict[str, Route]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"loggers: expected a table of logger-name prefixes, got "
                          f"{type(raw).__name__}")
    routes: dict[str, Route] = {}
    for prefix, spec in raw.items():
        where = f"loggers.{_key(prefix)}"
        key = "" if prefix in ("", "root") else str(prefix)
        if not isinstance(prefix, str) or key != key.strip(" .") or ".." in key:
            raise ConfigError(f"{where}: not a logger name prefix")
        if key in routes:
            raise ConfigError(f"{where}: given twice (\"\" and \"root\" both name the root)")
        if isinstance(spec, str | int) and not isinstance(spec, bool):
            routes[key] = Route(_level(spec, where), None)
            continue
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: expected a level or a table with level and/or sinks, "
                              f"got {type(spec).__name__}")
        _known(spec, {"level", "sinks"}, where + ".")
        level = _level(spec["level"], f"{where}.level") if "level" in spec else None
        sinks: tuple[int, ...] | None = None
        if "sinks" in spec:
            refs = spec["sinks"]
            if not isinstance(refs, list):
                raise ConfigError(f"{where}.sinks: expected a list of sink names")
            found: list[int] = []
            for i, ref in enumerate(refs):
                if isinstance(ref, bool) or not isinstance(ref, str | int):
                    raise ConfigError(f"{where}.sinks[{i}]: expected a sink name, got "
                                      f"{validate.shown(ref)}")
                idx = names.get(str(ref))
                if idx is None:
                    known = ", ".join(repr(n) for n in names) or "none"
                    raise ConfigError(f"{where}.sinks[{i}]: no sink named {ref!r} "
                                      f"(sinks: {known})")
                if len(idx) > 1:
                    raise ConfigError(f"{where}.sinks[{i}]: {len(idx)} sinks are named {ref!r}; "
                                      "give them distinct names")
                found.append(idx[0])
            sinks = tuple(found)
        routes[key] = Route(level, sinks)
    return routes


def resolve(target: str, where: str) -> Any:
    """``"pkg.mod:attr.sub"`` (or ``"pkg.mod.attr"``) to the object it names."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"{where}: {target!r} is not an import path like 'package.module:name'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{where}: cannot import {module_name!r}: {exc}") from None
    except Exception as exc:  # the module itself is broken (SyntaxError, an error at import)
        raise ConfigError(f"{where}: cannot import {module_name!r}: "
                          f"{type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{where}: {module_name!r} has no attribute {attr!r}") from None
    return obj


def _formatter(fmt: str | None, as_json: bool, utc: bool, where: str) -> Formatter:
    if as_json and fmt is not None:
        raise ConfigError(f"{where}format: give either format or json = true, not both")
    try:
        return validate.formatter(fmt, json=as_json, utc=utc)
    except ValueError as exc:
        raise ConfigError(f"{where}format: {exc}") from None


def _given(spec: Mapping[str, Any], key: str, default: Any) -> Any:
    """``spec[key]``; its default when absent or None (as in Python's keyword arguments)."""
    value = spec.get(key)
    return default if value is None else value


def _check(check: Any, value: Any, where: str) -> Any:
    """``check(value, where)`` from loglane.validate, its ValueError as a ConfigError."""
    try:
        return check(value, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _level(value: Any, where: str) -> int:
    return _check(validate.level, value, where)  # type: ignore[no-any-return]


def _known(spec: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in spec:
        if key not in known:
            raise ConfigError(f"{where}{key}: unknown key (known: {', '.join(sorted(known))})")


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "int": "an integer", "float": "a number", "dict": "a table"}
    if isinstance(t, tuple):
        return " or ".join(names.get(x.__name__, x.__name__) for x in t)
    return names.get(t.__name__, t.__name__)


def _opt(spec: Mapping[str, Any], key: str, t: Any, where: str) -> Any:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, t):
        raise ConfigError(f"{where}{key}: expected {_type_name(t)}, got {validate.shown(value)}")
    return value


def _required(spec: Mapping[str, Any], key: str, t: Any, where: str) -> Any:
    if key not in spec:
        raise ConfigError(f"{where}: missing {key!r}")
    return _opt(spec, key, t, where + ".")


def _bool(spec: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}{key}: expected true or false, got {validate.shown(value)}")
    return value


def _key(key: object) -> str:
    text = str(key)
    return text if text.replace("_", "").replace("-", "").isalnum() else f'"{text}"'


__all__ = ["ENV_LEVEL", "ConfigError", "build", "configure", "load_toml", "resolve"]

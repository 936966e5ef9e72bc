"""loglane: non-blocking, loss-free logging for Python."""

TYPE_CHECKING = False  # (not from typing: importing typing alone costs ~10 ms)

if TYPE_CHECKING:
    from loglane.config import ConfigError, configure
    from loglane.context import BoundLogger, contextualize
    from loglane.daemon.client import ProxyFile
    from loglane.daemon.sink import DaemonSink
    from loglane.hooks import install_excepthook, uninstall_excepthook
    from loglane.logger import Logger
    from loglane.record import (
        CRITICAL,
        DEBUG,
        ERROR,
        INFO,
        WARNING,
        Record,
        level_name,
        parse_level,
    )
    from loglane.registry import get_logger, shutdown
    from loglane.ship.sink import AmqpSink
    from loglane.signals import install_signal_handlers
    from loglane.sinks.base import Sink, SinkBacklogged
    from loglane.sinks.console import CallableSink, ConsoleSink
    from loglane.sinks.file import FileSink
    from loglane.stdlib import StdlibHandler, StdlibSink, capture_stdlib, release_stdlib

# Every name is imported on first use: `import loglane` costs about a millisecond instead of
# ~70 (the logger, its writer and the config parser pull in dataclasses, typing, pathlib ...),
# the command-line tools (`loglane monitor`, `serve`, ...) start without the logger, and the
# daemon client and the broker sink stay out until asked for.
_LAZY = {
    "ConfigError": "loglane.config",
    "configure": "loglane.config",
    "BoundLogger": "loglane.context",
    "contextualize": "loglane.context",
    "ProxyFile": "loglane.daemon.client",
    "DaemonSink": "loglane.daemon.sink",
    "install_excepthook": "loglane.hooks",
    "uninstall_excepthook": "loglane.hooks",
    "Logger": "loglane.logger",
    "CRITICAL": "loglane.record",
    "DEBUG": "loglane.record",
    "ERROR": "loglane.record",
    "INFO": "loglane.record",
    "WARNING": "loglane.record",
    "Record": "loglane.record",
    "level_name": "loglane.record",
    "parse_level": "loglane.record",
    "get_logger": "loglane.registry",
    "shutdown": "loglane.registry",
    "AmqpSink": "loglane.ship.sink",
    "install_signal_handlers": "loglane.signals",
    "Sink": "loglane.sinks.base",
    "SinkBacklogged": "loglane.sinks.base",
    "CallableSink": "loglane.sinks.console",
    "ConsoleSink": "loglane.sinks.console",
    "FileSink": "loglane.sinks.file",
    "StdlibHandler": "loglane.stdlib",
    "StdlibSink": "loglane.stdlib",
    "capture_stdlib": "loglane.stdlib",
    "release_stdlib": "loglane.stdlib",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loglane' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "WARNING",
    "AmqpSink",
    "BoundLogger",
    "CallableSink",
    "ConfigError",
    "ConsoleSink",
    "DaemonSink",
    "FileSink",
    "Logger",
    "ProxyFile",
    "Record",
    "Sink",
    "SinkBacklogged",
    "StdlibHandler",
    "StdlibSink",
    "capture_stdlib",
    "configure",
    "contextualize",
    "get_logger",
    "install_excepthook",
    "install_signal_handlers",
    "level_name",
    "parse_level",
    "release_stdlib",
    "shutdown",
    "uninstall_excepthook",
]

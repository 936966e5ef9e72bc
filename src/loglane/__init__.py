"""loglane: non-blocking, loss-free logging for Python."""

from typing import TYPE_CHECKING

from loglane.config import ConfigError, configure
from loglane.context import BoundLogger, contextualize
from loglane.hooks import install_excepthook, uninstall_excepthook
from loglane.logger import Logger
from loglane.record import CRITICAL, DEBUG, ERROR, INFO, WARNING, Record, level_name, parse_level
from loglane.registry import get_logger, shutdown
from loglane.signals import install_signal_handlers
from loglane.sinks.base import Sink, SinkBacklogged
from loglane.sinks.console import CallableSink, ConsoleSink
from loglane.sinks.file import FileSink
from loglane.stdlib import StdlibHandler, StdlibSink, capture_stdlib, release_stdlib

if TYPE_CHECKING:
    from loglane.daemon.client import ProxyFile
    from loglane.daemon.sink import DaemonSink
    from loglane.ship.sink import AmqpSink

# The daemon client and the broker sink are imported on first use: `import loglane` stays
# fast and needs nothing beyond the standard library.
_LAZY = {
    "AmqpSink": "loglane.ship.sink",
    "DaemonSink": "loglane.daemon.sink",
    "ProxyFile": "loglane.daemon.client",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loglane' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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

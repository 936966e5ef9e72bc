"""loglane: non-blocking, loss-free logging for Python."""

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

__all__ = [
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "WARNING",
    "BoundLogger",
    "CallableSink",
    "ConfigError",
    "ConsoleSink",
    "FileSink",
    "Logger",
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

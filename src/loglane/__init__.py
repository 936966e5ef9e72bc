"""loglane: non-blocking, loss-free logging for Python."""

from loglane.logger import Logger
from loglane.record import CRITICAL, DEBUG, ERROR, INFO, WARNING, Record, level_name, parse_level
from loglane.signals import install_signal_handlers
from loglane.sinks.base import Sink, SinkBacklogged
from loglane.sinks.console import CallableSink, ConsoleSink
from loglane.sinks.file import FileSink

__all__ = [
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "WARNING",
    "CallableSink",
    "ConsoleSink",
    "FileSink",
    "Logger",
    "Record",
    "Sink",
    "SinkBacklogged",
    "install_signal_handlers",
    "level_name",
    "parse_level",
]

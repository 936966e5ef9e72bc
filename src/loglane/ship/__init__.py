"""Shipping log lines to RabbitMQ, at least once: ``loglane ship`` and ``AmqpSink``."""

from loglane.ship.checkpoint import Checkpoints, FileState
from loglane.ship.sink import AmqpSink
from loglane.ship.spool import Spool, SpoolBusy

__all__ = ["AmqpSink", "Checkpoints", "FileState", "Spool", "SpoolBusy"]

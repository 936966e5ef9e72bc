"""Condense test logs into a pass/fail summary: from files, or as competing AMQP consumers."""

from __future__ import annotations

from loglane.accumulate.parsers import Parsed, Status, parse_text
from loglane.accumulate.store import DEFAULT_STORE, Contribution, Store, StoreError
from loglane.accumulate.summary import Summary, load

__all__ = [
    "DEFAULT_STORE",
    "Contribution",
    "Parsed",
    "Status",
    "Store",
    "StoreError",
    "Summary",
    "load",
    "parse_text",
]

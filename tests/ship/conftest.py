"""Fixtures of the shipping tests: a queue of their own, and a cuttable path to the broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from ship_helpers import Proxy, delete_queue


@pytest.fixture
def queue(rabbitmq_url: str) -> Iterator[str]:
    name = f"test.ship.{uuid.uuid4().hex[:12]}"
    yield name
    delete_queue(rabbitmq_url, name)


@pytest.fixture
def proxy(rabbitmq_url: str) -> Iterator[Proxy]:
    parts = urlsplit(rabbitmq_url)
    p = Proxy((parts.hostname or "127.0.0.1", parts.port or 5672))
    p.up()
    yield p
    p.down()

"""Shared fixtures: real services, and the rule that CI never skips them.

Where RabbitMQ or PostgreSQL is not running (a laptop), their tests skip with a reason.
`.ci/run` sets LOGLANE_REQUIRE_SERVICES=1, which turns that skip into a failure, so a CI run
can never pass by skipping the shipping tests.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import pytest

RABBITMQ_HOST = os.environ.get("LOGLANE_TEST_RABBITMQ_HOST", "127.0.0.1")
RABBITMQ_PORT = int(os.environ.get("LOGLANE_TEST_RABBITMQ_PORT", "5672"))
RABBITMQ_URL = f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/%2F"
POSTGRES_URL = os.environ.get("LOGLANE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, in CI, fail) the calling test when the service does not answer."""
    if _reachable(host, port):
        return
    reason = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("LOGLANE_REQUIRE_SERVICES"):
        pytest.fail(f"{reason}, and LOGLANE_REQUIRE_SERVICES is set (CI must not skip)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests read console output as plain text, whatever colour settings the runner has."""
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture
def rabbitmq_url() -> str:
    require_service("RabbitMQ", RABBITMQ_HOST, RABBITMQ_PORT)
    return RABBITMQ_URL


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


def _wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition!r}")
        time.sleep(0.005)  # polling a condition, not waiting for a duration


@pytest.fixture
def wait_until() -> Callable[..., None]:
    return _wait_until

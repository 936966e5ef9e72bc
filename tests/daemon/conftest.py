"""Fixtures for the daemon's tests."""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from daemon_helpers import Daemon


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX socket paths must stay under ~107 bytes."""
    d = tempfile.mkdtemp(prefix="ll", dir="/tmp")
    try:
        yield Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def daemon_factory(short_dir: Path) -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(*extra: str, start: bool = True) -> Daemon:
        d = Daemon(short_dir, *extra)
        made.append(d)
        return d.start() if start else d

    yield make
    for d in made:
        if d.proc is not None and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait(10)
            d.proc.communicate()


@pytest.fixture
def daemon(daemon_factory: Callable[..., Daemon]) -> Daemon:
    return daemon_factory("--rotate-check", "0.05", "-v")

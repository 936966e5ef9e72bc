"""Make SIGTERM and SIGINT drain the loggers before the process goes the default way.

Python's default SIGTERM ends the process without running atexit, so queued lines would be
lost. The handler drains (everything accepted so far is written and flushed), then does what
would have happened without it: the previous Python handler if there was one, otherwise the
default action (SIGINT raises KeyboardInterrupt; SIGTERM re-raises the signal with the default
disposition, so the exit status still says "killed by SIGTERM").
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from loglane.writer import get_writer

Handler = Callable[[int, FrameType | None], Any] | int | None


def install_signal_handlers(
    signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT), *, timeout: float = 10.0
) -> None:
    """Install draining handlers (main thread only, as ``signal.signal`` requires)."""
    for signum in signals:
        previous = signal.getsignal(signum)
        signal.signal(signum, _make_handler(signum, previous, timeout))


def _make_handler(signum: int, previous: Handler, timeout: float) -> Callable[..., None]:
    def handler(sig: int, frame: FrameType | None) -> None:
        get_writer().barrier(timeout)
        if callable(previous):
            previous(sig, frame)
        elif previous == signal.SIG_IGN:
            return
        else:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler

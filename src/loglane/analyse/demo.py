"""The monitor part of `loglane demo`: a traffic generator writes an access log with a burst,
and the live monitor follows it on a compressed clock, so an alert and its recovery show up
within a few seconds of real time."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import TextIO

from .accesslog import FORMATS
from .aggregate import Aggregator
from .clock import ScaledClock
from .follow import Follower
from .monitor import Monitor
from .render import TextRenderer
from .run import live

__all__ = ["run"]

LOG_SECONDS = 160  # of log time; the burst is at 40-100 s
INTERVAL, WINDOW, THRESHOLD = 20, 30, 6.0
SECTIONS = ("/api/user", "/api/order", "/report/daily", "/static/app.js", "/")


def _rate(t: int) -> int:
    return 20 if 40 <= t < 100 else 2


def _line(when: int, i: int) -> str:
    stamp = datetime.fromtimestamp(when, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    path = SECTIONS[i % len(SECTIONS)]
    status = 500 if i % 17 == 0 else 404 if i % 11 == 0 else 200
    return f'10.0.0.{i % 7 + 1} - - [{stamp}] "GET {path} HTTP/1.1" {status} {200 + i % 900}\n'


def run(out: TextIO, *, seconds: float = 4.0, workdir: str) -> int:
    path = os.path.join(workdir, "access.log")
    open(path, "w").close()
    speed = LOG_SECONDS / seconds
    start = (int(datetime.now(UTC).timestamp()) // INTERVAL + 1) * INTERVAL
    clock = ScaledClock(speed, start=start)
    stop = threading.Event()
    out.write(
        f"monitor demo: {path}, {LOG_SECONDS} s of traffic in {seconds:g} s "
        f"({speed:g}x); alert above {THRESHOLD:g} req/s over {WINDOW} s\n"
    )

    def generate() -> None:
        written, count = 0, 0  # log seconds written so far
        with open(path, "a") as f:
            while written < LOG_SECONDS and not stop.is_set():
                now = int(clock.now()) - start
                while written < min(now, LOG_SECONDS):
                    for _ in range(_rate(written)):
                        f.write(_line(start + written, count))
                        count += 1
                    written += 1
                f.flush()
                clock.wait(stop, 0.5)
        clock.wait(threading.Event(), 1.5)  # let the monitor see the last second close
        stop.set()

    writer = threading.Thread(target=generate, name="demo-traffic", daemon=True)
    monitor = Monitor(interval=INTERVAL, window=WINDOW, threshold=THRESHOLD)
    follower = Follower(path)
    writer.start()
    summary = live(
        follower,
        Aggregator(FORMATS["combined"], INTERVAL),
        monitor,
        [TextRenderer(out)],
        clock,
        stop,
        poll=1.0,
    )
    writer.join()
    ok = any(p.recovered is not None for p in summary.alerts)
    return 0 if ok else 1

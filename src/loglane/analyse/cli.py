"""`loglane monitor`: watch (tail -F) or replay an HTTP access log; reports and alerts."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import NoReturn

from .accesslog import LogFormat, detect_format, get_format
from .aggregate import Aggregator, Block
from .clock import Clock, WallClock
from .follow import Follower, StreamFollower
from .monitor import Monitor
from .render import JsonRenderer, TextRenderer
from .replay import blocks_of_file, blocks_of_stream
from .run import Output, live, replay

__all__ = ["main"]

DEFAULT_FILE = "/tmp/access.log"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one clear line, exit 2 (argparse's default prints the whole usage first)
        self.exit(2, f"loglane monitor: {message} (see --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def _threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="loglane monitor",
        description="Watch an HTTP access log live (like tail -F) or replay one: a report "
        "every interval, an alert while the average request rate over the window exceeds "
        "the threshold, and a recovery message when it drops back.",
    )
    p.add_argument("file", nargs="?", default=DEFAULT_FILE, help="access log, or - for stdin")
    p.add_argument(
        "--format",
        default="auto",
        help="common, combined, vhost_combined, nginx, csv, regex:PATTERN or auto (default)",
    )
    p.add_argument("--replay", action="store_true", help="read the whole file on its own time")
    p.add_argument("--interval", type=_positive_int, default=10, help="report every N s (10)")
    p.add_argument("--window", type=_positive_int, default=120, help="alert window in s (120)")
    p.add_argument("--threshold", type=_threshold, default=10.0, help="alert above N req/s (10)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--dashboard", action="store_true", help="live terminal view (needs rich)")
    p.add_argument("--html", metavar="OUT", help="write a self-contained HTML report")
    p.add_argument("--show-unparsed", action="store_true", help="print lines that do not parse")
    p.add_argument("--jobs", type=_positive_int, default=None, help="worker processes for --replay")
    p.add_argument(
        "--from-start", action="store_true", help="live: read what the file already holds"
    )
    return p


def _fail(message: str) -> int:
    print(f"loglane monitor: {message}", file=sys.stderr)
    return 2


def _sample(path: str) -> list[bytes]:
    with open(path, "rb") as f:
        return f.read(64 << 10).splitlines()[:50]


def _resolve_format(spec: str, path: str | None, sample: list[bytes] | None) -> LogFormat:
    if spec != "auto":
        return get_format(spec)
    if sample is None and path is not None and os.path.isfile(path):
        sample = _sample(path)
    return detect_format(sample or [])


def _stdin_blocks(fmt_spec: str, interval: int, show: bool) -> Iterator[Block]:
    stream = sys.stdin.buffer
    if fmt_spec == "auto":
        head = stream.peek(64 << 10)[: 64 << 10] if hasattr(stream, "peek") else b""
        fmt = detect_format(head.splitlines()[:50])
    else:
        fmt = get_format(fmt_spec)
    yield from blocks_of_stream(stream, fmt, interval, show)


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    args = build_parser().parse_args(argv)
    path: str = args.file
    if args.dashboard and args.json:
        return _fail("--dashboard and --json are exclusive")
    if args.html and not args.replay:
        return _fail("--html needs --replay")
    try:
        if args.format != "auto":
            get_format(args.format)
        if path != "-":
            if os.path.isdir(path):
                return _fail(f"{path}: is a directory")
            if args.replay or os.path.exists(path):
                with open(path, "rb"):
                    pass
    except ValueError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{path}: {exc.strerror or exc}")

    outputs: list[Output] = []
    if args.dashboard:
        try:
            from .dashboard import Dashboard
        except ImportError:
            return _fail("--dashboard needs rich: pip install 'loglane[dashboard]'")
        dashboard = Dashboard(args.threshold, args.window)
        outputs.append(dashboard)
    elif args.json:
        outputs.append(JsonRenderer(sys.stdout, args.threshold, flush=not args.replay))
    else:
        outputs.append(TextRenderer(sys.stdout, flush=not args.replay))
    html = None
    if args.html:
        from .html import HtmlReport

        html = HtmlReport(args.html, threshold=args.threshold, window=args.window)
        outputs.append(html)

    monitor = Monitor(
        interval=args.interval,
        window=args.window,
        threshold=args.threshold,
        collapse_quiet=args.replay,
    )
    stop = threading.Event()
    restore = _install_signals(stop)
    try:
        if args.dashboard:
            dashboard.start()
        if args.replay:
            if path == "-":
                blocks = _stdin_blocks(args.format, args.interval, args.show_unparsed)
            else:
                fmt = _resolve_format(args.format, path, None)
                blocks = blocks_of_file(
                    path, fmt, args.interval, keep_unparsed=args.show_unparsed, jobs=args.jobs
                )
            replay(blocks, monitor, outputs, show_unparsed=args.show_unparsed, stop=stop)
        else:
            follower: Follower | StreamFollower
            if path == "-":
                # a pipe (`tail -F x | loglane monitor -`): live, on the wall clock, until EOF
                follower = StreamFollower(sys.stdin.fileno())
                fmt = get_format("combined" if args.format == "auto" else args.format)
            else:
                if not os.path.exists(path):
                    print(f"loglane monitor: waiting for {path} to appear", file=sys.stderr)
                fmt = _resolve_format(args.format, path, None)
                follower = Follower(path, from_start=args.from_start)
            live(
                follower,
                Aggregator(fmt, args.interval, args.show_unparsed),
                monitor,
                outputs,
                clock or WallClock(),
                stop,
                show_unparsed=args.show_unparsed,
            )
    except OSError as exc:
        return _fail(f"{path}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # the reader went away (| head): not an error of ours; keep Python from complaining
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if args.dashboard:
            dashboard.stop()
            TextRenderer(sys.stdout).summary(monitor.summary)  # stays on screen afterwards
        restore()
    if html is not None:
        print(f"loglane monitor: wrote {html.path}", file=sys.stderr)
    return 0


def _install_signals(stop: threading.Event) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore

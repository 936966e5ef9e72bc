"""``loglane ship FILE...``: ship log files to RabbitMQ, at least once.

Exit status: 0 when done (``--whole-files``, ``--exit-when-done``) or stopped by SIGINT/SIGTERM;
2 for a usage error, a bad URL, refused credentials or vhost, a missing file where one is needed,
or a ``--state`` directory another shipper is using.

A missing file is waited for in follow mode (it may not have been created yet, or be between a
rotation's rename and its re-creation); with ``--whole-files`` or ``--exit-when-done`` there is
nothing to wait for, so it is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from loglane import wire
from loglane.ship.outbox import DEFAULT_MEMORY_BYTES
from loglane.ship.publisher import DEFAULT_WINDOW
from loglane.ship.runner import LineShipper, Options, WholeFileShipper
from loglane.ship.spool import SpoolBusy
from loglane.ship.tail import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_LINES
from loglane.ship.url import check_url

DEFAULT_SPOOL_BYTES = 256 << 20
MAX_MESSAGE_BYTES = 100 << 20  # RabbitMQ refuses more than max_message_size (128 MiB in 3.x)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(base) / "loglane" / "ship"


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loglane ship",
        description="Ship log files to RabbitMQ with publisher confirms, checkpoints and a "
        "disk spool while the broker is away.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="files to ship")
    parser.add_argument(
        "--amqp",
        default=wire.DEFAULT_AMQP_URL,
        metavar="URL",
        help="broker URL (default: %(default)s)",
    )
    parser.add_argument("--queue", default=wire.DEFAULT_QUEUE, help="queue (default: %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--lines",
        dest="whole",
        action="store_false",
        help="follow the files like tail -F, many lines per message (default)",
    )
    mode.add_argument(
        "--whole-files",
        dest="whole",
        action="store_true",
        help="send each file as one message, then exit",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DIR",
        help="checkpoints and spool (default: $XDG_STATE_HOME/loglane/ship)",
    )
    parser.add_argument(
        "--batch-lines",
        type=_positive,
        default=DEFAULT_BATCH_LINES,
        metavar="N",
        help="lines per message (default: %(default)s)",
    )
    parser.add_argument(
        "--batch-bytes",
        type=_positive,
        default=DEFAULT_BATCH_BYTES,
        metavar="N",
        help="at most this many bytes per message",
    )
    parser.add_argument(
        "--exit-when-done",
        action="store_true",
        help="with --lines: exit once every file is shipped to its end",
    )
    parser.add_argument(
        "--window",
        type=_positive,
        default=DEFAULT_WINDOW,
        metavar="N",
        help="publishes awaiting a confirm at once (default: %(default)s)",
    )
    parser.add_argument(
        "--spool-bytes",
        type=_positive,
        default=DEFAULT_SPOOL_BYTES,
        metavar="N",
        help="disk spool bound while the broker is away (default: 256 MiB)",
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="on SIGINT/SIGTERM, wait this long for outstanding confirms",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.1,
        metavar="S",
        help="how often to look for new data at end of file",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no closing statistics line on stdout"
    )
    parser.set_defaults(whole=False)
    return parser


def _fail(message: str) -> int:
    print(f"loglane ship: {message}", file=sys.stderr, flush=True)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_intermixed_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        check_url(args.amqp)
    except ValueError as exc:
        return _fail(str(exc))
    # the same file named twice would be read twice: once is enough
    args.files = list(dict.fromkeys(os.path.abspath(p) for p in args.files))
    for path in args.files:
        if os.path.exists(path) and not os.path.isfile(path):
            return _fail(f"{path}: not a regular file")
    if args.whole or args.exit_when_done:
        for path in args.files:
            if not os.path.isfile(path):
                what = "not a regular file" if os.path.exists(path) else "no such file"
                return _fail(f"{path}: {what}")
            if not os.access(path, os.R_OK):
                return _fail(f"{path}: permission denied")
            size = os.path.getsize(path)
            if args.whole and size > MAX_MESSAGE_BYTES:
                # the broker would close the channel on it (max_message_size), forever
                return _fail(f"{path}: {size} bytes is too big for one message; use --lines")
    opts = Options(
        files=list(args.files),
        url=args.amqp,
        queue=args.queue,
        state=args.state or default_state_dir(),
        host=socket.gethostname(),
        batch_lines=args.batch_lines,
        batch_bytes=args.batch_bytes,
        window=args.window,
        spool_bytes=args.spool_bytes,
        memory_bytes=DEFAULT_MEMORY_BYTES,
        drain_timeout=args.drain_timeout,
        poll_interval=args.poll_interval,
        exit_when_done=args.exit_when_done,
        quiet=args.quiet,
    )
    try:
        runner = WholeFileShipper if args.whole else LineShipper
        return asyncio.run(runner(opts).main())
    except SpoolBusy:
        return _fail(f"--state {opts.state} is in use by another loglane ship")
    except (OSError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())

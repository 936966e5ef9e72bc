"""``loglane accumulate``: condense test logs into the store, from files or from a queue."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import TextIO

from loglane.accumulate.messages import from_file
from loglane.accumulate.store import DEFAULT_STORE, Contribution, Store, StoreError
from loglane.wire import DEFAULT_QUEUE

FILES_PER_COMMIT = 200


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loglane accumulate",
        description="Condense test logs (Test:/Result:, pytest -v, TAP, go test -v, JUnit XML) "
        "into a pass/fail store, from FILEs or as one of many consumers of a RabbitMQ queue.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="test logs or directories of them")
    p.add_argument("--amqp", metavar="URL", help="consume from RabbitMQ at this amqp:// URL")
    p.add_argument("--queue", default=DEFAULT_QUEUE, help=f"queue name (default {DEFAULT_QUEUE})")
    p.add_argument("--store", default=DEFAULT_STORE, help=f"store URL (default {DEFAULT_STORE})")
    p.add_argument("--prefetch", type=int, default=1000, help="unacked messages in flight")
    p.add_argument("--batch", type=int, default=250, help="messages per commit and ack")
    p.add_argument(
        "--exit-when-idle",
        type=float,
        metavar="SECONDS",
        help="exit 0 once the queue has been empty this long",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no closing statistics line")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if bool(args.files) == bool(args.amqp):
        print("loglane accumulate: give FILEs or --amqp URL (one of the two)", file=sys.stderr)
        return 2
    if args.prefetch < 1 or args.batch < 1:
        print("loglane accumulate: --prefetch and --batch must be at least 1", file=sys.stderr)
        return 2
    if args.files:
        missing = [f for f in args.files if not os.path.exists(f)]
        if missing:
            print(f"loglane accumulate: no such file: {missing[0]}", file=sys.stderr)
            return 2
    try:
        store = Store(args.store)
    except StoreError as exc:
        print(f"loglane accumulate: {exc}", file=sys.stderr)
        return 2
    with store:
        if args.files:
            return _from_files(args.files, store, sys.stdout if not args.quiet else None)
        return _from_queue(args, store)


def _walk(paths: Sequence[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs.sort()
                for name in sorted(names):
                    yield os.path.join(root, name)
        else:
            yield path


def accumulate_files(paths: Sequence[str], store: Store) -> tuple[int, int, int]:
    """Add whole files to ``store``: (files, new files, lines). Raises OSError, StoreError."""
    files = new = lines = 0
    batch: list[Contribution] = []
    skip = store.own_files()  # a store kept in the directory being read is not a test log
    for path in _walk(paths):
        if skip and os.path.realpath(path) in skip:
            continue
        with open(path, "rb") as fh:
            data = fh.read()
            mtime = os.fstat(fh.fileno()).st_mtime
        item = from_file(os.path.abspath(path), data, mtime)
        files += 1
        lines += item.parsed.lines
        batch.append(item)
        if len(batch) >= FILES_PER_COMMIT:
            new += store.add(batch)
            batch = []
    new += store.add(batch)
    return files, new, lines


def _from_files(paths: Sequence[str], store: Store, out: TextIO | None) -> int:
    try:
        files, new, lines = accumulate_files(paths, store)
    except OSError as exc:
        print(f"loglane accumulate: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"loglane accumulate: {exc}", file=sys.stderr)
        return 1
    if out is not None:
        seen = f" ({files - new} seen before)" if files != new else ""
        print(f"accumulated {files} files{seen}, {lines} lines into {store.url}", file=out)
    return 0


def _from_queue(args: argparse.Namespace, store: Store) -> int:
    from loglane.accumulate.consumer import AmqpSetupError, Consumer, ConsumerOptions

    opts = ConsumerOptions(
        url=args.amqp,
        queue=args.queue,
        prefetch=args.prefetch,
        batch=min(args.batch, args.prefetch),
        exit_when_idle=args.exit_when_idle,
    )
    try:
        consumer = Consumer(opts, store)
    except AmqpSetupError as exc:
        print(f"loglane accumulate: {exc}", file=sys.stderr)
        return 2

    def on_signal(signum: int, frame: FrameType | None) -> None:
        consumer.stop()  # finish the batch, commit, ack, then return from run()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        consumer.run()
    except AmqpSetupError as exc:
        print(f"loglane accumulate: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        # nothing of the failed batch was acked: the broker hands it to another consumer
        print(f"loglane accumulate: {exc}", file=sys.stderr)
        return 1
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    st = consumer.stats
    if not args.quiet:
        print(
            f"loglane accumulate: {st.messages} messages ({st.new} new, {st.dead} dead-lettered),"
            f" {st.lines} lines, {st.batches} commits",
            file=sys.stderr,
        )
    return 0

"""``loglane accumulate``: condense test logs into the store, from files or from a queue."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO

from loglane.accumulate.messages import dead_key, from_file
from loglane.accumulate.store import DEFAULT_STORE, Contribution, DeadLetter, Store, StoreError
from loglane.wire import DEFAULT_QUEUE, dead_letter_queue

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


@dataclass
class FilesDone:
    """What :func:`accumulate_files` did."""

    files: int = 0
    new: int = 0  # not seen before
    lines: int = 0
    not_understood: list[str] = field(default_factory=list)  # files where nothing was recognised
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, why) the store refused


def accumulate_files(paths: Sequence[str], store: Store) -> FilesDone:
    """Add whole files to ``store``. A file the store refuses is left out, counted in the
    store as a dead letter and listed. Raises OSError, StoreError."""
    done = FilesDone()
    batch: list[Contribution] = []
    data_of: dict[str, bytes] = {}  # the bytes of the open batch, for a refused file's key
    skip = store.own_files()  # a store kept in the directory being read is not a test log
    for path in _walk(paths):
        if skip and os.path.realpath(path) in skip:
            continue
        with open(path, "rb") as fh:
            data = fh.read()
            mtime = os.fstat(fh.fileno()).st_mtime
        item = from_file(os.path.abspath(path), data, mtime)
        done.files += 1
        done.lines += item.parsed.lines
        if item.parsed.lines and not item.parsed.recognised:
            done.not_understood.append(item.source)
        batch.append(item)
        data_of[item.message_id] = data
        if len(batch) >= FILES_PER_COMMIT:
            _commit(store, batch, data_of, done)
            batch, data_of = [], {}
    _commit(store, batch, data_of, done)
    return done


def _commit(
    store: Store, batch: list[Contribution], data_of: dict[str, bytes], done: FilesDone
) -> None:
    new, refused = store.add_isolating(batch)
    done.new += new
    store.add_dead(
        [
            DeadLetter(dead_key(c.message_id, data_of[c.message_id]), "refused", why)
            for c, why in refused
        ]
    )
    done.refused += [(c.source, why) for c, why in refused]


def _from_files(paths: Sequence[str], store: Store, out: TextIO | None) -> int:
    try:
        done = accumulate_files(paths, store)
    except OSError as exc:
        print(f"loglane accumulate: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"loglane accumulate: {exc}", file=sys.stderr)
        return 1
    for name, why in done.refused[:10]:
        print(f"loglane accumulate: left out {name}: {why}", file=sys.stderr)
    if out is not None:
        seen = f" ({done.files - done.new} seen before)" if done.files != done.new else ""
        print(
            f"accumulated {done.files} files{seen}, {done.lines} lines into {store.url}", file=out
        )
        if done.not_understood:
            shown = ", ".join(done.not_understood[:3])
            more = (
                f" and {len(done.not_understood) - 3} more" if len(done.not_understood) > 3 else ""
            )
            print(
                f"{len(done.not_understood)} files not understood (no test outcome or event "
                f"recognised): {shown}{more}",
                file=out,
            )
        if done.refused:
            print(f"{len(done.refused)} files refused by the store, left out", file=out)
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
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(st.dead_kinds.items()))
        dead = f" to {dead_letter_queue(args.queue)}: {kinds}" if st.dead else ""
        print(
            f"loglane accumulate: {st.messages} messages ({st.new} new, {st.dead} dead-lettered"
            f"{dead}), {st.lines} lines, {st.batches} commits",
            file=sys.stderr,
        )
    return 0

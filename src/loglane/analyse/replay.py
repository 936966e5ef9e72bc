"""Replay: a file or stream in blocks of whole lines, aggregated in order, in bounded memory.

A large regular file is split into byte ranges that worker processes aggregate in parallel;
the parent consumes their Blocks strictly in file order, with a bounded number in flight, so
the result is the same as a serial pass (windows work on whole seconds, and per-second counts
add up in any order). Streams (stdin, pipes) and small files are read serially.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import BinaryIO

from .accesslog import LogFormat
from .aggregate import Aggregator, Block

__all__ = ["blocks_of_file", "blocks_of_stream", "read_range", "split_ranges"]

BLOCK_BYTES = 4 << 20
PARALLEL_MIN_BYTES = 16 << 20


def chunks_of_stream(stream: BinaryIO, size: int = BLOCK_BYTES) -> Iterator[bytes]:
    """Chunks that end on a newline (the last may not); a line longer than `size` still
    comes whole, so memory is bounded by block size plus the longest line."""
    rest = b""
    while True:
        data = stream.read(size)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        rest = data[cut:]
        yield data[:cut]
    if rest:
        yield rest


def blocks_of_stream(
    stream: BinaryIO, fmt: LogFormat, interval: int, keep_unparsed: bool = False
) -> Iterator[Block]:
    agg = Aggregator(fmt, interval, keep_unparsed)
    for chunk in chunks_of_stream(stream):
        yield agg.aggregate(chunk)


def split_ranges(size: int, block: int | None = None) -> list[tuple[int, int]]:
    step = block or BLOCK_BYTES
    return [(start, min(start + step, size)) for start in range(0, size, step)]


def read_range(f: BinaryIO, start: int, end: int) -> bytes:
    """The lines that *start* in [start, end): each line belongs to exactly one range."""
    if start > 0:
        f.seek(start - 1)
        f.readline()  # rest of the line owned by the previous range (just "\n" if none)
    pos = f.tell()
    if pos >= end:
        return b""
    data = f.read(end - pos)
    if data and not data.endswith(b"\n"):
        data += f.readline()
    return data


_worker: tuple[str, Aggregator] | None = None


def _init_worker(path: str, fmt: LogFormat, interval: int, keep_unparsed: bool) -> None:
    global _worker
    _worker = (path, Aggregator(fmt, interval, keep_unparsed))


def _work(span: tuple[int, int]) -> Block:
    assert _worker is not None
    path, agg = _worker
    with open(path, "rb") as f:
        return agg.aggregate(read_range(f, *span))


def blocks_of_file(
    path: str,
    fmt: LogFormat,
    interval: int,
    *,
    keep_unparsed: bool = False,
    jobs: int | None = None,
) -> Iterator[Block]:
    """Blocks of a file in order; in parallel when it is large and more than one job is
    allowed (`jobs` defaults to the number of CPUs). Serial and parallel runs cut the file
    into the same byte ranges, so they produce identical blocks and identical output."""
    jobs = jobs or os.cpu_count() or 1
    size = os.path.getsize(path) if os.path.isfile(path) else 0
    if size == 0:  # a FIFO, a device, or empty: read it as a stream
        with open(path, "rb") as f:
            yield from blocks_of_stream(f, fmt, interval, keep_unparsed)
        return
    spans = split_ranges(size)
    if jobs < 2 or size < PARALLEL_MIN_BYTES:
        agg = Aggregator(fmt, interval, keep_unparsed)
        with open(path, "rb") as f:
            for span in spans:
                yield agg.aggregate(read_range(f, *span))
        return
    # A process pool that notices a dead worker (BrokenProcessPool) instead of waiting forever.
    with ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_init_worker,
        initargs=(path, fmt, interval, keep_unparsed),
    ) as pool:
        pending: deque[Future[Block]] = deque()
        try:
            for span in spans:
                pending.append(pool.submit(_work, span))
                if len(pending) >= 2 * jobs:  # bounded: never more blocks than this in memory
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

"""How fast do log lines go from a file to the summary, through RabbitMQ? Medians of runs.

    .venv/bin/python bench/bench_ship.py [--lines 1000000] [--repeat 3] [--batch-lines 1000]

Measures, in one run so the numbers compare (all with publisher confirms, durable quorum
queue, persistent messages, consumer acks):

* ``loglane ship --exit-when-done`` alone (no consumer): file -> broker, confirmed, against
  the plain aio-pika publisher alone;
* end to end, ``loglane ship`` -> 1 and 2 ``loglane accumulate`` (SQLite store): from spawning
  the shipper (consumers already connected and idle) until the store has counted every line;
* ``loglane.Logger`` with an ``AmqpSink`` (overflow ``block``, so nothing is dropped): from
  the first log call until ``close()`` returns with every line confirmed;
* the baseline: a plain aio-pika publisher (window of 64 publishes awaiting confirms) and 1 or
  2 plain pika consumers that only count lines and ack (``multiple=True`` every 250, prefetch
  1000), with 100-line messages (the issue's reference) and with ``--batch-lines`` lines.

The file is written and page-cached before the clock starts; process start-up is inside the
measured time (honest, and small at 1M lines). Set LOGLANE_BENCH_AMQP for another broker.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aio_pika
import pika

from bench_accumulate import make_text  # bench/ is on sys.path: the script's dir
from loglane.wire import QUEUE_ARGUMENTS

AMQP = os.environ.get("LOGLANE_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")
WINDOW = 64
PREFETCH, ACK_EVERY = 1000, 250


def make_file(path: Path, lines: int, seed: int = 1) -> None:
    """Test logs of the seed's style (the accumulate bench's generator), written to path."""
    path.write_text(make_text(random.Random(seed), lines))


def loglane(*args: str, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "loglane", *args], **kw)


def ship_to(path: Path, queue: str, state: Path, batch: int) -> subprocess.Popen[bytes]:
    """`loglane ship` of the whole file to the queue, exiting when everything is confirmed."""
    return loglane("ship", str(path), "--amqp", AMQP, "--queue", queue, "--state", str(state),
                   "--batch-lines", str(batch), "--exit-when-done", "-q")


def fresh_queue() -> str:
    name = f"bench.ship.{uuid.uuid4().hex[:10]}"
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    for q in (name, name + ".dead"):
        ch.queue_declare(q, durable=True, arguments=dict(QUEUE_ARGUMENTS))
    conn.close()
    return name


def drop_queue(name: str) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    for q in (name, name + ".dead"):
        ch.queue_delete(q)
    conn.close()


def wait_until(cond: Callable[[], bool], timeout: float, every: float = 0.01) -> float:
    """Poll ``cond``; return the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not finish in time")
        time.sleep(every)
    return time.monotonic()


# -- loglane ship (and accumulate) -------------------------------------------------------


def run_ship_only(path: Path, lines: int, batch: int, tmp: Path) -> tuple[float, float]:
    queue = fresh_queue()
    state = tmp / f"state-{uuid.uuid4().hex[:6]}"
    before = os.times()
    t0 = time.monotonic()
    proc = ship_to(path, queue, state, batch)
    if proc.wait() != 0:
        raise RuntimeError("loglane ship failed")
    wall = time.monotonic() - t0
    after = os.times()
    drop_queue(queue)
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def store_lines(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT COALESCE(SUM(lines), 0) FROM acc_sources").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0  # not created yet, or busy for a moment


def run_end_to_end(path: Path, lines: int, batch: int, consumers: int, tmp: Path) -> float:
    queue = fresh_queue()
    db = tmp / f"results-{uuid.uuid4().hex[:6]}.db"
    state = tmp / f"state-{uuid.uuid4().hex[:6]}"
    errs = [open(tmp / f"consumer-{i}.err", "w+") for i in range(consumers)]  # noqa: SIM115
    procs = [
        loglane(
            "accumulate",
            "--amqp",
            AMQP,
            "--queue",
            queue,
            "--store",
            f"sqlite:///{db}",
            "-q",
            stderr=err,
        )
        for err in errs
    ]
    wait_until(lambda: db.exists(), 30)
    time.sleep(1.0)  # let every consumer connect and go idle before the clock starts
    t0 = time.monotonic()
    ship = ship_to(path, queue, state, batch)

    def finished() -> bool:
        for proc, err in zip(procs, errs, strict=True):
            if proc.poll() is not None:
                err.seek(0)
                raise RuntimeError(f"loglane accumulate exited {proc.returncode}: {err.read()}")
        return store_lines(db) >= lines

    t1 = wait_until(finished, 600, 0.02)
    ship.wait()
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait()
    got = store_lines(db)
    drop_queue(queue)
    if got != lines:
        raise RuntimeError(f"store counted {got} lines, expected {lines}")
    return t1 - t0


def run_sink(lines: int) -> float:
    """Logger -> AmqpSink -> broker, in a process of its own: from the first log call until
    ``close()`` returns, which is when the broker has confirmed every line."""
    queue = fresh_queue()
    t0 = time.monotonic()
    subprocess.run([sys.executable, __file__, "--sink-only", queue, str(lines)], check=True)
    wall = time.monotonic() - t0
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    depth = conn.channel().queue_declare(queue, passive=True).method.message_count
    conn.close()
    drop_queue(queue)
    if depth == 0:
        raise RuntimeError("the sink delivered nothing")
    return wall


def _sink_only(queue: str, lines: int) -> None:
    import loglane
    from loglane.ship import AmqpSink

    sink = AmqpSink(AMQP, queue)
    log = loglane.Logger(
        "bench", None, sinks=[sink], stdout_level=None, stderr_level=None, overflow="block"
    )
    for i in range(lines):
        log.info("step %d done in %d ms", i, 3)
    log.close()
    if sink.stats()["confirmed_lines"] != lines:
        raise SystemExit(f"only {sink.stats()['confirmed_lines']} of {lines} lines confirmed")


# -- the baseline: plain aio-pika publisher, plain pika consumers --------------------------


async def _publish(path: Path, queue: str, per_message: int) -> None:
    with open(path, "rb") as fh:
        data = fh.read().splitlines(keepends=True)
    conn = await aio_pika.connect(AMQP)
    channel = await conn.channel(publisher_confirms=True)
    sem = asyncio.Semaphore(WINDOW)
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, body: bytes) -> None:
        try:
            await channel.default_exchange.publish(
                aio_pika.Message(
                    body, message_id=f"base@{i}", delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                ),
                routing_key=queue,
            )
        finally:
            sem.release()

    for i in range(0, len(data), per_message):
        await sem.acquire()
        task = asyncio.create_task(one(i, b"".join(data[i : i + per_message])))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    await conn.close()


def _consume(queue: str, counter: Any, stop: Any) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=PREFETCH)
    unacked = 0
    last = None
    for method, _props, body in ch.consume(queue, inactivity_timeout=0.05):
        if method is not None:
            with counter.get_lock():
                counter.value += body.count(b"\n")
            unacked += 1
            last = method.delivery_tag
        if last is not None and (unacked >= ACK_EVERY or method is None):
            ch.basic_ack(last, multiple=True)
            unacked, last = 0, None
        if stop.is_set():
            break
    conn.close()


def run_baseline_publish(path: Path, per_message: int) -> float:
    """The plain publisher alone, as a process of its own (as ``loglane ship alone`` is)."""
    queue = fresh_queue()
    t0 = time.monotonic()
    subprocess.run(
        [sys.executable, __file__, "--publish-only", str(path), queue, str(per_message)],
        check=True,
    )
    wall = time.monotonic() - t0
    drop_queue(queue)
    return wall


def run_baseline(path: Path, lines: int, per_message: int, consumers: int) -> float:
    queue = fresh_queue()
    ctx = mp.get_context("spawn")
    counter, stop = ctx.Value("q", 0), ctx.Event()
    procs = [ctx.Process(target=_consume, args=(queue, counter, stop)) for _ in range(consumers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # connected and idle, as the loglane consumers are
    t0 = time.monotonic()
    # a process of its own, as the shipper is: the same start-up cost on the clock
    pub = subprocess.Popen(
        [sys.executable, __file__, "--publish-only", str(path), queue, str(per_message)]
    )
    t1 = wait_until(lambda: counter.value >= lines, 600, 0.02)
    pub.wait()
    stop.set()
    for p in procs:
        p.join(10)
    drop_queue(queue)
    return t1 - t0


# -- the report ------------------------------------------------------------------------


def median_rate(lines: int, seconds: list[float]) -> str:
    med = statistics.median(seconds)
    return f"{lines / med / 1e3:7.0f} k lines/s  (median of {len(seconds)}: {med:5.2f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-lines", type=int, default=1000)
    parser.add_argument("--publish-only", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--sink-only", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sink_only:
        _sink_only(args.sink_only[0], int(args.sink_only[1]))
        return 0
    if args.publish_only:
        path, queue, per = args.publish_only
        asyncio.run(_publish(Path(path), queue, int(per)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-ship-") as tmpdir:
        tmp = Path(tmpdir)
        path = tmp / "tests.log"
        make_file(path, args.lines)
        size = path.stat().st_size
        load = os.getloadavg()[0]
        print(
            f"{args.lines} lines, {size / 1e6:.1f} MB, {os.cpu_count()} CPUs "
            f"(load {load:.1f} at start), broker {AMQP}"
        )
        n, b, r = args.lines, args.batch_lines, range(args.repeat)
        rows: list[tuple[str, str]] = []
        runs = [run_ship_only(path, n, b, tmp) for _ in r]
        cpu = statistics.median(c for _, c in runs) / n * 1e6
        rows.append(
            (
                f"loglane ship alone ({b} lines/msg)",
                f"{median_rate(n, [w for w, _ in runs])}  {cpu:.2f} CPU-us/line",
            )
        )
        for consumers in (1, 2):
            times = [run_end_to_end(path, n, b, consumers, tmp) for _ in r]
            name = f"loglane ship -> {consumers} x loglane accumulate"
            rows.append((name, median_rate(n, times)))
        times = [run_sink(n) for _ in r]
        rows.append(("Logger -> AmqpSink -> broker (confirmed)", median_rate(n, times)))
        for per in sorted({100, b}):
            times = [run_baseline_publish(path, per) for _ in r]
            rows.append((f"baseline aio-pika alone ({per} lines/msg)", median_rate(n, times)))
            for consumers in (1, 2):
                times = [run_baseline(path, n, per, consumers) for _ in r]
                rows.append(
                    (
                        f"baseline aio-pika -> {consumers} x pika ({per} lines/msg)",
                        median_rate(n, times),
                    )
                )
        rows.append(("load average at the end", f"{os.getloadavg()[0]:.1f}"))
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

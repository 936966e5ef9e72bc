"""How fast does ``loglane accumulate`` condense test logs? Medians of several runs.

    .venv/bin/python bench/bench_accumulate.py [--lines 1000000] [--repeat 3] [--no-postgres]

Measures, in one run so the numbers compare:

* parse only: :func:`parse_text` on in-memory text (the `Test:`/`Result:` form, pytest -v);
* from files: ``accumulate_files`` into SQLite (read, parse, commit);
* from RabbitMQ: 1 and 2 ``loglane accumulate`` processes draining a queue pre-filled with
  100-line messages (parse, one store transaction per batch, ``multiple=True`` acks), against a
  plain pika consume loop that only acks, with the same prefetch and ack batching.

The queue is filled before the clock starts (publishing is measured by the ship bench). The
clock starts when all consumers of a run are attached to the queue (so Python start-up and
imports are not counted, for either side) and stops at the last ack (baseline) or the last
commit (loglane; the store records commit times). CPU is every consumer process's user+sys
time, start-up included.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

from loglane.accumulate.cli import accumulate_files
from loglane.accumulate.parsers import parse_text
from loglane.accumulate.store import Store
from loglane.wire import HEADER_KIND, HEADER_OFFSET, HEADER_SOURCE, QUEUE_ARGUMENTS, message_id

AMQP = os.environ.get("LOGLANE_BENCH_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")
POSTGRES = os.environ.get("LOGLANE_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
LINES_PER_MESSAGE = 100
PREFETCH, BATCH = 1000, 250  # the consumer's defaults, used by the baseline too


def make_text(rng: random.Random, lines: int) -> str:
    """Test logs of the seed's style: a test, a few log lines, its result; ~60 bytes a line."""
    out: list[str] = []
    while len(out) < lines:
        out.append(f"2026-11-23 12:00:00 INFO Test: test_{rng.randrange(200)}")
        for _ in range(rng.randrange(1, 7)):
            out.append(f"2026-11-23 12:00:01 DEBUG step {rng.randrange(10**6)} done in 3 ms")
        out.append(f"Result: {'FAIL' if rng.random() < 0.1 else 'PASS'}")
    return "\n".join(out[:lines]) + "\n"


def rate(lines: int, seconds: list[float], cpu: list[float]) -> str:
    """Wall-clock rate, and the CPU the work cost (all processes' user+sys): on a shared,
    loaded machine the wall clock says what you got, the CPU cost what it needs."""
    med = statistics.median(seconds)
    per_line = statistics.median(cpu) / lines * 1e6
    return (
        f"{lines / med / 1e6:6.2f} M lines/s  (median of {len(seconds)}: {med:5.2f} s)"
        f"  CPU {per_line:5.2f} us/line"
    )


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_parse(lines: int, repeat: int) -> None:
    rng = random.Random(1)
    chunks = [make_text(rng, LINES_PER_MESSAGE) for _ in range(lines // LINES_PER_MESSAGE)]
    pytest_chunk = "".join(
        f"tests/test_mod{i % 7}.py::test_case_{i} {'PASSED' if i % 9 else 'FAILED'}  [ 50%]\n"
        for i in range(LINES_PER_MESSAGE)
    )
    for label, texts in (("Test:/Result:", chunks), ("pytest -v", [pytest_chunk] * len(chunks))):
        times, cpu = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), time.process_time()
            for i, text in enumerate(texts):
                parse_text(text, whole=False, base_offset=i)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        print(f"{'parse only, ' + label:<44} {rate(lines, times, cpu)}")


def bench_files(lines: int, repeat: int) -> None:
    rng = random.Random(2)
    per_file = 1000
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(lines // per_file):
            path = os.path.join(tmp, f"run{i}.log")
            with open(path, "w") as fh:
                fh.write(make_text(rng, per_file))
            paths.append(path)
        times, cpu = [], []
        for r in range(repeat):
            with Store(os.path.join(tmp, f"r{r}.db")) as store:
                t, c = time.perf_counter(), time.process_time()
                accumulate_files(paths, store)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
        label = f"from files ({per_file}-line files) -> SQLite"
        print(f"{label:<44} {rate(lines, times, cpu)}")


def fill(queue: str, lines: int) -> int:
    import pika

    rng = random.Random(3)
    bodies = [make_text(rng, LINES_PER_MESSAGE).encode() for _ in range(50)]
    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments=dict(QUEUE_ARGUMENTS))
    n = lines // LINES_PER_MESSAGE
    offsets: dict[int, int] = {}
    for i in range(n):
        src = i % 20  # 20 sources, each a run of consecutive messages
        body = bodies[i % len(bodies)]
        off = offsets.get(src, 0)
        offsets[src] = off + len(body)
        headers = {HEADER_SOURCE: f"/ci/run{src}.log", HEADER_OFFSET: off, HEADER_KIND: "lines"}
        props = pika.BasicProperties(
            headers=headers, message_id=message_id(f"/ci/run{src}.log:{src}", off), delivery_mode=2
        )
        ch.basic_publish("", queue, body, props)
    deadline = time.monotonic() + 120
    while ch.queue_declare(queue, passive=True).method.message_count < n:
        if time.monotonic() > deadline:
            raise SystemExit("the queue did not fill")
        time.sleep(0.05)
    conn.close()
    return n


def attached(queue: str, n: int) -> float:
    """When ``n`` consumers are attached to ``queue``: the clock starts there, so process
    start-up (imports, connecting) is not counted as consuming time for either side."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    deadline = time.monotonic() + 60
    while ch.queue_declare(queue, passive=True).method.consumer_count < n:
        if time.monotonic() > deadline:
            raise SystemExit("consumers did not attach")
        time.sleep(0.002)
    now = time.time()
    conn.close()
    return now


def drop(queue: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    ch.queue_delete(queue)
    ch.queue_delete(f"{queue}.dead")
    conn.close()


def _plain(queue: str, result: mp.Queue) -> None:  # type: ignore[type-arg]
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=PREFETCH)
    got, pending, last, done_at = 0, 0, 0, time.time()
    for method, _props, body in ch.consume(queue, inactivity_timeout=1.0):
        if method is None:
            break
        got += body.count(b"\n")
        pending += 1
        last = method.delivery_tag
        if pending >= BATCH:
            ch.basic_ack(last, multiple=True)
            pending, done_at = 0, time.time()
    if pending:
        ch.basic_ack(last, multiple=True)
        done_at = time.time()
    ch.cancel()
    conn.close()
    result.put((got, done_at))


class Disturbed(Exception):
    """The broker went away during a repeat (someone restarted it): that repeat is redone."""


def repeats(run: Callable[[], tuple[float, float]], repeat: int) -> tuple[list[float], list[float]]:
    times: list[float] = []
    cpu: list[float] = []
    retries = 0
    while len(times) < repeat:
        try:
            t, c = run()
        except (Disturbed, OSError, AssertionError) as exc:
            retries += 1
            print(f"  (a repeat was disturbed, redone: {exc})", file=sys.stderr)
            if retries > 3:
                raise SystemExit("the broker keeps going away; no numbers") from None
            time.sleep(5)
            continue
        except Exception as exc:  # pika's errors: the broker went away mid-setup
            if "pika" not in type(exc).__module__:
                raise
            retries += 1
            print(f"  (the broker went away, repeat redone: {exc!r})", file=sys.stderr)
            if retries > 3:
                raise SystemExit("the broker keeps going away; no numbers") from None
            time.sleep(5)
            continue
        times.append(t)
        cpu.append(c)
    return times, cpu


def bench_plain(consumers: int, lines: int, repeat: int) -> None:
    def run() -> tuple[float, float]:
        queue = f"loglane.bench.{uuid.uuid4().hex[:8]}"
        try:
            fill(queue, lines)
            result: mp.Queue = mp.Queue()  # type: ignore[type-arg]
            c = children_cpu()
            procs = [mp.Process(target=_plain, args=(queue, result)) for _ in range(consumers)]
            for p in procs:
                p.start()
            try:
                start = attached(queue, consumers)
                outs = [result.get(timeout=300) for _ in procs]
            finally:
                for p in procs:
                    p.join(10)
                    if p.is_alive():
                        p.kill()
            if sum(o[0] for o in outs) != lines:
                raise Disturbed(f"consumed {sum(o[0] for o in outs)} of {lines} lines")
            return max(o[1] for o in outs) - start, children_cpu() - c
        finally:
            drop(queue)

    times, cpu = repeats(run, repeat)
    label = f"plain pika consume+ack, {consumers} consumer(s)"
    print(f"{label:<44} {rate(lines, times, cpu)}")


def bench_accumulate(consumers: int, lines: int, repeat: int, store_kind: str) -> None:
    def run() -> tuple[float, float]:
        queue = f"loglane.bench.{uuid.uuid4().hex[:8]}"
        try:
            n = fill(queue, lines)
            with tempfile.TemporaryDirectory() as tmp:
                url, cleanup = _store_url(store_kind, tmp)
                try:
                    return _accumulate_once(consumers, queue, url, n)
                finally:
                    cleanup()
        finally:
            drop(queue)

    times, cpu = repeats(run, repeat)
    label = f"loglane accumulate, {consumers} consumer(s), {store_kind}"
    print(f"{label:<44} {rate(lines, times, cpu)}")


def _accumulate_once(consumers: int, queue: str, url: str, n: int) -> tuple[float, float]:
    Store(url).close()  # create the tables before the clock starts
    c = children_cpu()
    cmd = [sys.executable, "-m", "loglane", "accumulate", "--amqp", AMQP, "--queue", queue]
    cmd += ["--store", url, "--exit-when-idle", "1", "-q"]
    procs = [subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True) for _ in range(consumers)]
    try:
        start = attached(queue, consumers)
        errs = [p.communicate(timeout=600)[1] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if any(p.returncode for p in procs) or any("lost RabbitMQ" in e for e in errs):
        raise Disturbed(" / ".join(e.strip() for e in errs if e.strip()) or "a consumer failed")
    with Store(url) as st:
        count, last = st.db.execute("SELECT COUNT(*), MAX(committed) FROM acc_messages")[0]
    if count != n:
        raise AssertionError(f"{count} of {n} messages committed")
    return float(last) - start, children_cpu() - c


def _store_url(kind: str, tmp: str) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        return os.path.join(tmp, "r.db"), lambda: None
    import psycopg

    schema = f"acc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def cleanup() -> None:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{POSTGRES}?options=-csearch_path%3D{schema}", cleanup


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-amqp", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(
        f"{args.lines} lines, {LINES_PER_MESSAGE} lines a message, {os.cpu_count()} CPUs,"
        f" load average {load:.1f} at start"
    )
    bench_parse(args.lines, args.repeat)
    bench_files(args.lines, args.repeat)
    if args.no_amqp:
        return 0
    for consumers in (1, 2):
        bench_plain(consumers, args.lines, args.repeat)
        bench_accumulate(consumers, args.lines, args.repeat, "sqlite")
        if not args.no_postgres:
            bench_accumulate(consumers, args.lines, args.repeat, "postgresql")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Shared by the accumulate tests that use the real RabbitMQ: publish, inspect, run consumers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from loglane.wire import QUEUE_ARGUMENTS

Msg = tuple[bytes, dict[str, Any] | None, str | bytes | None]


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def publish(url: str, queue: str, msgs: list[Msg], timestamps: list[int] | None = None) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare(queue, durable=True, arguments=dict(QUEUE_ARGUMENTS))
    ch.confirm_delivery()
    for i, (body, headers, mid) in enumerate(msgs):
        ts = timestamps[i] if timestamps is not None else int(time.time())
        props = pika.BasicProperties(headers=headers, message_id=mid, delivery_mode=2, timestamp=ts)
        ch.basic_publish("", queue, body, props)
    conn.close()


def drain(url: str, queue: str) -> list[tuple[Any, bytes]]:
    """Take every message off ``queue``: (properties, body) each."""
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            break
        out.append((props, body))
    conn.close()
    return out


def queue_depth(url: str, queue: str) -> int:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    n = int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    conn.close()
    return n


def consumers(url: str, queue: str) -> int:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    n = int(conn.channel().queue_declare(queue, passive=True).method.consumer_count)
    conn.close()
    return n


def start_consumer(url: str, queue: str, store: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "loglane", "accumulate", "--amqp", url, "--queue", queue]
    cmd += ["--store", store, *extra]
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def committed(path: str) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM acc_messages").fetchone()[0])
    except sqlite3.Error:
        return 0


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    _, err = proc.communicate(timeout=timeout)
    return proc.returncode, err

"""Helpers for the shipping tests: a cuttable TCP proxy, queue reading, polling, the shipper."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from loglane import wire

SRC = str(Path(__file__).resolve().parents[2] / "src")


def wait_for(cond: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll ``cond`` until it is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = SRC + os.pathsep + out.get("PYTHONPATH", "")
    out["PYTHONUNBUFFERED"] = "1"
    return out


def ship_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "loglane", "ship", *args]


def to_queue(url: str, queue: str, state: str) -> tuple[str, ...]:
    """The `loglane ship` arguments naming the broker, the queue and the state directory."""
    return ("--amqp", url, "--queue", queue, "--state", state)


def run_ship(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ship_cmd(*args), capture_output=True, text=True, timeout=timeout, env=env()
    )


def start_ship(*args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ship_cmd(*args), stdout=subprocess.PIPE, stderr=stderr, text=True, env=env()
    )


class StderrLines:
    """Collects a child's stderr lines as they come, so a test can wait for a message."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def wait(self, needle: str, timeout: float = 20) -> None:
        wait_for(lambda: needle in self.text(), timeout, f"{needle!r} on stderr")

    def finish(self) -> str:
        self._thread.join(10)
        return self.text()


@dataclass
class Received:
    """Everything taken off a queue so far, by message id."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    messages: int = 0

    @property
    def lines(self) -> int:
        return sum(b.count(b"\n") for b in self.bodies.values())

    def text_by_source(self) -> dict[str, bytes]:
        """The bodies of each source id, concatenated in offset order."""
        parts: dict[str, list[tuple[int, bytes]]] = {}
        for mid, body in self.bodies.items():
            source_id, offset = mid.rsplit("@", 1)
            parts.setdefault(source_id, []).append((int(offset), body))
        return {k: b"".join(b for _, b in sorted(v)) for k, v in parts.items()}


class QueueReader:
    """Drains a queue with basic_get (acking), remembering every message by id."""

    def __init__(self, url: str, queue: str) -> None:
        self.url = url
        self.queue = queue
        self.got = Received()
        self._open()

    def _open(self) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(self.url))
        self.ch = self.conn.channel()
        # the same declaration as the shipper's, so reading may start before it runs
        self.ch.queue_declare(self.queue, durable=True, arguments=dict(wire.QUEUE_ARGUMENTS))

    def drain(self) -> Received:
        try:
            self._drain()
        except pika.exceptions.AMQPError:
            # a quorum queue declared a moment ago can answer "noproc" once: open again
            self.close()
            self._open()
        return self.got

    def _drain(self) -> None:
        while True:
            method, props, body = self.ch.basic_get(self.queue, auto_ack=True)
            if method is None:
                return
            self.got.messages += 1
            if props.message_id in self.got.bodies:
                self.got.duplicates += 1
                assert self.got.bodies[props.message_id] == body, "same id, other bytes"
            self.got.bodies[props.message_id] = body
            self.got.headers[props.message_id] = dict(props.headers or {})

    def wait_lines(self, lines: int, timeout: float = 30) -> Received:
        wait_for(lambda: self.drain().lines >= lines, timeout, f"{lines} lines on {self.queue}")
        return self.got

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


def delete_queue(url: str, queue: str) -> None:
    with contextlib.suppress(Exception):
        conn = pika.BlockingConnection(pika.URLParameters(url))
        try:
            ch = conn.channel()
            ch.queue_delete(queue)
            ch.queue_delete(queue + ".dead")
        finally:
            conn.close()


class Proxy:
    """A TCP forwarder to the broker that a test can cut (``down``) and restore (``up``).

    It makes "the broker is away" without stopping the shared broker other tests use.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def up(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(16)
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def write_lines(path: Path, start: int, count: int, tag: str = "line") -> bytes:
    data = "".join(
        f"{tag} {i} tests/t.py::test_{i % 97} PASSED\n" for i in range(start, start + count)
    )
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(data)
    return data.encode()

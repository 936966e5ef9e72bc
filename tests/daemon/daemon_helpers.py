"""Helpers for the daemon's tests: a `loglane serve` subprocess, raw clients, waiting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

PYTHON = sys.executable


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def listening(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
        except OSError:
            return False
        return True


class Daemon:
    """A `loglane serve` subprocess on a socket in a short temporary directory."""

    def __init__(self, directory: Path, *extra: str, socket_name: str = "s") -> None:
        self.dir = directory
        self.socket = str(directory / socket_name)
        self.log = directory / "serve.log"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str, wait: bool = True) -> Daemon:
        args = [PYTHON, "-m", "loglane", "serve", "--socket", self.socket, "--log", str(self.log)]
        self.proc = subprocess.Popen(
            [*args, *self.extra, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        if wait:
            wait_for(lambda: self._ready(), what="loglane serve to listen")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            _out, err = self.proc.communicate()
            pytest.fail(f"loglane serve exited {self.proc.returncode}: {err.decode()}")
        return listening(self.socket)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.proc.communicate()
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.proc.communicate()

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def raw_client(sock_path: str, timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)  # blocking: waits while the listen backlog is full
    s.settimeout(timeout)
    return s


def read_messages(s: socket.socket, count: int = 1, timeout: float = 5.0) -> list[bytes]:
    """Read until ``count`` NUL-terminated messages (or EOF); returns them without NULs."""
    s.settimeout(timeout)
    buf = b""
    while buf.count(b"\0") < count:
        data = s.recv(4096)
        if not data:
            break
        buf += data
    return buf.split(b"\0")[:count] if buf.count(b"\0") >= count else buf.split(b"\0")


def read_until_eof(s: socket.socket, timeout: float = 5.0) -> bytes:
    s.settimeout(timeout)
    buf = b""
    while True:
        data = s.recv(4096)
        if not data:
            return buf
        buf += data


def env_with_src() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env

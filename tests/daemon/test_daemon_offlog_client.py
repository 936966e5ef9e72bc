"""The real offlog 0.3.1 client (ProxyFile and Logger) against `loglane serve`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import offlog
import pytest
from daemon_helpers import Daemon

WRITER = r"""
import sys
from offlog import ProxyFile
sock, path, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
f = ProxyFile(path, sock_path=sock)
f.sock.setblocking(True)  # offlog 0.3.1 reorders its own stream when non-blocking sends fill up
for i in range(n):
    # Lines of very different lengths, some longer than offlog's 4096-byte chunks.
    f.write(f"{tag} {i} {'x' * ((i * 977) % 9000)} end\n")
f.close()
"""

LINE = re.compile(rb"^(w\d) (\d+) (x*) end$")


def check_lines(data: bytes, writers: int, per_writer: int) -> None:
    seen: dict[bytes, list[int]] = {}
    for line in data.splitlines():
        m = LINE.match(line)
        assert m is not None, f"torn line: {line[:80]!r}..."
        i = int(m.group(2))
        assert len(m.group(3)) == (i * 977) % 9000
        seen.setdefault(m.group(1), []).append(i)
    assert len(seen) == writers
    for numbers in seen.values():
        assert numbers == list(range(per_writer))  # complete and in each writer's order


def test_offlog_proxyfile_round_trip(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "o.log"
    f = offlog.ProxyFile(str(target), sock_path=daemon.socket)
    f.write(b"bytes line\n")
    f.write("str line\n")
    f.close()
    assert target.read_bytes() == b"bytes line\nstr line\n"


def test_offlog_sees_open_errors(daemon: Daemon, short_dir: Path) -> None:
    with pytest.raises(IsADirectoryError):
        offlog.ProxyFile(str(short_dir), sock_path=daemon.socket)
    with pytest.raises(FileNotFoundError):
        offlog.ProxyFile(str(short_dir / "no" / "such.log"), sock_path=daemon.socket)


def test_offlog_logger_through_loglane(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "logger.log"
    log = offlog.Logger(
        "app", str(target), stdout_level=None, stderr_level=None, offlog_socket_path=daemon.socket
    )
    for i in range(1000):
        log.info("message %d", i)
    log.close()
    lines = target.read_text().splitlines()
    assert len(lines) == 1000 and lines[-1].endswith("app INFO] message 999")


def test_offlog_sees_rotation(daemon: Daemon, short_dir: Path) -> None:
    from daemon_helpers import wait_for

    target = short_dir / "rot.log"
    f = offlog.ProxyFile(str(target), sock_path=daemon.socket)
    f.write(b"a\n")
    target.rename(short_dir / "rot.log.1")
    wait_for(f.check_rotated, what="ROTATED")
    f.close()


def test_offlog_gets_an_error_when_the_server_stops(daemon: Daemon, short_dir: Path) -> None:
    f = offlog.ProxyFile(str(short_dir / "stop.log"), sock_path=daemon.socket)
    f.write(b"before\n")
    assert daemon.stop() == 0
    with pytest.raises(OSError, match="loglane server exited"):
        for _ in range(1000):  # the error shows on a write once the pipe is broken
            f.write(b"after\n")
    assert (short_dir / "stop.log").read_bytes() == b"before\n"


def test_many_offlog_processes_on_one_file_never_tear_a_line(
    daemon: Daemon, short_dir: Path
) -> None:
    target = short_dir / "shared.log"
    n = 400
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, daemon.socket, str(target), f"w{k}", str(n)]
        )
        for k in range(4)
    ]
    for p in procs:
        assert p.wait(60) == 0
    check_lines(target.read_bytes(), 4, n)

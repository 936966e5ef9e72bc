"""`loglane serve` as operators see it: flags, socket file, signals, systemd."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from daemon_helpers import Daemon, raw_client, read_messages, read_until_eof, wait_for

from loglane.daemon import server


def run_serve(*args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loglane", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--socket-mode", "999"], "not an octal mode"),
        (["--socket-mode", "1777"], "mode out of range"),
        (["--group", "no-such-group-xyz"], "no such group"),
        (["--rotate-check", "0"], "must be positive"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str], needle: str) -> None:
    assert server.main(args) == 2


def test_bad_flag_message_is_one_line() -> None:
    result = run_serve("--socket-mode", "abc")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "not an octal mode" in result.stderr


def test_root_must_be_a_directory(short_dir: Path) -> None:
    result = run_serve("--socket", str(short_dir / "s"), "--root", str(short_dir / "nope"))
    assert result.returncode == 2 and "--root" in result.stderr


def test_default_socket_mode_is_0600(daemon: Daemon) -> None:
    mode = os.stat(daemon.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_socket_mode_and_group(daemon_factory: Callable[..., Daemon]) -> None:
    gid = os.getgroups()[-1] if os.getgroups() else os.getgid()
    d = daemon_factory("--socket-mode", "0660", "--group", str(gid))
    st = os.stat(d.socket)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == gid


def test_second_server_is_refused(daemon: Daemon) -> None:
    result = run_serve("--socket", daemon.socket)
    assert result.returncode == 1
    assert "another server is already listening" in result.stderr
    assert daemon.proc is not None and daemon.proc.poll() is None
    s = raw_client(daemon.socket)  # the first one still serves
    s.close()


def test_stale_socket_is_replaced(daemon_factory: Callable[..., Daemon], short_dir: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(short_dir / "s"))
    stale.close()  # the file stays, nobody listens: a server that died
    d = daemon_factory()
    s = raw_client(d.socket)
    s.close()
    assert "removed stale socket" in d.server_log()


def test_a_non_socket_file_is_not_touched(short_dir: Path) -> None:
    path = short_dir / "s"
    path.write_text("precious")
    result = run_serve("--socket", str(path))
    assert result.returncode == 1 and "is not a socket" in result.stderr
    assert path.read_text() == "precious"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_answers_and_exits_0(daemon: Daemon, short_dir: Path, sig: int) -> None:
    target = short_dir / "drain.log"
    s = raw_client(daemon.socket)
    s.sendall(str(target).encode() + b"\0")
    assert read_messages(s) == [b"OK"]
    data = b"".join(b"in flight %06d\n" % i for i in range(20000)) + b"unfinished"
    s.sendall(data)
    assert daemon.stop(sig) == 0
    # Everything sent was written except the unfinished line, which the answer counts.
    assert read_until_eof(s) == (
        b"OSError: loglane server exited; 10 bytes of an unfinished line not written\0"
    )
    assert target.read_bytes() == data[: -len(b"unfinished")]
    assert not os.path.exists(daemon.socket)
    with pytest.raises(OSError):
        s.sendall(b"more\n")


def test_sigterm_while_clients_are_still_sending(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "busy.log"
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
        "s.sendall(sys.argv[2].encode()+b'\\0start\\n')\n"
        "i=0\n"
        "try:\n"
        "    while True:\n"
        "        s.sendall(b'%d %s\\n' % (i, b'x'*50)); i+=1\n"
        "except OSError:\n"
        "    pass\n"
        "print(i)\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, daemon.socket, str(target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]

    def busy() -> bool:
        return target.exists() and target.read_bytes().count(b"start\n") == 3

    wait_for(busy, what="three clients sending")
    wait_for(lambda: target.stat().st_size > 300_000, what="traffic")
    assert daemon.stop() == 0
    sent = [int(p.communicate(timeout=10)[0]) for p in procs]
    lines = target.read_bytes().splitlines()
    assert lines.count(b"start") == 3
    assert all(line.endswith(b"x" * 50) for line in lines if line != b"start")
    # Every line whose send succeeded was written, and no other.
    assert len(lines) - 3 == sum(sent)


def test_notify_ready_and_stopping(daemon_factory: Callable[..., Daemon], short_dir: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(short_dir / "notify"))
    listener.settimeout(10)
    os.environ["NOTIFY_SOCKET"] = str(short_dir / "notify")
    try:
        d = daemon_factory("--notify")
    finally:
        del os.environ["NOTIFY_SOCKET"]
    ready = listener.recv(4096).decode()
    assert "READY=1" in ready.split("\n")
    assert d.proc is not None and f"MAINPID={d.proc.pid}" in ready
    assert d.stop() == 0
    assert listener.recv(4096) == b"STOPPING=1"


def test_notify_abstract_socket(short_dir: Path) -> None:
    from loglane.daemon.notify import notify

    name = f"loglane-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(b"\0" + name.encode())
        listener.settimeout(5)
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert listener.recv(100) == b"READY=1"
    assert not notify("READY=1", {})
    assert not notify("READY=1", {"NOTIFY_SOCKET": str(short_dir / "nobody")})


def test_log_file_gets_the_servers_own_log(daemon: Daemon, short_dir: Path) -> None:
    s = raw_client(daemon.socket)
    s.sendall(b"relative\0")
    read_until_eof(s)
    assert daemon.stop() == 0
    text = daemon.server_log()
    assert "listening on" in text and "not an absolute path" in text and "stopped" in text


def test_in_process_server_round_trip(short_dir: Path) -> None:
    # The server object without a subprocess: bind, serve one client, stop.
    import asyncio
    import threading

    srv = server.Server(str(short_dir / "ip"))
    sock = srv.bind()
    loop = asyncio.new_event_loop()
    task: list[asyncio.Task[None]] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        srv_task = loop.create_task(_serve_without_signals(srv, sock))
        task.append(srv_task)
        loop.run_until_complete(srv_task)

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: os.path.exists(srv.socket_path) and srv._listener is not None)
    c = raw_client(srv.socket_path)
    c.sendall(str(short_dir / "ip.log").encode() + b"\0hello\n")
    c.shutdown(socket.SHUT_WR)
    assert read_until_eof(c) == b"OK\0BYE\0"
    assert srv._stop is not None
    loop.call_soon_threadsafe(srv._stop.set)
    thread.join(10)
    loop.close()
    assert (short_dir / "ip.log").read_bytes() == b"hello\n"
    assert not os.path.exists(srv.socket_path)


async def _serve_without_signals(srv: server.Server, sock: socket.socket) -> None:
    # Signal handlers can only be installed on the main thread; run() minus that.
    import asyncio

    loop = asyncio.get_running_loop()
    loop.add_signal_handler = lambda *a, **k: None  # type: ignore[method-assign]
    await srv.run(sock)


def test_sighup_reopens_the_log(daemon: Daemon, short_dir: Path) -> None:
    moved = short_dir / "serve.log.1"
    daemon.log.rename(moved)
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.log.exists() and "log reopened" in daemon.server_log())
    assert daemon.stop() == 0
    assert "stopped" in daemon.server_log()
    assert "stopped" not in moved.read_text()

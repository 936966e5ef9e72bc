"""loglane's ProxyFile: confirmed open, non-blocking writes, restarts, fallback."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from daemon_helpers import Daemon, wait_for

from loglane.daemon import ProxyFile

WRITER = r"""
import sys
from loglane.daemon import ProxyFile
sock, path, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
f = ProxyFile(path, socket=sock)
for i in range(n):
    f.write(f"{tag} {i} {'y' * ((i * 613) % 7000)} end\n".encode())
assert f.close(), "not everything confirmed"
"""


def numbers(data: bytes, tag: bytes = b"n") -> list[int]:
    out = []
    for line in data.splitlines():
        m = re.fullmatch(rb"%s (\d+)" % tag, line)
        assert m is not None, f"unexpected line {line!r}"
        out.append(int(m.group(1)))
    return out


def test_write_and_close(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "p.log"
    with ProxyFile(target, socket=daemon.socket) as f:
        for i in range(10000):
            f.write(b"n %d\n" % i)
        f.write("n 10000\n")
    assert numbers(target.read_bytes()) == list(range(10001))


def test_open_is_confirmed(daemon_factory: Callable[..., Daemon], short_dir: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ProxyFile(short_dir / "x.log", socket=str(short_dir / "nobody"))
    root = short_dir / "root"
    root.mkdir()
    d = daemon_factory("--root", str(root))
    with pytest.raises(PermissionError, match="outside the server's root"):
        ProxyFile(short_dir / "x.log", socket=d.socket)
    with pytest.raises(IsADirectoryError):
        ProxyFile(root, socket=d.socket)
    with pytest.raises(ValueError):
        ProxyFile(b"/a\0b", socket=d.socket)
    ProxyFile(root / "ok.log", socket=d.socket).close()


def test_relative_path_is_made_absolute(
    daemon: Daemon, short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(short_dir)
    with ProxyFile("rel.log", socket=daemon.socket) as f:
        f.write(b"n 1\n")
    assert (short_dir / "rel.log").read_bytes() == b"n 1\n"


def test_sigterm_restart_loses_and_duplicates_nothing(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "restart.log"
    f = ProxyFile(target, socket=daemon.socket, fallback_after=30)
    total = 0
    for _round in range(3):
        for _ in range(30000):
            f.write(b"n %d\n" % total)
            total += 1
        assert daemon.stop() == 0
        for _ in range(5000):  # written while no daemon listens
            f.write(b"n %d\n" % total)
            total += 1
        daemon.start()
    assert f.close()
    assert numbers(target.read_bytes()) == list(range(total))


def test_unfinished_line_is_resent_whole_after_a_restart(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "half.log"
    f = ProxyFile(target, socket=daemon.socket, fallback_after=30)
    f.write(b"n 0\nhalf of a ")
    assert f.flush()
    assert daemon.stop() == 0
    daemon.start()
    f.write(b"line\nn 1\n")
    assert f.close()
    assert target.read_bytes() == b"n 0\nhalf of a line\nn 1\n"


def test_kill_9_and_restart_client_recovers(
    daemon: Daemon, short_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = short_dir / "k9.log"
    f = ProxyFile(target, socket=daemon.socket, fallback_after=30)
    for i in range(1000):
        f.write(b"n %d\n" % i)
    assert f.flush()
    wait_for(lambda: target.exists() and len(target.read_bytes().splitlines()) == 1000)
    daemon.kill()
    for i in range(1000, 2000):
        f.write(b"n %d\n" % i)
    daemon.start()  # replaces the stale socket the killed daemon left
    for i in range(2000, 3000):
        f.write(b"n %d\n" % i)
    assert f.close()
    got = numbers(target.read_bytes())
    # The daemon had written everything before it died, so nothing is missing here;
    # in general only what sat unread in its socket buffer can be lost.
    assert got == list(range(3000))
    assert "lost without an answer" in capfd.readouterr().err


def test_fallback_to_direct_append_says_so_once(
    daemon: Daemon, short_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    target = short_dir / "fb.log"
    f = ProxyFile(target, socket=daemon.socket, fallback_after=0.2)
    f.write(b"n 0\n")
    assert f.flush()
    assert daemon.stop() == 0
    for i in range(1, 2001):
        f.write(b"n %d\n" % i)
    wait_for(lambda: len(target.read_bytes().splitlines()) == 2001, what="direct appends")
    err = capfd.readouterr().err
    assert err.count("appending to") == 1 and "directly" in err
    daemon.start()  # the client goes back to the daemon by itself
    for i in range(2001, 2101):
        f.write(b"n %d\n" % i)
    assert f.close()
    assert numbers(target.read_bytes()) == list(range(2101))
    assert "is back" in capfd.readouterr().err


def test_close_without_daemon_writes_directly(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "exit.log"
    f = ProxyFile(target, socket=daemon.socket, fallback_after=60)
    assert daemon.stop() == 0
    for i in range(100):
        f.write(b"n %d\n" % i)
    assert f.close(timeout=5)
    assert numbers(target.read_bytes()) == list(range(100))


def test_write_never_blocks_or_raises_and_is_bounded(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "bound.log"
    f = ProxyFile(target, socket=daemon.socket, buffer_limit=64 * 1024, fallback_after=60)
    assert daemon.proc is not None
    daemon.proc.send_signal(19)  # SIGSTOP: the daemon takes nothing
    try:
        for _ in range(20000):
            f.write(b"x" * 100 + b"\n")
        assert f.dropped > 0
        assert f.pending < 64 * 1024 + 2 * 1024 * 1024  # deque + link, within bounds
    finally:
        daemon.proc.send_signal(18)  # SIGCONT
    f.close()
    f.write(b"after close is ignored\n")


def test_many_proxyfile_processes_on_one_file(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "many.log"
    n = 2000
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, daemon.socket, str(target), f"w{k}", str(n)]
        )
        for k in range(4)
    ]
    for p in procs:
        assert p.wait(60) == 0
    seen: dict[bytes, list[int]] = {}
    for line in target.read_bytes().splitlines():
        m = re.fullmatch(rb"(w\d) (\d+) (y*) end", line)
        assert m is not None, f"torn line {line[:60]!r}"
        seen.setdefault(m.group(1), []).append(int(m.group(2)))
    assert sorted(seen) == [b"w0", b"w1", b"w2", b"w3"]
    assert all(v == list(range(n)) for v in seen.values())


def test_rotation_reopens_the_path(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "rot.log"
    f = ProxyFile(target, socket=daemon.socket)
    f.write(b"n 0\n")
    assert f.flush()
    wait_for(lambda: target.exists() and target.read_bytes() == b"n 0\n")
    target.rename(short_dir / "rot.log.1")

    def reopened() -> bool:
        f.write(b"n 1\n")
        f.flush()
        return target.exists()

    wait_for(reopened, what="the client to reopen the rotated path")
    f.write(b"n 2\n")
    assert f.close()
    old = numbers((short_dir / "rot.log.1").read_bytes())
    assert old[0] == 0 and set(old[1:]) <= {1}
    assert numbers(target.read_bytes()) == [1] * (numbers(target.read_bytes()).count(1)) + [2]


def test_persistent_write_error_is_reported_once_and_never_raised(
    daemon: Daemon, capfd: pytest.CaptureFixture[str]
) -> None:
    f = ProxyFile("/dev/full", socket=daemon.socket, fallback_after=60)
    for _ in range(5):
        for i in range(200):
            f.write(b"n %d\n" % i)
        f.flush(timeout=1)
    assert not f.close(timeout=2)  # not confirmed, but no exception either
    err = capfd.readouterr().err
    assert err.count("No space left on device") == 1


def test_kill_9_with_unread_data_loses_nothing(
    daemon: Daemon, short_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # The daemon acknowledges what it wrote (loglane's extension), so what it never read
    # is sent again to the next daemon.
    target = short_dir / "k9b.log"
    f = ProxyFile(target, socket=daemon.socket, fallback_after=60)
    assert daemon.proc is not None
    daemon.proc.send_signal(19)  # SIGSTOP: what we send now sits unread in its socket
    for i in range(2000):
        f.write(b"n %d\n" % i)
    assert f.flush()
    daemon.kill()
    daemon.start()
    for i in range(2000, 2100):
        f.write(b"n %d\n" % i)
    assert f.close()
    assert numbers(target.read_bytes()) == list(range(2100))
    assert "resending the" in capfd.readouterr().err


def test_a_forked_child_writes_through_its_own_connection(daemon: Daemon, short_dir: Path) -> None:
    import os

    target = short_dir / "fork.log"
    f = ProxyFile(target, socket=daemon.socket)
    f.write(b"n 1\n")
    assert f.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            f.write(b"n 2\n")
            code = 0 if f.close() else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    f.write(b"n 3\n")
    assert f.close()
    assert sorted(numbers(target.read_bytes())) == [1, 2, 3]


def test_against_offlogs_own_server(short_dir: Path) -> None:
    # No acknowledgements there: the client notices and speaks plain offlog.
    import signal

    from daemon_helpers import listening

    sock = str(short_dir / "o")
    proc = subprocess.Popen(
        [sys.executable, "-m", "offlog", "-s", sock],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: listening(sock), what="offlog's server")
        target = short_dir / "via-offlog.log"
        f = ProxyFile(target, socket=sock)
        for i in range(1000):
            f.write(b"n %d\n" % i)
        assert f.close()
        assert numbers(target.read_bytes()) == list(range(1000))
        with pytest.raises(FileNotFoundError):
            ProxyFile(short_dir / "no" / "dir.log", socket=sock)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)

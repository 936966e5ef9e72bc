"""`loglane serve` driven by raw sockets: every byte of the protocol, and garbage."""

from __future__ import annotations

import os
import random
import re
import socket
from pathlib import Path

import pytest
from daemon_helpers import Daemon, raw_client, read_messages, read_until_eof, wait_for


def open_file(d: Daemon, path: str | bytes, data: bytes = b"") -> socket.socket:
    s = raw_client(d.socket)
    s.sendall(os.fsencode(path) + b"\0" + data)
    return s


def test_open_write_bye(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "a.log"
    s = open_file(daemon, str(target))
    assert read_messages(s) == [b"OK"]
    s.sendall(b"one\ntwo\n")
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b"BYE\0"
    assert target.read_bytes() == b"one\ntwo\n"


def test_data_in_the_same_packet_as_the_path_and_binary_safe(
    daemon: Daemon, short_dir: Path
) -> None:
    target = short_dir / "b.log"
    payload = bytes(range(256)) + b"\n\0\0tail without newline"
    s = open_file(daemon, str(target), payload)
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b"OK\0BYE\0"
    assert target.read_bytes() == payload


def test_relative_path_is_refused(daemon: Daemon) -> None:
    s = open_file(daemon, "relative.log")
    assert read_until_eof(s) == b"ValueError: not an absolute path\0"


def test_nul_less_flood_is_refused(daemon: Daemon) -> None:
    s = raw_client(daemon.socket)
    try:
        s.sendall(b"/" + b"x" * 10000)
    except BrokenPipeError:  # the server may hang up before we finish
        pass
    assert read_until_eof(s) == b"ValueError: path longer than PATH_MAX\0"


def test_open_error_is_answered(daemon: Daemon, short_dir: Path) -> None:
    s = open_file(daemon, str(short_dir))  # a directory
    reply = read_until_eof(s)
    assert reply.startswith(b"IsADirectoryError: ") and reply.endswith(b"\0")
    s = open_file(daemon, str(short_dir / "missing" / "a.log"))
    assert read_until_eof(s).startswith(b"FileNotFoundError: [Errno 2]")


def test_non_utf8_path(daemon: Daemon, short_dir: Path) -> None:
    target = os.fsencode(short_dir) + b"/\xff\xfelatin1-\xe9.log"
    s = open_file(daemon, target, b"bytes path\n")
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b"OK\0BYE\0"
    with open(target, "rb") as f:
        assert f.read() == b"bytes path\n"


def test_client_closing_before_ok_loses_nothing(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "c.log"
    lines = b"".join(b"line %d\n" % i for i in range(5000)) + b"last, unfinished"
    for _ in range(5):
        s = raw_client(daemon.socket)
        s.sendall(os.fsencode(str(target)) + b"\0" + lines)
        s.close()  # never reads OK
    expected = len(lines) * 5
    wait_for(lambda: target.exists() and target.stat().st_size == expected, what="all data")
    assert target.read_bytes().count(b"last, unfinished") == 5


def test_half_closed_before_path_and_empty_connections(daemon: Daemon, short_dir: Path) -> None:
    s = raw_client(daemon.socket)
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b""
    s = raw_client(daemon.socket)
    s.sendall(b"/tmp/partial-path-without-nul")
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s).startswith(b"ValueError: ")
    for _ in range(20):
        raw_client(daemon.socket).close()
    check_still_serving(daemon, short_dir)


def check_still_serving(d: Daemon, directory: Path) -> None:
    target = directory / "alive.log"
    s = open_file(d, str(target), b"alive\n")
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b"OK\0BYE\0"
    assert target.read_bytes().endswith(b"alive\n")


def test_random_garbage_does_not_hurt(daemon: Daemon, short_dir: Path) -> None:
    rng = random.Random(4)
    for _ in range(30):
        s = raw_client(daemon.socket)
        try:
            s.sendall(bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 6000))))
            if rng.random() < 0.5:
                s.shutdown(socket.SHUT_WR)
                read_until_eof(s)
        except OSError:
            pass
        finally:
            s.close()
    check_still_serving(daemon, short_dir)


def test_whole_lines_only_between_two_clients(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "shared.log"
    a = open_file(daemon, str(target))
    b = open_file(daemon, str(target))
    assert read_messages(a) == [b"OK"] and read_messages(b) == [b"OK"]
    a.sendall(b"A1 start")
    b.sendall(b"B1 whole\n")
    wait_for(lambda: target.read_bytes() == b"B1 whole\n", what="B's line")
    a.sendall(b" end\nA2")
    wait_for(lambda: target.read_bytes() == b"B1 whole\nA1 start end\n", what="A's line")
    a.shutdown(socket.SHUT_WR)
    assert read_until_eof(a) == b"BYE\0"  # the unfinished line is written at close
    assert target.read_bytes() == b"B1 whole\nA1 start end\nA2"
    b.close()


def test_one_clients_write_error_leaves_others_alone(daemon: Daemon, short_dir: Path) -> None:
    full = open_file(daemon, "/dev/full")
    good_target = short_dir / "good.log"
    good = open_file(daemon, str(good_target))
    assert read_messages(full) == [b"OK"] and read_messages(good) == [b"OK"]
    full.sendall(b"no space for this\n")
    assert read_until_eof(full).startswith(b"OSError: [Errno 28] No space left on device")
    good.sendall(b"still fine\n")
    good.shutdown(socket.SHUT_WR)
    assert read_until_eof(good) == b"BYE\0"
    assert good_target.read_bytes() == b"still fine\n"
    assert "No space left" in daemon.server_log()


def test_rotated_is_sent_once_on_rename_and_delete(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "r.log"
    s = open_file(daemon, str(target), b"before\n")
    assert read_messages(s) == [b"OK"]
    os.rename(target, short_dir / "r.log.1")
    assert read_messages(s) == [b"ROTATED"]
    s.sendall(b"after rename\n")  # still goes to the renamed file
    # A new client on the same path gets a new file, not the old descriptor.
    t = open_file(daemon, str(target), b"new file\n")
    t.shutdown(socket.SHUT_WR)
    assert read_until_eof(t) == b"OK\0BYE\0"
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b"BYE\0"  # no second ROTATED
    assert (short_dir / "r.log.1").read_bytes() == b"before\nafter rename\n"
    assert target.read_bytes() == b"new file\n"
    u = open_file(daemon, str(target))
    assert read_messages(u) == [b"OK"]
    target.unlink()
    assert read_messages(u) == [b"ROTATED"]
    u.close()


def test_same_file_shares_one_descriptor(daemon: Daemon, short_dir: Path) -> None:
    target = short_dir / "one.log"
    clients = [open_file(daemon, str(target)) for _ in range(5)]
    clients.append(open_file(daemon, str(short_dir / "." / "one.log")))
    for c in clients:
        assert read_messages(c) == [b"OK"]
    assert daemon.proc is not None
    fd_dir = f"/proc/{daemon.proc.pid}/fd"
    opened = [os.readlink(f"{fd_dir}/{fd}") for fd in os.listdir(fd_dir)]
    assert opened.count(str(target)) == 1
    for c in clients:
        c.close()


@pytest.mark.parametrize("how", ["dotdot", "symlink_dir", "symlink_file"])
def test_root_refuses_escapes(daemon_factory: object, short_dir: Path, how: str) -> None:
    root = short_dir / "root"
    root.mkdir()
    outside = short_dir / "outside"
    outside.mkdir()
    d = daemon_factory("--root", str(root))  # type: ignore[operator]
    if how == "dotdot":
        path = f"{root}/../outside/x.log"
    elif how == "symlink_dir":
        (root / "link").symlink_to(outside)
        path = f"{root}/link/x.log"
    else:
        (root / "x.log").symlink_to(outside / "x.log")
        path = f"{root}/x.log"
    s = open_file(d, path, b"escape\n")
    reply = read_until_eof(s)
    assert reply.startswith(b"PermissionError: ") and b"outside the server's root" in reply
    assert not (outside / "x.log").exists()
    inside = open_file(d, f"{root}/sub/../ok.log", b"inside\n")
    inside.shutdown(socket.SHUT_WR)
    assert read_until_eof(inside) == b"OK\0BYE\0"
    assert (root / "ok.log").read_bytes() == b"inside\n"


def test_a_fifo_does_not_hang_the_server(daemon: Daemon, short_dir: Path) -> None:
    fifo = short_dir / "fifo"
    os.mkfifo(fifo)
    s = open_file(daemon, str(fifo))
    assert read_until_eof(s).startswith(b"OSError: [Errno 6]")  # ENXIO: no reader
    check_still_serving(daemon, short_dir)


def test_many_connections_at_once(daemon: Daemon, short_dir: Path) -> None:
    clients = [open_file(daemon, str(short_dir / f"m{k % 10}.log")) for k in range(200)]
    for k, c in enumerate(clients):
        c.sendall(b"".join(b"client %d line %d\n" % (k, i) for i in range(50)))
    for c in clients:
        c.shutdown(socket.SHUT_WR)
    for c in clients:
        assert read_until_eof(c) == b"OK\0BYE\0"
        c.close()
    total = 0
    for f in short_dir.glob("m*.log"):
        lines = f.read_bytes().splitlines()
        total += len(lines)
        assert all(line.startswith(b"client ") for line in lines)
    assert total == 200 * 50


@pytest.mark.parametrize("seed", range(3))
def test_random_splits_and_interleavings_keep_lines_whole(
    daemon: Daemon, short_dir: Path, seed: int
) -> None:
    rng = random.Random(seed)
    target = short_dir / f"mix{seed}.log"
    clients = [open_file(daemon, str(target)) for _ in range(3)]
    streams = []
    for k in range(3):
        lines = [b"c%d %d %s\n" % (k, i, b"z" * rng.randrange(0, 3000)) for i in range(300)]
        streams.append(b"".join(lines))
    offsets = [0, 0, 0]
    while any(offsets[k] < len(streams[k]) for k in range(3)):
        k = rng.randrange(3)
        if offsets[k] >= len(streams[k]):
            continue
        step = rng.choice([1, 7, 100, 4096, 20000])  # cuts anywhere, mid-line included
        clients[k].sendall(streams[k][offsets[k] : offsets[k] + step])
        offsets[k] += step
    for c in clients:
        c.shutdown(socket.SHUT_WR)
    for c in clients:
        assert read_until_eof(c) == b"OK\0BYE\0"
    seen: dict[bytes, list[int]] = {}
    for line in target.read_bytes().splitlines():
        m = re.fullmatch(rb"(c\d) (\d+) z*", line)
        assert m is not None, f"torn line {line[:40]!r}"
        seen.setdefault(m.group(1), []).append(int(m.group(2)))
    assert seen == {b"c0": list(range(300)), b"c1": list(range(300)), b"c2": list(range(300))}


def test_acknowledgements_on_request(daemon: Daemon, short_dir: Path) -> None:
    from loglane.daemon import protocol

    target = short_dir / "ack.log"
    s = raw_client(daemon.socket)
    s.sendall(protocol.ACK_MARKER + str(target).encode() + b"\0one\ntw")
    assert read_messages(s, 2) == [b"OK", b"ACK 4"]  # "tw" is not a whole line yet
    s.sendall(b"o\n")
    assert read_messages(s) == [b"ACK 8"]
    s.sendall(b"end")
    s.shutdown(socket.SHUT_WR)
    assert read_until_eof(s) == b"ACK 11\0BYE\0"
    assert target.read_bytes() == b"one\ntwo\nend"

"""DaemonSink driven directly (start/write/flush/close) and through loglane.Logger."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from daemon_helpers import Daemon, wait_for

from loglane.daemon import DaemonSink
from loglane.record import INFO, Record
from loglane.sinks.base import SinkBacklogged

DAY = 86400 * 10**9


def records(count: int, start: int = 0, ts: int | None = None) -> tuple[list[Record], list[str]]:
    now = time.time_ns() if ts is None else ts
    recs = [Record(INFO, now, f"n {start + i}", (), None, None, "t") for i in range(count)]
    return recs, [r.msg for r in recs]


def write(sink: DaemonSink, recs: Sequence[Record], lines: Sequence[str]) -> None:
    sink.write(recs, lines)
    sink.flush()


def numbers(path: Path) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(rb"^n (\d+)$", path.read_bytes(), re.M)]


def today(base: Path) -> Path:
    return base.with_name(f"{base.stem}-{time.strftime('%Y-%m-%d')}{base.suffix}")


def test_daily_file_through_the_daemon(daemon: Daemon, short_dir: Path) -> None:
    base = short_dir / "app.log"
    sink = DaemonSink(base, socket=daemon.socket)
    sink.start()
    write(sink, *records(5000))
    sink.close()
    assert numbers(today(base)) == list(range(5000))


def test_records_go_to_their_own_days_file(daemon: Daemon, short_dir: Path) -> None:
    base = short_dir / "app.log"
    sink = DaemonSink(base, socket=daemon.socket, utc=True)
    ts = 1_700_000_000 * 10**9  # 2023-11-14 UTC
    a, la = records(2, 0, ts)
    b, lb = records(2, 2, ts + DAY)
    c, lc = records(1, 4, ts + 2 * DAY)
    write(sink, [*a, *b, *a], [*la, *lb, *la])
    write(sink, c, lc)  # a third day: the oldest connection is closed
    sink.close()
    assert numbers(short_dir / "app-2023-11-14.log") == [0, 1, 0, 1]
    assert numbers(short_dir / "app-2023-11-15.log") == [2, 3]
    assert numbers(short_dir / "app-2023-11-16.log") == [4]


def test_configuration_mistakes_raise_at_construction(short_dir: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        DaemonSink(short_dir / "missing" / "app.log")
    with pytest.raises(ValueError):
        DaemonSink(short_dir / "app.log", buffer_limit=0)
    with pytest.raises(ValueError):
        DaemonSink(short_dir / "app.log", level="LOUD")


def test_restart_loses_and_duplicates_nothing(daemon: Daemon, short_dir: Path) -> None:
    base = short_dir / "r.log"
    sink = DaemonSink(base, socket=daemon.socket, fallback_after=30)
    sink.start()
    n = 0
    for _ in range(3):
        for _ in range(20):
            write(sink, *records(500, n))
            n += 500
        assert daemon.stop() == 0
        write(sink, *records(500, n))  # no daemon: kept
        n += 500
        daemon.start()
    write(sink, *records(10, n))
    n += 10
    sink.close()
    assert numbers(today(base)) == list(range(n))


def test_fallback_then_back_to_the_daemon(
    daemon: Daemon, short_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    base = short_dir / "f.log"
    sink = DaemonSink(base, socket=daemon.socket, fallback_after=0.1)
    write(sink, *records(10, 0))
    assert daemon.stop() == 0
    write(sink, *records(10, 10))  # buffered: not down long enough yet

    def written_directly() -> bool:
        sink.flush()  # the writer calls flush after every cycle
        return today(base).exists() and len(numbers(today(base))) == 20

    wait_for(written_directly, what="the fallback to append the buffered lines")
    assert capfd.readouterr().err.count("directly") == 1
    daemon.start()

    def through_daemon_again() -> bool:
        sink.flush()  # reconnect attempts happen on the writer's calls
        return all(link.sock is not None for link in sink._links.values())

    wait_for(through_daemon_again, what="reconnect")
    write(sink, *records(10, 20))
    sink.close()
    assert numbers(today(base)) == list(range(30))


def test_refused_open_is_reported_as_backlog(daemon_factory: object, short_dir: Path) -> None:
    root = short_dir / "root"
    root.mkdir()
    d = daemon_factory("--root", str(root))  # type: ignore[operator]
    sink = DaemonSink(short_dir / "outside.log", socket=d.socket, fallback_after=60)
    with pytest.raises(SinkBacklogged, match="outside the server's root"):
        sink.write(*records(3))
    assert sink.pending > 0  # kept, not lost
    sink.close()  # at exit it appends the file itself rather than lose the lines
    assert numbers(today(short_dir / "outside.log")) == [0, 1, 2]


def test_after_fork_in_child_forgets_the_parents_connections(
    daemon: Daemon, short_dir: Path
) -> None:
    base = short_dir / "fork.log"
    sink = DaemonSink(base, socket=daemon.socket)
    write(sink, *records(3, 0))
    pid = os.fork()
    if pid == 0:  # the child: its own connection, the parent's untouched
        try:
            sink.after_fork_in_child()
            write(sink, *records(3, 100))
            sink.close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    write(sink, *records(3, 3))
    sink.close()
    assert sorted(numbers(today(base))) == [0, 1, 2, 3, 4, 5, 100, 101, 102]


def test_logger_with_socket_end_to_end(daemon: Daemon, short_dir: Path) -> None:
    loglane = pytest.importorskip("loglane.logger")
    base = short_dir / "e2e.log"
    log = loglane.Logger("e2e", base, socket=daemon.socket, stdout_level=None, stderr_level=None)
    for i in range(20000):
        log.info("n %d", i)
    assert log.close()
    lines = today(base).read_text().splitlines()
    assert len(lines) == 20000
    assert lines[-1].endswith("n 19999")


def test_logger_survives_a_daemon_restart(daemon: Daemon, short_dir: Path) -> None:
    loglane = pytest.importorskip("loglane.logger")
    base = short_dir / "e2e-restart.log"
    log = loglane.Logger("e2e", base, socket=daemon.socket, stdout_level=None, stderr_level=None)
    for i in range(5000):
        log.info("n %d", i)
    assert log.flush()
    assert daemon.stop() == 0
    daemon.start()
    for i in range(5000, 10000):
        log.info("n %d", i)
    assert log.close()
    got = [int(line.rsplit(" ", 1)[1]) for line in today(base).read_text().splitlines()]
    assert got == list(range(10000))


def test_unsendable_path_raises_at_construction(short_dir: Path) -> None:
    with pytest.raises(ValueError, match="PATH_MAX"):
        DaemonSink(short_dir / ("x" * 5000))
    with pytest.raises(ValueError, match="socket path longer"):
        DaemonSink(short_dir / "a.log", socket="/tmp/" + "s" * 200)


def test_nowhere_to_write_keeps_a_bounded_buffer(
    daemon: Daemon, short_dir: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    gone = short_dir / "gone"
    gone.mkdir()
    sink = DaemonSink(gone / "app.log", socket=daemon.socket, buffer_limit=2000)
    gone.rmdir()  # neither the daemon nor the sink itself can open the file now
    for k in range(50):
        with pytest.raises(SinkBacklogged):
            sink.write(*records(10, k * 10))
        assert sink.pending <= 2000
    sink.close()
    err = capfd.readouterr().err
    assert err.count("dropping the oldest lines") == 1
    assert err.count("refused") == 1


def test_kill_9_loses_nothing_the_daemon_had_not_written(daemon: Daemon, short_dir: Path) -> None:
    base = short_dir / "k9.log"
    sink = DaemonSink(base, socket=daemon.socket, fallback_after=30)
    write(sink, *records(100, 0))
    wait_for(lambda: today(base).exists() and len(numbers(today(base))) == 100)
    assert daemon.proc is not None
    daemon.proc.send_signal(19)  # SIGSTOP: the next lines sit unread in its socket
    write(sink, *records(100, 100))
    daemon.kill()
    daemon.start()
    write(sink, *records(100, 200))
    sink.close()
    assert numbers(today(base)) == list(range(300))

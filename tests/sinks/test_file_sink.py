"""Daily files: names from the records' own time, DST, shared descriptors, recreation,
retention and gzip, disk errors."""

from __future__ import annotations

import errno
import gzip
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import loglane
from loglane import delivery
from loglane.sinks import file as file_mod
from loglane.sinks.daily import DailyNames
from loglane.sinks.housekeeping import Housekeeper, housekeep

NS = 1_000_000_000


def utc_ns(text: str) -> int:
    """'2026-11-22 23:59:59.999' (UTC) -> ns since the epoch."""
    import datetime

    dt = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
    return int(dt.timestamp() * 1000) * 1_000_000


class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


@pytest.fixture
def tz() -> Iterator[Callable[[str], None]]:
    """Switch the process's local time zone for one test."""
    old = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    yield use
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def file_logger(path: Path, **kw: Any) -> loglane.Logger:
    return loglane.Logger("f", path, stdout_level=None, stderr_level=None, **kw)


def test_a_record_stamped_before_midnight_goes_to_that_days_file_even_when_written_after(
    tmp_path: Path,
) -> None:
    clock = Clock(utc_ns("2026-11-22 23:59:59.999"))
    log = file_logger(tmp_path / "logs" / "app.log", clock=clock, utc=True)
    log.info("late on the 22nd")
    clock.ns = utc_ns("2026-11-23 00:00:00.001")
    log.info("early on the 23rd")
    clock.ns = utc_ns("2026-11-22 23:59:59.999")  # a record from another thread, late
    log.info("also the 22nd")
    log.close()
    day1 = (tmp_path / "logs" / "app-2026-11-22.log").read_text().splitlines()
    day2 = (tmp_path / "logs" / "app-2026-11-23.log").read_text().splitlines()
    assert [ln.split("] ")[1] for ln in day1] == ["late on the 22nd", "also the 22nd"]
    assert [ln.split("] ")[1] for ln in day2] == ["early on the 23rd"]
    assert day1[0].startswith("[2026-11-22 23:59:59.999 f INFO]")


def test_local_time_and_dst_days_are_one_file_each(
    tmp_path: Path, tz: Callable[[str], None]
) -> None:
    tz("Europe/Berlin")
    # 2026-03-29 has 23 hours in Berlin, 2026-10-25 has 25.
    clock = Clock(0)
    log = file_logger(tmp_path / "app.log", clock=clock)
    for day, hours in (("2026-03-29", 23), ("2026-10-25", 25)):
        start = int(time.mktime(time.strptime(day, "%Y-%m-%d")))
        for h in range(hours):
            clock.ns = (start + h * 3600 + 1800) * NS
            log.info("hour %d", h)
        clock.ns = (start + hours * 3600) * NS  # the next local midnight
        log.info("next day")
    log.close()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["app-2026-03-29.log", "app-2026-03-30.log",
                     "app-2026-10-25.log", "app-2026-10-26.log"]
    assert len((tmp_path / "app-2026-03-29.log").read_text().splitlines()) == 23
    assert len((tmp_path / "app-2026-10-25.log").read_text().splitlines()) == 25
    # the line shows local wall time: 02:30 does not exist on 29 March, 03:30 does
    text = (tmp_path / "app-2026-03-29.log").read_text()
    assert "2026-03-29 01:30:00.000" in text and "2026-03-29 03:30:00.000" in text
    assert "2026-03-29 02:30" not in text


def test_daily_names_cover_year_end_and_utc() -> None:
    names = DailyNames("/x/app.log", utc=True)
    assert names.path_for(utc_ns("2026-12-31 23:59:59.999")) == "/x/app-2026-12-31.log"
    assert names.path_for(utc_ns("2027-01-01 00:00:00.000")) == "/x/app-2027-01-01.log"
    assert DailyNames("/x/noext", utc=True).path_for(0) == "/x/noext-1970-01-01"


def test_directories_are_created(tmp_path: Path) -> None:
    log = file_logger(tmp_path / "a" / "b" / "c" / "app.log")
    log.info("deep")
    log.close()
    assert len(list((tmp_path / "a" / "b" / "c").iterdir())) == 1


def open_descriptors_to(path_prefix: str) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(path_prefix):
                count += 1
        except OSError:
            pass
    return count


def test_one_descriptor_per_file_however_many_loggers(tmp_path: Path) -> None:
    loggers = [file_logger(tmp_path / "shared.log") for _ in range(300)]
    for i, log in enumerate(loggers):
        log.info("from %d", i)
    for log in loggers:
        log.flush()
    assert open_descriptors_to(str(tmp_path)) == 1
    for log in loggers:
        log.close()
    assert open_descriptors_to(str(tmp_path)) == 0
    (path,) = tmp_path.iterdir()
    assert len(path.read_text().splitlines()) == 300


def test_a_file_deleted_or_moved_away_is_created_again(tmp_path: Path) -> None:
    log = file_logger(tmp_path / "app.log", clock=Clock(utc_ns("2026-11-22 12:00:00")),
                      utc=True)
    path = tmp_path / "app-2026-11-22.log"
    log.info("one")
    log.flush()
    path.rename(tmp_path / "moved.log")
    log.info("two")
    log.flush()
    path.unlink()
    log.info("three")
    log.close()
    assert (tmp_path / "moved.log").read_text().endswith("] one\n")
    assert path.read_text().endswith("] three\n")


def test_retention_and_gzip_of_past_days(tmp_path: Path) -> None:
    for day in ("2026-11-01", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"):
        (tmp_path / f"app-{day}.log").write_text(f"old {day}\n")
    (tmp_path / "app-notadate.log").write_text("keep me\n")
    (tmp_path / "other-2026-11-01.log").write_text("not ours\n")
    log = file_logger(tmp_path / "app.log", clock=Clock(utc_ns("2026-11-22 08:00:00")),
                      utc=True, retention_days=3, compress=True)
    log.info("today")
    log.close()
    assert Housekeeper.get().wait_idle()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["app-2026-11-20.log.gz", "app-2026-11-21.log.gz", "app-2026-11-22.log",
                     "app-notadate.log", "other-2026-11-01.log"]
    assert gzip.decompress((tmp_path / "app-2026-11-21.log.gz").read_bytes()) == \
        b"old 2026-11-21\n"


def test_a_late_record_for_a_compressed_day_is_appended_as_a_second_member(
    tmp_path: Path,
) -> None:
    (tmp_path / "app-2026-11-21.log").write_text("first\n")
    assert housekeep(str(tmp_path / "app-"), ".log", "2026-11-22", None, True) == [
        "compressed app-2026-11-21.log"]
    (tmp_path / "app-2026-11-21.log").write_text("late\n")
    housekeep(str(tmp_path / "app-"), ".log", "2026-11-22", None, True)
    assert gzip.decompress((tmp_path / "app-2026-11-21.log.gz").read_bytes()) == b"first\nlate\n"


def test_housekeeping_runs_off_the_writer_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from loglane.sinks import housekeeping

    threads: list[str] = []
    real = housekeeping._gzip

    def spy(path: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(housekeeping, "_gzip", spy)
    (tmp_path / "app-2026-11-21.log").write_text("old\n")
    log = file_logger(tmp_path / "app.log", clock=Clock(utc_ns("2026-11-22 08:00:00")),
                      utc=True, compress=True)
    log.info("x")
    log.close()
    assert Housekeeper.get().wait_idle()
    assert threads == ["loglane-housekeeper"]


def test_disk_full_mid_write_is_retried_without_loss_or_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    wait_until: Callable[..., None],
) -> None:
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.005)
    real_write = os.write
    state = {"failures": 3, "partial": True}

    def flaky_write(fd: int, data: Any) -> int:
        if state["failures"] > 0 and os.readlink(f"/proc/self/fd/{fd}").startswith(
            str(tmp_path)
        ):
            if state["partial"]:  # first a short write, as a filling disk gives
                state["partial"] = False
                return int(real_write(fd, bytes(data[:7])))
            state["failures"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(real_write(fd, data))

    monkeypatch.setattr(os, "write", flaky_write)
    other: list[str] = []
    log = loglane.Logger("full", tmp_path / "app.log", stdout_level=None, stderr_level=None,
                         sinks=[loglane.CallableSink(other.append)])
    for i in range(50):
        log.info("line %d", i)
    log.close()
    (path,) = tmp_path.iterdir()
    got = [ln.split("] ")[1] for ln in path.read_text().splitlines()]
    assert got == [f"line {i}" for i in range(50)]
    assert len(other) == 50
    assert log.stats()["errors"] >= 1
    assert "No space left on device" in capsys.readouterr().err


def test_file_size_limit_is_a_real_write_error_and_other_sinks_continue(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the kernel refuse writes past a size (EFBIG): a real disk error.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        import loglane
        out = []
        log = loglane.Logger("big", {str(tmp_path / "app.log")!r}, stdout_level=None,
                             stderr_level=None, sinks=[loglane.CallableSink(out.append)])
        for i in range(200):
            log.info("line %d %s", i, "x" * 40)
        log.close(timeout=20)
        print(len(out), log.stats()["errors"] > 0)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["200", "True"]
    assert "File too large" in proc.stderr
    (path,) = tmp_path.iterdir()
    assert path.stat().st_size <= 2000


@pytest.fixture
def immutable() -> Iterator[Callable[[Path, bool], None]]:
    """``chattr +i``: a permission that even root cannot bypass (ext4 and most filesystems)."""
    marked: list[Path] = []

    def set_flag(path: Path, on: bool) -> None:
        proc = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"chattr is not usable here: {proc.stderr.decode().strip()}")
        if on:
            marked.append(path)

    yield set_flag
    for path in marked:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def test_unwritable_directory_raises_at_construction(
    tmp_path: Path, immutable: Callable[[Path, bool], None]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    immutable(locked, True)
    with pytest.raises(ValueError, match="is not writable: Operation not permitted"):
        loglane.FileSink(locked / "app.log")


def locked_after_one_line(
    tmp_path: Path, immutable: Callable[[Path, bool], None], monkeypatch: pytest.MonkeyPatch,
    *sinks: loglane.Sink,
) -> tuple[loglane.Logger, Path]:
    """A logger with fast retries whose file holds "before" and then refuses every write."""
    monkeypatch.setattr(delivery, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(delivery, "BACKOFF_MAX", 0.002)
    log = loglane.Logger("locked", tmp_path / "app.log", stdout_level=None, stderr_level=None,
                         clock=Clock(utc_ns("2026-11-22 12:00:00")), utc=True, sinks=sinks)
    log.info("before")
    log.flush()
    path = tmp_path / "app-2026-11-22.log"
    immutable(path, True)
    return log, path


def messages_in(path: Path) -> list[str]:
    return [ln.split("] ")[1] for ln in path.read_text().splitlines()]


def test_permission_lost_while_running_is_retried_and_nothing_is_lost(
    tmp_path: Path, immutable: Callable[[Path, bool], None], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], wait_until: Callable[..., None],
) -> None:
    other: list[str] = []
    log, path = locked_after_one_line(tmp_path, immutable, monkeypatch,
                                      loglane.CallableSink(other.append))
    for i in range(20):
        log.info("while locked %d", i)
    wait_until(lambda: log.stats()["errors"] > 0, what="the file sink to fail")
    assert len(other) == 21  # the other sink kept every line meanwhile
    immutable(path, False)
    log.close()
    assert messages_in(path) == ["before"] + [f"while locked {i}" for i in range(20)]
    assert "Operation not permitted" in capsys.readouterr().err


def test_lines_reach_the_file_at_the_cycles_flush_or_once_flush_bytes_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(file_mod, "FLUSH_BYTES", 100)
    sink = loglane.FileSink(tmp_path / "g.log", utc=True)
    ts = utc_ns("2026-11-22 12:00:00")

    def rec(*lines: str) -> tuple[list[tuple[Any, ...]], list[str]]:
        return [(20, ts, "m", (), None, None, "g")] * len(lines), list(lines)

    path = tmp_path / "g-2026-11-22.log"
    sink.write(*rec("one", "two"))  # gathered: one write per cycle, not per batch
    assert not path.exists()
    sink.write(*rec("x" * 100))  # past FLUSH_BYTES: written before the flush
    assert path.read_text().splitlines() == ["one", "two", "x" * 100]
    sink.write(*rec("three"))
    sink.flush()
    assert path.read_text().splitlines()[-1] == "three"
    # In a forked child, what the parent had gathered is the parent's to write.
    sink.write(*rec("parent's"))
    sink.after_fork_in_child()
    sink.write(*rec("child's"))
    sink.close()
    assert path.read_text().splitlines() == ["one", "two", "x" * 100, "three", "child's"]


def test_a_failed_flush_is_retried_without_a_new_log_call(
    tmp_path: Path, immutable: Callable[[Path, bool], None], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], wait_until: Callable[..., None],
) -> None:
    log, path = locked_after_one_line(tmp_path, immutable, monkeypatch)
    for i in range(5):
        log.info("while locked %d", i)
    wait_until(lambda: log.stats()["errors"] > 0, what="the file sink to fail")
    immutable(path, False)
    wait_until(lambda: len(messages_in(path)) == 6, what="the retry to write the held lines")
    assert messages_in(path) == ["before"] + [f"while locked {i}" for i in range(5)]
    log.close()
    assert messages_in(path) == ["before"] + [f"while locked {i}" for i in range(5)]
    assert "Operation not permitted" in capsys.readouterr().err


def test_a_long_outage_with_batches_arriving_keeps_every_line_once_and_in_order(
    tmp_path: Path, immutable: Callable[[Path, bool], None], monkeypatch: pytest.MonkeyPatch,
    wait_until: Callable[..., None],
) -> None:
    log, path = locked_after_one_line(tmp_path, immutable, monkeypatch)
    expected = ["before"]
    for batch in range(6):  # each batch reaches the sink on a retry while the old bytes wait
        errors = log.stats()["errors"]
        for i in range(50):
            log.info("batch %d line %d", batch, i)
            expected.append(f"batch {batch} line {i}")
        wait_until(lambda e=errors: log.stats()["errors"] > e + 1, what="more failed retries")
    sink_state = log._channel.states[0]
    assert len(sink_state.held_records) > 0  # the newer records wait with the writer, bounded
    immutable(path, False)
    log.close()
    assert messages_in(path) == expected
    stats = log.stats()
    assert (stats["lost"], stats["dropped"]) == (0, 0)


def test_a_file_still_failing_at_close_says_so_and_releases_its_descriptors(
    tmp_path: Path, immutable: Callable[[Path, bool], None], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(delivery, "CLOSE_RETRY", 0.05)
    before = file_mod.FILES.count()
    log, path = locked_after_one_line(tmp_path, immutable, monkeypatch)
    for i in range(5):
        log.info("while locked %d", i)
    assert log.close(timeout=20)
    assert file_mod.FILES.count() == before  # nothing left open behind the failure
    err = capsys.readouterr().err
    assert "still failing at close" in err or "closing sink FileSink" in err
    immutable(path, False)
    assert path.read_text().count("\n") == 1  # only "before" reached the file


def test_registry_is_empty_after_all_sinks_close(tmp_path: Path) -> None:
    before = file_mod.FILES.count()
    log = file_logger(tmp_path / "r.log")
    log.info("x")
    log.close()
    assert file_mod.FILES.count() == before

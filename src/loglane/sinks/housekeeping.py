"""Retention and gzip of past daily files, on a thread of their own.

Compressing yesterday's file can take seconds; doing it on the writer thread would stall every
logger in the process, so the writer only submits a job here. A day is compressed once no
sink in the process has it open and it is older than the newest day written. A late record
for a compressed day creates a plain file again; the next pass appends it to the ``.gz`` as a
second gzip member (gzip readers concatenate members), so nothing is lost.
"""

from __future__ import annotations

import datetime
import gzip
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable
from queue import SimpleQueue

_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})(\.gz)?")

Job = tuple[str, str, str, int | None, bool, Callable[[str], bool]]


def housekeep(
    prefix: str,
    suffix: str,
    newest_day: str,
    retention_days: int | None,
    compress: bool,
    is_open: Callable[[str], bool] = lambda path: False,
) -> list[str]:
    """Delete days older than the retention, gzip closed days; return what it did."""
    directory, stem = os.path.split(prefix)
    done: list[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return done
    newest = datetime.date.fromisoformat(newest_day)
    oldest_kept = (
        None if retention_days is None else newest - datetime.timedelta(days=retention_days - 1)
    )
    for name in sorted(names):
        if not (name.startswith(stem) and (name.endswith(suffix) or name.endswith(suffix + ".gz"))):
            continue
        middle = name[len(stem):]
        if middle.endswith(".gz"):
            middle = middle[:-3]
        middle = middle[: len(middle) - len(suffix)] if suffix else middle
        m = _DAY.fullmatch(middle)
        if m is None:
            continue
        try:
            day = datetime.date.fromisoformat(m.group(1))
        except ValueError:
            continue
        path = os.path.join(directory, name)
        if oldest_kept is not None and day < oldest_kept:
            _quietly(os.unlink, path)
            done.append(f"deleted {name}")
        elif (compress and day < newest and not name.endswith(".gz") and not is_open(path)
              and _gzip(path)):
            done.append(f"compressed {name}")
    return done


def _gzip(path: str) -> bool:
    target = path + ".gz"
    tmp = path + ".gz.tmp"
    try:
        with open(path, "rb") as src, gzip.open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if os.path.exists(target):  # a late record reopened the day: add a second member
            with open(tmp, "rb") as member, open(target, "ab") as out:
                shutil.copyfileobj(member, out, 1 << 20)
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
        os.unlink(path)
        return True
    except OSError as exc:
        _quietly(os.unlink, tmp)
        print(f"loglane: could not compress {path}: {exc}", file=sys.stderr)
        return False


def _quietly(fn: Callable[[str], object], path: str) -> None:
    try:
        fn(path)
    except OSError:
        pass


class Housekeeper:
    """A lazily started daemon thread running ``housekeep`` jobs in order."""

    _instance: Housekeeper | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._jobs: SimpleQueue[Job | threading.Event] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="loglane-housekeeper",
                                        daemon=True)
        self._thread.start()

    @classmethod
    def get(cls) -> Housekeeper:
        with cls._lock:
            if cls._instance is None or not cls._instance._thread.is_alive():
                cls._instance = Housekeeper()
            return cls._instance

    def submit(self, prefix: str, suffix: str, newest_day: str, retention_days: int | None,
               compress: bool, is_open: Callable[[str], bool]) -> None:
        self._jobs.put((prefix, suffix, newest_day, retention_days, compress, is_open))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For tests and shutdown: return once every job submitted so far has run."""
        done = threading.Event()
        self._jobs.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if isinstance(job, threading.Event):
                job.set()
                continue
            try:
                housekeep(*job)
            except Exception as exc:
                print(f"loglane: housekeeping failed: {exc!r}", file=sys.stderr)


def _after_fork_in_child() -> None:
    # The parent's housekeeper thread does not exist in the child; nor may its lock be free.
    Housekeeper._lock = threading.Lock()
    Housekeeper._instance = None


os.register_at_fork(after_in_child=_after_fork_in_child)

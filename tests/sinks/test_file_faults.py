"""Files under real faults: a deleted directory, a disk that fills and stays full or frees up.
Whatever happens, every record is written once or counted lost, the file holds exactly the
records reported written, and no torn half line is left behind."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import loglane


def messages(path: Path) -> list[str]:
    return [ln.split("] ", 1)[1] for ln in path.read_text().splitlines()]


def test_a_deleted_log_directory_is_created_again_and_nothing_is_lost(
    tmp_path: Path, capsys: Any,
) -> None:
    logs = tmp_path / "logs" / "app"
    log = loglane.Logger("rm", logs / "app.log", stdout_level=None, stderr_level=None)
    for i in range(500):
        log.info("before %d", i)
    assert log.flush(timeout=10)
    shutil.rmtree(tmp_path / "logs")  # rm -r of the whole tree, while the file is open
    for i in range(500):
        log.info("after %d", i)
    assert log.close(timeout=10)
    (path,) = logs.iterdir()
    assert messages(path) == [f"after {i}" for i in range(500)]
    stats = log.stats()
    assert (stats["written"], stats["lost"], stats["pending"]) == (1000, 0, 0)
    assert "works again" not in capsys.readouterr().err


FULL_DISK = textwrap.dedent("""
    import json, resource, signal, sys, threading
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
    limit, lines, free_after = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    # RLIMIT_FSIZE is a real kernel limit: writes past it are short, then fail, as on a disk
    # that fills up. Raising the soft limit again is the disk being freed.
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    import loglane
    from loglane import delivery
    delivery.BACKOFF_MAX = 0.05
    delivery.CLOSE_RETRY = 0.5
    log = loglane.Logger("full", sys.argv[1], stdout_level=None, stderr_level=None)
    for i in range(lines):
        log.info("line %d %s", i, "x" * (i % 57))
        if i == lines // 2 and free_after >= 0:
            log.flush(timeout=5)  # the disk is full by now; free it while records wait
            threading.Timer(free_after, resource.setrlimit,
                            (resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)).start()
    log.close(timeout=30)
    stats = log.stats()
    print(json.dumps({k: stats[k] for k in ("written", "lost", "pending", "errors")}))
""")


def run_full_disk(tmp_path: Path, limit: int, lines: int, free_after: float) -> dict[str, int]:
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path / "app.log"), str(limit), str(lines),
         str(free_after)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    stats: dict[str, int] = json.loads(proc.stdout)
    assert stats["errors"] > 0, "the limit was never reached"
    return stats


def test_a_disk_that_stays_full_loses_only_what_is_counted_and_leaves_no_torn_line(
    tmp_path: Path,
) -> None:
    stats = run_full_disk(tmp_path, limit=20_000, lines=2000, free_after=-1)
    (path,) = tmp_path.iterdir()
    data = path.read_bytes()
    assert data.endswith(b"\n")  # the record cut in two was taken out again
    got = messages(path)
    assert stats["written"] == len(got) > 0
    assert stats["written"] + stats["lost"] == 2000 and stats["pending"] == 0
    assert got == [f"line {i} {'x' * (i % 57)}" for i in range(len(got))]


def test_a_disk_freed_while_records_wait_gets_every_record_once_in_order(
    tmp_path: Path,
) -> None:
    stats = run_full_disk(tmp_path, limit=20_000, lines=2000, free_after=0.3)
    (path,) = tmp_path.iterdir()
    assert messages(path) == [f"line {i} {'x' * (i % 57)}" for i in range(2000)]
    assert (stats["written"], stats["lost"], stats["pending"]) == (2000, 0, 0)

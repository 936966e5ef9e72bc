"""The accumulate part of ``loglane demo``: random test logs, condensed, summary printed."""

from __future__ import annotations

import os
import random
import time
from typing import TextIO

from loglane.accumulate.cli import accumulate_files
from loglane.accumulate.results_cli import format_text
from loglane.accumulate.store import Store, StoreError
from loglane.accumulate.summary import load

_TESTS = {  # name -> chance of failing: some always pass, some flake, one is broken
    "test_login": 0.0,
    "test_logout": 0.0,
    "test_search": 0.05,
    "test_upload_large_file": 0.3,
    "test_checkout": 0.1,
    "test_password_reset": 0.0,
    "test_api_rate_limit": 0.5,
    "test_db_migration": 1.0,
    "test_cache_eviction": 0.15,
    "test_websocket_reconnect": 0.2,
}
_NOISE = (
    "connecting to db at 10.0.0.{n}",
    "fixture setup took {n} ms",
    "GET /api/items?page={n} -> 200",
    "retrying after timeout ({n} ms)",
    "cache hit ratio 0.{n}",
)


def write_logs(workdir: str, files: int, rng: random.Random) -> list[str]:
    """Write ``files`` test logs in the `Test: name` / `Result: PASS|FAIL` style, with mtimes
    spread over the last few hours so the failures-over-time graph has a shape."""
    os.makedirs(workdir, exist_ok=True)
    now = time.time()
    paths = []
    for i in range(files):
        lines = [f"# run {i} on host ci-{rng.randrange(1, 5)}"]
        for name in rng.sample(sorted(_TESTS), rng.randint(4, len(_TESTS))):
            lines.append(f"Test: {name}")
            for _ in range(rng.randint(0, 4)):
                lines.append(rng.choice(_NOISE).format(n=rng.randrange(1, 999)))
            lines.append(f"Result: {'FAIL' if rng.random() < _TESTS[name] else 'PASS'}")
        path = os.path.join(workdir, f"run-{i:03d}.log")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        stamp = now - (files - i) * rng.uniform(200, 900)
        os.utime(path, (stamp, stamp))
        paths.append(path)
    return paths


def run(out: TextIO, *, workdir: str, files: int = 20) -> int:
    """Generate ``files`` random test logs in ``workdir``, accumulate them (no broker) into
    ``workdir``/results.db, print the summary to ``out``. Returns an exit status."""
    rng = random.Random()
    paths = write_logs(os.path.join(workdir, "testlogs"), files, rng)
    url = os.path.join(workdir, "results.db")
    try:
        with Store(url) as store:
            started = time.perf_counter()
            done = accumulate_files(paths, store)
            count, lines = done.files, done.lines
            took = time.perf_counter() - started
            summary = load(store)
    except (OSError, StoreError) as exc:
        print(f"accumulate demo: {exc}", file=out)
        return 1
    print(
        f"accumulated {count} test logs ({lines} lines) in {took * 1000:.0f} ms -> {url}", file=out
    )
    print(format_text(summary), file=out)
    print(f"(loglane results --store {url} --png graphs.png  draws the graphs)", file=out)
    return 0

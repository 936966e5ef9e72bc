"""The access logs the monitor tests read: tests/data/accesslog, inside the repository.

What each file is, where it comes from, its licence and how it was trimmed or made:
tests/data/accesslog/SOURCES.md. Tests take the folder from the `accesslog` fixture, or one
file at a time by naming an `accesslog_file` argument (one test per log file).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ACCESSLOG = Path(__file__).resolve().parents[1] / "data" / "accesslog"
LOG_SUFFIXES = (".log", ".txt")  # the access logs; not the notes, nor the TSV (no log format)


def accesslog_files() -> list[Path]:
    return sorted(p for p in ACCESSLOG.iterdir() if p.suffix in LOG_SUFFIXES)


@pytest.fixture(scope="session")
def accesslog() -> Path:
    return ACCESSLOG


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "accesslog_file" in metafunc.fixturenames:
        files = accesslog_files()
        metafunc.parametrize("accesslog_file", files, ids=[p.name for p in files])

"""The ``loglane`` command itself and ``loglane demo``'s core part."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loglane.cli import main


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "serve", "monitor", "ship", "accumulate", "results"):
        assert f"  {name}" in out


@pytest.mark.parametrize("argv", [["frobnicate"], ["--nope"], ["\x00\xff"]])
def test_unknown_commands_exit_2_with_one_clear_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("loglane: unknown command")


def test_python_dash_m_works_like_the_script(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "loglane", "--version"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith("loglane ")


def test_demo_core_writes_every_line_and_reports_numbers(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loglane", "demo", "--only", "core", "--seconds", "0.5",
         "--threads", "3", "--dir", str(tmp_path / "logs")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    written = int(out.split("lines written")[-1].split("(")[0].strip().replace(",", ""))
    files = list((tmp_path / "logs").glob("demo-*.log"))
    assert sum(len(f.read_text().splitlines()) for f in files) == written > 0
    assert "lines/s end to end" in out and "p99.9" in out and str(files[0]) in out


@pytest.mark.parametrize("argv", [["--seconds", "-1"], ["--threads", "zero"], ["--only", "x"]])
def test_demo_rejects_bad_flags(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "loglane", "demo", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "error" in proc.stderr.splitlines()[-1]


def test_demo_daemon_part_keeps_every_line_and_the_daemon_exits_0(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "loglane", "demo", "--only", "daemon", "--dir",
         str(tmp_path / "logs")], capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "200,000 of 200,000" in proc.stdout
    assert "the daemon exited 0 on SIGTERM" in proc.stdout

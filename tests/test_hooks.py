"""Uncaught exceptions, main thread and others, logged in real processes; exit drains."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def run(tmp_path: Path, body: str) -> tuple[subprocess.CompletedProcess[str], str]:
    script = textwrap.dedent("""\
        import sys, threading
        import loglane
        loglane.configure(format="{level} {name}: {message}",
                          sinks=[{"kind": "file", "path": sys.argv[1]}])
        log = loglane.get_logger("app")
        """) + textwrap.dedent(body)
    env = {k: v for k, v in os.environ.items() if k not in ("LOGLANE_LEVEL", "FORCE_COLOR")}
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "app.log")],
                          capture_output=True, text=True, timeout=60, env=env)
    found = list(tmp_path.glob("app-*.log"))
    return proc, found[0].read_text() if found else ""


def test_an_uncaught_exception_in_the_main_thread_is_logged_and_every_line_kept(
        tmp_path: Path) -> None:
    proc, text = run(tmp_path, """\
        loglane.install_excepthook()
        for i in range(20000):
            log.info("line %d", i)
        def crash():
            raise RuntimeError("it broke")
        crash()
        """)
    assert proc.returncode == 1
    lines = text.splitlines()
    assert lines[:20000] == [f"INFO app: line {i}" for i in range(20000)]
    assert lines[20000] == "CRITICAL uncaught: Uncaught exception, exiting: RuntimeError: it broke"
    assert lines[20001] == "Traceback (most recent call last):"
    assert any("in crash" in ln for ln in lines) and lines[-1] == "RuntimeError: it broke"
    assert "Traceback" not in proc.stderr  # the default hook does not print it a second time


def test_an_uncaught_exception_in_another_thread_is_logged_and_the_process_goes_on(
        tmp_path: Path) -> None:
    proc, text = run(tmp_path, """\
        loglane.install_excepthook(loglane.get_logger("app.crashes"))
        def worker():
            raise ValueError("worker failed")
        t = threading.Thread(target=worker, name="worker-1")
        t.start()
        t.join()
        threading.Thread(target=sys.exit, args=(3,)).start()  # SystemExit: quiet, as stdlib
        log.info("main thread still running")
        """)
    assert proc.returncode == 0, proc.stderr
    lines = text.splitlines()
    assert lines[0] == ("ERROR app.crashes: Uncaught exception in thread worker-1: "
                        "ValueError: worker failed")
    assert lines[-2] == "ValueError: worker failed"
    assert lines[-1] == "INFO app: main thread still running"
    assert proc.stderr == ""


def test_ctrl_c_is_left_to_python_and_a_previous_hook_still_runs(tmp_path: Path) -> None:
    proc, text = run(tmp_path, """\
        def mine(*exc):
            print("previous hook saw", exc[0].__name__, file=sys.stderr)
        sys.excepthook = mine
        loglane.install_excepthook()
        log.info("before")
        raise KeyboardInterrupt
        """)
    assert text == "INFO app: before\n"  # not logged as an error
    assert "previous hook saw KeyboardInterrupt" in proc.stderr


def test_uninstall_restores_the_hooks() -> None:
    import threading

    import loglane

    before = (sys.excepthook, threading.excepthook)
    loglane.install_excepthook()
    loglane.install_excepthook()  # twice: still one layer
    assert sys.excepthook is not before[0]
    loglane.uninstall_excepthook()
    assert (sys.excepthook, threading.excepthook) == before

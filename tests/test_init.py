"""The package's face: what `import loglane` costs and exports."""

from __future__ import annotations

import subprocess
import sys

import loglane


def test_every_exported_name_resolves_and_all_is_sorted() -> None:
    # isort style, as ruff keeps it: constants, then classes, then functions
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert loglane.__all__ == sorted(loglane.__all__, key=kind)
    for name in loglane.__all__:
        assert getattr(loglane, name) is not None


def test_import_loglane_needs_only_the_standard_library() -> None:
    code = ("import sys, loglane; "
            "print(sorted(m for m in ('asyncio', 'pika', 'aio_pika', 'rich', 'matplotlib', "
            "'psycopg') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_import_loglane_is_lazy_and_monitor_starts_without_the_logger() -> None:
    # `import loglane` must stay cheap (a logging library is imported by everything), and a
    # command-line tool must not pay for the logger, its writer and the config parser.
    code = ("import sys, loglane; "
            "print(sorted(m for m in sys.modules if m.startswith('loglane.'))); "
            "loglane.Logger; print('loglane.writer' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.split("\n")
    assert out[0] == "[]"
    assert out[1] == "True"  # the first use brings it in
    code = ("import sys; from loglane.cli import main; "
            "main(['monitor', '--replay', '--json', '-']); "
            "print([m for m in ('loglane.logger', 'loglane.writer', 'loglane.config') "
            "if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], input="", capture_output=True,
                          text=True, timeout=60, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_dir_lists_the_lazy_names() -> None:
    assert {"Logger", "FileSink", "configure", "AmqpSink"} <= set(dir(loglane))

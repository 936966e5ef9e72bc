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

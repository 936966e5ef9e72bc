"""The monitor part of `loglane demo`: generated traffic with a burst, an alert, a recovery."""

from __future__ import annotations

import io
from pathlib import Path

from loglane.analyse.demo import run


def test_demo_shows_an_alert_and_a_recovery(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run(out, seconds=2.0, workdir=str(tmp_path)) == 0
    text = out.getvalue()
    assert "High traffic generated an alert - hits = " in text
    assert "High traffic alert recovered at " in text
    assert text.index("generated an alert") < text.index("alert recovered")
    assert "REPORT" in text and "SUMMARY" in text
    assert (tmp_path / "access.log").stat().st_size > 0

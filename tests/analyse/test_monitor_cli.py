"""`loglane monitor` as users run it: output lines, JSON objects and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loglane.analyse import replay as replay_mod
from loglane.analyse.cli import main


@pytest.fixture
def elastic_log(accesslog: Path) -> str:
    return str(accesslog / "elastic_apache_logs.log")


@pytest.fixture
def csv_log(accesslog: Path) -> str:
    return str(accesslog / "generated_csv_traffic.txt")


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main([*args, "--json"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_replay_json_summary_matches_goaccess(
    capsys: pytest.CaptureFixture[str], elastic_log: str
) -> None:
    objs = run_json(capsys, elastic_log, "--replay")
    summary = objs[-1]
    assert summary["type"] == "summary"
    # GoAccess 1.7 on the same file (see test_accesslog.py for the command); sections and
    # top path counted with awk (tests/data/accesslog/SOURCES.md)
    assert summary["lines"] == summary["requests"] == 1403
    assert summary["unparsed"] == 0
    assert summary["bytes"] == 287528410
    assert summary["hosts"] == 303
    assert summary["status_classes"] == {"2xx": 1294, "3xx": 84, "4xx": 25, "5xx": 0}
    assert summary["status_codes"]["404"] == 25
    assert summary["sections"]["/presentations"] == 220
    assert summary["top_paths"][0] == ["/favicon.ico", 97]
    reports = [o for o in objs if o["type"] == "report"]
    assert sum(r["hits"] for r in reports) == 1403  # lines out of order by 59 s all land
    assert all(r["late"] == 0 for r in reports)
    assert {o["type"] for o in objs} == {"report", "quiet", "summary"}  # 12 busy minutes
    for r in reports:
        assert r["end"] - r["start"] == r["seconds"] <= 10
        assert r["start"] % 10 == 0


def test_replay_text_shows_alerts_and_recoveries(
    capsys: pytest.CaptureFixture[str], csv_log: str
) -> None:
    assert main([csv_log, "--replay"]) == 0
    out = capsys.readouterr().out
    alerts = [line for line in out.splitlines() if line.startswith("High traffic")]
    assert alerts == [
        "High traffic generated an alert - hits = 1208, triggered at 2024-03-01 12:01:37+00:00",
        "High traffic alert recovered at 2024-03-01 12:02:58+00:00",
        "High traffic generated an alert - hits = 1207, triggered at 2024-03-01 12:04:45+00:00",
        "High traffic alert recovered at 2024-03-01 12:06:24+00:00",
    ]
    # the report's numbers counted with awk (tests/data/accesslog/SOURCES.md)
    assert "[2024-03-01 12:00:10+00:00] REPORT 12:00:00–12:00:10 (10 s)" in out  # noqa: RUF001
    assert "  hits 77 (7.7/s)   2xx 55  3xx 0  4xx 11  5xx 11   bytes 95.0 kB   unparsed 0" in out
    assert "  top sections  /api 66 · /report 11" in out
    assert "history: #1 12:01:37 → 12:02:58 (peak " in out
    assert "alert: ACTIVE since 12:04:45" in out
    # peaks: the highest 120 s average during each alert, checked by brute force
    assert out.rstrip().endswith(
        "#1 12:01:37 → 12:02:58 (peak 13.2/s)\n    #2 12:04:45 → 12:06:24 (peak 14.1/s)"
    )


def test_json_alert_objects(capsys: pytest.CaptureFixture[str], csv_log: str) -> None:
    objs = run_json(capsys, csv_log, "--replay", "--format", "csv")
    alerts = [o for o in objs if o["type"] == "alert"]
    assert [(a["state"], a["at"], a["hits"]) for a in alerts][:2] == [
        ("triggered", 1709294497, 1208),
        ("recovered", 1709294578, 1200),  # back to exactly the threshold: recovered
    ]
    assert alerts[0]["rate"] == 10.067 and alerts[0]["threshold"] == 10.0  # 1208 / 120
    summary = objs[-1]
    assert summary["requests"] == 3680 and summary["unparsed"] == 0
    assert summary["sections"] == {"/api": 2962, "/report": 718}
    assert [(a["triggered"], a["recovered"]) for a in summary["alerts"]] == [
        (1709294497, 1709294578),
        (1709294685, 1709294784),
    ]


def test_show_unparsed(capsys: pytest.CaptureFixture[str], accesslog: Path) -> None:
    vhost = str(accesslog / "apachelogs_vhost_combined.log")
    assert main([vhost, "--replay", "--show-unparsed"]) == 0
    out = capsys.readouterr().out
    assert "unparsed: Bad line" in out
    assert "unparsed 1" in out
    objs = run_json(
        capsys, vhost, "--replay", "--format",
        "vhost_combined", "--show-unparsed",
    )  # fmt: skip
    assert objs[0] == {"type": "unparsed", "line": "Bad line"}
    assert objs[-1]["unparsed"] == 1 and objs[-1]["requests"] == 6


def test_late_lines_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lateness is judged per block of lines read; small blocks make this file several blocks.
    monkeypatch.setattr(replay_mod, "BLOCK_BYTES", 2000)

    def line(t: int) -> str:
        from datetime import UTC, datetime

        ts = datetime.fromtimestamp(t, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        return f'1.1.1.1 - - [{ts}] "GET /a/b HTTP/1.1" 200 10\n'

    base = 1_700_000_000
    lines = [line(base + i) for i in range(0, 300)] + [line(base + 5)]  # 295 s late
    log = tmp_path / "late.log"
    log.write_text("".join(lines))
    objs = run_json(capsys, str(log), "--replay", "--window", "60")
    summary = objs[-1]
    assert summary["requests"] == 301 and summary["late"] == 1
    assert sum(o["late"] for o in objs if o["type"] == "report") == 1
    assert summary["sections"] == {"/a": 301}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--interval", "0", "--replay", "CSV"], "--interval: must be a positive integer"),
        (["--threshold", "-1", "--replay", "CSV"], "--threshold: must be a finite number >= 0"),
        (["--threshold", "inf", "--replay", "CSV"], "--threshold: must be a finite number >= 0"),
        (["--window", "abc", "--replay", "CSV"], "--window: must be a positive integer, not abc"),
        (["--format", "apache", "--replay", "CSV"], "unknown format 'apache'"),
        (["--format", "regex:(", "--replay", "CSV"], "bad regex"),
        (["--replay", "/nonexistent/access.log"], "/nonexistent/access.log: No such file"),
        (["--replay", "DIR"], "is a directory"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--json", "--dashboard", "CSV"], "exclusive"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str, csv_log: str, accesslog: Path
) -> None:
    args = [{"CSV": csv_log, "DIR": str(accesslog)}.get(a, a) for a in args]  # real paths
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unreadable_file_exit_2(tmp_path: Path) -> None:
    log = tmp_path / "secret.log"
    log.write_text("x\n")
    log.chmod(0)
    cmd = [sys.executable, "-m", "loglane", "monitor", "--replay", str(log)]
    if os.geteuid() == 0:  # root reads any file: drop the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux's setpriv")
        cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "Permission denied" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_replay_from_stdin(csv_log: str) -> None:
    data = Path(csv_log).read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "loglane", "monitor", "--replay", "-", "--json"],
        input=data, capture_output=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["requests"] == 3680
    assert len(summary["alerts"]) == 2


def test_parallel_replay_equals_serial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    elastic_log: str,
) -> None:  # fmt: skip
    big = tmp_path / "big.log"
    raw = Path(elastic_log).read_bytes()
    big.write_bytes(raw + b"not a request\n" + raw.replace(b"/2015:", b"/2016:") + raw[:-1])
    monkeypatch.setattr(replay_mod, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(replay_mod, "BLOCK_BYTES", len(raw) * 3 // 25)  # ~25 byte ranges
    serial = run_json(capsys, str(big), "--replay", "--jobs", "1")
    parallel = run_json(capsys, str(big), "--replay", "--jobs", "2")
    assert parallel == serial
    lines = raw.count(b"\n")
    assert serial[-1]["requests"] == 3 * lines and serial[-1]["unparsed"] == 1


def test_html_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], csv_log: str) -> None:
    out = tmp_path / "report.html"
    assert main([csv_log, "--replay", "--html", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "src=" not in page and "href" not in page  # self-contained
    assert page.count('<rect class="alert"') == 2  # the two alert periods, shaded
    assert 'class="threshold"' in page and "threshold 10/s" in page
    assert "<td>/api</td><td>2962</td>" in page
    assert "wrote" in capsys.readouterr().err


def test_dashboard_replay_renders(capsys: pytest.CaptureFixture[str], csv_log: str) -> None:
    pytest.importorskip("rich")
    assert main([csv_log, "--replay", "--dashboard"]) == 0
    out = capsys.readouterr().out
    assert "top sections" in out and "/report" in out
    assert "High traffic alert recovered at 2024-03-01 12:06:24+00:00" in out.replace("\n│ ", " ")

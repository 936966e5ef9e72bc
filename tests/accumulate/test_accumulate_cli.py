"""`loglane accumulate FILE...` and `loglane results`: no broker needed."""

from __future__ import annotations

import io
import json
import random
import sys
from pathlib import Path

import pytest
from accumulate_helpers import make_log, truth

from loglane.accumulate import cli, demo, results_cli
from loglane.accumulate.store import Store
from loglane.accumulate.summary import load


def _logs(tmp_path: Path, n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    texts, paths = [], []
    (tmp_path / "logs" / "sub").mkdir(parents=True)
    for i in range(n):
        text = make_log(rng, rng.randint(1, 20))
        path = tmp_path / "logs" / ("sub" if i % 2 else "") / f"t{i}.log"
        path.write_text(text)
        texts.append(text)
        paths.append(str(path))
    return texts, paths


def test_files_and_directories_give_the_truth_and_rerun_is_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    texts, _ = _logs(tmp_path, 9)
    store = f"sqlite:///{tmp_path}/logs/r.db"  # in the directory read: its files are skipped
    assert cli.main([str(tmp_path / "logs"), "--store", store]) == 0
    assert "accumulated 9 files" in capsys.readouterr().out
    assert cli.main([str(tmp_path / "logs"), "--store", store]) == 0
    assert "9 seen before" in capsys.readouterr().out
    with Store(store) as st:
        assert load(st).counts() == truth(texts)


def test_missing_file_and_bad_usage_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([str(tmp_path / "nope.log"), "--store", str(tmp_path / "r.db")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert cli.main(["--store", str(tmp_path / "r.db")]) == 2
    assert cli.main([str(tmp_path), "--amqp", "amqp://x"]) == 2
    assert cli.main([str(tmp_path), "--store", "mysql://db"]) == 2
    err = capsys.readouterr().err
    assert "unknown store URL" in err


def test_results_text_json_png_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts, paths = _logs(tmp_path, 6, seed=3)
    store = str(tmp_path / "r.db")
    assert cli.main([*paths, "--store", store, "-q"]) == 0
    capsys.readouterr()
    png, html = tmp_path / "g.png", tmp_path / "r.html"
    assert results_cli.main(["--store", store, "--png", str(png), "--html", str(html)]) == 0
    text = capsys.readouterr().out
    assert "failing tests" in text and "flaky tests" in text and "per source" in text
    assert png.read_bytes().startswith(b"\x89PNG")
    page = html.read_text()
    assert "data:image/png;base64," in page and "Flaky tests" in page
    assert results_cli.main(["--store", store, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    want = truth(texts)
    assert {t["name"]: (t["runs"], t["passes"], t["failures"]) for t in data["tests"]} == want
    failures = [t["failures"] for t in data["tests"]]
    assert failures == sorted(failures, reverse=True)  # failing tests first
    assert data["totals"]["runs"] == sum(r for r, _, _ in want.values())
    assert set(data["flaky"]) == {n for n, (_, p, f) in want.items() if p and f}


def test_html_escapes_test_names(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("Test: <script>alert(1)</script>\nResult: FAIL\n")
    store = str(tmp_path / "r.db")
    assert cli.main([str(log), "--store", store, "-q"]) == 0
    assert results_cli.main(["--store", store, "--html", str(tmp_path / "r.html")]) == 0
    assert "<script>alert" not in (tmp_path / "r.html").read_text()


def test_missing_matplotlib_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "r.db")
    Store(store).close()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert results_cli.main(["--store", store]) == 0  # text needs no matplotlib
    assert results_cli.main(["--store", store, "--png", str(tmp_path / "g.png")]) == 2
    assert "graphs need matplotlib" in capsys.readouterr().err


def test_results_on_an_empty_or_missing_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "r.db")
    assert results_cli.main(["--store", store]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "r.db").exists()
    Store(store).close()
    assert results_cli.main(["--store", store, "--png", str(tmp_path / "g.png")]) == 0
    assert "no test outcomes yet" in capsys.readouterr().out


def test_demo_runs(tmp_path: Path) -> None:
    out = io.StringIO()
    assert demo.run(out, workdir=str(tmp_path), files=5) == 0
    assert "accumulated 5 test logs" in out.getvalue()
    assert "failing tests" in out.getvalue()


def test_results_read_a_store_made_before_dead_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    log = tmp_path / "x.log"
    log.write_text("Test: a\nResult: PASS\n")
    store = str(tmp_path / "r.db")
    assert cli.main([str(log), "--store", store, "-q"]) == 0
    with sqlite3.connect(store) as db:
        db.execute("DROP TABLE acc_dead")
    assert results_cli.main(["--store", store]) == 0
    assert "dead letters: 0" in capsys.readouterr().out

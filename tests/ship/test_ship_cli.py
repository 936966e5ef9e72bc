"""`loglane ship` against the real broker: delivery, modes, errors, outages, restarts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from ship_helpers import (
    Proxy,
    QueueReader,
    Received,
    StderrLines,
    run_ship,
    start_ship,
    to_queue,
    wait_for,
    write_lines,
)

from loglane import wire

pytestmark = pytest.mark.services


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def _lines(got: Received) -> list[bytes]:
    return sorted(b"".join(got.text_by_source().values()).splitlines())


def _checkpoint(state: Path) -> dict[str, int]:
    data = json.loads((state / "checkpoints.json").read_text())
    return {os.path.basename(f["path"]): f["offset"] for f in data["files"]}


def test_exit_when_done_ships_every_line_once_with_headers(
    tmp_path: Path, rabbitmq_url: str, queue: str
) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    truth = write_lines(a, 0, 2500) + write_lines(b, 0, 40, tag="other")
    state = tmp_path / "state"
    args = (str(a), str(b), "--amqp", rabbitmq_url, "--queue", queue, "--state", str(state))
    done = run_ship(*args, "--batch-lines", "1000", "--exit-when-done")
    assert done.returncode == 0, done.stderr
    reader = QueueReader(rabbitmq_url, queue)
    got = reader.wait_lines(2540)
    assert got.lines == 2540 and got.duplicates == 0 and len(got.bodies) == 4
    assert _lines(got) == sorted(truth.splitlines())
    st = os.stat(a)
    state_a = next(
        f
        for f in json.loads((state / "checkpoints.json").read_text())["files"]
        if f["path"] == str(a)
    )
    source_id = f"{os.uname().nodename}:{st.st_dev}:{st.st_ino}:{state_a['gen']}"
    mid = wire.message_id(source_id, 0)
    assert mid in got.headers
    headers = got.headers[mid]
    assert headers[wire.HEADER_SOURCE] == str(a) and headers[wire.HEADER_KIND] == "lines"
    assert headers[wire.HEADER_OFFSET] == 0 and headers[wire.HEADER_HOST]
    assert _checkpoint(state) == {"a.log": a.stat().st_size, "b.log": b.stat().st_size}
    # a second run has nothing new to send
    assert run_ship(*args, "--exit-when-done").returncode == 0
    assert reader.drain().messages == 4
    reader.close()


def test_whole_files_one_message_each_and_not_twice(
    tmp_path: Path, rabbitmq_url: str, queue: str
) -> None:
    files = [tmp_path / f"run{i}.log" for i in range(3)]
    for i, f in enumerate(files):
        f.write_text(f"Test: t{i}\nsome output\nResult: PASS\n")
    state = tmp_path / "state"
    args = [*map(str, files), "--whole-files", "--amqp", rabbitmq_url, "--queue", queue]
    done = run_ship(*args, "--state", str(state))
    assert done.returncode == 0, done.stderr
    reader = QueueReader(rabbitmq_url, queue)
    got = reader.wait_lines(9)
    assert got.messages == 3
    assert {h[wire.HEADER_KIND] for h in got.headers.values()} == {"file"}
    assert sorted(got.bodies.values()) == sorted(f.read_bytes() for f in files)
    assert run_ship(*args, "--state", str(state)).returncode == 0
    assert reader.drain().messages == 3  # already confirmed: not sent again
    reader.close()


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--amqp", "http://localhost/"], "bad AMQP URL"),
        (["--amqp", "amqp://guest:guest@127.0.0.1:notaport/"], "bad AMQP URL"),
        (["--amqp", "BADPASS"], "ACCESS_REFUSED"),
        (["--amqp", "BADVHOST"], "no-such-vhost"),
        (["--whole-files", "MISSING"], "no such file"),
        (["--exit-when-done", "MISSING"], "no such file"),
        (["DIR"], "not a regular file"),
    ],
)
def test_clear_one_line_errors_exit_2(
    tmp_path: Path, rabbitmq_url: str, queue: str, extra: list[str], needle: str
) -> None:
    log = tmp_path / "x.log"
    write_lines(log, 0, 3)
    base = rabbitmq_url.rsplit("/", 1)[0]  # amqp://guest:guest@host:port
    names = {
        "MISSING": str(tmp_path / "missing.log"),
        "DIR": str(tmp_path),
        "BADPASS": base.replace("guest:guest@", "guest:wrong@") + "/%2F",
        "BADVHOST": base + "/no-such-vhost",
    }
    extra = [names.get(e, e) for e in extra]
    args = [str(log), "--queue", queue, "--state", str(tmp_path / "s"), "--exit-when-done"]
    if "--amqp" not in extra:
        args += ["--amqp", rabbitmq_url]
    done = run_ship(*args, *extra)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in done.stderr


def test_garbage_bytes_are_replaced_and_lines_kept(
    tmp_path: Path, rabbitmq_url: str, queue: str
) -> None:
    log = tmp_path / "bin.log"
    noise = bytes(range(256)).replace(b"\n", b"")
    log.write_bytes(b"ok line\n\xff\xfe\x00binary\x80\n" + noise + b"\n")
    done = run_ship(
        str(log),
        *to_queue(rabbitmq_url, queue, str(tmp_path / "s")),
        "--exit-when-done",
    )
    assert done.returncode == 0, done.stderr
    reader = QueueReader(rabbitmq_url, queue)
    got = reader.wait_lines(3)
    body = next(iter(got.bodies.values()))
    text = body.decode("utf-8")  # always valid UTF-8 on the wire
    assert text.startswith("ok line\n\ufffd\ufffd\x00binary\ufffd\n") and text.count("\n") == 3
    reader.close()


def test_follow_across_rotation_and_truncation(
    tmp_path: Path, rabbitmq_url: str, queue: str
) -> None:
    log = tmp_path / "app.log"
    state = tmp_path / "state"
    proc = start_ship(
        str(log),
        *to_queue(rabbitmq_url, queue, str(state)),
        "--poll-interval",
        "0.02",
    )
    reader = QueueReader(rabbitmq_url, queue)
    try:
        truth = write_lines(log, 0, 300)  # the file appears after the shipper started
        reader.wait_lines(300)
        with open(log, "a") as fh:
            fh.write("half a line")
        truth += write_lines(tmp_path / "ignored", 0, 0)
        with open(log, "a") as fh:
            fh.write(" and its end\n")
        truth += b"half a line and its end\n"
        os.rename(log, tmp_path / "app.log.1")  # rotation by rename
        truth += write_lines(log, 1000, 200)
        reader.wait_lines(501)
        os.truncate(log, 0)  # copytruncate
        truth += write_lines(log, 2000, 50)
        got = reader.wait_lines(551)
        code, err = _stop(proc)
        assert code == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
    got = reader.drain()
    assert got.duplicates == 0 and got.lines == 551
    shipped = b"".join(got.text_by_source().values())
    assert sorted(shipped.splitlines()) == sorted(truth.splitlines())
    assert len(got.text_by_source()) == 3  # old inode, new inode, new inode after truncation
    reader.close()


def test_broker_away_spools_says_so_once_and_delivers_later(
    tmp_path: Path, rabbitmq_url: str, queue: str, proxy: Proxy
) -> None:
    log = tmp_path / "app.log"
    state = tmp_path / "state"
    truth = write_lines(log, 0, 100)
    proc = start_ship(
        str(log),
        *to_queue(proxy.url(), queue, str(state)),
        "--poll-interval",
        "0.02",
        "--batch-lines",
        "50",
    )
    stderr = StderrLines(proc)
    reader = QueueReader(rabbitmq_url, queue)
    try:
        reader.wait_lines(100)
        proxy.down()
        stderr.wait("broker unreachable")
        truth += write_lines(log, 100, 5000)
        wait_for(lambda: list((state / "spool").glob("seg-*.spool")), 20, "spooled batches")
        os.rename(log, tmp_path / "app.log.1")  # its unsent lines now exist only in the spool
        truth += write_lines(log, 9000, 10)
        proxy.up()
        got = reader.wait_lines(5110, timeout=40)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        err = stderr.finish()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _lines(got) == sorted(truth.splitlines())
    assert err.count("broker unreachable") == 1 and err.count("broker back") == 1
    assert not list((state / "spool").glob("seg-*.spool"))  # all confirmed, all deleted
    reader.close()


def test_spool_is_bounded_and_the_files_wait(tmp_path: Path, rabbitmq_url: str, queue: str) -> None:
    log = tmp_path / "big.log"
    truth = write_lines(log, 0, 60_000)  # ~2.4 MB
    state = tmp_path / "state"
    bound = 300_000
    proc = start_ship(
        str(log),
        *to_queue("amqp://guest:guest@127.0.0.1:1/", queue, str(state)),
        "--spool-bytes",
        str(bound),
        "--batch-lines",
        "500",
    )
    try:
        spool = state / "spool"

        def spool_bytes() -> int:
            return sum(p.stat().st_size for p in spool.glob("seg-*.spool"))

        wait_for(lambda: spool_bytes() > bound // 2, 20, "the spool to fill")
        code, err = _stop(proc, signal.SIGINT)
        assert code == 0, err
        assert spool_bytes() <= bound
        assert _checkpoint(state)["big.log"] == 0  # nothing was confirmed
    finally:
        if proc.poll() is None:
            proc.kill()
    # back with a broker: the spool and the rest of the file go out; same ids for overlaps
    done = run_ship(
        str(log),
        *to_queue(rabbitmq_url, queue, str(state)),
        "--batch-lines",
        "500",
        "--exit-when-done",
    )
    assert done.returncode == 0, done.stderr
    reader = QueueReader(rabbitmq_url, queue)
    got = reader.wait_lines(60_000)
    assert got.lines == 60_000  # by distinct id: spooled copies were exact duplicates
    assert _lines(got) == sorted(truth.splitlines())
    reader.close()


def test_sigkill_then_restart_loses_nothing(tmp_path: Path, rabbitmq_url: str, queue: str) -> None:
    log = tmp_path / "app.log"
    truth = write_lines(log, 0, 20_000)
    state = tmp_path / "state"
    args = (
        str(log),
        *to_queue(rabbitmq_url, queue, str(state)),
        "--batch-lines",
        "100",
        "--poll-interval",
        "0.02",
    )
    proc = start_ship(*args)
    reader = QueueReader(rabbitmq_url, queue)
    try:
        reader.wait_lines(3000)
        truth += write_lines(log, 20_000, 37)  # a short batch at the end: a recorded cut
        proc.kill()  # SIGKILL: no chance to save anything more
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = run_ship(*args, "--exit-when-done")
    assert done.returncode == 0, done.stderr
    got = reader.wait_lines(20_037)
    # QueueReader asserts that a repeated id always carries the same bytes
    assert got.lines == 20_037
    assert _lines(got) == sorted(truth.splitlines())
    reader.close()


def test_sigterm_drains_confirms_and_a_restart_sends_no_duplicate(
    tmp_path: Path, rabbitmq_url: str, queue: str
) -> None:
    log = tmp_path / "app.log"
    truth = write_lines(log, 0, 30_000)
    state = tmp_path / "state"
    args = (
        str(log),
        *to_queue(rabbitmq_url, queue, str(state)),
        "--batch-lines",
        "100",
    )
    proc = start_ship(*args)
    reader = QueueReader(rabbitmq_url, queue)
    try:
        reader.wait_lines(2000)
        code, err = _stop(proc)
        assert code == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
    sent_before = reader.drain().lines
    # everything confirmed before the exit is behind the checkpoint: nothing is sent twice
    assert _checkpoint(state)["app.log"] == len(b"".join(reader.got.bodies.values()))
    done = run_ship(*args, "--exit-when-done")
    assert done.returncode == 0, done.stderr
    got = reader.wait_lines(30_000)
    assert got.duplicates == 0 and got.lines == 30_000 and sent_before <= 30_000
    assert _lines(got) == sorted(truth.splitlines())
    reader.close()


def test_whole_files_wait_for_an_absent_broker_then_deliver(
    tmp_path: Path, rabbitmq_url: str, queue: str, proxy: Proxy
) -> None:
    proxy.down()
    logs = [tmp_path / f"ci{i}.log" for i in range(2)]
    for i, log in enumerate(logs):
        log.write_text(f"ok {i + 1} - step\nnot ok {i + 2} - other\n")
    proc = start_ship(
        *map(str, logs),
        "--whole-files",
        *to_queue(proxy.url(), queue, str(tmp_path / "state")),
    )
    stderr = StderrLines(proc)
    try:
        stderr.wait("broker unreachable")
        assert proc.poll() is None  # a CI job's logs are not given up on: it waits
        proxy.up()
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    reader = QueueReader(rabbitmq_url, queue)
    got = reader.wait_lines(4)
    assert sorted(got.bodies.values()) == sorted(log.read_bytes() for log in logs)
    assert "broker back" in stderr.finish()
    reader.close()


def test_a_state_dir_in_use_is_refused(tmp_path: Path, rabbitmq_url: str, queue: str) -> None:
    log = tmp_path / "app.log"
    write_lines(log, 0, 10)
    state = tmp_path / "state"
    args = (str(log), "--amqp", rabbitmq_url, "--queue", queue, "--state", str(state))
    first = start_ship(*args)
    try:
        reader = QueueReader(rabbitmq_url, queue)
        reader.wait_lines(10)  # the first shipper holds the state directory now
        second = run_ship(*args)
        assert second.returncode == 2
        assert second.stderr.strip().splitlines() == [
            f"loglane ship: --state {state} is in use by another loglane ship"
        ]
        code, err = _stop(first)
        assert code == 0, err
        reader.close()
    finally:
        if first.poll() is None:
            first.kill()

"""get_logger: one logger per name, a dotted hierarchy, defaults, and reconfiguring under load."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import loglane
from loglane.registry import REGISTRY

FMT = "{level} {name}: {message}{fields}"


@pytest.fixture(autouse=True)
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("LOGLANE_LEVEL", "FORCE_COLOR"):  # lines as a pipe gets them, by default
        monkeypatch.delenv(var, raising=False)
    REGISTRY.reset()
    yield
    REGISTRY.reset()


def mem(level: int | str = 0) -> tuple[loglane.CallableSink, list[str]]:
    lines: list[str] = []
    return loglane.CallableSink(lines.append, level=level), lines


def test_the_same_name_gives_the_same_logger_from_any_thread() -> None:
    found: list[loglane.Logger] = []
    start = threading.Barrier(8)

    def grab() -> None:
        start.wait()
        found.extend(loglane.get_logger(f"race.{i % 3}") for i in range(300))

    threads = [threading.Thread(target=grab) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(lg) for lg in found}) == 3
    assert loglane.get_logger("race.1") is loglane.get_logger("race.1")
    assert loglane.get_logger() is loglane.get_logger("root") is loglane.get_logger("")
    assert loglane.get_logger().name == "root"


def test_before_configure_info_goes_to_stdout_and_warnings_to_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    log = loglane.get_logger("app.web")
    log.debug("not shown")
    log.info("hello %s", "there")
    log.warning("careful")
    log.flush()
    out, err = capsys.readouterr()
    assert out.endswith(" app.web INFO] hello there\n") and out.count("\n") == 1
    assert err.endswith(" app.web WARNING] careful\n") and err.count("\n") == 1


def test_loglane_level_moves_the_default_level(capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGLANE_LEVEL", "debug")
    REGISTRY.reset()
    log = loglane.get_logger("app")
    log.debug("now shown")
    log.flush()
    assert capsys.readouterr().out.endswith(" app DEBUG] now shown\n")


def test_names_take_level_and_sinks_from_their_most_specific_prefix() -> None:
    main, main_lines = mem()
    db, db_lines = mem()
    loglane.configure(
        format=FMT, level="WARNING",
        sinks={"main": main, "db": db},
        loggers={
            "app": "INFO",
            "app.db": {"level": "DEBUG", "sinks": ["db"]},
            "app.db.pool": {"level": "ERROR"},  # level only: sinks still from app.db
        },
    )
    loglane.get_logger("other").info("root is WARNING")
    loglane.get_logger("other").warning("root warning")
    loglane.get_logger("app.web").info("app is INFO")
    loglane.get_logger("app.web").debug("not DEBUG")
    loglane.get_logger("app.db.query").debug("db is DEBUG")
    loglane.get_logger("app.db.pool").warning("pool is ERROR")
    loglane.get_logger("app.db.pool").error("pool error")
    loglane.get_logger("application").info("not under app: a prefix is a whole name part")
    loglane.get_logger("app").flush()
    assert main_lines == ["WARNING other: root warning", "INFO app.web: app is INFO"]
    assert db_lines == ["DEBUG app.db.query: db is DEBUG", "ERROR app.db.pool: pool error"]


def test_loggers_made_before_configure_follow_it() -> None:
    log = loglane.get_logger("early.bird")
    sink, lines = mem()
    loglane.configure(format=FMT, level="DEBUG", sinks=[sink])
    log.debug("seen")
    bound = log.bind(k=1)
    loglane.configure(format=FMT, level="ERROR", sinks=[sink])
    log.warning("filtered")
    bound.warning("filtered too")
    bound.error("kept")
    log.flush()
    assert lines == ["DEBUG early.bird: seen", "ERROR early.bird: kept k=1"]


def test_close_of_a_registry_logger_drains_without_stopping_the_others() -> None:
    sink, lines = mem()
    loglane.configure(format=FMT, sinks=[sink])
    a, b = loglane.get_logger("a"), loglane.get_logger("b")
    a.info("one")
    assert a.close() is True
    assert lines == ["INFO a: one"]
    b.info("two")
    a.info("three")
    b.flush()
    assert lines == ["INFO a: one", "INFO b: two", "INFO a: three"]


def test_add_sink_on_a_registry_logger_takes_that_subtree_only() -> None:
    base, base_lines = mem()
    loglane.configure(format=FMT, sinks=[base])
    extra, extra_lines = mem()
    loglane.get_logger("svc").add_sink(extra)
    for name in ("svc", "svc.x", "svcs", "other"):
        loglane.get_logger(name).info("hi")
    loglane.get_logger().flush()
    assert extra_lines == ["INFO svc: hi", "INFO svc.x: hi"]
    assert len(base_lines) == 4
    loglane.get_logger("svc").remove_sink(extra)
    loglane.get_logger("svc").info("after")
    loglane.get_logger().flush()
    assert extra_lines == ["INFO svc: hi", "INFO svc.x: hi"] and base_lines[-1] == "INFO svc: after"


def test_records_logged_before_a_reconfigure_are_written_by_the_old_sinks() -> None:
    old, old_lines = mem()
    new, new_lines = mem()
    loglane.configure(format=FMT, sinks=[old])
    log = loglane.get_logger("x")
    for i in range(1000):
        log.info("n %d", i)
    loglane.configure(format="{message}", sinks=[new])  # no flush in between
    log.info("after")
    log.flush()
    assert old_lines == [f"INFO x: n {i}" for i in range(1000)]
    assert new_lines == ["after"]  # and in the new format from the first record on


def test_reconfiguring_while_threads_log_loses_and_duplicates_nothing() -> None:
    sinks = [mem() for _ in range(6)]
    loglane.configure(format="{message}", sinks=[sinks[0][0]], overflow="block")
    per_thread = 20_000

    def work(t: int) -> None:
        log = loglane.get_logger(f"worker.{t}")
        for i in range(per_thread):
            log.info("%d-%d", t, i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    swaps = 0
    while any(thread.is_alive() for thread in threads) or swaps < 5:
        swaps += 1
        loglane.configure(format="{message}", sinks=[sinks[swaps % 6][0]], overflow="block")
    for thread in threads:
        thread.join()
    loglane.get_logger().flush()
    seen = [line for _, lines in sinks for line in lines]
    assert len(seen) == 4 * per_thread
    assert set(seen) == {f"{t}-{i}" for t in range(4) for i in range(per_thread)}
    assert swaps >= 5
    for _, lines in sinks:  # each thread's lines stay in order within every sink
        for n in range(4):
            mine = [int(ln.split("-")[1]) for ln in lines if ln.startswith(f"{n}-")]
            assert mine == sorted(mine)


def test_shutdown_closes_the_sinks_and_configure_revives(tmp_path: Path) -> None:
    loglane.configure(format=FMT, sinks=[{"kind": "file", "path": str(tmp_path / "app.log"),
                                          "utc": True}])
    log = loglane.get_logger("svc")
    log.info("before")
    loglane.shutdown()
    from loglane.sinks.file import FILES
    assert FILES.count() == 0  # the descriptor is closed
    log.info("while shut down: dropped")
    sink, lines = mem()
    loglane.configure(format=FMT, sinks=[sink])
    log.info("again")
    log.flush()
    (written,) = tmp_path.glob("app-*.log")
    assert written.read_text() == "INFO svc: before\n"
    assert lines == ["INFO svc: again"]


def test_a_reconfigured_queue_size_and_policy_reach_existing_loggers() -> None:
    sink, lines = mem()
    log = loglane.get_logger("q")
    loglane.configure(sinks=[sink], queue_size=7, overflow="block", block_timeout=5)
    assert log._channel.queue_size == 7 and log._channel.block and log._channel.block_timeout == 5
    for i in range(200):
        log.info("%d", i)
    log.flush()
    assert len(lines) == 200 and log.stats()["dropped"] == 0


def test_a_forked_child_logs_through_get_logger(tmp_path: Path) -> None:
    import os

    loglane.configure(format=FMT, sinks=[{"kind": "file", "path": str(tmp_path / "app.log")}])
    log = loglane.get_logger("parent")
    log.info("before fork")
    pid = os.fork()
    if pid == 0:  # the child: its own writer, the registry's locks made anew
        try:
            loglane.get_logger("child.new").info("from the child")
            loglane.get_logger().flush()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    log.info("after fork")
    log.flush()
    lines = sorted(next(tmp_path.glob("app-*.log")).read_text().splitlines())
    assert lines == ["INFO child.new: from the child", "INFO parent: after fork",
                     "INFO parent: before fork"]


def test_new_loggers_from_a_signal_handler_during_configure() -> None:
    import signal

    sink, lines = mem()
    count = iter(range(1_000_000))

    def on_alarm(signum: int, frame: object) -> None:
        k = next(count)
        loglane.get_logger(f"signal.{k}").info("from the handler %d", k)

    # configured before the first alarm: a record logged before it would go to the defaults
    loglane.configure(format="{message}", sinks=[sink])
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    try:
        for i in range(40):
            loglane.configure(format="{message}", sinks=[sink])
            loglane.get_logger(f"main.{i}").info("main %d", i)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
    loglane.get_logger().flush()
    handled = next(count)
    assert sorted(ln for ln in lines if ln.startswith("main")) == sorted(
        f"main {i}" for i in range(40))
    assert len([ln for ln in lines if ln.startswith("from the handler")]) == handled

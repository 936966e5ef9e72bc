"""Structured fields: per call, bound, and contextual across threads and asyncio tasks."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import loglane

FMT = "{level} {name}: {message}{fields}"


def collect(**kw: Any) -> tuple[loglane.Logger, list[str]]:
    lines: list[str] = []
    kw.setdefault("fmt", FMT)
    log = loglane.Logger("app", None, stdout_level=None, stderr_level=None,
                         sinks=[loglane.CallableSink(lines.append)], **kw)
    return log, lines


def test_fields_follow_the_message_quoted_when_needed_and_are_json_keys() -> None:
    log, lines = collect()
    log.info("user logged in", user_id=42, name="Ann Lee", ok=True, empty="")
    log.close()
    assert lines == ['INFO app: user logged in user_id=42 name="Ann Lee" ok=True empty=""']
    log, lines = collect(fmt=None, json=True)
    log.info("user logged in", user_id=42, tags=["a", "b"])
    log.close()
    obj = json.loads(lines[0])
    assert (obj["message"], obj["user_id"], obj["tags"]) == ("user logged in", 42, ["a", "b"])


def test_fields_are_captured_at_call_time() -> None:
    log, lines = collect()
    tags = ["a"]
    log.info("call", tags=tags)
    bound = log.bind(tags=tags)
    with loglane.contextualize(tags=tags):
        tags.append("b")
        log.info("ctx")
    bound.info("bound")
    log.close()
    shown = 'tags="[\'a\']"'  # the text of the list at call time, quoted (it has quotes)
    assert lines == [f"INFO app: call {shown}", f"INFO app: ctx {shown}",
                     f"INFO app: bound {shown}"]


def test_bind_adds_fields_nests_and_the_call_wins() -> None:
    log, lines = collect()
    req = log.bind(request_id="r1")
    user = req.bind(user=7)
    req.info("a")
    user.warning("b %d", 1)
    user.info("c", user=8, extra_field="x")
    user.debug("d")
    log.info("plain")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        user.exception("e")
    log.close()
    assert [ln.split("\n")[0] for ln in lines] == [
        "INFO app: a request_id=r1",
        "WARNING app: b 1 request_id=r1 user=7",
        "INFO app: c request_id=r1 user=8 extra_field=x",
        "DEBUG app: d request_id=r1 user=7",
        "INFO app: plain",
        "ERROR app: e request_id=r1 user=7",
    ]
    assert lines[-1].endswith("ZeroDivisionError: division by zero")
    assert user.fields == {"request_id": "r1", "user": 7} and user.name == "app"
    assert user.stats()["written"] == len(lines) and user.sinks == log.sinks


def test_contextualize_nests_inner_wins_and_ends_with_the_block() -> None:
    log, lines = collect()
    with loglane.contextualize(request_id="r1", user="a"):
        log.info("plain fast path %d", 1)
        with loglane.contextualize(user="b"):
            log.info("inner", step=2)
            log.bind(k=1).info("bound")
        log.warning("outer again")
    log.info("outside")
    log.close()
    assert lines == [
        "INFO app: plain fast path 1 request_id=r1 user=a",
        "INFO app: inner request_id=r1 user=b step=2",
        "INFO app: bound request_id=r1 user=b k=1",
        "WARNING app: outer again request_id=r1 user=a",
        "INFO app: outside",
    ]


def test_each_thread_has_its_own_context() -> None:
    log, lines = collect()
    entered, logged = threading.Event(), threading.Event()

    def a() -> None:
        with loglane.contextualize(thread="a"):
            entered.set()
            logged.wait(10)
            log.info("from a")

    def b() -> None:
        entered.wait(10)
        log.info("from b while a is inside its block")
        with loglane.contextualize(thread="b"):
            log.info("from b")
        logged.set()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    log.close()
    assert lines == ["INFO app: from b while a is inside its block",
                     "INFO app: from b thread=b", "INFO app: from a thread=a"]


def test_asyncio_tasks_keep_their_own_fields_while_interleaving() -> None:
    log, lines = collect()

    async def handle(request_id: str) -> None:
        with loglane.contextualize(request_id=request_id):
            for step in range(3):
                log.info("step %d", step)
                await asyncio.sleep(0)  # let the other tasks run in between

    async def main() -> None:
        with loglane.contextualize(app="demo"):
            # Tasks copy the context they are created in: each starts with app=demo.
            await asyncio.gather(*(handle(f"r{i}") for i in range(3)))
        log.info("done")

    asyncio.run(main())
    log.close()
    assert lines[-1] == "INFO app: done"
    for i in range(3):
        mine = [ln for ln in lines if f"request_id=r{i}" in ln]
        assert mine == [f"INFO app: step {s} app=demo request_id=r{i}" for s in range(3)]
    # and they really interleaved
    assert lines[:3] == [f"INFO app: step 0 app=demo request_id=r{i}" for i in range(3)]


def test_current_fields_and_registry_loggers() -> None:
    from loglane.context import current_fields

    with loglane.contextualize(a=1):
        assert current_fields() == {"a": 1}
    assert current_fields() == {}

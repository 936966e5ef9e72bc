"""The two ways ``loglane ship`` runs: following lines, or sending whole files once.

Both put batches into an ``Outbox`` that a ``Publisher`` empties on the same asyncio loop, and
both move checkpoints only from the publisher's confirm callback. Reading files is done inline on
the loop: it is local, page-cached and bounded per round (``_ROUND_BATCHES``), so the publisher
gets the loop back often enough to keep its window full.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from loglane import wire
from loglane.ship.batch import Batch, utf8_body
from loglane.ship.checkpoint import Checkpoints
from loglane.ship.outbox import Outbox
from loglane.ship.publisher import BrokerRefused, Publisher
from loglane.ship.spool import Spool
from loglane.ship.tail import Follower

_ROUND_BATCHES = 16
_SAVE_EVERY = 0.25  # seconds between checkpoint saves while confirms flow
_SHIPPED_KEPT = 100_000  # whole files remembered as confirmed, so re-runs skip them


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Options:
    files: list[str]
    url: str
    queue: str
    state: Path
    host: str
    batch_lines: int
    batch_bytes: int
    window: int
    spool_bytes: int
    memory_bytes: int
    drain_timeout: float
    poll_interval: float
    exit_when_done: bool
    quiet: bool = False


class _Run:
    """What both modes share: state, spool, outbox, publisher, signals, the shutdown."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.checkpoints = Checkpoints(opts.state)
        self.spool = Spool(opts.state / "spool", opts.spool_bytes)
        self.outbox = Outbox(self.spool, opts.memory_bytes)
        self.publisher = Publisher(
            opts.url,
            opts.queue,
            self.outbox,
            window=opts.window,
            on_confirm=self.confirmed,
            report=say,
            spool_hint=str(self.spool.dir),
        )
        self.stopping = asyncio.Event()
        self.space = asyncio.Event()  # set on every confirm: room may have appeared
        self._last_save = 0.0

    def confirmed(self, batch: Batch) -> None:
        self.space.set()

    def save_soon(self) -> None:
        now = time.monotonic()
        if self.checkpoints.dirty and now - self._last_save >= _SAVE_EVERY:
            self.checkpoints.save(sync=False)
            self._last_save = now

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        pub_task = asyncio.create_task(self.publisher.run())
        try:
            await self.produce(pub_task)
        finally:
            code = await self._shutdown(pub_task)
        return code

    async def produce(self, pub_task: asyncio.Task[None]) -> None:
        raise NotImplementedError

    async def wait(self, seconds: float, pub_task: asyncio.Task[None]) -> None:
        """Sleep until a confirm, a stop or ``seconds``: never a blind sleep when work waits."""
        self.space.clear()
        waiters = [
            asyncio.ensure_future(self.space.wait()),
            asyncio.ensure_future(self.stopping.wait()),
        ]
        await asyncio.wait(
            [*waiters, pub_task], timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters:
            waiter.cancel()

    async def _shutdown(self, pub_task: asyncio.Task[None]) -> int:
        code = 0
        # Wait for confirms only while there is a broker to give them; with none, what is not
        # confirmed is in the spool or still in the files, and the next run sends it.
        self.publisher.stop(0.0 if self.publisher.down else self.opts.drain_timeout)
        try:
            await asyncio.wait_for(asyncio.shield(pub_task), self.opts.drain_timeout + 5)
        except BrokerRefused as exc:
            say(f"loglane ship: the broker refused us: {exc}")
            code = 2
        except (TimeoutError, asyncio.CancelledError):
            pub_task.cancel()
            with contextlib.suppress(BaseException):
                await pub_task
        unsent = self.outbox.pending()
        if unsent and code == 0:
            say(
                f"loglane ship: stopped with {unsent} batches unconfirmed; "
                "they are sent on the next run"
            )
        self.checkpoints.save()
        self.spool.close()
        if code == 0 and not self.opts.quiet:
            pub = self.publisher
            print(
                f"shipped {pub.confirmed_lines} lines in {pub.confirmed_batches} messages "
                f"to {self.opts.queue} (confirmed by the broker)",
                flush=True,
            )
        return code


class LineShipper(_Run):
    async def produce(self, pub_task: asyncio.Task[None]) -> None:
        opts = self.opts
        followers = [
            Follower(
                path,
                self.checkpoints,
                opts.host,
                batch_lines=opts.batch_lines,
                batch_bytes=opts.batch_bytes,
                report=say,
            )
            for path in opts.files
        ]
        self.checkpoints.save()
        held: list[list[Batch]] = [[] for _ in followers]
        try:
            while not self.stopping.is_set() and not pub_task.done():
                produced = self._round(followers, held)
                self.save_soon()
                if produced:
                    await asyncio.sleep(0)
                    continue
                if opts.exit_when_done and self._all_done(followers, held):
                    return
                await self.wait(opts.poll_interval, pub_task)
        finally:
            for follower in followers:
                follower.close()

    def confirmed(self, batch: Batch) -> None:
        state = self.checkpoints.files.get(batch.key)
        if state is not None and state.confirm(batch.gen, batch.offset, batch.end):
            self.checkpoints.dirty = True
        self.space.set()

    def _round(self, followers: list[Follower], held: list[list[Batch]]) -> int:
        """One pass over all files; returns how many batches went into the outbox."""
        produced = 0
        new_cut = False
        for i, follower in enumerate(followers):
            if held[i]:
                continue  # the outbox refused this file's batches; try them below first
            batches, cut = follower.poll(_ROUND_BATCHES)
            held[i] = batches
            new_cut |= cut
        if new_cut:
            # The short batches' ends must be on disk before the batches can reach the broker.
            self.checkpoints.save(sync=False)
            self._last_save = time.monotonic()
        for queue in held:
            while queue and self.outbox.put(queue[0]):
                queue.pop(0)
                produced += 1
        return produced

    def _all_done(self, followers: list[Follower], held: list[list[Batch]]) -> bool:
        return all(f.caught_up for f in followers) and not any(held) and self.publisher.idle


class WholeFileShipper(_Run):
    """Each file becomes one message (kind ``file``); exits once all are confirmed."""

    def __init__(self, opts: Options) -> None:
        super().__init__(opts)
        self._waiting: set[str] = set()  # message ids of this run's files not yet confirmed

    async def produce(self, pub_task: asyncio.Task[None]) -> None:
        todo: list[Batch] = []
        for path in self.opts.files:
            batch = self._load(os.path.abspath(path))
            if batch is not None:
                todo.append(batch)
        self._waiting = {batch.message_id for batch in todo}
        while todo and not self.stopping.is_set() and not pub_task.done():
            if self.outbox.put(todo[0]):
                todo.pop(0)
            else:
                await self.wait(self.opts.poll_interval, pub_task)
        while self._waiting and not self.stopping.is_set() and not pub_task.done():
            await self.wait(self.opts.poll_interval, pub_task)

    def _load(self, path: str) -> Batch | None:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            data = fh.read()
        # size and mtime too: a file rewritten in place is a new run, not a redelivery
        key = f"{st.st_dev}:{st.st_ino}:{len(data)}:{st.st_mtime_ns}"
        if key in self.checkpoints.shipped:
            return None  # the broker already confirmed exactly this file
        body = utf8_body(data)
        return Batch(
            source=path,
            source_id=f"{self.opts.host}:{key}",
            offset=0,
            length=len(data),
            kind=wire.KIND_FILE,
            body=body,
            lines=body.count(b"\n"),
            host=self.opts.host,
            key=key,
        )

    def confirmed(self, batch: Batch) -> None:
        shipped = self.checkpoints.shipped
        shipped[batch.key] = batch.length
        while len(shipped) > _SHIPPED_KEPT:  # the oldest first: dicts keep insertion order
            del shipped[next(iter(shipped))]
        self.checkpoints.dirty = True
        self._waiting.discard(batch.message_id)
        self.save_soon()
        self.space.set()

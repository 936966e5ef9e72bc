"""The broker-free parts: batching, checkpoints, spool, following across rotation."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from ship_helpers import wait_for, write_lines

from loglane import wire
from loglane.ship import tail
from loglane.ship.batch import Batch, utf8_body
from loglane.ship.checkpoint import Checkpoints, FileState
from loglane.ship.outbox import Outbox
from loglane.ship.spool import Spool, SpoolBusy
from loglane.ship.tail import Follower, batch_end


def _batch(i: int, body: bytes = b"x\n") -> Batch:
    return Batch("src", "host:1:2", i * 10, len(body), wire.KIND_LINES, body, 1, "host")


def test_batch_end_counts_lines_caps_bytes_and_waits_for_newlines() -> None:
    buf = b"a\nbb\nccc\ndddd"
    assert batch_end(buf, 0, 2, 100, eof=False) == 5
    assert batch_end(buf, 5, 2, 100, eof=False) is None  # one line and a partial: wait
    assert batch_end(buf, 5, 2, 100, eof=True) == 9  # end of file: a short batch
    assert batch_end(buf, 0, 10, 6, eof=False) == 5  # byte cap: last newline within 6
    assert batch_end(b"x" * 20, 0, 10, 8, eof=False) == 8  # a giant line is split at the cap


def test_batching_is_the_same_whatever_the_read_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.log"
    write_lines(path, 0, 5000)

    def cut(read_bytes: int) -> list[tuple[int, int]]:
        monkeypatch.setattr(tail, "READ_BYTES", read_bytes)
        cps = Checkpoints(tmp_path / f"s{read_bytes}")
        follower = Follower(str(path), cps, "h", batch_lines=300)
        out: list[tuple[int, int]] = []
        while True:
            batches, _ = follower.poll(1000)
            if not batches:
                break
            out += [(b.offset, b.length) for b in batches]
        follower.close()
        return out

    assert cut(1 << 20) == cut(777) == cut(65536)


def test_checkpoint_advances_only_over_contiguous_confirms(tmp_path: Path) -> None:
    state = FileState(path="p", dev=1, ino=2, cuts=[10, 30])
    assert not state.confirm(0, 10, 20)  # ahead of the offset: held
    assert state.confirm(0, 0, 10)
    assert state.offset == 20 and state.cuts == [30]
    assert not state.confirm(0, 0, 10)  # a duplicate confirm changes nothing
    assert not state.confirm(1, 20, 30)  # another generation (the file was truncated since)
    cps = Checkpoints(tmp_path)
    cps.add(state)
    cps.save()
    again = Checkpoints(tmp_path).get(1, 2)
    assert again is not None and again.offset == 20 and again.cuts == [30]
    assert not list(tmp_path.glob(".*.tmp"))  # written by rename, nothing left behind


def test_spool_round_trip_bound_and_segment_deletion(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "sp", max_bytes=4000, segment_bytes=1000)
    stored = 0
    while spool.append(_batch(stored, b"y" * 100 + b"\n")):
        stored += 1
    assert 10 <= stored < 40  # bounded: the append that would pass 4000 bytes is refused
    assert spool.bytes <= 4000
    first = spool.pop()
    assert first is not None and first.offset == 0 and first.body == b"y" * 100 + b"\n"
    taken = [first]
    while (b := spool.pop()) is not None:
        taken.append(b)
    assert len(taken) == stored
    for b in taken:
        spool.ack(b.spool_seg)
    assert spool.bytes == 0 and not list((tmp_path / "sp").glob("seg-*"))
    spool.close()


def test_spool_survives_reopen_and_cuts_a_torn_record(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(5):
        assert spool.append(_batch(i))
    with pytest.raises(SpoolBusy):
        Spool(tmp_path, max_bytes=1 << 20)  # one owner at a time
    spool.close()
    seg = next(tmp_path.glob("seg-*.spool"))
    with open(seg, "ab") as fh:
        fh.write(b"LLS1\x05\x00")  # a kill in the middle of the next record
    again = Spool(tmp_path, max_bytes=1 << 20)
    offsets = []
    while (b := again.pop()) is not None:
        offsets.append(b.offset)
    assert offsets == [0, 10, 20, 30, 40]
    again.close()


def test_outbox_uses_the_spool_while_away_memory_otherwise(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    box = Outbox(spool, memory_bytes=10)
    assert box.put(_batch(0, b"12345678\n"))
    assert spool.unread == 0
    assert not box.put(_batch(1, b"12345678\n"))  # memory full, broker there: push back
    assert box.put(_batch(1, b"12345678\n"), spill=True)  # the sink never pushes back
    box.away = True
    assert box.put(_batch(2, b"12345678\n"))  # broker away: to disk
    assert spool.unread == 2
    taken = [box.take(), box.take(), box.take()]
    assert [b.offset for b in taken if b] == [10, 20, 0] and box.take() is None
    spool.close()


def test_invalid_utf8_is_replaced_valid_text_is_kept() -> None:
    assert utf8_body("héllo\n".encode()) == "héllo\n".encode()
    assert utf8_body(b"a\xff\xfeb\x00\n") == "a\ufffd\ufffdb\x00\n".encode()


def _drain(follower: Follower) -> list[Batch]:
    out: list[Batch] = []
    while True:
        batches, _ = follower.poll(100)
        if not batches:
            return out
        out += batches


def test_follower_rotation_truncation_and_missing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tail, "ROTATE_GRACE", 0.05)
    path = tmp_path / "app.log"
    said: list[str] = []
    cps = Checkpoints(tmp_path / "state")
    follower = Follower(str(path), cps, "h", batch_lines=10, report=said.append)
    assert _drain(follower) == [] and "waiting for it" in said[0]
    sent = write_lines(path, 0, 25)
    with open(path, "a") as fh:
        fh.write("partial")  # no newline yet: must wait
    got = _drain(follower)
    assert b"".join(b.body for b in got) == sent
    with open(path, "a") as fh:
        fh.write(" end\n")
    os.rename(path, tmp_path / "app.log.1")
    new = write_lines(path, 100, 5)
    rotated: list[Batch] = []

    def both_files_read() -> bool:
        rotated.extend(_drain(follower))
        bodies = b"".join(b.body for b in rotated)
        return b"partial end\n" in bodies and new in bodies

    wait_for(both_files_read, 5, "the rotated file's last line and the new file")
    ids = {b.source_id for b in rotated + got}
    assert len(ids) == 2  # the old inode and the new one: ids cannot collide
    # copytruncate: the same inode shrinks, reading restarts at 0 under a new generation
    os.truncate(path, 0)
    fresh = write_lines(path, 200, 3)
    time.sleep(0.01)
    batches = wait_for(lambda: _drain(follower), 5, "lines after truncation")
    assert b"".join(b.body for b in batches) == fresh
    assert batches[0].offset == 0 and batches[0].source_id not in ids  # a new generation
    follower.close()


def test_restart_resumes_at_checkpoint_with_the_same_batches(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    write_lines(path, 0, 15)
    cps = Checkpoints(tmp_path / "state")
    first = Follower(str(path), cps, "h", batch_lines=10)
    batches = _drain(first)  # 10 lines, then 5 cut short at end of file (a recorded cut)
    assert [b.lines for b in batches] == [10, 5]
    state = next(iter(cps.files.values()))
    state.confirm(batches[0].gen, batches[0].offset, batches[0].end)
    cps.save()
    first.close()
    write_lines(path, 15, 20)  # the file grew while the shipper was down
    # restarted with other options: the file keeps the batching it started with
    again = Follower(str(path), Checkpoints(tmp_path / "state"), "h", batch_lines=7)
    redo = _drain(again)
    # the unconfirmed short batch comes again exactly as it was (same id, same bytes)
    assert (redo[0].message_id, redo[0].body) == (batches[1].message_id, batches[1].body)
    assert sum(b.lines for b in redo) == 25 and [b.lines for b in redo[1:]] == [10, 10]
    again.close()


def _naive_end(buf: bytes, start: int, lines: int, cap: int, eof: bool) -> int | None:
    limit = min(len(buf), start + cap)
    pos, seen = start, 0
    while seen < lines and (nl := buf.find(b"\n", pos, limit)) >= 0:
        pos, seen = nl + 1, seen + 1
    if seen == lines:
        return pos
    if limit - start >= cap:
        return pos if pos > start else start + cap
    return pos if eof and pos > start else None


@pytest.mark.parametrize("hint", [0, 1, 3, 7, 50, 10_000])
def test_batch_end_is_the_same_whatever_the_hint(hint: int) -> None:
    rng = random.Random(hint)
    buf = b"".join(b"x" * rng.randrange(0, 12) + b"\n" for _ in range(500)) + b"tail"
    for start in (0, 7, 100):
        start = buf.index(b"\n", start) + 1 if start else 0
        for lines, cap, eof in [
            (10, 10_000, False),
            (1000, 10_000, False),
            (1000, 10_000, True),
            (50, 64, False),
            (3, 5, True),
        ]:
            assert batch_end(buf, start, lines, cap, eof, hint) == _naive_end(
                buf, start, lines, cap, eof
            ), (start, lines, cap, eof)


def test_a_file_truncated_while_we_were_away_restarts_under_a_new_generation(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.log"
    write_lines(path, 0, 50)
    cps = Checkpoints(tmp_path / "state")
    first = Follower(str(path), cps, "h", batch_lines=100)
    batch = _drain(first)[0]
    next(iter(cps.files.values())).confirm(batch.gen, batch.offset, batch.end)
    cps.save()
    first.close()
    with open(path, "w") as fh:  # truncated and rewritten, shorter than the checkpoint
        fh.write("fresh 1\nfresh 2\n")
    again = _drain(Follower(str(path), Checkpoints(tmp_path / "state"), "h", batch_lines=100))
    assert [b.body for b in again] == [b"fresh 1\nfresh 2\n"]
    assert again[0].offset == 0 and again[0].message_id != batch.message_id


def test_inode_reuse_is_caught_by_the_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    write_lines(path, 0, 50)
    cps = Checkpoints(tmp_path / "state")
    first = Follower(str(path), cps, "h", batch_lines=100)
    batch = _drain(first)[0]
    state = next(iter(cps.files.values()))
    state.confirm(batch.gen, batch.offset, batch.end)
    first.close()
    # another file with the same inode (as after delete + create) and more bytes than before
    other = write_lines(tmp_path / "other", 0, 80, tag="other")
    path.write_bytes(other)
    again = _drain(Follower(str(path), cps, "h", batch_lines=1000))
    assert b"".join(b.body for b in again) == other  # read from its start, not the old offset
    assert again[0].source_id != batch.source_id  # and under ids of its own

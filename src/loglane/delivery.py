"""How a batch reaches one sink: holding, back-off, reporting, the last retry at close.

Runs on the writer thread only. A sink's failure stays here: it is counted, reported on stderr
at most once per ``REPORT_INTERVAL`` (and once when the sink works again), and retried with
exponential back-off while its records wait in a bounded buffer (``HELD_LIMIT``; beyond it the
oldest are given up and counted as lost).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

from loglane.channel import RawRecord, SinkState
from loglane.clock import monotonic
from loglane.format import error_text
from loglane.record import Record
from loglane.sinks.base import SinkBacklogged

HELD_LIMIT = 100_000  # records kept per failing sink before the oldest are given up
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 5.0
REPORT_INTERVAL = 10.0
CLOSE_RETRY = 3.0  # how long a draining close keeps retrying a failing sink


def stderr(text: str) -> None:
    """loglane's own complaints: never raise, whatever state stderr is in."""
    try:
        stream = sys.stderr if sys.stderr is not None else sys.__stderr__
        if stream is not None:
            stream.write(text + "\n")
            stream.flush()
    except Exception:  # stderr closed or broken: nowhere left to say it
        pass


def give(st: SinkState, recs: list[RawRecord], lines: list[str]) -> None:
    """Hand a batch to a sink, or hold it while the sink is backing off."""
    st.routed += len(recs)
    if st.closed:  # removed while the batch was on its way: nobody will write these
        st.lost += len(recs)
        return
    if st.held_records or st.failing_since is not None:
        st.held_records.extend(recs)
        st.held_lines.extend(lines)
        excess = len(st.held_records) - HELD_LIMIT
        if excess > 0:
            del st.held_records[:excess]
            del st.held_lines[:excess]
            st.lost += excess
        if monotonic() < st.next_retry:
            return
        recs, lines = st.held_records, st.held_lines
        st.held_records, st.held_lines = [], []
    write(st, recs, lines)


def write(st: SinkState, recs: list[RawRecord], lines: list[str]) -> bool:
    """Write now; on failure hold the batch (unless the sink kept it) and back off."""
    sink = st.sink
    try:
        if not st.started:
            sink.start()
            st.started = True
        records: Any = recs if sink.raw_records else [Record._make(r) for r in recs]
        sink.write(records, lines)
    except SinkBacklogged as exc:  # it took the batch and keeps what it could not write
        st.given += len(recs)
        st.backlogged = True
        gave_up(st)
        failed(st, exc.__cause__ or exc)
        return False
    except BaseException as exc:
        st.held_records[:0] = recs
        st.held_lines[:0] = lines
        failed(st, exc)
        return False
    st.given += len(recs)
    st.backlogged = False
    gave_up(st)
    if st.failing_since is not None:
        stderr(f"loglane: sink {st.describe()} works again after {st.errors} errors "
               f"({monotonic() - st.failing_since:.1f} s)")
        st.failing_since = None
        st.backoff = 0.0
        st.unreported = 0
    return True


def gave_up(st: SinkState) -> None:
    """Say (at most once per REPORT_INTERVAL) that the sink gave records up itself."""
    try:
        lost = int(st.sink.lost)
    except BaseException:
        return
    if lost == st.lost_said:
        return
    now = monotonic()
    if now - st.last_lost_report < REPORT_INTERVAL:
        return
    why = getattr(st.sink, "last_error", None)
    stderr(f"loglane: sink {st.describe()} gave up {lost - st.lost_said} record(s) it could "
           f"not write" + (f" (last: {error_text(why)})" if why is not None else ""))
    st.lost_said = lost
    st.last_lost_report = now


def failed(st: SinkState, exc: BaseException) -> None:
    """Count, back off, and say so on stderr at most once per REPORT_INTERVAL."""
    now = monotonic()
    st.errors += 1
    st.unreported += 1
    if st.failing_since is None:
        st.failing_since = now
    st.backoff = min(BACKOFF_MAX, st.backoff * 2 if st.backoff else BACKOFF_FIRST)
    st.next_retry = now + st.backoff
    if now - st.last_report >= REPORT_INTERVAL:
        st.last_report = now
        stderr(
            f"loglane: sink {st.describe()} failed: {error_text(exc)} "
            f"({st.unreported} error(s) since last report, {len(st.held_records)} record(s) "
            f"held, retrying in {st.backoff:.2f} s)"
        )
        st.unreported = 0


def retry_held(states: Iterable[SinkState]) -> bool:
    """Retry the sinks whose back-off is over; True when one of them wrote."""
    now = monotonic()
    wrote = False
    for st in states:
        if (st.held_records or st.backlogged) and not st.closed and now >= st.next_retry:
            recs, lines = st.held_records, st.held_lines
            st.held_records, st.held_lines = [], []
            wrote = write(st, recs, lines) or wrote
    return wrote


def flush(states: Iterable[SinkState]) -> None:
    for st in states:
        if st.started and not st.closed and st.failing_since is None:
            try:
                st.sink.flush()
            except SinkBacklogged as exc:  # it kept what it could not write: retry it later
                st.backlogged = True
                failed(st, exc.__cause__ or exc)
            except BaseException as exc:
                failed(st, exc)


def close(st: SinkState, drain: bool) -> None:
    """Close a sink once; draining, first retry what it still holds for up to CLOSE_RETRY."""
    if st.closed:
        return
    # Draining a failing sink: keep retrying for a while (a disk that filled up is often
    # freed soon), then say what is lost.
    deadline = monotonic() + CLOSE_RETRY
    failing = False
    while drain and (st.held_records or st.backlogged):
        recs, lines = st.held_records, st.held_lines
        st.held_records, st.held_lines = [], []
        if write(st, recs, lines):
            continue
        if monotonic() < deadline:
            time.sleep(min(st.backoff, max(deadline - monotonic(), 0.0)))
            continue
        failing = True
        stderr(f"loglane: sink {st.describe()} still failing at close; "
               f"{st.counts()['pending']} record(s) lost")
        break
    # What the writer still holds is given up (a sink's close() gives up what it keeps).
    st.lost += len(st.held_records)
    st.held_records, st.held_lines = [], []
    st.closed = True
    if st.started:
        # close() even when the last flush fails: it releases what the sink holds (a file
        # sink's shared descriptors) whatever became of its data.
        for step in (st.sink.flush, st.sink.close):
            if failing and step == st.sink.flush:
                continue
            try:
                step()
            except BaseException as exc:
                if not failing:  # (already said)
                    stderr(f"loglane: closing sink {st.describe()} failed: {error_text(exc)}")

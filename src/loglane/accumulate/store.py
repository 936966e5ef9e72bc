"""Where accumulated outcomes live: SQLite (one machine) or PostgreSQL (many), same SQL.

Exactly-once effect: :meth:`Store.add` writes a batch of messages' ids and their counts in
ONE transaction; a message id already present (a redelivery, a re-sent message) contributes
nothing. Callers acknowledge messages to the broker only after ``add`` returns.

`Test:`/`Result:` pairs split across messages are not resolved at write time: each message
stores at most two *edge events* (its first and last), and :func:`loglane.accumulate.summary`
pairs neighbouring edges when it reads. A message that arrives late simply slots in between,
so the summary is exact whatever the arrival order or the consumer that took each message.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from loglane.accumulate.backends import Db, Postgres, Sqlite, StoreError, one_line
from loglane.accumulate.limits import clean
from loglane.accumulate.parsers import Parsed, Status

__all__ = [
    "BUCKET",
    "DEFAULT_STORE",
    "FIRST",
    "LAST",
    "Contribution",
    "DeadLetter",
    "Store",
    "StoreError",
]

DEFAULT_STORE = "sqlite:///./loglane-results.db"
FIRST, LAST = 1, 2  # acc_events.edge bits: first / last event of its message
BUCKET = 60  # seconds per timeline bucket
_RETRYABLE = ("DeadlockDetected", "SerializationFailure")


@dataclass
class Contribution:
    """One message (or file) ready to be committed."""

    message_id: str
    source: str  # the name people read (a path)
    source_key: str  # the bytes' identity (path + inode): orders events across messages
    seen: float  # epoch seconds: when the log was produced, as well as we know
    parsed: Parsed
    #: the name a test gets when a source's first event is a result: the source's own name,
    #: without the host that ``source`` may be qualified with
    label: str = ""


@dataclass(frozen=True)
class DeadLetter:
    """A message (or file) set aside rather than counted: the store keeps how many and why,
    while the message itself waits in the dead-letter queue."""

    key: str  # a hash of the message's id and body: a redelivered dead letter counts once
    kind: str  # "malformed", "refused" (by the store) or "unparsable" (a parser bug)
    reason: str  # one line, inside the store's limits


_SCHEMA = """
CREATE TABLE IF NOT EXISTS acc_messages (
    message_id TEXT PRIMARY KEY, source TEXT NOT NULL, committed {real} NOT NULL);
CREATE TABLE IF NOT EXISTS acc_tests (
    name TEXT PRIMARY KEY, runs {int} NOT NULL, passes {int} NOT NULL, failures {int} NOT NULL,
    skips {int} NOT NULL, first_seen {real} NOT NULL, last_seen {real} NOT NULL);
CREATE TABLE IF NOT EXISTS acc_test_sources (
    name TEXT NOT NULL, source TEXT NOT NULL, PRIMARY KEY (name, source));
CREATE TABLE IF NOT EXISTS acc_sources (
    source TEXT PRIMARY KEY, messages {int} NOT NULL, lines {int} NOT NULL,
    recognised {int} NOT NULL, anomalies {int} NOT NULL, passes {int} NOT NULL,
    failures {int} NOT NULL, skips {int} NOT NULL, first_seen {real} NOT NULL,
    last_seen {real} NOT NULL);
CREATE TABLE IF NOT EXISTS acc_timeline (
    bucket {int} PRIMARY KEY, passes {int} NOT NULL, failures {int} NOT NULL);
CREATE TABLE IF NOT EXISTS acc_events (
    source_key TEXT NOT NULL, pos {int} NOT NULL, source TEXT NOT NULL, label TEXT NOT NULL,
    edge {int} NOT NULL,
    kind TEXT NOT NULL, value TEXT NOT NULL, seen {real} NOT NULL, PRIMARY KEY (source_key, pos));
CREATE TABLE IF NOT EXISTS acc_dead (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, reason TEXT NOT NULL, committed {real} NOT NULL)
"""


# column types of each upsert's rows: PostgreSQL gets them as one array per column
_TYPES = {
    "tests": ("text", "int8", "int8", "int8", "int8", "float8", "float8"),
    "test_sources": ("text", "text"),
    "sources": ("text", *["int8"] * 7, "float8", "float8"),
    "timeline": ("int8", "int8", "int8"),
    "events": ("text", "int8", "text", "text", "int8", "text", "text", "float8"),
    "dead": ("text", "text", "text", "float8"),
}


def _upserts(dialect: str) -> dict[str, str]:
    """One INSERT ... ON CONFLICT per table, taking its rows as ``{rows}``: row by row
    (``VALUES (?,...)``, executemany) for SQLite, whole columns (``unnest`` of arrays, a single
    statement) for PostgreSQL, where psycopg's per-row executemany cost dominated."""
    lo, hi = ("MIN", "MAX") if dialect == "sqlite" else ("LEAST", "GREATEST")

    def rows(table: str) -> str:
        types = _TYPES[table]
        if dialect == "sqlite":
            return "VALUES (" + ",".join("?" for _ in types) + ")"
        return "SELECT * FROM unnest(" + ", ".join(f"?::{t}[]" for t in types) + ")"

    def add(table: str, cols: Sequence[str]) -> str:
        return ", ".join(f"{c} = acc_{table}.{c} + excluded.{c}" for c in cols)

    def seen(table: str) -> str:
        return (
            f"first_seen = {lo}(acc_{table}.first_seen, excluded.first_seen), "
            f"last_seen = {hi}(acc_{table}.last_seen, excluded.last_seen)"
        )

    counts = ("runs", "passes", "failures", "skips")
    src = ("messages", "lines", "recognised", "anomalies", "passes", "failures", "skips")
    return {
        "tests": f"INSERT INTO acc_tests {rows('tests')} ON CONFLICT (name) DO UPDATE SET "
        f"{add('tests', counts)}, {seen('tests')}",
        # which sources a test ran in: a set, so a pair already there costs no new row version
        "test_sources": f"INSERT INTO acc_test_sources {rows('test_sources')} "
        "ON CONFLICT (name, source) DO NOTHING",
        "sources": f"INSERT INTO acc_sources {rows('sources')} ON CONFLICT (source) DO UPDATE "
        f"SET {add('sources', src)}, {seen('sources')}",
        "timeline": f"INSERT INTO acc_timeline {rows('timeline')} ON CONFLICT (bucket) "
        f"DO UPDATE SET {add('timeline', ('passes', 'failures'))}",
        "events": f"INSERT INTO acc_events {rows('events')} "
        "ON CONFLICT (source_key, pos) DO NOTHING",
        "dead": f"INSERT INTO acc_dead {rows('dead')} ON CONFLICT (key) DO NOTHING",
    }


_INDEX = {Status.PASS: 0, Status.FAIL: 1, Status.SKIP: 2}


class Store:
    """A results store opened from a URL: ``sqlite:///path``, a bare path, or
    ``postgresql://...`` (put ``?options=-csearch_path%3Dschema`` in it for a schema)."""

    def __init__(self, url: str = DEFAULT_STORE, *, create: bool = True) -> None:
        """``create=False`` is for readers: a missing SQLite file is an error, not a new store."""
        self.url = url
        self.db: Db
        if url.startswith(("postgresql://", "postgres://")):
            self.db = Postgres(url)
        elif url.startswith("sqlite://"):
            path = url[len("sqlite://") :]
            if not path.startswith("/"):
                raise StoreError(
                    f"bad SQLite URL {url!r}: use sqlite:///relative or sqlite:////abs"
                )
            self.db = Sqlite(path[1:] or ":memory:", create)
        elif "://" in url:
            raise StoreError(f"unknown store URL {url!r}: use sqlite:///PATH or postgresql://...")
        else:
            self.db = Sqlite(url, create)
        self._sql = _upserts(self.db.dialect)
        if create:
            self._create()
        # (test, source) pairs this process has committed: most batches repeat them, and
        # not sending them again saves the bulk of each transaction's rows
        self._known_pairs: set[tuple[str, str]] = set()
        self._pending_pairs: set[tuple[str, str]] = set()

    def _create(self) -> None:
        types = {"real": "REAL", "int": "INTEGER"}
        if self.db.dialect == "postgresql":
            types = {"real": "DOUBLE PRECISION", "int": "BIGINT"}
        try:
            self.db.begin()
            if self.db.dialect == "postgresql":
                # consumers starting together would race on CREATE TABLE IF NOT EXISTS
                self.db.execute("SELECT pg_advisory_xact_lock(7310250)")
            for stmt in _SCHEMA.format(**types).split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            self.db.commit()
        except Exception as exc:
            self._rollback()
            raise StoreError(f"cannot create the store's tables: {one_line(exc)}") from None

    def close(self) -> None:
        self.db.close()

    def own_files(self) -> set[str]:
        """The real paths of the store's own files, which a directory walk must skip."""
        path = getattr(self.db, "path", ":memory:")
        if path == ":memory:":
            return set()
        base = os.path.realpath(path)
        return {base + suffix for suffix in ("", "-wal", "-shm", "-journal", ".lock")}

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, items: Sequence[Contribution]) -> int:
        """Commit ``items`` in one transaction; returns how many were new (not seen before)."""
        if not items:
            return 0
        for attempt in range(5):
            try:
                self.db.begin()
                fresh = self._insert_ids(items)
                self._pending_pairs = set()
                self._write(fresh)
                self.db.commit()
                if len(self._known_pairs) > 1_000_000:
                    self._known_pairs.clear()  # bounded memory; re-sending is merely slower
                self._known_pairs |= self._pending_pairs
                return len(fresh)
            except Exception as exc:
                usable = self._rollback()
                # concurrent PostgreSQL writers can deadlock on the shared counter rows;
                # the transaction was rolled back whole, so doing it again is safe
                if usable and attempt < 4 and type(exc).__name__ in _RETRYABLE:
                    time.sleep(0.05 * (attempt + 1))
                    continue
                refused = usable and self.db.refuses(exc)
                raise StoreError(
                    f"cannot write to the store: {one_line(exc)}", refused=refused
                ) from None
        raise AssertionError("unreachable")

    def add_isolating(
        self, items: Sequence[Contribution]
    ) -> tuple[int, list[tuple[Contribution, str]]]:
        """Commit ``items``, leaving out each one the store refuses: (new, [(refused, why)]).

        A refused batch is halved and each half committed again, down to single messages, so
        k refusals in n messages cost about k·log2(n) extra transactions and every other
        message is committed. A store that fails for any other reason (unreachable, disk
        full) raises :class:`StoreError` as :meth:`add` does: no message is at fault then.
        """
        try:
            return self.add(items), []
        except StoreError as exc:
            if not exc.refused:
                raise
            if len(items) == 1:
                why = str(exc).removeprefix("cannot write to the store: ")
                return 0, [(items[0], f"the store refused it: {why}")]
        half = len(items) // 2
        new_a, refused_a = self.add_isolating(items[:half])
        new_b, refused_b = self.add_isolating(items[half:])
        return new_a + new_b, refused_a + refused_b

    def add_dead(self, letters: Sequence[DeadLetter]) -> None:
        """Record dead letters (idempotent by key) in one transaction."""
        if not letters:
            return
        now = time.time()
        rows = sorted({(d.key, d.kind, clean(d.reason)[:500], now) for d in letters})
        try:
            self.db.begin()
            self.db.upsert(self._sql["dead"], rows)
            self.db.commit()
        except Exception as exc:
            self._rollback()
            raise StoreError(f"cannot write to the store: {one_line(exc)}") from None

    def _rollback(self) -> bool:
        """Roll back after a failure; False when even that fails (the connection is gone),
        which is then no refusal of the data: the store itself is unusable."""
        try:
            self.db.rollback()
        except Exception:
            return False
        return True

    def _insert_ids(self, items: Sequence[Contribution]) -> list[Contribution]:
        now = time.time()
        returned: set[str] = set()
        for chunk in _chunks(items, 500):
            values = ",".join("(?,?,?)" for _ in chunk)
            params = [v for c in chunk for v in (c.message_id, c.source, now)]
            rows = self.db.execute(
                f"INSERT INTO acc_messages VALUES {values} "
                "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                params,
            )
            returned.update(r[0] for r in rows)
        fresh = []
        for c in items:  # the same id twice in one batch: the first copy counts
            if c.message_id in returned:
                returned.discard(c.message_id)
                fresh.append(c)
        return fresh

    def _write(self, items: Sequence[Contribution]) -> None:
        # Count (outcome, source, second) keys with Counter, in C: a batch has thousands of
        # outcomes but far fewer distinct keys, and the Python loop below runs per key.
        keyed: Counter[tuple[tuple[str, Status], tuple[str, int]]] = Counter()
        sources: dict[str, list[Any]] = {}
        events: list[tuple[Any, ...]] = []
        for c in items:
            p = c.parsed
            seen = int(c.seen)
            src = sources.get(c.source)
            if src is None:
                src = sources[c.source] = [0, 0, 0, 0, 0, 0, 0, seen, seen]
            src[0] += 1
            src[1] += p.lines
            src[2] += p.recognised
            src[3] += p.anomalies
            src[7], src[8] = min(src[7], seen), max(src[8], seen)
            if p.outcomes:
                keyed.update(zip(p.outcomes, repeat((c.source, seen))))
            if p.first is not None and p.last is not None:
                one = p.first.offset == p.last.offset  # a single event is both edges
                for ev, bit in ((p.first, FIRST), (p.last, LAST)):
                    edge = FIRST | LAST if one else bit
                    label = c.label or c.source
                    row = (c.source_key, ev.offset, c.source, label, edge, ev.kind, ev.value, seen)
                    events.append(row)
                    if one:
                        break
        tests: dict[str, list[Any]] = {}  # name -> [pass, fail, skip, first, last]
        pairs: set[tuple[str, str]] = set()  # (name, source) not yet known to be stored
        timeline: dict[int, list[int]] = {}  # bucket -> [pass, fail]
        for ((name, status), (source, seen)), n in keyed.items():
            i = _INDEX[status]
            t = tests.get(name)
            if t is None:
                t = tests[name] = [0, 0, 0, seen, seen]
            t[i] += n
            if seen < t[3]:
                t[3] = seen
            elif seen > t[4]:
                t[4] = seen
            if (name, source) not in self._known_pairs:
                pairs.add((name, source))
            sources[source][4 + i] += n
            if i < 2:
                tl = timeline.get(seen // BUCKET * BUCKET)
                if tl is None:
                    tl = timeline[seen // BUCKET * BUCKET] = [0, 0]
                tl[i] += n
        # sorted keys: concurrent PostgreSQL writers lock shared rows in one order (no deadlock)
        sql = self._sql
        self.db.upsert(
            sql["tests"],
            [(k, p + f, p, f, s, lo, hi) for k, (p, f, s, lo, hi) in sorted(tests.items())],
        )
        self.db.upsert(sql["test_sources"], sorted(pairs))
        self._pending_pairs = pairs
        self.db.upsert(sql["sources"], [(k, *v) for k, v in sorted(sources.items())])
        self.db.upsert(sql["timeline"], [(k, *v) for k, v in sorted(timeline.items())])
        if events:
            self.db.upsert(sql["events"], sorted(events))

    def read(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table's rows, read in one transaction so they agree with each other."""
        tables = {
            "tests": "SELECT * FROM acc_tests",
            "test_sources": "SELECT * FROM acc_test_sources",
            "sources": "SELECT * FROM acc_sources",
            "timeline": "SELECT * FROM acc_timeline ORDER BY bucket",
            "events": "SELECT * FROM acc_events ORDER BY source_key, pos",
            "messages": "SELECT COUNT(*) FROM acc_messages",
            "dead": "SELECT kind, COUNT(*) FROM acc_dead GROUP BY kind ORDER BY kind",
        }
        try:
            if self.db.dialect == "postgresql":
                self.db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            else:
                self.db.execute("BEGIN")
            if not self.db.has_table("acc_dead"):  # a store from before dead letters
                del tables["dead"]
            out = {name: self.db.execute(sql) for name, sql in tables.items()}
            out.setdefault("dead", [])
            self.db.rollback()
            return out
        except Exception as exc:
            self._rollback()
            raise StoreError(f"cannot read the store: {one_line(exc)}") from None


def _chunks(items: Sequence[Contribution], size: int) -> Iterator[Sequence[Contribution]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

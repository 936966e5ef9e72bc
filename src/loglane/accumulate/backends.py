"""The two SQL databases a store can live in, behind one small interface.

SQLite for one machine (WAL, ``synchronous=FULL``, writers queued on a lock file), PostgreSQL
(psycopg 3) when consumers on many machines share one store. The SQL itself is in store.py.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Sequence
from typing import Any, Protocol


class StoreError(Exception):
    """The store cannot be opened or written; the message says why, on one line.

    ``refused`` says the store turned down the data itself (a value out of its range, text
    it cannot hold), not that it is unreachable or broken: only then does leaving the
    offending message out help, and only then may a caller set a message aside.
    """

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


class Db(Protocol):
    dialect: str

    def begin(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def upsert(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def close(self) -> None: ...
    def refuses(self, exc: BaseException) -> bool: ...
    def has_table(self, name: str) -> bool: ...


# Python-side refusals while binding values: an int past 64 bits, an unencodable string
_BINDING = (OverflowError, ValueError)


class Sqlite:
    dialect = "sqlite"

    def __init__(self, path: str, create: bool = True) -> None:
        if not create and path != ":memory:" and not os.path.exists(path):
            raise StoreError(f"no store at {path}")
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(parent):
                raise StoreError(f"store directory does not exist: {parent}")
        # Writers queue on a lock file: SQLite's own busy handler sleeps in steps of up to
        # 100 ms, which halved the throughput of two consumers; flock wakes at once. Opening
        # holds it too: two processes switching a new store to WAL at once get "database is
        # locked" at once, busy timeout or not.
        self._lock = -1
        if path != ":memory:":
            try:
                self._lock = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"cannot open {path}.lock: {exc.strerror}") from None
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            # autocommit mode: transactions are ours, BEGIN IMMEDIATE takes the write lock up
            # front so two writers wait (busy timeout) instead of failing to upgrade a lock
            self.conn = sqlite3.connect(path, timeout=60.0, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before we ack the broker, even across a power cut
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=60000")
        except sqlite3.Error as exc:
            self._unlock()
            if self._lock >= 0:
                os.close(self._lock)
                self._lock = -1
            raise StoreError(f"cannot open SQLite store {path}: {exc}") from None
        self._unlock()
        self.path = path

    def begin(self) -> None:
        if self._lock >= 0:
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        if self._lock >= 0:
            fcntl.flock(self._lock, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            self.conn.execute("COMMIT")
        finally:
            self._unlock()

    def rollback(self) -> None:
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        finally:
            self._unlock()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    upsert = executemany

    def refuses(self, exc: BaseException) -> bool:
        """The data's fault: too big, out of range, unencodable, a broken constraint."""
        return isinstance(exc, (*_BINDING, sqlite3.DataError, sqlite3.IntegrityError))

    def has_table(self, name: str) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return bool(self.execute(sql, (name,)))

    def close(self) -> None:
        self.conn.close()
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1


class Postgres:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "a postgresql:// store needs psycopg: pip install 'psycopg[binary]'"
            ) from None
        try:
            self.conn = psycopg.connect(url, autocommit=False, connect_timeout=10)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot connect to PostgreSQL store: {first}") from None

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def begin(self) -> None:
        pass  # psycopg opens a transaction on the first statement

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.execute(self._sql(sql), params)
        return cur.fetchall() if cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(sql), rows)

    def upsert(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:  # rows -> one list per column, for unnest()
            self.conn.execute(self._sql(sql), [list(col) for col in zip(*rows, strict=True)])

    def refuses(self, exc: BaseException) -> bool:
        """The data's fault: SQLSTATE class 22 (data exception, which psycopg also raises
        for NUL in text), 23 (integrity) or 54 (a program limit, such as an index row too
        large); never a lost connection, a deadlock or a failing server."""
        import psycopg

        if isinstance(exc, (*_BINDING, psycopg.DataError, psycopg.IntegrityError)):
            return True
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in ("22", "23", "54")

    def has_table(self, name: str) -> bool:
        rows = self.execute("SELECT to_regclass(?) IS NOT NULL", (name,))
        return bool(rows and rows[0][0])

    def close(self) -> None:
        self.conn.close()


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""The database under the state store: one small interface, two implementations.

The store's SQL is written once, portable between SQLite and PostgreSQL, with ``?`` placeholders
and ``rowid`` for insertion order; each implementation translates what it must (see
``batchctl.core.state.postgres``). Rows come back as plain dicts. Every database error becomes a
``StateError`` (exit 7) naming the store by its masked location, never a password.

Besides transactions, the interface has locks that outlive a transaction and die with the
process, so a ``kill -9`` never leaves one behind: ``hold`` and ``take`` (wait for it) and
``try_hold`` (skip if taken). SQLite takes them with POSIX record locks on a file beside the database;
PostgreSQL with session advisory locks, which work across machines.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from batchctl.core.errors import StateError

BUSY_TIMEOUT_MS = 30_000
Row = dict[str, Any]


def lock_number(key: str) -> int:
    """A stable signed 64-bit number for a lock name."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


class Tx:
    """One write transaction: statements, reads, and a lock held until it ends."""

    dialect: str

    def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, args)
        return rows[0] if rows else None

    def lock(self, key: str) -> None:
        """Serialize this transaction with every other that locks ``key``."""
        raise NotImplementedError


class Database:
    """What the store needs of a database."""

    dialect: str
    #: Where the store is, for messages (a URL's password masked).
    location: str
    #: Locks taken with ``try_hold`` end with their process, wherever it runs: a claim row whose
    #: lock can be taken is stale by definition. False: staleness is judged from the row.
    locks_follow_sessions: bool = False

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def transaction(self) -> Any:  # a context manager yielding a Tx
        raise NotImplementedError

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """An exclusive lock on ``key`` for the span of the ``with``, waiting for it if another
        process holds it."""
        if not self.try_hold(key):
            self.take(key)
        try:
            yield
        finally:
            self.unhold(key)

    def try_hold(self, key: str) -> bool:
        """Take the lock on ``key`` if it is free; release it with ``unhold``."""
        raise NotImplementedError

    def take(self, key: str) -> None:
        """Take the lock on ``key``, waiting while another process holds it; release it with
        ``unhold``."""
        raise NotImplementedError

    def unhold(self, key: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _secure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _secure_file(path: Path) -> None:
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


class SQLiteTx(Tx):
    dialect = "sqlite"

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        self.db.conn.execute(sql, tuple(args))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self.db.conn.execute(sql, tuple(args)).fetchall()]

    def lock(self, key: str) -> None:
        pass  # BEGIN IMMEDIATE already keeps every other writer out


class SQLiteDatabase(Database):
    """One SQLite file: WAL and a busy timeout because cron jobs overlap; 0600 files."""

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.location = str(path)
        self._lock_fd: int | None = None

    @classmethod
    def open(cls, path: Path) -> SQLiteDatabase:
        try:
            _secure_dir(path.parent)
            _secure_file(path)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise cls._unusable(path, exc) from exc
        except OSError as exc:
            raise StateError(f"cannot create the state store at {path}: {exc}") from exc
        return cls(conn, path)

    @classmethod
    def open_readonly(cls, path: Path, *, timeout: float = 1.0) -> SQLiteDatabase | None:
        """An existing file, read only; None if there is none or it cannot be opened."""
        if not path.is_file():
            return None
        try:
            conn = sqlite3.connect(
                f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=timeout,
                isolation_level=None,
            )
            conn.row_factory = sqlite3.Row
        except sqlite3.DatabaseError:
            return None
        return cls(conn, path)

    @staticmethod
    def _unusable(path: Path, exc: Exception) -> StateError:
        return StateError(
            f"the state store {path} cannot be used: {exc}",
            hint="move it aside to start afresh (batches keep running on the server)",
        )

    def after_migrate(self) -> None:
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            return [dict(r) for r in self.conn.execute(sql, tuple(args)).fetchall()]
        except sqlite3.DatabaseError as exc:
            raise StateError(f"could not read the state store {self.path}: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A short write transaction; waits for other writers up to the busy timeout."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"the state store {self.path} is busy: {exc}") from exc
        try:
            yield SQLiteTx(self)
        except sqlite3.IntegrityError as exc:
            self.conn.execute("ROLLBACK")
            raise StateError(f"the state store {self.path} refused a row: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            self.conn.execute("ROLLBACK")
            raise self._unusable(self.path, exc) from exc
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise StateError(f"could not write the state store {self.path}: {exc}") from exc

    # -- locks: one byte of ``<db>.lock`` per key (a collision only makes two keys wait on
    #    each other); POSIX record locks vanish with their process.
    def _range(self, key: str) -> tuple[int, int]:
        if self._lock_fd is None:
            lock_path = self.path.with_name(self.path.name + ".lock")
            self._lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._lock_fd, lock_number(key) & 0x3FFFFFFF

    def take(self, key: str) -> None:
        fd, offset = self._range(key)
        fcntl.lockf(fd, fcntl.LOCK_EX, 1, offset)

    def try_hold(self, key: str) -> bool:
        fd, offset = self._range(key)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:
            return False
        return True

    def unhold(self, key: str) -> None:
        fd, offset = self._range(key)
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)

    def close(self) -> None:
        self.conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

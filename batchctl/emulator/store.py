"""The emulator's persistence: one SQLite file (WAL) plus a plan and a results file per batch,
and a cache file for a batch whose requests have cache markers (emulator.cachesim).

Several processes may open the same data directory at once (``batchctl submit`` and
``batchctl status`` with the in-process mount), so every write is a short SQLite transaction and
every file is written to a temporary name and renamed into place. Deleted batches keep a
tombstone row so that a list cursor naming them still works; their plan and results are removed,
their cache file is kept (deleting a batch does not empty the prompt cache, and later batches'
hits must not depend on when an earlier one was deleted).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from batchctl.emulator.outcomes import Timeline

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    request_count INTEGER NOT NULL,
    processing_seconds REAL NOT NULL,
    cancel_seconds REAL NOT NULL,
    expiry_seconds REAL NOT NULL,
    archive_seconds REAL NOT NULL,
    api_version TEXT,
    cancel_initiated_at REAL,
    deleted_at REAL,
    final_counts TEXT
);
CREATE TABLE IF NOT EXISTS message_cache (
    hash TEXT PRIMARY KEY,
    ends_at REAL NOT NULL,
    ttl REAL NOT NULL
);
"""
#: When a batch ends (Timeline.ends_at), in SQL.
_ENDS_AT = ("MIN(created_at + processing_seconds, created_at + expiry_seconds,"
            " COALESCE(cancel_initiated_at + cancel_seconds, created_at + expiry_seconds))")
_COLUMNS = (
    "seq, id, created_at, request_count, processing_seconds, cancel_seconds, expiry_seconds,"
    " archive_seconds, api_version, cancel_initiated_at, deleted_at, final_counts"
)


@dataclass(frozen=True)
class BatchRow:
    seq: int
    id: str
    created_at: float
    request_count: int
    processing_seconds: float
    cancel_seconds: float
    expiry_seconds: float
    archive_seconds: float
    api_version: str | None
    cancel_initiated_at: float | None
    deleted_at: float | None
    final_counts: dict[str, int] | None

    @classmethod
    def from_sql(cls, row: tuple[Any, ...]) -> BatchRow:
        counts = orjson.loads(row[11]) if row[11] else None
        return cls(*[*row[:11], counts])

    @property
    def timeline(self) -> Timeline:
        return Timeline(
            created_at=self.created_at,
            processing_seconds=self.processing_seconds,
            cancel_seconds=self.cancel_seconds,
            expiry_seconds=self.expiry_seconds,
            archive_seconds=self.archive_seconds,
            cancel_initiated_at=self.cancel_initiated_at,
        )


def write_atomic(path: Path, chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class Store:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.plans_dir = self.data_dir / "plans"
        self.results_dir = self.data_dir / "results"
        self.tmp_dir = self.data_dir / "tmp"
        self.cache_dir = self.data_dir / "cache"
        for directory in (self.data_dir, self.plans_dir, self.results_dir, self.tmp_dir,
                          self.cache_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "emulator.sqlite3"
        self._local = threading.local()
        with self._write() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    # -- connections -------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            self._local.db = db
        return db

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self) -> sqlite3.Connection:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            self.db.execute("ROLLBACK" if exc_type is not None else "COMMIT")

    def _write(self) -> Store._Tx:
        return Store._Tx(self._db())

    # -- batches -----------------------------------------------------------------------------

    def plan_path(self, batch_id: str) -> Path:
        return self.plans_dir / f"{batch_id}.json"

    def results_path(self, batch_id: str) -> Path:
        return self.results_dir / f"{batch_id}.jsonl"

    def cache_path(self, batch_id: str) -> Path:
        return self.cache_dir / f"{batch_id}.json"

    def create(
        self,
        batch_id: str,
        *,
        created_at: float,
        request_count: int,
        timing: Timeline,
        api_version: str | None,
        build_plan: Callable[[int], bytes],
        admit: Callable[[list[tuple[float, int]]], None] | None = None,
    ) -> BatchRow:
        """Insert a batch; ``build_plan(seq)`` makes its plan file inside the same transaction.

        ``admit(unended)`` runs first, in the transaction, with (ends_at, request_count) of
        every batch not ended at ``created_at``; it raises to refuse the batch."""
        with self._write() as db:
            if admit is not None:
                admit(self._unended(db, created_at))
            cursor = db.execute(
                "INSERT INTO batches (id, created_at, request_count, processing_seconds, cancel_seconds,"
                " expiry_seconds, archive_seconds, api_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch_id,
                    created_at,
                    request_count,
                    timing.processing_seconds,
                    timing.cancel_seconds,
                    timing.expiry_seconds,
                    timing.archive_seconds,
                    api_version,
                ),
            )
            seq = cursor.lastrowid
            assert seq is not None
            write_atomic(self.plan_path(batch_id), [build_plan(seq)])
        row = self.get(batch_id)
        assert row is not None
        return row

    @staticmethod
    def _unended(db: sqlite3.Connection, now: float) -> list[tuple[float, int]]:
        """(ends_at, request_count) of the batches not ended at ``now`` (Timeline.ends_at)."""
        rows = db.execute(
            f"SELECT {_ENDS_AT}, request_count FROM batches WHERE deleted_at IS NULL"
        ).fetchall()
        return [(float(end), int(count)) for end, count in rows if end > now]

    def overlapping(self, start: float, end: float, exclude_seq: int) -> list[BatchRow]:
        """The batches, deleted ones too, created by ``end`` and ended after ``start``, but the
        one numbered ``exclude_seq``."""
        rows = self._db().execute(
            f"SELECT {_COLUMNS} FROM batches WHERE seq != ? AND created_at <= ? AND {_ENDS_AT} > ?"
            " ORDER BY seq", (exclude_seq, end, start)).fetchall()
        return [BatchRow.from_sql(r) for r in rows]

    def touch_message_cache(self, hashes: list[str], now: float,
                            touch: Callable[[dict[str, float]], dict[str, float]]) -> None:
        """In one transaction: ``touch(live)``, given the entries among ``hashes`` of the single
        messages' cache live at ``now`` (hash -> TTL), names the entries it reads or writes
        (hash -> TTL); each then lives until ``now`` + its TTL at least."""
        with self._write() as db:
            marks = ",".join("?" * len(hashes))
            live = dict(db.execute(f"SELECT hash, ttl FROM message_cache WHERE ends_at > ? AND hash"
                                   f" IN ({marks})", (now, *hashes)).fetchall()) if hashes else {}
            touched = touch(live)
            db.execute("DELETE FROM message_cache WHERE ends_at <= ?", (now,))
            db.executemany(
                "INSERT INTO message_cache (hash, ends_at, ttl) VALUES (?, ?, ?) ON CONFLICT (hash)"
                " DO UPDATE SET ends_at = MAX(ends_at, excluded.ends_at), ttl = MAX(ttl, excluded.ttl)",
                [(digest, now + ttl, ttl) for digest, ttl in touched.items()])

    def count(self) -> int:
        """Batches ever created here, deleted ones included."""
        return int(self._db().execute("SELECT COUNT(*) FROM batches").fetchone()[0])

    def get(self, batch_id: str, *, include_deleted: bool = False) -> BatchRow | None:
        found = self._db().execute(f"SELECT {_COLUMNS} FROM batches WHERE id = ?", (batch_id,)).fetchone()
        if found is None:
            return None
        row = BatchRow.from_sql(found)
        if row.deleted_at is not None and not include_deleted:
            return None
        return row

    def page(
        self, limit: int, *, after_seq: int | None = None, before_seq: int | None = None
    ) -> tuple[list[BatchRow], bool]:
        """Newest first. ``after_seq``: older than the cursor; ``before_seq``: newer than it."""
        db = self._db()
        live = "deleted_at IS NULL"
        if before_seq is not None:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE {live} AND seq > ? ORDER BY seq ASC LIMIT ?",
                (before_seq, limit + 1),
            ).fetchall()
            has_more = len(rows) > limit
            rows = list(reversed(rows[:limit]))
        else:
            bound = after_seq if after_seq is not None else -1
            where = f"{live} AND seq < ?" if after_seq is not None else f"{live} AND seq > ?"
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE {where} ORDER BY seq DESC LIMIT ?", (bound, limit + 1)
            ).fetchall()
            has_more = len(rows) > limit
            rows = rows[:limit]
        return [BatchRow.from_sql(r) for r in rows], has_more

    def set_cancel(self, batch_id: str, when: float) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE batches SET cancel_initiated_at = ? WHERE id = ? AND cancel_initiated_at IS NULL",
                (when, batch_id),
            )

    def mark_deleted(self, batch_id: str, when: float) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE batches SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL", (when, batch_id)
            )
        for path in (self.plan_path(batch_id), self.results_path(batch_id)):
            try:
                path.unlink()
            except FileNotFoundError:
                pass

    def save_counts(self, batch_id: str, counts: dict[str, int]) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE batches SET final_counts = ? WHERE id = ?",
                (orjson.dumps(counts).decode(), batch_id),
            )

    def read_plan(self, batch_id: str) -> bytes:
        return self.plan_path(batch_id).read_bytes()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

"""The local state store: one SQLite file mapping every batch to the request file that made it.

WAL mode and a busy timeout because cron jobs overlap; short ``BEGIN IMMEDIATE`` transactions;
append-only migrations (``batchctl.core.state.migrations``); the directory is created 0700 and the
files 0600. The API key is never stored. Rows come back as plain dicts.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from batchctl.core.clock import Clock, SystemClock
from batchctl.core.errors import NotFoundError, StateError
from batchctl.core.state.migrations import migrate
from batchctl.core.settings import DB_NAME

BUSY_TIMEOUT_MS = 30_000
BATCH_PREFIX = "msgbatch_"
JOB_PREFIX = "job_"

# Fields of the API's MessageBatch kept on each row (last seen).
REMOTE_FIELDS = (
    "processing_status",
    "created_at",
    "expires_at",
    "ended_at",
    "cancel_initiated_at",
    "archived_at",
    "results_url",
)


def new_job_id() -> str:
    return JOB_PREFIX + secrets.token_hex(6)


def _secure_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _secure_file(path: Path) -> None:
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for key in ("request_counts", "betas"):
        if key in out and isinstance(out[key], str):
            out[key] = json.loads(out[key])
    return out


class Store:
    """One connection per process; open with ``Store.open(state_dir)``."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock) -> None:
        self.conn = conn
        self.path = path
        self.clock = clock

    @classmethod
    def open(cls, state_dir: Path, *, clock: Clock | None = None) -> Store:
        path = Path(state_dir) / DB_NAME
        try:
            _secure_dir(path.parent)
            _secure_file(path)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path, clock or SystemClock())
            with store.transaction():
                migrate(conn, store.clock.time())
            for suffix in ("-wal", "-shm"):
                side = path.with_name(path.name + suffix)
                if side.exists():
                    os.chmod(side, 0o600)
            return store
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"the state store {path} cannot be used: {exc}",
                hint="move it aside to start afresh (batches keep running on the server)",
            ) from exc
        except OSError as exc:
            raise StateError(f"cannot create the state store at {path}: {exc}") from exc

    @classmethod
    def open_readonly(
        cls, state_dir: Path, *, clock: Clock | None = None, timeout: float = 1.0
    ) -> Store | None:
        """An existing store opened for reading only (shell completion): never creates the
        file, never migrates, waits at most ``timeout`` s for a lock. None if there is none."""
        path = Path(state_dir) / DB_NAME
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
        return cls(conn, path, clock or SystemClock())

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A short write transaction; waits for other writers up to the busy timeout."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StateError(f"the state store {self.path} is busy: {exc}") from exc
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise StateError(f"could not write the state store {self.path}: {exc}") from exc

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            return [_row(r) for r in self.conn.execute(sql, args).fetchall()]  # type: ignore[misc]
        except sqlite3.DatabaseError as exc:
            raise StateError(f"could not read the state store {self.path}: {exc}") from exc

    # -- jobs ---------------------------------------------------------------------------------
    def insert_job(self, **fields: Any) -> dict[str, Any]:
        """Insert a job row (id, base_url, request_file, source, sha256, byte_size,
        request_count, part_count, split_key, label, betas, parent_batch_id)."""
        fields.setdefault("id", new_job_id())
        fields.setdefault("created_at", self.clock.time())
        if "betas" in fields and not isinstance(fields["betas"], str):
            fields["betas"] = json.dumps(list(fields["betas"] or []))
        self._insert("jobs", fields)
        return self.get_job(fields["id"])  # type: ignore[return-value]

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return rows[0] if rows else None

    def find_job(self, *, sha256: str, split_key: str, base_url: str) -> dict[str, Any] | None:
        """The newest job that submitted exactly this content, split this way, to this API."""
        rows = self._query(
            "SELECT * FROM jobs WHERE sha256 = ? AND split_key = ? AND base_url = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (sha256, split_key, base_url),
        )
        return rows[0] if rows else None

    # -- intents: recorded before each create, closed with the batch id it produced -----------
    def open_intent(self, *, job_id: str, part: int, request_count: int) -> dict[str, Any]:
        now = self.clock.time()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO intents (job_id, part, request_count, created_at, state) "
                "VALUES (?, ?, ?, ?, 'open') ON CONFLICT(job_id, part) DO UPDATE SET "
                "attempts = attempts + 1, updated_at = ?",
                (job_id, part, request_count, now, now),
            )
        return self.get_intent(job_id, part)  # type: ignore[return-value]

    def get_intent(self, job_id: str, part: int) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM intents WHERE job_id = ? AND part = ?", (job_id, part))
        return rows[0] if rows else None

    def intents(self, job_id: str) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM intents WHERE job_id = ? ORDER BY part", (job_id,))

    # -- batches ------------------------------------------------------------------------------
    def record_batch(self, batch: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
        """Insert a batch row from the API's batch dict plus the local fields (job_id, part,
        base_url, request_file, sha256, byte_size, first_line, last_line, start_offset,
        end_offset, request_count, label, parent_id), and close the part's intent, atomically."""
        now = self.clock.time()
        row = dict(fields)
        row["id"] = batch["id"]
        row["submitted_at"] = now
        row.update(self._remote(batch, now))
        with self.transaction() as conn:
            self._insert("batches", row, conn=conn)
            conn.execute(
                "UPDATE intents SET state = 'done', batch_id = ?, updated_at = ? "
                "WHERE job_id = ? AND part = ?",
                (batch["id"], now, row["job_id"], row["part"]),
            )
        return self.get_batch(batch["id"])  # type: ignore[return-value]

    def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM batches WHERE id = ?", (batch_id,))
        return rows[0] if rows else None

    def job_batches(self, job_id: str) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM batches WHERE job_id = ? ORDER BY part", (job_id,))

    def resolve(self, ref: str, *, base_url: str | None = None) -> list[dict[str, Any]]:
        """The tracked batches a user's ID|JOB argument names, in part order.

        Raises NotFoundError (exit 5) when the store knows nothing of it. An id the store does
        not know may still exist remotely: callers that can work without the store catch this.
        """
        ref = ref.strip()
        if ref.startswith(JOB_PREFIX):
            rows = self.job_batches(ref)
        else:
            one = self.get_batch(ref)
            rows = [one] if one else []
        if base_url is not None:
            rows = [r for r in rows if r["base_url"] == base_url]
        if not rows:
            kind = "job" if ref.startswith(JOB_PREFIX) else "batch"
            raise NotFoundError(
                f"no tracked {kind} {ref!r}" + (f" for {base_url}" if base_url else ""),
                hint="`batchctl list --local` shows what this state store tracks",
            )
        return rows

    def batches(
        self,
        *,
        base_url: str | None = None,
        uncollected: bool = False,
        include_deleted: bool = False,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """Tracked batches, newest first."""
        where, args = [], []
        if base_url is not None:
            where.append("base_url = ?")
            args.append(base_url)
        if uncollected:
            where.append("collected_at IS NULL")
        if not include_deleted:
            where.append("deleted_at IS NULL")
        if status:
            where.append("processing_status = ?")
            args.append(status)
        sql = "SELECT * FROM batches"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._query(sql + " ORDER BY submitted_at DESC, rowid DESC", args)

    def ref_candidates(
        self, prefix: str, *, base_url: str | None = None, limit: int = 100
    ) -> list[tuple[str, str]]:
        """``(id, description)`` of tracked batches and jobs whose id starts with ``prefix``,
        newest first (for shell completion)."""
        where = "deleted_at IS NULL" + (" AND base_url = ?" if base_url is not None else "")
        args = [len(prefix), prefix] + ([base_url] if base_url is not None else []) + [limit]
        out = []
        for row in self._query(
            f"SELECT id, label, processing_status FROM batches WHERE substr(id, 1, ?) = ? "
            f"AND {where} ORDER BY submitted_at DESC, rowid DESC LIMIT ?",
            args,
        ):
            text = " ".join(str(v) for v in (row["label"], row["processing_status"]) if v)
            out.append((row["id"], text or "batch"))
        for row in self._query(
            f"SELECT job_id, MAX(label) AS label, COUNT(*) AS n FROM batches "
            f"WHERE substr(job_id, 1, ?) = ? AND {where} GROUP BY job_id "
            f"ORDER BY MAX(submitted_at) DESC LIMIT ?",
            args,
        ):
            text = f"job of {row['n']} batch{'es' if row['n'] != 1 else ''}"
            out.append((row["job_id"], f"{row['label']}: {text}" if row["label"] else text))
        return out

    def update_remote(self, batch: Mapping[str, Any]) -> None:
        """Remember what the API last said of a tracked batch (no-op for untracked ids)."""
        now = self.clock.time()
        fields = self._remote(batch, now)
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as conn:
            conn.execute(f"UPDATE batches SET {sets} WHERE id = ?", (*fields.values(), batch["id"]))

    def mark_collected(self, batch_id: str, results_path: str | None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE batches SET results_path = ?, collected_at = ? WHERE id = ?",
                (results_path, self.clock.time(), batch_id),
            )

    def mark_deleted(self, batch_id: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE batches SET deleted_at = ? WHERE id = ?", (self.clock.time(), batch_id)
            )

    # -- retry lineage: a retry job resends failed requests of one parent batch ---------------
    def set_adoption(self, batch_id: str, adoption: str) -> None:
        """Record what checking an adopted batch's results found ('verified' or 'foreign')."""
        with self.transaction() as conn:
            conn.execute("UPDATE batches SET adoption = ? WHERE id = ?", (adoption, batch_id))

    def set_parent(self, job_id: str, parent_batch_id: str) -> None:
        """Record ``parent_batch_id`` as the parent of a job and of every batch it made."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET parent_batch_id = ? WHERE id = ?", (parent_batch_id, job_id)
            )
            conn.execute(
                "UPDATE batches SET parent_id = ? WHERE job_id = ?", (parent_batch_id, job_id)
            )

    def children(self, batch_id: str) -> list[dict[str, Any]]:
        """The retry batches whose parent is ``batch_id``, oldest first."""
        return self._query(
            "SELECT * FROM batches WHERE parent_id = ? AND deleted_at IS NULL "
            "ORDER BY submitted_at, rowid",
            (batch_id,),
        )

    # -- collect claims: one collector per batch at a time (see core/jobs/collect.py) -------------
    def claim(
        self, batch_id: str, owner: str, *, is_stale: Callable[[dict[str, Any]], bool]
    ) -> bool:
        """Claim an uncollected batch for ``owner``, atomically. False if it was collected
        meanwhile, or another owner holds a claim that ``is_stale`` says is still live."""
        now = self.clock.time()
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT collected_at FROM batches WHERE id = ?", (batch_id,)
            ).fetchone()
            if row is None or row["collected_at"] is not None:
                return False
            held = conn.execute("SELECT * FROM claims WHERE batch_id = ?", (batch_id,)).fetchone()
            if held is not None and held["owner"] != owner and not is_stale(dict(held)):
                return False
            conn.execute(
                "INSERT INTO claims (batch_id, owner, claimed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (batch_id) DO UPDATE SET owner = excluded.owner, "
                "claimed_at = excluded.claimed_at",
                (batch_id, owner, now),
            )
        return True

    def release(self, batch_id: str, owner: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM claims WHERE batch_id = ? AND owner = ?", (batch_id, owner))

    def claims(self) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM claims ORDER BY claimed_at")

    # -- helpers ------------------------------------------------------------------------------
    @staticmethod
    def _remote(batch: Mapping[str, Any], now: float) -> dict[str, Any]:
        fields = {k: batch.get(k) for k in REMOTE_FIELDS if k in batch}
        if "request_counts" in batch:
            fields["request_counts"] = json.dumps(batch["request_counts"])
        fields["last_seen_at"] = now
        return fields

    def _insert(
        self, table: str, fields: Mapping[str, Any], *, conn: sqlite3.Connection | None = None
    ) -> None:
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
        try:
            if conn is not None:
                conn.execute(sql, tuple(fields.values()))
            else:
                with self.transaction() as c:
                    c.execute(sql, tuple(fields.values()))
        except sqlite3.IntegrityError as exc:
            raise StateError(f"the state store refused a {table} row: {exc}") from exc

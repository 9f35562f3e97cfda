"""Append-only schema migrations of the state store, recorded in a table.

Never edit or reorder a migration that has shipped: add a new one at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE jobs (
            id              TEXT PRIMARY KEY,
            created_at      REAL NOT NULL,
            base_url        TEXT NOT NULL,
            request_file    TEXT NOT NULL,   -- absolute path (stdin is spooled to a file)
            source          TEXT NOT NULL,   -- what the user named: a path, or '-'
            sha256          TEXT NOT NULL,
            byte_size       INTEGER NOT NULL,
            request_count   INTEGER NOT NULL,
            part_count      INTEGER NOT NULL,
            split_key       TEXT NOT NULL,   -- the part boundaries, so a re-split is a new job
            label           TEXT,
            betas           TEXT,            -- JSON list
            parent_batch_id TEXT             -- retry-failed: the batch whose failures it resends
        );
        CREATE INDEX jobs_content ON jobs (sha256, split_key, base_url);

        CREATE TABLE intents (
            job_id        TEXT NOT NULL REFERENCES jobs (id),
            part          INTEGER NOT NULL,
            request_count INTEGER NOT NULL,
            created_at    REAL NOT NULL,     -- recorded before the first create call
            updated_at    REAL,
            attempts      INTEGER NOT NULL DEFAULT 1,
            state         TEXT NOT NULL,     -- open | done
            batch_id      TEXT,
            PRIMARY KEY (job_id, part)
        );

        CREATE TABLE batches (
            id                  TEXT PRIMARY KEY,
            job_id              TEXT NOT NULL REFERENCES jobs (id),
            part                INTEGER NOT NULL,
            base_url            TEXT NOT NULL,
            request_file        TEXT NOT NULL,
            sha256              TEXT NOT NULL,
            byte_size           INTEGER NOT NULL,
            first_line          INTEGER,
            last_line           INTEGER,
            start_offset        INTEGER,
            end_offset          INTEGER,
            request_count       INTEGER NOT NULL,
            label               TEXT,
            parent_id           TEXT,
            submitted_at        REAL NOT NULL,
            processing_status   TEXT,
            request_counts      TEXT,        -- JSON, as the API last reported them
            created_at          TEXT,
            expires_at          TEXT,
            ended_at            TEXT,
            cancel_initiated_at TEXT,
            archived_at         TEXT,
            results_url         TEXT,
            last_seen_at        REAL,
            results_path        TEXT,
            collected_at        REAL,
            deleted_at          REAL,
            UNIQUE (job_id, part)
        );
        CREATE INDEX batches_uncollected ON batches (collected_at, deleted_at);
        """
    )


@migration
def m002_collect_claims(conn: sqlite3.Connection) -> None:
    # `collect` claims a batch here, inside a write transaction, before downloading it, so two
    # overlapping runs never fetch the same batch; a claim whose process is gone, or that is
    # older than collect's timeout, may be taken over.
    _script(
        conn,
        """
        CREATE TABLE claims (
            batch_id   TEXT PRIMARY KEY REFERENCES batches (id),
            owner      TEXT NOT NULL,    -- host:pid:token of the collecting process
            claimed_at REAL NOT NULL
        );
        """
    )


@migration
def m003_batch_adoption(conn: sqlite3.Connection) -> None:
    # How a batch came to be tracked when submit did not see the create's reply: NULL = the
    # create's own answer; 'unverified' = found by reconciliation after a lost reply, its
    # requests not yet checked; 'verified' = its results answer exactly this part's requests;
    # 'foreign' = they do not (another client's batch).
    conn.execute("ALTER TABLE batches ADD COLUMN adoption TEXT")


def _script(conn: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration's transaction.
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def migrate(conn: sqlite3.Connection, now: float) -> list[str]:
    """Apply the migrations this database has not seen, in order; returns their names.

    Call inside a write transaction.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        fn(conn)
        conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, now))
        applied.append(name)
    return applied

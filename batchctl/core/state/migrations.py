"""Append-only schema migrations of the state store, recorded in a table.

Never edit, rename or reorder a migration that has shipped: add a new one at the end
(``tests/core/state/test_migrations.py`` holds the shipped names and fails on anything else). The same
migrations run on SQLite and PostgreSQL: written in portable SQL, with SQLite's type names,
which ``_script`` widens on PostgreSQL (REAL to DOUBLE PRECISION, INTEGER to BIGINT, as SQLite's
are 64-bit); a step that cannot be portable says so and branches on ``tx.dialect``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from batchctl.core.state.db import Tx

Migration = Callable[[Tx], None]
MIGRATIONS: list[tuple[str, Migration]] = []
#: A name a shipped batchctl recorded for a migration, and the migration's name now. A store
#: that has the old name gets the new one too (as applied when the old one was); a store that
#: applies the migration records both. The old name stays recorded, so an older batchctl that
#: opens the same store (a fleet's machines are upgraded one by one) does not run it again:
#: ALTER TABLE ... ADD COLUMN twice fails, and every command with it.
RENAMED = {"m004_source_host": "m006_source_host"}
_OLD_NAMES = {new: old for old, new in RENAMED.items()}


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_initial(tx: Tx) -> None:
    _script(
        tx,
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
def m002_collect_claims(tx: Tx) -> None:
    # `collect` claims a batch here, inside a write transaction, before downloading it, so two
    # overlapping runs never fetch the same batch; a claim whose process is gone, or that is
    # older than collect's timeout, may be taken over.
    _script(
        tx,
        """
        CREATE TABLE claims (
            batch_id   TEXT PRIMARY KEY REFERENCES batches (id),
            owner      TEXT NOT NULL,    -- host:pid:token of the collecting process
            claimed_at REAL NOT NULL
        );
        """
    )


@migration
def m003_batch_adoption(tx: Tx) -> None:
    # How a batch came to be tracked when submit did not see the create's reply: NULL = the
    # create's own answer; 'unverified' = found by reconciliation after a lost reply, its
    # requests not yet checked; 'verified' = its results answer exactly this part's requests;
    # 'foreign' = they do not (another client's batch).
    tx.execute("ALTER TABLE batches ADD COLUMN adoption TEXT")


@migration
def m004_row_order(tx: Tx) -> None:
    # Newest-first listings break ties on insertion order: SQLite's implicit rowid, which
    # PostgreSQL lacks, so it gets a sequence column there (the store's SQL says `rowid`; the
    # PostgreSQL layer reads it as `seq`).
    if tx.dialect == "postgresql":
        tx.execute("ALTER TABLE jobs ADD COLUMN seq BIGSERIAL")
        tx.execute("ALTER TABLE batches ADD COLUMN seq BIGSERIAL")


@migration
def m005_job_parts(tx: Tx) -> None:
    # Every part of a job, recorded with the job, so a part not sent yet (the API's processing
    # queue was full, --max-queued, a spend limit) can be sent later by wait, run, collect or a
    # repeated submit without checking the file again. A part is pending while no batches row
    # has its (job_id, part). `held` says why it was last not sent; `retry_at` when to try again
    # at the earliest; `held_unended` the job's requests in unended batches then (fewer later:
    # the queue drained). jobs.max_queued: the job's --max-queued.
    _script(
        tx,
        """
        CREATE TABLE parts (
            job_id        TEXT NOT NULL REFERENCES jobs (id),
            part          INTEGER NOT NULL,
            first_line    INTEGER NOT NULL,
            last_line     INTEGER NOT NULL,
            start_offset  INTEGER NOT NULL,
            end_offset    INTEGER NOT NULL,
            request_count INTEGER NOT NULL,
            body_size     INTEGER NOT NULL,
            sha256        TEXT NOT NULL,     -- of the file's bytes start_offset..end_offset
            convert_lines TEXT,              -- JSON [[first, last], ...] of lines re-encoded
            held          TEXT,              -- queue_full | max_queued | ... (NULL: never held)
            held_at       REAL,
            retry_at      REAL,
            held_unended  INTEGER,
            PRIMARY KEY (job_id, part)
        );
        ALTER TABLE jobs ADD COLUMN max_queued INTEGER
        """
    )


@migration
def m006_source_host(tx: Tx) -> None:
    # The host a batch's request file was read on: a shared (PostgreSQL) store is used from
    # several machines, and a path means something only on the one that submitted it.
    # Shipped as m004_source_host, inserted before m005_job_parts when that had shipped already
    # (RENAMED). It touches nothing m005 does: the schema is the same whichever ran first.
    tx.execute("ALTER TABLE batches ADD COLUMN source_host TEXT")


@migration
def m007_job_api_version(tx: Tx) -> None:
    # The anthropic-version a job was checked against and sent with (--api-version); NULL for
    # jobs submitted before it was recorded (they went with the SDK's default).
    tx.execute("ALTER TABLE jobs ADD COLUMN api_version TEXT")


@migration
def m008_model_catalogues(tx: Tx) -> None:
    # The Models API's catalogue per base URL (batchctl.core.models): a cache, refreshed when a
    # day old or when asked; the models as the JSON list the API layer checked.
    _script(tx, """
        CREATE TABLE model_catalogues (
            base_url   TEXT PRIMARY KEY,
            fetched_at REAL NOT NULL,
            models     TEXT NOT NULL
        )
    """)


@migration
def m009_hook_runs(tx: Tx) -> None:
    # Hooks (`collect --exec`, `wait`/`run --on-end`): one row per subject and command, so a
    # hook that succeeded never runs again and one that failed runs at the next collect without
    # a second download (batchctl.core.workflows.hooks). kind: 'collect' (subject: a batch id)
    # or 'end' (subject: a job id, or an untracked batch's id). hook: the sha256 of the command;
    # the command itself is not stored (it may carry a secret). state: due | failed | succeeded.
    # exit_code: of the last attempt (NULL: not run yet, or it could not be started).
    _script(tx, """
        CREATE TABLE hook_runs (
            kind       TEXT NOT NULL,
            subject    TEXT NOT NULL,
            hook       TEXT NOT NULL,
            state      TEXT NOT NULL,
            attempts   INTEGER NOT NULL DEFAULT 0,
            exit_code  INTEGER,
            created_at REAL NOT NULL,
            updated_at REAL,
            PRIMARY KEY (kind, subject, hook)
        )
    """)


@migration
def m010_job_cache_plans(tx: Tx) -> None:
    # The cache plan a job places in its bodies (--cache auto; batchctl.core.caching.place
    # CachePlan.record(), as JSON) and its digest, part of what makes a submit the same one:
    # a resumed job and a retry place the same markers; another --cache is another job.
    tx.execute("ALTER TABLE jobs ADD COLUMN cache_plan TEXT")
    tx.execute("ALTER TABLE jobs ADD COLUMN cache_digest TEXT")


@migration
def m011_hook_commands(tx: Tx) -> None:
    # What the next `collect` needs to run a FAILED hook again, whichever command recorded it
    # (batchctl.core.workflows.hooks): the command's text (the user's own, kept only while its
    # last attempt failed, cleared once it succeeds: README "Hooks"), the command that ran it
    # (trigger: collect | wait | run), the API it ran for (base_url) and what it was given
    # (details: JSON of the subject's ids, label, counts and results path). NULL in rows that
    # never failed, and in failed rows recorded before this migration (then only the same
    # --exec, wait or run runs them again, as before).
    _script(tx, """
        ALTER TABLE hook_runs ADD COLUMN command TEXT;
        ALTER TABLE hook_runs ADD COLUMN trigger TEXT;
        ALTER TABLE hook_runs ADD COLUMN base_url TEXT;
        ALTER TABLE hook_runs ADD COLUMN details TEXT
    """)


@migration
def m012_part_warmup(tx: Tx) -> None:
    # A warm-up (--cache auto; batchctl.core.requests.warmup): one part sends each planned
    # group's first request, the others wait for it to end. only_lines: the lines of its range
    # a part sends (JSON ranges; NULL: all); skip_lines: those it leaves to the warm-up;
    # after_part: the part it waits on; after_timeout: for at most this many seconds after that
    # part was sent (--warmup-timeout). A batch keeps its part's only/skip, so its lines are
    # read back (results in input order, cache groups) without the part.
    _script(tx, """
        ALTER TABLE parts ADD COLUMN only_lines TEXT;
        ALTER TABLE parts ADD COLUMN skip_lines TEXT;
        ALTER TABLE parts ADD COLUMN after_part INTEGER;
        ALTER TABLE parts ADD COLUMN after_timeout REAL;
        ALTER TABLE batches ADD COLUMN only_lines TEXT;
        ALTER TABLE batches ADD COLUMN skip_lines TEXT
    """)


_PG_TYPES = {"REAL": "DOUBLE PRECISION", "INTEGER": "BIGINT"}
_TYPE_WORDS = re.compile(r"\b(REAL|INTEGER)\b")


def _script(tx: Tx, sql: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration's transaction.
    if tx.dialect == "postgresql":
        sql = _TYPE_WORDS.sub(lambda m: _PG_TYPES[m.group(1)], sql)
    for statement in sql.split(";"):
        if statement.strip():
            tx.execute(statement)


def migrate(tx: Tx, now: float) -> list[str]:
    """Apply the migrations this database has not seen, in order; returns their names.
    Names recorded by a batchctl before a migration was renamed count as its own (``RENAMED``).

    Call inside a write transaction; concurrent first opens wait for each other.
    """
    tx.lock("migrate")
    _script(
        tx, "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    done = {row["name"]: row["applied_at"]
            for row in tx.query("SELECT name, applied_at FROM migrations")}
    for old, new in RENAMED.items():
        if old in done and new not in done:
            _record(tx, new, done[old])
            done[new] = done[old]
    applied = []
    for name, fn in MIGRATIONS:
        if name in done:
            continue
        fn(tx)
        _record(tx, name, now)
        if name in _OLD_NAMES:  # not in done: the loop above would have recorded ``name``
            _record(tx, _OLD_NAMES[name], now)
        applied.append(name)
    return applied


def _record(tx: Tx, name: str, applied_at: float) -> None:
    tx.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, applied_at))

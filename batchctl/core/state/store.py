"""The state store: every batch mapped to the request file that made it.

One interface (``Store``: jobs, intents, batches, claims, hook runs) over two databases: by default one
SQLite file under the state directory, or a PostgreSQL store shared by several machines
(``BATCHCTL_STORE`` / ``--store``; see ``batchctl.core.location``). The same append-only
migrations (``batchctl.core.state.migrations``) run on both; short transactions; the SQLite
directory is created 0700 and its files 0600. The API key is never stored. Rows are plain dicts.
"""

from __future__ import annotations

from pathlib import Path

from batchctl.core.clock import Clock, SystemClock
from batchctl.core.location import SQLITE, StoreLocation
from batchctl.core.settings import DB_NAME
from batchctl.core.state.batches import BATCH_PREFIX, REMOTE_FIELDS, BatchRecords
from batchctl.core.state.catalogues import CatalogueRecords
from batchctl.core.state.claims import ClaimRecords
from batchctl.core.state.db import Database, SQLiteDatabase
from batchctl.core.state.hooks import HookRecords
from batchctl.core.state.jobs import JOB_PREFIX, JobRecords, new_job_id
from batchctl.core.state.migrations import migrate
from batchctl.core.state.parts import PartRecords

__all__ = ["BATCH_PREFIX", "DB_NAME", "JOB_PREFIX", "REMOTE_FIELDS", "Store", "new_job_id"]


class Store(JobRecords, BatchRecords, ClaimRecords, PartRecords, CatalogueRecords, HookRecords):
    """One connection per process; open with ``Store.open(state_dir)``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    @classmethod
    def open(
        cls, state_dir: Path, *, clock: Clock | None = None, location: StoreLocation = SQLITE
    ) -> Store:
        """The store ``location`` names (the SQLite file under ``state_dir`` by default),
        migrated to the current schema."""
        db: Database
        if location.is_postgres:
            from batchctl.core.state.postgres import PostgresDatabase  # loads psycopg

            db = PostgresDatabase.connect(location)
        else:
            db = SQLiteDatabase.open(Path(state_dir) / DB_NAME)
        store = cls(db, clock or SystemClock())
        try:
            with db.transaction() as tx:
                migrate(tx, store.clock.time())
        except BaseException:
            db.close()
            raise
        if isinstance(db, SQLiteDatabase):
            db.after_migrate()
        return store

    @classmethod
    def open_readonly(
        cls, state_dir: Path, *, timeout: float = 1.0
    ) -> Store | None:
        """An existing SQLite store opened for reading only (shell completion): never creates
        the file, never migrates, waits at most ``timeout`` s for a lock. None if there is none."""
        db = SQLiteDatabase.open_readonly(Path(state_dir) / DB_NAME, timeout=timeout)
        return None if db is None else cls(db, SystemClock())

    @property
    def location(self) -> str:
        """Where the store is, for people: a path, or a URL with its password masked."""
        return self.db.location

    def close(self) -> None:
        self.db.close()

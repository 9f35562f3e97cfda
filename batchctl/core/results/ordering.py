"""Re-ordering and merging results in bounded memory: a spool keyed by custom_id, on disk.

Results come back in no particular order. To put them in the request file's order (or to merge
a batch with its retries), each results line is spooled into a temporary SQLite file keyed by
custom_id; the request file is then read in order and each custom_id looked up. Memory stays
flat whatever the number of results (SQLite's page cache is capped); the disk holds one copy of
the results while it runs, and the file is removed when the spool is closed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

BATCH = 2000  # rows per executemany
CACHE_KIB = 16 * 1024  # SQLite page cache: 16 MiB


class Spool:
    """Results lines by custom_id. ``put`` keeps the first line of an id's batch; ``replace``
    (a newer result of the same request, from a retry) overwrites it in place."""

    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="batchctl-spool-", suffix=".sqlite3")
        os.close(fd)
        self.path = Path(name)
        self._db = sqlite3.connect(name, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "temp_store = FILE",
            f"cache_size = -{CACHE_KIB}",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute(
            "CREATE TABLE r (cid TEXT PRIMARY KEY, kind TEXT, line BLOB NOT NULL, hit INTEGER)"
        )
        self._db.execute("BEGIN")
        self._pending: list[tuple[str, str | None, bytes]] = []
        self.count = 0

    # -- filling ------------------------------------------------------------------------------
    def put(self, cid: str, kind: str | None, line: bytes) -> None:
        self._pending.append((cid, kind, line))
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO r (cid, kind, line) VALUES (?, ?, ?)", self._pending
            )
            self.count += self._db.total_changes - before
            self._pending.clear()

    def put_block(self, rows: list[tuple[str, str | None, bytes]]) -> list[int] | None:
        """Spool a block of rows at once, as ``put`` would one by one; None when every row was
        new, else the indexes of those spooled (an id already there keeps its first line)."""
        self._flush()
        before = self._db.total_changes
        self._db.executemany("INSERT OR IGNORE INTO r (cid, kind, line) VALUES (?, ?, ?)", rows)
        added = self._db.total_changes - before
        first = self.count
        self.count += added
        if added == len(rows):
            return None
        # rowids run 1, 2, ... in the order rows were first put (nothing is ever deleted)
        new = {cid for (cid,) in self._db.execute("SELECT cid FROM r WHERE rowid > ?", (first,))}
        kept = []
        for i, (cid, _kind, _line) in enumerate(rows):
            if cid in new:
                new.discard(cid)
                kept.append(i)
        return kept

    # -- in a given order ---------------------------------------------------------------------
    def set_order(self, cids: Iterable[str]) -> bool:
        """The order ``in_order`` reads in: these ids, once each. False (and no order) if an id
        comes twice."""
        self._db.execute("CREATE TEMP TABLE o (pos INTEGER PRIMARY KEY, cid TEXT UNIQUE)")
        try:
            self._db.executemany("INSERT INTO o (cid) VALUES (?)", ((c,) for c in cids))
        except sqlite3.IntegrityError:
            self._db.execute("DROP TABLE o")
            return False
        return True

    def in_order(self, block: int) -> Iterator[list[tuple[str | None, bytes | None]]]:
        """``(kind, line)`` for each id of ``set_order``, that order, ``block`` at a time; both
        None for an id with no spooled line. One query: SQLite looks each id up itself."""
        self._flush()
        rows = self._db.execute(
            "SELECT r.kind, r.line FROM o LEFT JOIN r ON r.cid = o.cid ORDER BY o.pos"
        )
        while got := rows.fetchmany(block):
            yield got

    def not_in_order(self) -> Iterator[tuple[str, str | None, bytes]]:
        """The spooled lines whose id ``set_order`` does not have, in spool order."""
        rows = self._db.execute(
            "SELECT cid, kind, line FROM r WHERE cid NOT IN (SELECT cid FROM o) ORDER BY rowid"
        )
        for cid, kind, line in rows.fetchall():
            yield cid, kind, bytes(line)

    def replace_all(self, rows: Iterable[tuple[str, str | None, bytes]]) -> int:
        """Overwrite the lines of ids already spooled; ids not spooled are ignored.
        Returns how many were replaced."""
        self._flush()
        before = self._db.total_changes
        self._db.executemany(
            "UPDATE r SET kind = ?2, line = ?3 WHERE cid = ?1", rows
        )
        return self._db.total_changes - before

    # -- reading ------------------------------------------------------------------------------
    def in_spool_order(self) -> Iterator[tuple[str, str | None, bytes]]:
        """Every spooled line, in the order it was first put."""
        self._flush()
        for cid, kind, line in self._db.execute("SELECT cid, kind, line FROM r ORDER BY rowid"):
            yield cid, kind, bytes(line)

    def lookup(self, cids: Iterable[str]) -> Iterator[tuple[str, str | None, bytes | None]]:
        """``(cid, kind, line)`` for each id of ``cids``, in that order; ``line`` is None for an
        id with no spooled result."""
        self._flush()
        get = self._db.execute
        for cid in cids:
            found = get("SELECT kind, line FROM r WHERE cid = ?", (cid,)).fetchone()
            if found is None:
                yield cid, None, None
            else:
                yield cid, found[0], bytes(found[1])

    def claim(self, cid: str) -> bytes | None:
        """The line of ``cid`` (None if it has none), marked as used (``results --join``)."""
        self._flush()
        found = self._db.execute(
            "UPDATE r SET hit = 1 WHERE cid = ? RETURNING line", (cid,)
        ).fetchone()
        return None if found is None else bytes(found[0])

    def unclaimed(self) -> Iterator[str]:
        """The ids never claimed, in spool order."""
        self._flush()
        for (cid,) in self._db.execute("SELECT cid FROM r WHERE hit IS NULL ORDER BY rowid"):
            yield cid

    def not_in(self, cids: Iterable[str]) -> Iterator[tuple[str, str | None, bytes]]:
        """The spooled lines whose id is not among ``cids``, in spool order (the rare results
        whose custom_id the request file does not have)."""
        self._flush()
        self._db.execute("CREATE TEMP TABLE IF NOT EXISTS known (cid TEXT PRIMARY KEY)")
        self._db.execute("DELETE FROM known")
        self._db.executemany("INSERT OR IGNORE INTO known (cid) VALUES (?)", ((c,) for c in cids))
        rows = self._db.execute(
            "SELECT cid, kind, line FROM r WHERE cid NOT IN (SELECT cid FROM known) ORDER BY rowid"
        )
        for cid, kind, line in rows.fetchall():
            yield cid, kind, bytes(line)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


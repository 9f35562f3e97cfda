"""The state store on PostgreSQL, through psycopg 3 (the optional extra ``batchctl[postgres]``).

Imported only when ``BATCHCTL_STORE`` / ``--store`` names a PostgreSQL store, so ``import
batchctl`` and ``--help`` load nothing of psycopg. The store's portable SQL is translated here:
``?`` placeholders become ``%s``, and ``rowid`` (SQLite's insertion order) becomes the ``seq``
column that migration m004 adds on PostgreSQL; ``seq`` never leaves this module.

One connection per process, in autocommit mode: reads are single statements, writes are short
explicit transactions. Locks are advisory locks: ``Tx.lock`` a transaction-level one, ``hold``
and ``try_hold`` session-level ones, which the server drops when the connection goes, so a
process killed anywhere, on any machine, leaves no lock behind. The password of the URL never
appears in a message: the location is masked and any error text is scrubbed of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from batchctl.core.errors import StateError
from batchctl.core.location import StoreLocation
from batchctl.core.state.db import Database, Row, Tx, lock_number

INSTALL = "pip install 'batchctl[postgres]'"
CONNECT_TIMEOUT = 10  # seconds
_ROWID = re.compile(r"\browid\b")


def translate(sql: str) -> str:
    """The store's portable SQL in psycopg's dialect."""
    return _ROWID.sub("seq", sql.replace("%", "%%").replace("?", "%s"))


class PgTx(Tx):
    dialect = "postgresql"

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        self.db.conn.execute(translate(sql), tuple(args))

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = self.db.conn.execute(translate(sql), tuple(args))
        return [_clean(r) for r in cur.fetchall()]

    def lock(self, key: str) -> None:
        self.db.conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.db.lock_id(key),))


def _clean(row: dict[str, Any]) -> Row:
    row.pop("seq", None)
    return row


class PostgresDatabase(Database):
    dialect = "postgresql"
    locks_follow_sessions = True

    def __init__(self, conn: Any, where: StoreLocation) -> None:
        self.conn = conn
        self.where = where
        self.location = where.masked
        self._namespace: str | None = None

    def lock_id(self, key: str) -> int:
        """The advisory lock number of ``key`` in this store. Advisory locks are per database
        (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS), and two
        stores may share a database in different schemas (``search_path``): the schema is part
        of the key, so one store's locks never hold up, or refuse a claim in, another's."""
        if self._namespace is None:
            import psycopg

            try:
                row = self.conn.execute("SELECT current_schema() AS s").fetchone()
            except psycopg.Error as exc:
                raise self._error("lock", exc) from None
            self._namespace = str((row or {}).get("s") or "")
        return lock_number(f"{self._namespace}\0{key}")

    @classmethod
    def connect(cls, where: StoreLocation) -> PostgresDatabase:
        try:
            import psycopg
            from psycopg.rows import dict_row
        except ImportError:
            raise StateError(
                f"the PostgreSQL store needs the psycopg driver: {INSTALL}"
            ) from None
        try:
            conn = psycopg.connect(
                where.conninfo, autocommit=True, row_factory=dict_row,
                connect_timeout=CONNECT_TIMEOUT, application_name="batchctl",
            )
        except psycopg.Error as exc:
            raise StateError(
                f"cannot connect to the state store {where.masked}: {where.scrub(str(exc))}",
                hint=f"check BATCHCTL_STORE / {where.option}, and that the server is up",
            ) from None
        return cls(conn, where)

    def _error(self, doing: str, exc: Exception) -> StateError:
        text = self.where.scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "")
        return StateError(f"could not {doing} the state store {self.location}: {text}")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        import psycopg

        try:
            cur = self.conn.execute(translate(sql), tuple(args))
            return [_clean(r) for r in cur.fetchall()]
        except psycopg.Error as exc:
            raise self._error("read", exc) from None

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        import psycopg

        try:
            with self.conn.transaction():
                yield PgTx(self)
        except psycopg.IntegrityError as exc:
            raise self._error("write a row to", exc) from None
        except psycopg.Error as exc:
            raise self._error("write", exc) from None

    def take(self, key: str) -> None:
        self._call("SELECT pg_advisory_lock(%s)", key)

    def try_hold(self, key: str) -> bool:
        return bool(self._call("SELECT pg_try_advisory_lock(%s) AS got", key))

    def unhold(self, key: str) -> None:
        self._call("SELECT pg_advisory_unlock(%s) AS got", key)

    def _call(self, sql: str, key: str) -> Any:
        import psycopg

        try:
            row = self.conn.execute(sql, (self.lock_id(key),)).fetchone()
        except psycopg.Error as exc:
            raise self._error("lock", exc) from None
        return next(iter(row.values())) if row else None

    def close(self) -> None:
        self.conn.close()

"""What every part of the store shares: the database, the clock, and rows as plain dicts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from batchctl.core.clock import Clock
from batchctl.core.state.db import Database, Row, Tx

JSON_COLUMNS = ("request_counts", "betas")


def decode(row: Row) -> Row:
    for key in JSON_COLUMNS:
        if key in row and isinstance(row[key], str):
            row[key] = json.loads(row[key])
    return row


class Records:
    """The base of the store's parts (jobs, batches, claims): one database, one clock."""

    db: Database
    clock: Clock

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return [decode(r) for r in self.db.query(sql, args)]

    def _one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = self._query(sql, args)
        return rows[0] if rows else None

    def transaction(self) -> Any:
        """A short write transaction (a context manager yielding a ``Tx``)."""
        return self.db.transaction()

    @staticmethod
    def _insert(tx: Tx, table: str, fields: Mapping[str, Any]) -> None:
        cols = ", ".join(fields)
        marks = ", ".join("?" for _ in fields)
        tx.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(fields.values()))

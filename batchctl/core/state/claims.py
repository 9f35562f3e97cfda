"""Locks and claims: one submitter per content, one collector per batch, across processes and
(on PostgreSQL) machines; none outlives its process (see ``batchctl.core.state.db``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from batchctl.core.state.db import Row
from batchctl.core.state.records import Records


def claim_key(batch_id: str) -> str:
    return f"collect:{batch_id}"


class ClaimRecords(Records):
    def hold(self, key: str) -> Any:
        """A context manager: the lock on ``key`` for its span (waits for another holder)."""
        return self.db.hold(key)

    def try_lock(self, key: str) -> bool:
        """The lock on ``key`` if it is free (release it with ``unlock``); False if held."""
        return self.db.try_hold(key)

    def lock(self, key: str) -> None:
        """The lock on ``key``, once its holder lets go (release it with ``unlock``)."""
        self.db.take(key)

    def unlock(self, key: str) -> None:
        self.db.unhold(key)

    # -- collect claims: one collector per batch at a time (see core/workflows/collect.py) ---------
    def claim(self, batch_id: str, owner: str, *, is_stale: Callable[[Row], bool]) -> bool:
        """Claim an uncollected batch for ``owner``, atomically. False if it was collected
        meanwhile, or a live process holds it: one holding its lock, or (where locks do not
        follow sessions) one whose claim row ``is_stale`` says is still live."""
        if not self.db.try_hold(claim_key(batch_id)):
            return False
        try:
            got = self._claim(batch_id, owner, is_stale)
        except BaseException:
            self.db.unhold(claim_key(batch_id))
            raise
        if not got:
            self.db.unhold(claim_key(batch_id))
        return got

    def _claim(self, batch_id: str, owner: str, is_stale: Callable[[Row], bool]) -> bool:
        now = self.clock.time()
        with self.transaction() as tx:
            row = tx.one("SELECT collected_at FROM batches WHERE id = ?", (batch_id,))
            if row is None or row["collected_at"] is not None:
                return False
            held = tx.one("SELECT * FROM claims WHERE batch_id = ?", (batch_id,))
            if (held is not None and held["owner"] != owner
                    and not self.db.locks_follow_sessions and not is_stale(held)):
                return False
            tx.execute(
                "INSERT INTO claims (batch_id, owner, claimed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (batch_id) DO UPDATE SET owner = excluded.owner, "
                "claimed_at = excluded.claimed_at",
                (batch_id, owner, now),
            )
        return True

    def release(self, batch_id: str, owner: str) -> None:
        try:
            with self.transaction() as tx:
                tx.execute("DELETE FROM claims WHERE batch_id = ? AND owner = ?", (batch_id, owner))
        finally:
            self.db.unhold(claim_key(batch_id))

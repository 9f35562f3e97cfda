"""Jobs (one submit of one file), the intents recorded before each create, and retry lineage."""

from __future__ import annotations

import json
import secrets
from typing import Any

from batchctl.core.state.db import Row, Tx
from batchctl.core.state.records import Records

JOB_PREFIX = "job_"


def new_job_id() -> str:
    return JOB_PREFIX + secrets.token_hex(6)


def content_key(*, sha256: str, split_key: str, base_url: str, cache_digest: str = "") -> str:
    """The lock name of a submit of this content, split this way, with this cache plan, to
    this API (without one, the name a batchctl before cache plans took)."""
    plan = f":{cache_digest}" if cache_digest else ""
    return f"submit:{base_url}:{sha256}:{split_key}{plan}"



class JobRecords(Records):
    def insert_job(self, **fields: Any) -> Row:
        """Insert a job row (id, base_url, request_file, source, sha256, byte_size,
        request_count, part_count, split_key, label, betas, parent_batch_id, api_version)."""
        with self.transaction() as tx:
            job_id = self._insert_job(tx, fields)
        return self.get_job(job_id)  # type: ignore[return-value]

    def _insert_job(self, tx: Tx, fields: dict[str, Any]) -> str:
        fields.setdefault("id", new_job_id())
        fields.setdefault("created_at", self.clock.time())
        if "betas" in fields and not isinstance(fields["betas"], str):
            fields["betas"] = json.dumps(list(fields["betas"] or []))
        self._insert(tx, "jobs", fields)
        return str(fields["id"])

    def get_job(self, job_id: str) -> Row | None:
        return self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))

    def find_job(
        self, *, sha256: str, split_key: str, base_url: str, parent_batch_id: str | None = None,
        cache_digest: str = "",
    ) -> Row | None:
        """The newest job that submitted exactly this content, split this way, with this cache
        plan (``cache_digest``, "" for none), to this API.
        With ``parent_batch_id`` (a retry), only a retry of that same batch: a retry whose
        file equals its parent's (every request failed) is a new batch, not the parent."""
        lineage = "" if parent_batch_id is None else "AND parent_batch_id = ? "
        return self._one(
            "SELECT * FROM jobs WHERE sha256 = ? AND split_key = ? AND base_url = ? "
            "AND COALESCE(cache_digest, '') = ? "
            + lineage + "ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (sha256, split_key, base_url, cache_digest)
            + (() if parent_batch_id is None else (parent_batch_id,)),
        )

    def forget_unsent_job(self, job_id: str) -> bool:
        """Remove a job nothing was ever sent for: no batch, and no intent still open (every
        create was refused, or never tried), so no batch of it can exist anywhere. Checked and
        done in one transaction; False (nothing removed) otherwise."""
        with self.transaction() as tx:
            if tx.query(
                "SELECT 1 FROM batches WHERE job_id = ? UNION ALL "
                "SELECT 1 FROM intents WHERE job_id = ? AND state = 'open'", (job_id, job_id)):
                return False
            for table, key in (("intents", "job_id"), ("parts", "job_id"), ("jobs", "id")):
                tx.execute(f"DELETE FROM {table} WHERE {key} = ?", (job_id,))
        return True

    # -- intents: recorded before each create, closed with the batch id it produced -----------
    def open_intent(self, *, job_id: str, part: int, request_count: int) -> Row:
        now = self.clock.time()
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO intents (job_id, part, request_count, created_at, state) "
                "VALUES (?, ?, ?, ?, 'open') ON CONFLICT (job_id, part) DO UPDATE SET "
                "attempts = intents.attempts + 1, updated_at = ?, "
                # An intent the API refused (nothing made) starts afresh; an open one keeps the
                # time of its first create, which reconciliation searches from.
                "created_at = CASE WHEN intents.state = 'open' THEN intents.created_at "
                "ELSE excluded.created_at END, state = 'open'",
                (job_id, part, request_count, now, now),
            )
        return self.get_intent(job_id, part)  # type: ignore[return-value]

    def refuse_intent(self, job_id: str, part: int) -> None:
        """The create was refused outright (the queue-full 429): no batch was made, so the
        next attempt has nothing to look for."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE intents SET state = 'refused', updated_at = ? "
                "WHERE job_id = ? AND part = ? AND state = 'open'",
                (self.clock.time(), job_id, part),
            )

    def get_intent(self, job_id: str, part: int) -> Row | None:
        return self._one("SELECT * FROM intents WHERE job_id = ? AND part = ?", (job_id, part))


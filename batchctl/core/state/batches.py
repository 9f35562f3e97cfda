"""Batches: every batch id mapped to the request file, job and part that made it, with what the
API last said of it and where its results went."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from batchctl.core.errors import NextStep, NotFoundError, UsageError
from batchctl.core.flags import KEYS, Flag, Flags
from batchctl.core.plural import counted
from batchctl.core.state.db import Row
from batchctl.core.state.jobs import JOB_PREFIX
from batchctl.core.state.records import Records

BATCH_PREFIX = "msgbatch_"
SHORTEST_PREFIX = len(BATCH_PREFIX) + 6  # msgbatch_01 and four more: a table shows 17

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


def remote_fields(batch: Mapping[str, Any], now: float) -> dict[str, Any]:
    fields = {k: batch.get(k) for k in REMOTE_FIELDS if k in batch}
    if "request_counts" in batch:
        fields["request_counts"] = json.dumps(batch["request_counts"])
    fields["last_seen_at"] = now
    return fields


class BatchRecords(Records):
    def record_batch(self, batch: Mapping[str, Any], **fields: Any) -> Row:
        """Insert a batch row from the API's batch dict plus the local fields (job_id, part,
        base_url, request_file, sha256, byte_size, first_line, last_line, start_offset,
        end_offset, request_count, label, parent_id), and close the part's intent, atomically."""
        now = self.clock.time()
        row = dict(fields)
        row["id"] = batch["id"]
        row["submitted_at"] = now
        row.update(remote_fields(batch, now))
        with self.transaction() as tx:
            self._insert(tx, "batches", row)
            tx.execute(
                "UPDATE intents SET state = 'done', batch_id = ?, updated_at = ? "
                "WHERE job_id = ? AND part = ?",
                (batch["id"], now, row["job_id"], row["part"]),
            )
        return self.get_batch(batch["id"])  # type: ignore[return-value]

    def get_batch(self, batch_id: str) -> Row | None:
        return self._one("SELECT * FROM batches WHERE id = ?", (batch_id,))

    def job_batches(self, job_id: str) -> list[Row]:
        return self._query("SELECT * FROM batches WHERE job_id = ? ORDER BY part", (job_id,))

    def resolve(self, ref: str, *, base_url: str | None = None, flags: Flags = KEYS) -> list[Row]:
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
        if not rows and ref.startswith(BATCH_PREFIX):
            rows = self._by_prefix(ref, base_url, flags)
        if not rows:
            kind = "job" if ref.startswith(JOB_PREFIX) else "batch"
            raise NotFoundError(
                f"no tracked {kind} {ref!r}" + (f" for {base_url}" if base_url else ""),
                next_steps=[NextStep("what this state store tracks", "list", (Flag("local"),))],
            )
        return rows

    def _by_prefix(self, ref: str, base_url: str | None, flags: Flags) -> list[Row]:
        """The one tracked batch whose id starts with ``ref``: tables on a terminal show ids
        shortened (``msgbatch_01LBe94A…``, unique within the table), and one copied from there,
        with or without its ``…``, names that batch, as git takes a short commit id. An ambiguous
        prefix is a usage error naming the candidates; at least SHORTEST_PREFIX characters."""
        prefix = ref.removesuffix("…").removesuffix("...")
        if len(prefix) < SHORTEST_PREFIX:
            return []
        rows = self._query(
            "SELECT * FROM batches WHERE substr(id, 1, ?) = ? ORDER BY created_at DESC, id",
            (len(prefix), prefix),
        )
        rows = [r for r in rows if base_url is None or r["base_url"] == base_url]
        if len(rows) > 1:
            shown = ", ".join(r["id"] for r in rows[:5]) + (", ..." if len(rows) > 5 else "")
            raise UsageError(
                f"{ref!r} is the start of {len(rows)} tracked batch ids: {shown}",
                hint=f"give more of the id (batchctl list {flags['wide']} shows them whole)",
            )
        return rows

    def batches(
        self,
        *,
        base_url: str | None = None,
        uncollected: bool = False,
        include_deleted: bool = False,
        status: str | None = None,
    ) -> list[Row]:
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
            text = f"job of {counted(row['n'], 'batch')}"
            out.append((row["job_id"], f"{row['label']}: {text}" if row["label"] else text))
        return out

    def update_remote(self, batch: Mapping[str, Any]) -> None:
        """Remember what the API last said of a tracked batch (no-op for untracked ids)."""
        fields = remote_fields(batch, self.clock.time())
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.transaction() as tx:
            tx.execute(f"UPDATE batches SET {sets} WHERE id = ?", (*fields.values(), batch["id"]))

    def mark_collected(self, batch_id: str, results_path: str | None) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE batches SET results_path = ?, collected_at = ? WHERE id = ?",
                (results_path, self.clock.time(), batch_id),
            )

    def mark_deleted(self, batch_id: str) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE batches SET deleted_at = ? WHERE id = ?", (self.clock.time(), batch_id)
            )

    def set_adoption(self, batch_id: str, adoption: str) -> None:
        """Record what checking an adopted batch's results found ('verified' or 'foreign')."""
        with self.transaction() as tx:
            tx.execute("UPDATE batches SET adoption = ? WHERE id = ?", (adoption, batch_id))

    def children(self, batch_id: str) -> list[Row]:
        """The retry batches whose parent is ``batch_id``, oldest first."""
        return self._query(
            "SELECT * FROM batches WHERE parent_id = ? AND deleted_at IS NULL "
            "ORDER BY submitted_at, rowid",
            (batch_id,),
        )

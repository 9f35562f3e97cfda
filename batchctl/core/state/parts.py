"""A job's parts, recorded with the job: pending while no batch row has their (job_id, part).

Sent later by ``batchctl.core.submit.feed`` (the API's processing queue was full, --max-queued);
one process at a time feeds a job, under a lock that dies with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batchctl.core.state.db import Row
from batchctl.core.state.records import Records

PART_COLUMNS = ("part", "first_line", "last_line", "start_offset", "end_offset",
                "request_count", "body_size", "sha256", "convert_lines", "only_lines",
                "skip_lines", "after_part", "after_timeout")


def feed_key(job_id: str) -> str:
    return f"feed:{job_id}"


class PartRecords(Records):
    def record_parts(self, job_id: str, parts: Sequence[Mapping[str, Any]]) -> None:
        """Record a job's parts (PART_COLUMNS; convert_lines, only_lines and skip_lines as JSON
        text or None, the warm-up's columns None when missing); a part already recorded is
        left as it is."""
        cols = ("job_id", *PART_COLUMNS)
        sql = (f"INSERT INTO parts ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
               "ON CONFLICT (job_id, part) DO NOTHING")
        with self.transaction() as tx:
            for p in parts:
                tx.execute(sql, (job_id, *(p.get(c) for c in PART_COLUMNS)))

    def job_parts(self, job_id: str) -> list[Row]:
        """Every recorded part of a job, in order, with ``batch_id``, ``processing_status`` and
        ``submitted_at`` of the batch that sent it (None while pending)."""
        return self._query(
            "SELECT p.*, b.id AS batch_id, b.processing_status AS processing_status, "
            "b.submitted_at AS submitted_at "
            "FROM parts p LEFT JOIN batches b ON b.job_id = p.job_id AND b.part = p.part "
            "WHERE p.job_id = ? ORDER BY p.part",
            (job_id,),
        )

    def pending_jobs(self, *, base_url: str) -> list[str]:
        """Jobs of this API with a part not sent yet, oldest first."""
        rows = self._query(
            "SELECT j.id AS id, MIN(j.created_at) AS created FROM jobs j "
            "JOIN parts p ON p.job_id = j.id "
            "LEFT JOIN batches b ON b.job_id = p.job_id AND b.part = p.part "
            "WHERE j.base_url = ? AND b.id IS NULL GROUP BY j.id ORDER BY created",
            (base_url,),
        )
        return [r["id"] for r in rows]

    def hold_part(
        self, job_id: str, part: int, *, held: str, retry_at: float | None, unended: int
    ) -> None:
        """Record why a pending part was not sent, and when to try again at the earliest."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE parts SET held = ?, held_at = ?, retry_at = ?, held_unended = ? "
                "WHERE job_id = ? AND part = ?",
                (held, self.clock.time(), retry_at, unended, job_id, part),
            )

    def set_max_queued(self, job_id: str, max_queued: int | None) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE jobs SET max_queued = ? WHERE id = ?", (max_queued, job_id))

    def claim_feed(self, job_id: str) -> bool:
        """Become the one process sending ``job_id``'s pending parts; False while another
        holds it. The lock dies with its process (batchctl.core.state.db)."""
        return self.db.try_hold(feed_key(job_id))

    def release_feed(self, job_id: str) -> None:
        self.db.unhold(feed_key(job_id))

    def holding_feed(self, job_id: str) -> Any:
        """A context manager: the feed claim of ``job_id`` for its span, waiting for it if
        another process holds it (a submit takes its new job's before recording the parts)."""
        return self.db.hold(feed_key(job_id))

"""A batch as the API describes it (the MessageBatch object of BATCHES_API.md), read from the
store at a time on the emulator's clock."""

from __future__ import annotations

from typing import Any

from batchctl.emulator import outcomes
from batchctl.emulator.config import EmulatorConfig
from batchctl.emulator.outcomes import Timeline
from batchctl.emulator.routing import base_url
from batchctl.emulator.store import BatchRow, Store
from batchctl.emulator.wire import ApiError, not_found, rfc3339


class Views:
    def __init__(self, store: Store, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config

    def row(self, batch_id: str | None) -> BatchRow:
        row = self.store.get(batch_id or "")
        if row is None:
            raise not_found(batch_id or "")
        return row

    def plan(self, row: BatchRow) -> list[outcomes.PlanEntry]:
        try:
            return outcomes.load_plan(self.store.read_plan(row.id))
        except FileNotFoundError:  # deleted meanwhile (by another thread or process)
            raise not_found(row.id) from None

    def counts(self, row: BatchRow, timeline: Timeline) -> dict[str, int]:
        if row.final_counts is not None:
            return row.final_counts
        try:
            plan = self.plan(row)
        except ApiError:
            fresh = self.store.get(row.id, include_deleted=True)
            if fresh is None or fresh.final_counts is None:
                raise
            return fresh.final_counts
        counts = outcomes.final_counts(plan, timeline)
        self.store.save_counts(row.id, counts)
        return counts

    def batch_json(self, environ: dict[str, Any], row: BatchRow, now: float) -> dict[str, Any]:
        timeline = row.timeline
        status = timeline.status(now)
        ended = status == "ended"
        if ended:
            counts = self.counts(row, timeline)
        else:
            counts = {
                "processing": row.request_count,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            }
        results_base = base_url(environ, self.config, results=True)
        return {
            "id": row.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": rfc3339(row.created_at),
            "expires_at": rfc3339(timeline.expires_at),
            "ended_at": rfc3339(timeline.ends_at) if ended else None,
            "cancel_initiated_at": rfc3339(row.cancel_initiated_at),
            "archived_at": rfc3339(timeline.archived_at(now)),
            "results_url": f"{results_base}/v1/messages/batches/{row.id}/results" if ended else None,
        }

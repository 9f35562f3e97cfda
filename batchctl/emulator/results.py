"""``GET /v1/messages/batches/{id}/results``: the results file, written once (seeded shuffle:
results come "in any order", BATCHES_API.md section 3.6; the prompt cache's reads and writes
decided then, emulator.cachesim) and streamed, optionally cut off part-way (``drop_rate``,
emulator.faults).

Statuses for cases the API does not document (BATCHES_API.md section 11): results before
``ended``: 400 ``invalid_request_error``; results after ``archived_at``: 404
``not_found_error`` (the batch is still there, its results are not; ``results_url`` stays set
so that the SDKs reach this clear message).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchctl.emulator import cachesim, outcomes, quirks
from batchctl.emulator.faults import cut_body, read_chunks
from batchctl.emulator.outcomes import Timeline
from batchctl.emulator.routing import Reply
from batchctl.emulator.store import BatchRow, write_atomic
from batchctl.emulator.wire import ApiError, bad_request, rfc3339, status_line

if TYPE_CHECKING:
    from batchctl.emulator.app import EmulatorApp


def results(app: EmulatorApp, environ: dict[str, Any], batch_id: str | None) -> Reply:
    row = app.views.row(batch_id)
    now = app.clock()
    timeline = row.timeline
    quirks.flaky_404(app.config, row.id, timeline, now)
    status = timeline.status(now)
    if status != "ended":
        raise bad_request(
            f"Message batch {row.id} is {status}; results are available once its"
            " processing_status is ended."
        )
    archived = timeline.archived_at(now)
    if archived is not None:
        raise ApiError(
            404,
            "not_found_error",
            f"The results of message batch {row.id} were archived at {rfc3339(archived)}"
            " and are no longer available (results are kept for 29 days after creation).",
        )
    path = materialise(app, row, timeline)
    file = open(path, "rb")  # noqa: SIM115 - closed by the body iterator / file wrapper
    size = path.stat().st_size
    headers = [
        ("Content-Type", "application/x-jsonl"),
        ("Content-Length", str(size)),
        ("request-id", environ["batchctl.request_id"]),
    ]
    keep = app.faults.drop_point(size)
    body: Iterable[bytes]
    if keep is not None:
        body = cut_body(file, keep)
    elif "wsgi.file_wrapper" in environ:
        body = environ["wsgi.file_wrapper"](file, 1 << 20)
    else:
        body = read_chunks(file)
    return status_line(200), headers, body


def materialise(app: EmulatorApp, row: BatchRow, timeline: Timeline) -> Path:
    """Write the shuffled results file once, the first time it is asked for."""
    path = app.store.results_path(row.id)
    if path.exists():
        return path
    with app.materialise_lock:
        if not path.exists():
            plan = app.views.plan(row)
            if row.final_counts is None:
                app.store.save_counts(row.id, outcomes.final_counts(plan, timeline))
            usage = cachesim.batch_usage(app.store, row)
            write_atomic(path, outcomes.result_lines(row.id, plan, timeline, usage))
    return path

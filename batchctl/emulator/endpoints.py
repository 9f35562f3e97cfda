"""The Message Batches endpoints but results (create, list, retrieve, cancel, delete), each
``(app, environ, batch_id) -> Reply`` (BATCHES_API.md section 3).

Statuses for cases the API does not document (BATCHES_API.md section 11): cancel of an ended
batch, delete of a batch that has not ended, a bad ``limit``, an unknown or conflicting list
cursor: 400 ``invalid_request_error``. (Results: see ``emulator.results``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from batchctl.emulator import cachesim, headers, intake, limits, outcomes, quirks
from batchctl.emulator.apirules import Checks
from batchctl.emulator.outcomes import Timeline
from batchctl.emulator.routing import Reply, ok, page_params
from batchctl.emulator.store import write_atomic
from batchctl.emulator.wire import bad_request, new_batch_id

if TYPE_CHECKING:
    from batchctl.emulator.app import EmulatorApp

def create(app: EmulatorApp, environ: dict[str, Any], _batch_id: str | None) -> Reply:
    config, store = app.config, app.store
    refused = quirks.spend_limit(config, store.count() if config.spend_limit else 0)
    if refused is not None:
        raise refused
    api_version = headers.api_version(environ)
    document = intake.read_json_body(environ, store.tmp_dir, config.max_body_bytes)
    items = intake.check_envelope(document)
    # The rules each request is checked against follow from the create's headers.
    checks = Checks(api_version, headers.betas(environ), config.catalog, any_model=config.any_model)
    plan = outcomes.static_plan(items, config.seed, checks)
    received = (b"".join(orjson.dumps(item) + b"\n" for item in document["requests"])
                if config.record_requests else None)
    del document, items
    batch_id = new_batch_id()

    def build_plan(seq: int) -> bytes:
        outcomes.roll_outcomes(plan, config.seed, seq, config.error_rate, config.expire_rate,
                               config.stop_rate)
        cache = cachesim.cache_entries(plan, config.seed, seq, config.cache_hit_rate)
        if cache is not None:
            write_atomic(store.cache_path(batch_id), [cache])
        return outcomes.dump_plan(plan)

    now = app.clock()
    timing = Timeline(
        created_at=now,
        processing_seconds=config.processing_seconds,
        cancel_seconds=config.cancel_seconds,
        expiry_seconds=config.expiry_seconds,
        archive_seconds=config.archive_seconds,
    )
    row = store.create(
        batch_id,
        created_at=now,
        request_count=len(plan),
        timing=timing,
        api_version=api_version,
        build_plan=build_plan,
        admit=_admit(config.queue_limit, len(plan), now),
    )
    if received is not None:
        folder = store.data_dir / "received"
        folder.mkdir(exist_ok=True)
        write_atomic(folder / f"{batch_id}.jsonl", [received])
    if row.timeline.status(now) == "ended":  # processing_seconds=0: count from the plan in hand
        store.save_counts(row.id, outcomes.final_counts(plan, row.timeline))
        row = app.views.row(row.id)
    return ok(environ, app.views.batch_json(environ, row, now))


def _admit(
    limit: int | None, incoming: int, now: float
) -> Callable[[list[tuple[float, int]]], None] | None:
    """The processing-queue check of a create (``queue_limit``; see emulator.limits)."""
    if limit is None:
        return None

    def admit(unended: list[tuple[float, int]]) -> None:
        queued = sum(count for _, count in unended)
        refused = limits.queue_full(limit, queued, incoming, unended, now)
        if refused is not None:
            raise refused

    return admit


def list_batches(app: EmulatorApp, environ: dict[str, Any], _batch_id: str | None) -> Reply:
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    limit, after_id, before_id = page_params(query)
    cursors: dict[str, int] = {}
    for name, value in (("after_seq", after_id), ("before_seq", before_id)):
        if value:
            cursor = app.store.get(value, include_deleted=True)
            if cursor is None:
                raise bad_request(f"{name[:-4]}_id: no message batch with id {value!r}")
            cursors[name] = cursor.seq
    rows, has_more = app.store.page(limit, **cursors)
    now = app.clock()
    data = [app.views.batch_json(environ, row, now) for row in rows]
    page = {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }
    return ok(environ, page)


def retrieve(app: EmulatorApp, environ: dict[str, Any], batch_id: str | None) -> Reply:
    row = app.views.row(batch_id)
    now = app.clock()
    quirks.flaky_404(app.config, row.id, row.timeline, now)
    return ok(environ, app.views.batch_json(environ, row, now))


def cancel(app: EmulatorApp, environ: dict[str, Any], batch_id: str | None) -> Reply:
    row = app.views.row(batch_id)
    now = app.clock()
    status = row.timeline.status(now)
    if status == "ended":
        raise bad_request(
            f"Message batch {row.id} has already ended; only a batch in progress can be canceled."
        )
    if status == "in_progress":
        app.store.set_cancel(row.id, now)
        row = app.views.row(row.id)
    return ok(environ, app.views.batch_json(environ, row, now))


def delete(app: EmulatorApp, environ: dict[str, Any], batch_id: str | None) -> Reply:
    row = app.views.row(batch_id)
    status = row.timeline.status(app.clock())
    if status != "ended":
        raise bad_request(
            f"Message batch {row.id} is {status}; only an ended batch can be deleted."
            " Cancel it first and wait until it has ended."
        )
    app.views.counts(row, row.timeline)  # kept on the tombstone for readers that raced the delete
    app.store.mark_deleted(row.id, app.clock())
    return ok(environ, {"id": row.id, "type": "message_batch_deleted"})

"""The Message Batches endpoints but results (create, list, retrieve, cancel, delete) and token
counting, each ``(app, environ, batch_id) -> Reply`` (BATCHES_API.md section 3).

Statuses for cases the API does not document (BATCHES_API.md section 11): cancel of an ended
batch, delete of a batch that has not ended, a bad ``limit``, an unknown or conflicting list
cursor: 400 ``invalid_request_error``. (Results: see ``emulator.results``.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import orjson

from batchctl.emulator import intake, limits, model, outcomes, quirks
from batchctl.emulator.outcomes import Timeline
from batchctl.emulator.routing import Reply, ok
from batchctl.emulator.wire import ApiError, bad_request, new_batch_id

if TYPE_CHECKING:
    from batchctl.emulator.app import EmulatorApp

COUNT_TOKENS_MAX_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit (32 MB)


def count_tokens(app: EmulatorApp, environ: dict[str, Any], _batch_id: str | None) -> Reply:
    """``POST /v1/messages/count_tokens`` (https://docs.claude.com/en/api/messages-count-tokens):
    ``{"input_tokens": N}`` for a Messages body without ``max_tokens``, from the stand-in
    model's own estimator, so a count matches the ``usage.input_tokens`` of the result."""
    length = intake.body_length(environ) or 0
    if length > COUNT_TOKENS_MAX_BYTES:
        raise ApiError(413, "request_too_large",
                       f"Request exceeds the maximum allowed size of {COUNT_TOKENS_MAX_BYTES} bytes.")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        params = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None
    problem, tokens = model.count_tokens(params)
    if problem is not None:
        raise bad_request(problem)
    return ok(environ, {"input_tokens": tokens})


def create(app: EmulatorApp, environ: dict[str, Any], _batch_id: str | None) -> Reply:
    config, store = app.config, app.store
    refused = quirks.spend_limit(config, store.count() if config.spend_limit else 0)
    if refused is not None:
        raise refused
    api_version = environ.get("HTTP_ANTHROPIC_VERSION")
    document = intake.read_json_body(environ, store.tmp_dir, config.max_body_bytes)
    items = intake.check_envelope(document)
    # The rules each request is checked against follow from the create's headers.
    rules_key = (api_version, environ.get("HTTP_ANTHROPIC_BETA"), config.any_model)
    plan = outcomes.static_plan(items, config.seed, rules_key)
    del document, items

    def build_plan(seq: int) -> bytes:
        outcomes.roll_outcomes(plan, config.seed, seq, config.error_rate, config.expire_rate)
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
        new_batch_id(),
        created_at=now,
        request_count=len(plan),
        timing=timing,
        api_version=api_version,
        build_plan=build_plan,
        admit=_admit(config.queue_limit, len(plan), now),
    )
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
    raw_limit = (query.get("limit") or ["20"])[-1]
    try:
        limit = int(raw_limit)
    except ValueError:
        raise bad_request(
            f"limit: Input should be a valid integer, not {raw_limit!r}"
        ) from None
    if not 1 <= limit <= 1000:
        raise bad_request(f"limit: Input should be between 1 and 1000, not {limit}")
    after_id = (query.get("after_id") or [""])[-1]
    before_id = (query.get("before_id") or [""])[-1]
    if after_id and before_id:
        raise bad_request("Give at most one of after_id and before_id.")
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

"""The emulator as a WSGI app: routing, auth, faults, and the six Message Batches endpoints.

Statuses for cases the API does not document (BATCHES_API.md section 11):

* cancel of an ended batch, delete of a batch that has not ended, results before ``ended``,
  a bad ``limit``, an unknown or conflicting list cursor: 400 ``invalid_request_error``;
* results after ``archived_at``: 404 ``not_found_error`` (the batch is still there, its
  results are not; ``results_url`` stays set so that the SDKs reach this clear message);
* an unknown route or method: 404 ``not_found_error``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from batchctl.emulator import intake, limits, model, outcomes, quirks
from batchctl.emulator.config import EmulatorConfig
from batchctl.emulator.faults import Faults, ReplyLost, cut_body, read_chunks
from batchctl.emulator.outcomes import Timeline
from batchctl.emulator.store import BatchRow, Store, write_atomic
from batchctl.emulator.wire import (
    ApiError,
    bad_request,
    error_reply,
    json_reply,
    new_batch_id,
    new_request_id,
    not_found,
    rfc3339,
    status_line,
)

PREFIX = ("v1", "messages", "batches")
COUNT_TOKENS_MAX_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit (32 MB)
Reply = tuple[str, list[tuple[str, str]], Iterable[bytes]]


def make_app(
    data_dir: Path, config: EmulatorConfig = EmulatorConfig(), clock: Callable[[], float] = time.time
) -> EmulatorApp:
    """A WSGI app serving the Message Batches API, with all state under ``data_dir``."""
    return EmulatorApp(Path(data_dir), config, clock)


def _segments(environ: dict[str, Any]) -> list[str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and not environ.get("SCRIPT_NAME"):
        path = raw.split("?", 1)[0]
        return [unquote(part) for part in path.split("/")[1:]]
    path = environ.get("PATH_INFO", "") or "/"
    try:  # PEP 3333: PATH_INFO is bytes decoded as latin-1
        path = path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return path.split("/")[1:]


def _route(method: str, segments: list[str]) -> tuple[str, str | None] | None:
    if segments == ["v1", "messages", "count_tokens"]:
        return ("count_tokens", None) if method == "POST" else None
    if tuple(segments[:3]) != PREFIX:
        return None
    rest = segments[3:]
    if not rest:
        return {"POST": ("create", None), "GET": ("list", None)}.get(method)
    batch_id = rest[0]
    if not batch_id:
        return None
    if len(rest) == 1:
        return {"GET": ("retrieve", batch_id), "DELETE": ("delete", batch_id)}.get(method)
    if len(rest) == 2 and (method, rest[1]) in (("POST", "cancel"), ("GET", "results")):
        return rest[1], batch_id
    return None


def _has_key(environ: dict[str, Any]) -> bool:
    if environ.get("HTTP_X_API_KEY", "").strip():
        return True
    scheme, _, credentials = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(credentials.strip())


class EmulatorApp:
    def __init__(self, data_dir: Path, config: EmulatorConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(data_dir)
        self.faults = Faults(config)
        self.rate = limits.RateLimit(config.rate_limit)
        self.organization_id = quirks.organization_id(config)
        self._materialise_lock = threading.Lock()
        self._handlers: dict[str, Callable[[dict[str, Any], str | None], Reply]] = {
            "create": self._create,
            "list": self._list,
            "retrieve": self._retrieve,
            "cancel": self._cancel,
            "delete": self._delete,
            "results": self._results,
            "count_tokens": self._count_tokens,
        }

    # -- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = new_request_id()
        environ["batchctl.request_id"] = request_id
        try:
            status, headers, body = self._dispatch(environ)
        except ApiError as error:
            status, headers, data = error_reply(error, request_id)
            body = [data]
        except ReplyLost:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in the emulator: answer like the API would, say so once
            errors = environ.get("wsgi.errors") or sys.stderr
            print(f"batchctl emulator: internal error: {exc!r}", file=errors)
            internal = ApiError(500, "api_error", f"Internal error in the batchctl emulator: {exc!r}")
            status, headers, data = error_reply(internal, request_id)
            body = [data]
        start_response(status, [*headers, ("anthropic-organization-id", self.organization_id)])
        return body

    def _dispatch(self, environ: dict[str, Any]) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if not _has_key(environ):
            raise ApiError(
                401,
                "authentication_error",
                "No API key: send X-Api-Key or Authorization: Bearer"
                " (the emulator accepts any non-empty key).",
            )
        segments = _segments(environ)
        route = _route(method, segments)
        if route is None:
            raise ApiError(404, "not_found_error", f"Not found: {method} /{'/'.join(segments)}")
        endpoint, batch_id = route
        # Token counting has rate limits of its own, "separate and independent from message
        # creation" (https://docs.claude.com/en/docs/build-with-claude/token-counting#pricing-and-rate-limits):
        # the Message Batches rate limit does not count it.
        refused = self.rate.check(self.clock()) if endpoint != "count_tokens" else None
        if refused is not None:
            raise refused
        fault = self.faults.before(endpoint)
        if fault is not None:
            raise fault
        status, headers, body = self._handlers[endpoint](environ, batch_id)
        if self.faults.lose_reply(endpoint):
            close = getattr(body, "close", None)
            if close is not None:
                close()
            raise ReplyLost(
                f"batchctl emulator: reply to {endpoint} lost after the work was done (lost_reply_rate)"
            )
        return status, headers, body

    def _json(self, environ: dict[str, Any], body: object) -> Reply:
        status, headers, data = json_reply(200, body, environ["batchctl.request_id"])
        return status, headers, [data]

    # -- batches as JSON ---------------------------------------------------------------------

    def _base_url(self, environ: dict[str, Any], *, results: bool = False) -> str:
        if results and self.config.results_origin:  # results_url on another origin (an option)
            return self.config.results_origin + environ.get("SCRIPT_NAME", "").rstrip("/")
        if self.config.public_base_url:
            return self.config.public_base_url
        scheme = environ.get("wsgi.url_scheme", "http")
        host = environ.get("HTTP_HOST")
        if not host:
            host = environ.get("SERVER_NAME", "127.0.0.1")
            port = environ.get("SERVER_PORT", "")
            if port and port != {"http": "80", "https": "443"}.get(scheme):
                host = f"{host}:{port}"
        return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '').rstrip('/')}"

    def _plan(self, row: BatchRow) -> list[outcomes.PlanEntry]:
        try:
            return outcomes.load_plan(self.store.read_plan(row.id))
        except FileNotFoundError:  # deleted meanwhile (by another thread or process)
            raise not_found(row.id) from None

    def _counts(self, row: BatchRow, timeline: Timeline) -> dict[str, int]:
        if row.final_counts is not None:
            return row.final_counts
        try:
            plan = self._plan(row)
        except ApiError:
            fresh = self.store.get(row.id, include_deleted=True)
            if fresh is None or fresh.final_counts is None:
                raise
            return fresh.final_counts
        counts = outcomes.final_counts(plan, timeline)
        self.store.save_counts(row.id, counts)
        return counts

    def _batch_json(self, environ: dict[str, Any], row: BatchRow, now: float) -> dict[str, Any]:
        timeline = row.timeline
        status = timeline.status(now)
        ended = status == "ended"
        if ended:
            counts = self._counts(row, timeline)
        else:
            counts = {
                "processing": row.request_count,
                "succeeded": 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            }
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
            "results_url": f"{self._base_url(environ, results=True)}/v1/messages/batches/{row.id}/results"
            if ended
            else None,
        }

    def _row(self, batch_id: str | None) -> BatchRow:
        row = self.store.get(batch_id or "")
        if row is None:
            raise not_found(batch_id or "")
        return row

    # -- endpoints ---------------------------------------------------------------------------

    def _count_tokens(self, environ: dict[str, Any], _batch_id: str | None) -> Reply:
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
        return self._json(environ, {"input_tokens": tokens})

    def _create(self, environ: dict[str, Any], _batch_id: str | None) -> Reply:
        refused = quirks.spend_limit(self.config, self.store.count() if self.config.spend_limit else 0)
        if refused is not None:
            raise refused
        api_version = environ.get("HTTP_ANTHROPIC_VERSION")
        config = self.config
        document = intake.read_json_body(environ, self.store.tmp_dir, config.max_body_bytes)
        items = intake.check_envelope(document)
        # The rules each request is checked against follow from the create's headers.
        rules_key = (api_version, environ.get("HTTP_ANTHROPIC_BETA"), config.any_model)
        plan = outcomes.static_plan(items, config.seed, rules_key)
        del document, items

        def build_plan(seq: int) -> bytes:
            outcomes.roll_outcomes(plan, config.seed, seq, config.error_rate, config.expire_rate)
            return outcomes.dump_plan(plan)

        now = self.clock()
        timing = Timeline(
            created_at=now,
            processing_seconds=config.processing_seconds,
            cancel_seconds=config.cancel_seconds,
            expiry_seconds=config.expiry_seconds,
            archive_seconds=config.archive_seconds,
        )
        row = self.store.create(
            new_batch_id(),
            created_at=now,
            request_count=len(plan),
            timing=timing,
            api_version=api_version,
            build_plan=build_plan,
            admit=self._admit(len(plan), now),
        )
        if row.timeline.status(now) == "ended":  # processing_seconds=0: count from the plan in hand
            self.store.save_counts(row.id, outcomes.final_counts(plan, row.timeline))
            row = self._row(row.id)
        return self._json(environ, self._batch_json(environ, row, now))

    def _admit(self, incoming: int, now: float) -> Callable[[list[tuple[float, int]]], None] | None:
        """The processing-queue check of a create (``queue_limit``; see emulator.limits)."""
        limit = self.config.queue_limit
        if limit is None:
            return None

        def admit(unended: list[tuple[float, int]]) -> None:
            queued = sum(count for _, count in unended)
            refused = limits.queue_full(limit, queued, incoming, unended, now)
            if refused is not None:
                raise refused

        return admit

    def _list(self, environ: dict[str, Any], _batch_id: str | None) -> Reply:
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
                cursor = self.store.get(value, include_deleted=True)
                if cursor is None:
                    raise bad_request(f"{name[:-4]}_id: no message batch with id {value!r}")
                cursors[name] = cursor.seq
        rows, has_more = self.store.page(limit, **cursors)
        now = self.clock()
        data = [self._batch_json(environ, row, now) for row in rows]
        page = {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
        return self._json(environ, page)

    def _retrieve(self, environ: dict[str, Any], batch_id: str | None) -> Reply:
        row = self._row(batch_id)
        now = self.clock()
        quirks.flaky_404(self.config, row.id, row.timeline, now)
        return self._json(environ, self._batch_json(environ, row, now))

    def _cancel(self, environ: dict[str, Any], batch_id: str | None) -> Reply:
        row = self._row(batch_id)
        now = self.clock()
        status = row.timeline.status(now)
        if status == "ended":
            raise bad_request(
                f"Message batch {row.id} has already ended; only a batch in progress can be canceled."
            )
        if status == "in_progress":
            self.store.set_cancel(row.id, now)
            row = self._row(row.id)
        return self._json(environ, self._batch_json(environ, row, now))

    def _delete(self, environ: dict[str, Any], batch_id: str | None) -> Reply:
        row = self._row(batch_id)
        status = row.timeline.status(self.clock())
        if status != "ended":
            raise bad_request(
                f"Message batch {row.id} is {status}; only an ended batch can be deleted."
                " Cancel it first and wait until it has ended."
            )
        self._counts(row, row.timeline)  # kept on the tombstone for readers that raced the delete
        self.store.mark_deleted(row.id, self.clock())
        return self._json(environ, {"id": row.id, "type": "message_batch_deleted"})

    def _results(self, environ: dict[str, Any], batch_id: str | None) -> Reply:
        row = self._row(batch_id)
        now = self.clock()
        timeline = row.timeline
        quirks.flaky_404(self.config, row.id, timeline, now)
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
        path = self._materialise(row, timeline)
        file = open(path, "rb")  # noqa: SIM115 - closed by the body iterator / file wrapper
        size = path.stat().st_size
        headers = [
            ("Content-Type", "application/x-jsonl"),
            ("Content-Length", str(size)),
            ("request-id", environ["batchctl.request_id"]),
        ]
        keep = self.faults.drop_point(size)
        body: Iterable[bytes]
        if keep is not None:
            body = cut_body(file, keep)
        elif "wsgi.file_wrapper" in environ:
            body = environ["wsgi.file_wrapper"](file, 1 << 20)
        else:
            body = read_chunks(file)
        return status_line(200), headers, body

    def _materialise(self, row: BatchRow, timeline: Timeline) -> Path:
        """Write the shuffled results file once, the first time it is asked for."""
        path = self.store.results_path(row.id)
        if path.exists():
            return path
        with self._materialise_lock:
            if not path.exists():
                plan = self._plan(row)
                if row.final_counts is None:
                    self.store.save_counts(row.id, outcomes.final_counts(plan, timeline))
                write_atomic(path, outcomes.result_lines(row.id, plan, timeline))
        return path

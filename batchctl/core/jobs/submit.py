"""The submit workflow: answer content already tracked, else record the intent, create, reconcile.

Never twice: the store records an intent (job, part, time) before each create call, the create
goes out with the SDK's retries off, and after an ambiguous failure (connection lost once the body
may have arrived, 5xx) the API's list is searched, newest first, for a batch this intent made
(created after it, same request count, not tracked by another row) before anything is sent again.
A run that finds an open intent left by a crashed run reconciles the same way before creating.
Such a match is a guess (the API shows no requests before a batch ends): a single candidate is
adopted as 'unverified' and checked against the request file when its results are fetched
(batchctl.core.results.fetch.verify_adopted); several candidates are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from batchctl.core.catalog.prices import ESTIMATE_NOTE, cost_summary
from batchctl.core.clock import Clock
from batchctl.core.errors import APIError, StateError, UnavailableError
from batchctl.core.requests.body import part_body
from batchctl.core.requests.scan import Part, Scan
from batchctl.core.state.jobs import content_key
from batchctl.core.state.store import Store

if TYPE_CHECKING:  # importing the API layer loads anthropic (about a second)
    from batchctl.core.api import Api

CREATE_ATTEMPTS = 4  # one call and three more, only after reconciling found nothing
BACKOFF = (1.0, 2.0, 4.0, 8.0)
MAX_RETRY_AFTER = 600.0  # seconds: a longer retry-after is cut to this
CLOCK_SKEW = 30.0  # seconds the API's clock may be behind ours when matching a created_at

Notify = Callable[[str, str], None]  # (level: "info" | "warn", message)


@dataclass
class SubmitResult:
    job_id: str
    records: list[dict[str, Any]]  # one per part, in part order
    existing: bool = False  # all parts were already tracked: nothing was sent
    adopted: list[int] = field(default_factory=list)  # parts found by reconciliation


def split_key(scan: Scan) -> str:
    """The part boundaries as text: a file split differently is a different job."""
    return ",".join(f"{first}-{last}" for first, last in scan.boundaries)


def dry_run_summary(scan: Scan) -> dict[str, Any]:
    """What a submit of ``scan`` would send, with estimates; no network, no store."""
    costs = cost_summary(scan.models, scan.input_tokens, scan.output_tokens)
    return {
        "file": scan.display_name,
        "path": scan.path,
        "sha256": scan.sha256,
        "bytes": scan.byte_size,
        "requests": scan.request_count,
        "openai_style_requests": scan.openai_style,
        "parts": [
            {"part": p.index, "first_line": p.first_line, "last_line": p.last_line,
             "requests": p.request_count, "body_bytes": p.body_size}
            for p in scan.parts
        ],
        "est_input_tokens": scan.est_input_tokens,
        "max_output_tokens": scan.max_output_tokens,
        **costs,
        "note": ESTIMATE_NOTE + "; cost at batch rates (50% of standard)",
    }


def submit(
    api: Api,
    store: Store,
    scan: Scan,
    *,
    source: str,
    label: str | None = None,
    betas: Sequence[str] = (),
    force: bool = False,
    clock: Clock,
    notify: Notify | None = None,
) -> SubmitResult:
    """Submit every part of a scanned file as one job (or answer the job that already did).

    Two submits of the same content at once, on one store (on any machines, with PostgreSQL),
    make one job and one batch per part: the second waits on the content's lock in the store
    (which dies with the process holding it), then finds the job done."""
    say = notify or (lambda level, message: None)
    key = split_key(scan)
    lock = content_key(sha256=scan.sha256, split_key=key, base_url=api.base_url)

    def waiting() -> None:
        say("info", "another submit of the same content is under way; waiting for it")

    with store.hold(lock, on_wait=waiting):
        return _submit_locked(api, store, scan, key, source=source, label=label, betas=betas,
                              force=force, clock=clock, say=say)


def _submit_locked(
    api: Api, store: Store, scan: Scan, key: str, *, source: str, label: str | None,
    betas: Sequence[str], force: bool, clock: Clock, say: Notify,
) -> SubmitResult:
    job = None if force else store.find_job(sha256=scan.sha256, split_key=key, base_url=api.base_url)
    if job is not None:
        done = {b["part"]: b for b in store.job_batches(job["id"])}
        if len(done) == job["part_count"]:
            records = [_record(done[p.index], job, existing=True) for p in scan.parts]
            return SubmitResult(job["id"], records, existing=True)
        say("info", f"resuming job {job['id']}: {len(done)} of {job['part_count']} parts were sent")
    else:
        job = store.insert_job(
            base_url=api.base_url, request_file=scan.path, source=source, sha256=scan.sha256,
            byte_size=scan.byte_size, request_count=scan.request_count,
            part_count=len(scan.parts), split_key=key, label=label, betas=list(betas),
        )
    betas = job["betas"] or list(betas)
    result = SubmitResult(job["id"], [])
    for part in scan.parts:
        row = _part_row(store, job["id"], part.index)
        existing = row is not None
        if row is None:
            row, adopted = _submit_part(api, store, scan, job, part, betas, clock, say)
            if adopted:
                result.adopted.append(part.index)
        result.records.append(_record(row, job, existing=existing))
    return result


def _part_row(store: Store, job_id: str, part: int) -> dict[str, Any] | None:
    return next((b for b in store.job_batches(job_id) if b["part"] == part), None)


def _submit_part(
    api: Api, store: Store, scan: Scan, job: dict, part: Part, betas: Sequence[str],
    clock: Clock, say: Notify,
) -> tuple[dict[str, Any], bool]:
    where = f"part {part.index} of {len(scan.parts)}" if len(scan.parts) > 1 else "the batch"
    intent = store.get_intent(job["id"], part.index)
    if intent is not None and intent["state"] == "open":
        # A run before this one recorded the intent and never recorded a batch: it may exist.
        say("info", f"an earlier submit of {where} did not finish; looking for its batch")
        found = _reconcile(api, store, intent, part, where)
        if found is not None:
            say("warn", f"found {found['id']}, apparently created by the earlier submit: not "
                        "sending again (its requests are checked when its results are fetched)")
            return _store_batch(store, found, scan, job, part, adopted=True), True
    intent = store.open_intent(job_id=job["id"], part=part.index, request_count=part.request_count)
    body = part_body(scan.path, part)
    for attempt in range(CREATE_ATTEMPTS):
        try:
            batch = api.create(body.chunks, body.size, betas=betas)
        except UnavailableError as exc:
            last = attempt == CREATE_ATTEMPTS - 1
            if _ambiguous(exc):
                say("warn", f"creating {where} failed ({exc.message}); the batch may exist: "
                            "looking for it before trying again")
                found = _reconcile(api, store, intent, part, where)
                if found is not None:
                    say("warn", f"found {found['id']}: the create had apparently worked (its "
                                "requests are checked when its results are fetched)")
                    return _store_batch(store, found, scan, job, part, adopted=True), True
            if last:
                exc.hint = exc.hint or (
                    "run the same submit again later: it looks for the batch before sending"
                )
                raise
            delay = _delay(exc, attempt)
            say("info", f"trying {where} again in {delay:.3g} s")
            clock.sleep(delay)
        else:
            return _store_batch(store, batch, scan, job, part), False
    raise AssertionError("unreachable")  # pragma: no cover


def _ambiguous(exc: UnavailableError) -> bool:
    """The request may have been acted on: no answer at all, or a server error. A connection
    that was never made (refused, unknown host) sent nothing."""
    if exc.status is not None:
        return exc.status >= 500
    return exc.request_sent


def _delay(exc: APIError, attempt: int) -> float:
    """The server's ``retry-after-ms`` / ``retry-after`` (capped), else our backoff."""
    if exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER)
    return BACKOFF[min(attempt, len(BACKOFF) - 1)]


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _reconcile(
    api: Api, store: Store, intent: dict, part: Part, where: str
) -> dict[str, Any] | None:
    """The batch this intent's create made although its reply was lost, if it can be told.

    The API shows nothing of a batch's requests before it ends, so a batch can only be matched
    on what it shows: created since the intent (less CLOCK_SKEW), the part's request count, and
    tracked by no row of this store. One such batch is adopted, marked 'unverified': results
    and retry-failed check its custom_ids against the request file before trusting it. Several
    are refused (StateError, exit 7): another client submitted a batch of the same size at the
    same time, and picking one could hand this job someone else's answers. If the list cannot
    be read, nothing more is sent: the intent stays open for the next run to check."""
    try:
        found = _candidates(api, store, intent, part)
    except UnavailableError as exc:
        raise UnavailableError(
            f"could not check whether {where} was created: {exc.message}",
            status=exc.status, request_id=exc.request_id, error_type=exc.error_type,
            hint="run the same submit again: it looks for the batch before sending anything",
        ) from exc
    if len(found) > 1:
        ids = ", ".join(b["id"] for b in found)
        raise StateError(
            f"the reply to the create of {where} was lost, and {len(found)} batches of "
            f"{part.request_count:,} requests were created since, none tracked here ({ids}): "
            "one of them may be this submit's, but batchctl will not guess whose is whose",
            hint="when they have ended, `batchctl results ID` of each shows whose requests it "
            "answers; `batchctl submit --force` sends this file again (billed again)",
        )
    return found[0] if found else None


def _candidates(api: Api, store: Store, intent: dict, part: Part) -> list[dict[str, Any]]:
    since = float(intent["created_at"]) - CLOCK_SKEW
    found = []
    for batch in api.iter_batches(page_size=100):
        created = _timestamp(batch.get("created_at"))
        if created is not None and created < since:
            break  # newest first: everything further down is older than the intent
        counts = batch.get("request_counts") or {}
        if sum(counts.values()) == part.request_count and store.get_batch(batch["id"]) is None:
            found.append(batch)
    return found


def _store_batch(
    store: Store, batch: dict[str, Any], scan: Scan, job: dict, part: Part, *,
    adopted: bool = False,
) -> dict[str, Any]:
    return store.record_batch(
        batch, job_id=job["id"], part=part.index, base_url=job["base_url"],
        request_file=scan.path, sha256=scan.sha256, byte_size=scan.byte_size,
        first_line=part.first_line, last_line=part.last_line, start_offset=part.start_offset,
        end_offset=part.end_offset, request_count=part.request_count, label=job["label"],
        adoption="unverified" if adopted else None,
    )


def _record(row: dict[str, Any], job: dict, *, existing: bool) -> dict[str, Any]:
    """The one JSON shape of a submitted batch; ``existing``: tracked before this submit."""
    return {
        "id": row["id"],
        "job_id": row["job_id"],
        "part": row["part"],
        "parts": job["part_count"],
        "file": job["source"],
        "request_file": row["request_file"],
        "sha256": row["sha256"],
        "first_line": row["first_line"],
        "last_line": row["last_line"],
        "request_count": row["request_count"],
        "label": row["label"],
        "base_url": row["base_url"],
        "processing_status": row["processing_status"],
        "request_counts": row["request_counts"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "existing": existing,
    }

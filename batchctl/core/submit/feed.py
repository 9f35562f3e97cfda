"""Feeding a job through the API's processing queue: send its pending parts while there is room.

The API limits the requests waiting in batches not yet ended (the processing queue: 100,000 to
500,000 by tier; docs: rate limits, "Message Batches API"): a create past it answers 429. A job
larger than the queue is therefore sent part by part. Every part is recorded with its job
(store table ``parts``, migration m005); a part is *pending* while no batch has been created for
it. ``feed`` sends a job's pending parts in order, each through ``create.send_part`` (intent,
create, reconciliation: never twice), and stops at the first one that cannot go now:

* ``queue_full``: the create was refused with the queue-full 429. The part is held until the
  server's ``retry-after`` (else QUEUE_RETRY), or sooner once this job's own unended requests
  have dropped below what they were at the refusal (the queue drained);
* ``max_queued``: sending it would take this job's unended requests over the job's
  ``--max-queued`` (a margin the user keeps for other work); no call is made;
* ``busy``: another live process is feeding this job (a store lock that dies with it);
* ``warmup``: the part is sent after the job's warm-up batch (--cache auto), which has not
  ended; it is held until it has, or until the part's ``after_timeout`` (--warmup-timeout)
  after the warm-up was sent: then it goes without waiting further, and a note says so;
* ``spend_limit``: the create met a spend or usage cap (SpendLimitError, exit 10). The part is
  held and the error propagates with what was sent: retrying cannot help until the limit
  changes, and the same submit (or run, wait, collect) later sends the parts left.

submit, run, wait JOB and collect call it; the held reason is kept on the part row, so another
helper's reason (a spend limit, say) can use the same "parts not yet sent" record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batchctl.core.clock import Clock
from batchctl.core.errors import NextStep, QueueFullError, SpendLimitError
from batchctl.core.events import WARN, Event, Events, Note
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.requests.linesets import line_ranges, line_set, role
from batchctl.core.requests.scan import Part
from batchctl.core.submit.create import MAX_RETRY_AFTER, send_part

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.state.store import Store

QUEUE_FULL = "queue_full"
MAX_QUEUED = "max_queued"
BUSY = "busy"
SPEND_LIMIT = "spend_limit"
WARMUP = "warmup"  # waiting for the warm-up batch to end (core/requests/warmup.py)
WARMUP_TIMEOUT = 1800.0  # s a part waits for its warm-up to end, by default (--warmup-timeout)
PENDING = "pending"  # the processing_status shown for a part not sent yet

QUEUE_RETRY = 300.0  # s before a full queue is tried again when the 429 gave no retry-after
ENDED = "ended"



@dataclass
class FeedResult(Event):
    """What one ``feed`` did: the batch rows it created, the parts still pending, and why it
    stopped (None: nothing left, or nothing held it back). `wait` reports it as an event."""

    job_id: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    adopted: list[int] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    retry_at: float | None = None


# -- parts as stored ------------------------------------------------------------------------------
def part_fields(part: Part, warmup_timeout: float | None = None) -> dict[str, Any]:
    """A scanned part as a row of ``parts`` (Store.record_parts); ``warmup_timeout``: how long
    a part sent after the warm-up waits for it to end, at most (s)."""
    return {
        "part": part.index, "first_line": part.first_line, "last_line": part.last_line,
        "start_offset": part.start_offset, "end_offset": part.end_offset,
        "request_count": part.request_count, "body_size": part.body_size, "sha256": part.sha256,
        "convert_lines": line_ranges(part.convert_lines),
        "only_lines": None if part.only is None else line_ranges(part.only),
        "skip_lines": line_ranges(part.skip), "after_part": part.after,
        "after_timeout": None if part.after is None else warmup_timeout,
    }


def part_from_row(row: Mapping[str, Any]) -> Part:
    """The Part a stored row (of ``parts`` or ``batches``) describes (enough to stream its
    create body again, or read its lines back)."""
    only = row.get("only_lines")
    return Part(
        index=row["part"], first_line=row["first_line"], last_line=row["last_line"],
        start_offset=row["start_offset"], end_offset=row["end_offset"],
        request_count=row["request_count"], body_size=row.get("body_size") or 0,
        sha256=row["sha256"], convert_lines=line_set(row.get("convert_lines")),
        only=None if only is None else line_set(only), skip=line_set(row.get("skip_lines")),
        after=row.get("after_part"),
    )


def pending_record(row: Mapping[str, Any], job: Mapping[str, Any]) -> dict[str, Any]:
    """A part not sent yet, in the shape of a submitted batch's record, marked pending."""
    return {
        "id": None, "job_id": job["id"], "part": row["part"], "parts": job["part_count"],
        "file": job["source"], "request_file": job["request_file"], "sha256": job["sha256"],
        "first_line": row["first_line"], "last_line": row["last_line"],
        "request_count": row["request_count"], "label": job["label"],
        "base_url": job["base_url"], "processing_status": PENDING, "request_counts": None,
        "created_at": None, "expires_at": None, "existing": False, "pending": True,
        "held": row.get("held"), "role": role(row),
    }


def unended_requests(store: Store, job_id: str) -> int:
    """Requests of this job's batches not ended when last seen (what it holds in the queue)."""
    return sum(
        int(b["request_count"]) for b in store.job_batches(job_id)
        if b.get("processing_status") != ENDED and b.get("deleted_at") is None
    )


def job_counts(store: Store, job_id: str) -> dict[str, int]:
    """Parts and requests of a job: pending (not sent), sent, and ended among those sent."""
    out = dict.fromkeys(("parts", "pending", "sent", "ended", "pending_requests",
                         "sent_requests", "ended_requests"), 0)
    for row in store.job_parts(job_id):
        n = int(row["request_count"])
        out["parts"] += 1
        if row["batch_id"] is None:
            out["pending"] += 1
            out["pending_requests"] += n
            continue
        out["sent"] += 1
        out["sent_requests"] += n
        if row["processing_status"] == ENDED:
            out["ended"] += 1
            out["ended_requests"] += n
    return out


def job_reports(
    store: Store, job_ids: Iterable[str]
) -> list[tuple[str, dict[str, int], list[dict[str, Any]]]]:
    """(job id, job_counts, pending records) of each job that records its parts."""
    out = []
    for job_id in dict.fromkeys(job_ids):
        job = store.get_job(job_id)
        rows = store.job_parts(job_id) if job is not None else []
        if job is None or not rows:
            continue
        pending = [pending_record(r, job) for r in rows if r["batch_id"] is None]
        out.append((job_id, job_counts(store, job_id), pending))
    return out


# -- feeding --------------------------------------------------------------------------------------
def _due(row: Mapping[str, Any], unended: int, now: float) -> bool:
    """Whether a part held by a full queue may be tried again now."""
    if row.get("held") != QUEUE_FULL or row.get("retry_at") is None:
        return True
    if now >= float(row["retry_at"]):
        return True
    return row.get("held_unended") is not None and unended < int(row["held_unended"])


def feed(
    api: Api,
    store: Store,
    job_id: str,
    *,
    clock: Clock,
    flags: Flags = KEYS,
    claimed: bool = False,
) -> Events[FeedResult]:
    """Send the pending parts of ``job_id`` in order while the queue has room (see the module);
    the notes of each send are yielded on the way.

    The store's last-seen statuses say how much of the queue this job holds: callers refresh
    its batches first (wait and collect just polled them). Errors other than the queue-full
    429 propagate, the parts not sent staying pending.

    ``claimed``: the caller holds the job's feed claim, and lets it go (a submit takes its new
    job's before the parts are recorded: see ``batchctl.core.submit.submit``); else it is taken
    here, and a job another process is feeding is left to it (``BUSY``).
    """
    result = FeedResult(job_id)
    job = store.get_job(job_id)
    if job is None or not any(p["batch_id"] is None for p in store.job_parts(job_id)):
        return result
    if claimed:
        yield from _send_pending(api, store, job, result, clock, flags)
    elif not store.claim_feed(job_id):
        result.reason = BUSY
    else:
        try:
            yield from _send_pending(api, store, job, result, clock, flags)
        finally:
            store.release_feed(job_id)
    result.pending = [
        pending_record(p, job) for p in store.job_parts(job_id) if p["batch_id"] is None
    ]
    return result


def _send_pending(
    api: Api, store: Store, job: dict[str, Any], result: FeedResult, clock: Clock, flags: Flags
) -> Events[None]:
    job_id = job["id"]
    unended = unended_requests(store, job_id)
    betas = job.get("betas") or []
    cap = job.get("max_queued")
    rows = store.job_parts(job_id)  # read again under the claim
    late = False  # the warm-up's timeout was said
    for row in rows:
        if row["batch_id"] is not None:
            continue
        count = int(row["request_count"])
        if cap is not None and unended + count > cap:
            store.hold_part(job_id, row["part"], held=MAX_QUEUED, retry_at=None, unended=unended)
            result.reason = MAX_QUEUED
            return
        now = clock.time()
        gate = _warmup(rows, row, now, flags)
        if gate is not None:
            if gate[0] > now:
                store.hold_part(job_id, row["part"], held=WARMUP, retry_at=gate[0],
                                unended=unended)
                result.reason, result.retry_at = WARMUP, gate[0]
                return
            if not late:
                late = True
                yield Note(WARN, gate[1])
        if not _due(row, unended, now):
            result.reason, result.retry_at = QUEUE_FULL, row["retry_at"]
            return
        try:
            batch, adopted = yield from send_part(api, store, job, part_from_row(row), betas,
                                                  clock, flags)
        except QueueFullError as exc:
            wait = min(exc.retry_after, MAX_RETRY_AFTER) if exc.retry_after else QUEUE_RETRY
            retry_at = clock.time() + wait
            store.hold_part(job_id, row["part"], held=QUEUE_FULL, retry_at=retry_at,
                            unended=unended)
            result.reason, result.retry_at = QUEUE_FULL, retry_at
            return
        except SpendLimitError as exc:
            store.hold_part(job_id, row["part"], held=SPEND_LIMIT, retry_at=None, unended=unended)
            _stopped_by_limit(store, job, exc)
            raise
        result.sent.append(batch)
        if adopted:
            result.adopted.append(row["part"])
        unended += count


def _warmup(
    rows: Sequence[Mapping[str, Any]], row: Mapping[str, Any], now: float, flags: Flags
) -> tuple[float, str] | None:
    """When a part sent after the warm-up may go without it (its timeout after the warm-up was
    sent; unsent, a timeout from now), and what to say when it does; None: the part is not sent
    after one, or the warm-up has ended."""
    from batchctl.core.times import human_duration

    warm = next((r for r in rows if r["part"] == row.get("after_part")), None)
    if warm is None or warm["processing_status"] == ENDED:
        return None
    timeout = float(row.get("after_timeout") or WARMUP_TIMEOUT)
    since = warm.get("submitted_at")
    late = (f"the warm-up batch {warm['batch_id']} has not ended within "
            f"{flags['warmup_timeout']} {human_duration(timeout)}: sending the rest of job "
            f"{row['job_id']} without waiting further (fewer of its requests may read the cache)")
    return (now if since is None else float(since)) + timeout, late


def _stopped_by_limit(store: Store, job: Mapping[str, Any], exc: SpendLimitError) -> None:
    """Say what a cap left: the parts sent stay tracked; the job sends the rest later."""
    parts = store.job_parts(job["id"])
    sent = sum(p["batch_id"] is not None for p in parts)
    left = len(parts) - sent
    what = f"the {counted(left, 'part')} left" if sent else "it"
    exc.hint = (
        (f"{sent} of {len(parts)} parts of job {job['id']} were sent and stay tracked; " if sent
         else f"nothing was sent; job {job['id']} keeps the file; ")
        + f"once the limit allows, the same submit (same options) or `wait` sends {what}"
    )
    exc.next_steps = (
        NextStep(f"once the limit allows, send {what} and wait", "wait", (str(job["id"]),)),
    )


def held_lines(
    job_id: str, pending: list[dict[str, Any]], reason: str | None, retry_at: float | None,
    now: float, *, max_queued: int | None = None, flags: Flags = KEYS,
) -> list[str]:
    """Plain lines saying which parts of a job are not sent yet, why, and what sends them."""
    if not pending:
        return []
    from batchctl.core.times import human_duration

    n = len(pending)
    total = pending[0]["parts"]
    why = {
        QUEUE_FULL: "the API's processing queue is full"
        + (f" (next try in {human_duration(retry_at - now)}, sooner as this job's batches end)"
           if retry_at is not None and retry_at > now else ""),
        MAX_QUEUED: f"sending more would take this job over {flags['max_queued']} "
                    f"{max_queued or 0:,} "
                    "requests in unended batches",
        BUSY: "another batchctl process is sending them",
        SPEND_LIMIT: "a spend or usage limit refused them (exit 10 said which)",
        WARMUP: "they go once the warm-up batch has ended"
        + (f" (at the latest in {human_duration(retry_at - now)}, {flags['warmup_timeout']}), "
           if retry_at is not None and retry_at > now else ", ")
        + f"when `wait {job_id}`, `collect` or `run` sees it: within the hour, while the "
          "cache it wrote lasts",
    }.get(reason or "", "not sent yet")
    lines = [f"{n} of {counted(total, 'part')} of job {job_id} not sent yet: {why}"]
    lines += [f"  part {p['part']}: lines {p['first_line']}-{p['last_line']} "
              f"({counted(p['request_count'], 'request')}) pending" for p in pending]
    return lines


def send_step(job_id: str, reason: str | None = None) -> NextStep:
    """What sends a job's pending parts (so do run, collect and the same submit again), held
    for ``reason``."""
    when = "once the warm-up has ended" if reason == WARMUP else "as the queue drains"
    return NextStep(f"send the rest {when} (or run collect, or this submit again)",
                    "wait", (job_id,))

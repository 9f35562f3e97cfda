"""The submit workflow: answer content already tracked, else record the job and its parts and
send them (batchctl.core.submit.feed), each created at most once (batchctl.core.submit.create).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from batchctl.core.catalog.prices import ESTIMATE_NOTE, cost_summary, output_note
from batchctl.core.clock import Clock
from batchctl.core.errors import APIError, NextStep, UsageError
from batchctl.core.events import INFO, WARN, Event, Events, Note
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.requests.linesets import WARMUP_ROLE, role
from batchctl.core.requests.rules import RULES
from batchctl.core.requests.scan import Scan
from batchctl.core.state.jobs import content_key
from batchctl.core.state.store import Store
from batchctl.core.submit.feed import WARMUP_TIMEOUT, FeedResult, feed, held_lines, part_fields, send_step
from batchctl.core.submit.unsent import forget_if_unsent

if TYPE_CHECKING:  # importing the API layer loads anthropic (about a second)
    from batchctl.core.api.client import Api



@dataclass
class SubmitResult:
    job_id: str
    records: list[dict[str, Any]]  # one per part sent (now or before), in part order
    existing: bool = False  # all parts were already tracked: nothing was sent
    adopted: list[int] = field(default_factory=list)  # parts found by reconciliation
    pending: list[dict[str, Any]] = field(default_factory=list)  # parts not sent (feed)
    held: str | None = None  # why they were not: feed.QUEUE_FULL, MAX_QUEUED, BUSY
    retry_at: float | None = None  # a full queue is tried again from then (or sooner)
    max_queued: int | None = None  # the job's --max-queued

    def held_lines(self, now: float, flags: Flags = KEYS) -> list[str]:
        """The parts not sent, why, and what sends them (``feed.held_lines``); none: []."""
        return held_lines(self.job_id, self.pending, self.held, self.retry_at, now,
                          max_queued=self.max_queued, flags=flags)

    def send_step(self) -> NextStep:
        """The command that sends the parts not sent (``feed.send_step``)."""
        return send_step(self.job_id, self.held)


def cache_digest(scan: Scan) -> str:
    """The digest of the cache plan placed in the bodies ("" for none): a submit of the same
    file with another plan (another --cache) is another job."""
    return scan.cache.digest if scan.cache is not None else ""


def split_key(scan: Scan) -> str:
    """The part boundaries as text: a file split differently is a different job, and so is one
    sent with a warm-up (``w``) or without."""
    return ",".join(f"{'w' * (p.only is not None)}{p.first_line}-{p.last_line}"
                    for p in scan.parts)


def dry_run_summary(scan: Scan, *, counted_prompts: int | None = None) -> dict[str, Any]:
    """What a submit of ``scan`` would send, with estimates; ``counted_prompts``: input tokens
    were counted by the API for that many distinct prompts (``--count-tokens``)."""
    costs = cost_summary(scan.models, scan.input_tokens, scan.output_tokens, scan.long_tokens)
    priced = output_note(scan.server_tools)
    note = f"{ESTIMATE_NOTE}; {priced}; cost at batch rates (50% of standard)"
    if counted_prompts is not None:
        note = (f"input tokens counted by the API's count-tokens endpoint ({counted_prompts:,} "
                f"distinct prompts); {priced}; cost at batch rates (50% of standard)")
    return {
        "file": scan.display_name,
        "path": scan.path,
        "sha256": scan.sha256,
        "bytes": scan.byte_size,
        "requests": scan.request_count,
        "openai_style_requests": scan.openai_style,
        "api_version": scan.api_version,
        "rules": [{"id": r.id, "summary": r.summary, "source": r.source}
                  for r in map(RULES.__getitem__, scan.rules)],
        "lifted_betas": scan.lifted_betas,
        "warnings": scan.warnings,
        "parts": [
            {"part": p.index, "first_line": p.first_line, "last_line": p.last_line,
             "requests": p.request_count, "body_bytes": p.body_size,
             "role": WARMUP_ROLE if p.only is not None else None}
            for p in scan.parts
        ],
        "est_input_tokens": scan.est_input_tokens,
        "max_output_tokens": scan.max_output_tokens,
        "server_tool_requests": scan.server_tools,
        **costs,
        "input_tokens_counted": counted_prompts is not None,
        "note": note,
        **({"cache": scan.cache.report} if scan.cache is not None and scan.cache.report else {}),
    }


@dataclass(frozen=True)
class JobOptions:
    """How a scanned file is submitted as a job: ``source`` is what the job records (the path
    as given, or "-" for stdin); ``parent_id``: the batch this is a retry of; ``api_version``
    (default: the one the scan checked)."""

    source: str
    label: str | None = None
    betas: Sequence[str] = ()
    force: bool = False
    max_queued: int | None = None
    parent_id: str | None = None
    api_version: str | None = None
    warmup_timeout: float = WARMUP_TIMEOUT  # s the rest waits for a warm-up, at most
    # how the caller names these options, for messages
    flags: Flags = field(default=KEYS, compare=False, repr=False)


@dataclass(frozen=True)
class JobSubmitted(Event):
    """`run` submitted ``job`` (or found it submitted before) from the file called ``name``."""

    job: SubmitResult
    name: str


def submit(
    api: Api, store: Store, scan: Scan, options: JobOptions, *, clock: Clock
) -> Events[SubmitResult]:
    """Submit every part of a scanned file as one job (or answer the job that already did);
    what it does on the way is yielded as notes.

    ``options.parent_id``: the batch this is a retry of; only a retry of the same batch counts
    as the same submit (the lineage makes a retry distinct even when its file equals its
    parent's).

    Parts go out in order while the API's processing queue has room (batchctl.core.submit.feed):
    on the queue-full 429, or when the next part would take the job's unended requests over
    ``max_queued``, sending stops and the rest stay pending (``SubmitResult.pending``), to be
    sent by wait, run, collect or the same submit again.

    ``betas`` (with those the scan lifted from params) go in the anthropic-beta header and
    ``api_version`` (default: the one the scan checked) in the anthropic-version header of
    every create; both are recorded with the job, and a resumed job keeps its own."""
    betas = list(dict.fromkeys([*options.betas, *scan.lifted_betas]))
    options = replace(options, betas=betas,
                      api_version=options.api_version or scan.api_version or None)
    biggest = max((p.request_count for p in scan.parts), default=0)
    max_queued = options.max_queued
    if max_queued is not None and biggest > max_queued:
        flag = options.flags["max_queued"]
        raise UsageError(
            f"{flag} {max_queued:,} is smaller than a part of {counted(biggest, 'request')}: "
            "that part could never be sent",
            hint=f"raise {flag}, or split into smaller parts with {options.flags['max_requests']}",
        )
    key = split_key(scan)
    lock = content_key(sha256=scan.sha256, split_key=key, base_url=api.base_url,
                       cache_digest=cache_digest(scan))
    # Two submits of the same content at once, on one store (on any machines, with
    # PostgreSQL), make one job and one batch per part: the second waits on the content's lock
    # in the store (which dies with the process holding it), then finds the job done.
    if not store.try_lock(lock):
        yield Note(INFO, "another submit of the same content is under way; waiting for it")
        store.lock(lock)
    try:
        return (yield from _submit_locked(api, store, scan, key, options, clock))
    finally:
        store.unlock(lock)


def _submit_locked(
    api: Api, store: Store, scan: Scan, key: str, options: JobOptions, clock: Clock
) -> Events[SubmitResult]:
    label, max_queued = options.label, options.max_queued
    digest = cache_digest(scan)
    job = None if options.force else store.find_job(
        sha256=scan.sha256, split_key=key, base_url=api.base_url,
        parent_batch_id=options.parent_id, cache_digest=digest,
    )
    done: dict[int, dict[str, Any]] = {}
    if job is not None:
        yield from _label_kept(job, label, options.flags)
        # jobs before m005 recorded no parts
        store.record_parts(job["id"], [part_fields(p, options.warmup_timeout) for p in scan.parts])
        if max_queued is not None and max_queued != job.get("max_queued"):
            store.set_max_queued(job["id"], max_queued)
            job = store.get_job(job["id"]) or job
        done = {b["part"]: b for b in store.job_batches(job["id"])}
        if len(done) == job["part_count"]:
            records = [_record(done[p.index], job, existing=True) for p in scan.parts]
            return SubmitResult(job["id"], records, existing=True)
        yield Note(INFO, f"resuming job {job['id']}: {len(done)} of "
                         f"{counted(job['part_count'], 'part')} were sent")
        _refresh_unended(api, store, done.values(), clock)
        fed = yield from _feed(api, store, job, clock, options.flags, claimed=False)
    else:
        job = store.insert_job(
            base_url=api.base_url, request_file=scan.path, source=options.source,
            sha256=scan.sha256, byte_size=scan.byte_size, request_count=scan.request_count,
            part_count=len(scan.parts), split_key=key, label=label, betas=list(options.betas),
            max_queued=max_queued, parent_batch_id=options.parent_id,
            api_version=options.api_version, cache_digest=digest or None,
            cache_plan=json.dumps(scan.cache.plan) if scan.cache and scan.cache.plan else None,
        )
        # The job's feed claim first: once its parts are recorded they are pending for every
        # process (Store.pending_jobs), and a collect, wait or run that claimed them first sent
        # them itself, leaving this submit without the batch ids to print.
        with store.holding_feed(job["id"]):
            store.record_parts(job["id"], [part_fields(p, options.warmup_timeout)
                                          for p in scan.parts])
            fed = yield from _feed(api, store, job, clock, options.flags, claimed=True)
    records = [_record(b, job, existing=b["part"] in done) for b in store.job_batches(job["id"])]
    return SubmitResult(job["id"], records, adopted=fed.adopted, pending=fed.pending,
                        held=fed.reason, retry_at=fed.retry_at, max_queued=job.get("max_queued"))


def _feed(
    api: Api, store: Store, job: dict[str, Any], clock: Clock, flags: Flags, *, claimed: bool
) -> Events[FeedResult]:
    """``feed`` the job; after an API error, a job of which nothing was ever sent is forgotten
    (``forget_if_unsent``: it keeps a job with a batch or an open intent)."""
    try:
        return (yield from feed(api, store, job["id"], clock=clock, flags=flags, claimed=claimed))
    except APIError as exc:
        forget_if_unsent(store, job["id"], exc)
        raise


def _label_kept(job: dict[str, Any], label: str | None, flags: Flags) -> Iterator[Note]:
    """A --label that cannot apply (the content was submitted before, under another label or
    none) is said, never dropped in silence: the job keeps the label it was made with."""
    if label is None or label == job["label"]:
        return
    was = f"label {job['label']!r}" if job["label"] else "no label"
    yield Note(WARN, f"{flags['label']} {label!r} is not applied: this content was already "
                     "submitted as "
                     f"job {job['id']}, with {was}, which it keeps")


def _refresh_unended(
    api: Api, store: Store, rows: Iterable[dict[str, Any]], clock: Clock
) -> None:
    """Ask the API about a resumed job's unended batches: what ended freed queue room."""
    from batchctl.core.tracking.lifecycle import Target, refresh

    for row in rows:
        if row.get("processing_status") != "ended" and row.get("deleted_at") is None:
            refresh(api, store, Target(row["id"], row, row["job_id"]), clock.time())


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
        "pending": False,
        "role": role(row),
    }

"""Create the batch of one part at most once: the intent, the create, the reconciliation.

Never twice: the store records an intent (job, part, time) before each create call, the create
goes out with the SDK's retries off, and after an ambiguous failure (connection lost once the body
may have arrived, 5xx) the API's list is searched, newest first, for a batch this intent made
(created after it, same request count, not tracked by another row) before anything is sent again.
A run that finds an open intent left by a crashed run reconciles the same way before creating.
Such a match is a guess (the API shows no requests before a batch ends): a single candidate is
adopted as 'unverified' and checked against the request file when its results are fetched
(batchctl.core.results.selection.verify_adopted); several candidates are refused.

Every send of a part goes through ``send_part``: submit's first sends, and the later sends of
pending parts by wait, run, collect and a repeated submit (batchctl.core.submit.feed).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from batchctl.core.api.untrusted import UntrustedReplyError
from batchctl.core.clock import Clock
from batchctl.core.errors import (
    APIError,
    NextStep,
    QueueFullError,
    RefusedError,
    SpendLimitError,
    StateError,
    UnavailableError,
)
from batchctl.core.events import INFO, WARN, Events, Note, Sending
from batchctl.core.flags import KEYS, Flag, Flags
from batchctl.core.plural import counted
from batchctl.core.requests.body import part_body
from batchctl.core.requests.cacheplan import job_plan
from batchctl.core.requests.linesets import line_ranges
from batchctl.core.requests.scan import Part
from batchctl.core.state.store import Store

if TYPE_CHECKING:  # importing the API layer loads anthropic (about a second)
    from batchctl.core.api.client import Api

CREATE_ATTEMPTS = 4  # one call and three more, only after reconciling found nothing
BACKOFF = (1.0, 2.0, 4.0, 8.0)
MAX_RETRY_AFTER = 600.0  # seconds: a longer retry-after is cut to this
CLOCK_SKEW = 30.0  # seconds the API's clock may be behind ours when matching a created_at



def queue_full(exc: APIError) -> bool:
    """A 429 that names the processing queue: the API's limit on requests waiting in batches
    not yet ended (docs: rate limits, "Message Batches API"). The API gives no code for it,
    so its message is what tells it from the per-minute limit (see batchctl.emulator.limits)."""
    return exc.status == 429 and "processing queue" in exc.message.lower()


def where_text(part: int, parts: int) -> str:
    return f"part {part} of {parts}" if parts > 1 else "the batch"


def send_part(
    api: Api, store: Store, job: dict, part: Part, betas: Sequence[str], clock: Clock,
    flags: Flags = KEYS,
) -> Events[tuple[dict[str, Any], bool]]:
    """Create the batch of one part of ``job`` at most once; returns its new store row and
    whether it was adopted (found by reconciliation) rather than created by this call. What
    it does on the way (a reconciliation, a wait before trying again) is yielded as notes.

    A refusal that is no failure of the call (QueueFullError: the processing queue is full;
    SpendLimitError: a spend cap) is raised at once, the intent marked refused: nothing was
    made. An answer batchctl does not trust (UntrustedReplyError) is raised at once too, the
    intent left open: the batch may exist."""
    where = where_text(part.index, job["part_count"])
    # The way on after a failure never goes through --force (which would send a new batch):
    # wait (like the same command without --force) looks for the batch before sending.
    again = NextStep("carry on: it looks for the batch before sending anything", "wait",
                     (str(job["id"]),))
    intent = store.get_intent(job["id"], part.index)
    if intent is not None and intent["state"] == "open":
        # A run before this one recorded the intent and never recorded a batch: it may exist.
        yield Note(INFO, f"an earlier submit of {where} did not finish; looking for its batch")
        found = _reconcile(api, store, intent, part, where, str(job['request_file']), again)
        if found is not None:
            yield Note(WARN, f"found {found['id']}, apparently created by the earlier submit: "
                             "not sending again (its requests are checked when its results are "
                             "fetched)")
            return _store_batch(store, found, job, part, adopted=True), True
    intent = store.open_intent(job_id=job["id"], part=part.index, request_count=part.request_count)
    body = part_body(job["request_file"], part, job_plan(job))
    maybe_made = False  # an attempt whose outcome is unknown: the intent must stay open
    for attempt in range(CREATE_ATTEMPTS):
        yield Sending(part.index, job["part_count"], body.size)
        try:
            # The job's --api-version (NULL for jobs before m007: the SDK's default header).
            batch = api.create(body.chunks, body.size, betas=betas,
                               api_version=job.get("api_version"))
        except (SpendLimitError, RefusedError):
            # A spend cap, or nothing listening at the address: nothing was made, and trying
            # again at once would not help.
            store.refuse_intent(job["id"], part.index)
            raise
        except UntrustedReplyError as exc:
            # An answer batchctl will not store (e.g. an id of the wrong shape): sending again
            # could make a second batch. The intent stays open: the next run looks first.
            exc.hint = (f"check the server behind {flags['base_url']}; the next submit looks for "
                        "the batch first")
            raise
        except UnavailableError as exc:
            if queue_full(exc):
                if not maybe_made:
                    store.refuse_intent(job["id"], part.index)
                raise QueueFullError(
                    exc.message, status=exc.status, request_id=exc.request_id,
                    error_type=exc.error_type, retry_after=exc.retry_after,
                ) from exc
            last = attempt == CREATE_ATTEMPTS - 1
            if _ambiguous(exc):
                maybe_made = True
                yield Note(WARN, f"creating {where} failed ({exc.message}); the batch may exist: "
                                 "looking for it before trying again")
                found = _reconcile(api, store, intent, part, where, str(job['request_file']),
                                   again)
                if found is not None:
                    yield Note(WARN, f"found {found['id']}: the create had apparently worked "
                                     "(its requests are checked when its results are fetched)")
                    return _store_batch(store, found, job, part, adopted=True), True
            if last:
                if not maybe_made:  # every attempt was refused outright: nothing to look for
                    store.refuse_intent(job["id"], part.index)
                if not exc.next_steps:
                    exc.next_steps = (again,)
                raise
            delay = _delay(exc, attempt)
            yield Note(INFO, f"trying {where} again in {delay:.3g} s")
            clock.sleep(delay)
        else:
            return _store_batch(store, batch, job, part), False
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
    api: Api, store: Store, intent: dict, part: Part, where: str, path: str, again: NextStep
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
            next_steps=[again],
        ) from exc
    if len(found) > 1:
        ids = ", ".join(b["id"] for b in found)
        raise StateError(
            f"the reply to the create of {where} was lost, and {len(found)} batches of "
            f"{counted(part.request_count, 'request')} were created since, none tracked here ({ids}): "
            "one of them may be this submit's, but batchctl will not guess whose is whose",
            hint="when they have ended, the results of each show whose requests it answers",
            next_steps=[
                *(NextStep(f"the results of {b['id']}", "results", (str(b["id"]),))
                  for b in found),
                NextStep("send this file again (billed again)", "submit", (Flag("force"), path)),
            ],
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
    store: Store, batch: dict[str, Any], job: dict, part: Part, *, adopted: bool = False
) -> dict[str, Any]:
    return store.record_batch(
        batch, job_id=job["id"], part=part.index, base_url=job["base_url"],
        request_file=job["request_file"], sha256=job["sha256"], byte_size=job["byte_size"],
        first_line=part.first_line, last_line=part.last_line, start_offset=part.start_offset,
        end_offset=part.end_offset, request_count=part.request_count, label=job["label"],
        adoption="unverified" if adopted else None, parent_id=job.get("parent_batch_id"),
        source_host=socket.gethostname(), only_lines=None if part.only is None else
        line_ranges(part.only), skip_lines=line_ranges(part.skip),
    )

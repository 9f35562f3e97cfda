"""`wait` (and the wait of `run`): poll until every batch has ended or time is up.

``wait`` is the whole command: resolve the ID|JOB arguments, ``watch`` them, and say what to
end with. ``wait_for`` is the polling loop itself.

Time is the injected clock's wall-clock time, so a laptop that slept resumes at once, and tests
drive a whole wait in milliseconds with a fake clock. What happens is yielded as events (a batch
changed, a round of polls, a failed round, a feed of a job's parts) for the caller to show
(progress on a terminal, lines off one); nothing is printed here.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batchctl.core.clock import Clock
from batchctl.core.errors import (
    BatchctlError,
    Interrupted,
    NextStep,
    StillRunningError,
    UnavailableError,
)
from batchctl.core.events import (
    WARN,
    BatchChanged,
    Event,
    Events,
    Note,
    Polled,
    PollFailed,
    WaitStopped,
)
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.submit.feed import QUEUE_FULL, WARMUP, feed
from batchctl.core.tracking.lifecycle import (
    Target,
    batches_text,
    exit_status_error,
    is_ended,
    job_refs,
    local_record,
    resolve_targets,
    totals,
)
from batchctl.core.tracking.polling import Budget, poll

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.deps import Deps
    from batchctl.core.state.store import Store
    from batchctl.core.workflows.hooks import Hook

FIRST_INTERVAL = 5.0  # default: poll every 5 s at first,
MAX_INTERVAL = 60.0  # then every tenth of the time waited so far, up to once a minute
JITTER = 0.1  # +-10 %, so many waiting clients do not poll in step
SLEEP_SLICE = 5.0  # sleep in slices and re-read the wall clock (a suspended laptop resumes right)
OUTAGE_LIMIT = 600.0  # keep polling through an API outage this long, then give up (exit 6)

Record = dict[str, Any]


class Backoff:
    """Seconds to the next poll: the given ``interval`` exactly, or by default 5 s at first,
    then a tenth of the time waited, at most 60 s, jittered by +-10 %."""

    def __init__(self, interval: float | None = None) -> None:
        if interval is not None and interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self._rng = random.Random()

    def next(self, elapsed: float) -> float:
        if self.interval is not None:
            return self.interval
        base = min(MAX_INTERVAL, max(FIRST_INTERVAL, elapsed / 10.0))
        return base * (1.0 + self._rng.uniform(-JITTER, JITTER))


def changed(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    """A change worth a line: first sight, a new processing_status, or new request counts."""
    if before is None:
        return True
    return before.get("processing_status") != after.get("processing_status") or before.get(
        "request_counts"
    ) != after.get("request_counts")


def sleep_until(clock: Clock, deadline: float) -> None:
    while (left := deadline - clock.time()) > 0:
        clock.sleep(min(left, SLEEP_SLICE))


def wait_for(
    api: Api,
    store: Store,
    targets: Sequence[Target],
    options: WaitOptions,
    *,
    clock: Clock,
    jobs: Sequence[str] = (),
) -> Events[list[Record]]:
    """Poll every batch that has not ended until all have, or the options' ``timeout`` seconds
    have passed (polling every ``interval`` seconds, default: the backoff).

    Returns the last record of every target, in order, then a record marked ``pending`` for
    every part of ``jobs`` not sent yet: if any has not ended (or is pending), the timeout
    elapsed. Each round polls with the fewest calls (list pages for many batches, see
    batchctl.core.tracking.polling), then sends what the processing queue now has room for of
    ``jobs``' pending parts (batchctl.core.submit.feed); a batch sent joins the targets. The
    pause before the next round is the backoff, at least the calls just made / MAX_RATE, and
    at least a 429's retry-after: a rate limit is waited out, never an error.
    Yields ``BatchChanged`` when a batch is first seen and whenever its status or counts
    change; the feed's notes and its ``FeedResult`` after each feed of a job; ``PollFailed``
    when a round failed because the API was unavailable or limited the rate (the loop keeps
    going for up to OUTAGE_LIMIT seconds of outage once every batch has been seen; before
    that, it raises); ``Polled`` after every round. KeyboardInterrupt propagates, the batches
    keep running on the server.
    """
    targets = list(targets)
    if not targets and not jobs:
        return []
    start = clock.time()
    deadline = None if options.timeout is None else start + options.timeout
    backoff = Backoff(options.interval)
    budget = Budget()
    records: dict[str, Record] = {}
    pending: dict[str, list[Record]] = {}
    feed_at: dict[str, float | None] = {}
    outage_since: float | None = None
    while True:
        calls, wait_asked = 0, 0.0
        try:
            calls += yield from _poll_round(api, store, targets, records, clock.time())
            for job_id in jobs:
                fed = yield from feed(api, store, job_id, clock=clock, flags=options.flags)
                calls += len(fed.sent)
                for row in fed.sent:
                    targets.append(Target(row["id"], row, job_id))
                    records[row["id"]] = rec = local_record(row)
                    yield BatchChanged(rec, None)
                pending[job_id] = fed.pending
                feed_at[job_id] = fed.retry_at if fed.reason in (QUEUE_FULL, WARMUP) else None
                yield fed
            outage_since = None
        except UnavailableError as exc:
            now = clock.time()
            if exc.status == 429:  # a rate limit: wait as long as asked, then go on
                wait_asked = exc.retry_after if exc.retry_after is not None else FIRST_INTERVAL
            else:
                outage_since = now if outage_since is None else outage_since
                if len(records) < len(targets) or now - outage_since >= OUTAGE_LIMIT:
                    raise
            yield PollFailed(exc)
        now = clock.time()
        current = [records[t.id] for t in targets if t.id in records]
        current += [p for job_id in jobs for p in pending.get(job_id, [])]
        yield Polled(current, now)
        if all(is_ended(r) for r in current) and len(records) == len(targets):
            return current
        if deadline is not None and now >= deadline:
            return current
        pause = backoff.next(now - start)
        retry_at = [f for f in feed_at.values() if f is not None]
        if retry_at:  # a full queue or a warm-up's timeout said when to try again: be there
            pause = min(pause, max(min(retry_at) - now, 0.0))
        pause = max(pause, budget.pause(calls), wait_asked)
        if deadline is not None:
            pause = min(pause, deadline - now)
        sleep_until(clock, now + pause)


def _poll_round(
    api: Api, store: Store, targets: Sequence[Target], records: dict[str, Record], now: float,
) -> Events[int]:
    """Poll the targets not ended yet, yield their changes; returns the calls made."""
    todo = [t for t in targets if not is_ended(records.get(t.id))]
    if not todo:
        return 0
    found = poll(api, store, todo, now)
    for target in todo:
        previous = records.get(target.id)
        rec = records[target.id] = found.records[target.id]
        if changed(previous, rec):
            yield BatchChanged(rec, previous)
    return found.calls


# -- the command ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WaitStarted(Event):
    """Polling begins for ``targets`` and the parts not sent yet of ``jobs`` (the CLI makes the
    wait's display then)."""

    targets: Sequence[Target]
    jobs: Sequence[str]


@dataclass
class Waited:
    """How a wait ended: the last record of every batch (then a record marked pending per part
    not sent yet), how long it took, ``error``: what to end with once the summary is shown
    (a --timeout, or the --exit-status verdict), None for exit 0, and ``retry_steps``: the
    `retry-failed` commands worth suggesting (``advice.retry_steps``), for the summary to give."""

    targets: list[Target]
    jobs: list[str]
    records: list[Record]
    elapsed: float
    error: BatchctlError | None = None
    retry_steps: list[NextStep] = field(default_factory=list)

    @property
    def all_ended(self) -> bool:
        return all(is_ended(r) for r in self.records)


@dataclass(frozen=True)
class WaitEnded(Event):
    """How a wait ended: `run`'s before its results are written, `wait`'s before its hooks."""

    waited: Waited


@dataclass(frozen=True)
class WaitOptions:
    """How long to wait and how often to look: ``interval`` (None: the backoff), ``timeout``
    (None: until every batch ends), ``exit_status``: end with the verdict on failed requests."""

    interval: float | None = None
    timeout: float | None = None
    exit_status: bool = False
    # how the caller names its options, for messages and hints
    flags: Flags = field(default=KEYS, compare=False, repr=False)


def wait(
    deps: Deps, refs: Sequence[str], options: WaitOptions, *, base_url: str,
    hook: Hook | None = None,
) -> Events[Waited]:
    """`batchctl wait ID|JOB ...`: wait for the batches named (a job's parts not sent yet are
    sent as the queue drains, and waited for), yielding what ``watch`` yields, then say what to
    end with: StillRunningError (8) if the timeout elapsed first, else with ``exit_status``
    the verdict of ``lifecycle.exit_status_error`` (its retry hints are the summary's to give),
    then ``WaitEnded``. ``hook`` runs for each job as it ends (batchctl.core.workflows.hooks)."""
    targets = resolve_targets(deps.store(), refs, base_url=base_url, flags=options.flags)
    jobs = job_refs(refs)
    waited = yield from watch(deps, targets, jobs, options, hook=hook)
    yield from _jobs_left_behind(deps.store(), targets, jobs)
    if not waited.all_ended:
        running = [r for r in waited.records if not is_ended(r)]
        waited.error = StillRunningError(
            f"gave up waiting after {options.flags['timeout']} {options.timeout or 0:g} s; "
            f"{batches_text(len(running))} still running",
            next_steps=[resume_step(targets, jobs)],
        )
    elif options.exit_status:
        waited.error = exit_status_error(waited.records)
    yield WaitEnded(waited)
    return waited


def _jobs_left_behind(
    store: Store, targets: Sequence[Target], jobs: Sequence[str]
) -> Events[None]:
    """A batch waited for by its id whose job has parts not sent yet (``--cache auto``'s
    warm-up, a full queue): say so, and what sends them. A script that waits on the ids a piped
    submit printed would otherwise take the warm-up's results for the job's."""
    told = set(jobs)
    for target in targets:
        job_id = (target.row or {}).get("job_id")
        if not job_id or job_id in told:
            continue
        told.add(job_id)
        unsent = [p for p in store.job_parts(str(job_id)) if p["batch_id"] is None]
        if unsent:
            requests = sum(int(p["request_count"]) for p in unsent)
            yield Note(WARN, f"{target.id} is a part of job {job_id}, which has "
                             f"{counted(len(unsent), 'part')} not sent yet "
                             f"({counted(requests, 'request')}): `wait {job_id}` sends "
                             f"them and waits for them, `results {job_id}` has every result")


def watch(
    deps: Deps, targets: Sequence[Target], jobs: Sequence[str], options: WaitOptions,
    *, hook: Hook | None = None,
) -> Events[Waited]:
    """``wait_for`` the targets (and the pending parts of ``jobs``), between ``WaitStarted``
    and ``WaitStopped``, with ``hook`` run for each job as it ends (``hooks.as_jobs_end``).
    The API client is built first: no key is exit 4 before any display. Ctrl-C (in a hook
    too) raises Interrupted (exit 130) naming the command that resumes."""
    api, store, clock = deps.api(), deps.store(), deps.clock
    start = clock.time()
    yield WaitStarted(targets, jobs)
    try:
        polling = wait_for(api, store, targets, options, clock=clock, jobs=jobs)
        if hook is not None:
            from batchctl.core.workflows.hooks import as_jobs_end

            polling = as_jobs_end(store, hook, targets, jobs, polling, base_url=api.base_url)
        records = yield from polling
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; the batches keep running on the server",
            next_steps=[resume_step(targets, jobs)],
        ) from None
    yield WaitStopped()
    elapsed = clock.time() - start
    return Waited(list(targets), list(jobs), records, elapsed,
                  retry_steps=_retry_steps(api, targets, records))


def _retry_steps(api: Api, targets: Sequence[Target], records: Sequence[Record]) -> list[NextStep]:
    """What retry-failed can help with, once every batch has ended and some request failed;
    none while a batch runs or a part is not sent, nor when every batch's results were
    archived (there is nothing left to retry). Only then are results read (``advice``)."""
    if not all(is_ended(r) for r in records) or all(r.get("archived_at") for r in records):
        return []
    t = totals(records)
    if not t["errored"] + t["expired"] + t["canceled"]:
        return []
    from batchctl.core.workflows.advice import retry_steps

    return retry_steps(api, targets, records)


def resume_step(targets: Sequence[Target], jobs: Sequence[str] = ()) -> NextStep:
    """The `wait` that carries on waiting for the same arguments."""
    return NextStep("resume with", "wait",
                    tuple(dict.fromkeys([*(t.ref for t in targets), *jobs])))

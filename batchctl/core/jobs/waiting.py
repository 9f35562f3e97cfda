"""The polling loop of `wait` (and of `run`): poll until every batch has ended or time is up.

Time is the injected clock's wall-clock time, so a laptop that slept resumes at once, and tests
drive a whole wait in milliseconds with a fake clock. What happens is reported through callbacks;
nothing is printed here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from batchctl.core.clock import Clock
from batchctl.core.errors import UnavailableError
from batchctl.core.jobs.feed import QUEUE_FULL, FeedResult, feed
from batchctl.core.jobs.lifecycle import Target, is_ended, local_record
from batchctl.core.jobs.polling import Budget, poll
from batchctl.core.notify import Notify

if TYPE_CHECKING:
    from batchctl.core.api import Api
    from batchctl.core.state.store import Store

FIRST_INTERVAL = 5.0  # default: poll every 5 s at first,
MAX_INTERVAL = 60.0  # then every tenth of the time waited so far, up to once a minute
JITTER = 0.1  # +-10 %, so many waiting clients do not poll in step
SLEEP_SLICE = 5.0  # sleep in slices and re-read the wall clock (a suspended laptop resumes right)
OUTAGE_LIMIT = 600.0  # keep polling through an API outage this long, then give up (exit 6)

Record = dict[str, Any]
OnChange = Callable[[Record, Record | None], None]
OnTick = Callable[[Sequence[Record], float], None]
OnError = Callable[[Exception], None]
OnFeed = Callable[[FeedResult], None]


class Backoff:
    """Seconds to the next poll: the given ``interval`` exactly, or by default 5 s at first,
    then a tenth of the time waited, at most 60 s, jittered by +-10 % (seeded)."""

    def __init__(self, interval: float | None = None, *, seed: int | None = None) -> None:
        if interval is not None and interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self._rng = random.Random(seed)

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
    *,
    clock: Clock,
    interval: float | None = None,
    timeout: float | None = None,
    on_change: OnChange | None = None,
    on_tick: OnTick | None = None,
    on_error: OnError | None = None,
    on_feed: OnFeed | None = None,
    jobs: Sequence[str] = (),
    notify: Notify | None = None,
    seed: int | None = None,
) -> list[Record]:
    """Poll every batch that has not ended until all have, or ``timeout`` seconds have passed.

    Returns the last record of every target, in order, then a record marked ``pending`` for
    every part of ``jobs`` not sent yet: if any has not ended (or is pending), the timeout
    elapsed. Each round polls with the fewest calls (list pages for many batches, see
    batchctl.core.jobs.polling), then sends what the processing queue now has room for of
    ``jobs``' pending parts (batchctl.core.jobs.feed); a batch sent joins the targets. The
    pause before the next round is the backoff, at least the calls just made / MAX_RATE, and
    at least a 429's retry-after: a rate limit is waited out, never an error.
    ``on_change(record, previous)`` runs when a batch is first seen and whenever its status or
    counts change; ``on_tick(records, now)`` after every round; ``on_feed(result)`` after each
    feed of a job; ``on_error(exc)`` when a round failed because the API was unavailable or
    limited the rate (the loop keeps going for up to OUTAGE_LIMIT seconds of outage once every
    batch has been seen; before that, it raises). KeyboardInterrupt propagates, the batches
    keep running on the server.
    """
    targets = list(targets)
    if not targets and not jobs:
        return []
    start = clock.time()
    deadline = None if timeout is None else start + timeout
    backoff = Backoff(interval, seed=seed)
    budget = Budget()
    records: dict[str, Record] = {}
    pending: dict[str, list[Record]] = {}
    feed_at: dict[str, float | None] = {}
    outage_since: float | None = None
    while True:
        calls, wait_asked = 0, 0.0
        try:
            calls += _poll_round(api, store, targets, records, clock.time(), on_change)
            for job_id in jobs:
                fed = feed(api, store, job_id, clock=clock, notify=notify)
                calls += len(fed.sent)
                for row in fed.sent:
                    targets.append(Target(row["id"], row, job_id))
                    records[row["id"]] = rec = local_record(row)
                    if on_change is not None:
                        on_change(rec, None)
                pending[job_id] = fed.pending
                feed_at[job_id] = fed.retry_at if fed.reason == QUEUE_FULL else None
                if on_feed is not None:
                    on_feed(fed)
            outage_since = None
        except UnavailableError as exc:
            now = clock.time()
            if exc.status == 429:  # a rate limit: wait as long as asked, then go on
                wait_asked = exc.retry_after if exc.retry_after is not None else FIRST_INTERVAL
            else:
                outage_since = now if outage_since is None else outage_since
                if len(records) < len(targets) or now - outage_since >= OUTAGE_LIMIT:
                    raise
            if on_error is not None:
                on_error(exc)
        now = clock.time()
        current = [records[t.id] for t in targets if t.id in records]
        current += [p for job_id in jobs for p in pending.get(job_id, [])]
        if on_tick is not None:
            on_tick(current, now)
        if all(is_ended(r) for r in current) and len(records) == len(targets):
            return current
        if deadline is not None and now >= deadline:
            return current
        pause = backoff.next(now - start)
        retry_at = [f for f in feed_at.values() if f is not None]
        if retry_at:  # a full queue said when to try again: be there, within the budget
            pause = min(pause, max(min(retry_at) - now, 0.0))
        pause = max(pause, budget.pause(calls), wait_asked)
        if deadline is not None:
            pause = min(pause, deadline - now)
        sleep_until(clock, now + pause)


def _poll_round(
    api: Api, store: Store, targets: Sequence[Target], records: dict[str, Record], now: float,
    on_change: OnChange | None,
) -> int:
    """Poll the targets not ended yet, note changes; returns the calls made."""
    todo = [t for t in targets if not is_ended(records.get(t.id))]
    if not todo:
        return 0
    found = poll(api, store, todo, now)
    for target in todo:
        previous = records.get(target.id)
        rec = records[target.id] = found.records[target.id]
        if on_change is not None and changed(previous, rec):
            on_change(rec, previous)
    return found.calls

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
from batchctl.core.jobs.lifecycle import Target, is_ended, refresh

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
    seed: int | None = None,
) -> list[Record]:
    """Poll every batch that has not ended until all have, or ``timeout`` seconds have passed.

    Returns the last record of every target, in order: if any has not ended, the timeout
    elapsed. ``on_change(record, previous)`` runs when a batch is first seen and whenever its
    status or counts change; ``on_tick(records, now)`` after every round of polls;
    ``on_error(exc)`` when a round failed because the API was unavailable (the loop keeps going
    for up to OUTAGE_LIMIT seconds once every batch has been seen; before that, it raises).
    KeyboardInterrupt propagates, the batches keep running on the server.
    """
    if not targets:
        return []
    start = clock.time()
    deadline = None if timeout is None else start + timeout
    backoff = Backoff(interval, seed=seed)
    records: dict[str, Record] = {}
    outage_since: float | None = None
    while True:
        try:
            for target in targets:
                previous = records.get(target.id)
                if is_ended(previous):
                    continue
                rec = refresh(api, store, target, clock.time())
                records[target.id] = rec
                if on_change is not None and changed(previous, rec):
                    on_change(rec, previous)
            outage_since = None
        except UnavailableError as exc:
            now = clock.time()
            outage_since = now if outage_since is None else outage_since
            if len(records) < len(targets) or now - outage_since >= OUTAGE_LIMIT:
                raise
            if on_error is not None:
                on_error(exc)
        now = clock.time()
        current = [records[t.id] for t in targets if t.id in records]
        if on_tick is not None:
            on_tick(current, now)
        if all(is_ended(records.get(t.id)) for t in targets):
            return current
        if deadline is not None and now >= deadline:
            return current
        pause = backoff.next(now - start)
        if deadline is not None:
            pause = min(pause, deadline - now)
        sleep_until(clock, now + pause)

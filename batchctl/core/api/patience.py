"""Answers of the API that are waited out on the injected clock, beyond the SDK's own retries
(no anthropic import: ``batchctl.core.api.client.Api`` applies these around its calls).

* A 404 for a batch this store created (``riding_404``): the API can lag behind a create, a
  poll and a batch's end (anthropic-sdk-python#1432; every such batch completed).
* A 503 ``storage_not_ready`` (``riding_storage``): "This workspace isn't ready yet: it's still
  being connected to its storage. Try again in a minute." (anthropic 2.16-2.17
  ``types/shared/storage_not_ready_error.py``; BATCHES_API.md 12.2). The SDK would spend its
  retries on it within seconds (its backoff tops out at 8 s), so the client's transport stops it
  at once (``untrusted.storage_not_ready_error``) and it is asked again here every
  ``STORAGE_INTERVAL`` seconds (or the server's ``retry-after``) for up to ``STORAGE_WAIT``,
  said once on stderr, then given up (exit 6).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TypeVar

from batchctl.core import errors
from batchctl.core.clock import Clock
from batchctl.core.events import NOTE, Note, Outbox

T = TypeVar("T")
NOT_FOUND_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)  # then every 15 s, until the grace is spent
STORAGE_WAIT = 600.0  # seconds: ten tries of "try again in a minute"
STORAGE_INTERVAL = 60.0


def _say(notices: Outbox | None, text: str) -> None:
    if notices is not None:
        notices.put(Note(NOTE, text))


def riding_404(clock: Clock, notices: Outbox | None, call: Callable[[], T], what: str,
               grace: float) -> T:
    """``call()``, a 404 retried with backoff for up to ``grace`` seconds on the clock; the note
    that says so goes to ``notices``. Callers give a grace only for a batch this store created."""
    deadline = clock.time() + grace
    for attempt in itertools.count():
        try:
            return call()
        except errors.NotFoundError:
            left = deadline - clock.time()
            if left <= 0:
                raise
            if attempt == 0:
                _say(notices, f"the API answered 404 (not found) for {what}, which this store saw "
                     f"created: the API can lag (anthropic-sdk-python#1432); trying again for up "
                     f"to {left:.0f} s")
            clock.sleep(min(NOT_FOUND_BACKOFF[min(attempt, len(NOT_FOUND_BACKOFF) - 1)], left))
    raise AssertionError("unreachable")  # pragma: no cover


def riding_storage(clock: Clock, notices: Outbox | None, call: Callable[[], T]) -> T:
    """``call()``, a 503 storage_not_ready waited out for up to STORAGE_WAIT seconds."""
    deadline: float | None = None
    while True:
        try:
            return call()
        except errors.StorageNotReadyError as exc:
            now = clock.time()
            if deadline is None:
                deadline = now + STORAGE_WAIT
                _say(notices, f"the API says this workspace's storage is not ready yet (503 "
                     f"storage_not_ready: \"try again in a minute\"): asking again every "
                     f"{STORAGE_INTERVAL:.0f} s for up to {STORAGE_WAIT / 60:.0f} minutes")
            left = deadline - now
            if left <= 0:
                raise errors.StorageNotReadyError(
                    f"{exc.message}; still not ready after {STORAGE_WAIT / 60:.0f} minutes of "
                    "waiting: gave up", status=exc.status, request_id=exc.request_id,
                    error_type=exc.error_type,
                    hint="try again later; the workspace is still being set up") from None
            clock.sleep(min(max(exc.retry_after or STORAGE_INTERVAL, 1.0), left))

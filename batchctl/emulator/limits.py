"""The API's two Message Batches rate limits, behind options: HTTP calls per minute, and the
number of requests waiting in the processing queue.

The rate-limits page of the API docs (https://docs.claude.com/en/api/rate-limits, section
"Message Batches API") sets both limits per organisation: requests per minute across every
Message Batches endpoint, and "batch requests in the processing queue" (requests of batches not
yet ended; 100,000 to 500,000 by tier, 200,000 for many). Going over either answers 429
``rate_limit_error`` with a message naming the limit and a ``retry-after`` header in seconds
(the same page: "a 429 error describing which rate limit was exceeded, along with a
retry-after header indicating how long to wait"). The batch-processing guide repeats that the
limits apply "to both Batches API HTTP requests and the number of requests within a batch
waiting to be processed" (https://docs.claude.com/en/docs/build-with-claude/batch-processing,
"Batch limitations").

The emulator's choices where the docs are silent: the per-minute limit is a sliding window of
the last 60 s of calls that were answered (a refused call does not count), kept in memory (so
per process for the in-process mount); the queue counts every request of every batch that has
not ended, and its ``retry-after`` is the time until enough of them end for the refused batch to
fit (none if the batch is larger than the whole queue).
"""

from __future__ import annotations

import math
import threading
from collections import deque

from batchctl.emulator.wire import ApiError

WINDOW = 60.0  # seconds: "requests per minute"

#: The phrase batchctl recognises a full processing queue by (batchctl.core.submit.feed).
QUEUE_PHRASE = "processing queue"


class RateLimit:
    """A sliding one-minute window of answered calls."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def check(self, now: float) -> ApiError | None:
        """Count this call, or refuse it (429) when the window is full."""
        if self.per_minute is None:
            return None
        with self._lock:
            while self._calls and self._calls[0] <= now - WINDOW:
                self._calls.popleft()
            if len(self._calls) < self.per_minute:
                self._calls.append(now)
                return None
            wait = max(self._calls[0] + WINDOW - now, 0.0)
        seconds = max(1, math.ceil(wait))
        return ApiError(
            429,
            "rate_limit_error",
            f"Number of requests has exceeded your rate limit of {self.per_minute} requests per "
            f"minute for the Message Batches API (emulated by batchctl). Please retry after "
            f"{seconds} seconds.",
            headers=[("retry-after", str(seconds))],
        )


def queue_full(
    limit: int, queued: int, incoming: int, ends: list[tuple[float, int]], now: float
) -> ApiError | None:
    """A 429 if ``incoming`` more requests would take the queue (``queued`` requests in
    unended batches, ending as ``ends`` says: (ends_at, request_count)) over ``limit``."""
    if queued + incoming <= limit:
        return None
    headers: list[tuple[str, str]] = []
    if incoming <= limit:
        left = queued
        for ends_at, count in sorted(ends):
            left -= count
            if left + incoming <= limit:
                headers.append(("retry-after", str(max(1, math.ceil(ends_at - now)))))
                break
    return ApiError(
        429,
        "rate_limit_error",
        f"This batch of {incoming:,} requests would take the number of batch requests in the "
        f"{QUEUE_PHRASE} to {queued + incoming:,}, over your organization's limit of "
        f"{limit:,} (emulated by batchctl). Wait for batches to end, then retry.",
        headers=headers,
    )

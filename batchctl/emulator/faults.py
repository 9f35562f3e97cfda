"""Seeded HTTP fault injection: error statuses, lost replies and results cut part-way.

Every decision comes from its own ``random.Random`` stream seeded from the configured seed, so a
sequence of calls to one app meets the same faults every run. Nothing is logged.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import BinaryIO

from batchctl.emulator.config import EmulatorConfig
from batchctl.emulator.wire import ApiError

CHUNK = 1 << 20

_FAULTS = {
    429: ("rate_limit_error", "Rate limited (injected by the batchctl emulator, fault_rate); retry shortly."),
    500: ("api_error", "Internal server error (injected by the batchctl emulator, fault_rate)."),
    529: ("overloaded_error", "Overloaded (injected by the batchctl emulator, fault_rate)."),
}


#: The 503 of a workspace still being connected to its storage (BATCHES_API.md 12.2; anthropic
#: 2.17 types/shared/storage_not_ready_error.py, whose docstring is the message). The error type
#: is the emulator's choice (the SDK files it under ServiceUnavailableError; no source gives it).
STORAGE_NOT_READY = ("api_error", "This workspace isn't ready yet: it's still being connected to "
                     "its storage. Try again in a minute. (injected by the batchctl emulator, "
                     "storage_not_ready)")


class ReplyLost(ConnectionResetError):
    """The emulator lost this reply on purpose (lost_reply_rate or drop_rate).

    Over HTTP the server closes the connection instead (no answer, or a body cut short). In
    process, under a WSGI transport, it propagates to the client as a connection error: the
    anthropic SDK wraps it in ``APIConnectionError`` when it escapes the app, and reading a
    results body that was cut raises it as is (a ``ConnectionResetError``).
    """


#: The 529 of an API that is overloaded (BATCHES_API.md 5: ``overloaded_error``, which the SDK
#: retries), with a ``retry-after`` of 1 s (section 10, item 13: fault injection "with
#: retry-after"): the SDK waits that long before each retry (section 5), the shortest wait
#: batchctl tells the person about, so each one is seen.
OVERLOADED = ("overloaded_error", "Overloaded (injected by the batchctl emulator, overloaded).")
OVERLOADED_RETRY_AFTER = "1"


class Faults:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._fault_rng = random.Random(f"{config.seed}:fault")
        self._lost_rng = random.Random(f"{config.seed}:lost")
        self._drop_rng = random.Random(f"{config.seed}:drop")
        self._first_calls = {"storage": 0, "overloaded": 0}

    def _among_first(self, kind: str, limit: int, endpoint: str) -> bool:
        """Whether this call is one of the first ``limit`` calls met by ``kind`` of fault."""
        if limit <= 0 or not self.config.faults_apply(endpoint):
            return False
        with self._lock:
            if self._first_calls[kind] >= limit:
                return False
            self._first_calls[kind] += 1
        return True

    def storage_not_ready(self, endpoint: str) -> ApiError | None:
        """The 503 storage_not_ready for the first ``storage_not_ready`` calls, else None."""
        if not self._among_first("storage", self.config.storage_not_ready, endpoint):
            return None
        error_type, message = STORAGE_NOT_READY
        return ApiError(503, error_type, message, details={"error_code": "storage_not_ready"})

    def overloaded(self, endpoint: str) -> ApiError | None:
        """The 529 overloaded_error for the first ``overloaded`` calls, else None."""
        if not self._among_first("overloaded", self.config.overloaded, endpoint):
            return None
        error_type, message = OVERLOADED
        return ApiError(529, error_type, message, headers=[("retry-after", OVERLOADED_RETRY_AFTER)])

    def before(self, endpoint: str) -> ApiError | None:
        """An injected error answer for this call (nothing done), or None."""
        if self.config.fault_rate <= 0 or not self.config.faults_apply(endpoint):
            return None
        with self._lock:
            if self._fault_rng.random() >= self.config.fault_rate:
                return None
            status = self._fault_rng.choice(sorted(_FAULTS))
            delay_ms = self._fault_rng.randint(10, 50)
        error_type, message = _FAULTS[status]
        # retry-after-ms keeps the SDKs' retries quick (they honour it before their own backoff).
        return ApiError(status, error_type, message, headers=[("retry-after-ms", str(delay_ms))])

    def lose_reply(self, endpoint: str) -> bool:
        """Whether the reply to this call, its work done, is to be lost."""
        if self.config.lost_reply_rate <= 0 or not self.config.faults_apply(endpoint):
            return False
        with self._lock:
            return self._lost_rng.random() < self.config.lost_reply_rate

    def drop_point(self, size: int) -> int | None:
        """How many bytes of a results body of ``size`` to send before cutting it, or None."""
        if self.config.drop_rate <= 0 or size < 2:
            return None
        with self._lock:
            if self._drop_rng.random() >= self.config.drop_rate:
                return None
            fraction = self._drop_rng.uniform(0.1, 0.9)
        return min(size - 1, max(1, int(size * fraction)))


def read_chunks(file: BinaryIO, limit: int | None = None) -> Iterator[bytes]:
    """Yield the file in large chunks, up to ``limit`` bytes; then close it."""
    try:
        remaining = limit
        while remaining is None or remaining > 0:
            chunk = file.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                break
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        file.close()


def cut_body(file: BinaryIO, keep: int) -> Iterator[bytes]:
    """The first ``keep`` bytes of the file, then ``ReplyLost``: a results download cut short."""
    yield from read_chunks(file, keep)
    raise ReplyLost("batchctl emulator: results stream cut part-way (drop_rate)")

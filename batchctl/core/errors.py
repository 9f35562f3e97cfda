"""The one exception tree of batchctl; each class carries the exit code it ends the process with.

The core raises these; ``batchctl.cli.app`` turns them into a message on stderr and the exit code
(the one place that does). Codes are the table in DESIGN.md and the README.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ExitCode:
    OK = 0
    BUG = 1
    USAGE = 2
    INVALID_INPUT = 3
    AUTH = 4
    NOT_FOUND = 5
    UNAVAILABLE = 6
    STATE = 7
    RUNNING = 8
    FAILED_REQUESTS = 9
    SPEND_LIMIT = 10
    HOOK_FAILED = 11
    INTERRUPTED = 130


@dataclass(frozen=True)
class NextStep:
    """A batchctl command that helps next, as data: the CLI renders it with the global options
    of the invocation (``--emulator``, ``--base-url``, ``--state-dir``), so it reaches the same
    API and state store. ``why`` says what it does (``wait for it``); ``args`` are the command's
    arguments, one word each (quoted when rendered)."""

    why: str
    command: str
    args: tuple[str, ...] = ()


class BatchctlError(Exception):
    """Base class: an error that is reported as its message, with no traceback.

    ``hint`` is advice in words; ``next_steps`` are the commands that help next (never a
    hard-coded `batchctl ...` string: see NextStep)."""

    exit_code: int = ExitCode.BUG

    def __init__(
        self, message: str, *, hint: str | None = None, next_steps: Sequence[NextStep] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.next_steps = tuple(next_steps)

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Pickle every attribute (hint, problems, request_id...), not only the message: an
        # error raised in a forked child (batchctl.core.fork) is re-raised whole in the parent.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[BatchctlError], args: tuple[object, ...], state: dict) -> BatchctlError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class UsageError(BatchctlError):
    """A bad flag or argument, or `--yes` needed without a terminal."""

    exit_code = ExitCode.USAGE


class InputError(BatchctlError):
    """An invalid request file: nothing was submitted.

    ``problems`` are ``FILE:LINE: message`` strings, already capped; ``more`` counts the rest.
    """

    exit_code = ExitCode.INVALID_INPUT

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[str] = (),
        more: int = 0,
        hint: str | None = None,
        next_steps: Sequence[NextStep] = (),
    ) -> None:
        super().__init__(message, hint=hint, next_steps=next_steps)
        self.problems = list(problems)
        self.more = more


class APIError(BatchctlError):
    """An error answered by (or on the way to) the API; ``request_id`` names the API's request."""

    exit_code = ExitCode.BUG

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        error_type: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
        request_sent: bool = True,
        next_steps: Sequence[NextStep] = (),
    ) -> None:
        if request_id and request_id not in message:
            message = f"{message} (request_id: {request_id})"
        super().__init__(message, hint=hint, next_steps=next_steps)
        self.status = status
        self.request_id = request_id
        self.error_type = error_type
        #: Seconds the server asked us to wait (``retry-after-ms`` / ``retry-after``), if it did.
        self.retry_after = retry_after
        #: False when no connection was ever made, so the server cannot have acted on the call.
        self.request_sent = request_sent


class AuthError(APIError):
    """No key, 401 or 403."""

    exit_code = ExitCode.AUTH


class NotFoundError(APIError):
    """Unknown id locally, or 404 from the API."""

    exit_code = ExitCode.NOT_FOUND


class BadRequestError(APIError):
    """The API refused the call as asked (400, 413, 422...): the caller must change something."""

    exit_code = ExitCode.USAGE


class UnavailableError(APIError):
    """The API could not be reached or kept failing after retries (connection, timeout, 429, 5xx)."""

    exit_code = ExitCode.UNAVAILABLE


class QueueFullError(UnavailableError):
    """429 on a create: the API's processing queue has no room for this batch now. Nothing
    was created; the part stays pending and is sent once the queue drains."""


class RefusedError(UnavailableError):
    """Nothing listens at the API's address: not retried (it would not help), nothing was sent."""


class StorageNotReadyError(UnavailableError):
    """503 storage_not_ready: the workspace is still being connected to its storage; waited
    out longer than another 5xx (batchctl.core.api.patience), then exit 6."""


class StreamDroppedError(UnavailableError):
    """A response body (results) was cut off part-way; fetching it again may succeed."""


class StateError(BatchctlError):
    """The local state store is locked or corrupt, or a request file changed since it was submitted."""

    exit_code = ExitCode.STATE


class StillRunningError(BatchctlError):
    """A batch has not ended: `wait --timeout` elapsed, `status --exit-status`, results too early."""

    exit_code = ExitCode.RUNNING


class FailedRequestsError(BatchctlError):
    """Batches ended with errored, expired or canceled requests (only with `--exit-status`)."""

    exit_code = ExitCode.FAILED_REQUESTS


class SpendLimitError(APIError):
    """A spending or usage limit refused the request (the API's spend cap, or ``--max-cost``):
    retrying will not help. An APIError so that the API's refusal keeps its status and
    request_id (batchctl.core.api.untrusted.spend_limit_error); ``--max-cost`` gives neither."""

    exit_code = ExitCode.SPEND_LIMIT


class HookFailedError(BatchctlError):
    """A hook (`collect --exec`, `wait`/`run --on-end`) exited non-zero or could not be run; what
    it ran for is done (results written), and the hook runs again next time."""

    exit_code = ExitCode.HOOK_FAILED


class Interrupted(BatchctlError):
    """Ctrl-C; the batch keeps running on the server."""

    exit_code = ExitCode.INTERRUPTED

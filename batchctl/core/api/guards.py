"""What rides on the SDK's transport, on every attempt: the origin check, the spend-limit stop and
a refused connection failing at once.

Two guards ride on the httpx client given to the SDK (``guard_hooks``), because they must act
inside the SDK's retry loop, on every attempt and every redirect:

* a request hook refuses any request off the base URL's origin before it is sent (the key is
  never sent elsewhere: a ``results_url``, or a redirect, to another host gets nothing);
* a response hook reads 400/429 error bodies and stops at a spend or usage cap
  (``batchctl.core.untrusted.spend_limit``). The SDK retries on the status alone
  (``_base_client._should_retry``: 429 is retried unless the server sends
  ``x-should-retry: false``, which the real API is not documented to do), so a cap would cost
  ``max_retries`` backoffs (30-40 s) and then read as "unavailable". The hooks raise a
  ``Refused``, an ``anthropic.AnthropicError``: the SDK passes those through unwrapped
  (``_attempt_request``) and never retries them (``_should_retry_exception`` retries only
  status, connection and ``RetryableError`` errors). An httpx hook was chosen over the SDK's
  middleware because it also sees redirects, and it leaves the SDK's request path unchanged.

A third, ``FailRefusedAtOnce``, is SDK middleware: a connection nobody accepts is not retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2

from batchctl.core import errors, untrusted


class Refused(anthropic.AnthropicError):
    """Raised by the client's hooks: the SDK neither wraps nor retries an AnthropicError;
    ``translate`` hands out the batchctl error it carries."""

    def __init__(self, error: errors.BatchctlError) -> None:
        super().__init__(error.message)
        self.error = error


def guard_hooks(base_url: str) -> dict[str, list[Callable[[Any], None]]]:
    """httpx event hooks: nothing leaves the base URL's origin; a spend cap is not retried."""

    def on_request(request: httpx2.Request) -> None:
        error = untrusted.off_origin(str(request.url), base_url)
        if error is not None:
            raise Refused(error)

    def on_response(response: httpx2.Response) -> None:
        if response.status_code in (400, 429):
            error = untrusted.spend_limit_error(
                response.status_code, response.headers, response.read()
            )
            if error is not None:
                raise Refused(error)

    return {"request": [on_request], "response": [on_response]}


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or during, each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def origin(url: Any) -> str:
    """``scheme://host[:port]`` of a URL, for messages (never a path, query or credentials)."""
    parsed = httpx2.URL(str(url))
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


def _refused(exc: BaseException) -> bool:
    return any(isinstance(link, ConnectionRefusedError) for link in chain(exc))


class FailRefusedAtOnce(anthropic.Middleware):
    """A refused connection (nothing listens at the address) fails at once, naming the URL.

    The SDK retries every connection error (``_base_client._should_retry_exception``: any
    ``APIConnectionError``), so with 8 retries a wrong --base-url or a stopped emulator took
    ~40 s and six retry warnings to report (issue 15). Middleware runs inside the SDK's retry
    loop, once per attempt, and an exception it raises that is not an SDK error type propagates
    as-is, unretried (``anthropic/_middleware.py``, ``_should_retry_exception``). Timeouts,
    lost replies, 429 and 5xx keep the SDK's retries.
    """

    def handle(self, request: Any, call_next: Any) -> Any:
        try:
            return call_next(request)
        except anthropic.APIConnectionError as exc:
            if isinstance(exc, anthropic.APITimeoutError) or not _refused(exc):
                raise
            where = origin(exc.request.url)
            raise errors.RefusedError(
                f"could not connect to {where}: connection refused (nothing is listening there)",
                request_sent=False,
                hint="check --base-url / ANTHROPIC_BASE_URL (a local emulator: is `batchctl "
                "emulator` running?)",
            ) from None

"""The transport side of the API layer, without the SDK (``batchctl.core.api.client`` is the one
module that imports anthropic and uses these): the httpx hooks, the streamed create body,
the SDK retry log reader, and exception-chain and URL helpers for messages.

Two guards ride on the httpx client given to the SDK (``guard_hooks``), because they must act
inside the SDK's retry loop, on every attempt and every redirect:

* a request hook refuses any request off the base URL's origin before it is sent (the key is
  never sent elsewhere: a ``results_url``, or a redirect, to another host gets nothing);
* a response hook reads 400/429 error bodies and stops at a spend or usage cap (and a 503
  ``storage_not_ready``, which ``batchctl.core.api.patience`` waits out for longer)
  (``batchctl.core.api.untrusted.spend_limit``). The SDK retries on the status alone
  (``_base_client._should_retry``: 429 is retried unless the server sends
  ``x-should-retry: false``, which the real API is not documented to do), so a cap would cost
  ``max_retries`` backoffs (30-40 s) and then read as "unavailable". The hooks raise the
  API layer's ``Refused``, an ``anthropic.AnthropicError``: the SDK passes those through unwrapped
  (``_attempt_request``) and never retries them (``_should_retry_exception`` retries only
  status, connection and ``RetryableError`` errors). An httpx hook was chosen over the SDK's
  middleware because it also sees redirects, and it leaves the SDK's request path unchanged.

A third, ``batchctl.core.api.client.FailUnreachableAtOnce``, is SDK middleware: a connection
nobody accepts, or to a host name that does not resolve, is not retried.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx2

from batchctl.core import errors
from batchctl.core.api import untrusted
from batchctl.core.api.sdk_private import SDK_LOGGER, SDK_RETRY_MESSAGE
from batchctl.core.events import ApiRetry, Outbox


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    has_more: bool
    first_id: str | None
    last_id: str | None


class RequestBody:
    """A create body re-read from its source on every iteration (so a retry sends it again);
    the bytes handed to the connection so far go to ``outbox`` as they go (``Outbox.sent``:
    a 250k-request upload showed nothing for seconds)."""

    def __init__(self, chunks: Callable[[], Iterable[bytes]], size: int,
                 outbox: Outbox | None = None) -> None:
        self._chunks, self.size, self.outbox = chunks, size, outbox

    def __iter__(self) -> Iterator[bytes]:
        if self.outbox is None:
            yield from self._chunks()
            return
        done = 0
        self.outbox.sent(0, self.size)
        for chunk in self._chunks():
            yield chunk  # httpx writes it to the connection before asking for the next
            done += len(chunk)
            self.outbox.sent(done, self.size)


class LastAttempt(threading.local):
    """What the last attempt of an SDK call on this thread met, in words, as the client's
    middleware saw it (``batchctl.core.api.client.FailUnreachableAtOnce``: once per attempt,
    inside the SDK's retry loop): an answer that failed, or no answer at all. The SDK logs its
    retry on the same thread, right after the attempt, so ``RetryLog`` can say why."""

    UNKNOWN = "the API call failed"  # a call without the middleware (the results download)
    why = UNKNOWN

    def answered(self, status: int) -> None:
        self.why = f"the API did not answer as expected (HTTP {status})" if status >= 400 \
            else self.UNKNOWN

    def no_answer(self, timeout: bool) -> None:
        self.why = ("the API did not answer in time" if timeout
                    else "the connection to the API broke before an answer came back")


LAST_ATTEMPT = LastAttempt()


class RetryLog(logging.Handler):
    """Reads the SDK's own "Retrying request to URL in N seconds" log lines into an ``Outbox``
    as ``ApiRetry`` events, with why (``LAST_ATTEMPT``), so the caller can say why it is waiting
    (with 8 retries, a failing API takes ~40 s)."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(logging.INFO)
        self.outbox = outbox

    @classmethod
    def attach(cls, outbox: Outbox) -> RetryLog:
        handler = cls(outbox)
        logger = logging.getLogger(SDK_LOGGER)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)  # its own handlers stay as ANTHROPIC_LOG set them
        logger.addHandler(handler)
        return handler

    def detach(self) -> None:
        logging.getLogger(SDK_LOGGER).removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if (
            record.msg == SDK_RETRY_MESSAGE and isinstance(args, tuple) and len(args) == 2
            and isinstance(args[1], (int, float))
        ):
            self.outbox.put(ApiRetry(float(args[1]), LAST_ATTEMPT.why))


def guard_hooks(
    base_url: str, refuse: Callable[[errors.BatchctlError], Exception]
) -> dict[str, list[Callable[[Any], None]]]:
    """httpx event hooks: nothing leaves the base URL's origin; a spend cap is not retried.
    ``refuse(error)`` makes the exception to raise (the API layer's ``Refused``)."""

    def on_request(request: httpx2.Request) -> None:
        error = untrusted.off_origin(str(request.url), base_url)
        if error is not None:
            raise refuse(error)

    def on_response(response: httpx2.Response) -> None:
        if response.status_code in (400, 429):
            error = untrusted.spend_limit_error(
                response.status_code, response.headers, response.read()
            )
            if error is not None:
                raise refuse(error)
        elif response.status_code == 503:  # waited out by batchctl.core.api.patience instead
            storage = untrusted.storage_not_ready_error(503, response.headers, response.read())
            if storage is not None:
                raise refuse(storage)

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


def unreachable(exc: BaseException) -> str | None:
    """Why no connection could be made, when waiting cannot help at once: the connection was
    refused (nothing listens at the address), or the host name does not resolve (a wrong name,
    or no network: ``socket.gaierror``, which httpcore raises as a ConnectError). None for
    anything else (timeouts, a connection lost mid-call)."""
    for link in chain(exc):
        if isinstance(link, ConnectionRefusedError):
            return "connection refused (nothing is listening there)"
        if isinstance(link, socket.gaierror):
            detail = link.strerror or str(link)
            return f"the host name does not resolve ({detail}): a wrong name, or no network"
    return None


def page_id(value: str | None) -> str | None:
    return None if value is None else untrusted.check_batch_id(value, "list cursor")


def guard_stream(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except errors.BatchctlError:
        raise
    except Exception as exc:  # the transport (or the in-process emulator) broke mid-body
        raise errors.StreamDroppedError(
            f"the results download was cut off part-way ({type(exc).__name__}: {exc})"
        ) from exc



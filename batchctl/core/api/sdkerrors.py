"""Every SDK (or transport) exception turned into the batchctl error tree, with the request_id
and the server's error type in the message, each made printable first (server strings are
untrusted)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anthropic
import httpx2

from batchctl.core import errors, untrusted
from batchctl.core.api.guards import Refused, chain, origin

T = TypeVar("T")


def _error_body(exc: anthropic.APIStatusError) -> tuple[str | None, str]:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            kind = inner.get("type")
            kind = untrusted.printable(kind, 60) if isinstance(kind, str) else None
            return kind, untrusted.printable(str(inner.get("message") or exc.message), 1000)
    return None, untrusted.printable(exc.message, 1000)


def translate(exc: BaseException) -> errors.BatchctlError:
    """Map an SDK (or transport) exception to the batchctl error tree."""
    for link in chain(exc):
        # Our own error raised inside the SDK's call (e.g. a create body whose file changed
        # while it was being sent) travels out wrapped as a connection error: unwrap it.
        if isinstance(link, errors.BatchctlError):
            return link
        if isinstance(link, Refused):
            return link.error
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        error_type, message = _error_body(exc)
        text = f"API error {status}" + (f" {error_type}" if error_type else "") + f": {message}"
        kwargs: dict[str, Any] = {
            "status": status,
            "request_id": untrusted.printable(exc.request_id, 80) if exc.request_id else None,
            "error_type": error_type,
            "retry_after": untrusted.retry_after(exc.response.headers),
        }
        if status in (401, 402, 403):
            hint = "check ANTHROPIC_API_KEY" if status == 401 else None
            return errors.AuthError(text, hint=hint, **kwargs)
        if status == 404:
            return errors.NotFoundError(text, **kwargs)
        if status in (408, 409, 429) or status >= 500:
            return errors.UnavailableError(text, **kwargs)
        return errors.BadRequestError(text, **kwargs)
    if isinstance(exc, anthropic.APITimeoutError):
        return errors.UnavailableError("the API did not answer in time (timeout)")
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        detail = f": {cause}" if cause and str(cause) else ""
        # ConnectError: the connection was never made (refused, unknown host), nothing was sent.
        never = any(isinstance(link, httpx2.ConnectError) for link in chain(cause))
        return errors.UnavailableError(
            f"could not reach the API at {origin(exc.request.url)} (connection error{detail})",
            request_sent=not never,
        )
    if isinstance(exc, (httpx2.TransportError, httpx2.StreamError)):
        return errors.StreamDroppedError(f"the connection broke while reading from the API: {exc}")
    if isinstance(exc, anthropic.AnthropicError):
        return errors.APIError(str(exc))
    raise exc


def call(fn: Callable[[], T]) -> T:
    """``fn()``, any SDK or transport error raised as its batchctl error."""
    try:
        return fn()
    except (anthropic.AnthropicError, httpx2.TransportError, httpx2.StreamError) as exc:
        raise translate(exc) from exc

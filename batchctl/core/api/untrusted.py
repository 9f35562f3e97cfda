"""What batchctl accepts from a server: it is not trusted (DESIGN.md, "The real API is the
reference"). Pure checks, no anthropic import; ``batchctl.core.api.client`` applies them to every answer.

* The API key goes only to the base URL's origin (scheme, host, port): ``origin`` and
  ``same_origin``. A ``results_url`` elsewhere is refused before any request is made to it.
* A batch id reaches file names, paths, URLs, the store and the terminal: it must have the
  documented shape (``msgbatch_`` and letters and digits, e.g. ``msgbatch_013Zva2CMHLNnXjNJJKqJ2EF``,
  https://platform.claude.com/docs/en/api/creating-message-batches), and a batch the API describes
  must be well formed (``check_batch``).
* Any other server text shown to a person (error messages, statuses) goes through ``printable``:
  control characters (ESC sequences that would drive a terminal, bidi overrides) are escaped.
* The spend and usage caps of https://platform.claude.com/docs/en/api/errors and
  https://platform.claude.com/docs/en/api/rate-limits are told apart from rate limits
  (``spend_limit``): retrying cannot help until the limit changes.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from batchctl.core.errors import SpendLimitError, StorageNotReadyError, UnavailableError

BATCH_ID = re.compile(r"msgbatch_[0-9A-Za-z]{1,100}")
STATUSES = frozenset({"in_progress", "canceling", "ended"})
COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")
TIME_FIELDS = ("created_at", "expires_at", "ended_at", "cancel_initiated_at", "archived_at")
SHOWN = 200  # characters of an offending server string quoted in an error
_DEFAULT_PORTS = {"http": 80, "https": 443}


class UntrustedReplyError(UnavailableError):
    """The server answered something batchctl will not use (exit 6, like any server fault):
    a malformed batch, an id of the wrong shape, a results_url on another origin."""


# -- text -----------------------------------------------------------------------------------------
def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, limit: int | None = SHOWN) -> str:
    """``value`` as text safe to show on a terminal: control and format characters (ESC,
    carriage return, bidi overrides...) escaped as ``\\xNN`` / ``\\uNNNN``, cut to ``limit``
    characters (None: not cut)."""
    text = value if isinstance(value, str) else repr(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    if text.isprintable():
        return text
    return "".join(
        _escape(c) if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") else c
        for c in text
    )


# -- origins --------------------------------------------------------------------------------------
def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of an absolute URL, the port made explicit for http and https."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is not a number
        port = -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def show_origin(url: str) -> str:
    scheme, host, port = origin(url)
    return printable(f"{scheme}://{host}" + (f":{port}" if port is not None else ""))


def same_origin(url: str, base_url: str) -> bool:
    """Whether ``url`` is on the base URL's origin. A relative URL is (it is joined to it)."""
    if not urlsplit(url).scheme and not url.startswith("//"):
        return True
    return origin(url) == origin(base_url)


def off_origin(url: str, base_url: str) -> UntrustedReplyError | None:
    """The error for a request about to leave the base URL's origin, else None."""
    if same_origin(url, base_url):
        return None
    return UntrustedReplyError(
        f"refused to send a request to {show_origin(url)}: batchctl talks only to the base "
        f"URL's origin ({show_origin(base_url)}), the only one that gets the API key",
        request_sent=False,
    )


def check_results_url(batch: Mapping[str, Any], base_url: str, option: str = "base_url") -> str:
    """The batch's results_url if it is on the base URL's origin, else UntrustedReplyError:
    the key is never sent elsewhere, and no request is made (``option``: how the caller names
    the base URL's option, for the hint)."""
    url = batch.get("results_url")
    if not isinstance(url, str) or not url:
        raise UntrustedReplyError(f"the API gave batch {batch.get('id')} no usable results_url")
    if not same_origin(url, base_url):
        raise UntrustedReplyError(
            f"the API gave batch {batch.get('id')} a results_url on another origin "
            f"({show_origin(url)}, not {show_origin(base_url)}): batchctl sends the API key "
            "only to the base URL's origin, so it did not fetch it",
            hint=f"check {option} / ANTHROPIC_BASE_URL: a proxy in between may rewrite the URL",
        )
    return url


# -- batches --------------------------------------------------------------------------------------
def check_batch_id(value: object, what: str = "batch id") -> str:
    """``value`` if it has the documented shape of a batch id, else UntrustedReplyError."""
    if isinstance(value, str) and BATCH_ID.fullmatch(value):
        return value
    raise UntrustedReplyError(
        f"the API sent a {what} that is not of the documented shape msgbatch_...: "
        f"'{printable(value)}'; nothing was done with it"
    )


def timestamp_ok(value: object) -> bool:
    """None, or an RFC 3339 timestamp of at most 64 characters."""
    if value is None:
        return True
    if not isinstance(value, str) or len(value) > 64:
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def check_batch(batch: Mapping[str, Any], expected_id: str | None = None) -> dict[str, Any]:
    """A MessageBatch dict from the server, checked before any of it is stored or shown: its
    id's shape (and that it is the one asked for), its status, counts and timestamps."""
    batch_id = check_batch_id(batch.get("id"))
    if expected_id is not None and batch_id != expected_id:
        raise UntrustedReplyError(
            f"asked for batch {printable(expected_id)}, the API answered with batch {batch_id}"
        )
    problems = []
    status = batch.get("processing_status")
    if status not in STATUSES:
        problems.append(f"processing_status '{printable(status)}'")
    counts = batch.get("request_counts")
    if not isinstance(counts, Mapping) or not all(
        type(counts.get(key)) is int and counts[key] >= 0 for key in COUNT_KEYS
    ):
        problems.append(f"request_counts {printable(counts)}")
    for name in TIME_FIELDS:
        if not timestamp_ok(batch.get(name)):
            problems.append(f"{name} '{printable(batch.get(name))}'")
    url = batch.get("results_url")
    if url is not None and not isinstance(url, str):
        problems.append(f"results_url {printable(url)}")
    if problems:
        raise UntrustedReplyError(
            f"the API described batch {batch_id} with a malformed {', '.join(problems)}"
        )
    return dict(batch)


# -- spend and usage limits -----------------------------------------------------------------------
#: error.details.error_code of the caps the SDK's types name (anthropic/types/shared/
#: *_spend_limit_reached_error_details.py, ramp_limit_exceeded_error_details.py): what was
#: reached, and what to do. The errors page says the tier cap's 429 has no retry-after.
SPEND_LIMITS = {
    "enforced_spend_limit_reached": (
        "your organization has reached the monthly spend cap of its usage tier",
        (
            "usage resumes on the 1st of next month (00:00 UTC); a higher usage tier in the "
            "Claude Console (Settings > Limits) lifts it sooner"
        ),
    ),
    "contract_spend_limit_reached": (
        "your organization has reached the spend limit of its contract",
        "ask your Anthropic account team to raise it",
    ),
    "linked_organization_spend_limit_reached": (
        (
            "the organization linked to this key's user has reached a spend limit it set (or "
            "has no credit left)"
        ),
        "raise that limit or add credit in the Claude Console",
    ),
    # The SDK's type says: retry after the time in the retry-after header. It caps how fast
    # usage may grow, so batchctl stops rather than wait, and says when to come back.
    "ramp_limit_exceeded": (
        "your organization's usage is growing faster than its ramp limit allows",
        "send the rest later, more gradually",
    ),
}
#: The 400 invalid_request_error of a spend limit set in the Console (errors page: "The message
#: begins 'You have reached your specified API usage limits' (or '... workspace API usage
#: limits') and states when access resumes").
CUSTOM_LIMIT_PREFIX = "you have reached your specified"


def spend_limit(status: int, body: object) -> tuple[str, str] | None:
    """(what was reached, what to do) when an error answer is a spend or usage limit, else None."""
    if status not in (400, 429) or not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if not isinstance(error, Mapping):
        return None
    details = error.get("details")
    code = details.get("error_code") if isinstance(details, Mapping) else None
    if isinstance(code, str) and code in SPEND_LIMITS:
        return SPEND_LIMITS[code][0] + f" ({code})", SPEND_LIMITS[code][1]
    message = error.get("message")
    if (
        status == 400
        and error.get("type") == "invalid_request_error"
        and isinstance(message, str)
        and message.strip().lower().startswith(CUSTOM_LIMIT_PREFIX)
    ):
        scope = "workspace" if "workspace" in message[:80].lower() else "organization"
        what = (
            f"the {scope} has reached the spend limit set for it in the Claude Console "
            f"(the API says: {printable(message)})"
        )
        return what, "raise it on the Console's Limits page, or wait until it resets"
    return None


def spend_limit_error(
    status: int, headers: Mapping[str, str], body: bytes
) -> SpendLimitError | None:
    """The SpendLimitError (exit 10) for an error answer that is a spend or usage cap, else None:
    one sentence naming the limit and what to do."""
    try:
        found = spend_limit(status, orjson.loads(body))
    except orjson.JSONDecodeError:
        return None
    if found is None:
        return None
    what, todo = found
    wait = retry_after(headers)
    when = f" (the API says to try again in {wait:.0f} s)" if wait else ""
    request_id = headers.get("request-id")
    return SpendLimitError(
        f"the API refused the request: {what}; retrying will not help until the limit changes: "
        f"{todo}{when}",
        status=status,
        request_id=printable(request_id, 80) if request_id else None,
        error_type="rate_limit_error" if status == 429 else "invalid_request_error",
        retry_after=wait,
    )


def storage_not_ready_error(
    status: int, headers: Mapping[str, str], body: bytes
) -> StorageNotReadyError | None:
    """The StorageNotReadyError of a 503 whose ``error.details.error_code`` is
    ``storage_not_ready`` (anthropic 2.17 ``_error_classes.py``; BATCHES_API.md 12.2), else None."""
    if status != 503:
        return None
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    details = error.get("details") if isinstance(error, Mapping) else None
    if not isinstance(details, Mapping) or details.get("error_code") != "storage_not_ready":
        return None
    message = error.get("message")
    request_id = headers.get("request-id")
    return StorageNotReadyError(
        f"API error 503 storage_not_ready: {printable(message if isinstance(message, str) else '')}",
        status=status, request_id=printable(request_id, 80) if request_id else None,
        error_type="storage_not_ready", retry_after=retry_after(headers))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The server's wait, if usable: ``retry-after-ms`` (ms), else ``retry-after`` in seconds
    (the API sends seconds: https://platform.claude.com/docs/en/api/rate-limits) or as an HTTP
    date. The SDK reads them in the same order (``_base_client._parse_retry_after_header``)."""
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return _finite(float(ms) / 1000)
        if (value := headers.get("retry-after")) is not None:
            try:
                return _finite(float(value))
            except ValueError:
                from email.utils import parsedate_to_datetime

                return _finite(parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None
    return None


def _finite(seconds: float) -> float | None:
    return max(seconds, 0.0) if math.isfinite(seconds) else None

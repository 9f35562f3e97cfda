"""Wire-level pieces shared by the emulator: ids, timestamps, error envelopes and JSON replies."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def token(length: int = 22) -> str:
    """An opaque base62 token, like the tail of the API's ``msgbatch_01...`` ids."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_batch_id() -> str:
    return "msgbatch_01" + token(22)


def new_request_id() -> str:
    return "req_01" + token(22)


def base62(data: bytes, length: int) -> str:
    """A deterministic base62 string of ``length`` characters taken from ``data``."""
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return "".join(chars)


def rfc3339(timestamp: float | None) -> str | None:
    """UTC with microseconds and a ``Z``, as the API writes them: 2026-03-01T10:00:00.000000Z."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ApiError(Exception):
    """An HTTP error answered with the API's envelope."""

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.headers = list(headers)
        self.details = details  # error.details (e.g. error_code), as the API's typed errors


def bad_request(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def not_found(batch_id: str) -> ApiError:
    return ApiError(404, "not_found_error", f"No message batch with id {batch_id!r}.")


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    529: "Overloaded",
}


def status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, 'Error')}"


def json_reply(
    status: int, body: object, request_id: str, extra: Iterable[tuple[str, str]] = ()
) -> tuple[str, list[tuple[str, str]], bytes]:
    data = orjson.dumps(body)
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(data))),
        ("request-id", request_id),
        *extra,
    ]
    return status_line(status), headers, data


def error_reply(error: ApiError, request_id: str) -> tuple[str, list[tuple[str, str]], bytes]:
    inner: dict[str, object] = {"type": error.error_type, "message": error.message}
    if error.details is not None:
        inner["details"] = error.details
    envelope = {"type": "error", "error": inner, "request_id": request_id}
    return json_reply(error.status, envelope, request_id, error.headers)

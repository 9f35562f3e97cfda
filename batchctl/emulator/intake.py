"""Reading and checking a create body: streamed to a file, parsed once with orjson.

Envelope problems are answered at once (400 ``invalid_request_error``, or 413
``request_too_large`` above the size limit); the per-request ``params`` are checked later, as the
API does, and end ``errored`` (see ``model.assess``).
"""

from __future__ import annotations

import io
import mmap
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from batchctl.emulator.config import MAX_REQUESTS
from batchctl.emulator.wire import ApiError, bad_request

CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
ALL_IDS = re.compile(r"(?:[a-zA-Z0-9_-]{1,64}\n)*[a-zA-Z0-9_-]{1,64}")
_CHUNK = 1 << 20


def _drain(stream: BinaryIO, remaining: int | None) -> None:
    while remaining is None or remaining > 0:
        chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)


def body_length(environ: dict[str, Any]) -> int | None:
    """The declared body length; None when the body runs to the end of the stream (chunked)."""
    raw = environ.get("CONTENT_LENGTH") or ""
    if raw.strip():
        try:
            return max(0, int(raw))
        except ValueError:
            raise bad_request("Content-Length is not a number") from None
    return None if environ.get("wsgi.input_terminated") else 0


def _parse(buffer: Any) -> Any:
    if len(buffer) == 0:
        raise bad_request("The request body is empty; expected a JSON object with a `requests` array.")
    try:
        return orjson.loads(buffer)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None


def _fill(stream: Any, view: memoryview) -> int:
    """Read straight into ``view`` (no intermediate copies where the stream allows it)."""
    readinto = getattr(stream, "readinto", None)
    filled = 0
    while filled < len(view):
        part = view[filled : filled + _CHUNK]
        if readinto is not None:
            count = readinto(part)
        else:
            data = stream.read(len(part))
            count = len(data)
            part[:count] = data
        if not count:
            break
        filled += count
    return filled


def read_json_body(environ: dict[str, Any], tmp_dir: Path, max_bytes: int) -> Any:
    """Parse the body with orjson without holding a second copy of it in Python memory.

    In process (a WSGI transport hands over a BytesIO) the bytes are parsed where they are. Over
    HTTP they are received straight into a memory-mapped temporary file, then parsed from it.
    """
    stream: BinaryIO = environ["wsgi.input"]
    length = body_length(environ)
    too_large = ApiError(
        413, "request_too_large", f"Request exceeds the maximum allowed size of {max_bytes} bytes."
    )
    if length is not None and length > max_bytes:
        _drain(stream, length)
        raise too_large
    if isinstance(stream, io.BytesIO) and length is not None:
        start = stream.tell()
        with stream.getbuffer() as whole, whole[start : start + length] as view:
            return _parse(view)
    with tempfile.TemporaryFile(dir=tmp_dir) as spool:
        if length is None:  # chunked: to the end of the stream, within the limit
            size = 0
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    _drain(stream, None)
                    raise too_large
                spool.write(chunk)
            spool.flush()
        elif length:
            spool.truncate(length)
            with mmap.mmap(spool.fileno(), length) as target, memoryview(target) as view:
                size = _fill(stream, view)
            spool.truncate(size)
        else:
            size = 0
        if size == 0:
            return _parse(b"")
        with mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ) as source, memoryview(source) as view:
            return _parse(view)


def check_envelope(document: Any) -> list[tuple[str, dict[str, Any]]]:
    """The ``(custom_id, params)`` pairs of a create body, or a 400 naming the first problem."""
    if not isinstance(document, dict):
        raise bad_request("The request body must be a JSON object with a `requests` array.")
    for key in document:
        if key != "requests":
            raise bad_request(f"{key}: Extra inputs are not permitted")
    if "requests" not in document:
        raise bad_request("requests: Field required")
    requests = document["requests"]
    if not isinstance(requests, list):
        raise bad_request("requests: Input should be a valid list")
    if not requests:
        raise bad_request("requests: List should have at least 1 item after validation, not 0")
    if len(requests) > MAX_REQUESTS:
        raise bad_request(
            f"requests: List should have at most {MAX_REQUESTS} items after validation, not {len(requests)}"
        )
    items: list[tuple[str, dict[str, Any]]] = []
    append = items.append
    try:  # the fast path: shapes first, then every custom_id in one regex and one set
        for item in requests:
            if type(item) is not dict or len(item) != 2:
                raise LookupError
            custom_id, params = item["custom_id"], item["params"]
            if type(custom_id) is not str or type(params) is not dict:
                raise LookupError
            append((custom_id, params))
    except LookupError:
        _raise_first_problem(requests)
    ids = [custom_id for custom_id, _ in items]
    joined = "\n".join(ids)
    if joined.count("\n") != len(ids) - 1 or ALL_IDS.fullmatch(joined) is None or len(set(ids)) != len(ids):
        _raise_first_problem(requests)
    return items


def _raise_first_problem(requests: list[Any]) -> None:
    """The first problem in request order, worded as the API words it."""
    seen: dict[str, int] = {}
    match = CUSTOM_ID.fullmatch
    for index, item in enumerate(requests):
        if type(item) is not dict:
            raise bad_request(f"requests.{index}: Input should be a valid dictionary")
        if len(item) != 2 or "custom_id" not in item or "params" not in item:
            for key in ("custom_id", "params"):
                if key not in item:
                    raise bad_request(f"requests.{index}.{key}: Field required")
            extra = next(key for key in item if key not in ("custom_id", "params"))
            raise bad_request(f"requests.{index}.{extra}: Extra inputs are not permitted")
        custom_id = item["custom_id"]
        if type(custom_id) is not str:
            raise bad_request(f"requests.{index}.custom_id: Input should be a valid string")
        if match(custom_id) is None:
            raise bad_request(
                f"requests.{index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        first = seen.setdefault(custom_id, index)
        if first != index:
            raise bad_request(
                f"requests.{index}.custom_id: custom_id {custom_id!r} is already used by requests.{first};"
                " custom_id values must be unique within a batch"
            )
        if type(item["params"]) is not dict:
            raise bad_request(f"requests.{index}.params: Input should be a valid dictionary")
    raise bad_request("requests: invalid")  # not reached: the fast path saw a problem

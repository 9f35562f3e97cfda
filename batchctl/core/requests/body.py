"""The create body of a batch, streamed: ``{"requests":[...]}`` built chunk by chunk.

A `Body` knows its exact size up front (so Content-Length is set) and can be iterated again
for a retry. A part of a request file is read from disk each time, never held whole: native
lines are copied byte for byte, other lines are re-encoded with orjson (with the job's cache
markers, when it has a plan: ``cacheplan.encode``), exactly as
`batchctl.core.requests.scan.scan_file` measured them. If the file changed since the scan, the
iteration raises `StateError` before the closing bytes, so a truncated body never makes a batch.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from batchctl.core.errors import StateError
from batchctl.core.requests.cacheplan import encode
from batchctl.core.requests.scan import (
    BODY_HEAD,
    BODY_OVERHEAD,
    BODY_TAIL,
    Part,
    iter_lines,
)

if TYPE_CHECKING:
    from batchctl.core.caching.place import CachePlan

CHUNK_SIZE = 1 << 20


@dataclass(frozen=True)
class Body:
    """A create body: ``size`` bytes, yielded anew by each call of ``chunks()``."""

    size: int
    request_count: int
    chunks: Callable[[], Iterator[bytes]]

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks()


def part_body(path: str | os.PathLike[str], part: Part, plan: CachePlan | None = None) -> Body:
    """The body of one part of a scanned request file, read from ``path`` on each iteration;
    ``plan``: the job's cache plan, placed in the lines the scan re-encodes."""
    return Body(part.body_size, part.request_count, lambda: iter_body(path, part, plan))


def _chunked(items: Iterator[bytes]) -> Iterator[bytes]:
    """``{"requests":[`` + items joined by commas + ``]}``, in chunks of about CHUNK_SIZE."""
    buf = bytearray(BODY_HEAD)
    first = True
    for item in items:
        if not first:
            buf += b","
        first = False
        buf += item
        if len(buf) >= CHUNK_SIZE:
            yield bytes(buf)
            buf.clear()
    buf += BODY_TAIL
    yield bytes(buf)


def iter_body(
    path: str | os.PathLike[str], part: Part, plan: CachePlan | None = None
) -> Iterator[bytes]:
    """The bytes of ``part``'s create body; their total length is ``part.body_size``.

    Raises `StateError` (before the last chunk) if the file no longer matches the scan.
    """
    name = os.fspath(path)
    digest = hashlib.sha256()
    count = size = 0
    convert = part.convert_lines

    def items() -> Iterator[bytes]:
        nonlocal count, size
        for line_no, _, line in iter_lines(path, part, raw_hash=digest):
            if line_no in convert:
                try:
                    line = encode(line, plan)[0]
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    raise _changed(name, f"line {line_no} is no longer a valid request") from None
            count += 1
            size += len(line)
            yield line

    chunks = _chunked(items())
    held = next(chunks)
    for chunk in chunks:
        yield held
        held = chunk
    total = BODY_OVERHEAD + size + max(count - 1, 0)
    if (
        count != part.request_count
        or total != part.body_size
        or digest.hexdigest() != part.sha256
    ):
        raise _changed(name, f"lines {part.first_line}-{part.last_line} differ from the check")
    yield held


def _changed(name: str, detail: str) -> StateError:
    return StateError(
        f"{name} changed while it was being submitted: {detail}",
        hint="Run the submit again: the file is checked anew.",
    )

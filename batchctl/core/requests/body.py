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
import operator
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.errors import StateError
from batchctl.core.requests.cacheplan import encode
from batchctl.core.requests.scan import (
    _BOM,
    BODY_HEAD,
    BODY_OVERHEAD,
    BODY_TAIL,
    Part,
    iter_lines,
)

if TYPE_CHECKING:
    from batchctl.core.caching.place import CachePlan

CHUNK_SIZE = 1 << 20
READ_SIZE = 1 << 16  # a block read and split at a time (a chunk may hold one more)


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

    def blocks() -> Iterator[bytes]:
        nonlocal count, size
        for lines in _tidy_blocks(name, part, digest):
            count += len(lines)
            item = b",".join(lines)
            size += len(item) - len(lines) + 1
            yield item

    # Block reading copies every line of the range: only for a part that sends them all as
    # written (a warm-up's part sends some lines of its range, the rest skips the warm-up's).
    whole = not convert and not part.skip and part.only is None
    chunks = _chunked(blocks() if whole else items())
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


def _tidy_blocks(name: str, part: Part, digest: Any) -> Iterator[list[bytes]]:
    """The lines of ``part`` as ``iter_lines`` gives them, a block of READ_SIZE bytes at a
    time, ``digest`` fed every byte read: a block whose lines need nothing stripped is split in
    one call, any other one stripped line by line."""
    bom = part.first_line == 1  # iter_lines takes a byte-order mark off line 1 only
    with open(name, "rb") as f:
        f.seek(part.start_offset)
        left = part.end_offset - part.start_offset
        tail = b""
        while left > 0:
            data = f.read(min(READ_SIZE, left))
            if not data:  # shorter than the scan found: the checks after the last line say so
                data, left = b"", 0
            left -= len(data)
            digest.update(data)
            data = tail + data if tail else data
            cut = data.rfind(b"\n") + 1 if left > 0 else len(data)
            tail = data[cut:]
            if not cut:  # no whole line yet
                continue
            lines = data[:cut].split(b"\n")
            if bom and lines[0].startswith(_BOM):
                lines[0] = lines[0][3:]
            bom = False
            if not lines[-1]:
                lines.pop()
            if b"" in lines or not all(map(operator.is_, lines, map(bytes.strip, lines))):
                lines = [line for line in map(bytes.strip, lines) if line]
            if lines:
                yield lines


def _changed(name: str, detail: str) -> StateError:
    return StateError(
        f"{name} changed while it was being submitted: {detail}",
        hint="Run the submit again: the file is checked anew.",
    )

"""Results lines: a body cut into blocks of whole lines, and those lines parsed (one orjson
call per block where it can be)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from batchctl.core.errors import UnavailableError


def line_blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The stream cut into blocks of whole lines, as the chunks arrive; every block ends with a
    newline (one is added to a last line that lacks it)."""
    tail = b""
    for chunk in chunks:
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        tail = data[cut:]
    if tail.strip():
        yield tail + b"\n"


def lines_of(block: bytes) -> list[bytes]:
    """The non-blank lines of a block from ``line_blocks``, without their line ends."""
    lines = block.split(b"\n")
    lines.pop()
    if _untidy(block):
        lines = [line.rstrip(b"\r") for line in lines if line.strip()]
    return lines


def tidy(block: bytes) -> bytes:
    """A block from ``line_blocks`` as ``lines_of`` sees it: its non-blank lines, each ending
    in a plain newline (the block itself when it already is)."""
    if not _untidy(block):
        return block
    lines = lines_of(block)
    return b"\n".join(lines) + b"\n" if lines else b""


def _untidy(block: bytes) -> bool:
    return b"\r" in block or b"\n\n" in block or block[:1] == b"\n" or b"\n " in block


def parse_lines(lines: list[bytes], batch_id: str) -> list[dict[str, Any]]:
    """Parse results lines, one orjson call for the lot; UnavailableError names a bad one."""
    try:
        records = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:
        records = None
    if (
        type(records) is not list
        or len(records) != len(lines)
        or not all(type(r) is dict for r in records)
    ):
        records = [parse(line, batch_id) for line in lines]
    return records


def parse_block(block: bytes, batch_id: str) -> list[dict[str, Any]]:
    """Parse a block from ``line_blocks`` without splitting it into lines first (one orjson
    call over the block with its newlines made commas); any doubt goes the line way."""
    if block and b"\r" not in block and b"\n\n" not in block and block[:1] != b"\n":
        try:
            records = orjson.loads(b"[" + block[:-1].replace(b"\n", b",") + b"]")
        except orjson.JSONDecodeError:
            records = None
        if (
            type(records) is list
            and len(records) == block.count(b"\n")
            and all(type(r) is dict for r in records)
        ):
            return records
    return parse_lines(lines_of(block), batch_id)


def parse(line: bytes, batch_id: str) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UnavailableError(
            f"the API sent a results line of batch {batch_id} that is not JSON ({exc})"
        ) from None
    if not isinstance(record, dict):
        raise UnavailableError(f"the API sent a results line of batch {batch_id} that is not an "
                               "object")
    return record


def result_type(record: Mapping[str, Any]) -> str | None:
    result = record.get("result")
    return result.get("type") if isinstance(result, dict) else None

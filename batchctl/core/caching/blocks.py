"""A request as the API's prompt cache sees it: positions in the order tools -> system -> messages,
block by block, each hashed from its canonical bytes.

The facts (prompt-caching docs, "What invalidates the cache"; ../shared/CACHING.md, "How caching
works"): the prefix order is tools, then system, then messages; a change at one level invalidates
that level and every one after it; tool_choice, thinking settings, effort (late 2026) and adding
or removing images invalidate the message part; caches are per model. So a request reads here as:

* its *root*, the fields whose change shares nothing: the model, and (not confirmed either way,
  so counted as splitting, which never overstates a saving) ``inference_geo`` and ``mcp_servers``;
* one position per tool definition and per system block (a string system is one text block);
* one *settings* position before the messages: ``tool_choice``, ``thinking``, ``output_config``
  (effort, format), ``context_management``, ``container`` and the number of image blocks. It is no
  block and takes no marker: two requests whose settings differ share tools and system, and stop
  sharing where their messages begin, as the API's cache does;
* one position per content block of each message (a string content is one text block).

The granularity is the block: a tool definition, a system block, a message's content block. A
prefix shared down to the middle of a block is shared down to the block before it.

Each position is a 28-byte record: a 16-byte BLAKE2b of its canonical bytes (orjson with sorted
keys, the ``cache_control`` marker left out, tagged with the role and whether it opens a
message), then the estimated tokens of the prefix up to it (``estimate_input_tokens`` of
core/catalog/prices.py, block by block: the one heuristic of batchctl), then where it is (section,
indexes, whether a marker may go on it). Equal prefixes give equal records, byte for byte.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from batchctl.core.catalog.prices import estimate_input_tokens

TOOLS, SYSTEM, SETTINGS, MESSAGES = range(4)
ROOT_FIELDS = ("model", "inference_geo", "mcp_servers")
SETTINGS_FIELDS = ("tool_choice", "thinking", "output_config", "context_management", "container")
#: Blocks that never take a marker: "Thinking blocks cannot be cached directly with cache_control"
#: (prompt-caching docs); the API answers "messages.N.content.0.thinking.cache_control: Extra
#: inputs are not permitted" (Wei-Shaw/sub2api#225, router-for-me/CLIProxyAPI#512).
UNMARKABLE = frozenset(("thinking", "redacted_thinking"))
RECORD = 28  # bytes per position: hash 16, prefix tokens 4, place 8
_TAIL = struct.Struct("<IQ")
_SORT = orjson.OPT_SORT_KEYS


@dataclass(frozen=True, slots=True)
class Position:
    """One place in a request's prefix: ``section`` TOOLS, SYSTEM, SETTINGS or MESSAGES;
    ``index`` the tool, system block or message; ``block`` the content block in the message;
    ``content`` as written (a dict, or a str for a string system or message content)."""

    section: int
    index: int
    block: int
    content: Any
    role: str = ""

    @property
    def field(self) -> str:
        """Where it is in params, as the API names it: ``tools.2``, ``system.0``,
        ``messages.1.content.0`` (``system``, ``messages.1.content`` for a string)."""
        return field_of(self.section, self.index, self.block, type(self.content) is str)

    @property
    def marker(self) -> dict | None:
        """Its ``cache_control`` marker, if it has one."""
        content = self.content
        if type(content) is dict:
            marker = content.get("cache_control")
            if type(marker) is dict:
                return marker
        return None


def field_of(section: int, index: int, block: int, string: bool = False) -> str:
    if section == TOOLS:
        return f"tools.{index}"
    if section == SYSTEM:
        return "system" if string else f"system.{index}"
    return f"messages.{index}.content" + ("" if string else f".{block}")


def is_one_hour(marker: dict) -> bool:
    """A marker's TTL: ``"1h"``, else the default 5 minutes (types/cache_control_ephemeral_param.py)."""
    return marker.get("ttl") == "1h"


def markable(content: Any) -> bool:
    """Whether a marker may go on this block: not thinking, not an empty or blank text."""
    if type(content) is str:
        return bool(content.strip())
    if type(content) is not dict:
        return False
    kind = content.get("type")
    if kind in UNMARKABLE:
        return False
    if kind == "text":
        text = content.get("text")
        return type(text) is str and bool(text.strip())
    return True


def positions(params: dict[str, Any]) -> Iterator[Position]:
    """Every position of a request, in the cache's order (the SETTINGS one included)."""
    tools = params.get("tools")
    if type(tools) is list:
        for i, tool in enumerate(tools):
            yield Position(TOOLS, i, 0, tool)
    system = params.get("system")
    if type(system) is str:
        yield Position(SYSTEM, 0, 0, system)
    elif type(system) is list:
        for i, block in enumerate(system):
            yield Position(SYSTEM, i, 0, block)
    yield Position(SETTINGS, 0, 0, None)
    for i, message in enumerate(params.get("messages") or ()):
        if type(message) is not dict:
            continue
        role = str(message.get("role"))
        content = message.get("content")
        if type(content) is list:
            for j, block in enumerate(content):
                yield Position(MESSAGES, i, j, block, role)
        else:
            yield Position(MESSAGES, i, 0, content, role)


def prefix(params: dict[str, Any], depth: int) -> dict[str, Any]:
    """A request holding only the first ``depth`` positions of ``params`` (the settings among
    them), to count a prefix's tokens; with no message among them, one user message of "." (the
    count-tokens endpoint needs one: it adds a token or so)."""
    out: dict[str, Any] = {"model": params.get("model")}
    left = depth
    for key in ("tools", "system"):
        items = params.get(key)
        if left and type(items) is list and items:
            out[key] = items[:left]
            left -= len(out[key])
        elif left and key == "system" and type(items) is str:
            out[key] = items
            left -= 1
    if left:  # the settings position
        left -= 1
        out.update({k: params[k] for k in SETTINGS_FIELDS if k in params})
    messages: list[Any] = []
    for message in params.get("messages") or ():
        if not left:
            break
        if type(message) is not dict:
            continue
        content = message.get("content")
        if type(content) is list:
            messages.append({**message, "content": content[:left]})
            left -= len(messages[-1]["content"])
        else:
            messages.append(message)
            left -= 1
    out["messages"] = messages or [{"role": "user", "content": "."}]
    return out


@dataclass(frozen=True)
class Sequence:
    """A request read for planning: ``root`` (16 bytes), ``records`` (RECORD bytes a position),
    ``marks`` (depth from 1, one-hour?) of the user's markers on blocks, ``top`` the TTL of a
    top-level ``cache_control`` (True: one hour; None: none), ``total`` its input tokens."""

    root: bytes
    records: bytes
    marks: tuple[tuple[int, bool], ...]
    top: bool | None
    total: int

    @property
    def depth(self) -> int:
        return len(self.records) // RECORD


def sequence(params: dict[str, Any], total: int | None = None) -> Sequence:
    """``params`` read for planning; ``total``: its exact input tokens, when known (else the
    estimate). Never changes ``params``."""
    out = bytearray()
    marks: list[tuple[int, bool]] = []
    tokens = 0
    images = _images(params.get("messages"))
    for depth, pos in enumerate(positions(params), 1):
        if pos.section == SETTINGS:
            tag = b"c"
            data = _bytes([params.get(k) for k in SETTINGS_FIELDS] + [images])
            can_mark = False
        else:
            block = canonical(pos.content)
            tag = b"t" if pos.section == TOOLS else b"s" if pos.section == SYSTEM else (
                pos.role[:1].encode() + (b"1" if pos.block == 0 else b"0"))
            data = _bytes(block)
            tokens += block_tokens(pos.section, pos.content, pos.role)
            can_mark = markable(block)
            marker = pos.marker
            if marker is not None:
                marks.append((depth, is_one_hour(marker)))
        out += _hash(tag + data)
        out += _TAIL.pack(min(tokens, 0xFFFFFFFF), place(pos.section, pos.index, pos.block, can_mark))
    top = params.get("cache_control")
    return Sequence(
        root=_hash(_bytes([params.get(k) for k in ROOT_FIELDS])),
        records=bytes(out),
        marks=tuple(marks),
        top=is_one_hour(top) if type(top) is dict else None,
        total=estimate_input_tokens(params) if total is None else total,
    )


def head_key(params: dict[str, Any]) -> bytes:
    """The identity of what a request puts before its messages: the root fields, the tools and
    the system prompt, markers left out. Requests with different keys share no cache entry at a
    system marker or before it; the key of core/caching/groups.py's groups."""
    head = [params.get(k) for k in ROOT_FIELDS]
    for key in ("tools", "system"):  # a string system is one text block, as in ``positions``
        value = params.get(key)
        items = value if type(value) is list else [] if value is None else [value]
        head.append([canonical(item) for item in items])
    return _hash(_bytes(head))


def canonical(content: Any) -> Any:
    """A block as hashed and estimated: a string is one text block; the marker is left out."""
    if type(content) is str:
        return {"type": "text", "text": content}
    if type(content) is dict and "cache_control" in content:
        return {k: v for k, v in content.items() if k != "cache_control"}
    return content


def block_tokens(section: int, content: Any, role: str = "user") -> int:
    """Estimated tokens of one block (a string: one text block): ``estimate_input_tokens`` of a
    request holding only it. A marker on it adds nothing."""
    if type(content) is dict and "cache_control" in content:
        content = canonical(content)
    if section == TOOLS:
        return estimate_input_tokens({"tools": [content]})
    if section == SYSTEM:
        return estimate_input_tokens({"system": content if type(content) is str else [content]})
    if type(content) is str:
        return estimate_input_tokens({"messages": [{"role": role, "content": content}]})
    return estimate_input_tokens({"messages": [{"role": role, "content": [content]}]})


def place(section: int, index: int, block: int, can_mark: bool) -> int:
    return (section << 62) | (int(can_mark) << 61) | ((index & 0x1FFFFFFF) << 32) | (block & 0xFFFFFFFF)


def unpack(record: bytes) -> tuple[int, int, int, int, bool]:
    """``(prefix tokens, section, index, block, markable)`` of one record."""
    tokens, where = _TAIL.unpack_from(record, 16)
    return (tokens, where >> 62, (where >> 32) & 0x1FFFFFFF, where & 0xFFFFFFFF,
            bool(where >> 61 & 1))


def chain(root: bytes, records: bytes, depth: int) -> bytes:
    """The identity of a request's prefix of ``depth`` positions (16 bytes), from its root and
    the content hashes alone (not the token estimates), so that a plan recorded with a job still
    finds its prefixes after an upgrade that changes the estimate."""
    h = root
    for start in range(0, depth * RECORD, RECORD):
        h = _hash(h + records[start:start + 16])
    return h


def chains(root: bytes, records: bytes) -> Iterator[bytes]:
    """The identity (``chain``) of every prefix of a request, shortest first."""
    h = root
    for start in range(0, len(records), RECORD):
        h = _hash(h + records[start:start + 16])
        yield h


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _images(messages: Any) -> int:
    """Image blocks in the messages, tool results included ("adding or removing images" anywhere
    invalidates the message part: prompt-caching docs)."""
    count = 0
    for message in messages if type(messages) is list else ():
        content = message.get("content") if type(message) is dict else None
        for block in content if type(content) is list else ():
            if type(block) is not dict:
                continue
            if block.get("type") == "image":
                count += 1
            elif block.get("type") == "tool_result" and type(block.get("content")) is list:
                count += sum(1 for b in block["content"] if type(b) is dict and b.get("type") == "image")
    return count


def _bytes(value: Any) -> bytes:
    """Canonical bytes: orjson with sorted keys; for a value nested deeper than orjson writes
    (254 levels), the same walk done without recursion."""
    try:
        return orjson.dumps(value, option=_SORT)
    except TypeError:
        parts: list[bytes] = []
        stack: list[Any] = [value]
        while stack:
            item = stack.pop()
            if type(item) is dict:
                parts.append(b"{")
                stack.append(_Raw(b"}"))
                for key in sorted(item, reverse=True):
                    stack.extend((item[key], _Raw(orjson.dumps(str(key)) + b":")))
            elif type(item) is list:
                parts.append(b"[")
                stack.append(_Raw(b"]"))
                stack.extend(reversed(item))
            elif type(item) is _Raw:
                parts.append(item.text)
            else:
                parts.append(orjson.dumps(item) + b",")
        return b"".join(parts)


@dataclass(frozen=True, slots=True)
class _Raw:
    text: bytes

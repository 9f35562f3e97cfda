"""Prompt caching as the emulator reads one request: its ``cache_control`` markers, what the API
refuses of them, and the prefixes the cache may hold (emulator.cachesim decides who reads them).

The emulator's own reading of the API's sources (../shared/CACHING.md, "How caching works", gathers
them); it shares no code with batchctl's planner (core/caching):

* a marker, ``{"type": "ephemeral"}`` or with ``"ttl": "1h"`` ("5m" by default;
  types/cache_control_ephemeral_param.py), on a tool definition, a system block or a message's
  content block makes everything up to and including that block a prefix; a top-level
  ``cache_control`` (automatic caching) puts one on the last block that may take one;
* the prefix order is tools, system, messages. What a prefix is also holds the model (caches are
  per model) and, before the messages, ``tool_choice``, ``thinking``, ``output_config.effort``
  and the number of images ("What invalidates the cache"): two requests that differ there share
  their tools and system, not their messages;
* the granularity is the block: a tool definition, a system block, a message's content block (a
  string is one text block); blocks inside a tool_result are part of it;
* at each marker the cache is looked up at the marker's block and up to ``LOOKBACK`` (20) blocks
  before it, for an entry an earlier request wrote there; entries are written only at markers;
* a prefix shorter than the model's minimum cacheable length (catalog.json ``cache_minimums``) is
  not cached, with no error: a marker there counts for nothing.

Refused, in the API's words: more than 4 markers, a top-level one counted ("A maximum of 4 blocks
with cache_control may be provided. Found 5.": Wei-Shaw/sub2api#176, tghamm/Anthropic.SDK#50); a
1-hour marker after a 5-minute one (cnighswonger/claude-code-cache-fix#44,
headroomlabs-ai/headroom#2939); a marker on a thinking block ("messages.13.content.0.thinking.
cache_control: Extra inputs are not permitted", Wei-Shaw/sub2api#225) or on an empty text block
("cache_control cannot be set for empty text blocks", anthropics/claude-code#54013). A top-level
marker whose block already has a marker of the other TTL is refused too (CACHING.md); those words,
and those of a malformed marker, are the emulator's.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson

from batchctl.emulator.catalog import Catalog, cache_minimum
from batchctl.emulator.tokens import content_chars, tokens, tool_chars

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
MAX_MARKERS = 4
LOOKBACK = 20
THINKING = ("thinking", "redacted_thinking")
TTL_ORDER = ("a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. "
             "Note that blocks are processed in the following order: `tools`, `system`, `messages`.")

#: A request's cacheable prefixes, as kept for emulator.cachesim: ``[depth, prefix hash, prefix
#: tokens, TTL seconds]`` by depth (1: the first block); TTL 0 for a block that has no marker and
#: is looked up only (within LOOKBACK of a marker). Only prefixes at or over the minimum.
Prefixes = list


class Block(NamedTuple):
    """One block in the cache's order: ``field`` as the API names it (``tools.0``, ``system``,
    ``messages.1.content.0``), ``content`` as written, ``tag`` its section (and for a message
    block its role and whether it opens the message), ``chars`` for the token estimate."""

    field: str
    content: Any
    tag: bytes
    chars: int

    @property
    def marker(self) -> Any:
        content = self.content
        return content.get("cache_control") if type(content) is dict else None

    @property
    def takes_marker(self) -> bool:
        """Not a thinking block, not an empty text (a string content is a text block)."""
        content = self.content
        if type(content) is str:
            return content != ""
        if type(content) is not dict or content.get("type") in THINKING:
            return False
        return content.get("type") != "text" or content.get("text") != ""


def has_marker(params: dict[str, Any]) -> bool:
    """Whether the request sets any ``cache_control``: a quick look before the walk."""
    if params.get("cache_control") is not None:
        return True
    for key in ("tools", "system"):
        items = params.get(key)
        if type(items) is list and any(type(i) is dict and i.get("cache_control") is not None
                                       for i in items):
            return True
    for message in params.get("messages") or ():
        content = message.get("content") if type(message) is dict else None
        if type(content) is list and any(type(b) is dict and b.get("cache_control") is not None
                                         for b in content):
            return True
    return False


def walk(params: dict[str, Any]) -> list[Block]:
    """Every block of a request in the cache's order."""
    found: list[Block] = []
    tools = params.get("tools")
    for i, tool in enumerate(tools if type(tools) is list else ()):
        found.append(Block(f"tools.{i}", tool, b"T", tool_chars(tool)))
    system = params.get("system")
    if type(system) is str:
        found.append(Block("system", system, b"S", len(system)))
    elif type(system) is list:
        found.extend(Block(f"system.{i}", b, b"S", content_chars([b])) for i, b in enumerate(system))
    for i, message in enumerate(params.get("messages") or ()):
        if type(message) is not dict:
            continue
        role = str(message.get("role"))[:1].encode()
        content = message.get("content")
        if type(content) is str:
            found.append(Block(f"messages.{i}.content", content, role + b"^", len(content)))
        elif type(content) is list:
            found.extend(Block(f"messages.{i}.content.{j}", b, role + (b"^" if j == 0 else b"."),
                               content_chars([b])) for j, b in enumerate(content))
    return found


def problem(params: dict[str, Any]) -> str | None:
    """What the API refuses of a request's markers, worded as it words it, or None."""
    if not has_marker(params):
        return None
    blocks = walk(params)
    marked: list[tuple[int, str]] = []  # (block index, TTL)
    for index, block in enumerate(blocks):
        marker = block.marker
        if marker is None:
            continue
        kind = block.content.get("type")
        if kind in THINKING:
            return f"{block.field}.{kind}.cache_control: Extra inputs are not permitted"
        ttl, bad = _read_marker(marker, f"{block.field}.cache_control")
        if bad is not None:
            return bad
        if kind == "text" and block.content.get("text") == "":
            return f"{block.field}.text: cache_control cannot be set for empty text blocks"
        marked.append((index, ttl))
    top = params.get("cache_control")
    top_ttl = None
    if top is not None:
        top_ttl, bad = _read_marker(top, "cache_control")
        if bad is not None:
            return bad
    count = len(marked) + (top is not None)
    if count > MAX_MARKERS:
        return f"A maximum of {MAX_MARKERS} blocks with cache_control may be provided. Found {count}."
    five_minutes = False
    for index, ttl in marked:
        if ttl == "1h" and five_minutes:
            return f"{blocks[index].field}.cache_control.ttl: {TTL_ORDER}"
        five_minutes = five_minutes or ttl == "5m"
    if top_ttl is None:
        return None
    last = _last_markable(blocks)
    if marked and last is not None and marked[-1][0] == last and marked[-1][1] != top_ttl:
        return (f"cache_control: the top-level cache_control (ttl {top_ttl}) goes on the last block "
                f"that takes one, {blocks[last].field}, which already has one with ttl "
                f"{marked[-1][1]}")
    if top_ttl == "1h" and five_minutes:
        return f"cache_control.ttl: {TTL_ORDER}"
    return None


def _read_marker(marker: Any, where: str) -> tuple[str, str | None]:
    """``(ttl, None)`` for a well-formed marker, else ``("", problem)``."""
    if type(marker) is not dict:
        return "", f"{where}: Input should be a valid dictionary"
    if marker.get("type") != "ephemeral":
        return "", f"{where}.type: Input should be 'ephemeral'"
    ttl = marker.get("ttl", "5m")
    if ttl not in TTL_SECONDS:
        return "", f"{where}.ttl: Input should be '5m' or '1h'"
    extra = next((key for key in marker if key not in ("type", "ttl")), None)
    if extra is not None:
        return "", f"{where}.{extra}: Extra inputs are not permitted"
    return ttl, None


def _last_markable(blocks: list[Block]) -> int | None:
    for index in range(len(blocks) - 1, -1, -1):
        if blocks[index].takes_marker:
            return index
    return None


def prefixes(params: dict[str, Any], catalog: Catalog) -> Prefixes | None:
    """The prefixes of a request that passed the checks (None: it has no marker; empty: none of
    its markers caches anything, all being under the model's minimum)."""
    if not has_marker(params):
        return None
    model = params["model"]
    info = catalog.find(model)
    model_id = info["id"] if info is not None else model  # an alias shares its model's cache
    minimum = cache_minimum(model_id)
    blocks = walk(params)
    ttls = {index + 1: TTL_SECONDS[b.marker.get("ttl", "5m")]
            for index, b in enumerate(blocks) if b.marker is not None}
    top = params.get("cache_control")
    last = _last_markable(blocks)
    if top is not None and last is not None:
        ttls.setdefault(last + 1, TTL_SECONDS[top.get("ttl", "5m")])
    state = hashlib.blake2b(model_id.encode(), digest_size=8).digest()
    chars = 0
    rows: list[tuple[int, str, int]] = []
    settings = False
    for depth, block in enumerate(blocks, 1):
        if not settings and block.tag[1:] == b"^":
            state = _fold(state, b"C", orjson.dumps(_settings(params), option=orjson.OPT_SORT_KEYS))
            settings = True
        data = _canonical(block.content)
        if data is None:  # nested deeper than JSON is written here: the cacheable prefix ends
            break
        state = _fold(state, block.tag, data)
        chars += block.chars
        rows.append((depth, state.hex(), tokens(chars)))
    cached = [depth for depth in ttls if depth <= len(rows) and rows[depth - 1][2] >= minimum]
    looked = {d for m in cached for d in range(max(1, m - LOOKBACK), m + 1)}
    return [[depth, digest, count, ttls.get(depth, 0.0)] for depth, digest, count in rows
            if depth in looked and count >= minimum]


def _fold(state: bytes, tag: bytes, data: bytes) -> bytes:
    return hashlib.blake2b(state + tag + data, digest_size=8).digest()


def _canonical(content: Any) -> bytes | None:
    """A block's bytes as the cache compares them: its marker left out, keys sorted."""
    if type(content) is str:
        content = {"type": "text", "text": content}
    elif type(content) is dict and "cache_control" in content:
        content = {k: v for k, v in content.items() if k != "cache_control"}
    try:
        return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None


def _settings(params: dict[str, Any]) -> list[Any]:
    """What splits the message part: tool_choice, thinking, effort and the number of images."""
    config = params.get("output_config")
    effort = config.get("effort") if type(config) is dict else None
    images = 0
    pending = [m.get("content") for m in params["messages"] if type(m) is dict]
    while pending:
        item = pending.pop()
        if type(item) is list:
            pending.extend(item)
        elif type(item) is dict:
            images += item.get("type") == "image"
            if item.get("type") == "tool_result":
                pending.append(item.get("content"))
    return [params.get("tool_choice"), params.get("thinking"), effort, images]

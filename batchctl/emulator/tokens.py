"""The stand-in model's token estimate: characters / 4, block by block.

One estimate serves ``usage.input_tokens``, ``POST /v1/messages/count_tokens`` and the prompt
cache's prefixes (emulator.cachemarks), so that for any request the cache fields and the input
add up to what count_tokens answers (usage: "the total input is their sum", types/usage.py;
CACHING.md, "What usage reports").

What counts: the text of text blocks, a tool_result's content, a fixed 1,600 tokens for an image
or a document, a rough size for anything else (tool_use input), and a tool definition's strings
(its name, description and schema, keys and values). The real API also adds a tool-use system
prompt when ``tools`` are given (docs, "Tool use pricing and tokens"); the emulator does not.
"""

from __future__ import annotations

from typing import Any

CHARS_PER_TOKEN = 4
_NON_TEXT_BLOCK_CHARS = 1600 * CHARS_PER_TOKEN  # an image or document counts as ~1,600 tokens


def tokens(chars: int) -> int:
    """Tokens for ``chars`` characters, rounded up."""
    return -(-chars // CHARS_PER_TOKEN)


def block_chars(block: Any) -> int:
    """Characters one content block (or a string content) counts for."""
    if isinstance(block, str):
        return len(block)
    if not isinstance(block, dict):
        return 0
    text = block.get("text")
    if isinstance(text, str):
        return len(text)
    content = block.get("content")  # tool_result
    if isinstance(content, (str, list)):
        return content_chars(content)
    if block.get("type") in ("image", "document"):
        return _NON_TEXT_BLOCK_CHARS
    return len(repr(block.get("input", "")))  # tool_use and anything else: a rough size


def content_chars(content: Any) -> int:
    """Characters of a system prompt or a message's content: a string, or a list of blocks."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        return sum(block_chars(block) for block in content)
    return 0


def tool_chars(tool: Any) -> int:
    """Characters of one tool definition: every string in it, keys included, walked without
    recursion (a schema may nest deeper than Python recurses); its ``cache_control`` left out."""
    total = 0
    pending = [tool]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                if item is not tool or key != "cache_control":
                    total += len(key)
                    pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)
    return total


def tools_chars(tools: Any) -> int:
    """Characters of a request's ``tools``."""
    return sum(map(tool_chars, tools)) if isinstance(tools, list) else 0

"""The emulator's own reading of the rules a request must follow, per ``anthropic-version``.

The emulator shares no code with batchctl's client checker (batchctl.core.requests): each side
reads the API's sources on its own, so a wrong reading in one is not repeated in the other
(issue #22, item 4). Each rule below cites its source; the model's own limits and capabilities
are read from the catalogue (emulator.capabilities). ``Checks.problem`` answers the first problem
of one structurally valid request (emulator.model checks the structure), worded as the API
words it; keys that no rule names pass unchecked, as a new API feature would.

``batch``: the rules of a request in a batch (the Message Batches API) rather than of a single
``POST /v1/messages`` (or a token count): no streaming, no ``speed``, ``max_tokens`` at least 1,
batch support, and the batch-only betas that raise ``max_tokens``.
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from batchctl.emulator import cachemarks
from batchctl.emulator.capabilities import ModelProfile, NotFound, profile_for
from batchctl.emulator.catalog import Catalog
from batchctl.emulator.headers import API_VERSION_2026

__all__ = ["BLOCK_TYPES", "Checks", "NotFound"]

_SAMPLING = ("temperature", "top_p", "top_k")
#: SDK call arguments written into params are "Extra inputs" (anthropic-sdk-python#1118 for
#: betas; arc-agi-benchmarking PR #89 for extra_body and extra_headers).
_CALL_KEYS = ("betas", "extra_body", "extra_headers")
_TRIGGERS = frozenset((*_SAMPLING, *_CALL_KEYS, "stream", "speed", "thinking", "output_config",
                       "tools"))
#: The block types a message may hold: anthropic SDK types/content_block_param.py
#: (ContentBlockParam) and the beta ones of types/beta/beta_content_block_param.py.
BLOCK_TYPES = frozenset((
    "text", "image", "document", "search_result", "thinking", "redacted_thinking", "tool_use",
    "tool_result", "server_tool_use", "web_search_tool_result", "web_fetch_tool_result",
    "code_execution_tool_result", "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result", "tool_search_tool_result", "container_upload",
    "mcp_tool_use", "mcp_tool_result",
))


class Checks:
    """The rules for one create call (or one message): its API version, betas and catalogue."""

    def __init__(self, api_version: str, betas: frozenset[str], catalog: Catalog, *,
                 any_model: bool = False, batch: bool = True) -> None:
        self.api_version = api_version
        # Sampling parameters, assistant documents and user citations: refused from 2026-10-21
        # (issue #12; migration guide for 2026-10-21; BATCHES_API.md 3.1).
        self.new = api_version >= API_VERSION_2026
        self.betas = betas
        self.catalog = catalog
        self.any_model = any_model
        self.batch = batch
        self._profiles: dict[str, ModelProfile] = {}

    def problem(self, params: dict[str, Any]) -> str | None:
        """The first problem of ``params`` (a NotFound for a model that is not there), or None."""
        model = profile_for(self._profiles, params["model"], self.catalog, self.betas,
                            any_model=self.any_model, batch=self.batch)
        if model.problem is not None:
            return model.problem
        max_tokens = params["max_tokens"]
        # max_tokens 0 (cache pre-warming) is refused in a batch (issue #12; batch-processing
        # guide; BATCHES_API.md 3.1), negative values everywhere.
        if max_tokens < (1 if self.batch else 0):
            return f"max_tokens: must be at least {1 if self.batch else 0}, got {max_tokens}"
        found = model.max_tokens(max_tokens)
        if found is not None:
            return found
        keys = params.keys() & _TRIGGERS
        for key in sorted(keys):
            found = self._key(key, params[key], model)
            if found is not None:
                return found
        for index, message in enumerate(params["messages"]):
            found = self._message(message, index, model)
            if found is not None:
                return found
        # The cache_control markers: at most 4, TTLs in order, none on a thinking or empty
        # text block (emulator.cachemarks, with its sources).
        return cachemarks.problem(params)

    def _key(self, key: str, value: Any, model: ModelProfile) -> str | None:
        if key in _SAMPLING:
            return self._sampling(key, value)
        if key == "stream":
            # "Streaming is not supported" in batches (batch-processing guide, FAQ; BATCHES_API.md
            # 3.1); the emulator does not stream single messages either.
            if value is True:
                where = "the Message Batches API" if self.batch else "the batchctl emulator"
                return f"stream: streaming is not supported in {where}"
            if value is not None and value is not False:
                return "stream: Input should be a valid boolean"
            return None
        if key == "speed":
            # Fast mode is not offered in batches (issue #12; batch-processing guide).
            return "speed: not supported in the Message Batches API" if self.batch else None
        if key == "thinking":
            return model.thinking(value)
        if key == "output_config":
            return model.output_config(value)
        if key == "tools":
            return model.tools(value)
        return f"{key}: Extra inputs are not permitted"  # _CALL_KEYS

    def _sampling(self, key: str, value: Any) -> str | None:
        if value is None:
            return None
        if self.new:
            return f"{key}: not supported with anthropic-version {self.api_version}"
        # Messages API reference (create a message): temperature and top_p from 0.0 to 1.0,
        # top_k an integer >= 0 (issue #15).
        if key == "top_k":
            if type(value) is not int or value < 0:
                return f"top_k: Input should be an integer >= 0, got {_show(value)}"
        elif type(value) not in (int, float) or not 0 <= value <= 1:
            return f"{key}: Input should be a number from 0 to 1, got {_show(value)}"
        return None

    def _message(self, message: Any, index: int, model: ModelProfile) -> str | None:
        """One message: a role of user or assistant, content a string or a list of blocks
        (Messages API reference, messages[].role and messages[].content; issue #15)."""
        if type(message) is not dict:
            return f"messages.{index}: Input should be a valid dictionary"
        role = message.get("role")
        if role != "user" and role != "assistant":
            return f"messages.{index}.role: Input should be 'user' or 'assistant', got {_show(role)}"
        content = message.get("content")
        if type(content) is list:
            return self._blocks(content, role, f"messages.{index}.content", model)
        if type(content) is not str:
            return (f"messages.{index}.content: Input should be a valid string or a list of "
                    "content blocks")
        return None

    def _blocks(self, blocks: list, role: str, where: str, model: ModelProfile) -> str | None:
        for index, block in enumerate(blocks):
            at = f"{where}.{index}"
            if type(block) is not dict:
                return f"{at}: Input should be a valid dictionary"
            kind = block.get("type")
            if kind == "text":
                if self.new and role == "user" and _cited(block):
                    return f"{at}.citations: citations are not accepted on a user text block"
                continue
            if kind not in BLOCK_TYPES:
                return _unknown_block(kind, f"{at}.type")
            found = model.block(block, at) or self._new_block(block, kind, role, at)
            if found is None and kind == "tool_result" and type(block.get("content")) is list:
                found = self._blocks(block["content"], role, f"{at}.content", model)
            if found is not None:
                return found
        return None

    def _new_block(self, block: dict[str, Any], kind: str, role: str, at: str) -> str | None:
        """From 2026-10-21 (migration guide; issue #12): no document directly in an assistant
        message, no citations on a user text block, also inside a search_result."""
        if not self.new:
            return None
        if kind == "document" and role == "assistant":
            return f"{at}: a document block is not accepted in an assistant message"
        if kind == "search_result" and role == "user":
            inner = block.get("content")
            for k, text in enumerate(inner if type(inner) is list else ()):
                if type(text) is dict and _cited(text):
                    return f"{at}.content.{k}.citations: citations are not accepted on a user text block"
        return None


def _unknown_block(kind: Any, field: str) -> str:
    if type(kind) is not str:
        return f"{field}: Input should be a block type, got {_show(kind)}"
    close = difflib.get_close_matches(kind, BLOCK_TYPES, n=1, cutoff=0.7)
    guess = f" (did you mean {_show(close[0])}?)" if close else ""
    return f"{field}: unknown block type {_show(kind)}{guess}"


def _cited(block: dict[str, Any]) -> bool:
    citations = block.get("citations")
    return type(citations) is list and bool(citations)


def _show(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # nested deeper than orjson writes
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."

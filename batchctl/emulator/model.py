"""The stand-in model: per-request parameter checks and the deterministic reply it gives.

Nothing here runs a real model. A reply says it comes from the batchctl emulator and echoes a
short digest of the last user message, so a human reading results can tell what happened, and a
test can check that a reply belongs to its request. A request with tools, a JSON output format,
the word JSON or thinking gets a structured answer instead, by the rule in
``batchctl.emulator.shapes``.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

from batchctl.emulator import shapes
from batchctl.emulator.apirules import Checks
from batchctl.emulator.tokens import CHARS_PER_TOKEN, content_chars, tokens, tools_chars
from batchctl.emulator.wire import base62

_SNIPPET = 40

# A reply seed: everything the reply needs, computed once when the batch is created.
# [model, input_tokens, max_tokens, last_user_chars, crc32, snippet(, structured spec(, pause))]:
# the seventh item (``shapes.plan``, or None) only for a structured answer or a paused turn,
# the eighth, 1, only when the request has a server tool (the turn pauses); plain seeds keep six.
ReplySeed = list
_STRUCTURED = ("tools", "output_config", "thinking")


def assess(params: dict[str, Any], checks: Checks) -> tuple[str | None, ReplySeed | None]:
    """``(problem, None)`` for bad ``params``, as the API words it, else ``(None, reply seed)``.

    In a batch these checks run "asynchronously" in the API: a bad request does not fail the
    create call, it ends ``errored`` with ``invalid_request_error`` (a ``NotFound`` problem is a
    model that is not there: ``not_found_error``). Structure is checked here, then the rules and
    the model's capabilities (emulator.apirules); one pass over the messages counts the input.
    """
    model = params.get("model")
    if model is None:
        return "model: Field required", None
    if type(model) is not str or not model:
        return "model: Input should be a non-empty string", None
    max_tokens = params.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required", None
    if type(max_tokens) is not int:
        return "max_tokens: Input should be a valid integer", None
    messages = params.get("messages")
    if messages is None:
        return "messages: Field required", None
    if type(messages) is not list:
        return "messages: Input should be a valid list", None
    if not messages:
        return "messages: at least one message is required", None
    system = params.get("system")
    chars = tools_chars(params.get("tools")) + (0 if system is None else content_chars(system))
    last_user: Any = None
    for index, message in enumerate(messages):
        if type(message) is not dict:
            return f"messages.{index}: Input should be a valid dictionary", None
        role = message.get("role")
        content = message.get("content")
        if type(content) is str:
            chars += len(content)
        elif type(content) is list:
            chars += content_chars(content)
        else:
            return (
                f"messages.{index}.content: Input should be a valid string or a list of content blocks",
                None,
            )
        if role == "user":
            last_user = content
    conflict = shapes.thinking_conflict(params)
    if conflict is not None:
        return conflict, None
    problem = checks.problem(params)
    if problem is not None:
        return problem, None
    seed = _seed(model, chars, max_tokens, last_user, params)
    tools = params.get("tools")
    if type(tools) is list and any(_server_tool(tool) for tool in tools):
        if len(seed) == 6:
            seed.append(None)
        seed.append(1)  # a server tool: the turn pauses (render_message)
    return None, seed


#: Tool types the API runs itself (server tools): web search, web fetch, code execution
#: (docs: "Server tools"; SDK types web_search_tool_20250305_param.py and the like).
_SERVER_TOOLS = ("web_search_", "web_fetch_", "code_execution_")


def _server_tool(tool: Any) -> bool:
    kind = tool.get("type") if type(tool) is dict else None
    return type(kind) is str and kind.startswith(_SERVER_TOOLS)


def count_tokens(params: Any, checks: Checks) -> tuple[str | None, int]:
    """``(problem, 0)`` or ``(None, input tokens)`` for a count_tokens body: the same checks
    and the same estimate as a batch request's ``usage.input_tokens``."""
    if type(params) is not dict:
        return "The request body must be a JSON object.", 0
    problem, seed = assess({**params, "max_tokens": 1}, checks)
    if problem is not None or seed is None:
        return problem or "invalid request", 0
    return None, int(seed[1])


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and isinstance(block.get("text"), str)
        )
    return ""


def _seed(model: str, chars: int, max_tokens: int, last_user: Any, params: dict[str, Any]) -> ReplySeed:
    input_tokens = max(1, tokens(chars))
    text = last_user if type(last_user) is str else _text_of(last_user)
    try:
        raw = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        raw = text.encode("utf-8", "surrogatepass")
    snippet = text[:_SNIPPET]
    if not snippet.isprintable():  # newlines, tabs: collapse into single spaces
        snippet = " ".join(snippet.split())
    if len(text) > _SNIPPET:
        snippet = snippet[: _SNIPPET - 1].rstrip() + "\u2026"
    crc = zlib.crc32(raw)
    if "JSON" in text or any(k in params for k in _STRUCTURED):
        spec = shapes.plan(params, text, len(text), crc, snippet)
        if spec is not None:
            return [model, input_tokens, max_tokens, len(text), crc, snippet, spec]
    return [model, input_tokens, max_tokens, len(text), crc, snippet]


def reply_text(seed: ReplySeed) -> str:
    _model, _input, _max, chars, crc, snippet = seed[:6]
    return (
        "This is the batchctl emulator, a stand-in for a real model: nothing was generated. "
        f'Your last message had {chars} characters (crc32 {crc:08x}) and began: "{snippet}".'
    )


def message_id(batch_id: str, custom_id: str) -> str:
    digest = hashlib.blake2b(f"{batch_id}/{custom_id}".encode(), digest_size=16).digest()
    return "msg_01" + base62(digest, 22)


def render_message(msg_id: str, seed: ReplySeed, service_tier: str = "batch") -> dict[str, Any]:
    """The Messages API ``Message`` of a succeeded request; cut at ``max_tokens`` when longer.

    A request with a server tool stops with ``pause_turn`` (unless cut): the API pauses a long
    server-tool turn and the client is to send the reply back to continue it (docs, "Handling
    stop reasons": pause_turn; issue #12). Its result is succeeded but unfinished.
    ``service_tier``: "batch" in batch results, "standard" for a single message (types/usage.py)."""
    message = _render(msg_id, seed)
    message["usage"]["service_tier"] = service_tier
    if len(seed) > 7 and seed[7] and message["stop_reason"] != "max_tokens":
        message["stop_reason"] = "pause_turn"
    return message


def _render(msg_id: str, seed: ReplySeed) -> dict[str, Any]:
    if len(seed) > 6 and seed[6] is not None:
        return _structured(msg_id, seed)
    model, input_tokens, max_tokens = seed[0], seed[1], seed[2]
    text = reply_text(seed)
    output_tokens = max(1, tokens(len(text)))
    stop_reason = "end_turn"
    if output_tokens > max_tokens:
        text = text[: max_tokens * CHARS_PER_TOKEN]
        output_tokens = max_tokens
        stop_reason = "max_tokens"
    return _message(msg_id, model, [{"type": "text", "text": text}], stop_reason, input_tokens,
                    output_tokens)


def _structured(msg_id: str, seed: ReplySeed) -> dict[str, Any]:
    model, input_tokens, max_tokens, _chars, crc, _snippet, spec = seed[:7]
    tool_id = "toolu_01" + msg_id[6:]
    content, tool_call = shapes.blocks(spec, tool_id, crc, reply_text(seed))
    chars = sum(map(shapes.size, content))
    output_tokens = max(1, tokens(chars))
    stop_reason = "tool_use" if tool_call else "end_turn"
    if output_tokens > max_tokens:
        content = shapes.cut(content, max_tokens * CHARS_PER_TOKEN)
        output_tokens = max_tokens
        stop_reason = "max_tokens"
    return _message(msg_id, model, content, stop_reason, input_tokens, output_tokens)


def _message(
    msg_id: str, model: str, content: list[dict[str, Any]], stop_reason: str, input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "service_tier": "batch",
        },
    }

"""Estimates for a dry run: input tokens from text, and cost from a dated price table.

``prices.json`` (beside this module) holds standard per-million-token rates in USD, the date they
were taken and their sources; the Message Batches API bills 50% of them. A model missing from the
table gets no figure (None), never a guess. Token counts are estimates (characters / 4), and
output is priced at ``max_tokens``, so a cost is an upper bound on output and a rough guess on input
-- except for requests with server tools, whose output can exceed ``max_tokens`` (``output_note``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import orjson

ESTIMATE_NOTE = (
    "estimates: input tokens ~ characters/4 of system, message text and tools (images and PDFs "
    "not counted)"
)
#: Tools the API runs itself (types/*_tool_*param.py: web_search_*, web_fetch_*,
#: code_execution_*, tool_search_tool_*), and MCP servers: "A request that uses server tools can
#: call the model more than once, so usage.output_tokens can exceed max_tokens" (SDK 2.17
#: types/message_create_params.py; BATCHES_API.md 12.6).
SERVER_TOOL_PREFIXES = ("web_search_", "web_fetch_", "code_execution_", "tool_search_tool_")


def uses_server_tools(params: Mapping[str, Any]) -> bool:
    """Whether a request's output can exceed its ``max_tokens`` (server tools, MCP servers)."""
    tools = params.get("tools")
    if type(tools) is list and any(
        type(t) is dict and type(t.get("type")) is str and t["type"].startswith(SERVER_TOOL_PREFIXES)
        for t in tools
    ):
        return True
    return bool(params.get("mcp_servers"))


def output_note(server_tools: int = 0) -> str:
    """How output is priced, said truly: at max_tokens, an upper bound; or, when
    ``server_tools`` requests use server tools, not one (BATCHES_API.md 12.6)."""
    if not server_tools:
        return "output priced at max_tokens, an upper bound"
    return f"output priced at max_tokens, which is {not_a_bound(server_tools)}"


def not_a_bound(server_tools: int) -> str:
    return (f"not an upper bound: {server_tools:,} request{'s' * (server_tools != 1)} "
            f"use{'s' * (server_tools == 1)} server tools, which can call the model more than "
            "once and produce more output than max_tokens")


@cache
def price_table() -> dict[str, Any]:
    """The whole table: ``as_of``, ``batch_discount``, ``sources``, ``models``."""
    return json.loads(resources.files("batchctl.core.catalog").joinpath("prices.json").read_text("utf-8"))


def long_prompt_limit(model: str, table: Mapping[str, Any] | None = None) -> float:
    """The prompt size (input + cache write + cache read tokens) above which a request of
    ``model`` is billed at its ``long_prompt`` rates; infinite for a model without that tier."""
    price = (table or price_table())["models"].get(model) or {}
    long = price.get("long_prompt")
    return float(long.get("over_tokens", math.inf)) if isinstance(long, dict) else math.inf


def cost(
    model: str, tokens: Mapping[str, int], *, long: bool = False,
    table: Mapping[str, Any] | None = None,
) -> float | None:
    """The one cost formula of batchctl (the dry run, --max-cost and the results summary all
    use it): USD at batch rates for the token totals of requests of ``model`` (keys as in
    ``usage_cost``), at its long-prompt rates if ``long`` (requests whose prompt is over
    ``long_prompt_limit``); None for a model the table does not know."""
    price = (table or price_table())["models"].get(model)
    if price is None:
        return None
    tier = price.get("long_prompt")
    rates = {**price, **tier} if long and isinstance(tier, dict) else price
    return usage_cost(rates, tokens, table)


def batch_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """USD at batch rates for these input and output tokens at the standard rates (``cost``),
    or None for a model the table does not know."""
    return cost(model, {"input_tokens": input_tokens, "output_tokens": output_tokens})


def cost_summary(
    models: Mapping[str, int],
    input_tokens: Mapping[str, int],
    output_tokens: Mapping[str, int],
    long_tokens: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """Per-model and total estimates; unknown models are listed and left out of the total.
    ``long_tokens``: per model, the (input, output) tokens of the requests over its long-prompt
    limit (included in the totals), priced at the long-prompt rates."""
    rows = []
    total = 0.0
    unknown = []
    for model in sorted(models, key=lambda m: (-models[m], m)):
        long_in, long_out = (long_tokens or {}).get(model, (0, 0))
        cost = _tiers_cost(model, input_tokens.get(model, 0), output_tokens.get(model, 0),
                           long_in, long_out)
        if cost is None:
            unknown.append(model)
        else:
            total += cost
        rows.append({
            "model": model,
            "requests": models[model],
            "est_input_tokens": input_tokens.get(model, 0),
            "max_output_tokens": output_tokens.get(model, 0),
            "est_cost_usd": None if cost is None else round(cost, 10),
        })
    priced = len(unknown) < len(rows)
    return {
        "models": rows,
        "est_cost_usd": round(total, 10) if priced else None,
        "unpriced_models": unknown,
        "prices_as_of": price_table()["as_of"],
    }


def _tiers_cost(
    model: str, input_tokens: int, output_tokens: int, long_in: int, long_out: int
) -> float | None:
    standard = cost(model, {"input_tokens": input_tokens - long_in,
                            "output_tokens": output_tokens - long_out})
    if standard is None or not (long_in or long_out):
        return standard
    return standard + (cost(model, {"input_tokens": long_in, "output_tokens": long_out},
                            long=True) or 0.0)


def _json_len(value: Any) -> int:
    """Length of ``value`` as JSON; for values nested deeper than orjson writes (254 levels),
    the characters of its strings, counted without recursion."""
    try:
        return len(orjson.dumps(value))
    except TypeError:
        total, stack = 0, [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                total += len(item)
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
        return total


def _chars(value: Any) -> int:
    """Characters of text in a system prompt, message content or block list.

    Iterative, not recursive: a request file may nest lists as deep as the JSON reader allows
    (1,024 levels), more than Python's recursion limit.
    """
    total, stack = 0, [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            kind = value.get("type")
            if kind == "tool_use":
                total += _json_len(value.get("input"))
            elif kind == "tool_result":
                stack.append(value.get("content"))
            elif kind == "document":
                source = value.get("source")
                if isinstance(source, dict):
                    text_source = source.get("type") == "text"
                    stack.append(source.get("data") if text_source else value.get("content"))
            else:
                text = value.get("text")
                total += len(text) if isinstance(text, str) else 0
    return total


def estimate_input_tokens(params: Mapping[str, Any]) -> int:
    """An estimate, not a count: characters / 4 over system, message text and tool definitions."""
    system = params.get("system")
    chars = len(system) if type(system) is str else _chars(system)
    for message in params.get("messages") or ():
        if type(message) is dict:
            content = message.get("content")
            chars += len(content) if type(content) is str else _chars(content)
    tools = params.get("tools")
    if tools:
        chars += _json_len(tools)
    return math.ceil(chars / 4)


# -- actual usage (results summaries) -------------------------------------------------------------

def load_price_table(path: str | Any, name: str = "prices") -> dict[str, Any]:
    """The built-in table with the models of a ``prices.json``-shaped file added or replaced
    (``name``: how the caller names the option that gave it, for messages).

    The file needs a ``models`` object of ``{model: {"input": ..., "output": ..., ...}}`` (USD per
    million tokens, standard rates); ``batch_discount`` and ``as_of`` are optional. A file that
    cannot be used raises UsageError (exit 2) saying why.
    """
    from batchctl.core.catalog.tables import read_models
    from batchctl.core.errors import UsageError

    data, models = read_models(
        str(path), name,
        '{"models": {MODEL: {"input": ..., "output": ...}}} like the built-in prices.json')
    for model, rates in models.items():
        if not isinstance(rates, dict) or not all(
            isinstance(rates.get(k), (int, float)) and not isinstance(rates.get(k), bool)
            and rates[k] >= 0 for k in ("input", "output")
        ):
            raise UsageError(f"{name} {path}: model {model!r} needs numbers >= 0 for "
                             "input and output (USD per million tokens)")
    discount = data.get("batch_discount", price_table()["batch_discount"])
    if not isinstance(discount, (int, float)) or not 0 < discount <= 1:
        raise UsageError(f"{name} {path}: batch_discount must be a number in (0, 1]")
    base = price_table()
    return {
        **base,
        "as_of": str(data.get("as_of") or base["as_of"]),
        "batch_discount": discount,
        "source_file": str(path),
        "models": {**base["models"], **models},
    }


def usage_cost(rates: Mapping[str, Any], tokens: Mapping[str, int],
               table: Mapping[str, Any] | None = None) -> float:
    """USD at batch rates for token totals (``input_tokens``, ``output_tokens``,
    ``cache_write_tokens`` (5-minute), ``cache_write_1h_tokens``, ``cache_read_tokens``).
    A cache rate missing from ``rates`` falls back to the usual multiples of the input rate
    (1.25x, 2x, 0.1x)."""
    rate_in = rates["input"]
    standard = (
        tokens.get("input_tokens", 0) * rate_in
        + tokens.get("output_tokens", 0) * rates["output"]
        + tokens.get("cache_write_tokens", 0) * rates.get("cache_write", rate_in * 1.25)
        + tokens.get("cache_write_1h_tokens", 0) * rates.get("cache_write_1h", rate_in * 2.0)
        + tokens.get("cache_read_tokens", 0) * rates.get("cache_read", rate_in * 0.1)
    )
    return standard / 1_000_000 * (table or price_table())["batch_discount"]

"""Estimates for a dry run: input tokens from text, and cost from a dated price table.

``prices.json`` (beside this module) holds standard per-million-token rates in USD, the date they
were taken and their sources; the Message Batches API bills 50% of them. A model missing from the
table gets no figure (None), never a guess. Token counts are estimates (characters / 4), and
output is priced at ``max_tokens``, so a cost is an upper bound on output and a rough guess on input.
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
    "not counted); output priced at max_tokens, an upper bound"
)


@cache
def price_table() -> dict[str, Any]:
    """The whole table: ``as_of``, ``batch_discount``, ``sources``, ``models``."""
    return json.loads(resources.files("batchctl.core").joinpath("prices.json").read_text("utf-8"))


def model_price(model: str) -> dict[str, Any] | None:
    """Standard rates (USD per million tokens) of one model id, or None if it is not in the table."""
    return price_table()["models"].get(model)


def batch_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """USD at batch rates for these token counts, or None for a model the table does not know."""
    price = model_price(model)
    if price is None:
        return None
    standard = input_tokens * price["input"] + output_tokens * price["output"]
    return standard / 1_000_000 * price_table()["batch_discount"]


def cost_summary(
    models: Mapping[str, int],
    input_tokens: Mapping[str, int],
    output_tokens: Mapping[str, int],
) -> dict[str, Any]:
    """Per-model and total estimates; unknown models are listed and left out of the total."""
    rows = []
    total = 0.0
    unknown = []
    for model in sorted(models, key=lambda m: (-models[m], m)):
        cost = batch_cost(model, input_tokens.get(model, 0), output_tokens.get(model, 0))
        if cost is None:
            unknown.append(model)
        else:
            total += cost
        rows.append({
            "model": model,
            "requests": models[model],
            "est_input_tokens": input_tokens.get(model, 0),
            "max_output_tokens": output_tokens.get(model, 0),
            "est_cost_usd": None if cost is None else round(cost, 6),
        })
    priced = len(unknown) < len(rows)
    return {
        "models": rows,
        "est_cost_usd": round(total, 6) if priced else None,
        "unpriced_models": unknown,
        "prices_as_of": price_table()["as_of"],
    }


def _chars(value: Any) -> int:
    """Characters of text in a system prompt, message content or block list."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_chars(item) for item in value)
    if not isinstance(value, dict):
        return 0
    kind = value.get("type")
    if kind == "tool_use":
        return len(orjson.dumps(value.get("input")))
    if kind == "tool_result":
        return _chars(value.get("content"))
    if kind == "document":
        source = value.get("source")
        if isinstance(source, dict) and source.get("type") == "text":
            return _chars(source.get("data"))
        return _chars(value.get("content")) if isinstance(source, dict) else 0
    text = value.get("text")
    return len(text) if isinstance(text, str) else 0


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
        chars += len(orjson.dumps(tools))
    return math.ceil(chars / 4)

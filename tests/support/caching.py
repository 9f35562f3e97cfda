"""Requests for the caching tests: a long shared document and questions about it."""

from __future__ import annotations

from typing import Any

from batchctl.core.caching.planner import Grouping, Planner

SONNET = "claude-sonnet-4-6"  # minimum 1,024 tokens; $3 input, $15 output, 1h write $6, read $0.30
HAIKU = "claude-haiku-4-5"  # minimum 4,096 tokens
DOC = "The committee met on the fourth day. " * 400  # 14,800 characters: 3,700 tokens
SYSTEM = "You answer questions about the document, in one sentence."  # 58 characters: 15 tokens
EPH = {"type": "ephemeral"}
HOUR = {"type": "ephemeral", "ttl": "1h"}


def text(body: str, marker: dict | None = None) -> dict[str, Any]:
    return {"type": "text", "text": body, **({"cache_control": marker} if marker else {})}


def ask(question: str, *, model: str = SONNET, doc: str = DOC, max_tokens: int = 100,
        **params: Any) -> dict[str, Any]:
    """A request: the system prompt, then one user message of the document and the question."""
    return {"model": model, "max_tokens": max_tokens, "system": SYSTEM,
            "messages": [{"role": "user", "content": [text(doc), text(question)]}], **params}


def questions(count: int, **params: Any) -> list[dict[str, Any]]:
    return [ask(f"Question {i}: who spoke at the meeting?", **params) for i in range(count)]


def grouped(requests: list[dict[str, Any]], **finish: Any) -> Grouping:
    planner = Planner()
    for line, params in enumerate(requests, 1):
        planner.add(params, line)
    return planner.finish(**finish)

"""Helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import request

NEW_VERSION = "2026-10-21"
OLD_VERSION = "2023-06-01"
#: What a raw HTTP client must send to every endpoint: a key and an anthropic-version
#: (BATCHES_API.md 12.5), here as a JSON client.
RAW_HEADERS = {"x-api-key": "k", "anthropic-version": OLD_VERSION, "content-type": "application/json"}


def requests_for(count: int, prefix: str = "req", **params: Any) -> list[dict[str, Any]]:
    """``count`` valid requests ``{prefix}-0`` ... with a distinct user message each."""
    params = {"model": "claude-haiku-4-5", "max_tokens": 256, **params}
    return [
        request(f"{prefix}-{i}", f"Question number {i}: what is {i}+{i}?", **params)
        for i in range(count)
    ]

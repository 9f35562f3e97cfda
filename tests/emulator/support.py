"""Helpers shared by the emulator tests."""

from __future__ import annotations

from typing import Any

NEW_VERSION = "2026-10-21"
OLD_VERSION = "2023-06-01"


def requests_for(count: int, prefix: str = "req", **params: Any) -> list[dict[str, Any]]:
    """``count`` valid requests ``{prefix}-0`` ... with a distinct user message each."""
    base: dict[str, Any] = {"model": "claude-test-1", "max_tokens": 256}
    base.update(params)
    return [
        {
            "custom_id": f"{prefix}-{i}",
            "params": {
                **base,
                "messages": [{"role": "user", "content": f"Question number {i}: what is {i}+{i}?"}],
            },
        }
        for i in range(count)
    ]

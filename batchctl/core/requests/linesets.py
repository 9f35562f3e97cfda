"""Sets of line numbers as the store keeps them (JSON ranges, ``[[1,3],[7,7]]``), and the role
they give a part: the warm-up's ``only_lines`` (core/requests/warmup.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson


def line_ranges(lines: Iterable[int]) -> str | None:
    """Line numbers as JSON ranges (``[[1,3],[7,7]]``), as the store keeps them; none: None."""
    out: list[list[int]] = []
    for n in sorted(lines):
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return orjson.dumps(out).decode() if out else None


def line_set(text: str | None) -> frozenset[int]:
    """The line numbers ``line_ranges`` wrote (empty for None)."""
    if not text:
        return frozenset()
    return frozenset(n for first, last in orjson.loads(text) for n in range(first, last + 1))


WARMUP_ROLE = "warm-up"  # a record's "role": how status, wait and submit label the part


def role(row: Mapping[str, Any] | None) -> str | None:
    """A stored part's or batch's role in its job: WARMUP_ROLE for the warm-up, else None."""
    return WARMUP_ROLE if row is not None and row.get("only_lines") is not None else None

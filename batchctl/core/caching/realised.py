"""What caching did, read from a job's results: tokens read and written, the token-weighted hit
rate, the cost and the saving against the same usage without caching, at batch prices; and the
groups where caching did not work.

A result's ``usage`` (types/usage.py, types/cache_creation.py; CACHING.md, "What usage reports"):
``input_tokens`` is only what follows the last marker, ``cache_creation_input_tokens`` and
``cache_read_input_tokens`` the written and read prefix, and ``cache_creation`` splits the writes
into ``ephemeral_5m_input_tokens`` and ``ephemeral_1h_input_tokens``; the prompt is their sum.
Usage comes from the server: a value that is not a whole number >= 0 counts as 0.

The *hit rate* is token-weighted: of the prompt tokens that went through the cache (read or
written), the share that was read; None when none did. The cost is the price table's at batch
rates (core/catalog/prices.py ``cost``, long-prompt tiers included) over the priced models (None
when none is); without caching, the same prompt tokens are all plain input. ``cache_figures``
computes them from token buckets, for ``Savings`` per group and for a results summary
(core/results/summary.py) for the job. A group is flagged:

* ``no_cache``: every result of it came back with both cache fields 0, which is what a prefix
  under the model's minimum gives (no error is ever returned for it);
* ``writes_outnumber_reads``: more tokens written than read (WRITE_READ_RATIO). At a 50% hit rate
  the 1-hour TTL already costs more than not caching (w = 2, r = 0.1: break-even 53%), so such a
  group lost money; the usual cause is a marker on a block that varies, or requests processed
  together before the first write could be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from batchctl.core.catalog import prices

WRITE_READ_RATIO = 1.0  # a group whose write tokens exceed this times its read tokens is flagged
NO_CACHE = "no_cache"
WRITES_OUTNUMBER_READS = "writes_outnumber_reads"
_KEYS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
         "cache_read_tokens")


def usage_tokens(usage: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """``(input, output, 5-minute write, 1-hour write, read)`` tokens of one result's usage."""
    written = _count(usage.get("cache_creation_input_tokens"))
    detail = usage.get("cache_creation")
    hour = min(_count(detail.get("ephemeral_1h_input_tokens")), written) if type(detail) is dict else 0
    return (_count(usage.get("input_tokens")), _count(usage.get("output_tokens")), written - hour,
            hour, _count(usage.get("cache_read_input_tokens")))


def _count(value: Any) -> int:
    return value if type(value) is int and value >= 0 else 0


class Savings:
    """Results added one at a time (``add``); ``as_dict`` for the figures."""

    def __init__(self, table: Mapping[str, Any] | None = None) -> None:
        self.table = table
        # (group or -1, model, long-prompt tier) -> [requests, in, out, w5m, w1h, read, uncached]
        self._buckets: dict[tuple[int, str, bool], list[int]] = {}
        self._limits: dict[str, float] = {}

    def add(self, model: str, usage: Mapping[str, Any], group: int | None = None) -> None:
        """One succeeded result of ``model``; ``group``: the plan's group of its request."""
        tokens = usage_tokens(usage)
        limit = self._limits.get(model)
        if limit is None:
            limit = self._limits[model] = prices.long_prompt_limit(model, self.table)
        prompt = tokens[0] + tokens[2] + tokens[3] + tokens[4]
        key = (-1 if group is None else group, model, prompt > limit)
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = [0, 0, 0, 0, 0, 0, 0]
        b[0] += 1
        for k in range(5):
            b[k + 1] += tokens[k]
        b[6] += not (tokens[2] or tokens[3] or tokens[4])

    def as_dict(self) -> dict[str, Any]:
        """The job's figures (``cache_hit_rate``, ``saved_usd`` beside the token counts), and
        per group its own with its flags."""
        groups = sorted({gid for gid, _, _ in self._buckets if gid >= 0})
        return {**self._figures(None),
                "groups": [{"group": gid, **self._figures(gid)} for gid in groups]}

    def _figures(self, group: int | None) -> dict[str, Any]:
        rows = [(model, long, b) for (gid, model, long), b in self._buckets.items()
                if group is None or gid == group]
        figures = {"requests": sum(b[0] for _, _, b in rows), **cache_figures(rows, self.table)}
        if group is not None:
            flags = []
            if figures["requests"] and sum(b[6] for _, _, b in rows) == figures["requests"]:
                flags.append(NO_CACHE)
            if figures["cache_creation_input_tokens"] > WRITE_READ_RATIO * figures[
                    "cache_read_input_tokens"]:
                flags.append(WRITES_OUTNUMBER_READS)
            figures["flags"] = flags
        return figures


def cache_figures(rows: Iterable[tuple[str, bool, Sequence[int]]],
                  table: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The cache figures of token buckets ``(model, long-prompt tier, [requests, input, output,
    5-minute write, 1-hour write, read])``, as a results summary keeps them: tokens read and
    written, the hit rate, and the cost with and without caching over the priced models (None
    when no model is priced)."""
    read = written = 0
    cost = without = 0.0
    priced = False
    for model, long, b in rows:
        read += b[5]
        written += b[3] + b[4]
        with_cache = prices.cost(model, dict(zip(_KEYS, b[1:6], strict=True)), long=long,
                                 table=table)
        plain = prices.cost(model, {"input_tokens": b[1] + b[3] + b[4] + b[5],
                                    "output_tokens": b[2]}, long=long, table=table)
        if with_cache is None or plain is None:
            continue
        priced = True
        cost += with_cache
        without += plain
    return {
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": written,
        "cache_hit_rate": round(read / (read + written), 4) if read + written else None,
        "est_cost_usd": round(cost, 6) if priced else None,
        "cost_without_cache_usd": round(without, 6) if priced else None,
        "saved_usd": round(without - cost, 6) if priced else None,
    }

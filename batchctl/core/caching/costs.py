"""What a job costs as written and with a cache plan, at batch rates, and the hit rate at which
the plan starts to pay.

Prices are the dated table's (core/catalog/prices.py ``cost``, the one cost formula of batchctl):
a 5-minute write at 1.25x the model's input rate, a 1-hour write at 2x, a read at 0.1x (0.025x on
Fable 5.1 and Mythos 5.1, the late-2026 pricing page's exception, which the table carries), all
of it at the Batch API's 50% ("these multipliers stack with ... the Batch API discount": pricing
page; CACHING.md, "Prices"). Input tokens are the estimate (or the caller's exact counts); output
is priced at max_tokens, as the dry run does, so that the figures are the job's whole cost.

How a request is billed, marker by marker (CACHING.md, "How caching works", "What usage
reports"): a marker whose prefix is under the model's minimum caches nothing. Of the others, the
deepest whose prefix an earlier request wrote is a *hit*: everything up to it is read; the
prefix from there to the last marker is written (each stretch at the TTL of the marker that ends
it); the rest is plain input. With hit rate h, each request reads with probability h and
otherwise writes everything up to its last marker, so every figure is linear in h:
cost(h) = cost(no hit) + h * (cost(best) - cost(no hit)). *Best* is one write per prefix (its
first request, in file order) and a read for every other; *30%* is the batch page's low end
("users typically experience cache hit rates ranging from 30% to 98%").

*As written* honours the markers in the file; *planned* adds the plan's 1-hour markers (where
place.decide lets them go). The break-even hit rate is the h at which planned and as written cost
the same: for one group of n requests and a prefix of T tokens, n/(n-1) * (w-1)/(w-r), which tends
to the docs' (w-1)/(w-r) (about 53% for the 1-hour TTL, 22% for 5 minutes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batchctl.core.caching.minimums import MinimumTable
from batchctl.core.caching.place import decide
from batchctl.core.caching.planner import Grouping, Request
from batchctl.core.catalog import prices

LOW_HIT_RATE = 0.3  # the batch-processing page's low end of "30% to 98%"
AS_WRITTEN_HIT, AS_WRITTEN_MISS, PLANNED_HIT, PLANNED_MISS = range(4)
_KEYS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_write_1h_tokens",
         "cache_read_tokens")

Mark = tuple[int, bool, bool]  # prefix tokens, one hour?, written before (by an earlier request)?


def allocate(total: int, marks: Sequence[Mark], hit: bool) -> tuple[int, int, int, int]:
    """``(input, 5-minute write, 1-hour write, read)`` tokens of one request of ``total`` input
    tokens with these cacheable ``marks`` (in order); ``hit``: the deepest mark written before is
    read (else nothing is)."""
    read = start = 0
    if hit:
        for k in range(len(marks) - 1, -1, -1):
            if marks[k][2]:
                read, start = marks[k][0], k + 1
                break
    done = read
    five = hour = 0
    for tokens, one_hour, _ in marks[start:]:
        if tokens > done:
            if one_hour:
                hour += tokens - done
            else:
                five += tokens - done
            done = tokens
    return total - done, five, hour, read


def break_even(as_written: tuple[float, float], planned: tuple[float, float]) -> float | None:
    """The hit rate above which ``planned`` costs less than ``as_written`` (each given as
    (cost with no hit, best cost)): 0.0 if always, None if never."""
    at_zero, at_best = planned[0] - as_written[0], planned[1] - as_written[1]
    if at_best >= 0:
        return None
    if at_zero <= 0:
        return 0.0
    return round(at_zero / (at_zero - at_best), 4)


def formula(model: str, table: Mapping[str, Any] | None = None) -> float | None:
    """The docs' break-even for the 1-hour TTL, (w-1)/(w-r) in multiples of the input rate."""
    rates = (table or prices.price_table())["models"].get(model)
    if not rates or not rates.get("input"):
        return None
    w = rates.get("cache_write_1h", rates["input"] * 2) / rates["input"]
    r = rates.get("cache_read", rates["input"] * 0.1) / rates["input"]
    return round((w - 1) / (w - r), 4)


class Tally:
    """Token buckets per (group, model, long-prompt tier) for the four scenarios."""

    def __init__(self, grouping: Grouping, minimums: MinimumTable,
                 table: Mapping[str, Any] | None = None) -> None:
        self.grouping = grouping
        self.minimums = minimums
        self.table = table
        self.buckets: list[dict[tuple[int, str, bool], list[int]]] = [{}, {}, {}, {}]
        self.marked: dict[int, int] = {}  # group -> requests given the plan's marker
        self.skipped: dict[int, dict[str, int]] = {}  # group -> reason -> requests
        self._seen: tuple[set[bytes], set[bytes]] = (set(), set())
        self._limits: dict[str, tuple[float, int]] = {}

    def run(self) -> Tally:
        for request in self.grouping.requests():
            self.add(request)
        return self

    def add(self, request: Request) -> None:
        limit, minimum = self._model(request.model)
        total = request.total
        key = (request.group, request.model, total > limit)
        user = [*request.marks, *((request.top,) if request.top else ())]
        own = [(min(t, total), hour, ident) for _, hour, t, ident in user if t >= minimum]
        group = self.grouping.groups[request.group] if request.group >= 0 else None
        planned = list(own)
        if group is not None and group.planned:
            reason = decide([(d, h) for d, h, _, _ in request.marks],
                            None if request.top is None else request.top[1], request.depth,
                            group.breakpoint)
            if reason is None:
                self.marked[group.id] = self.marked.get(group.id, 0) + 1
                planned.append((min(group.tokens, total), True, group.identity))
                planned.sort(key=lambda m: m[0])
            else:
                counts = self.skipped.setdefault(group.id, {})
                counts[reason] = counts.get(reason, 0) + 1
        for scenario, marks in ((AS_WRITTEN_HIT, own), (PLANNED_HIT, planned)):
            seen = self._seen[scenario // 2]
            flagged = [(t, hour, ident in seen) for t, hour, ident in marks]
            seen.update(ident for _, _, ident in marks)
            self._add(scenario, key, allocate(total, flagged, True), request.max_tokens)
            self._add(scenario + 1, key, allocate(total, flagged, False), request.max_tokens)

    def cost(self, scenario: int, group: int | None = None) -> float | None:
        """USD of one scenario, for a group or (None) the whole job; None if a model is not
        in the price table."""
        total = 0.0
        for (gid, model, long), b in self.buckets[scenario].items():
            if group is not None and gid != group:
                continue
            value = prices.cost(model, dict(zip(_KEYS, b, strict=True)), long=long, table=self.table)
            if value is None:
                return None
            total += value
        return total

    def unpriced(self) -> list[str]:
        models = {model for (_, model, _) in self.buckets[AS_WRITTEN_HIT]}
        return sorted(m for m in models if prices.cost(m, {}, table=self.table) is None)

    def _add(self, scenario: int, key: tuple[int, str, bool], split: tuple[int, int, int, int],
             output: int) -> None:
        b = self.buckets[scenario].get(key)
        if b is None:
            b = self.buckets[scenario][key] = [0, 0, 0, 0, 0]
        b[0] += split[0]
        b[1] += output
        b[2] += split[1]
        b[3] += split[2]
        b[4] += split[3]

    def _model(self, model: str) -> tuple[float, int]:
        known = self._limits.get(model)
        if known is None:
            known = self._limits[model] = (prices.long_prompt_limit(model, self.table),
                                           self.minimums.minimum(model).tokens)
        return known

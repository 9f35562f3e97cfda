"""A cache plan's report: the groups and what the job costs as written and with the plan, as one
plain value; ``as_dict`` is what ``--json`` will show under its ``cache`` key.

``report(grouping)`` prices a ``Planner``'s groups (core/caching/costs.py says how) and makes
the ``CachePlan`` to record (core/caching/place.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from batchctl.core.caching.costs import (
    AS_WRITTEN_HIT,
    AS_WRITTEN_MISS,
    LOW_HIT_RATE,
    PLANNED_HIT,
    PLANNED_MISS,
    Tally,
    break_even,
    formula,
)
from batchctl.core.caching.minimums import MinimumTable, builtin_minimums
from batchctl.core.caching.place import TTL, CachePlan
from batchctl.core.caching.planner import Grouping
from batchctl.core.catalog import prices

NOTE = ("estimates: prefix and input tokens ~ characters/4 unless counted; output priced at "
        "max_tokens; best = one write per prefix and a read for every other request")


@dataclass(frozen=True)
class Costs:
    """USD with no hit and at best, as written and planned (None: a model is not priced)."""

    as_written: tuple[float, float] | None
    planned: tuple[float, float] | None

    def at(self, hit_rate: float, planned: bool) -> float | None:
        pair = self.planned if planned else self.as_written
        if pair is None:
            return None
        return round(pair[0] + hit_rate * (pair[1] - pair[0]), 6)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cost_as_written": self.at(1.0, False),
            "cost_as_written_30pct": self.at(LOW_HIT_RATE, False),
            "cost_planned_best": self.at(1.0, True),
            "cost_planned_30pct": self.at(LOW_HIT_RATE, True),
            "break_even_hit_rate": None if self.as_written is None or self.planned is None
            else break_even(self.as_written, self.planned),
        }


@dataclass
class CacheReport:
    """The plan of a job and its figures."""

    grouping: Grouping
    plan: CachePlan
    costs: Costs
    group_costs: list[Costs]
    marked: dict[int, int]
    skipped: dict[int, dict[str, int]]
    unpriced_models: list[str] = field(default_factory=list)
    minimums_as_of: str = ""
    prices_as_of: str | None = None
    table: Mapping[str, Any] | None = None

    @property
    def saving_best(self) -> float | None:
        written, planned = self.costs.at(1.0, False), self.costs.at(1.0, True)
        return None if written is None or planned is None else round(written - planned, 6)

    def as_dict(self) -> dict[str, Any]:
        groups = []
        for group, costs in zip(self.grouping.groups, self.group_costs, strict=True):
            groups.append({
                **group.as_dict(),
                "marked_requests": self.marked.get(group.id, 0),
                "skipped_requests": dict(sorted(self.skipped.get(group.id, {}).items())),
                **costs.as_dict(),
                "break_even_formula": formula(group.model, self.table),
            })
        return {
            "groups": groups,
            "breakpoints": len(self.plan.breakpoints),
            "marked_requests": sum(self.marked.values()),
            "ungrouped_requests": sum(1 for g in self.grouping.of_request if g < 0),
            "ttl": TTL,
            **self.costs.as_dict(),
            "saving_best": self.saving_best,
            "plan_digest": self.plan.digest(),
            "unpriced_models": self.unpriced_models,
            "minimums_as_of": self.minimums_as_of,
            "prices_as_of": self.prices_as_of,
            "note": NOTE,
        }


def report(grouping: Grouping, *, minimums: MinimumTable | None = None,
           table: Mapping[str, Any] | None = None) -> CacheReport:
    """Price ``grouping`` (a ``Planner.finish`` answer, finished with the same ``minimums``) at
    batch rates from ``table`` (default: the built-in prices)."""
    minimums = minimums or builtin_minimums()
    tally = Tally(grouping, minimums, table).run()

    def pair(miss: int, hit: int, group: int | None) -> tuple[float, float] | None:
        no_hit, best = tally.cost(miss, group), tally.cost(hit, group)
        return None if no_hit is None or best is None else (no_hit, best)

    def costs(group: int | None) -> Costs:
        return Costs(pair(AS_WRITTEN_MISS, AS_WRITTEN_HIT, group),
                     pair(PLANNED_MISS, PLANNED_HIT, group))

    return CacheReport(
        grouping=grouping,
        plan=CachePlan.from_grouping(grouping),
        costs=costs(None),
        group_costs=[costs(i) for i in range(len(grouping.groups))],
        marked=tally.marked,
        skipped=tally.skipped,
        unpriced_models=tally.unpriced(),
        minimums_as_of=minimums.as_of,
        prices_as_of=(table or prices.price_table()).get("as_of"),
        table=table,
    )

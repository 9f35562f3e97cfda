"""The cache groups of a job's results: which requests could share a cache and which carried a
marker, for a results summary to name the groups where caching did not work.

A result says its custom_id, model and usage, not what its request was, so the groups come from
the request lines (``ResultGroups.add``, in file order); a summary then asks ``of(custom_id)``
for each result. A job sent with a cache plan names its groups (the planner's Group ids,
given as ``key`` by core/results/sources.py ``cache_groups``); otherwise a group is what
requests share before their messages: the same model
(with the other root fields of core/caching/blocks.py), the same tool definitions and the same
system prompt, markers left out (``blocks.head_key``). The prefix order is tools, system,
messages and a change at one level invalidates it and all after it (CACHING.md, "How caching
works"), so requests of two groups never share an entry; requests of one group may share more
(a document in the first message) or less (a marker on a block that varies), and the group's
figures show which.

Only a group where at least one request carried a ``cache_control`` marker has a group in a
summary (``of`` answers None for the others): without a marker nothing is cached, and its results
count in the job's figures alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from batchctl.core.caching.blocks import head_key
from batchctl.core.caching.markers import has_markers
from batchctl.core.caching.minimums import builtin_minimums
from batchctl.core.caching.realised import NO_CACHE, Savings

NAMED = 20  # flagged groups listed in a summary (all are counted)


@dataclass
class Group:
    """Requests that could share a cache: ``id`` from 1 in the order first seen, the ``model``
    and the ``custom_id`` and ``line`` of the first of them; ``marked``: how many carried a
    marker."""

    id: int
    model: str
    custom_id: str
    line: int
    requests: int = 0
    marked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"group": self.id, "model": self.model, "first_custom_id": self.custom_id,
                "first_line": self.line, "requests": self.requests, "marked_requests": self.marked}


class ResultGroups:
    """The group of each request, by custom_id (``add``), then the results' figures per group
    (``result``, ``report``) at the prices of ``table`` (None: the built-in table)."""

    def __init__(self, table: Mapping[str, Any] | None = None) -> None:
        self.groups: list[Group] = []
        self._ids: dict[Hashable, int] = {}
        self._of: dict[str, int] = {}
        self.savings = Savings(table)
        self.marked = 0  # the requests that carried a marker: none, no result needs a look

    def add(self, custom_id: str, params: Any, line: int = 0, key: Hashable | None = None
            ) -> None:
        """One request (its ``params`` as sent), in file order; ``line``: where it is in its
        file; ``key``: its group's key, when something knows it better (a recorded plan's group
        id), else what it shares before its messages (``blocks.head_key``)."""
        if type(params) is not dict or custom_id in self._of:  # a retry's request: seen
            return
        if key is None:
            key = head_key(params)
        index = self._ids.get(key)
        if index is None:
            index = self._ids[key] = len(self.groups)
            self.groups.append(Group(index + 1, str(params.get("model")), custom_id, line))
        group = self.groups[index]
        group.requests += 1
        if has_markers(params):
            group.marked += 1
            self.marked += 1
        self._of[custom_id] = index

    def of(self, custom_id: Any) -> int | None:
        """The group id of the request ``custom_id`` when its group carried a marker, else None."""
        index = self._of.get(custom_id) if type(custom_id) is str else None
        if index is None or not self.groups[index].marked:
            return None
        return index + 1

    def group(self, gid: int) -> Group:
        return self.groups[gid - 1]

    def result(self, custom_id: Any, model: str, usage: Mapping[str, Any]) -> None:
        """One succeeded result: counted in its request's group, if that carried a marker."""
        gid = self.of(custom_id)
        if gid is not None:
            self.savings.add(model, usage, gid)

    def report(self) -> dict[str, Any]:
        """The requests that carried a marker, and the groups where caching did not work
        (realised.py's flags): how many, and the first ``NAMED`` of them, each with its figures
        (``results``: its succeeded results) and, for one where nothing was cached, its model's
        minimum cacheable length."""
        flagged = []
        for figures in self.savings.as_dict()["groups"]:
            if not figures["flags"]:
                continue
            group = self.group(figures["group"])
            entry = {**group.as_dict(), "results": figures["requests"],
                     **{k: figures[k] for k in _FIGURES}}
            if NO_CACHE in figures["flags"]:
                entry["min_cacheable_tokens"] = builtin_minimums().minimum(group.model).tokens
            flagged.append(entry)
        return {"cache_marked_requests": self.marked, "cache_groups_flagged": len(flagged),
                "cache_groups": flagged[:NAMED]}


_FIGURES = ("cache_read_input_tokens", "cache_creation_input_tokens", "cache_hit_rate",
            "est_cost_usd", "saved_usd", "flags")

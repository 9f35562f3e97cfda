"""Prompt caching in the one pass over a request file (core/requests/scan.py): the Planner fed as
the lines are checked, the plan's markers placed in the bodies sent, and the job's plan.

``Caching`` is what submit and run were asked (``--cache off|auto``, ``--cache-minimums``; a
retry's recorded plan). ``Feed`` takes each valid request from the scan as it goes:

* ``auto``, or a dry run: every request feeds a ``Planner`` (core/caching/planner.py), which holds
  a few numbers per request and never a body; its report and plan come out with the scan;
* ``off`` (a plain submit): only the first ``SAMPLE`` requests feed it, enough for the one line
  that names what caching would save (``hint``), at a cost the submit does not notice (planning
  every request costs about twice the scan itself: benchmarks/caching.py);
* a recorded plan (retry-failed): nothing is planned; each request is placed as it comes.

A warm-up (issue 20 item 3, core/requests/warmup.py) sends each planned group's first request
before the rest: ``CacheSummary.firsts`` names those lines (the planner's ``Group.first``), and
``encode`` gives the body each of them is sent with, markers placed as in the job.

The markers go only in the bodies sent: a line the plan marks is re-encoded (orjson) with its
marker, by ``encode``, the one function that both measures it (the scan's split) and sends it
(core/requests/body.py), so the sizes the split used are the bytes sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from batchctl.core.caching.minimums import MinimumTable, builtin_minimums, load_minimums
from batchctl.core.caching.place import CachePlan, place
from batchctl.core.caching.planner import ONE_REQUEST, Grouping, Planner
from batchctl.core.caching.report import CacheReport, report
from batchctl.core.flags import KEYS, Flags
from batchctl.core.requests.check import to_request

OFF, AUTO = "off", "auto"
MODES = (OFF, AUTO)
SAMPLE = 1_000  # requests planned by a plain submit, for the hint
HINT_SHARE = 0.10  # the hint is given when the plan would save more than this share of the cost


@dataclass(frozen=True)
class Caching:
    """``mode``: OFF or AUTO (``--cache``); ``minimums_file``: ``--cache-minimums``; ``plan``: a
    recorded plan (``CachePlan.record()``) placed as it is instead of planning (a retry);
    ``whole``: plan every request even when off (a dry run shows the report); ``given``: the
    mode was asked for (a plain submit, without it, gets the hint); ``warmup``: with AUTO,
    each planned group's first request is sent first, as a batch of its own
    (core/requests/warmup.py; ``--no-warmup``: False)."""

    mode: str = OFF
    minimums_file: str | None = None
    plan: Mapping[str, Any] | None = None
    whole: bool = False
    given: bool = False
    warmup: bool = True
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @classmethod
    def parse(cls, mode: str | None, minimums_file: str | None = None, *,
              warmup: bool = True, flags: Flags = KEYS) -> Caching:
        """``mode`` None: not given (OFF). UsageError (exit 2) for a mode that is not OFF or
        AUTO, or a minimums file that cannot be used (read here, so that it is refused before
        anything is sent)."""
        from batchctl.core.errors import UsageError

        if mode is not None and mode not in MODES:
            raise UsageError(f"{flags['cache']} must be one of {', '.join(MODES)}, not {mode!r}")
        if minimums_file is not None:
            load_minimums(minimums_file, flags["cache_minimums"])
        return cls(mode or OFF, minimums_file, given=mode is not None, warmup=warmup, flags=flags)

    @property
    def planning(self) -> bool:
        """Whether the scan feeds a planner: not for an explicit ``off`` outside a dry run."""
        return self.placing or self.whole or not self.given

    def minimums(self) -> MinimumTable:
        if self.minimums_file is None:
            return builtin_minimums()
        return load_minimums(self.minimums_file, self.flags["cache_minimums"])

    @property
    def placing(self) -> bool:
        """Whether markers go in the bodies sent."""
        return self.mode == AUTO or self.plan is not None


@dataclass
class CacheSummary:
    """What the scan found of caching: ``report`` (``CacheReport.as_dict``: the dry run's
    ``cache`` key), ``plan`` the plan placed in the bodies (its record; None: none is) and its
    ``digest`` ("" when none is: part of what makes a submit the same one), ``sample`` the
    requests planned when only a sample was; ``firsts`` the line of each planned group's first
    request, in group order (what a warm-up sends first). ``grouping`` stays in the process
    that scanned (a dry run finishes it again with counted tokens); it is not carried across
    the fork."""

    report: dict[str, Any] | None
    plan: dict[str, Any] | None
    digest: str
    sample: int | None = None
    grouping: Grouping | None = field(default=None, repr=False, compare=False)
    firsts: list[int] = field(default_factory=list)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "grouping": None}

    def hint(self, cost_as_written: float | None, flags: Flags = KEYS) -> str | None:
        """The one line naming what ``--cache auto`` would save, when that is over HINT_SHARE of
        the job's cost (``cost_as_written``, priced over every request); None otherwise."""
        rep = self.report
        if rep is None or self.plan is not None or not cost_as_written:
            return None
        written, best = rep["cost_as_written"], rep["cost_planned_best"]
        if not written or best is None or (written - best) / written <= HINT_SHARE:
            return None
        share = (written - best) / written
        rate = rep["break_even_hit_rate"]
        pays = f"; it pays above a {rate:.0%} hit rate" if rate else ""
        of = f" (planned over the first {self.sample:,} requests)" if self.sample else ""
        return (f"prompt caching could cut this job's estimated cost by {share:.0%}, about "
                f"${cost_as_written * share:,.2f} of ${cost_as_written:,.2f}, at best{of}{pays}: "
                f"add {flags['cache']} auto (a dry run shows the plan)")


class Feed:
    """Takes each valid request of the scan (``add``), then gives the scan's ``CacheSummary``
    (``finish``)."""

    def __init__(self, caching: Caching) -> None:
        self.caching = caching
        self.planner = Planner()
        self.limit = None if caching.whole or caching.mode == AUTO else SAMPLE
        self.given = CachePlan.from_record(dict(caching.plan)) if caching.plan is not None else None
        self.seen = 0

    def add(self, params: dict[str, Any], line_no: int, input_tokens: int) -> None:
        self.seen += 1
        if self.given is None and (self.limit is None or self.seen <= self.limit):
            self.planner.add(params, line_no, input_tokens)

    def finish(self) -> tuple[CacheSummary, CachePlan | None]:
        """The summary, and the plan to place in the bodies (None: no marker is placed)."""
        if self.given is not None:
            record = self.given.record()
            return CacheSummary(None, record, self.given.digest()), self.given
        minimums = self.caching.minimums()
        grouping = self.planner.finish(minimums)
        found = report(grouping, minimums=minimums)
        sample = len(self.planner) if self.limit is not None and self.seen > self.limit else None
        if self.caching.mode != AUTO:
            return CacheSummary(found.as_dict(), None, "", sample, grouping), None
        firsts = [g.first for g in grouping.groups if g.planned]
        return (CacheSummary(found.as_dict(), found.plan.record(), found.plan.digest(), None,
                             grouping, firsts), found.plan)


def candidates(grouping: Grouping) -> set[int]:
    """The lines (keys) ``place`` may mark: a request in a planned group, or in a group of one
    (it may start with another group's planned prefix). The others share no planned prefix."""
    groups = grouping.groups
    keys = grouping.planner.keys
    return {keys[i] for i, g in enumerate(grouping.of_request)
            if g >= 0 and (groups[g].planned or groups[g].reason == ONE_REQUEST)}


def encode(line: bytes, plan: CachePlan | None) -> tuple[bytes, bool]:
    """A request line as it is sent when it is not copied byte for byte: the API's request
    object (orjson), with the plan's marker when ``place`` adds one; and whether it did."""
    request = to_request(orjson.loads(line))
    if plan is not None:
        placed = place(request["params"], plan)
        if placed.at is not None:
            return orjson.dumps({"custom_id": request["custom_id"], "params": placed.body}), True
    return orjson.dumps(request), False


def job_plan(job: Mapping[str, Any]) -> CachePlan | None:
    """The plan a job recorded (store column ``cache_plan``), or None."""
    text = job.get("cache_plan")
    return CachePlan.from_record(json.loads(text)) if text else None


def refit(summary: CacheSummary, counted: Mapping[int, int], caching: Caching) -> CacheReport | None:
    """The report again with exact prefix tokens (group id -> tokens, from count-tokens)."""
    if summary.grouping is None:
        return None
    minimums = caching.minimums()
    grouping = summary.grouping.planner.finish(minimums, prefix_tokens=counted)
    return report(grouping, minimums=minimums)

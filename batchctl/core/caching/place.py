"""A cache plan put into the bodies sent: one ``{"type": "ephemeral", "ttl": "1h"}`` marker at the
end of each group's shared prefix.

The rules (issue 20 item 2; CACHING.md, "How caching works"):

* never in the user's file: ``place`` returns a new body and leaves the one it is given as it was;
* at most 4 markers per request, counting the user's own and a top-level ``cache_control``;
* 1-hour markers before 5-minute ones: never after a user's 5-minute marker (the API refuses a
  ``ttl='1h'`` block after a ``ttl='5m'`` one), nor on the last block when a top-level
  ``cache_control`` (which goes there) is set;
* never on a thinking or an empty block, never where the prefix is under the model's minimum
  (the planner chose the block and left such groups out);
* a request's own markers stay as written: the plan only adds, and adds nothing on a block the
  user marked already.

A skipped request says why (``Placed.skipped``). The 1-hour TTL is the docs' advice for batches,
which can take longer than 5 minutes (batch-processing page, CACHING.md "Caching inside batches").

A ``CachePlan`` is what a job records: the identity of each marked prefix (blocks.chain: the
model and the content hashes, not the token estimates), its depth and group. The same file and
the same options give the same plan (``digest``) and the same bodies, byte for byte, so a
retry-failed, a resumed run or a re-submit send what the first submit sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence as Seq
from dataclasses import dataclass
from typing import Any

import orjson

from batchctl.core.caching.blocks import RECORD, SYSTEM, TOOLS, chains, field_of, sequence, unpack
from batchctl.core.caching.markers import MAX_MARKERS
from batchctl.core.caching.planner import Grouping

VERSION = 1  # of the plan's record and of the way markers are placed
TTL = "1h"
MARKER = {"type": "ephemeral", "ttl": TTL}

ALREADY_MARKED = "already_marked"  # the user's marker is on the block: nothing to add
FOUR_MARKERS = "four_markers"  # the request has 4 markers already (a top-level one counted)
AFTER_FIVE_MINUTES = "after_5m_marker"  # a user's 5-minute marker comes before the block
TOP_LEVEL_ON_BLOCK = "top_level_on_block"  # the block is the last one, where the top-level one goes


def decide(marks: Seq[tuple[int, bool]], top: bool | None, last: int, depth: int) -> str | None:
    """Why a marker cannot be added at ``depth`` to a request with these markers (``marks``:
    (depth, one hour?) of each on a block; ``top``: a top-level one's TTL, on position
    ``last``), or None: it can."""
    if any(d == depth for d, _ in marks):
        return ALREADY_MARKED
    if len(marks) + (top is not None) >= MAX_MARKERS:
        return FOUR_MARKERS
    if any(d < depth and not hour for d, hour in marks):
        return AFTER_FIVE_MINUTES
    if top is not None and depth == last:
        return TOP_LEVEL_ON_BLOCK
    return None


@dataclass(frozen=True)
class Placed:
    """What ``place`` did: ``body`` to send (the same object when nothing was added), the
    ``group`` (id) the request is in, ``at`` where the marker was added, ``skipped`` why not."""

    body: dict[str, Any]
    group: int | None = None
    at: str | None = None
    skipped: str | None = None


class CachePlan:
    """The markers a job adds: per marked prefix (its 16-byte identity), its depth and group."""

    def __init__(self, breakpoints: dict[bytes, tuple[int, int]], ttl: str = TTL) -> None:
        self.breakpoints = breakpoints
        self.ttl = ttl
        self._deepest = max((d for d, _ in breakpoints.values()), default=0)

    @classmethod
    def from_grouping(cls, grouping: Grouping) -> CachePlan:
        """The plan of the groups that are planned (not under the minimum, not alone)."""
        return cls({g.identity: (g.breakpoint, g.id) for g in grouping.groups if g.planned})

    def record(self) -> dict[str, Any]:
        """The plan as JSON-ready data, to record with the job."""
        rows = sorted(({"prefix": key.hex(), "depth": depth, "group": group}
                       for key, (depth, group) in self.breakpoints.items()),
                      key=lambda row: (row["group"], row["prefix"]))
        return {"version": VERSION, "ttl": self.ttl, "breakpoints": rows}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> CachePlan:
        """A plan from ``record()``'s data; ValueError for data of another version or shape."""
        if record.get("version") != VERSION or record.get("ttl") != TTL:
            raise ValueError(f"a cache plan of version {record.get('version')!r}, not {VERSION}")
        try:
            return cls({bytes.fromhex(row["prefix"]): (int(row["depth"]), int(row["group"]))
                        for row in record["breakpoints"]})
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a cache plan that cannot be read: {exc}") from None

    def digest(self) -> str:
        """sha256 of the record: equal for plans that place the same markers."""
        return hashlib.sha256(orjson.dumps(self.record(), option=orjson.OPT_SORT_KEYS)).hexdigest()

    def find(self, root: bytes, records: bytes) -> tuple[int, int] | None:
        """(depth, group) of the deepest planned prefix a request's ``records`` start with."""
        found = None
        for depth, identity in enumerate(chains(root, records[:self._deepest * RECORD]), 1):
            hit = self.breakpoints.get(identity)
            if hit is not None and hit[0] == depth:
                found = hit
        return found


def place(params: dict[str, Any], plan: CachePlan) -> Placed:
    """The body to send for one request under ``plan``: a new dict with the plan's marker added
    at the end of its group's prefix, sharing the untouched parts with ``params`` (which is not
    changed); ``params`` itself when the request is in no planned group or is skipped."""
    seq = sequence(params, 0)
    hit = plan.find(seq.root, seq.records)
    if hit is None:
        return Placed(params)
    depth, group = hit
    _, section, index, block, can_mark = unpack(seq.records[(depth - 1) * RECORD:depth * RECORD])
    reason = decide(seq.marks, seq.top, seq.depth, depth)
    if reason is None and not can_mark:  # the plan names a block of another shape: never guess
        reason = "not_markable"
    if reason is not None:
        return Placed(params, group, skipped=reason)
    return Placed(_with_marker(params, section, index, block), group, field_of(section, index, block))


def _with_marker(params: dict[str, Any], section: int, index: int, block: int) -> dict[str, Any]:
    """A copy of ``params`` with a marker on one block; a string system or message content
    becomes one text block to carry it. Only the dicts and lists on the way are copied."""
    body = dict(params)
    if section == TOOLS:
        body["tools"] = _marked_in(body["tools"], index)
    elif section == SYSTEM:
        body["system"] = _marked_in(body["system"], index)
    else:
        messages = list(body["messages"])
        message = dict(messages[index])
        message["content"] = _marked_in(message["content"], block)
        messages[index] = message
        body["messages"] = messages
    return body


def _marked_in(blocks: Any, index: int) -> list[Any]:
    if type(blocks) is str:
        return [{"type": "text", "text": blocks, "cache_control": dict(MARKER)}]
    out = list(blocks)
    out[index] = {**out[index], "cache_control": dict(MARKER)}
    return out

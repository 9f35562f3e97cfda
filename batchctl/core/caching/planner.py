"""Groups of requests that can share a cache, and the longest prefix each group shares.

Requests can share a cache entry when they have the same *root* (the model, and the fields that
share nothing when they differ) and the same prefix in the cache's order: tools, system, the
settings that split the message part (tool_choice, thinking, effort...), messages
(core/caching/blocks.py says which fields and why). A ``Planner`` is fed the requests one by one
(``add``: each is read once, hashed and forgotten) and counts their position records in a radix
trie (core/caching/trie.py). ``finish`` then gives the groups: a *group* is the requests whose
longest prefix shared with at least one other request ends at the same place. Its breakpoint is
the last block of that prefix a marker may go on (not thinking, not empty), at block granularity:
a tool definition, a system block, a message content block. Requests that share no block a
marker may go on (at most the settings position) are in no group.

Memory: the trie (an edge of 28 bytes a position for what is not shared), and a few numbers per
request; never a body. The prefix's tokens are the estimate (characters/4, summed block by block)
unless the caller gives an exact count (``prefix_tokens``, e.g. from count_tokens).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from batchctl.core.caching.blocks import MESSAGES, RECORD, SYSTEM, TOOLS, chain, field_of, sequence, unpack
from batchctl.core.caching.minimums import Minimum, MinimumTable, builtin_minimums
from batchctl.core.caching.trie import Node, Trie, anchor, last_markable, path

UNDER_MINIMUM = "under_minimum"  # the prefix is shorter than the model's minimum cacheable length
# A group of one request: its prefix is shared only with requests that share a longer one with
# each other (and are marked there). Its entry would be written and never read.
ONE_REQUEST = "one_request"

# A user's marker: (depth, one hour?, prefix tokens, prefix identity); a top-level one is at the
# last position.
UserMark = tuple[int, bool, int, bytes]


@dataclass
class Group:
    """Requests that share a prefix: ``first`` is the caller's key of the first of them (a line
    number), ``depth`` the positions shared, ``breakpoint`` the depth of the block the marker goes
    on and ``at`` where that is (``system.0``, ``messages.0.content.1``), ``blocks`` how many
    tool definitions, system blocks and message blocks the marked prefix holds, ``tokens`` its
    input tokens (``tokens_source``: "estimate" or "count"), ``minimum`` the model's minimum
    cacheable length. ``reason`` says why no marker is planned (None: one is)."""

    id: int
    model: str
    first: int
    minimum: Minimum
    requests: int = 0
    depth: int = 0
    breakpoint: int = 0
    at: str | None = None
    blocks: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    tokens_source: str = "estimate"
    identity: bytes = b""  # the marked prefix's identity (blocks.chain), for the recorded plan
    reason: str | None = None

    @property
    def planned(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "model": self.model, "requests": self.requests, "first": self.first,
            "shared_positions": self.depth, "at": self.at, "prefix_blocks": dict(self.blocks),
            "prefix_tokens": self.tokens, "tokens_source": self.tokens_source,
            "min_cacheable_tokens": self.minimum.tokens, "minimum_source": self.minimum.source,
            "planned": self.planned, "reason": self.reason,
        }


@dataclass
class Request:
    """What the plan's costs need of one request, made again from a few numbers kept per request."""

    index: int
    model: str
    group: int  # its group's place in Grouping.groups (the id less 1); -1: in no group
    total: int  # input tokens
    max_tokens: int
    depth: int  # positions
    marks: tuple[UserMark, ...]  # the user's markers on blocks, in the cache's order
    top: UserMark | None  # a top-level cache_control: on the last position


@dataclass
class Grouping:
    """``finish``'s answer: the groups, and each request's group."""

    groups: list[Group]
    planner: Planner
    of_request: array = field(default_factory=lambda: array("i"))

    def requests(self) -> Iterator[Request]:
        """Every request, in the order added, made one at a time."""
        return self.planner.requests(self.of_request)


class Planner:
    """Feed it requests (``add``), then ``finish``."""

    def __init__(self) -> None:
        self._trie_list: list[Trie] = []
        self._trie_index: dict[bytes, int] = {}  # root -> its trie's place in _trie_list
        self._ends: list[Node] = []
        self._trie_of = array("I")
        self._keys = array("q")
        self._totals = array("q")
        self._outs = array("q")
        self._marks: dict[int, tuple[tuple[UserMark, ...], UserMark | None]] = {}

    def __len__(self) -> int:
        return len(self._ends)

    @property
    def keys(self) -> array:
        """The caller's key of each request (``add``'s ``key``), in the order added."""
        return self._keys

    def add(self, params: dict[str, Any], key: int, input_tokens: int | None = None) -> None:
        """Count one valid request; ``key`` names it back (its line number); ``input_tokens``
        its exact input tokens when known (else the estimate)."""
        seq = sequence(params, input_tokens)
        place = self._trie_index.get(seq.root)
        if place is None:
            place = self._trie_index[seq.root] = len(self._trie_list)
            self._trie_list.append(Trie(seq.root, str(params.get("model"))))
        index = len(self._ends)
        self._ends.append(self._trie_list[place].insert(seq.records))
        self._trie_of.append(place)
        self._keys.append(key)
        self._totals.append(seq.total)
        max_tokens = params.get("max_tokens")
        self._outs.append(max_tokens if type(max_tokens) is int else 0)
        if seq.marks or seq.top is not None:
            marks = tuple((d, hour, _tokens_at(seq.records, d), chain(seq.root, seq.records, d))
                          for d, hour in seq.marks)
            top = None if seq.top is None else (
                seq.depth, seq.top, _tokens_at(seq.records, seq.depth),
                chain(seq.root, seq.records, seq.depth))
            self._marks[index] = (marks, top)

    def finish(self, minimums: MinimumTable | None = None,
               prefix_tokens: Mapping[int, int] | None = None) -> Grouping:
        """The groups, numbered from 1 in the order of their first request. ``prefix_tokens``:
        exact input tokens of a group's marked prefix by group id, where the caller counted it.
        May be called again (with counts) on the same planner."""
        minimums = minimums or builtin_minimums()
        groups: list[Group] = []
        by_node: dict[int, int] = {}
        by_identity: dict[bytes, int] = {}
        of_request = array("i", bytes(4 * len(self._ends)))
        for index, end in enumerate(self._ends):
            node = anchor(end)
            if node is None:
                of_request[index] = -1
                continue
            gid = by_node.get(id(node))
            if gid is None:
                trie = self._trie_list[self._trie_of[index]]
                group = self._group(node, len(groups) + 1, trie, self._keys[index], minimums,
                                    prefix_tokens or {})
                if group is None:
                    gid = -1
                else:  # prefixes that part after the same marked block are one group
                    gid = by_identity.setdefault(group.identity, len(groups))
                    if gid == len(groups):
                        groups.append(group)
                by_node[id(node)] = gid
            if gid >= 0:
                groups[gid].requests += 1
            of_request[index] = gid
        for group in groups:
            if group.requests < 2:
                group.reason = ONE_REQUEST
        return Grouping(groups, self, of_request)

    def requests(self, of_request: array) -> Iterator[Request]:
        for index, end in enumerate(self._ends):
            marks, top = self._marks.get(index, ((), None))
            yield Request(index, self._trie_list[self._trie_of[index]].model, of_request[index],
                          self._totals[index], self._outs[index], end.depth, marks, top)

    def _group(self, node: Node, gid: int, trie: Trie, first: int, minimums: MinimumTable,
               counted: Mapping[int, int]) -> Group | None:
        """The group of the requests whose shared prefix ends at ``node``; None when that prefix
        holds no block a marker may go on (only the settings position, say): no group."""
        records = path(node)
        depth = last_markable(records)
        if not depth:
            return None
        group = Group(gid, trie.model, first, minimums.minimum(trie.model), depth=node.depth,
                      breakpoint=depth)
        marked = records[:depth * RECORD]
        tokens, section, index, block, _ = unpack(marked[-RECORD:])
        group.at = field_of(section, index, block)
        group.blocks = _blocks(marked)
        group.identity = chain(trie.root_key, marked, depth)
        if gid in counted:
            tokens, group.tokens_source = counted[gid], "count"
        group.tokens = tokens
        if tokens < group.minimum.tokens:
            group.reason = UNDER_MINIMUM
        return group


def _tokens_at(records: bytes, depth: int) -> int:
    return unpack(records[(depth - 1) * RECORD:depth * RECORD])[0]


def _blocks(records: bytes) -> dict[str, int]:
    """Tool definitions, system blocks and message content blocks among ``records``."""
    counts = {"tools": 0, "system": 0, "messages": 0}
    names = {TOOLS: "tools", SYSTEM: "system", MESSAGES: "messages"}
    for start in range(0, len(records), RECORD):
        name = names.get(unpack(records[start:start + RECORD])[1])
        if name:
            counts[name] += 1
    return counts


"""A counting radix trie of requests' position records (core/caching/blocks.py), one per root (model
and the other fields that share nothing when they differ).

Each node holds an edge, a run of records no request branches inside, and ``count``, the requests
whose sequence runs through all of it. A request that shares nothing with the others ends on a leaf
that holds the rest of its records as one bytes object, so memory grows with the requests and their
unshared tails (28 bytes a position), not with a dict entry per block: 100,000 requests of one
shared document and a question each make about 100,000 leaves under one node. A node is split only
where a later request leaves its edge, and the node a request ends on stays its end for good.
"""

from __future__ import annotations

from batchctl.core.caching.blocks import RECORD, unpack


class Node:
    """A run of positions: ``edge`` (RECORD bytes each) ending at ``depth`` (positions from the
    root); ``count`` requests run through all of it."""

    __slots__ = ("children", "count", "depth", "edge", "parent")

    def __init__(self, parent: Node | None, edge: bytes, count: int, depth: int,
                 children: dict[bytes, Node] | None = None) -> None:
        self.parent = parent
        self.edge = edge
        self.count = count
        self.depth = depth
        self.children = children


class Trie:
    """The requests of one root: ``insert`` each, then read shared prefixes from the nodes."""

    def __init__(self, root: bytes, model: str) -> None:
        self.root_key = root
        self.model = model
        self.root = Node(None, b"", 0, 0)

    def insert(self, records: bytes) -> Node:
        """Count one request's records; the node its last position ends."""
        node = self.root
        node.count += 1
        pos, size = 0, len(records)
        while pos < size:
            key = records[pos:pos + RECORD]
            child = node.children.get(key) if node.children else None
            if child is None:
                leaf = Node(node, records[pos:], 1, node.depth + (size - pos) // RECORD)
                if node.children is None:
                    node.children = {}
                node.children[key] = leaf
                return leaf
            edge = child.edge
            length = len(edge)
            if records[pos:pos + length] == edge:
                matched = length
            else:
                matched = RECORD
                limit = min(length, size - pos)
                while matched < limit and (edge[matched:matched + RECORD]
                                           == records[pos + matched:pos + matched + RECORD]):
                    matched += RECORD
                # The upper part becomes a new node; ``child`` keeps its end (and its requests).
                upper = Node(node, edge[:matched], child.count, node.depth + matched // RECORD,
                             {edge[matched:matched + RECORD]: child})
                assert node.children is not None
                node.children[key] = upper
                child.parent, child.edge = upper, edge[matched:]
                child = upper
            child.count += 1
            node = child
            pos += matched
        return node


def anchor(end: Node) -> Node | None:
    """The deepest node on a request's path that at least one other request runs through: the end
    of the longest prefix it shares; None if it shares no position."""
    node: Node | None = end
    while node is not None and node.parent is not None:
        if node.count >= 2:
            return node
        node = node.parent
    return None


def path(node: Node) -> bytes:
    """The records from the root down to the end of ``node``."""
    edges = []
    at: Node | None = node
    while at is not None:
        edges.append(at.edge)
        at = at.parent
    return b"".join(reversed(edges))


def last_markable(records: bytes) -> int:
    """The depth (from 1) of the last position of ``records`` a marker may go on; 0 if none."""
    for depth in range(len(records) // RECORD, 0, -1):
        if unpack(records[(depth - 1) * RECORD:depth * RECORD])[4]:
            return depth
    return 0

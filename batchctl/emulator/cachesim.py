"""The emulator's prompt cache: which request reads a prefix, which writes it, and the usage that
says so. No background worker: a batch's reads and writes are decided when its results are first
computed, from timestamps, the store and a roll made at create, as the rest of its outcome
(emulator.outcomes); a single message's when it is answered.

How it behaves (sources: ../shared/CACHING.md; the prompt-caching and batch-processing docs):

* **Read.** A request with a marker (emulator.cachemarks) reads the deepest prefix it looks up
  for which an entry is live: written (or read) by an earlier request of the same model within
  its TTL, 5 minutes or 1 hour, counted from the last request that wrote or read it (the TTL "is
  refreshed for no additional cost each time the cached content is used", prompt-caching docs).
* **Write.** It writes the entries at its markers past what it read; ``input_tokens`` is what
  follows its last marker (``usage_fields``).
* **Processed together.** An entry becomes readable "only once the first response that wrote it
  has begun: requests processed at the same moment can each write the same prefix" (CACHING.md).
  A request begins at its point in its batch's window (``created_at + u * processing_seconds``,
  outcomes.py); the emulator puts the start of its response ``RESPONSE_LAG`` (2/3) of that window
  later, and at the latest when its batch ends. So the requests of one batch mostly miss each
  other's writes, and the requests of a batch sent after another one that wrote the prefix and
  ended (a warm-up) read it.
* **Best effort.** Batch cache hits are best effort ("users typically experience cache hit rates
  ranging from 30% to 98%", batch-processing page): a request that could read does, with the
  probability ``cache_hit_rate`` (0.98 by default), drawn at create from the seed, the batch and
  the custom_id like the other outcomes; one that does not writes the prefix again.
* **Who touches the cache.** Only succeeded requests. Another batch's request counts as having
  written its markers' entries when its response began (whether it wrote or read them: its
  results are not needed to compute this batch's), with the entries below the minimum left out.
* **Single messages.** ``POST /v1/messages`` reads and writes a pool of its own, at once and in
  the order the calls arrive: a batch does not read what a single message wrote (a prefix written
  by an ordinary Messages call a second earlier was read as 0 tokens by a batch, while batches
  read what batches wrote: anthropics/skills#1475), and a single message does not read a batch's.
"""

from __future__ import annotations

import hashlib
import heapq
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.emulator.cachemarks import Prefixes
from batchctl.emulator.outcomes import SUCCEEDED, PlanEntry

if TYPE_CHECKING:
    from batchctl.emulator.store import BatchRow, Store

RESPONSE_LAG = 2 / 3  # of the batch's processing window, from a request's start to its response's
HOUR = 3600.0  # the longest TTL: no entry outlives a touch by more
_FIVE_MINUTES = 300.0

Usage = dict[str, Any]
Touch = tuple[float, int, str, float, float]  # (readable from, batch seq, prefix hash, ends, ttl)


def cache_entries(plan: list[PlanEntry], seed: int, seq: int, hit_rate: float) -> bytes | None:
    """A batch's cache file, written with its plan: ``[custom_id, u, kind, input tokens, reads
    when it can (0/1), prefixes]`` for each request that has a marker; None when none has."""
    rows = []
    for entry in plan:
        if len(entry) > 5 and entry[3] in SUCCEEDED:  # not an injected error or expiry
            digest = hashlib.blake2b(f"{seed}:cache:{seq}:{entry[0]}".encode(), digest_size=8).digest()
            reads = int.from_bytes(digest, "big") / float(1 << 64) < hit_rate
            rows.append([entry[0], entry[1], entry[3], entry[4][1], int(reads), entry[5]])
    return orjson.dumps(rows) if rows else None


def batch_usage(store: Store, row: BatchRow) -> dict[str, Usage]:
    """The usage of each succeeded request of ``row`` that has a marker, by custom_id."""
    mine = _read(store, row.id)
    if not mine:
        return {}
    timeline = row.timeline
    pending: list[Touch] = []
    for other in store.overlapping(row.created_at - HOUR, timeline.ends_at, row.seq):
        _touches(pending, other, _read(store, other.id), row.created_at)
    heapq.heapify(pending)
    live: dict[str, float] = {}  # hash -> when the entry ends
    ttl_of: dict[str, float] = {}
    processing = timeline.processing_seconds
    answered: dict[str, Usage] = {}
    order = sorted((timeline.created_at + r[1] * processing, r[0], r) for r in mine
                   if timeline.final_type(_entry(r)) == "succeeded")
    for begins, custom_id, (_, _, _, total, reads, prefixes) in order:
        while pending and (pending[0][0], pending[0][1]) < (begins, row.seq):
            _, _, digest, ends, ttl = heapq.heappop(pending)
            live[digest] = max(live.get(digest, ends), ends)
            ttl_of[digest] = max(ttl_of.get(digest, ttl), ttl)
        found = _deepest(prefixes, lambda digest, at=begins: live.get(digest, at) > at)
        depth = 0
        if found is not None and reads:  # read, and so refreshed
            depth, digest = found[0], found[1]
            heapq.heappush(pending, (begins, row.seq, digest, begins + ttl_of[digest], ttl_of[digest]))
        readable = min(begins + RESPONSE_LAG * processing, timeline.ends_at)
        for point, digest, _, ttl in prefixes:
            if ttl and point > depth:
                heapq.heappush(pending, (readable, row.seq, digest, begins + ttl, ttl))
        answered[custom_id] = usage_fields(total, prefixes, depth)
    return answered


def _touches(pending: list[Touch], other: BatchRow, rows: list[list[Any]], since: float) -> None:
    """Another batch's requests, as the entries at their markers they left live after ``since``."""
    timeline = other.timeline
    processing = timeline.processing_seconds
    for r in rows:
        if timeline.final_type(_entry(r)) != "succeeded":
            continue
        begins = timeline.created_at + r[1] * processing
        readable = min(begins + RESPONSE_LAG * processing, timeline.ends_at)
        pending.extend((readable, other.seq, digest, begins + ttl, ttl)
                       for _, digest, _, ttl in r[5] if ttl and begins + ttl > since)


def message_usage(store: Store, prefixes: Prefixes, total: int, now: float) -> Usage:
    """A single message's usage, its reads and writes made in the messages' own pool."""
    result: dict[str, Usage] = {}

    def touch(live: dict[str, float]) -> dict[str, float]:
        found = _deepest(prefixes, live.__contains__)
        depth = found[0] if found is not None else 0
        touched = {found[1]: live[found[1]]} if found is not None else {}
        touched.update((digest, ttl) for point, digest, _, ttl in prefixes if ttl and point > depth)
        result["usage"] = usage_fields(total, prefixes, depth)
        return touched

    store.touch_message_cache([p[1] for p in prefixes], now, touch)
    return result.get("usage") or usage_fields(total, prefixes, 0)


def usage_fields(total: int, prefixes: Prefixes, depth: int) -> Usage:
    """The usage of a request of ``total`` input tokens that read the prefix at ``depth`` (0:
    none) and wrote at its markers past it: read + written (split by TTL) + input = total."""
    read = next((count for point, _, count, _ in prefixes if point == depth), 0)
    written = {_FIVE_MINUTES: 0, HOUR: 0}
    last = read
    for point, _, count, ttl in prefixes:
        if ttl and point > depth:
            written[ttl] += count - last
            last = count
    markers = [count for _, _, count, ttl in prefixes if ttl]
    return {
        "input_tokens": total - (markers[-1] if markers else 0),
        "cache_creation_input_tokens": written[_FIVE_MINUTES] + written[HOUR],
        "cache_read_input_tokens": read,
        "cache_creation": {"ephemeral_5m_input_tokens": written[_FIVE_MINUTES],
                           "ephemeral_1h_input_tokens": written[HOUR]},
    }


def _deepest(prefixes: Prefixes, live: Any) -> list[Any] | None:
    """The deepest prefix looked up whose entry ``live(hash)`` says is there."""
    for prefix in reversed(prefixes):
        if live(prefix[1]):
            return prefix
    return None


def _entry(row: list[Any]) -> PlanEntry:
    """A cache file row in the shape Timeline.final_type reads (u at 1, kind at 3)."""
    return [row[0], row[1], 0, row[2]]


def _read(store: Store, batch_id: str) -> list[list[Any]]:
    try:
        rows: list[list[Any]] = orjson.loads(store.cache_path(batch_id).read_bytes())
    except FileNotFoundError:
        return []
    return rows


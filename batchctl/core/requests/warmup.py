"""The warm-up of a ``--cache auto`` job (issue 20 item 3): each planned group's first request
goes first, as a batch of its own; the rest of the job waits for it to end.

The prompt-caching FAQ (late 2026; shared/CACHING.md, "Caching inside batches"): "send a batch
holding a single request with the shared prefix and a 1-hour marker first; as soon as it has
completed, submit the rest". Requests of one batch processed together miss each other's writes
(an entry is readable only once the response that wrote it has begun), so a group's other
requests read its prefix only once the warm-up has written it.

``warm_parts`` turns the scan's parts into the warm-up part (part 1: only the groups' first
lines, with ``max_tokens`` as written: a batch refuses ``max_tokens: 0``, CACHING.md) and the
rest (parts 2..: each the same range as before, the warm-up's lines skipped, sent ``after``
part 1). No request is in two parts. The sizes are those ``encode`` gives (the sender's own
function), so each body is the bytes the split measured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from batchctl.core.requests.cacheplan import encode
from batchctl.core.requests.scan import BODY_OVERHEAD, Part, iter_lines

if TYPE_CHECKING:
    from batchctl.core.caching.place import CachePlan

WARMUP_PART = 1


def warm_parts(
    path: str, parts: Sequence[Part], firsts: Sequence[int], plan: CachePlan, *,
    max_requests: int, max_bytes: int,
) -> list[Part] | None:
    """The parts with a warm-up of the lines ``firsts`` sent first; None when there is nothing
    to warm (no planned group) or the warm-up would not fit one batch."""
    wanted = set(firsts)
    if not wanted or len(wanted) > max_requests:
        return None
    sizes: dict[int, int] = {}
    convert: set[int] = set()
    for part in parts:
        if not wanted.intersection(range(part.first_line, part.last_line + 1)):
            continue
        for line_no, _, line in iter_lines(path, part):
            if line_no in wanted:
                sent = line_no in part.convert_lines
                sizes[line_no] = len(encode(line, plan)[0]) if sent else len(line)
                if sent:
                    convert.add(line_no)
    body = BODY_OVERHEAD + sum(sizes.values()) + len(sizes) - 1
    if len(sizes) != len(wanted) or body > max_bytes:
        return None
    first, last = min(wanted), max(wanted)
    start, end, digest = _span(path, first, last)
    warm = Part(WARMUP_PART, first, last, start, end, len(wanted), body, digest,
                frozenset(convert), only=frozenset(wanted))
    rest: list[Part] = []
    for part in parts:
        skip = frozenset(n for n in wanted if part.first_line <= n <= part.last_line)
        if len(skip) == part.request_count:
            continue  # every request of it is in the warm-up
        rest.append(replace(
            part, index=WARMUP_PART + 1 + len(rest), request_count=part.request_count - len(skip),
            body_size=part.body_size - sum(sizes[n] + 1 for n in skip), skip=skip,
            after=WARMUP_PART,
        ))
    return [warm, *rest]


def _span(path: str, first: int, last: int) -> tuple[int, int, str]:
    """The byte range of lines ``first..last`` of the file and the sha256 of its bytes."""
    digest = hashlib.sha256()
    offset = line_no = 0
    start = end = 0
    with open(path, "rb") as f:
        for raw in f:
            line_no += 1
            if line_no == first:
                start = offset
            offset += len(raw)
            if first <= line_no <= last:
                digest.update(raw)
            if line_no == last:
                end = offset
                break
    return start, end, digest.hexdigest()

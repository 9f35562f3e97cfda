"""One round of polls for `wait` and `status`: the cheapest calls that describe a set of batches.

The API's Message Batches endpoints share one per-minute limit (about 1,000 requests a minute
for many organisations; docs: rate limits, "Message Batches API"), and one retrieve per batch
per round spends it fast: 100 batches every 5 s is 1,200 requests a minute. A list page
carries up to 1,000 batches with their request_counts (BATCHES_API.md: ``limit`` 1-1000,
newest first), so for more than a couple of batches a round reads list pages instead, stopping
as soon as every batch wanted has been seen, or the page is older than the oldest of them, or
paging would cost more calls than the retrieves it saves. Whatever the list did not show (a
batch older than that, another workspace's id, a 404) is retrieved one by one, with the usual
handling of a 404.

``Budget`` turns the calls a round made into the least pause before the next one, so that a
wait averages at most MAX_RATE calls a second whatever the number of batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import NotFoundError
from batchctl.core.times import parse_ts
from batchctl.core.tracking.lifecycle import Target, record, refresh

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.state.store import Store

PAGE_LIMIT = 1000  # the API's largest list page
RETRIEVE_AT_MOST = 2  # this many batches or fewer: one retrieve each is as cheap as a list
CLOCK_SKEW = 60.0  # s: a page this much older than the oldest batch wanted ends the search
MAX_RATE = 1.0  # calls a second, on average, that a wait may make


class Round:
    """What one round of polls found, and what it cost."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.missing: list[NotFoundError] = []
        self.calls = 0


def poll(
    api: Api, store: Store, targets: Sequence[Target], now: float, *, keep_going: bool = False
) -> Round:
    """Describe every target, with list pages when they are cheaper than retrieves.

    A 404 raises NotFoundError, or with ``keep_going`` is kept in ``Round.missing`` while the
    others are still described (status). Other errors propagate."""
    out = Round()
    wanted = {t.id: t for t in targets}
    if len(wanted) > RETRIEVE_AT_MOST:
        _from_pages(api, store, wanted, out)
    for target in targets:
        if target.id in out.records:
            continue
        out.calls += 1
        try:
            out.records[target.id] = refresh(api, store, target, now)
        except NotFoundError as exc:
            if not keep_going:
                raise
            out.missing.append(exc)
    return out


def _oldest(targets: Sequence[Target]) -> float | None:
    """The creation time of the oldest target, if every target's is known."""
    times = [parse_ts((t.row or {}).get("created_at")) for t in targets]
    if not times or any(ts is None for ts in times):
        return None
    return min(ts for ts in times if ts is not None)


def _from_pages(api: Api, store: Store, wanted: dict[str, Target], out: Round) -> None:
    left = dict(wanted)
    oldest = _oldest(list(wanted.values()))
    after: str | None = None
    pages = 0
    while left:
        page = api.list_page(limit=PAGE_LIMIT, after_id=after)
        out.calls += 1
        pages += 1
        last_created = None
        for batch in page.data:
            target = left.pop(str(batch.get("id")), None)
            if target is not None:
                if target.row is not None:
                    store.update_remote(batch)
                out.records[target.id] = record(batch, target.row)
            last_created = parse_ts(batch.get("created_at"))
        if not page.has_more or not page.data or not page.last_id:
            return
        if oldest is None or (last_created is not None and last_created < oldest - CLOCK_SKEW):
            return  # newest first: the batches still missing are not further down
        if pages >= len(left):
            return  # another page would cost as much as retrieving the rest
        after = page.last_id


class Budget:
    """The least pause after a round of ``calls`` calls: at most MAX_RATE calls a second."""

    def __init__(self, rate: float = MAX_RATE) -> None:
        self.rate = rate

    def pause(self, calls: int) -> float:
        return calls / self.rate


def refresh_all(
    api: Api, store: Store, targets: Sequence[Target], now: float
) -> tuple[list[dict[str, Any]], list[NotFoundError]]:
    """Refresh every target, with list pages when they take fewer calls than one retrieve per
    batch (``poll``). A 404 does not stop the others: it is returned beside
    the records (the caller shows what it could, then reports it). Any other error propagates."""
    found = poll(api, store, targets, now, keep_going=True)
    records = [found.records[t.id] for t in targets if t.id in found.records]
    return records, found.missing

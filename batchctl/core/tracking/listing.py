"""`list`: the API's batches, newest first, page by page, joined with what the store knows; or
the store alone, with no network."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from batchctl.core.tracking.lifecycle import local_record, record

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.deps import Deps
    from batchctl.core.state.store import Store

DEFAULT_LIMIT = 20
MAX_PAGE = 1000  # the API's largest page
ALL_PAGE = 100  # page size for --all (and for a filtered listing)


def list_batches(
    deps: Deps, *, base_url: str, local: bool = False, limit: int | None = DEFAULT_LIMIT,
    status: str | None = None,
) -> Iterator[dict[str, Any]]:
    """`batchctl list`: the store alone with ``local`` (``list_local``: no network, no key),
    else the API's batches joined with the store (``list_remote``)."""
    store = deps.store()
    if local:
        return list_local(store, base_url=base_url, limit=limit, status=status)
    return list_remote(deps.api(), store, base_url=base_url, limit=limit, status=status)


def list_remote(
    api: Api,
    store: Store,
    *,
    base_url: str,
    limit: int | None = DEFAULT_LIMIT,
    status: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield up to ``limit`` batches (None: all), newest first, each with the store's job, label
    and request file. ``status`` keeps only batches in that processing_status (the API has no
    such filter, so pages are read until ``limit`` batches matched or none are left)."""
    known = {r["id"]: r for r in store.batches(base_url=base_url, include_deleted=True)}
    page_size = ALL_PAGE if limit is None or status else min(limit, MAX_PAGE)
    shown = 0
    after: str | None = None
    while limit is None or shown < limit:
        page = api.list_page(limit=page_size, after_id=after)
        for batch in page.data:
            if status and batch.get("processing_status") != status:
                continue
            yield record(batch, known.get(batch["id"]))
            shown += 1
            if limit is not None and shown >= limit:
                return
        if not page.has_more or not page.data or not page.last_id:
            return
        after = page.last_id


def list_local(
    store: Store, *, base_url: str, limit: int | None = DEFAULT_LIMIT, status: str | None = None
) -> Iterator[dict[str, Any]]:
    """The store's batches for this API, newest first, as last seen (deleted ones included,
    with ``deleted_at`` set, unless a ``status`` is asked for). No network, no key."""
    rows = store.batches(base_url=base_url, include_deleted=status is None, status=status)
    for shown, row in enumerate(rows):
        if limit is not None and shown >= limit:
            return
        yield local_record(row)

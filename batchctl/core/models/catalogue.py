"""The catalogue a command uses: the Models API's, cached in the state store per base URL, or the
packaged table (batchctl.core.catalog.models) when the API can't be asked.

When ``current`` asks the API: when the cache of this base URL is missing or older than a day
(on the injected clock: ``MAX_AGE``), or when asked to (``refresh``, ``batchctl models
--refresh``). When the API can't be asked (no key, no network, an error answer), a cache of any
age serves, else the packaged table; the note says which and why, with its date. (A dry run
without ``--count-tokens`` asks nothing and opens no store: it uses the packaged table.)
"""

from __future__ import annotations

from dataclasses import dataclass

from batchctl.core import errors
from batchctl.core.catalog.models import Catalogue
from batchctl.core.deps import Deps
from batchctl.core.times import display_ts, iso

#: A cached catalogue older than this (seconds) is fetched again: models come and retire by
#: the day (BATCHES_API.md 12.4).
MAX_AGE = 86_400.0


@dataclass(frozen=True)
class Found:
    """The catalogue to use; ``note`` says why it is not a fresh answer of the API, when not."""

    catalogue: Catalogue
    note: str | None = None


def _cached(fetched_at: float, models: list[dict], *, origin: str = "cache") -> Catalogue:
    return Catalogue(models, as_of=display_ts(iso(fetched_at)), origin=origin,
                     fetched_at=fetched_at)


def fresh(deps: Deps, base_url: str) -> Found | None:
    """The cached catalogue of ``base_url`` when it is under ``MAX_AGE`` old (``current`` asks
    nothing then), else None."""
    cached = deps.store().cached_catalogue(base_url)
    if cached is not None and deps.clock.time() - cached[0] < MAX_AGE:
        return Found(_cached(*cached))
    return None


def stand_in(deps: Deps, base_url: str) -> Catalogue:
    """What ``current`` falls back to when the API can't be asked: the cache of any age, else the
    packaged table (a submit's check starts with it while the API is asked: core/submit/send.py)."""
    cached = deps.store().cached_catalogue(base_url)
    return _cached(*cached) if cached is not None else Catalogue.packaged()


def current(deps: Deps, base_url: str, *, refresh: bool = False) -> Found:
    """The catalogue of the models ``base_url`` offers (see the module's docstring)."""
    store = deps.store()
    cached = store.cached_catalogue(base_url)
    now = deps.clock.time()
    if cached is not None and not refresh and now - cached[0] < MAX_AGE:
        return Found(_cached(*cached))
    try:
        models = deps.api().models()
    except errors.APIError as exc:
        why = f"the Models API could not be asked ({exc.message})"
        if cached is not None:
            stale = _cached(*cached)
            return Found(stale, f"{why}: using the catalogue cached {stale.as_of}")
        packaged = Catalogue.packaged()
        return Found(packaged, f"{why}: using {packaged.describe()}")
    store.save_catalogue(base_url, now, models)
    return Found(_cached(now, models, origin="api"))

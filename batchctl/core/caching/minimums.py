"""The minimum cacheable length of each model: a dated table with its sources, which a file can
override.

``minimums.json`` (beside this module) holds, per model id, ``min_cacheable_tokens``: a prefix
shorter than that is processed without caching, with no error, and both cache fields of its usage
come back 0 (prompt-caching docs, "Cache limitations"; ../shared/CACHING.md). The figures move
between snapshots, so the table is dated and a file of the same shape adds or replaces models
(read by core/catalog/tables.py, the one reader of user table files, as ``--limits`` is). A model
that neither knows is planned as if its minimum were the largest in the table, and said so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

KEY = "min_cacheable_tokens"


class Minimum(NamedTuple):
    """A model's minimum: ``tokens``, and ``source``: "table" (the built-in table), "file" (a
    user's file) or "assumed" (the model is in neither: the largest minimum of the table)."""

    tokens: int
    source: str


class MinimumTable:
    """Minimum cacheable lengths per model id."""

    def __init__(self, models: Mapping[str, int], as_of: str, sources: list[str],
                 source_file: str | None = None, from_file: frozenset[str] = frozenset()) -> None:
        self.models = dict(models)
        self.as_of = as_of
        self.sources = sources
        self.source_file = source_file
        self._from_file = from_file
        self.largest = max(self.models.values())

    def known(self, model: str) -> int | None:
        """The minimum of a model in the table (or the file), or None."""
        return self.models.get(model)

    def minimum(self, model: str) -> Minimum:
        tokens = self.models.get(model)
        if tokens is None:
            return Minimum(self.largest, "assumed")
        return Minimum(tokens, "file" if model in self._from_file else "table")

    def describe(self) -> dict[str, Any]:
        """Where the figures come from, for a report."""
        return {"as_of": self.as_of, "file": self.source_file}


@cache
def builtin_minimums() -> MinimumTable:
    """The table of minimums.json, beside this module."""
    table = json.loads(resources.files("batchctl.core.caching").joinpath("minimums.json").read_bytes())
    return MinimumTable({m: e[KEY] for m, e in table["models"].items()}, table["as_of"],
                        table["sources"])


def load_minimums(path: str | Any, name: str = "cache_minimums") -> MinimumTable:
    """The built-in table with the models of a ``minimums.json``-shaped file added or replaced;
    UsageError (exit 2) saying why for a file that cannot be used (``name``: how the caller
    names the option that gave it, the CLI's ``--cache-minimums``)."""
    from batchctl.core.catalog.tables import read_models
    from batchctl.core.errors import UsageError

    data, models = read_models(str(path), name,
                               f'{{"models": {{MODEL: {{"{KEY}": N}}}}}} like the built-in minimums.json')
    found: dict[str, int] = {}
    for model, entry in models.items():
        tokens = entry.get(KEY) if isinstance(entry, dict) else None
        if type(tokens) is not int or tokens < 1:
            raise UsageError(f"{name} {path}: model {model!r} needs {KEY}, a whole number of "
                             "tokens >= 1")
        found[model] = tokens
    base = builtin_minimums()
    return MinimumTable({**base.models, **found}, str(data.get("as_of") or base.as_of),
                        base.sources, source_file=str(path), from_file=frozenset(found))

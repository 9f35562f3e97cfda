"""The dated model table: which model ids exist and their output-token ceilings, with and without
a beta that raises them.

``models.json`` (beside this module) holds, per model id, ``max_output`` (the ceiling on
``max_tokens`` with no beta) and ``with_beta`` (beta name -> ceiling in the Message Batches API),
the date it was taken and its sources. It serves the request checker (batchctl.core.requests.rules)
and the emulator. A file given with ``--limits FILE`` adds or replaces models, as ``--prices`` does
for prices.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

#: How alike a model id must be to a known one to count as a typo of it (difflib's ratio):
#: "claude-hiaku-4-5" against "claude-haiku-4-5" is 0.94; "claude-opus-4-5" against
#: "claude-opus-4-1" is 0.93, so a near-miss may also be a model newer than the table.
NEAR_MISS_RATIO = 0.88


@cache
def builtin_table() -> dict[str, Any]:
    """The whole built-in table: ``as_of``, ``sources``, ``models``."""
    text = resources.files("batchctl.core.catalog").joinpath("models.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


class ModelTable:
    """Model ids and their ceilings; ``limit`` and ``near_miss`` answer from a cache."""

    def __init__(self, models: Mapping[str, Mapping[str, Any]], as_of: str,
                 source_file: str | None = None) -> None:
        self.models = dict(models)
        self.as_of = as_of
        self.source_file = source_file
        self._near: dict[str, str | None] = {}

    def known(self, model: str) -> bool:
        return model in self.models

    def limit(self, model: str, betas: Iterable[str] = ()) -> int | None:
        """The ceiling on ``max_tokens`` for ``model`` under these betas; None if unknown."""
        entry = self.models.get(model)
        if entry is None:
            return None
        ceiling = int(entry["max_output"])
        for beta, value in (entry.get("with_beta") or {}).items():
            if beta in betas:
                ceiling = max(ceiling, int(value))
        return ceiling

    def near_miss(self, model: str) -> str | None:
        """The known model id ``model`` is most probably a typo of, or None."""
        if model not in self._near:
            close = difflib.get_close_matches(model, self.models, n=1, cutoff=NEAR_MISS_RATIO)
            self._near[model] = close[0] if close else None
        return self._near[model]


@cache
def builtin_models() -> ModelTable:
    table = builtin_table()
    return ModelTable(table["models"], table["as_of"])


def load_model_table(path: str | Any, name: str = "limits") -> ModelTable:
    """The built-in table with the models of a ``models.json``-shaped file added or replaced.

    A file that cannot be used raises UsageError (exit 2) saying why (``name``: how the
    caller names the option that gave it).
    """
    from batchctl.core.catalog.tables import read_models
    from batchctl.core.errors import UsageError

    data, models = read_models(
        str(path), name,
        '{"models": {MODEL: {"max_output": N}}} like the built-in models.json')
    for model, entry in models.items():
        ceiling = entry.get("max_output") if isinstance(entry, dict) else None
        with_beta = entry.get("with_beta", {}) if isinstance(entry, dict) else None
        if not (_count(ceiling) and isinstance(with_beta, dict)
                and all(_count(v) for v in with_beta.values())):
            raise UsageError(f"{name} {path}: model {model!r} needs max_output (a whole number "
                             'of tokens >= 1) and optionally with_beta {"BETA": N}')
    base = builtin_table()
    return ModelTable({**base["models"], **models}, str(data.get("as_of") or base["as_of"]),
                      source_file=str(path))


def _count(value: Any) -> bool:
    return type(value) is int and value >= 1

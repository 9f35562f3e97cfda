"""What batchctl knows of the models: a catalogue in the Models API's own shape.

A ``Catalogue`` holds ModelInfo objects (anthropic 2.17.0 ``types/model_info.py``; BATCHES_API.md
12.3): each model's lifecycle (active, deprecated, retired) with its dates, ``max_tokens``,
``max_input_tokens`` and capabilities. It comes from the Models API (``batchctl.core.api.models``,
cached in the state store per base URL by ``batchctl.core.models``) or, when the API can't be
asked, from the packaged ``models.json`` beside this module, which says its date. Two things the
Models API does not publish stay in the packaged table and are kept over an API catalogue: the
aliases of dated ids, and the betas that raise ``max_tokens`` in batches.

A file given with ``--limits FILE`` (``{"models": {ID: {"max_output": N, "with_beta": {BETA:
N}}}}``) replaces ``max_tokens`` of the models it names, or adds them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

#: How alike a model id must be to a known one to count as a typo of it (difflib's ratio):
#: "claude-hiaku-4-5" against "claude-haiku-4-5" is 0.94; "claude-opus-4-5" against
#: "claude-opus-4-1" is 0.93, so a near-miss may also be a model newer than the catalogue.
NEAR_MISS_RATIO = 0.88
#: ModelInfo.lifecycle (types/model_info.py).
LIFECYCLES = ("active", "deprecated", "retired")
#: ModelLine (types/model_line.py): "more lines may be added". Read from an id that has no line.
LINES = ("haiku", "sonnet", "opus", "fable", "mythos")
_SNAPSHOT = re.compile(r"-\d{8}")  # claude-haiku-4-5-20251001: the dated id of claude-haiku-4-5

ModelInfo = dict[str, Any]


@cache
def packaged_table() -> dict[str, Any]:
    """The whole packaged table: ``as_of``, ``sources``, ``aliases``, ``batch_output_betas``,
    ``models`` (ModelInfo objects, most recent first)."""
    text = resources.files("batchctl.core.catalog").joinpath("models.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


class Catalogue:
    """Models found by id, alias or undated id; their ceilings, lifecycle and successors.

    ``origin``: ``api`` (fetched now), ``cache`` (fetched at ``fetched_at``) or ``packaged``."""

    def __init__(self, models: Sequence[Mapping[str, Any]], *, as_of: str, origin: str,
                 fetched_at: float | None = None, source_file: str | None = None) -> None:
        table = packaged_table()
        self.models: list[ModelInfo] = [dict(m) for m in models]
        self.index = {m["id"]: m for m in self.models}
        self.aliases = {a: t for a, t in table["aliases"].items() if t in self.index}
        self.batch_betas: dict[str, Any] = table["batch_output_betas"]
        self.as_of = as_of
        self.origin = origin
        self.fetched_at = fetched_at
        self.source_file = source_file
        self._near: dict[str, str | None] = {}

    @classmethod
    def packaged(cls) -> Catalogue:
        table = packaged_table()
        return cls(table["models"], as_of=table["as_of"], origin="packaged")

    def describe(self) -> str:
        """Where the catalogue comes from, for a message: ``the Models API (fetched DATE)`` or
        ``the packaged model table as of DATE``."""
        if self.origin == "packaged":
            text = f"the packaged model table as of {self.as_of}"
        else:
            text = f"the Models API (fetched {self.as_of})"
        return text + (f", with {self.source_file}" if self.source_file else "")

    # -- finding a model ----------------------------------------------------------------------
    def find(self, model: str) -> ModelInfo | None:
        """The ModelInfo of ``model``: an id, an alias of a dated id (the packaged aliases), or
        an id whose one dated snapshot is listed (``claude-haiku-4-5`` ->
        ``claude-haiku-4-5-20251001``: the Models API lists dated ids; retrieve resolves
        aliases, resources/models.py)."""
        found = self.index.get(model) or self.index.get(self.aliases.get(model, ""))
        if found is not None:
            return found
        dated = [i for i in self.index if i.startswith(model) and _SNAPSHOT.fullmatch(i[len(model):])]
        return self.index[dated[0]] if len(dated) == 1 else None

    def near_miss(self, model: str) -> str | None:
        """The id or alias of a model not retired that ``model`` is most probably a typo of."""
        if model not in self._near:
            names = [i for i, m in self.index.items() if m.get("lifecycle") != "retired"]
            names += [a for a, t in self.aliases.items() if self.index[t].get("lifecycle") != "retired"]
            close = difflib.get_close_matches(model, names, n=1, cutoff=NEAR_MISS_RATIO)
            self._near[model] = close[0] if close else None
        return self._near[model]

    def successor(self, info: Mapping[str, Any]) -> str | None:
        """The most recent active model of ``info``'s line that takes batches, or None."""
        line = line_of(info)
        for other in self.models:
            if (other.get("lifecycle") == "active" and line_of(other) == line
                    and supported(other.get("capabilities"), "batch")):
                return str(other["id"])
        return None

    def listed(self, *, retired: bool = False) -> list[ModelInfo]:
        """The models, most recent first; retired ones only if asked (as the API lists them)."""
        return [m for m in self.models if retired or m.get("lifecycle") != "retired"]

    # -- output ceilings ----------------------------------------------------------------------
    def limit(self, info: Mapping[str, Any], betas: Iterable[str] = ()) -> int | None:
        """The ceiling on ``max_tokens`` for ``info`` in a batch under these betas; None if the
        catalogue does not say."""
        ceiling = info.get("max_tokens")
        raised = [v for b, v in self.raisers(info).items() if b in betas]
        if ceiling is None:
            return max(raised) if raised else None
        return max([int(ceiling), *raised])

    def raisers(self, info: Mapping[str, Any]) -> dict[str, int]:
        """The betas that raise ``info``'s ceiling in batches, each with the ceiling it gives."""
        found = {b: int(e["max_tokens"]) for b, e in self.batch_betas.items()
                 if info.get("id") in e.get("models", ())}
        found.update(info.get("with_beta") or {})  # from --limits
        return found

    def with_limits(self, path: str | Any, name: str = "limits") -> Catalogue:
        """This catalogue with the ``max_tokens`` of a limits file; UsageError (exit 2) for a
        file that cannot be used (``name``: how the caller names the option that gave it)."""
        from batchctl.core.catalog.tables import read_models
        from batchctl.core.errors import UsageError

        data, limits = read_models(
            str(path), name, '{"models": {MODEL: {"max_output": N}}}')
        models = {m["id"]: dict(m) for m in self.models}
        for model, entry in limits.items():
            ceiling = entry.get("max_output") if isinstance(entry, dict) else None
            with_beta = entry.get("with_beta", {}) if isinstance(entry, dict) else None
            if not (_count(ceiling) and isinstance(with_beta, dict)
                    and all(_count(v) for v in with_beta.values())):
                raise UsageError(f"{name} {path}: model {model!r} needs max_output (a whole "
                                 'number of tokens >= 1) and optionally with_beta {"BETA": N}')
            known = self.find(model)
            target = models.setdefault(known["id"] if known else model, {
                "id": model, "display_name": model, "type": "model", "lifecycle": "active",
                "capabilities": None})
            target.update(max_tokens=ceiling, with_beta=with_beta)
        return Catalogue(list(models.values()), as_of=str(data.get("as_of") or self.as_of),
                         origin=self.origin, fetched_at=self.fetched_at, source_file=f"{name} {path}")


def supported(capabilities: Any, *path: str) -> bool:
    """``capabilities[path...].supported``; True where the ModelInfo does not say: "read each
    key on its own" (types/thinking_types.py), and a capability left out is not refused."""
    entry: Any = capabilities
    for key in path:
        if not isinstance(entry, Mapping):
            return True
        entry = entry.get(key)
    return not isinstance(entry, Mapping) or entry.get("supported") is not False


def line_of(info: Mapping[str, Any]) -> str | None:
    """ModelInfo.line, or the line named in the id (``claude-3-5-haiku-...``: haiku)."""
    line = info.get("line")
    if isinstance(line, str) and line:
        return line
    words = str(info.get("id", "")).split("-")
    return next((w for w in words if w in LINES), None)


def _count(value: Any) -> bool:
    return type(value) is int and value >= 1

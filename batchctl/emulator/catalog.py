"""The emulator's model catalogue: which models exist, in which lifecycle stage, with which limits
and capabilities, as ModelInfo objects (anthropic 2.17.0 ``types/model_info.py``; BATCHES_API.md
12.3).

The packaged ``catalog.json`` (beside this module) holds the models, dated, with their sources and
the values no source gives (its ``choices``), the aliases of dated ids, the betas that raise
``max_tokens`` in batches, and each model's minimum cacheable length (``cache_minimums``).
``EmulatorConfig.models`` names a file that replaces the models: a JSON list of ModelInfo objects
as the API returns them. ``GET /v1/models`` pages through the catalogue (emulator.modelsapi), the
request checks read it (emulator.capabilities) and so does the prompt cache (emulator.cachemarks).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

#: ModelInfo.lifecycle (types/model_info.py).
LIFECYCLES = ("active", "deprecated", "retired")
#: ModelLine (types/model_line.py), "more lines may be added": any string is taken.
_REQUIRED = {"id": str, "display_name": str, "created_at": str, "type": str, "lifecycle": str}
_DATES = ("created_at", "deprecated_at", "retires_at")
_COUNTS = ("max_tokens", "max_input_tokens")

ModelInfo = dict[str, Any]


class Catalog:
    """Models in the order the API lists them (the most recent first), found by id or alias."""

    def __init__(self, models: Iterable[ModelInfo], *, aliases: Mapping[str, str] | None = None,
                 batch_output_betas: Mapping[str, Any] | None = None, as_of: str = "",
                 source: str = "packaged") -> None:
        self.models = list(models)
        self.index = {info["id"]: position for position, info in enumerate(self.models)}
        self.aliases = {alias: target for alias, target in (aliases or {}).items()
                        if target in self.index and alias not in self.index}
        self.batch_output_betas = dict(batch_output_betas or {})
        self.as_of = as_of
        self.source = source

    def find(self, model: str) -> ModelInfo | None:
        """The ModelInfo of ``model`` (an id or an alias of a dated id), or None.

        The Models API "can be used to ... resolve a model alias to a model ID"
        (resources/models.py, retrieve)."""
        position = self.index.get(model)
        if position is None:
            target = self.aliases.get(model)
            if target is None:
                return None
            position = self.index[target]
        return self.models[position]

    def max_tokens_with(self, model_id: str, betas: Iterable[str]) -> int | None:
        """The ``max_tokens`` ceiling a batch beta gives ``model_id``, or None."""
        ceilings = [int(entry["max_tokens"]) for beta, entry in self.batch_output_betas.items()
                    if beta in betas and model_id in entry.get("models", ())]
        return max(ceilings) if ceilings else None

    def page(self, lifecycles: frozenset[str], limit: int, *, after_id: str | None = None,
             before_id: str | None = None) -> tuple[list[ModelInfo], bool]:
        """Up to ``limit`` models in these stages, after or before a cursor (an id of the whole
        catalogue: KeyError when it is not one), with whether more lie beyond: the paging of
        the batch list (BATCHES_API.md 3.3)."""
        if before_id is not None:
            end = self.index[before_id]
            candidates = [m for m in self.models[:end] if m["lifecycle"] in lifecycles]
            return candidates[-limit:], len(candidates) > limit
        start = self.index[after_id] + 1 if after_id is not None else 0
        found: list[ModelInfo] = []
        for info in self.models[start:]:
            if info["lifecycle"] in lifecycles:
                if len(found) == limit:
                    return found, True
                found.append(info)
        return found, False


@cache
def _packaged() -> dict[str, Any]:
    text = resources.files("batchctl.emulator").joinpath("catalog.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def builtin() -> Catalog:
    """The packaged catalogue (catalog.json)."""
    data = _packaged()
    models = [_checked(info, f"catalog.json models[{i}]") for i, info in enumerate(data["models"])]
    return Catalog(models, aliases=data["aliases"], batch_output_betas=data["batch_output_betas"],
                   as_of=data["as_of"])


def cache_minimum(model_id: str) -> int:
    """The minimum cacheable length of ``model_id`` (a dated id where the catalogue has one),
    from catalog.json's dated ``cache_minimums`` with their sources; for a model it does not
    list, the largest minimum it lists (its ``unlisted`` rule)."""
    table = _packaged()["cache_minimums"]["models"]
    found = table.get(model_id)
    return int(found) if found is not None else int(max(table.values()))


def load_file(path: str | Path) -> Catalog:
    """A catalogue of the models in ``path`` (a JSON list of ModelInfo objects), with the packaged
    aliases and batch betas; ValueError naming the file and the problem."""
    try:
        document = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise ValueError(f"models file {path}: cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise ValueError(f"models file {path}: not valid JSON: {exc}") from None
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        document = document["data"]  # a page of GET /v1/models, saved as it came
    if not isinstance(document, list) or not document:
        raise ValueError(f"models file {path}: expected a non-empty JSON list of ModelInfo objects "
                         '(as GET /v1/models returns them in "data")')
    models = []
    seen: set[str] = set()
    for i, info in enumerate(document):
        try:
            models.append(_checked(info, f"item {i}"))
        except ValueError as exc:
            raise ValueError(f"models file {path}: {exc}") from None
        if info["id"] in seen:
            raise ValueError(f"models file {path}: item {i}: id {info['id']!r} is listed twice")
        seen.add(info["id"])
    data = _packaged()
    return Catalog(models, aliases=data["aliases"], batch_output_betas=data["batch_output_betas"],
                   as_of=data["as_of"], source=str(path))


def _checked(info: Any, where: str) -> ModelInfo:
    """``info`` if it is a ModelInfo the SDK parses (with strict validation), else ValueError."""
    if not isinstance(info, dict):
        raise ValueError(f"{where}: not a JSON object")
    for key, kind in _REQUIRED.items():
        if not isinstance(info.get(key), kind) or not info[key]:
            raise ValueError(f"{where}: {key} is required (a non-empty string)")
    if info["type"] != "model":
        raise ValueError(f'{where}: type must be "model", not {info["type"]!r}')
    if info["lifecycle"] not in LIFECYCLES:
        raise ValueError(f"{where}: lifecycle must be one of {', '.join(LIFECYCLES)}, "
                         f"not {info['lifecycle']!r}")
    for key in _DATES:
        value = info.get(key)
        if value is not None and not _is_date(value):
            raise ValueError(f"{where}: {key} must be an RFC 3339 date-time, not {value!r}")
    for key in _COUNTS:
        value = info.get(key)
        if value is not None and (type(value) is not int or value < 1):
            raise ValueError(f"{where}: {key} must be a whole number >= 1 or null, not {value!r}")
    if info.get("line") is not None and not isinstance(info["line"], str):
        raise ValueError(f"{where}: line must be a string or null")
    capabilities = info.get("capabilities")
    if capabilities is not None:
        _check_capabilities(capabilities, f"{where}: capabilities")
    return info


def _check_capabilities(capabilities: Any, where: str) -> None:
    """Every capability an object whose ``supported`` is a boolean, nested ones too
    (types/model_capabilities.py and the *_capability.py beside it)."""
    if not isinstance(capabilities, dict):
        raise ValueError(f"{where} must be an object or null")
    for name, entry in capabilities.items():
        if entry is None:
            continue
        if not isinstance(entry, dict) or type(entry.get("supported")) is not bool:
            raise ValueError(f'{where}.{name} must be an object with "supported": true or false')
        nested = {k: v for k, v in entry.items() if k != "supported"}
        if name == "thinking":
            nested = entry.get("types") or {}
        if nested:
            _check_capabilities(nested, f"{where}.{name}")


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True

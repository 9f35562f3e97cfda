"""The rules a request in a batch must follow, per anthropic-version: one table, two users.

The API does not refuse a bad request at create: it ends ``errored`` (``invalid_request_error``)
when the whole batch ends, up to 24 hours later. batchctl's checker (core/requests/scan.py) applies
these rules to every line before anything is sent, and the emulator (emulator/model.py) applies
the same ones to what it receives, keyed by the request's ``anthropic-version`` header, so that a
request sent around batchctl shows what not checking costs.

The rules themselves (id, first API version, summary, hint, source) are the table in
core/requests/ruletable.py. `Rules.check` applies the active ones to one request's params in a
single pass: keys that no rule names pass unchecked, so a new API feature is never blocked.
Structure (model a string, messages a non-empty list, max_tokens an integer) is checked before, by
core/requests/scan.py (and emulator/model.py).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from typing import Any

import orjson

from batchctl.core.caching import markers
from batchctl.core.caching.minimums import MinimumTable, builtin_minimums
from batchctl.core.catalog.models import Catalogue
from batchctl.core.flags import KEYS, Flags
from batchctl.core.requests.modelcheck import ModelCheck
from batchctl.core.requests.ruletable import (
    API_VERSION_2026,
    BLOCK_TYPES,
    CREATE_CALL_HINTS,
    DEFAULT_API_VERSION,
    OLD_API_VERSION,
    OUTPUT_300K_BETA,
    RULES,
    TABLE,
    Rule,
    active_rules,
    check_api_version,
)
from batchctl.core.requests.violation import Violation, describe

__all__ = [  # the table's names are used from here too
    "API_VERSION_2026", "BLOCK_TYPES", "DEFAULT_API_VERSION", "OLD_API_VERSION", "OUTPUT_300K_BETA",
    "RULES", "TABLE", "FileChecks", "Rule", "Rules", "Violation", "active_rules", "build_rules",
    "check_api_version", "describe",
]

_BLOCK_NEAR_MISS = 0.7  # "txt" -> "text" 0.86, "image_url" -> "image" 0.71
_SAMPLING = ("temperature", "top_p", "top_k")
_TRIGGERS = frozenset((*_SAMPLING, "stream", "speed", *CREATE_CALL_HINTS))  # keys a rule names


def _number(value: Any) -> bool:
    return type(value) in (int, float)


class Rules:
    """The active rules for one API version, betas and model table, applied request by request.

    ``models``: the catalogue each request's model is checked against (core/requests/
    modelcheck.py; default: the packaged table); ``allow_unknown_model``: a model it does not
    have is sent, with a warning, rather than refused.
    A near-miss of a known block type is an error; another unknown type a warning.
    ``lift_betas``: a ``betas`` list in params is accepted (submit lifts it into the header).
    ``cache_minimums``: the minimum cacheable lengths a marker's prefix is warned against
    (default: the built-in table, core/caching/minimums.json).
    """

    def __init__(
        self,
        api_version: str = DEFAULT_API_VERSION,
        *,
        betas: Iterable[str] = (),
        models: Catalogue | None = None,
        limits: str | os.PathLike[str] | None = None,
        allow_unknown_model: bool = False,
        lift_betas: bool = False,
        cache_minimums: MinimumTable | None = None,
        flags: Flags = KEYS,
    ) -> None:
        """``flags``: how the caller names the options the hints mention."""
        self.api_version = api_version
        self.rules = active_rules(api_version)
        ids = {rule.id for rule in self.rules}
        self.new = "sampling-removed" in ids
        self.betas = frozenset(betas)
        self.flags = flags
        self.limits = limits  # a limits file: applied to whichever catalogue is used
        self.models = models or Catalogue.packaged()
        if limits is not None:
            self.models = self.models.with_limits(limits, flags["limits"])
        self.allow_unknown_model = allow_unknown_model
        self.lift_betas = lift_betas
        self.cache_minimums = cache_minimums or builtin_minimums()
        self._cache_rules = ids & {markers.RULE_COUNT, markers.RULE_TTL, markers.RULE_BLOCK,
                                   markers.RULE_MINIMUM}
        self._model_cache: dict[str, ModelCheck] = {}

    def with_betas(self, betas: Iterable[str]) -> Rules:
        """These rules with more betas (those lifted from params)."""
        return Rules(self.api_version, betas=self.betas | set(betas), models=self.models,
                     allow_unknown_model=self.allow_unknown_model, lift_betas=self.lift_betas,
                     cache_minimums=self.cache_minimums, flags=self.flags)

    def with_models(self, models: Catalogue) -> Rules:
        """These rules, checking models against ``models``."""
        return Rules(self.api_version, betas=self.betas, models=models, limits=self.limits,
                     allow_unknown_model=self.allow_unknown_model, lift_betas=self.lift_betas,
                     cache_minimums=self.cache_minimums, flags=self.flags)

    def check(self, params: dict[str, Any]) -> list[Violation]:
        """Every violation in one request's params (structurally valid), errors and warnings."""
        out: list[Violation] = []
        model = params["model"]
        checks = self._model_cache.get(model)
        if checks is None:
            checks = self._model_cache[model] = ModelCheck(
                model, self.models, self.betas, allow_unknown=self.allow_unknown_model,
                flags=self.flags)
        out.extend(checks.first)
        max_tokens = params["max_tokens"]
        if max_tokens < 1:
            out.append(Violation("max-tokens-min", "max_tokens", f"must be at least 1, got {max_tokens}"))
        elif checks.limit is not None and max_tokens > checks.limit:
            out.append(_over_limit(checks, max_tokens))
        if not checks.refused:
            checks.check(params, out)
        keys = params.keys() & _TRIGGERS
        if keys:
            for key in sorted(keys):
                self._key(key, params[key], out)
        for index, message in enumerate(params["messages"]):
            if type(message) is not dict:
                out.append(Violation("message", f"messages.{index}",
                                     "Input should be a valid dictionary"))
                continue
            role = message.get("role")
            if role != "user" and role != "assistant":
                out.append(Violation("message", f"messages.{index}.role",
                                     f"Input should be 'user' or 'assistant', got {_show(role)}"))
                continue
            content = message.get("content")
            if type(content) is list:
                self._blocks(content, role, f"messages.{index}.content", out)
            elif type(content) is not str:
                out.append(Violation("message", f"messages.{index}.content", "Input should be a "
                                     "valid string or a list of content blocks"))
        if self._cache_rules:
            for found in markers.check(params, self.cache_minimums):
                if found.rule in self._cache_rules:
                    out.append(Violation(found.rule, found.field, found.message, warning=found.warning))
        return out

    # -- the parts of check ------------------------------------------------------------------
    def _key(self, key: str, value: Any, out: list[Violation]) -> None:
        if key in _SAMPLING:
            if value is None:
                return
            if self.new:
                out.append(Violation("sampling-removed", key,
                                     f"not supported with anthropic-version {self.api_version}"))
            elif key == "top_k":
                if type(value) is not int or value < 0:
                    out.append(Violation("sampling-range", key,
                                         f"Input should be an integer >= 0, got {_show(value)}"))
            elif not _number(value) or not 0 <= value <= 1:
                out.append(Violation("sampling-range", key,
                                     f"Input should be a number from 0 to 1, got {_show(value)}"))
        elif key == "stream":
            if value is True:
                out.append(Violation("stream", key,
                                     "streaming is not supported in the Message Batches API"))
            elif value is not None and value is not False:
                out.append(Violation("stream", key, "Input should be a valid boolean"))
        elif key == "speed":
            out.append(Violation("speed", key, "not supported in the Message Batches API"))
        elif key == "betas" and self.lift_betas:
            if type(value) is not list or not all(type(b) is str and b for b in value):
                out.append(Violation("create-call-keys", key, "must be a list of beta names "
                                     "to lift into the anthropic-beta header"))
        else:
            out.append(Violation("create-call-keys", key, "Extra inputs are not permitted",
                                 fix=CREATE_CALL_HINTS[key]))

    def _blocks(self, blocks: list, role: str, where: str, out: list[Violation]) -> None:
        for index, block in enumerate(blocks):
            if type(block) is not dict:
                out.append(Violation("block-type", f"{where}.{index}",
                                     "Input should be a valid dictionary"))
                continue
            kind = block.get("type")
            if kind == "text":
                if self.new and role == "user" and _cited(block):
                    out.append(Violation("user-citations", f"{where}.{index}.citations",
                                         "citations are not accepted on a user text block"))
                continue
            if kind not in BLOCK_TYPES:
                self._unknown_block(kind, f"{where}.{index}.type", out)
            elif not self.new:
                continue
            elif kind == "document" and role == "assistant":
                out.append(Violation("assistant-document", f"{where}.{index}", "a document block "
                                     "is not accepted in an assistant message"))
            elif kind == "search_result" and role == "user":
                inner = block.get("content")
                for k, text in enumerate(inner if type(inner) is list else ()):
                    if type(text) is dict and _cited(text):
                        out.append(Violation("user-citations",
                                             f"{where}.{index}.content.{k}.citations",
                                             "citations are not accepted on a user text block"))

    def _unknown_block(self, kind: Any, field: str, out: list[Violation]) -> None:
        if type(kind) is not str:
            out.append(Violation("block-type", field, f"Input should be a block type, got "
                                 f"{_show(kind)}"))
            return
        close = difflib.get_close_matches(kind, BLOCK_TYPES, n=1, cutoff=_BLOCK_NEAR_MISS)
        if close:
            guess = f" (did you mean {_show(close[0])}?)" if close else ""
            out.append(Violation("block-type", field, f"unknown block type {_show(kind)}{guess}"))
        else:
            out.append(Violation("block-type", field, f"block type {_show(kind)} is not one "
                                 "batchctl knows: not checked", warning=True))


class FileChecks:
    """The rules applied line by line to a file: problems worded for a ``FILE:LINE:`` line,
    warnings gathered (each said once, with its first line and a count), betas lifted."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.lifted: dict[str, None] = {}  # betas lifted from params (--lift-betas), in order
        self._warned: dict[str, list[int]] = {}  # warning -> [first line, count]
        self._with_betas: dict[tuple[str, ...], Rules] = {}

    def check(self, params: dict[str, Any], name: str, line_no: int) -> list[str]:
        """The problems of one structurally valid request (``name``: params or body)."""
        rules = self.rules
        betas = params.get("betas") if rules.lift_betas else None
        if type(betas) is list and all(type(b) is str for b in betas):
            key = tuple(betas)  # checked with the betas it lifts into the header
            rules = self._with_betas.get(key) or self._with_betas.setdefault(
                key, rules.with_betas(key))
        found = []
        for violation in rules.check(params):
            said = describe(violation, name, rules.flags)
            if not violation.warning:
                found.append(said)
                continue
            seen_at = self._warned.setdefault(said, [line_no, 0])
            seen_at[1] += 1
        if betas and not found:
            self.lifted.update(dict.fromkeys(betas))
        return found

    def warnings(self, name: str) -> list[str]:
        return [
            f"{name}:{first}: {message}"
            + (f" (and {count - 1:,} more line{'s' * (count > 2)})" if count > 1 else "")
            for message, (first, count) in self._warned.items()
        ]


def _over_limit(checks: ModelCheck, max_tokens: int) -> Violation:
    # The API's wording: "max_tokens: 200000 > 128000, which is the maximum allowed number
    # of output tokens for claude-opus-4-6".
    message = (f"{max_tokens} > {checks.limit}, which is the maximum allowed number of output "
               f"tokens for {checks.model}")
    raised = {b: v for b, v in checks.raisers.items() if v >= max_tokens}
    fix = ""
    if raised:
        beta = min(raised, key=raised.__getitem__)
        fix = ("lower max_tokens, or add {betas} "
               f"{beta} (up to {raised[beta]:,} in batches)")
    return Violation("max-tokens-limit", "max_tokens", message, fix=fix, source=checks.source)


def _cited(block: dict) -> bool:
    citations = block.get("citations")
    return type(citations) is list and bool(citations)


def _show(value: Any) -> str:
    """``value`` as JSON, cut to 60 characters."""
    try:
        text = orjson.dumps(value).decode()
    except TypeError:  # nested deeper than orjson writes
        text = type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def build_rules(
    *,
    api_version: str | None = None,
    betas: Iterable[str] = (),
    limits: str | os.PathLike[str] | None = None,
    allow_unknown_model: bool = False,
    lift_betas: bool = False,
    cache_minimums: str | os.PathLike[str] | None = None,
    flags: Flags = KEYS,
) -> Rules:
    """The rules a submit checks, from its options; UsageError (exit 2) for a bad option.
    ``cache_minimums``: a file of minimum cacheable lengths (core/caching/minimums.py);
    ``flags``: how the caller names the options, for messages and hints."""
    from batchctl.core.errors import UsageError

    version = api_version or DEFAULT_API_VERSION
    try:
        check_api_version(version, flags["api_version"])
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from batchctl.core.caching.minimums import load_minimums

    minimums = (load_minimums(cache_minimums, flags["cache_minimums"])
                if cache_minimums is not None else None)
    return Rules(version, betas=betas, limits=limits, allow_unknown_model=allow_unknown_model,
                 lift_betas=lift_betas, cache_minimums=minimums, flags=flags)

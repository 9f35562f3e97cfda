"""The Models API's answer, checked before batchctl uses it (no anthropic import here; the call
is ``batchctl.core.api.client.Api.models``).

A ModelInfo (anthropic 2.17.0 ``types/model_info.py``; BATCHES_API.md 12.3) is untrusted input,
like a batch (``untrusted.check_batch``): its id reaches the store, the terminal and the request
checks, so it must look like a model id; its texts are made printable; its dates must parse; its
counts must be whole numbers; its capabilities are kept only as the nested
``{"supported": bool}`` objects the SDK's types describe. A model that fails is refused whole:
the catalogue is not used (UntrustedReplyError, exit 6).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from batchctl.core.api.untrusted import UntrustedReplyError, printable, timestamp_ok

#: A model id as the API writes them (``claude-haiku-4-5-20251001``, ``claude-mythos-preview``):
#: lower-case letters, digits, dots, dashes and underscores, at most 100 characters.
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
LIFECYCLES = frozenset(("active", "deprecated", "retired"))
LINE = re.compile(r"[a-z0-9_-]{1,40}")  # ModelLine: "more lines may be added"
#: At most this many models in one catalogue: a server paging forever is cut off.
MAX_MODELS = 2_000
_DATES = ("created_at", "deprecated_at", "retires_at")
_COUNTS = ("max_tokens", "max_input_tokens")
_KEY = re.compile(r"[a-z0-9_]{1,60}")
_DEPTH = 3  # capabilities.thinking.types.enabled.supported: three levels under capabilities


def check_model_id(value: object, what: str = "model id") -> str:
    """``value`` if it has the shape of a model id, else UntrustedReplyError."""
    if isinstance(value, str) and MODEL_ID.fullmatch(value):
        return value
    raise UntrustedReplyError(f"the Models API sent a {what} that is not of a model id's shape: "
                              f"'{printable(value)}'; the catalogue was not used")


def check_model(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One ModelInfo from the server, checked and reduced to the fields batchctl reads."""
    model_id = check_model_id(raw.get("id"))
    problems = []
    lifecycle = raw.get("lifecycle")
    if lifecycle not in LIFECYCLES:
        problems.append(f"lifecycle '{printable(lifecycle)}'")
    for name in _DATES:
        value = raw.get(name)
        if not timestamp_ok(value):
            problems.append(f"{name} '{printable(value)}'")
    for name in _COUNTS:
        value = raw.get(name)
        if value is not None and (type(value) is not int or not 1 <= value <= 100_000_000):
            problems.append(f"{name} {printable(value)}")
    line = raw.get("line")
    if line is not None and not (isinstance(line, str) and LINE.fullmatch(line)):
        problems.append(f"line '{printable(line)}'")
    capabilities = raw.get("capabilities")
    if capabilities is not None and not isinstance(capabilities, Mapping):
        problems.append("capabilities")
    if problems:
        raise UntrustedReplyError(f"the Models API described model {model_id} with a malformed "
                                  f"{', '.join(problems)}; the catalogue was not used")
    shown = raw.get("display_name")
    return {
        "id": model_id,
        "display_name": printable(shown, 100) if isinstance(shown, str) and shown else model_id,
        "type": "model",
        "line": line,
        "lifecycle": lifecycle,
        **{key: raw.get(key) for key in (*_DATES, *_COUNTS)},
        "capabilities": _capabilities(capabilities, _DEPTH) if capabilities is not None else None,
    }


def _capabilities(entry: Mapping[str, Any], depth: int) -> dict[str, Any]:
    """Only ``supported`` booleans and nested objects under known-looking keys: anything else
    the server adds is dropped, never shown."""
    kept: dict[str, Any] = {}
    for key, value in entry.items():
        if not (isinstance(key, str) and _KEY.fullmatch(key)):
            continue
        if key == "supported" and isinstance(value, bool):
            kept[key] = value
        elif isinstance(value, Mapping) and depth > 0:
            kept[key] = _capabilities(value, depth - 1)
    return kept


def check_models(raw: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every ModelInfo of a catalogue checked; an id listed twice is refused too."""
    models = [check_model(m) for m in raw]
    seen: set[str] = set()
    for info in models:
        if info["id"] in seen:
            raise UntrustedReplyError(f"the Models API listed model {info['id']} twice; "
                                      "the catalogue was not used")
        seen.add(info["id"])
    if not models:
        raise UntrustedReplyError("the Models API listed no models; the catalogue was not used")
    return models

"""Reading a user's table file (``--prices FILE``, ``--limits FILE``): one way, one set of errors."""

from __future__ import annotations

from typing import Any

import orjson

from batchctl.core.errors import UsageError


def read_models(path: str, option: str, expected: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(whole file, its non-empty "models" object)``; UsageError (exit 2) naming ``option``
    and ``expected`` (the shape, for the message) when the file cannot be used."""
    try:
        with open(path, "rb") as f:
            data = orjson.loads(f.read())
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot read it: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{option} {path}: not JSON: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict) or not models:
        raise UsageError(f"{option} {path}: expected {expected}")
    return data, models

"""The headers the real API checks on every endpoint before anything else (BATCHES_API.md 12.5):
``anthropic-version`` (required, one of the published versions) and ``anthropic-beta`` (every
value known). Both answer 400 ``invalid_request_error`` in the API's words."""

from __future__ import annotations

from typing import Any

from batchctl.emulator.betas import KNOWN_BETAS
from batchctl.emulator.wire import bad_request

OLD_API_VERSION = "2023-06-01"  # what the 0.x and 1.x SDKs send (BATCHES_API.md section 0)
API_VERSION_2026 = "2026-10-21"  # what the 2.x SDKs send (anthropic/_constants.py)
#: The published versions: 2023-01-01 and 2023-06-01 (versioning page, as quoted in
#: directus-labs/extensions#285), 2026-10-21 (migration guide for 2026-10-21; BATCHES_API.md 12.5).
API_VERSIONS = frozenset(("2023-01-01", OLD_API_VERSION, API_VERSION_2026))


def api_version(environ: dict[str, Any]) -> str:
    """The request's ``anthropic-version``, or a 400 as the API words it: missing, "anthropic-version:
    header is required" (PipedreamHQ/pipedream#9697); unknown, 'anthropic-version: "2023-10-01" is
    not a valid version' (directus-labs/extensions#285, decolua/9router#2357, where a repeated
    header's joined value is refused the same way)."""
    value = environ.get("HTTP_ANTHROPIC_VERSION")
    if value is None or not value.strip():
        raise bad_request("anthropic-version: header is required")
    value = value.strip()
    if value not in API_VERSIONS:
        shown = value.replace("\\", "\\\\").replace('"', '\\"')
        raise bad_request(f'anthropic-version: "{shown}" is not a valid version')
    return value


def betas(environ: dict[str, Any]) -> frozenset[str]:
    """The request's ``anthropic-beta`` values (comma-separated, as the SDKs join them), or a 400
    naming the unknown ones, in the API's words (QuantumNous/new-api#2975 quotes two at once;
    zed-industries/zed#42715, anthropics/claude-code#53855)."""
    raw = environ.get("HTTP_ANTHROPIC_BETA") or ""
    named = [part.strip() for part in raw.split(",") if part.strip()]
    unknown = [name for name in dict.fromkeys(named) if name not in KNOWN_BETAS]
    if unknown:
        listed = ", ".join(f"`{name}`" for name in unknown)
        raise bad_request(
            f"Unexpected value(s) {listed} for the `anthropic-beta` header. Please consult our "
            "documentation at docs.anthropic.com or try again without the header."
        )
    return frozenset(named)

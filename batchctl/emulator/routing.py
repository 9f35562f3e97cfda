"""The emulator's HTTP surface: which endpoint a request names, whether it carries a key, and the
base URL the emulator is reached at (for ``results_url``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from batchctl.emulator.config import EmulatorConfig
from batchctl.emulator.wire import bad_request, json_reply

PREFIX = ("v1", "messages", "batches")
Reply = tuple[str, list[tuple[str, str]], Iterable[bytes]]


def segments(environ: dict[str, Any]) -> list[str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and not environ.get("SCRIPT_NAME"):
        path = raw.split("?", 1)[0]
        return [unquote(part) for part in path.split("/")[1:]]
    path = environ.get("PATH_INFO", "") or "/"
    try:  # PEP 3333: PATH_INFO is bytes decoded as latin-1
        path = path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return path.split("/")[1:]


def route(method: str, parts: list[str]) -> tuple[str, str | None] | None:
    """``(endpoint, id)`` for the six Message Batches endpoints (BATCHES_API.md), a single
    message, token counting and the Models API (BATCHES_API.md 12.3), None for anything else."""
    if parts == ["v1", "messages"]:
        return ("message", None) if method == "POST" else None
    if parts == ["v1", "messages", "count_tokens"]:
        return ("count_tokens", None) if method == "POST" else None
    if parts[:2] == ["v1", "models"] and method == "GET":
        if len(parts) == 2:
            return "models", None
        return ("model", parts[2]) if len(parts) == 3 and parts[2] else None
    if tuple(parts[:3]) != PREFIX:
        return None
    rest = parts[3:]
    if not rest:
        return {"POST": ("create", None), "GET": ("list", None)}.get(method)
    batch_id = rest[0]
    if not batch_id:
        return None
    if len(rest) == 1:
        return {"GET": ("retrieve", batch_id), "DELETE": ("delete", batch_id)}.get(method)
    if len(rest) == 2 and (method, rest[1]) in (("POST", "cancel"), ("GET", "results")):
        return rest[1], batch_id
    return None


def has_key(environ: dict[str, Any]) -> bool:
    if environ.get("HTTP_X_API_KEY", "").strip():
        return True
    scheme, _, credentials = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(credentials.strip())


def base_url(environ: dict[str, Any], config: EmulatorConfig, *, results: bool = False) -> str:
    if results and config.results_origin:  # results_url on another origin (an option)
        return config.results_origin + environ.get("SCRIPT_NAME", "").rstrip("/")
    if config.public_base_url:
        return config.public_base_url
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "127.0.0.1")
        port = environ.get("SERVER_PORT", "")
        if port and port != {"http": "80", "https": "443"}.get(scheme):
            host = f"{host}:{port}"
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '').rstrip('/')}"


def ok(environ: dict[str, Any], body: object) -> Reply:
    """A 200 JSON reply carrying the request's ``request-id``."""
    status, headers, data = json_reply(200, body, environ["batchctl.request_id"])
    return status, headers, [data]


def page_params(query: dict[str, list[str]]) -> tuple[int, str, str]:
    """``(limit, after_id, before_id)`` of a list call ("" for a cursor not given): ``limit``
    from 1 to 1000, 20 by default, at most one cursor (BATCHES_API.md 3.3 and 12.3); a 400
    otherwise (the statuses are not documented, BATCHES_API.md section 11)."""
    raw_limit = (query.get("limit") or ["20"])[-1]
    try:
        limit = int(raw_limit)
    except ValueError:
        raise bad_request(f"limit: Input should be a valid integer, not {raw_limit!r}") from None
    if not 1 <= limit <= 1000:
        raise bad_request(f"limit: Input should be between 1 and 1000, not {limit}")
    after_id = (query.get("after_id") or [""])[-1]
    before_id = (query.get("before_id") or [""])[-1]
    if after_id and before_id:
        raise bad_request("Give at most one of after_id and before_id.")
    return limit, after_id, before_id

"""The emulator as a WSGI app: auth, routing, rate limit and faults, then one endpoint.

The endpoints live in ``emulator.endpoints`` (create, list, retrieve, cancel, delete, token
counting) and ``emulator.results``; a batch's JSON in ``emulator.views``; paths and the base URL
in ``emulator.routing``. An unknown route or method: 404 ``not_found_error`` (not documented by
the API, BATCHES_API.md section 11).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from batchctl.emulator import endpoints, limits, messages, modelsapi, quirks
from batchctl.emulator.config import ENDPOINTS, EmulatorConfig
from batchctl.emulator.faults import Faults, ReplyLost
from batchctl.emulator.headers import api_version, betas
from batchctl.emulator.results import results
from batchctl.emulator.routing import Reply, has_key, route, segments
from batchctl.emulator.store import Store
from batchctl.emulator.views import Views
from batchctl.emulator.wire import ApiError, error_reply, new_request_id

Handler = Callable[["EmulatorApp", dict[str, Any], str | None], Reply]
HANDLERS: dict[str, Handler] = {
    "create": endpoints.create,
    "list": endpoints.list_batches,
    "retrieve": endpoints.retrieve,
    "cancel": endpoints.cancel,
    "delete": endpoints.delete,
    "results": results,
    "message": messages.create_message,
    "count_tokens": messages.count_tokens,
    "models": modelsapi.list_models,
    "model": modelsapi.retrieve_model,
}


def make_app(
    data_dir: Path, config: EmulatorConfig = EmulatorConfig(), clock: Callable[[], float] = time.time
) -> EmulatorApp:
    """A WSGI app serving the Message Batches API, with all state under ``data_dir``."""
    return EmulatorApp(Path(data_dir), config, clock)


class EmulatorApp:
    def __init__(self, data_dir: Path, config: EmulatorConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(data_dir)
        self.views = Views(self.store, config)
        self.faults = Faults(config)
        self.rate = limits.RateLimit(config.rate_limit)
        self.organization_id = quirks.organization_id(config)
        self.materialise_lock = threading.Lock()  # one writer of a results file (emulator.results)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = new_request_id()
        environ["batchctl.request_id"] = request_id
        try:
            status, headers, body = self._dispatch(environ)
        except ApiError as error:
            status, headers, data = error_reply(error, request_id)
            body = [data]
        except ReplyLost:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in the emulator: answer like the API would, say so once
            errors = environ.get("wsgi.errors") or sys.stderr
            print(f"batchctl emulator: internal error: {exc!r}", file=errors)
            internal = ApiError(500, "api_error", f"Internal error in the batchctl emulator: {exc!r}")
            status, headers, data = error_reply(internal, request_id)
            body = [data]
        start_response(status, [*headers, ("anthropic-organization-id", self.organization_id)])
        return body

    def _dispatch(self, environ: dict[str, Any]) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if not has_key(environ):
            raise ApiError(
                401,
                "authentication_error",
                "No API key: send X-Api-Key or Authorization: Bearer"
                " (the emulator accepts any non-empty key).",
            )
        # Every endpoint requires a known anthropic-version and refuses unknown betas
        # (BATCHES_API.md 12.5); a missing key is answered first (the SDKs' 401 tests).
        api_version(environ)
        betas(environ)
        parts = segments(environ)
        found = route(method, parts)
        if found is None:
            raise ApiError(404, "not_found_error", f"Not found: {method} /{'/'.join(parts)}")
        endpoint, batch_id = found
        # The Message Batches rate limit counts the batch endpoints only: token counting has
        # rate limits of its own, "separate and independent from message creation"
        # (https://docs.claude.com/en/docs/build-with-claude/token-counting#pricing-and-rate-limits),
        # as have single messages and the Models API (https://docs.claude.com/en/api/rate-limits).
        refused = self.rate.check(self.clock()) if endpoint in ENDPOINTS else None
        if refused is not None:
            raise refused
        fault = (self.faults.storage_not_ready(endpoint) or self.faults.overloaded(endpoint)
                 or self.faults.before(endpoint))
        if fault is not None:
            raise fault
        status, headers, body = HANDLERS[endpoint](self, environ, batch_id)
        if self.faults.lose_reply(endpoint):
            close = getattr(body, "close", None)
            if close is not None:
                close()
            raise ReplyLost(
                f"batchctl emulator: reply to {endpoint} lost after the work was done (lost_reply_rate)"
            )
        return status, headers, body

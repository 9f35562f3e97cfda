"""The single-message endpoints beside the batches: ``POST /v1/messages`` and
``POST /v1/messages/count_tokens``, each ``(app, environ, _) -> Reply``.

Both read a Messages body (up to the Messages API's 32 MB) and apply the checks of a request in a
batch (emulator.apirules, emulator.capabilities) under the call's own ``anthropic-version`` and
``anthropic-beta``, except those that only batches have. A problem is answered at once, in the
API's envelope: 400 ``invalid_request_error``, or 404 ``not_found_error`` for a model that is not
there (a retired model on the Messages API: spring-projects/spring-ai#2387).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from batchctl.emulator import cachemarks, cachesim, headers, intake, model
from batchctl.emulator.apirules import Checks, NotFound
from batchctl.emulator.headers import OLD_API_VERSION
from batchctl.emulator.routing import Reply, ok
from batchctl.emulator.wire import ApiError, bad_request, new_request_id

if TYPE_CHECKING:
    from batchctl.emulator.app import EmulatorApp

MESSAGES_MAX_BYTES = 32 * 1024 * 1024  # the Messages API's request size limit (32 MB)


def create_message(app: EmulatorApp, environ: dict[str, Any], _id: str | None) -> Reply:
    """``POST /v1/messages`` (https://docs.claude.com/en/api/messages): a ``Message`` from the
    stand-in model, the reply a batch request with the same params gets, with its own id and
    ``usage.service_tier`` "standard" (types/usage.py), and its own cache usage. Without
    streaming."""
    params = _read_params(environ)
    checks = Checks(headers.api_version(environ), headers.betas(environ), app.config.catalog,
                    any_model=app.config.any_model, batch=False)
    problem, seed = model.assess(params, checks)
    if problem is not None or seed is None:
        raise _refusal(problem or "invalid request")
    message_id = "msg_01" + new_request_id()[6:]
    message = model.render_message(message_id, seed, service_tier="standard")
    cached = cachemarks.prefixes(params, checks.catalog)
    if cached is not None:  # it reads and writes the single messages' cache (emulator.cachesim)
        message["usage"].update(cachesim.message_usage(app.store, cached, seed[1], app.clock()))
    return ok(environ, message)


def count_tokens(app: EmulatorApp, environ: dict[str, Any], _id: str | None) -> Reply:
    """``POST /v1/messages/count_tokens`` (https://docs.claude.com/en/api/messages-count-tokens):
    ``{"input_tokens": N}`` for a Messages body without ``max_tokens``, from the stand-in
    model's own estimator, so a count matches the ``usage.input_tokens`` of the result. As
    before, under the oldest version's rules, whatever the call's anthropic-version."""
    params = _read_params(environ)
    checks = Checks(OLD_API_VERSION, headers.betas(environ), app.config.catalog,
                    any_model=app.config.any_model, batch=False)
    problem, tokens = model.count_tokens(params, checks)
    if problem is not None:
        raise _refusal(problem)
    return ok(environ, {"input_tokens": tokens})


def _read_params(environ: dict[str, Any]) -> Any:
    length = intake.body_length(environ) or 0
    if length > MESSAGES_MAX_BYTES:
        raise ApiError(413, "request_too_large",
                       f"Request exceeds the maximum allowed size of {MESSAGES_MAX_BYTES} bytes.")
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        params = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None
    if type(params) is not dict:
        raise bad_request("The request body must be a JSON object.")
    return params


def _refusal(problem: str) -> ApiError:
    if isinstance(problem, NotFound):
        return ApiError(404, "not_found_error", str(problem))
    return bad_request(problem)

"""The Models API: ``GET /v1/models`` and ``GET /v1/models/{model_id}``, each
``(app, environ, model_id) -> Reply``, served from the emulator's catalogue (emulator.catalog).

BATCHES_API.md 12.3; anthropic 2.17.0 ``resources/models.py`` and ``types/model_list_params.py``:
the list is paged like the batch list (``limit`` 1-1000, default 20; ``after_id``, ``before_id``;
``data``, ``has_more``, ``first_id``, ``last_id``), the most recent models first. ``lifecycle``
filters it to up to 3 of active, deprecated and retired; "When omitted, the list contains the
active and deprecated models; retired models appear only when retired is requested explicitly".
The SDK sends the filter as ``lifecycle[]=active&lifecycle[]=retired`` (its query string's
``array_format="brackets"``, _client.py); ``lifecycle=`` repeated is taken too. Retrieve resolves
an alias to its model (retrieve's docstring) and answers retired models: "It remains in the
catalogue as the historical record of its retirement" (types/model_info.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from batchctl.emulator.catalog import LIFECYCLES
from batchctl.emulator.routing import Reply, ok, page_params
from batchctl.emulator.wire import ApiError, bad_request

if TYPE_CHECKING:
    from batchctl.emulator.app import EmulatorApp

_DEFAULT_LIFECYCLES = frozenset(("active", "deprecated"))


def list_models(app: EmulatorApp, environ: dict[str, Any], _id: str | None) -> Reply:
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    limit, after_id, before_id = page_params(query)
    lifecycles = _lifecycles(query)
    catalog = app.config.catalog
    for name, cursor in (("after_id", after_id), ("before_id", before_id)):
        if cursor and cursor not in catalog.index:
            raise bad_request(f"{name}: no model with id {cursor!r}")
    data, has_more = catalog.page(lifecycles, limit, after_id=after_id or None,
                                  before_id=before_id or None)
    return ok(environ, {
        "data": data,
        "has_more": has_more,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    })


def retrieve_model(app: EmulatorApp, environ: dict[str, Any], model_id: str | None) -> Reply:
    info = app.config.catalog.find(model_id or "")
    if info is None:
        # The API's answer to a model that does not exist: not_found_error "model: ID"
        # (continuedev/continue#11925; BATCHES_API.md 2.5 for the envelope).
        raise ApiError(404, "not_found_error", f"model: {model_id}")
    return ok(environ, info)


def _lifecycles(query: dict[str, list[str]]) -> frozenset[str]:
    values = [part.strip() for raw in (*query.get("lifecycle[]", ()), *query.get("lifecycle", ()))
              for part in raw.split(",") if part.strip()]
    if not values:
        return _DEFAULT_LIFECYCLES
    unknown = sorted({v for v in values if v not in LIFECYCLES})
    if unknown:
        raise bad_request(f"lifecycle: Input should be 'active', 'deprecated' or 'retired', not "
                          f"{', '.join(map(repr, unknown))}")
    if len(values) > len(LIFECYCLES):
        raise bad_request(f"lifecycle: List should have at most 3 items, not {len(values)}")
    return frozenset(values)

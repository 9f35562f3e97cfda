"""`batchctl models`: the models the API offers this key, from the Models API (cached in the state
store for a day), or the packaged table when the API can't be asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.options import JsonOpt

HELP = (
    "List the models the API offers: id, name, lifecycle, retirement date, max_tokens, max "
    "input tokens, batch support and thinking types.\n\n"
    "Read from the Models API (GET /v1/models) and cached in the state store for a day per "
    "base URL; --refresh asks the API again now. Without a key or a network the packaged table "
    "serves and says its date. On a terminal: a table; piped: one tab-separated row per model "
    "(id, display_name, lifecycle, retires_at, max_tokens, max_input_tokens, batch, thinking "
    "types); --json: one JSON line per model. Retired models are listed with --all."
)


def models_command(
    ctx: typer.Context,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Ask the Models API now, whatever the cache's age.")
    ] = False,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Add the retired models.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """`batchctl models`: see HELP."""
    run_parsed(ctx, run, ModelsOptions(refresh, all_, json_))


@dataclass(frozen=True)
class ModelsOptions:
    refresh: bool  # ask the API now, whatever the cache's age
    retired: bool  # --all: retired models too
    json: bool


def run(actx: AppContext, opts: ModelsOptions) -> None:
    from batchctl.cli.render.events import api_notices
    from batchctl.cli.render.models import show_models
    from batchctl.core.models.catalogue import current

    with api_notices(actx):
        found = current(actx, actx.settings.base_url, refresh=opts.refresh)
    show_models(actx, found, retired=opts.retired, json_=opts.json)


def register(app: typer.Typer) -> None:
    app.command("models", help=HELP)(models_command)

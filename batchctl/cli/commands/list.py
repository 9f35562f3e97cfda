"""`batchctl list`: the API's batches, newest first, joined with the state store; or the store
alone with --local (no network, no key)."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.options import JsonOpt, WideOpt
from batchctl.cli.render import output
from batchctl.cli.render.events import api_notices, relayed
from batchctl.core.errors import UsageError

DEFAULT_LIMIT = 20  # same as batchctl.core.tracking.listing.DEFAULT_LIMIT (not imported: start-up time)


class Status(str, Enum):  # noqa: UP042 - typer's choices, kept as they are
    in_progress = "in_progress"
    canceling = "canceling"
    ended = "ended"


def list_batches(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            metavar="N",
            help=f"Show at most N batches (default {DEFAULT_LIMIT}).",
            min=1,
            show_default=False,
        ),
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", "-a", help="Show every batch (reads every page).")
    ] = False,
    local: Annotated[
        bool,
        typer.Option(
            "--local", help="List the state store only: no network, no API key needed."
        ),
    ] = False,
    status: Annotated[
        Status | None,
        typer.Option(
            "--status", metavar="|".join(s.value for s in Status), show_default=False,
            help="Only batches in this processing_status.",
        ),
    ] = None,
    json_: JsonOpt = False,
    wide: WideOpt = False,
) -> None:
    """List batches, newest first, with the job, label and request file the store knows.

    On a terminal: a table that fits its width (the least needed columns left out), ids
    shortened unless --wide. Piped: one tab-separated row per batch (id, processing_status,
    succeeded, errored, canceled, expired, processing, created_at, ended_at, expires_at, job,
    label, request_file).
    """
    if all_ and limit is not None:
        raise UsageError("give --limit or --all, not both",
                         hint=f"see '{ctx.command_path} --help'")
    run_parsed(ctx, run, ListOptions(None if all_ else (limit or DEFAULT_LIMIT), local,
                                      status.value if status else None, json_, wide))


@dataclass(frozen=True)
class ListOptions:
    cap: int | None  # None: every batch (--all)
    local: bool
    status: str | None
    json: bool
    wide: bool


def run(actx: AppContext, opts: ListOptions) -> None:
    from batchctl.cli.render.batches import write_records
    from batchctl.core.tracking import listing

    cap, local, wanted = opts.cap, opts.local, opts.status
    base_url = actx.settings.base_url
    # Pages are asked for as the rows are written: what the API layer says while one is asked
    # for (a retry) is shown then, between rows.
    with api_notices(actx):
        records = listing.list_batches(actx, base_url=base_url, local=local, limit=cap,
                                       status=wanted)
    with closing(relayed(actx, records)) as rows:
        shown = write_records(actx, rows, json_=opts.json, wide=opts.wide)
    if shown == 0:
        where = "in the state store" if local else "on the API"
        output.info(actx, f"no batches{f' {wanted}' if wanted else ''} {where} ({base_url})")
    elif cap is not None and shown == cap and actx.stderr_tty:
        output.info(actx, f"showing the newest {shown}; --all shows every batch")


def register(app: typer.Typer) -> None:
    app.command("list")(list_batches)

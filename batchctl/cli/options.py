"""Option aliases shared by several commands: each defined once, reused with ``Annotated``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def complete_refs(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Shell completion for ID|JOB arguments: tracked ids from the state store, no network."""
    from batchctl.core.completion import complete_refs as candidates
    from batchctl.core.settings import Settings

    given = ctx.find_root().params
    try:
        settings = Settings.resolve(
            state_dir=given.get("state_dir"),
            emulator=given.get("emulator"),
            base_url=given.get("base_url"),
        )
    except Exception:  # a half-typed flag must not break the shell's completion
        return []
    return candidates(settings.state_dir, base_url=settings.base_url, incomplete=incomplete)


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Write one JSON object per line to stdout.")
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (required without a terminal)."),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        help="Write to this file (atomically: a temp file beside it, renamed when complete).",
        dir_okay=False,
    ),
]
ExitStatusOpt = Annotated[
    bool,
    typer.Option(
        "--exit-status",
        help="Exit 8 if a batch is still running, 9 if one ended with failed requests.",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", help="Stop waiting after this many seconds (exit 8).", min=0),
]
IntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--interval",
        help="Seconds between polls (default: 5 s, backing off to 60 s on long waits).",
        min=0.1,
    ),
]
LabelOpt = Annotated[
    str | None, typer.Option("--label", help="A name for this job, shown by status and list.")
]
RefsArg = Annotated[
    list[str],
    typer.Argument(
        help="Batch ids (msgbatch_...) or job ids (job_...).",
        show_default=False,
        autocompletion=complete_refs,
    ),
]
RefArg = Annotated[
    str,
    typer.Argument(
        help="A batch id (msgbatch_...) or a job id (job_...).",
        show_default=False,
        autocompletion=complete_refs,
    ),
]
OptRefsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Batch ids (msgbatch_...) or job ids (job_...). Default: every tracked batch "
        "whose results were not collected.",
        show_default=False,
        autocompletion=complete_refs,
    ),
]
PricesOpt = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        metavar="FILE",
        help="A price table in the form of the built-in prices.json; its models replace or add "
        "to the built-in rates for the cost estimate.",
        dir_okay=False,
    ),
]

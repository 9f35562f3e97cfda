"""The prompt-caching options of submit and run (issue 20), each defined once, as the aliases of
``batchctl.cli.options`` are: ``--cache``, ``--cache-minimums``, ``--no-warmup``,
``--warmup-timeout``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchctl.cli import choices
from batchctl.cli.options import table_file

CacheOpt = Annotated[
    str | None,
    typer.Option("--cache", metavar="off|auto", autocompletion=choices.complete_cache,
                 help="Prompt caching: auto adds a 1-hour cache_control marker at the end of the "
                 "prefix each group of requests shares, in the bodies sent (never in the file), "
                 "and sends each group's first request first, as a warm-up batch (--no-warmup "
                 "skips it); off (the default) sends the requests as written. --dry-run shows "
                 "the plan."),
]
NoWarmupOpt = Annotated[
    bool,
    typer.Option("--no-warmup", help="With --cache auto: send the whole job at once, without "
                 "first sending each group's first request as a warm-up batch of its own."),
]
WarmupTimeoutOpt = Annotated[
    float | None,
    typer.Option("--warmup-timeout", metavar="SECONDS", min=0, show_default=False,
                 help="With --cache auto: wait at most this long for the warm-up batch to end "
                 "before sending the rest anyway (default: 1800, 30 minutes)."),
]
CacheMinimumsOpt = Annotated[
    Path | None, table_file("--cache-minimums", "minimums.json", "minimum cacheable lengths")]

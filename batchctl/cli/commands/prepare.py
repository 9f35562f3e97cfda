"""`batchctl prepare`: plain prompts (text lines, a CSV column, files) -> a request file."""

from __future__ import annotations

import tempfile
from typing import Annotated

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.iostreams import names_std
from batchctl.cli.options import AllowUnknownModelOpt
from batchctl.cli.render import output
from batchctl.cli.render.events import drive
from batchctl.core.events import Data

# The spec and its defaults only: the reader (prepare.py) loads when the command runs, not for
# `batchctl --help`.
from batchctl.core.plural import counted
from batchctl.core.requests import prepare_spec as spec_

_SPOOL_CHUNK = 1 << 20


def prepare(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            help="A text file with one prompt per line, a CSV file with --column, or - for "
            "stdin. Not with --files.",
            show_default=False,
            metavar="FILE|-",
        ),
    ] = None,
    column: Annotated[
        str | None,
        typer.Option("--column", help="Read FILE as CSV (.tsv: tab-separated) with a header; "
                     "this column holds the prompt.", show_default=False, metavar="COLUMN"),
    ] = None,
    id_column: Annotated[
        str | None,
        typer.Option("--id-column", help="CSV column to take custom_ids from (made valid and "
                     "unique). Default: row-N.", show_default=False, metavar="COLUMN"),
    ] = None,
    files: Annotated[
        str | None,
        typer.Option("--files", metavar="GLOB", help="One request per file matching this glob (quote it; ** "
                     "recurses). custom_id: the path without extension.", show_default=False),
    ] = None,
    template: Annotated[
        str,
        typer.Option("--template", help="The prompt, with {text} where the input goes ({name}: "
                     "the file name with --files; {COLUMN}: any CSV column).", metavar="TEXT"),
    ] = spec_.DEFAULT_TEMPLATE,
    model: Annotated[
        str,
        typer.Option("--model", "-m", envvar=spec_.MODEL_ENV, help="Model of every request."),
    ] = spec_.DEFAULT_MODEL,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", metavar="N", help="max_tokens of every request.", min=1)
    ] = spec_.DEFAULT_MAX_TOKENS,
    system: Annotated[
        str | None,
        typer.Option("--system", help="A system prompt for every request.", show_default=False,
                     metavar="TEXT"),
    ] = None,
    id_prefix: Annotated[
        str | None,
        typer.Option("--id-prefix", help="Start every custom_id with this (default: line- for "
                     "text, row- for CSV rows).", show_default=False, metavar="PREFIX"),
    ] = None,
    allow_unknown_model: AllowUnknownModelOpt = False,
) -> None:
    """Turn plain prompts into a request file, written to stdout.

    Nothing is written unless the whole input is good: problems are reported as FILE:LINE on
    stderr (exit 3); a --column that is not in the CSV header is a usage error (exit 2). The output
    is JSON lines.

    Example:

        batchctl prepare prompts.txt --max-tokens 300 | batchctl submit -
    """
    from batchctl.core.requests import prepare as core

    spec = spec_.PrepareSpec(
        source=file,
        column=column,
        id_column=id_column,
        files_glob=files,
        template=template,
        model=model,
        max_tokens=max_tokens,
        system=system,
        id_prefix=id_prefix,
        allow_unknown_model=allow_unknown_model,
        flags=FLAGS,
    )
    core.check_spec(spec)
    run_parsed(ctx, run, spec)


def run(actx: AppContext, spec: spec_.PrepareSpec) -> None:
    """Prepare's options are core's own value, ``PrepareSpec``."""
    from batchctl.core.requests import prepare as core

    stdin = names_std(spec.source)
    if stdin and actx.stdin_tty:
        output.info(actx, "reading prompts from the terminal, one per line; end with Ctrl-D")
    # Spooled so that nothing reaches stdout (and a `| batchctl submit -`) unless all is good.
    with tempfile.TemporaryFile(prefix="batchctl-prepare-") as spool:
        made = core.prepare(spec, stdin=actx.io.stdin_bytes() if stdin else None,
                            remember_in=actx.settings.state_dir)
        result = drive(actx, made, lambda event: spool.write(event.data)
                       if isinstance(event, Data) else None)
        spool.seek(0)
        output.write_bytes(iter(lambda: spool.read(_SPOOL_CHUNK), b""))
    _summary(actx, spec, result)


def _summary(actx: AppContext, spec: spec_.PrepareSpec, result: spec_.Prepared) -> None:
    output.success(
        actx,
        f"prepared {counted(result.requests, 'request')} "
        f"(model {spec.model}, max_tokens {spec.max_tokens})",
    )
    if result.renamed or result.deduplicated:
        parts = []
        if result.renamed:
            parts.append(f"{result.renamed} made valid")
        if result.deduplicated:
            parts.append(f"{result.deduplicated} made unique")
        output.warn(
            actx, f"custom_ids changed: {', '.join(parts)}; e.g. " + "; ".join(result.examples)
        )


def register(app: typer.Typer) -> None:
    app.command("prepare")(prepare)

"""`batchctl results ID|JOB`: stream results to stdout or a file, as JSONL or CSV, and summarise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.context import AppContext, app_context, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import (
    ExtractOpt,
    FormatOpt,
    IdColumnOpt,
    JoinDataArg,
    JoinOpt,
    JsonlOpt,
    OnlyOpt,
    OrderOpt,
    OutputOpt,
    PricesOpt,
    RefArg,
    SummaryJsonOpt,
    ThinkingOpt,
    WriteOptions,
)
from batchctl.cli.render import shared
from batchctl.core.errors import UsageError

if TYPE_CHECKING:
    pass

HELP = (
    "Stream the results of a batch (or of every part of a job, in order) to stdout or -o FILE.\n\n"
    "JSONL by default: without --only, --order, --merge-retries or --extract it is the API's bytes, "
    "unchanged. CSV with --format csv or -o FILE.csv: one row per request, RFC 4180, in the request "
    "file's order when this store tracks the batch and has its file. A file is "
    "written atomically (never half-written) and its batches are marked collected. A summary "
    "(counts, tokens, estimated cost at batch rates) goes to stderr. Exit 8 if a batch has not "
    "ended; 5 if its results were archived (29 days after creation)."
)

MergeOpt = Annotated[
    bool,
    typer.Option("--merge-retries",
                 help="For every request, its newest result across the batch and its retries "
                 "(retry-failed, recursively)."),
]


def results_command(
    ctx: typer.Context,
    ref: RefArg,
    data: JoinDataArg = None,
    out: OutputOpt = None,
    fmt: FormatOpt = None,
    only: OnlyOpt = None,
    order: OrderOpt = None,
    merge_retries: MergeOpt = False,
    prices_file: PricesOpt = None,
    extract: ExtractOpt = None,
    thinking: ThinkingOpt = False,
    join: JoinOpt = False,
    id_column: IdColumnOpt = None,
    summary_json: SummaryJsonOpt = None,
    json_: JsonlOpt = False,
) -> None:
    """`batchctl results`: see HELP."""
    from batchctl.core.results.options import Given, build_options

    if data is not None and not join:
        raise UsageError(f"unexpected argument {str(data)!r}: a data file goes with --join",
                         hint=f"batchctl results {ref} --join {data} --id-column COLUMN")
    options = build_options(Given(
        out=out, fmt=fmt, only=only, order=order, merge_retries=merge_retries,
        prices_file=prices_file, json_=json_, extract=extract, thinking=thinking,
        join=(str(data) if data is not None else "") if join else None, id_column=id_column,
        state_dir=app_context(ctx).settings.state_dir, flags=FLAGS,
    ))
    run_parsed(ctx, run, ResultsOptions(ref, WriteOptions(options, out, json_), summary_json))


@dataclass(frozen=True)
class ResultsOptions:
    ref: str
    write: WriteOptions
    summary_json: Path | None


def run(actx: AppContext, opts: ResultsOptions) -> None:
    write = opts.write
    shared.export_results(actx, opts.ref, write.export, write.out,
                          summary_json=opts.summary_json, json_=write.json)


def register(app: typer.Typer) -> None:
    app.command("results", help=HELP)(results_command)

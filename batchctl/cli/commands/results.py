"""`batchctl results ID|JOB`: stream results to stdout or a file, as JSONL or CSV, and summarise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.options import (
    ColumnsOpt,
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
)
from batchctl.cli.parsed import WriteOptions
from batchctl.cli.render import shared

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
    columns: ColumnsOpt = None,
    summary_json: SummaryJsonOpt = None,
    json_: JsonlOpt = False,
) -> None:
    """`batchctl results`: see HELP."""
    write = WriteOptions.parse(
        ctx, f"results {ref}", data=data, join=join, id_column=id_column, columns=columns,
        out=out, fmt=fmt, only=only, order=order, prices_file=prices_file, extract=extract,
        thinking=thinking, summary_json=summary_json, json_=json_, merge_retries=merge_retries)
    run_parsed(ctx, run, ResultsOptions(ref, write))


@dataclass(frozen=True)
class ResultsOptions:
    ref: str
    write: WriteOptions


def run(actx: AppContext, opts: ResultsOptions) -> None:
    write = opts.write
    shared.export_results(actx, opts.ref, write.export, write.out,
                          summary_json=write.summary_json, json_=write.json)


def register(app: typer.Typer) -> None:
    app.command("results", help=HELP)(results_command)

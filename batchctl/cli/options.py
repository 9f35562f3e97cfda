"""Option aliases shared by several commands: each defined once, reused with ``Annotated``
(the values their shared flags are parsed into are ``batchctl.cli.parsed``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchctl.cli import choices
from batchctl.cli.iostreams import names_std

if TYPE_CHECKING:
    from batchctl.core.workflows.hooks import Hook


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
            environ=os.environ,
        )
    except Exception:  # noqa: BLE001 - a half-typed flag must not break the shell's completion
        return []
    return candidates(settings.state_dir, base_url=settings.base_url, incomplete=incomplete)


JsonOpt = Annotated[
    bool, typer.Option("--json", help="Write one JSON object per line to stdout.")
]
WideOpt = Annotated[
    bool,
    typer.Option("--wide", "-w", help="On a terminal, show ids whole (the table shortens them)."),
]
# results and run: their data is JSON lines already; --json puts the summary on stdout when -o
# takes the results (stdout is otherwise empty then).
JsonlOpt = Annotated[
    bool,
    typer.Option("--json", help="With -o FILE: the summary (counts, error types, tokens, cost, "
                 "path) as one JSON object on stdout. The results are JSON lines (not CSV)."),
]
RunJsonOpt = Annotated[
    bool,
    typer.Option("--json", help="With -o FILE: the summary (counts, error types, tokens, cost, "
                 "path) as one JSON object on stdout; with --dry-run: the plan as JSON records. "
                 "The results are JSON lines (not CSV)."),
]
YesOpt = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Do not ask for confirmation (required without a terminal)."),
]
# Path checks in batchctl's words (Typer's exists=, dir_okay=, file_okay= say them in Click's).
def a_file(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
    """A file, if anything is there (not a directory)."""
    from batchctl.cli.usage import check_path

    check_path(ctx, param, value, exists=False, kind="file")
    return value


def an_existing_file(ctx: typer.Context, param: typer.CallbackParam,
                     value: Path | None) -> Path | None:
    from batchctl.cli.usage import check_path

    check_path(ctx, param, value, exists=True, kind="file")
    return value


def a_dir(ctx: typer.Context, param: typer.CallbackParam, value: Path | None) -> Path | None:
    """A directory, if anything is there (not a file)."""
    from batchctl.cli.usage import check_path

    check_path(ctx, param, value, exists=False, kind="dir")
    return value


def _dash_is_stdout(ctx: typer.Context, param: typer.CallbackParam,
                    value: Path | None) -> Path | None:
    """``-o -`` is stdout, as with every Unix tool: the same as no ``-o``."""
    return None if names_std(value) else a_file(ctx, param, value)


OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FILE",
        help="Write to this file (atomically: a temp file beside it, renamed when complete; a "
        "symlink's target is replaced, a device or FIFO is written in place; - is stdout).",
        callback=_dash_is_stdout,
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
    typer.Option("--timeout", metavar="SECONDS", min=0,
                 help="Stop waiting after this many seconds (exit 8)."),
]
IntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--interval",
        metavar="SECONDS",
        help="Seconds between polls (default: 5 s, backing off to 60 s on long waits).",
        min=0.1,
    ),
]
def a_command(value: str | None) -> str | None:
    """A hook's command: not blank."""
    if value is not None and not value.strip():
        raise typer.BadParameter("the command is empty")
    return value


OnEndOpt = Annotated[
    str | None,
    typer.Option(
        "--on-end", metavar="CMD", callback=a_command, show_default=False,
        help="Run CMD (with /bin/sh -c) for each job as it ends (run: once its results are "
        "written). It gets the job in BATCHCTL_* variables (see the README), stdin from "
        "/dev/null; its output goes to stderr. A hook that succeeded never runs twice; if it "
        "fails, exit 11, and the next collect (or the same command) runs it again.",
    ),
]


def hook(command: str | None, trigger: str, flag: str) -> Hook | None:
    """The hook a command was given (``flag``: the option's key in FLAGS), with the
    environment it inherits; None if none was."""
    if command is None:
        return None
    from batchctl.cli.flags import FLAGS
    from batchctl.core.workflows.hooks import Hook

    return Hook(command, trigger, FLAGS[flag], dict(os.environ))


LabelOpt = Annotated[
    str | None,
    typer.Option("--label", metavar="TEXT", help="A name for this job, shown by status and list."),
]
RefsArg = Annotated[
    list[str],
    typer.Argument(
        help="Batch ids (msgbatch_...) or job ids (job_...).",
        show_default=False,
        metavar="ID|JOB",
        autocompletion=complete_refs,
    ),
]
RefArg = Annotated[
    str,
    typer.Argument(
        help="A batch id (msgbatch_...) or a job id (job_...).",
        show_default=False,
        metavar="ID|JOB",
        autocompletion=complete_refs,
    ),
]
OptRefsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Batch ids (msgbatch_...) or job ids (job_...). Default: every tracked batch "
        "whose results were not collected.",
        show_default=False,
        metavar="ID|JOB",
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
        callback=a_file,
    ),
]

# -- submit (and run) -------------------------------------------------------------------------
# batchctl.core.requests.scan.DEFAULT_MAX_REQUESTS / DEFAULT_MAX_BYTES, repeated here so that
# `batchctl --help` does not import the request reader (tests check they agree).
DEFAULT_MAX_REQUESTS = 100_000
DEFAULT_MAX_BYTES = "250MB"

FileArg = Annotated[
    str,
    typer.Argument(
        help="A JSONL request file, or - for stdin. One request per line: "
        '{"custom_id", "params"} or OpenAI-style {"custom_id", "method", "url", "body"}.',
        show_default=False,
        metavar="FILE|-",
    ),
]
MaxRequestsOpt = Annotated[
    int,
    typer.Option("--max-requests", metavar="N", help="At most this many requests per batch.", min=1,
                 max=DEFAULT_MAX_REQUESTS),
]
MaxBytesOpt = Annotated[
    str,
    typer.Option("--max-bytes", metavar="SIZE",
                 help="At most this much request body per batch: 250MB, 10k, 1MiB..."),
]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Validate and print what would be sent, with estimated tokens "
                 "and cost; send nothing (no key needed)."),
]
BetaOpt = Annotated[
    list[str] | None,
    typer.Option("--beta", metavar="NAME", help="Send with this anthropic-beta (repeatable)."),
]
ApiVersionOpt = Annotated[
    str | None,
    typer.Option("--api-version", metavar="DATE", envvar="BATCHCTL_API_VERSION",
                 autocompletion=choices.complete_api_version,
                 help="The anthropic-version to send with the create and whose rules every "
                 "request is checked against (default: the SDK's, 2026-10-21; 2023-06-01 still "
                 "accepts temperature, top_p and top_k)."),
]
def table_file(flag: str, table: str, what: str) -> Any:
    """An option naming a table file in the form of a built-in one, whose models replace or
    add to the built-in ``what``."""
    return typer.Option(flag, metavar="FILE", callback=a_file,
                        help=f"A model table in the form of the built-in {table}; its models "
                        f"replace or add to the built-in {what}.")


LimitsOpt = Annotated[Path | None, table_file("--limits", "models.json", "output-token limits")]
AllowUnknownModelOpt = Annotated[
    bool,
    typer.Option("--allow-unknown-model",
                 help="Accept a model id close to a known one (a model newer than the table)."),
]
AllProblemsOpt = Annotated[
    bool, typer.Option("--all-problems", help="List every problem in the file, not the first 50."),
]
LiftBetasOpt = Annotated[
    bool,
    typer.Option("--lift-betas", help="Accept a betas list inside params: its names go in the "
                 "anthropic-beta header of the create, for every request of the batch."),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Submit even if this content was already submitted."),
]

MaxQueuedOpt = Annotated[
    int | None,
    typer.Option("--max-queued", metavar="N", min=1, show_default=False,
                 help="Keep at most N of this job's requests in batches not yet ended (a margin "
                 "in the API's processing queue for other work); the rest wait, and wait, run, "
                 "collect or the same submit send them as batches end."),
]

# -- results (and run) ------------------------------------------------------------------------
FormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="jsonl|csv", autocompletion=choices.complete_format,
                 help="Output format. Default: from the -o extension (.jsonl, .ndjson = JSONL; "
                 ".csv = CSV; another one is refused unless --format is given), else JSONL."),
]
OnlyOpt = Annotated[
    str | None,
    typer.Option("--only", metavar="TYPES", autocompletion=choices.complete_only,
                 help="Only these result types, comma-separated: succeeded, errored, canceled, "
                 "expired."),
]
OrderOpt = Annotated[
    str | None,
    typer.Option("--order", metavar="api|input", autocompletion=choices.complete_order,
                 help="api: as the API sends them (no fixed order); input: the request file's "
                 "order (for a job, across its parts), in bounded memory. Default: input for "
                 "CSV when the request file is at hand, api otherwise.", show_default=False),
]
ExtractOpt = Annotated[
    str | None,
    typer.Option("--extract", metavar="json|tool:NAME", autocompletion=choices.complete_extract,
                 help="Structured answers: json takes the first tool_use input, else the JSON "
                 "in the text (a ```json block, or the whole text); tool:NAME that tool's input. "
                 "CSV: its top-level keys as json.KEY columns, plus extract_error. JSONL: "
                 "\"extracted\" and \"extract_error\" beside the untouched result."),
]
ThinkingOpt = Annotated[
    bool,
    typer.Option("--thinking", help="CSV: add a thinking column (the reply's thinking blocks)."),
]
JoinOpt = Annotated[
    bool,
    typer.Option("--join", help="Write every row of DATA (the argument after --join: CSV, or "
                 ".jsonl), in its order, its columns first, then the answer columns; rows "
                 "without a result are 'missing'. For a job made by `prepare` from a CSV, "
                 "--join alone joins to that CSV."),
]
JoinDataArg = Annotated[
    Path | None,
    typer.Argument(metavar="DATA", help="With --join: the data file to join the answers to.",
                   show_default=False, callback=an_existing_file),
]
IdColumnOpt = Annotated[
    str | None,
    typer.Option("--id-column", metavar="COLUMN",
                 help="With --join: the column (JSONL: key) of DATA that holds the custom_id.",
                 show_default=False),
]
ColumnsOpt = Annotated[
    str | None,
    typer.Option("--columns", metavar="LIST", autocompletion=choices.complete_columns,
                 help="CSV and --join: the answer columns to write, comma-separated, in this "
                 "order (a name batchctl does not know is refused with the list). Default: every "
                 "CSV column (thinking only with --thinking); with --join, text,result_type.",
                 show_default=False),
]
MaxCostOpt = Annotated[
    str | None,
    typer.Option("--max-cost", metavar="USD",
                 help="Refuse (exit 10, nothing sent) when the worst-case cost (input estimated, "
                 "output at max_tokens, batch rates) is above USD. Default: $BATCHCTL_MAX_COST.",
                 show_default=False),
]
SummaryJsonOpt = Annotated[
    Path | None,
    typer.Option("--summary-json", metavar="FILE",
                 help="Also write the summary (counts, error types, tokens, cost, output path) "
                 "to FILE as JSON, for CI systems.", callback=a_file, show_default=False),
]
CountTokensOpt = Annotated[
    bool,
    typer.Option("--count-tokens", help="With --dry-run: count input tokens exactly with the API's "
                 "free count-tokens endpoint, once per distinct prompt (needs a key)."),
]

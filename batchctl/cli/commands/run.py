"""`batchctl run FILE|-`: submit, wait and fetch the results in one step (the CI one-liner).

The workflow is ``batchctl.core.workflows.run.run``; this module parses, shows progress and results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from batchctl.cli.cacheoptions import CacheMinimumsOpt, CacheOpt, NoWarmupOpt, WarmupTimeoutOpt
from batchctl.cli.context import AppContext, app_context, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REQUESTS,
    AllowUnknownModelOpt,
    AllProblemsOpt,
    ApiVersionOpt,
    BetaOpt,
    ColumnsOpt,
    CountTokensOpt,
    DryRunOpt,
    ExitStatusOpt,
    ExtractOpt,
    FileArg,
    ForceOpt,
    FormatOpt,
    IdColumnOpt,
    IntervalOpt,
    JoinDataArg,
    JoinOpt,
    LabelOpt,
    LiftBetasOpt,
    LimitsOpt,
    MaxBytesOpt,
    MaxCostOpt,
    MaxQueuedOpt,
    MaxRequestsOpt,
    OnEndOpt,
    OnlyOpt,
    OrderOpt,
    OutputOpt,
    PricesOpt,
    RunJsonOpt,
    SummaryJsonOpt,
    ThinkingOpt,
    TimeoutOpt,
    hook,
)
from batchctl.cli.parsed import SendOptions, WriteOptions
from batchctl.cli.render import output, shared
from batchctl.cli.render.events import drive
from batchctl.core.plural import counted, plural

if TYPE_CHECKING:
    from batchctl.cli.render.hooks import HookView
    from batchctl.cli.render.sending import SendingScreen
    from batchctl.cli.render.wait_view import WaitScreen
    from batchctl.core.events import Event
    from batchctl.core.submit.submit import SubmitResult
    from batchctl.core.workflows.hooks import Hook

HELP = (
    "Submit a request file, wait for its batches to end, and write their results: the whole "
    "job in one command, for CI steps and one-liners.\n\n"
    "Results go to stdout as JSONL, or to -o FILE (.csv = CSV, its rows in the request file's "
    "order; --order api for the API's), written atomically; --join DATA writes DATA's rows with "
    "their answers, as results --join does. Progress and summaries go to stderr. Piped, with "
    "-o FILE (and no --json), stdout gets the job id once it is submitted, then the file's "
    "absolute path once it is written, one per line. Running the same command again (after a "
    "crash, Ctrl-C or --timeout) picks up the job already submitted instead of sending it "
    "twice. Exit 8 if --timeout elapsed first; with --exit-status, 9 if requests ended "
    "errored, expired or canceled (after the results are written). --on-end CMD runs CMD "
    "once the job's results are written (BATCHCTL_RESULTS_PATH: the -o file); exit 11 if it "
    "fails."
)
EMULATOR_INTERVAL = 1.0  # polls of the in-process emulator cost nothing


def run_command(
    ctx: typer.Context,
    file: FileArg,
    data: JoinDataArg = None,
    out: OutputOpt = None,
    fmt: FormatOpt = None,
    only: OnlyOpt = None,
    order: OrderOpt = None,
    timeout: TimeoutOpt = None,
    interval: IntervalOpt = None,
    exit_status: ExitStatusOpt = False,
    on_end: OnEndOpt = None,
    label: LabelOpt = None,
    beta: BetaOpt = None,
    lift_betas: LiftBetasOpt = False,
    api_version: ApiVersionOpt = None,
    limits_file: LimitsOpt = None,
    allow_unknown_model: AllowUnknownModelOpt = False,
    all_problems: AllProblemsOpt = False,
    force: ForceOpt = False,
    max_requests: MaxRequestsOpt = DEFAULT_MAX_REQUESTS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    max_cost: MaxCostOpt = None,
    max_queued: MaxQueuedOpt = None,
    cache: CacheOpt = None,
    cache_minimums: CacheMinimumsOpt = None,
    no_warmup: NoWarmupOpt = False,
    warmup_timeout: WarmupTimeoutOpt = None,
    dry_run: DryRunOpt = False,
    count_tokens: CountTokensOpt = False,
    prices_file: PricesOpt = None,
    extract: ExtractOpt = None,
    thinking: ThinkingOpt = False,
    join: JoinOpt = False,
    id_column: IdColumnOpt = None,
    columns: ColumnsOpt = None,
    summary_json: SummaryJsonOpt = None,
    json_: RunJsonOpt = False,
) -> None:
    """`batchctl run`: see HELP."""
    # Every option is checked before anything is sent.
    if data is not None and str(file).lower().endswith((".csv", ".tsv")):
        from batchctl.core.errors import UsageError  # `run --join data.csv requests.jsonl`

        raise UsageError(f"{str(file)!r} is where the request file goes: FILE (JSONL) comes "
                         "first, then the DATA to join to", hint=f"batchctl run {data} --join {file}")
    write = WriteOptions.parse(
        ctx, f"run {file}", data=data, join=join, id_column=id_column, columns=columns, out=out,
        fmt=fmt, only=only, order=order, prices_file=prices_file, extract=extract,
        thinking=thinking, summary_json=summary_json, json_=json_)
    sending = SendOptions.parse(
        ctx, file, dry_run=dry_run, count_tokens=count_tokens, max_requests=max_requests,
        max_bytes=max_bytes, max_cost=max_cost, label=label, beta=beta, lift_betas=lift_betas,
        api_version=api_version, limits_file=limits_file, allow_unknown_model=allow_unknown_model,
        all_problems=all_problems, force=force, max_queued=max_queued, cache=cache,
        cache_minimums=cache_minimums, no_warmup=no_warmup, warmup_timeout=warmup_timeout)
    if interval is None and app_context(ctx).settings.emulator:
        interval = EMULATOR_INTERVAL
    run_parsed(ctx, run, RunOptions(sending, write, timeout, interval, exit_status,
                                    hook(on_end, "run", "on_end")))


@dataclass(frozen=True)
class RunOptions:
    send: SendOptions
    write: WriteOptions
    timeout: float | None
    interval: float | None
    exit_status: bool
    hook: Hook | None = None  # --on-end


def run(actx: AppContext, opts: RunOptions) -> None:
    from functools import partial

    from batchctl.cli.render.hooks import HookView
    from batchctl.cli.render.wait_view import WaitScreen
    from batchctl.core.results.report import ResultsRequest
    from batchctl.core.workflows import run as workflow
    from batchctl.core.workflows.waiting import WaitOptions

    sending, write = opts.send, opts.write
    source = shared.request_input(actx, sending.file)
    if sending.dry_run:
        shared.show_send_dry_run(actx, source, sending, write.json)
        return
    options = workflow.RunOptions(
        sending.submission(source),
        WaitOptions(interval=opts.interval, timeout=opts.timeout, exit_status=opts.exit_status,
                    flags=FLAGS),
        ResultsRequest(write.export, "batchctl run", out=write.out,
                       step_summary=shared.step_summary_file(), summary_json=write.summary_json),
        results_args=write.results_args,
        hook=opts.hook,
    )
    from batchctl.cli.render.sending import SendingScreen

    hooks = HookView(actx, "the next collect runs it again, as does the same command (the job "
                           "is not submitted twice)")
    with SendingScreen(actx) as bar, WaitScreen(actx) as wait, shared.ResultsScreen(
            actx, write.export.format, write.out, json_=write.json) as written:
        show = partial(_show, actx, bar, wait, written, hooks, _for_scripts(actx, write))
        drive(actx, workflow.run(actx, options), show)
    if (failed_hook := hooks.failure()) is not None:
        raise failed_hook


def _for_scripts(actx: AppContext, write: WriteOptions) -> bool:
    """Whether stdout takes the job id and the results file's path: piped, with the results in
    a regular file (stdout is theirs otherwise, or --json's, and -o may name stdout itself)."""
    return not actx.stdout_tty and not write.json and write.regular_file


def _show(
    actx: AppContext, bar: SendingScreen, wait: WaitScreen, written: shared.ResultsScreen,
    hooks: HookView, for_scripts: bool, event: Event,
) -> None:
    """One event of `run`: its submit (the bytes sent), its wait, its end (``WaitEnded``), its
    results; piped (``for_scripts``), the job id on stdout once submitted and the file's path
    once written."""
    from batchctl.cli.render.wait_view import print_summary
    from batchctl.core.results.export import ResultsWritten
    from batchctl.core.submit.submit import JobSubmitted
    from batchctl.core.workflows.waiting import WaitEnded

    if bar.show(event):
        return
    if isinstance(event, JobSubmitted):
        output.info(actx, submitted_text(event.job, event.name))
        if for_scripts:
            output.write_lines([event.job.job_id])
    elif isinstance(event, WaitEnded):
        print_summary(actx, event.waited, fetch_hint=False)  # `run` fetches them itself
    elif hooks.show(event):
        pass
    elif not wait.show(event):
        written.show(event)
        if for_scripts and isinstance(event, ResultsWritten) and event.summary.path:
            output.write_lines([event.summary.path])


def submitted_text(job: SubmitResult, name: str) -> str:
    """What `run` says once its file is submitted (or found submitted before)."""
    from batchctl.core.submit.feed import WARMUP

    ids = ", ".join(r["id"] for r in job.records)
    count = sum(r["request_count"] for r in job.records)
    if job.pending:
        waiting = sum(p["request_count"] for p in job.pending)
        return (f"submitted {counted(count, 'request')} from {name} as job {job.job_id} "
                f"({ids or 'none yet'}); {len(job.pending)} more {plural('part', len(job.pending))} "
                f"({counted(waiting, 'request')}) {plural('goes', len(job.pending))} in "
                + ("once the warm-up batch has ended" if job.held == WARMUP
                   else "as the API's processing queue drains"))
    if job.existing:
        return (f"{name} was already submitted as job {job.job_id} ({ids}): waiting for it, "
                "not submitting again (--force submits anew)")
    return f"submitted {counted(count, 'request')} from {name} as job {job.job_id} ({ids})"


def register(app: typer.Typer) -> None:
    app.command("run", help=HELP)(run_command)

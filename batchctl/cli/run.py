"""`batchctl run FILE|-`: submit, wait and fetch the results in one step (the CI one-liner).

It composes the commands' own core functions: submit (validation, splitting, never twice),
the wait loop, and the results export (atomic file, summary). Re-running the same command after
a crash, a Ctrl-C or a --timeout answers the job already submitted (submit's content check)
and carries on waiting, then writes the results to the same place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from batchctl.cli import output
from batchctl.cli.context import AppContext, app_context
from batchctl.cli.options import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REQUESTS,
    BetaOpt,
    DryRunOpt,
    ExitStatusOpt,
    FileArg,
    ForceOpt,
    FormatOpt,
    IntervalOpt,
    JsonOpt,
    LabelOpt,
    MaxBytesOpt,
    MaxRequestsOpt,
    OnlyOpt,
    OrderOpt,
    OutputOpt,
    PricesOpt,
    TimeoutOpt,
)
from batchctl.core.errors import Interrupted, StillRunningError, UsageError

if TYPE_CHECKING:
    from batchctl.core.jobs.submit import SubmitResult

HELP = (
    "Submit a request file, wait for its batches to end, and write their results: the whole "
    "job in one command, for CI steps and one-liners.\n\n"
    "Results go to stdout as JSONL, or to -o FILE (.csv = CSV), written atomically. Progress and "
    "summaries go to stderr. Running the same command again (after a crash, Ctrl-C or "
    "--timeout) picks up the job already submitted instead of sending it twice. Exit 8 if "
    "--timeout elapsed first; with --exit-status, 9 if requests ended errored, expired or "
    "canceled (after the results are written)."
)
EMULATOR_INTERVAL = 1.0  # polls of the in-process emulator cost nothing


def run_command(
    ctx: typer.Context,
    file: FileArg,
    out: OutputOpt = None,
    fmt: FormatOpt = None,
    only: OnlyOpt = None,
    order: OrderOpt = "api",
    timeout: TimeoutOpt = None,
    interval: IntervalOpt = None,
    exit_status: ExitStatusOpt = False,
    label: LabelOpt = None,
    beta: BetaOpt = None,
    force: ForceOpt = False,
    max_requests: MaxRequestsOpt = DEFAULT_MAX_REQUESTS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    dry_run: DryRunOpt = False,
    prices_file: PricesOpt = None,
    json_: JsonOpt = False,
) -> None:
    """`batchctl run`: see HELP."""
    from batchctl.cli import results as results_cli
    from batchctl.cli import submit as submit_cli
    from batchctl.cli.progress import watch
    from batchctl.core.jobs import lifecycle

    actx = app_context(ctx)
    # Every option is checked before anything is sent.
    options = results_cli.build_options(
        out=out, fmt=fmt, only=only, order=order, prices_file=prices_file, json_=json_
    )
    if out is not None and not out.absolute().parent.is_dir():
        raise UsageError(f"cannot write {out}: its folder does not exist")
    submitted = submit_cli.submit_step(
        actx, file, max_requests=max_requests, max_bytes=max_bytes, dry_run=dry_run,
        label=label, beta=beta, force=force, json_=json_, info_off_tty=True,
    )
    if submitted is None:
        return
    scan, job = submitted
    api, store = actx.api(), actx.store()
    _say_submitted(actx, job, scan.display_name)
    targets = lifecycle.resolve_targets(store, [job.job_id], base_url=api.base_url)
    if interval is None and actx.settings.emulator:
        interval = EMULATOR_INTERVAL
    again = f"run the same command again: it picks up job {job.job_id} instead of submitting"
    try:
        records, all_ended = watch(actx, targets, interval=interval, timeout=timeout,
                                   fetch_hint=False)
    except Interrupted as exc:
        raise Interrupted(exc.message, hint=again) from None
    if not all_ended:
        running = sum(not lifecycle.is_ended(r) for r in records)
        raise StillRunningError(
            f"gave up waiting after --timeout {timeout or 0:g} s; "
            f"{lifecycle.batches_text(running)} of job {job.job_id} still running",
            hint=again,
        )
    results_cli.export(actx, api, store, job.job_id, options, out)
    if exit_status:
        lifecycle.check_exit_status(records)


def _say_submitted(actx: AppContext, job: SubmitResult, name: str) -> None:
    ids = ", ".join(r["id"] for r in job.records)
    count = sum(r["request_count"] for r in job.records)
    if job.existing:
        output.info(actx, f"{name} was already submitted as job {job.job_id} ({ids}): "
                          "waiting for it, not submitting again (--force submits anew)")
    else:
        output.info(actx, f"submitted {count:,} requests from {name} as job {job.job_id} ({ids})")


def register(app: typer.Typer) -> None:
    app.command("run", help=HELP)(run_command)

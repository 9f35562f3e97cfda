"""`batchctl wait ID|JOB ...`: poll until the batches end, showing progress on stderr."""

from __future__ import annotations

import typer

from batchctl.cli import output
from batchctl.cli.context import app_context
from batchctl.cli.options import ExitStatusOpt, IntervalOpt, JsonOpt, RefsArg, TimeoutOpt


def wait(
    ctx: typer.Context,
    refs: RefsArg,
    timeout: TimeoutOpt = None,
    interval: IntervalOpt = None,
    exit_status: ExitStatusOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Wait until batches have ended: progress bars on a terminal, one line per change off one.

    A JOB's parts not sent yet (the API's processing queue was full) are sent as the queue
    drains, and waited for. Many batches are polled through list pages, at most about one
    call a second on average; a 429 is waited out as its retry-after asks.
    Ends with a summary on stderr and the command that fetches the results. stdout stays empty
    unless --json (then the final batch records). Exit 8 if --timeout elapsed first; with
    --exit-status, 9 if requests ended errored, expired or canceled. Ctrl-C (exit 130) stops
    waiting; the batches keep running.
    """
    from batchctl.cli.progress import resume_step, watch
    from batchctl.core.errors import StillRunningError
    from batchctl.core.jobs import lifecycle

    actx = app_context(ctx)
    targets = lifecycle.resolve_targets(actx.store(), refs, base_url=actx.settings.base_url)
    jobs = lifecycle.job_refs(refs)  # their parts not sent yet are sent as the queue drains
    actx.api()  # no key: exit 4 before any display starts
    records, all_ended = watch(actx, targets, jobs=jobs, interval=interval, timeout=timeout)
    if json_:
        output.write_json(records)
    if not all_ended:
        running = [r for r in records if not lifecycle.is_ended(r)]
        raise StillRunningError(
            f"gave up waiting after --timeout {timeout or 0:g} s; "
            f"{lifecycle.batches_text(len(running))} still running",
            next_steps=[resume_step(targets, jobs)],
        )
    if exit_status:  # the summary above has said what helps next
        lifecycle.check_exit_status(records)


def register(app: typer.Typer) -> None:
    app.command("wait")(wait)

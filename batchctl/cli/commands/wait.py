"""`batchctl wait ID|JOB ...`: poll until the batches end, showing progress on stderr."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import (
    ExitStatusOpt,
    IntervalOpt,
    JsonOpt,
    OnEndOpt,
    RefsArg,
    TimeoutOpt,
    hook,
)
from batchctl.cli.render import output
from batchctl.cli.render.events import drive

if TYPE_CHECKING:
    from batchctl.core.events import Event
    from batchctl.core.workflows.hooks import Hook

#: When a failed --on-end hook runs again.
AGAIN = ("the next collect runs it again, as does the same wait (an ended job is not waited "
         "for)")


def wait(
    ctx: typer.Context,
    refs: RefsArg,
    timeout: TimeoutOpt = None,
    interval: IntervalOpt = None,
    exit_status: ExitStatusOpt = False,
    on_end: OnEndOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Wait until batches have ended: progress bars on a terminal, one line per change off one.

    A JOB's parts not sent yet (the API's processing queue was full) are sent as the queue
    drains, and waited for. Many batches are polled through list pages, at most about one
    call a second on average; a 429 is waited out as its retry-after asks.
    Ends with a summary on stderr and the command that fetches the results. stdout stays empty
    unless --json (then the final batch records). Exit 8 if --timeout elapsed first; with
    --exit-status, 9 if requests ended errored, expired or canceled. Ctrl-C (exit 130) stops
    waiting; the batches keep running. --on-end CMD runs CMD for each job that ended (exit 11
    if it fails, unless the wait has its own code to end with): a job's hook runs as soon as
    the job has ended, while the wait goes on for the others.
    """
    run_parsed(ctx, run, WaitOptions(refs, timeout, interval, exit_status, json_,
                                     hook(on_end, "wait", "on_end")))


@dataclass(frozen=True)
class WaitOptions:
    refs: list[str]
    timeout: float | None
    interval: float | None
    exit_status: bool
    json: bool
    hook: Hook | None = None  # --on-end


def run(actx: AppContext, opts: WaitOptions) -> None:
    from batchctl.cli.render.hooks import HookView
    from batchctl.cli.render.wait_view import WaitScreen, print_summary
    from batchctl.core.workflows import waiting

    options = waiting.WaitOptions(interval=opts.interval, timeout=opts.timeout,
                                  exit_status=opts.exit_status, flags=FLAGS)
    hooks = HookView(actx, AGAIN)

    def show(event: Event) -> None:
        if isinstance(event, waiting.WaitEnded):
            screen.close()
            print_summary(actx, event.waited)
        elif not hooks.show(event):
            screen.show(event)

    with WaitScreen(actx) as screen:
        waited = drive(actx, waiting.wait(actx, opts.refs, options, base_url=actx.settings.base_url,
                                          hook=opts.hook), show)
    if opts.json:
        output.write_json(waited.records)
    if waited.error is not None:  # with --exit-status, the summary has said what helps next
        raise waited.error
    if (failed_hook := hooks.failure()) is not None:
        raise failed_hook


def register(app: typer.Typer) -> None:
    app.command("wait")(wait)

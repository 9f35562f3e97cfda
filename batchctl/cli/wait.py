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

    Ends with a summary on stderr and the command that fetches the results. stdout stays empty
    unless --json (then the final batch records). Exit 8 if --timeout elapsed first; with
    --exit-status, 9 if requests ended errored, expired or canceled. Ctrl-C (exit 130) stops
    waiting; the batches keep running.
    """
    from batchctl.cli.progress import make_view, print_summary, suggest, unique_refs
    from batchctl.core import lifecycle
    from batchctl.core.errors import Interrupted, StillRunningError
    from batchctl.core.waiting import wait_for

    actx = app_context(ctx)
    store = actx.store()
    targets = lifecycle.resolve_targets(store, refs, base_url=actx.settings.base_url)
    api = actx.api()
    clock = actx.clock
    start = clock.time()
    resume = suggest(actx, "wait", *unique_refs(targets))
    view = make_view(actx, targets)
    try:
        with view:
            records = wait_for(
                api,
                store,
                targets,
                clock=clock,
                interval=interval,
                timeout=timeout,
                on_change=view.change,
                on_tick=view.tick,
                on_error=view.error,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; the batches keep running on the server", hint=f"resume with: {resume}"
        ) from None
    all_ended = print_summary(actx, records, targets, clock.time() - start)
    if json_:
        output.write_json(records)
    if not all_ended:
        running = [r for r in records if not lifecycle.is_ended(r)]
        raise StillRunningError(
            f"gave up waiting after --timeout {timeout or 0:g} s; "
            f"{lifecycle.batches_text(len(running))} still running",
            hint=f"resume with: {resume}",
        )
    if exit_status:
        lifecycle.check_exit_status(records)


def register(app: typer.Typer) -> None:
    app.command("wait")(wait)

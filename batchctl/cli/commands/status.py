"""`batchctl status [ID|JOB ...]`: the current state of batches, refreshed from the API."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import ExitStatusOpt, JsonOpt, OptRefsArg, WideOpt
from batchctl.cli.render import output
from batchctl.cli.render.events import api_notices
from batchctl.core.plural import counted


def status(
    ctx: typer.Context,
    refs: OptRefsArg = None,
    json_: JsonOpt = False,
    exit_status: ExitStatusOpt = False,
    wide: WideOpt = False,
) -> None:
    """Show the current state of batches (asks the API and updates the state store).

    With no argument: every tracked batch whose results have not been collected. Warns on
    stderr when a batch expires within the hour or its results will be archived within three
    days. With --exit-status: exit 8 if a batch is still running, 9 if one ended with errored,
    expired or canceled requests.
    """
    run_parsed(ctx, run, StatusOptions(refs or [], json_, exit_status, wide))


@dataclass(frozen=True)
class StatusOptions:
    refs: list[str]
    json: bool
    exit_status: bool
    wide: bool


def run(actx: AppContext, opts: StatusOptions) -> None:
    from batchctl.cli.render.batches import write_records
    from batchctl.core.workflows import status as core

    refs, json_ = opts.refs, opts.json
    base_url = actx.settings.base_url
    with api_notices(actx):
        report = core.report(actx, refs, base_url=base_url, exit_status=opts.exit_status,
                             flags=FLAGS)
    if report.empty:
        output.info(actx, f"no tracked batches waiting to be collected (for {base_url})")
        return
    # A job's parts not sent yet: records marked pending with --json and in the table (the
    # tab-separated rows stay one per batch); their counts on stderr either way.
    records = report.records
    write_records(actx, [*records, *report.pending] if json_ or actx.stdout_tty else records,
                  json_=json_, wide=opts.wide)
    for job_id, c in report.jobs:
        output.info(actx, job_counts_text(job_id, c))
    for message, step in report.warnings:
        if step is not None:
            message = f"{message}; {output.next_step(actx.settings, step)}"
        output.warn(actx, message)
    for exc in report.missing:
        # unnamed: a tracked batch the API no longer knows, said so, the rest shown
        output.warn(actx, exc.message if refs else
                    f"tracked, but the API no longer knows it: {exc.message}")
    if report.error is not None:
        raise report.error


def job_counts_text(job_id: str, c: dict[str, int]) -> str:
    """``job_x: 3 parts (7 requests): 1 pending (1 request), 2 sent (6), 1 ended (3)``."""
    def n(k: str) -> str:
        return f"{c[k + '_requests']:,}"

    total = c["pending_requests"] + c["sent_requests"]
    return (f"{job_id}: {counted(c['parts'], 'part')} ({counted(total, 'request')}): "
            f"{c['pending']} pending ({counted(c['pending_requests'], 'request')}), "
            f"{c['sent']} sent ({n('sent')}), {c['ended']} ended ({n('ended')})")


def register(app: typer.Typer) -> None:
    app.command("status")(status)

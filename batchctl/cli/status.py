"""`batchctl status [ID|JOB ...]`: the current state of batches, refreshed from the API."""

from __future__ import annotations

import typer

from batchctl.cli import output
from batchctl.cli.context import app_context
from batchctl.cli.options import ExitStatusOpt, JsonOpt, OptRefsArg, WideOpt


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
    from batchctl.cli.batchview import write_records
    from batchctl.core.jobs import lifecycle
    from batchctl.core.jobs.feed import job_reports

    actx = app_context(ctx)
    store = actx.store()
    base_url = actx.settings.base_url
    if refs:
        targets = lifecycle.resolve_targets(store, refs, base_url=base_url)
        jobs = lifecycle.job_refs(refs)
    else:  # every tracked batch not collected, and every job with parts not sent yet
        targets = lifecycle.tracked_targets(store, base_url=base_url)
        jobs = store.pending_jobs(base_url=base_url)
        if not targets and not jobs:
            output.info(actx, f"no tracked batches waiting to be collected (for {base_url})")
            return
    records, missing = lifecycle.refresh_all(actx.api(), store, targets, actx.clock.time())
    reports = job_reports(store, jobs)
    pending = [p for _, _, rows in reports for p in rows]
    # A job's parts not sent yet: records marked pending with --json and in the table (the
    # tab-separated rows stay one per batch); their counts on stderr either way.
    write_records(actx, [*records, *pending] if json_ or actx.stdout_tty else records,
                  json_=json_, wide=wide)
    for job_id, c, _ in reports:
        output.info(actx, job_counts_text(job_id, c))
    now = actx.clock.time()
    collected = {t.id for t in targets if t.row is not None and t.row.get("collected_at")}
    for rec in records:
        for message, step in lifecycle.warnings(rec, now, collected=rec["id"] in collected):
            if step is not None:
                message = f"{message}; {output.next_step(actx.settings, step)}"
            output.warn(actx, message)
    if missing:
        if not refs:  # a tracked batch the API no longer knows: say so, show the rest
            for exc in missing:
                output.warn(actx, f"tracked, but the API no longer knows it: {exc.message}")
        else:
            for exc in missing[1:]:
                output.warn(actx, exc.message)
            raise missing[0]
    if exit_status:
        from batchctl.core.jobs.advice import retry_steps

        failed = any(lifecycle.failed(r) for r in records)
        steps = retry_steps(actx.api(), targets, records) if failed else []
        lifecycle.check_exit_status(records, retry=steps)


def job_counts_text(job_id: str, c: dict[str, int]) -> str:
    """``job_x: 3 parts (7 requests): 1 pending (1 request), 2 sent (6), 1 ended (3)``."""
    def n(k: str) -> str:
        return f"{c[k + '_requests']:,}"

    total = c["pending_requests"] + c["sent_requests"]
    return (f"{job_id}: {c['parts']} parts ({total:,} requests): {c['pending']} pending "
            f"({n('pending')} requests), {c['sent']} sent ({n('sent')}), {c['ended']} ended "
            f"({n('ended')})")


def register(app: typer.Typer) -> None:
    app.command("status")(status)

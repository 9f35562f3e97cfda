"""`run`: submit a request file, wait for its batches, write their results, as one workflow.

It composes the steps the single commands use: ``send`` (validation, splitting, never twice),
the wait (``waiting.watch``, shown by the caller's ``view_for`` and ``shown``), and the results
step (``report.export_and_report``, written and shown as the caller's ``output`` says). Running
it again after a crash, a Ctrl-C or a --timeout answers the job already submitted (submit's
content check) and carries on waiting, then writes the results to the same place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from batchctl.core.deps import Deps
from batchctl.core.errors import Interrupted, NextStep, StillRunningError
from batchctl.core.notify import Notify
from batchctl.core.submit.send import Checks, Input, Limits, send
from batchctl.core.tracking import lifecycle
from batchctl.core.workflows import waiting

if TYPE_CHECKING:
    from batchctl.core.results.report import Output
    from batchctl.core.submit.submit import SubmitResult


def run(
    deps: Deps,
    source: Input,
    limits: Limits,
    *,
    label: str | None,
    betas: Sequence[str],
    force: bool,
    max_queued: int | None = None,
    timeout: float | None,
    exit_status: bool,
    results_args: Sequence[str] = (),
    notify: Notify,
    view_for: waiting.ViewFor,
    shown: Callable[[waiting.Waited], object],
    output: Output,
    interval: float | None = None,
    checks: Checks | None = None,
) -> None:
    """Submit ``source`` (or answer its job), wait for its batches to end (``view_for`` shows
    the wait, ``shown`` its end), then write the job's results as ``output`` says; with
    ``exit_status``, FailedRequestsError (9) after that if requests failed. ``results_args``:
    the `results` options that write the same output, for the hint after a Ctrl-C or a
    --timeout."""
    from batchctl.core.results.report import export_and_report
    from batchctl.core.results.summary import check_stops

    scan, job = send(deps, source, limits, label=label, betas=betas, force=force, notify=notify,
                     max_queued=max_queued, checks=checks)
    notify("info", submitted_text(job, scan.display_name))
    api, store = deps.api(), deps.store()
    targets = lifecycle.resolve_targets(store, [job.job_id], base_url=api.base_url)
    again = resume(job.job_id, force=force, results_args=results_args)
    try:
        waited = waiting.watch(deps, targets, [job.job_id], view_for=view_for, interval=interval,
                               timeout=timeout, notify=notify)
    except Interrupted as exc:
        raise Interrupted(exc.message, **again) from None
    shown(waited)
    records = waited.records
    if not waited.all_ended:
        running = sum(not lifecycle.is_ended(r) for r in records if r.get("id"))
        pending = sum(not r.get("id") for r in records)
        left = f" and {pending} part{'s' * (pending != 1)} not sent yet" if pending else ""
        raise StillRunningError(
            f"gave up waiting after --timeout {timeout or 0:g} s; "
            f"{lifecycle.batches_text(running)} of job {job.job_id} still running{left}",
            **again,
        )
    summary = export_and_report(deps, job.job_id, output, title=f"batchctl run {job.job_id}",
                                notify=notify)
    if exit_status:
        lifecycle.check_exit_status(records)
        check_stops(summary)  # refusals and cut-off answers: succeeded, yet failed


def resume(job_id: str, *, force: bool, results_args: Sequence[str]) -> dict[str, Any]:
    """How to carry on after a Ctrl-C or a --timeout, without ever submitting twice: the same
    command finds the job by its content, unless it had --force (it would submit anew): then
    `wait` for the job and write its `results`."""
    if not force:
        return {"hint": f"run the same command again: it picks up job {job_id} instead of "
                        "submitting (without --force)"}
    return {"next_steps": [
        NextStep("wait for it", "wait", (job_id,)),
        NextStep("then write its results", "results", (job_id, *results_args)),
    ]}


def submitted_text(job: SubmitResult, name: str) -> str:
    ids = ", ".join(r["id"] for r in job.records)
    count = sum(r["request_count"] for r in job.records)
    if job.pending:
        waiting = sum(p["request_count"] for p in job.pending)
        return (f"submitted {count:,} requests from {name} as job {job.job_id} ({ids or 'none yet'}); "
                f"{len(job.pending)} more parts ({waiting:,} requests) go in as the API's "
                "processing queue drains")
    if job.existing:
        return (f"{name} was already submitted as job {job.job_id} ({ids}): waiting for it, "
                "not submitting again (--force submits anew)")
    return f"submitted {count:,} requests from {name} as job {job.job_id} ({ids})"

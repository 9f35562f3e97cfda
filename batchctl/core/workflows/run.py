"""`run`: submit a request file, wait for its batches, write their results, as one workflow.

It composes the steps the single commands use: ``send`` (validation, splitting, never twice),
the wait (``waiting.watch``) and the results step (``report.export_and_report``), yielding their
events in turn for the caller to show. Running
it again after a crash, a Ctrl-C or a --timeout answers the job already submitted (submit's
content check) and carries on waiting, then writes the results to the same place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchctl.core.deps import Deps
from batchctl.core.errors import Interrupted, NextStep, StillRunningError
from batchctl.core.events import Events
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.submit.send import Submission, send
from batchctl.core.submit.submit import JobSubmitted
from batchctl.core.tracking import lifecycle
from batchctl.core.workflows import waiting

if TYPE_CHECKING:
    from batchctl.core.results.report import ResultsRequest
    from batchctl.core.workflows.hooks import Hook


@dataclass(frozen=True)
class RunOptions:
    """What `run` does: send ``submission``, wait as ``wait`` says, write the results as
    ``results`` says (its title is `run`'s); ``results_args``: the `results` options that write
    the same output, for the hint after a Ctrl-C or a --timeout; ``hook``: what to run once
    the results are written (batchctl.core.workflows.hooks)."""

    submission: Submission
    wait: waiting.WaitOptions
    results: ResultsRequest
    results_args: Sequence[str] = ()
    hook: Hook | None = None


def run(deps: Deps, options: RunOptions) -> Events[None]:
    """Submit the file (or answer its job: ``JobSubmitted``), wait for its batches to end (the
    wait's events, then ``WaitEnded``), then write the job's results (the results step's
    events), then run the hook for the job; with ``exit_status``, FailedRequestsError (9) after
    that if requests failed."""
    from dataclasses import replace

    from batchctl.core.results.report import export_and_report
    from batchctl.core.results.summary import check_stops

    join = options.results.options.join
    if join is not None:  # like every other option, checked before anything is sent
        from batchctl.core.results.join import check_ahead

        check_ahead(join, options.submission.source.path)
    force = options.submission.force
    if options.results.summary_json is not None:  # a usage error before anything is sent
        from batchctl.core.results.report import check_json_target

        check_json_target(options.results.summary_json, options.results.options.flags["summary_json"])
    scan, job = yield from send(deps, options.submission)
    yield JobSubmitted(job, scan.display_name)
    api, store = deps.api(), deps.store()
    targets = lifecycle.resolve_targets(store, [job.job_id], base_url=api.base_url)
    flags = options.submission.limits.flags
    again = resume(job.job_id, force=force, results_args=options.results_args, flags=flags,
                   keeps=identity_flags(options.submission))
    try:
        waited = yield from waiting.watch(deps, targets, [job.job_id], options.wait)
    except Interrupted as exc:
        raise Interrupted(exc.message, **again) from None
    yield waiting.WaitEnded(waited)
    records = waited.records
    if not waited.all_ended:
        running = sum(not lifecycle.is_ended(r) for r in records if r.get("id"))
        pending = sum(not r.get("id") for r in records)
        left = f" and {counted(pending, 'part')} not sent yet" if pending else ""
        raise StillRunningError(
            f"gave up waiting after {options.wait.flags['timeout']} {options.wait.timeout or 0:g} s; "
            f"{lifecycle.batches_text(running)} of job {job.job_id} still running{left}",
            **again,
        )
    request = replace(options.results, title=f"batchctl run {job.job_id}")
    summary = yield from export_and_report(deps, job.job_id, request)
    if options.hook is not None:
        from batchctl.core.workflows.hooks import ended_jobs, run_hooks

        out = options.results.out
        ended = ended_jobs(store, [], [job.job_id], records, base_url=api.base_url,
                           results_path=None if out is None else str(out.absolute()))
        yield from run_hooks(store, options.hook, ended)
    if options.wait.exit_status:
        lifecycle.check_exit_status(records)
        check_stops(summary)  # refusals and cut-off answers: succeeded, yet failed


def identity_flags(submission: Submission) -> list[str]:
    """The options given that make a job's identity beyond its file (its cache plan, its
    warm-up), as the caller names them: the same command without them is another job."""
    from batchctl.core.requests.cacheplan import AUTO

    caching, flags = submission.caching, submission.limits.flags
    if caching.mode != AUTO:
        return []
    keeps = [f"{flags['cache']} auto"]
    if not caching.warmup:
        keeps.append(flags["no_warmup"])
    if caching.minimums_file is not None:
        keeps.append(f"{flags['cache_minimums']} {caching.minimums_file}")
    return keeps


def resume(
    job_id: str, *, force: bool, results_args: Sequence[str], flags: Flags = KEYS,
    keeps: Sequence[str] = (),
) -> dict[str, Any]:
    """How to carry on after a Ctrl-C or a --timeout, without ever submitting twice: the same
    command finds the job by its content, unless it had --force (it would submit anew): then
    `wait` for the job and write its `results`. ``keeps``: the options that make the job's
    identity (``identity_flags``), named so that the command is run again with them."""
    if not force:
        them = "it" if len(keeps) == 1 else "them"
        kept = f", with {' '.join(keeps)} (another job without {them})" if keeps else ""
        return {"hint": f"run the same command again{kept}: it picks up job {job_id} instead "
                        f"of submitting (without {flags['force']})"}
    return {"next_steps": [
        NextStep("wait for it", "wait", (job_id,)),
        NextStep("then write its results", "results", (job_id, *results_args)),
    ]}

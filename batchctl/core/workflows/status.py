"""`status`: the current state of batches, asked of the API and remembered in the store.

``report`` is the whole of it: resolve the ID|JOB arguments (none: every tracked batch not yet
collected, and every job with parts not sent), refresh them (list pages when cheaper, see
``polling``), count each job's parts, find the expiry and archiving warnings, and with
``--exit-status`` the error to end with. It prints nothing and returns a ``StatusReport``; the
error to end with is returned too, so that what could be shown is shown first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import BatchctlError, NextStep, NotFoundError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.submit.feed import job_reports
from batchctl.core.tracking import lifecycle, polling

if TYPE_CHECKING:
    from batchctl.core.deps import Deps


@dataclass
class StatusReport:
    """What `status` found.

    ``records``: the batches as the API describes them now, in argument order; ``pending``: a
    record marked pending for each part of a job not sent yet; ``jobs``: (job id, counts of
    ``feed.job_counts``) per job; ``warnings``: (message, the step that helps or None);
    ``missing``: batches the API no longer knows, to warn about (with ID|JOB arguments, the
    first of them is ``error`` instead); ``error``: what to end with once all is shown (a 404
    of a named batch, or the ``--exit-status`` verdict), None for exit 0. ``empty``: nothing was
    named and nothing is tracked (the API was not asked)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    warnings: list[tuple[str, NextStep | None]] = field(default_factory=list)
    missing: list[NotFoundError] = field(default_factory=list)
    error: BatchctlError | None = None
    empty: bool = False


def report(
    deps: Deps, refs: Sequence[str], *, base_url: str, exit_status: bool = False,
    flags: Flags = KEYS,
) -> StatusReport:
    """`batchctl status [ID|JOB ...]` for the API at ``base_url`` (see the module); ``flags``:
    how the caller names the options its hints mention."""
    store = deps.store()
    if refs:
        targets = lifecycle.resolve_targets(store, refs, base_url=base_url, flags=flags)
        jobs = lifecycle.job_refs(refs)
    else:  # every tracked batch not collected, and every job with parts not sent yet
        targets = lifecycle.tracked_targets(store, base_url=base_url)
        jobs = store.pending_jobs(base_url=base_url)
        if not targets and not jobs:
            return StatusReport(empty=True)
    records, missing = polling.refresh_all(deps.api(), store, targets, deps.clock.time())
    out = StatusReport(records=records)
    for job_id, counts, pending in job_reports(store, jobs):
        out.jobs.append((job_id, counts))
        out.pending.extend(pending)
    now = deps.clock.time()
    collected = {t.id for t in targets if t.row is not None and t.row.get("collected_at")}
    for rec in records:
        out.warnings += lifecycle.warnings(rec, now, collected=rec["id"] in collected)
    if missing and refs:  # a named batch the API does not know: the first is the error
        out.error, out.missing = missing[0], missing[1:]
        return out
    out.missing = missing  # a tracked batch the API no longer knows: said, the rest shown
    if exit_status:
        from batchctl.core.workflows.advice import retry_steps

        failed = any(lifecycle.failed(r) for r in records)
        steps = retry_steps(deps.api(), targets, records) if failed else []
        out.error = lifecycle.exit_status_error(records, retry=steps)
    return out

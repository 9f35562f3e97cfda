"""retry-failed: pick a batch's failed requests, rebuild them from the file that produced it,
and submit them as a new batch whose parent is recorded.

Selected: ``errored`` results whose error type is worth retrying as-is (RETRYABLE_ERRORS; with
``all_errors``, every error type), ``expired`` results, and with ``include_canceled``,
``canceled`` ones. The lines are taken byte for byte from the request file recorded for the
batch, after checking that the file still has the sha256 it had when it was submitted
(StateError, exit 7, if not). One retry file and one job per parent batch (a JOB with failures
in several parts gives several), submitted through ``batchctl.core.submit.submit`` (never a second
path), so a second run of the same retry is answered with the batch the first one made.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchctl.core.api.download import apart, fetch_body, not_found_grace
from batchctl.core.atomic import atomic_file, check_target
from batchctl.core.clock import Clock
from batchctl.core.errors import StateError, UsageError
from batchctl.core.events import Event, Events, Note
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted, plural
from batchctl.core.results.lines import line_blocks, lines_of, parse_lines
from batchctl.core.results.selection import Source, fetch_sources
from batchctl.core.results.sources import FileChecks, check_file, iter_batch_lines
from batchctl.core.state.store import Store

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.deps import Deps

# errored results worth sending again unchanged; the rest (invalid_request_error,
# authentication_error, permission_error, billing_error, not_found_error, request_too_large...)
# fail again the same way until the request is fixed.
RETRYABLE_ERRORS = frozenset(
    {"api_error", "overloaded_error", "rate_limit_error", "timeout_error"}
)
RETRY_DIR = "retries"


@dataclass(frozen=True)
class Rules:
    all_errors: bool = False
    include_canceled: bool = False

    def classify(self, record: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """``(reason to retry, reason left out)`` of one results line; both None if it
        succeeded."""
        result = record.get("result")
        kind = result.get("type") if isinstance(result, dict) else None
        if kind == "succeeded":
            return None, None
        if kind == "expired":
            return "expired", None
        if kind == "canceled":
            return ("canceled", None) if self.include_canceled else (None, "canceled")
        if kind == "errored":
            error_type = _error_type(result)  # type: ignore[arg-type]
            reason = f"errored: {error_type}"
            if self.all_errors or error_type in RETRYABLE_ERRORS:
                return reason, None
            return None, reason
        return None, f"unknown result type {kind!r}"


def _error_type(result: Mapping[str, Any]) -> str:
    envelope = result.get("error")
    inner = envelope.get("error") if isinstance(envelope, dict) else None
    found = inner.get("type") if isinstance(inner, dict) else None
    if found is None and isinstance(envelope, dict):
        found = envelope.get("type") if envelope.get("type") != "error" else None
    return str(found or "unknown")


@dataclass
class Plan:
    """The retry of one parent batch: which of its requests go again, and why."""

    row: dict[str, Any]  # the parent's store row
    batch: dict[str, Any]  # the parent as the API describes it
    selected: dict[str, str] = field(default_factory=dict)  # custom_id -> reason
    left_out: Counter[str] = field(default_factory=Counter)  # reason -> count
    # how the caller names the options its messages mention
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @property
    def parent_id(self) -> str:
        return str(self.row["id"])

    def reasons(self) -> Counter[str]:
        return Counter(self.selected.values())


@dataclass
class Retry:
    """One retry written (and submitted, unless it was a dry run)."""

    plan: Plan
    path: Path
    count: int
    sha256: str
    job_id: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    existing: bool = False


def plan_retries(
    api: Api, store: Store, ref: str, rules: Rules, *, request_file: Path | None = None,
    flags: Flags = KEYS,
) -> Events[list[Plan]]:
    """Read the results of ID|JOB and pick the requests to send again, per batch; what the
    reading has to say is yielded as notes.

    Checks first what would make the retry impossible: the batch is tracked (exit 5), its
    request file is unchanged (exit 7), it has ended and is not archived (exit 8, 5).
    ``request_file``: read the requests from this copy instead of the recorded path (another
    host's path, a moved file); it must have the recorded size and sha256 (else exit 7).
    """
    from batchctl.core.tracking.lifecycle import resolve_targets

    targets = resolve_targets(store, [ref], base_url=api.base_url, needs_store="retry-failed",
                              flags=flags)
    rows = [t.row for t in targets if t.row is not None]
    if request_file is not None:
        rows = [{**row, "request_file": str(request_file.absolute())} for row in rows]
    seen = FileChecks()
    for row in rows:
        check_file(row, seen, flags)
    plans = []
    tracked: list[dict[str, Any] | None] = list(rows)
    for source in (yield from fetch_sources(api, store, ref, tracked, flags=flags)):
        plans.append((yield from _select(api, source, rules, flags)))
    return plans


def _select(api: Api, source: Source, rules: Rules, flags: Flags) -> Events[Plan]:
    assert source.row is not None
    plan = Plan(source.row, source.batch, flags=flags)
    classify = rules.classify
    notes: list[Note] = []
    body = apart(fetch_body(api, source.batch, not_found_grace=not_found_grace(source.row)), notes)
    for block in line_blocks(body):
        yield from notes
        notes.clear()
        for record in parse_lines(lines_of(block), source.id):
            chosen, skipped = classify(record)
            if chosen is not None:
                plan.selected[str(record.get("custom_id"))] = chosen
            elif skipped is not None:
                plan.left_out[skipped] += 1
    yield from notes
    return plan


def selected_lines(plan: Plan) -> Iterator[tuple[int, str, str, bytes]]:
    """``(line_no, custom_id, reason, line)`` of each selected request, in file order, with
    the line as the request file has it."""
    found = 0
    if plan.selected:
        for line_no, custom_id, line in iter_batch_lines(plan.row, checked=True,
                                                         flags=plan.flags):
            reason = plan.selected.get(custom_id)
            if reason is not None:
                found += 1
                yield line_no, custom_id, reason, line
    if found != len(plan.selected):
        raise StateError(
            f"{counted(len(plan.selected) - found, 'failed request')} of batch {plan.parent_id} "
            f"{plural('is', len(plan.selected) - found)} not in "
            f"its request file {plan.row['request_file']} (lines {plan.row['first_line']}-"
            f"{plan.row['last_line']})"
        )


def check_output(output: Path | None, *, submitting: bool, flags: Flags = KEYS) -> None:
    """Refuse, before anything is fetched, an ``-o`` the retry cannot use. A retry that is
    submitted is read again to be sent and stays the new batch's request file, so it must be a
    regular file: a device, FIFO or /dev/stdout only takes a dry run's lines."""
    if output is None:
        return
    target = check_target(output)
    if submitting and target.in_place:
        raise UsageError(
            f"-o {output} is not a regular file: a retry file is read again to submit it and "
            "kept as the new batch's request file",
            hint=f"name a regular file, or add {flags['dry_run']} to only write the requests "
            "there",
        )


def write_retry_file(plan: Plan, target: Path | None, state_dir: Path) -> Retry:
    """Write the selected requests to ``target`` (atomically), or, without one, to
    ``STATE_DIR/retries/<parent id>-<sha256 prefix>.jsonl`` (named by content, so the same
    retry lands in the same file)."""
    if target is None:
        folder = Path(state_dir) / RETRY_DIR
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = folder / f"{plan.parent_id}.jsonl"
        named_by_content = True
    else:
        named_by_content = False
    digest, count = hashlib.sha256(), 0
    with atomic_file(target) as out:
        for _line_no, _cid, _reason, line in selected_lines(plan):
            data = line + b"\n"
            digest.update(data)
            out.write(data)
            count += 1
        if named_by_content:
            out.target = target.with_name(f"{plan.parent_id}-{digest.hexdigest()[:12]}.jsonl")
    return Retry(plan, Path(out.target).absolute(), count, digest.hexdigest())


@dataclass(frozen=True)
class RetryOptions:
    """What `retry-failed` retries (``ref``; with ``all_errors``, every error type; with
    ``include_canceled``, canceled requests too), where the retry file goes (``output``, else
    the state directory), whether it is only a ``dry_run``, and ``force``, ``request_file``."""

    ref: str
    state_dir: Path
    all_errors: bool = False
    include_canceled: bool = False
    output: Path | None = None
    dry_run: bool = False
    force: bool = False
    request_file: Path | None = None
    # how the caller names its options, for messages and hints
    flags: Flags = field(default=KEYS, compare=False, repr=False)


def resubmit(
    api: Api, store: Store, plans: list[Plan], options: RetryOptions, *, clock: Clock
) -> Events[list[Retry]]:
    """Write a retry file for each plan with something to retry and submit it as a job whose
    parent is the plan's batch (a dry run with ``output``: write only); the notes of each
    submit are yielded.

    The parent is part of what makes a submit the same one: a second run of the same retry is
    answered with the batch the first made (unless ``force``), but a retry whose file equals its
    parent's (every request failed) is sent, never answered with the parent itself."""
    from batchctl.core.requests.cacheplan import Caching
    from batchctl.core.requests.rules import DEFAULT_API_VERSION
    from batchctl.core.requests.rules import Rules as RequestRules
    from batchctl.core.requests.scan import scan_file
    from batchctl.core.submit.submit import JobOptions, submit

    output, submit_files = options.output, not options.dry_run
    check_output(output, submitting=submit_files, flags=options.flags)
    todo = [p for p in plans if p.selected]
    if output is not None and len(todo) > 1:
        raise UsageError(
            f"-o names one file, but {len(todo)} batches have requests to retry",
            hint="leave out -o (each retry gets its own file in the state directory), or retry "
            "the batches one at a time: " + ", ".join(p.parent_id for p in todo),
        )
    done = []
    for plan in todo:
        retry = write_retry_file(plan, output, options.state_dir)
        if submit_files:
            row = plan.row
            job = store.get_job(row["job_id"]) or {}
            label = f"{row['label']} (retry)" if row.get("label") else f"retry of {row['id']}"
            # Checked as its parent was: same API version and betas; a model the parent's
            # submit accepted is not questioned again.
            version = job.get("api_version") or DEFAULT_API_VERSION
            checks = RequestRules(version, betas=job.get("betas") or (), allow_unknown_model=True)
            # The parent's cache plan, placed again: each request goes with the markers it had.
            recorded = job.get("cache_plan")
            scan = scan_file(retry.path, rules=checks,
                             caching=Caching(plan=json.loads(recorded)) if recorded else None)
            job_options = JobOptions(str(retry.path), label=label, betas=job.get("betas") or (),
                                     force=options.force, parent_id=plan.parent_id,
                                     api_version=job.get("api_version"), flags=options.flags)
            result = yield from submit(api, store, scan, job_options, clock=clock)
            retry.job_id, retry.existing = result.job_id, result.existing
            retry.records = [{**r, "parent_id": plan.parent_id} for r in result.records]
        done.append(retry)
    return done


@dataclass(frozen=True)
class RetriesPlanned(Event):
    """What retry-failed picked, per parent batch, before anything is written."""

    plans: Sequence[Plan]


@dataclass
class RetryOutcome:
    """What `retry-failed` did: the ``plans`` (one per parent batch), and ``done``, the retry
    files written (and submitted, unless a dry run). ``preview``: a dry run without -o, nothing
    written; ``rows()`` streams the lines it would send."""

    plans: list[Plan]
    done: list[Retry] = field(default_factory=list)
    preview: bool = False

    @property
    def nothing(self) -> bool:
        """No request of any batch is to be retried."""
        return not any(p.selected for p in self.plans)

    def rows(self) -> Iterator[tuple[Plan, int, str, str, bytes]]:
        """``(plan, line_no, custom_id, reason, line)`` of every selected request, read from
        the request files as they are shown (see ``selected_lines``)."""
        for plan in self.plans:
            for line_no, custom_id, reason, line in selected_lines(plan):
                yield plan, line_no, custom_id, reason, line


def retry_failed(deps: Deps, options: RetryOptions) -> Events[RetryOutcome]:
    """`batchctl retry-failed ID|JOB`: check ``output`` before anything is fetched, plan the
    retries (``plan_retries``; ``RetriesPlanned`` is yielded before anything is written), then,
    unless nothing is to be retried or it is a dry run without ``output``, write the retry
    files and submit them (``resubmit``; a dry run with ``output`` only writes)."""
    check_output(options.output, submitting=not options.dry_run, flags=options.flags)
    api, store = deps.api(), deps.store()
    rules = Rules(all_errors=options.all_errors, include_canceled=options.include_canceled)
    plans = yield from plan_retries(api, store, options.ref, rules,
                                    request_file=options.request_file, flags=options.flags)
    yield RetriesPlanned(plans)
    outcome = RetryOutcome(plans)
    if outcome.nothing:
        return outcome
    if options.dry_run and options.output is None:
        outcome.preview = True
        return outcome
    outcome.done = yield from resubmit(api, store, plans, options, clock=deps.clock)
    return outcome

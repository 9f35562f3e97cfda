"""`batchctl retry-failed ID|JOB`: send the failed requests of a batch again, as a new batch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.iostreams import names_std
from batchctl.cli.options import JsonOpt, RefArg, a_file, an_existing_file
from batchctl.cli.render import output
from batchctl.cli.render.events import drive, show_note
from batchctl.core.errors import UsageError
from batchctl.core.events import Event, Note
from batchctl.core.plural import counted, plural

if TYPE_CHECKING:
    from batchctl.core.workflows.retry import Plan, Retry, RetryOutcome

HELP = (
    "Resubmit the failed requests of a batch (or of every part of a job) as a new batch.\n\n"
    "Retried: errored requests with an error worth retrying as-is (api_error, overloaded_error, "
    "rate_limit_error, timeout_error; --all-errors: every error), expired requests, and with "
    "--include-canceled canceled ones. Their lines are taken from the request file recorded at "
    "submit, which must be unchanged (else exit 7). The new request file goes to the state "
    "directory (or -o FILE); the new batch records its parent, so results --merge-retries can "
    "merge them. Running the same retry again answers the batch it made (--force sends it "
    "again); a retry is never answered with its parent, even when every request failed. "
    "Piped, prints the new batch id(s). Nothing to retry: a message, exit 0."
)
DRY_RUN_ROWS = 50

AllErrorsOpt = Annotated[
    bool,
    typer.Option("--all-errors",
                 help="Retry every errored request, not only those with a retryable error type."),
]
CanceledOpt = Annotated[
    bool, typer.Option("--include-canceled", help="Retry canceled requests too.")
]
RequestFileOpt = Annotated[
    Path | None,
    typer.Option("--request-file", metavar="FILE",
                 help="Read the requests from this copy of the submitted file (same sha256), "
                 "e.g. on a host other than the one that submitted it.",
                 callback=an_existing_file, show_default=False),
]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run",
                 help="Show what would be sent (piped: the request lines), submit nothing; with "
                 "-o, write the file and submit nothing."),
]

RetryFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o",
        help="Write the retry request file here (a regular file, written atomically; a symlink's "
        "target is replaced) instead of the state directory. With --dry-run it may be a device, "
        "FIFO or - (stdout): the request lines are written there and nothing is submitted.",
        metavar="FILE",
        callback=a_file,
    ),
]


ForceRetryOpt = Annotated[
    bool,
    typer.Option("--force", help="Send the retry even if the same retry was already sent (billed "
                 "again); without it, a second run answers the batch the first one made."),
]


def retry_failed_command(
    ctx: typer.Context,
    ref: RefArg,
    all_errors: AllErrorsOpt = False,
    include_canceled: CanceledOpt = False,
    out: RetryFileOpt = None,
    dry_run: DryRunOpt = False,
    force: ForceRetryOpt = False,
    request_file: RequestFileOpt = None,
    json_: JsonOpt = False,
) -> None:
    """`batchctl retry-failed`: see HELP."""
    to_stdout = names_std(out)
    if to_stdout and not dry_run:
        raise UsageError(
            "-o - writes the retry requests to stdout, so it needs --dry-run: a retry that is "
            "submitted needs a regular file (read again to send it, kept as its request file)",
            hint="leave out -o (the retry file goes to the state directory), or add --dry-run",
        )
    run_parsed(ctx, run, RetryOptions(
        ref, all_errors, include_canceled, None if to_stdout else out, to_stdout, dry_run,
        force, request_file, json_))


@dataclass(frozen=True)
class RetryOptions:
    ref: str
    all_errors: bool
    include_canceled: bool
    out: Path | None  # None: the state directory (or stdout, with to_stdout)
    to_stdout: bool  # -o -: the request lines to stdout (with --dry-run)
    dry_run: bool
    force: bool
    request_file: Path | None
    json: bool


def run(actx: AppContext, opts: RetryOptions) -> None:
    from batchctl.core.workflows import retry

    ref, json_, dry_run = opts.ref, opts.json, opts.dry_run
    options = retry.RetryOptions(
        ref, actx.settings.state_dir, all_errors=opts.all_errors,
        include_canceled=opts.include_canceled, output=opts.out, dry_run=dry_run,
        force=opts.force, request_file=opts.request_file, flags=FLAGS,
    )
    outcome = drive(actx, retry.retry_failed(actx, options), partial(_show, actx))
    if outcome.nothing:
        output.info(actx, f"nothing to retry in {ref}")
    elif outcome.preview:
        _show_dry_run(actx, outcome, json_, raw=opts.to_stdout)
    elif dry_run:
        for r in outcome.done:
            output.info(actx, f"wrote {counted(r.count, 'request')} of {r.plan.parent_id} to {r.path}; "
                              "nothing was submitted (--dry-run)")
    else:
        _show_submitted(actx, outcome.done, json_)


def _reasons(counts: Counter[str]) -> str:
    return ", ".join(f"{n:,} {reason}" for reason, n in sorted(counts.items()))


def _show(actx: AppContext, event: Event) -> None:
    """An event of retry-failed: its notes (information on a terminal only), its plans."""
    from batchctl.core.workflows.retry import RetriesPlanned

    if isinstance(event, RetriesPlanned):
        _explain(actx, event.plans)
    elif isinstance(event, Note):
        show_note(actx, event, info_off_tty=False)


def _explain(actx: AppContext, plans: Sequence[Plan]) -> None:
    """Per batch, on stderr: what is retried and what is left out, and why."""
    for plan in plans:
        chosen = plan.reasons()
        if chosen:
            output.info(actx, f"{plan.parent_id}: {sum(chosen.values()):,} to retry "
                              f"({_reasons(chosen)})")
        left = plan.left_out
        if left:
            hints = []
            if any(k.startswith("errored") for k in left):
                hints.append("--all-errors retries every error")
            if "canceled" in left:
                hints.append("--include-canceled retries canceled requests")
            extra = f"; {', '.join(hints)}" if hints else ""
            output.info(actx, f"{plan.parent_id}: left out {_reasons(left)}{extra}")


def _show_dry_run(actx: AppContext, outcome: RetryOutcome, json_: bool, *, raw: bool) -> None:
    rows = outcome.rows
    if json_:
        output.write_json(
            {"parent_id": p.parent_id, "request_file": p.row["request_file"], "line": n,
             "custom_id": c, "reason": r}
            for p, n, c, r, _ in rows()
        )
    elif actx.stdout_tty and not raw:
        shown: list[tuple[str, int, str, str]] = []
        total = 0
        for p, n, c, r, _ in rows():
            total += 1
            if len(shown) < DRY_RUN_ROWS:
                shown.append((p.parent_id, n, c, r))
        output.write_table(actx, ["parent", "line", "custom_id", "reason"], shown,
                           drop=("parent", "line"))  # the parent: said on stderr
        if total > len(shown):
            output.info(actx, f"... and {total - len(shown):,} more")
    else:
        output.write_bytes(line + b"\n" for *_, line in rows())
    output.info(actx, "dry run: nothing was submitted")


def _show_submitted(actx: AppContext, done: list[Retry], json_: bool) -> None:
    for r in done:
        ids = ", ".join(rec["id"] for rec in r.records)
        if r.existing:
            output.info(actx, f"{counted(r.count, 'request')} of {r.plan.parent_id} "
                              f"{plural('was', r.count)} already "
                              f"resubmitted as {ids} (job {r.job_id}; --force sends them again)")
        else:
            output.success(actx, f"resubmitted {counted(r.count, 'request')} of {r.plan.parent_id} as "
                                 f"{ids} (job {r.job_id}, file {r.path})")
    records = [rec for r in done for rec in r.records]
    if json_:
        output.write_json(records)
    elif actx.stdout_tty:
        output.write_table(
            actx, ["parent", "batch", "requests", "status"],
            [(rec["parent_id"], rec["id"], f"{rec['request_count']:,}", rec["processing_status"])
             for rec in records],
            drop=("parent",),  # said on stderr, with the batch it was resubmitted as
        )
    else:
        output.write_lines(rec["id"] for rec in records)


def register(app: typer.Typer) -> None:
    app.command("retry-failed", help=HELP)(retry_failed_command)

"""`batchctl submit FILE|-`: validate, split, upload, record; print the batch id(s)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from batchctl.cli import output, shared
from batchctl.cli.context import AppContext, app_context
from batchctl.cli.options import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REQUESTS,
    BetaOpt,
    DryRunOpt,
    FileArg,
    ForceOpt,
    JsonOpt,
    LabelOpt,
    MaxBytesOpt,
    MaxRequestsOpt,
)

if TYPE_CHECKING:
    from batchctl.core.requests.scan import Scan

HELP = (
    "Validate a request file, split it if over the limits, submit it; print the batch id(s).\n\n"
    "Nothing is sent unless every line is valid: problems are listed as FILE:LINE: message "
    "(exit 3). Content already submitted to the same API is answered with its batches (exit 0); "
    "--force submits it again. Piped, it prints one batch id per line: "
    "id=$(batchctl submit f.jsonl)."
)


def submit_command(
    ctx: typer.Context,
    file: FileArg,
    max_requests: MaxRequestsOpt = DEFAULT_MAX_REQUESTS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    dry_run: DryRunOpt = False,
    label: LabelOpt = None,
    beta: BetaOpt = None,
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """`batchctl submit`: see HELP."""
    from batchctl.core.jobs import send

    actx = app_context(ctx)
    limits = send.Limits.parse(max_requests, max_bytes)
    source = shared.request_input(actx, file)
    if dry_run:
        shared.show_dry_run(actx, send.dry_run(source, limits), json_)
        return
    scan, result = send.send(
        actx, source, limits, label=label, betas=beta or (), force=force,
        notify=output.notifier(actx, info_off_tty=False),
    )
    ids = [r["id"] for r in result.records]
    if result.existing:
        output.info(
            actx,
            f"already submitted: {scan.display_name} (sha256 {scan.sha256[:12]}) is job "
            f"{result.job_id} on {actx.api().base_url}; answering its batch "
            f"id{'s' * (len(ids) > 1)} (--force submits it again)",
        )
    if json_:
        output.write_json(result.records)
    elif actx.stdout_tty:
        _show_table(actx, result.records, scan, result.job_id, result.existing)
    else:
        output.write_lines(ids)


def _show_table(
    actx: AppContext, records: list[dict], scan: Scan, job_id: str, existing: bool
) -> None:
    verb = "Already submitted" if existing else "Submitted"
    batches = f"{len(records)} batch{'es' * (len(records) > 1)}"
    output.success(
        actx, f"{verb} {scan.request_count:,} requests from {scan.display_name} as {batches}, "
        f"job {job_id}",
    )
    rows = [
        (r["part"], r["id"], f"{r['first_line']}-{r['last_line']}", f"{r['request_count']:,}",
         r["processing_status"])
        for r in records
    ]
    output.write_table(actx, ["part", "batch", "lines", "requests", "status"], rows)


def register(app: typer.Typer) -> None:
    app.command("submit", help=HELP)(submit_command)

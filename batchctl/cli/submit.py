"""`batchctl submit FILE|-`: validate, split, upload, record; print the batch id(s)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from batchctl.cli import output
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
from batchctl.core.errors import UsageError

if TYPE_CHECKING:
    from batchctl.core.requests.scan import Scan
    from batchctl.core.jobs.submit import SubmitResult

HELP = (
    "Validate a request file, split it if over the limits, submit it; print the batch id(s).\n\n"
    "Nothing is sent unless every line is valid: problems are listed as FILE:LINE: message "
    "(exit 3). Content already submitted to the same API is answered with its batches (exit 0); "
    "--force submits it again. Piped, it prints one batch id per line: "
    "id=$(batchctl submit f.jsonl)."
)
STDIN_NAME = "<stdin>"


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
    actx = app_context(ctx)
    result = submit_step(
        actx, file, max_requests=max_requests, max_bytes=max_bytes, dry_run=dry_run,
        label=label, beta=beta, force=force, json_=json_, info_off_tty=False,
    )
    if result is None:
        return
    scan, result = result
    ids = [r["id"] for r in result.records]
    api = actx.api()
    if result.existing:
        output.info(
            actx,
            f"already submitted: {scan.display_name} (sha256 {scan.sha256[:12]}) is job "
            f"{result.job_id} on {api.base_url}; answering its batch id{'s' * (len(ids) > 1)} "
            "(--force submits it again)",
        )
    if json_:
        output.write_json(result.records)
    elif actx.stdout_tty:
        _show_table(actx, result.records, scan, result.job_id, result.existing)
    else:
        output.write_lines(ids)


def submit_step(
    actx: AppContext,
    file: str,
    *,
    max_requests: int,
    max_bytes: str,
    dry_run: bool,
    label: str | None,
    beta: list[str] | None,
    force: bool,
    json_: bool,
    info_off_tty: bool,
) -> tuple[Scan, SubmitResult] | None:
    """Check the whole input, then submit it (never twice); None after a --dry-run.

    The submit half of `submit` and `run`."""
    from batchctl.core.requests.scan import check_limits, parse_size, scan_file

    limit = parse_size(max_bytes)
    check_limits(max_requests, limit)
    path, display = input_path(actx, file)

    def check() -> Scan:
        return scan_file(path, display_name=display, max_requests=max_requests, max_bytes=limit)

    if dry_run:
        show_dry_run(actx, check(), json_)
        return None
    from batchctl.core.fork import beside

    # The file is checked in a forked child while this process loads the SDK (two cores).
    scan = beside(check, actx.preload_api)
    from batchctl.core.jobs.submit import submit

    result = submit(
        actx.api(), actx.store(), scan, source="-" if file == "-" else file, label=label,
        betas=beta or (), force=force, clock=actx.clock,
        notify=output.notifier(actx, info_off_tty=info_off_tty),
    )
    return scan, result


def input_path(actx: AppContext, file: str) -> tuple[Path, str]:
    """The file to scan and the name problems are reported under; stdin is spooled first."""
    if file != "-":
        path = Path(file)
        if not path.exists():
            raise UsageError(f"{file}: no such file")
        if not path.is_file():
            raise UsageError(f"{file}: not a regular file")
        return path, file
    from batchctl.core.jobs.submit import spool

    if actx.stdin_tty:
        output.info(actx, "reading requests from stdin; end with Ctrl-D")
    stream: Any = getattr(sys.stdin, "buffer", None)
    if stream is None:  # a text-only stdin (embedding): encode it as UTF-8
        stream = io.BytesIO(sys.stdin.read().encode("utf-8"))
    return spool(stream, actx.settings.state_dir), STDIN_NAME


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


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def show_dry_run(actx: AppContext, scan: Scan, json_: bool) -> None:
    from batchctl.core.jobs.submit import dry_run_summary

    summary = dry_run_summary(scan)
    if json_:
        output.write_json(summary)
    else:
        parts = ", ".join(
            f"{p['first_line']}-{p['last_line']} ({p['requests']:,})" for p in summary["parts"]
        )
        rows = [
            ("file", summary["file"]),
            ("requests", f"{summary['requests']:,}"),
            ("bytes", f"{summary['bytes']:,}"),
            ("batches", f"{len(summary['parts'])}: lines {parts}"),
            ("est. input tokens", f"~{summary['est_input_tokens']:,}"),
            ("max output tokens", f"{summary['max_output_tokens']:,}"),
            ("est. cost (batch rates)", output.money(summary["est_cost_usd"])),
        ]
        rows += [
            (f"model {m['model']}", f"{_count(m['requests'], 'request')}, ~{m['est_input_tokens']:,} "
             f"input tokens, {m['max_output_tokens']:,} max output, {output.money(m['est_cost_usd'])}")
            for m in summary["models"]
        ]
        output.write_table(actx, ["dry run", ""], rows)
    for model in summary["unpriced_models"]:
        output.warn(actx, f"no price known for model {model}: its cost is not estimated")
    output.info(actx, f"dry run: nothing was sent. {summary['note']}; "
                      f"prices as of {summary['prices_as_of']}")


def register(app: typer.Typer) -> None:
    app.command("submit", help=HELP)(submit_command)

"""`batchctl submit FILE|-`: validate, split, upload, record; print the batch id(s)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from batchctl.cli.cacheoptions import CacheMinimumsOpt, CacheOpt, NoWarmupOpt, WarmupTimeoutOpt
from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_REQUESTS,
    AllowUnknownModelOpt,
    AllProblemsOpt,
    ApiVersionOpt,
    BetaOpt,
    CountTokensOpt,
    DryRunOpt,
    FileArg,
    ForceOpt,
    JsonOpt,
    LabelOpt,
    LiftBetasOpt,
    LimitsOpt,
    MaxBytesOpt,
    MaxCostOpt,
    MaxQueuedOpt,
    MaxRequestsOpt,
)
from batchctl.cli.parsed import SendOptions
from batchctl.cli.render import output, shared
from batchctl.cli.render.events import drive, notes
from batchctl.core.plural import counted, plural

if TYPE_CHECKING:
    from batchctl.core.requests.scan import Scan
    from batchctl.core.submit.submit import SubmitResult

HELP = (
    "Validate a request file, split it if over the limits, submit it; print the batch id(s).\n\n"
    "Nothing is sent unless every line is valid: problems are listed as FILE:LINE: message "
    "(exit 3). Content already submitted to the same API is answered with its batches (exit 0); "
    "--force submits it again. Piped, it prints one batch id per line: "
    "id=$(batchctl submit f.jsonl).\n\n"
    "A file larger than the API's processing queue goes in part by part: when the queue is "
    "full (or --max-queued would be passed), submit stops sending, lists the parts still "
    "pending on stderr (--json: records with processing_status pending) and exits 0; wait JOB, "
    "run, collect or the same submit again send them as the queue drains."
)


def submit_command(
    ctx: typer.Context,
    file: FileArg,
    max_requests: MaxRequestsOpt = DEFAULT_MAX_REQUESTS,
    max_bytes: MaxBytesOpt = DEFAULT_MAX_BYTES,
    max_cost: MaxCostOpt = None,
    dry_run: DryRunOpt = False,
    count_tokens: CountTokensOpt = False,
    label: LabelOpt = None,
    beta: BetaOpt = None,
    lift_betas: LiftBetasOpt = False,
    api_version: ApiVersionOpt = None,
    limits_file: LimitsOpt = None,
    allow_unknown_model: AllowUnknownModelOpt = False,
    all_problems: AllProblemsOpt = False,
    force: ForceOpt = False,
    max_queued: MaxQueuedOpt = None,
    cache: CacheOpt = None,
    cache_minimums: CacheMinimumsOpt = None,
    no_warmup: NoWarmupOpt = False,
    warmup_timeout: WarmupTimeoutOpt = None,
    json_: JsonOpt = False,
) -> None:
    """`batchctl submit`: see HELP."""
    sending = SendOptions.parse(
        ctx, file, dry_run=dry_run, count_tokens=count_tokens, max_requests=max_requests,
        max_bytes=max_bytes, max_cost=max_cost, label=label, beta=beta, lift_betas=lift_betas,
        api_version=api_version, limits_file=limits_file, allow_unknown_model=allow_unknown_model,
        all_problems=all_problems, force=force, max_queued=max_queued, cache=cache,
        cache_minimums=cache_minimums, no_warmup=no_warmup, warmup_timeout=warmup_timeout)
    run_parsed(ctx, run, SubmitOptions(sending, json_))


@dataclass(frozen=True)
class SubmitOptions:
    send: SendOptions
    json: bool


def run(actx: AppContext, opts: SubmitOptions) -> None:
    from batchctl.core.submit import send

    sending, json_ = opts.send, opts.json
    source = shared.request_input(actx, sending.file)
    if sending.dry_run:
        shared.show_send_dry_run(actx, source, sending, json_)
        return
    submission = sending.submission(source)
    from batchctl.cli.render.sending import SendingScreen

    told = notes(actx, info_off_tty=False)
    with SendingScreen(actx) as bar:  # the bytes of each body as they are sent
        scan, result = drive(actx, send.send(actx, submission),
                             lambda event: bar.show(event) or told(event))
    ids = [r["id"] for r in result.records]
    if result.existing:
        output.info(
            actx,
            f"already submitted: {scan.display_name} (sha256 {scan.sha256[:12]}) is job "
            f"{result.job_id} on {actx.api().base_url}; answering its batch "
            f"{plural('id', len(ids))} (--force submits it again)",
        )
    if json_:
        output.write_json([*result.records, *result.pending])
    elif actx.stdout_tty:
        _show_table(actx, [*result.records, *result.pending], scan, result.job_id,
                    result.existing)
    else:
        output.write_lines(ids)
    show_pending(actx, result)


def show_pending(actx: AppContext, result: SubmitResult) -> None:
    """The parts not sent, why, and what sends them (stderr, always)."""
    lines = result.held_lines(actx.clock.time(), FLAGS)
    for line in lines:
        output.info(actx, line)
    if lines:
        output.suggest(actx, result.send_step())


def _show_table(
    actx: AppContext, records: list[dict], scan: Scan, job_id: str, existing: bool
) -> None:
    verb = "Already submitted" if existing else "Submitted"
    sent = [r for r in records if not r.get("pending")]
    batches = counted(len(sent), "batch")
    requests = sum(r["request_count"] for r in sent)
    of = f" of {scan.request_count:,}" if len(sent) < len(records) else ""
    output.success(
        actx, f"{verb} {requests:,}{of} {plural('request', scan.request_count if of else requests)} "
        f"from {scan.display_name} as {batches}, "
        f"job {job_id}",
    )
    rows = [
        (r["part"], r["id"] or "-", f"{r['first_line']}-{r['last_line']}",
         f"{r['request_count']:,}", r["processing_status"])
        for r in records
    ]
    output.write_table(actx, ["part", "batch", "lines", "requests", "status"], rows,
                       drop=("part", "lines"))


def register(app: typer.Typer) -> None:
    app.command("submit", help=HELP)(submit_command)

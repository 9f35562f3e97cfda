"""The values several commands parse their shared flags into, each checked in one place:
``SendOptions`` (submit and run), ``WriteOptions`` (results and run), ``ConfirmOptions``
(cancel and delete). The flags themselves are ``batchctl.cli.options``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from batchctl.core.requests.cacheplan import Caching
    from batchctl.core.results.options import Options
    from batchctl.core.submit.send import Checks, Input, Limits, Submission


@dataclass(frozen=True)
class ConfirmOptions:
    """Parsed: the options of a command that acts on batches after asking (cancel, delete)."""

    refs: list[str]
    yes: bool
    json: bool


@dataclass(frozen=True)
class SendOptions:
    """Parsed: what submit and run send, and how (their shared flags)."""

    file: str  # a path, or - for stdin
    limits: Limits
    checks: Checks
    dry_run: bool
    count_tokens: bool
    label: str | None
    betas: tuple[str, ...]
    force: bool
    max_queued: int | None
    caching: Caching
    warmup_timeout: float | None = None  # --warmup-timeout (s)

    def submission(self, source: Input) -> Submission:
        """What submit and run send of ``source`` (the request file, opened)."""
        from batchctl.core.submit.send import Submission

        return Submission(source, self.limits, self.checks, label=self.label, betas=self.betas,
                          force=self.force, max_queued=self.max_queued, caching=self.caching,
                          warmup_timeout=self.warmup_timeout)

    @classmethod
    def parse(
        cls, ctx: typer.Context, file: str, *, dry_run: bool, count_tokens: bool,
        max_requests: int, max_bytes: str, max_cost: str | None, label: str | None,
        beta: list[str] | None, lift_betas: bool, api_version: str | None, limits_file: Path | None,
        allow_unknown_model: bool, all_problems: bool, force: bool, max_queued: int | None,
        cache: str | None = None, cache_minimums: Path | None = None, no_warmup: bool = False,
        warmup_timeout: float | None = None,
    ) -> SendOptions:
        """submit's and run's shared flags, checked (a usage error before anything is sent)."""
        from batchctl.cli.context import app_context
        from batchctl.cli.flags import FLAGS
        from batchctl.cli.render import shared
        from batchctl.core.errors import UsageError
        from batchctl.core.requests.cacheplan import Caching
        from batchctl.core.submit import send

        if count_tokens and not dry_run:
            raise UsageError("--count-tokens goes with --dry-run (it counts what would be sent)")
        cost, cost_from = shared.max_cost(max_cost)
        limits = send.Limits.parse(max_requests, max_bytes, cost, flags=FLAGS,
                                   max_cost_from=cost_from)
        checks = send.Checks.parse(
            api_version=api_version, betas=beta or (), limits=limits_file,
            allow_unknown_model=allow_unknown_model, lift_betas=lift_betas,
            all_problems=all_problems, flags=FLAGS,
            base_url=app_context(ctx).settings.base_url,
        )
        minimums = None if cache_minimums is None else str(cache_minimums)
        caching = Caching.parse(cache, minimums, warmup=not no_warmup, flags=FLAGS)
        return cls(file, limits, checks.with_caching(caching), dry_run, count_tokens, label,
                   tuple(beta or ()), force, max_queued, caching, warmup_timeout)


@dataclass(frozen=True)
class WriteOptions:
    """Parsed: what results and run write, and where."""

    export: Options  # what to write, and how (core.results.options.build_options)
    out: Path | None  # None: stdout
    json: bool
    summary_json: Path | None = None
    results_args: tuple[str, ...] = ()  # the `results` options that write the same
    regular_file: bool = False  # out is a regular file (or will be): not a device, FIFO, fd

    @classmethod
    def parse(
        cls, ctx: typer.Context, command: str, *, data: Path | None, join: bool,
        id_column: str | None, columns: str | None, out: Path | None, fmt: str | None,
        only: str | None, order: str | None, prices_file: Path | None, extract: str | None,
        thinking: bool, summary_json: Path | None, json_: bool, merge_retries: bool = False,
    ) -> WriteOptions:
        """results' and run's shared flags, checked before anything is sent or fetched;
        ``command``: how the command line began, for a hint (``results JOB``)."""
        from batchctl.cli.context import app_context
        from batchctl.cli.flags import FLAGS
        from batchctl.core.atomic import check_target
        from batchctl.core.errors import UsageError
        from batchctl.core.results.options import Given, build_options
        from batchctl.core.results.report import check_json_target

        if data is not None and not join:
            raise UsageError(f"unexpected argument {str(data)!r}: a data file goes with --join",
                             hint=f"batchctl {command} --join {data} --id-column COLUMN")
        export = build_options(Given(
            out=out, fmt=fmt, only=only, order=order, merge_retries=merge_retries,
            prices_file=prices_file, json_=json_, extract=extract, thinking=thinking,
            join=(str(data) if data is not None else "") if join else None, id_column=id_column,
            columns=columns, state_dir=app_context(ctx).settings.state_dir, flags=FLAGS))
        in_place = out is not None and check_target(out).in_place
        if summary_json is not None:
            check_json_target(summary_json, FLAGS["summary_json"])
        given = {"-o": out, "--format": fmt, "--only": only, "--order": order, "--prices":
                 prices_file, "--extract": extract, "--id-column": id_column, "--columns": columns,
                 "--summary-json": summary_json}
        args = [*(["--join"] if join else []), *([str(data)] if data is not None else []),
                *(a for flag, v in given.items() if v is not None for a in (flag, str(v))),
                *(["--thinking"] if thinking else []), *(["--json"] if json_ else [])]
        return cls(export, out, json_, summary_json, tuple(args),
                   regular_file=out is not None and not in_place)

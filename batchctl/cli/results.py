"""`batchctl results ID|JOB`: stream results to stdout or a file, as JSONL or CSV, and summarise."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchctl.cli import output
from batchctl.cli.context import AppContext, app_context
from batchctl.cli.options import (
    FormatOpt,
    JsonOpt,
    OnlyOpt,
    OrderOpt,
    OutputOpt,
    PricesOpt,
    RefArg,
)
from batchctl.core.errors import UsageError

if TYPE_CHECKING:
    from batchctl.core.results.export import Options, Progress
    from batchctl.core.results.summary import Summary

HELP = (
    "Stream the results of a batch (or of every part of a job, in order) to stdout or -o FILE.\n\n"
    "JSONL by default: without --only, --order or --merge-retries it is the API's bytes, "
    "unchanged. CSV with --format csv or -o FILE.csv: one row per request, RFC 4180. A file is "
    "written atomically (never half-written) and its batches are marked collected. A summary "
    "(counts, tokens, estimated cost at batch rates) goes to stderr. Exit 8 if a batch has not "
    "ended; 5 if its results were archived (29 days after creation)."
)

MergeOpt = Annotated[
    bool,
    typer.Option("--merge-retries",
                 help="For every request, its newest result across the batch and its retries "
                 "(retry-failed, recursively)."),
]


def results_command(
    ctx: typer.Context,
    ref: RefArg,
    out: OutputOpt = None,
    fmt: FormatOpt = None,
    only: OnlyOpt = None,
    order: OrderOpt = "api",
    merge_retries: MergeOpt = False,
    prices_file: PricesOpt = None,
    json_: JsonOpt = False,
) -> None:
    """`batchctl results`: see HELP."""
    actx = app_context(ctx)
    options = build_options(
        out=out, fmt=fmt, only=only, order=order, merge_retries=merge_retries,
        prices_file=prices_file, json_=json_,
    )
    export(actx, actx.api(), actx.store(), ref, options, out)


def build_options(
    *,
    out: Path | None,
    fmt: str | None,
    only: str | None,
    order: str,
    prices_file: Path | None,
    json_: bool,
    merge_retries: bool = False,
) -> Options:
    """Check the results options (before anything is sent or fetched) and bundle them."""
    from batchctl.core.results import export as results

    if json_:
        if fmt is not None and fmt.strip().lower() != "jsonl":
            raise UsageError("--json writes JSONL: it cannot be used with --format csv")
        fmt = fmt or "jsonl"
    if order not in results.ORDERS:
        raise UsageError(f"--order must be one of {', '.join(results.ORDERS)}, not {order!r}")
    return results.Options(
        format=results.format_for(out, fmt),
        only=results.parse_types(only) if only is not None else None,
        order=order,
        merge_retries=merge_retries,
        price_table=_price_table(prices_file),
    )


def export(
    actx: AppContext, api: Any, store: Any, ref: str, options: Options, out: Path | None
) -> Summary:
    """Write the results of ``ref`` to ``out`` (atomically) or stdout; summary on stderr."""
    from batchctl.core.results import export as results

    with _progress(actx, enabled=out is not None) as progress:
        exported = results.open_export(
            api, store, ref, options, notify=output.notifier(actx), progress=progress
        )
        if out is not None:
            summary = exported.save(out)
        else:
            output.write_bytes(exported.chunks())
            summary = exported.summary
    show_summary(actx, summary, options.format)
    return summary


def _price_table(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from batchctl.core.catalog.prices import load_price_table

    return load_price_table(path)


@contextmanager
def _progress(actx: AppContext, *, enabled: bool) -> Iterator[Progress | None]:
    """A transient progress bar on stderr, on a terminal, while a file is written (never while
    data goes to stdout)."""
    if not (enabled and actx.stderr_tty):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("results"), BarColumn(), MofNCompleteColumn(),
                   console=actx.err, transient=True)
    task = bar.add_task("results", total=None)

    def update(done: int, expected: int) -> None:
        bar.update(task, completed=done, total=expected or None)

    with bar:
        yield update


def _n(value: int) -> str:
    return f"{value:,}"


def summary_lines(summary: Summary, fmt: str) -> list[str]:
    """The summary as plain lines (the same words on and off a terminal)."""
    data = summary.as_dict()
    counts = data["counts"]
    parts = [f"{_n(counts.get(t, 0))} {t}" for t in ("succeeded", "errored", "canceled",
                                                     "expired")]
    parts += [f"{_n(v)} {k}" for k, v in counts.items()
              if k not in ("succeeded", "errored", "canceled", "expired") and v]
    where = f" to {data['path']}" if data["path"] else ""
    batches = data["batches"]
    head = batches[0] if len(batches) == 1 else f"{len(batches)} batches"
    lines = [
        f"{head}: {_n(data['results'])} results{where} ({fmt}, {_n(data['bytes'])} bytes)",
        "results: " + ", ".join(parts),
        f"tokens: {_n(data['input_tokens'])} input, {_n(data['output_tokens'])} output, "
        f"{_n(data['cache_creation_input_tokens'])} cache write, "
        f"{_n(data['cache_read_input_tokens'])} cache read",
    ]
    source = f"prices as of {data['prices_as_of']}"
    if data["prices_file"]:
        source += f", with {data['prices_file']}"
    if data["est_cost_usd"] is not None:
        partial = " for the priced models" if data["unpriced_models"] else ""
        lines.append(f"estimated cost{partial}: {output.money(data['est_cost_usd'])} at batch rates "
                     f"({source})")
    for model in data["unpriced_models"]:
        lines.append(f"no cost estimate for model {model}: it is not in the price table "
                     f"({source}); --prices FILE can add it")
    return lines


def show_summary(actx: AppContext, summary: Summary, fmt: str) -> None:
    lines = summary_lines(summary, fmt)
    if not actx.stderr_tty:
        for line in lines:
            output.info(actx, line)
        return
    from rich.markup import escape

    actx.err.print(f"[green]✓[/] {escape(lines[0])}")
    for line in lines[1:]:
        label, _, rest = line.partition(": ")
        actx.err.print(f"  [bold]{escape(label)}:[/] {escape(rest)}")


def register(app: typer.Typer) -> None:
    app.command("results", help=HELP)(results_command)

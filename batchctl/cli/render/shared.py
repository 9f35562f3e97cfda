"""Presentation that several commands share: the request input, the dry run, the results
export with its progress bar and summary, and the confirmation before a destructive call.

Command modules never import each other; what two of them show alike lives here (and the
steps they share live in core).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import typer

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.cli.render.events import Screen, show_note
from batchctl.core.errors import ExitCode
from batchctl.core.events import Data, Event, Note, Ordering, Progress
from batchctl.core.plural import counted, plural

if TYPE_CHECKING:
    from batchctl.cli.parsed import SendOptions
    from batchctl.core.results.options import Options
    from batchctl.core.results.summary import Summary
    from batchctl.core.submit.send import Input


# -- the request file of submit and run -----------------------------------------------------------
def request_input(actx: AppContext, file: str) -> Input:
    """The file to check; stdin (``-``) is spooled to the state directory first."""
    from batchctl.core.submit import send

    return send.open_input(file, stdin=_stdin(actx) if file == "-" else None,
                           state_dir=actx.settings.state_dir)


MAX_COST_ENV = "BATCHCTL_MAX_COST"


def max_cost(given: str | None) -> tuple[str | None, str | None]:
    """``--max-cost``, else ``$BATCHCTL_MAX_COST`` (a default for cron): the text, and the
    variable's name when it came from there (for messages)."""
    if given is not None:
        return given, None
    value = os.environ.get(MAX_COST_ENV) or None
    return value, MAX_COST_ENV if value is not None else None


def _stdin(actx: AppContext) -> BinaryIO:
    """stdin as bytes, said first on a terminal (someone is expected to type)."""
    if actx.stdin_tty:
        output.info(actx, "reading requests from stdin; end with Ctrl-D")
    return actx.io.stdin_bytes()


def show_dry_run(actx: AppContext, summary: dict[str, Any], json_: bool) -> None:
    """What a submit would send (``batchctl.core.submit.submit.dry_run_summary``)."""
    if json_:
        output.write_json(summary)
    else:
        # Numbers one way on a terminal (250,000, $0.02, ~ for an estimate), raw when piped.
        tty = actx.stdout_tty

        def n(value: int) -> str:
            return output.number(actx, value)

        def usd(value: float | None) -> str:  # in prose: the unit said when the $ is not
            return output.money(value) if tty or value is None else f"{output.money(value, raw=True)} USD"
        parts = ", ".join(
            f"{p['first_line']}-{p['last_line']} ({n(p['requests'])}"
            + (f", {p['role']}, sent first)" if p.get("role") else ")") for p in summary["parts"]
        )
        counted_in = bool(summary.get("input_tokens_counted"))
        approx = "~" if tty and not counted_in else ""
        label = "input tokens (counted)" if counted_in else "est. input tokens"
        rows = [
            ("file", summary["file"]),
            ("api version", summary["api_version"]),
            ("rules checked", ", ".join(r["id"] for r in summary["rules"])),
            ("models checked against", summary["models_from"]),
            *([("betas lifted", ", ".join(summary["lifted_betas"]))]
              if summary["lifted_betas"] else []),
            ("requests", n(summary["requests"])),
            ("bytes", n(summary["bytes"])),
            ("batches", f"{len(summary['parts'])}: lines {parts}"),
            (label, f"{approx}{n(summary['est_input_tokens'])}"),
            ("max output tokens", n(summary["max_output_tokens"])),
            ("est. cost (batch rates)", output.money(summary["est_cost_usd"], raw=not tty)),
        ]
        rows += [
            (f"model {m['model']}", (f"{n(m['requests'])} {plural('request', m['requests'])}, "
             f"{approx}{n(m['est_input_tokens'])} input tokens, {n(m['max_output_tokens'])} max "
             f"output, {usd(m['est_cost_usd'])}"))
            for m in summary["models"]
        ]
        output.write_table(actx, ["dry run", ""], rows)
        if "cache" in summary:
            from batchctl.cli.render.cache_plan import show_cache

            show_cache(actx, summary["cache"])
    for warning in summary["warnings"]:
        output.warn(actx, warning)
    for model in summary["unpriced_models"]:
        output.warn(actx, f"no price known for model {model}: its cost is not estimated")
    output.info(actx, f"dry run: nothing was sent. {summary['note']}; "
                      f"prices as of {summary['prices_as_of']}")
    if "cache" in summary and not json_:
        from batchctl.cli.render.cache_plan import cache_note

        output.info(actx, cache_note(summary["cache"]))


def show_send_dry_run(actx: AppContext, source: Input, sending: SendOptions, json_: bool) -> None:
    """submit's and run's --dry-run: what they would send, shown."""
    show_dry_run(actx, dry_run(actx, source, sending.limits, count_tokens=sending.count_tokens,
                               checks=sending.checks, caching=sending.caching), json_)


def dry_run(
    actx: AppContext, source: Any, limits: Any, *, count_tokens: bool, checks: Any = None,
    caching: Any = None,
) -> dict[str, Any]:
    """``send.dry_run``, with ``--count-tokens`` through the API and a progress bar on a
    terminal (stderr) while the prompts are counted."""
    from contextlib import nullcontext

    from batchctl.cli.render.events import drive
    from batchctl.core.submit import send

    api = actx.api() if count_tokens else None
    with _bar(actx, "counting tokens") if api is not None and actx.stderr_tty \
            else nullcontext() as update:

        def show(event: object) -> None:
            if isinstance(event, Progress) and update is not None:
                update(event.done, event.total)

        return drive(actx, send.dry_run(source, limits, api=api, checks=checks, deps=actx,
                                        caching=caching), show)


@contextmanager
def _bar(actx: AppContext, label: str) -> Iterator[Callable[[int, int], None]]:
    """A transient ``label`` bar on stderr: ``update(done, total)`` (a total of 0: unknown)."""
    from rich.progress import BarColumn, TextColumn

    from batchctl.cli.render.progress_bar import Bars, CountColumn

    bar = Bars(TextColumn(label), BarColumn(), CountColumn(), console=actx.err, transient=True)
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total or None)

    with bar:
        yield update


# -- results of results and run -------------------------------------------------------------------
def step_summary_file() -> Path | None:
    """The GitHub step summary file, when ``$GITHUB_STEP_SUMMARY`` names one (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    return Path(target) if target else None


def export_results(
    actx: AppContext, ref: str, options: Options, out: Path | None, *,
    summary_json: Path | None = None, json_: bool = False,
) -> Summary:
    """`results`: write the results of ``ref`` to ``out`` (atomically) or stdout, shown as
    ``ResultsScreen`` shows them; in the GitHub step summary when there is one, and in
    ``summary_json`` (``batchctl.core.results.report.export_and_report``); with ``json_`` and
    an ``out``, on stdout as one JSON object too, once the summary file is written."""
    from batchctl.cli.render.events import drive
    from batchctl.core.results.report import ResultsRequest, export_and_report

    request = ResultsRequest(options, f"batchctl results {ref}", out=out,
                             step_summary=step_summary_file(), summary_json=summary_json)
    with ResultsScreen(actx, options.format, out) as screen:
        summary = drive(actx, export_and_report(actx, ref, request), screen.show)
    if json_ and out is not None:
        output.write_json(summary.as_dict())
    return summary


class ResultsScreen(Screen):
    """How `results` and `run` show the results step's events: the bytes written to stdout
    (escaped on a terminal) when there is no file, a progress bar on a terminal while a file is
    written (never while data goes to stdout), the summary on stderr once all is written; with
    ``json_`` and an ``out`` (stdout free of results), the summary on stdout as one JSON object
    too."""

    def __init__(self, actx: AppContext, fmt: str, out: Path | None, *, json_: bool = False
                 ) -> None:
        self.actx, self.fmt, self.out, self.json_ = actx, fmt, out, json_
        self.write = output.write_terminal_bytes if actx.stdout_tty else output.write_bytes
        self.update: Callable[[int, int], None] | None = None
        self.step = ""  # the bar's: results read, or put in order

    def close(self) -> None:
        super().close()
        self.update = None

    def show(self, event: Event) -> bool:
        """Show ``event`` if it is the results step's; False if it is not."""
        from batchctl.core.results.export import ResultsWritten

        if isinstance(event, Data):
            self.write([event.data])
        elif isinstance(event, (Progress, Ordering)):
            step = "results" if isinstance(event, Progress) else \
                f"putting {'rows' if self.fmt == 'csv' else 'results'} in order"
            if self.out is not None and self.actx.stderr_tty and self.step != step:
                self.close()  # a step of its own: rows put in the request file's order
                self.step, self.update = step, self.open(_bar(self.actx, step))
            if self.update is not None:
                self.update(event.done, event.total)
        elif isinstance(event, ResultsWritten):
            self.close()
            show_summary(self.actx, event.summary, self.fmt)
            if self.json_ and self.out is not None:
                output.write_json(event.summary.as_dict())
        elif isinstance(event, Note):
            show_note(self.actx, event)
        else:
            return False
        return True


def step_summary(actx: AppContext, title: str, data: dict[str, Any], fmt: str) -> None:
    """Append a summary to ``$GITHUB_STEP_SUMMARY`` when it is set (GitHub Actions)."""
    from batchctl.core.results.report import step_summary

    for note in step_summary(title, data, fmt, step_summary_file()):
        show_note(actx, note)


def _n(value: int) -> str:
    return f"{value:,}"


#: Succeeded results counted apart, by stop_reason (batchctl.core.results.summary.STOP_REASONS).
STOP_WORDS = {"pause_turn": "unfinished", "refusal": "refused",
              "model_context_window_exceeded": "cut off"}


def summary_lines(summary: Summary, fmt: str) -> list[str]:
    """The summary as plain lines (the same words on and off a terminal); what caching did
    after the cost (``batchctl.core.results.caching``)."""
    from batchctl.core.results.caching import cache_lines

    data = summary.as_dict()
    counts = data["counts"]
    parts = [f"{_n(counts.get(t, 0))} {t}" for t in ("succeeded", "errored", "canceled",
                                                     "expired")]
    stops = [f"{_n(data[reason])} {word}: stop_reason {reason}"  # succeeded, not whole
             for reason, word in STOP_WORDS.items() if data.get(reason)]
    if stops:
        parts[0] += f" ({'; '.join(stops)})"
    parts += [f"{_n(v)} {k}" for k, v in counts.items()
              if k not in ("succeeded", "errored", "canceled", "expired") and v]
    where = f" to {data['path']}" if data["path"] else ""
    batches = data["batches"]
    head = batches[0] if len(batches) == 1 else f"{len(batches)} batches"
    lines = [
        f"{head}: {counted(data['results'], 'result')}{where} ({fmt}, "
        f"{counted(data['bytes'], 'byte')})",
        "results: " + ", ".join(parts),
        (f"tokens: {_n(data['input_tokens'])} input, {_n(data['output_tokens'])} output, "
        f"{_n(data['cache_creation_input_tokens'])} cache write, "
        f"{_n(data['cache_read_input_tokens'])} cache read"),
    ]
    source = f"prices as of {data['prices_as_of']}"
    if data["prices_file"]:
        source += f", with {data['prices_file']}"
    if data["est_cost_usd"] is not None:
        partial = " for the priced models" if data["unpriced_models"] else ""
        lines.append(f"estimated cost{partial}: {output.money(data['est_cost_usd'])} at batch rates "
                     f"({source})")
    lines += [f"{label}: {text}" for label, text in cache_lines(data)]
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
    from batchctl.cli.render.outcome import OUTCOMES, outcome
    from batchctl.cli.render.prose import say

    counts = summary.as_dict()["counts"]  # the tick follows the outcome: failures are not green
    kind = outcome({k: counts.get(k, 0) for k in ("succeeded", "errored", "canceled", "expired")})
    glyph, colour = OUTCOMES[kind]
    say(actx.err, lines[0], tty=True, label=glyph, style=colour)
    for line in lines[1:]:
        label, _, rest = line.partition(": ")
        say(actx.err, rest, tty=True, label=f"  {label}:", style="bold")


def show_caching(actx: AppContext, data: dict[str, Any], batch_id: str) -> None:
    """What caching did for one batch of a summary's figures ``data`` (`collect`), when it
    played a part: the summary's cache lines, each after the batch's id."""
    from batchctl.core.results.caching import cache_lines

    for label, text in cache_lines(data):
        output.info(actx, f"{batch_id} {label}: {text}")


# -- cancel and delete ----------------------------------------------------------------------------
def confirm_or_stop(
    actx: AppContext, verb: str, ids: list[str], consequence: str, *, yes: bool
) -> None:
    """Ask before a destructive call (on a terminal), require --yes without one (exit 2); a
    "no" or Ctrl-D changes nothing and exits 2 as well, Ctrl-C exits 130 (interrupted).
    Used by cancel and delete."""
    if len(ids) == 1:
        what = ids[0]
    else:
        shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
        what = f"{len(ids)} batches ({shown})"
    try:
        confirmed = output.confirm(actx, f"{verb.capitalize()} {what}? {consequence}", yes=yes,
                                   action=verb)
    except KeyboardInterrupt:
        output.info(actx, f"\nnothing done: {verb} interrupted")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    if not confirmed:
        output.info(actx, f"nothing done: {verb} not confirmed")
        raise typer.Exit(ExitCode.USAGE)

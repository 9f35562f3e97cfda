"""`batchctl collect`: for cron, download the results of every tracked batch that has ended."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.choices import complete_format
from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import JsonOpt, a_command, a_dir, hook
from batchctl.cli.render import output, shared
from batchctl.cli.render.events import drive, show_note
from batchctl.core.events import Event, Note
from batchctl.core.plural import counted

if TYPE_CHECKING:
    from batchctl.cli.render.hooks import HookView
    from batchctl.core.workflows.hooks import Hook

HELP = (
    "Download the results of every tracked batch that has ended and was not collected yet, one "
    "file per batch: DIR/<label-or-job>-<batch id>.jsonl (or .csv).\n\n"
    "Made for cron: a run with nothing new does nothing and exits 0; runs that overlap never "
    "download the same batch twice, and files are written atomically. Piped, it prints the path "
    "of each file written; --json reports every batch it looked at. A batch that could not be "
    "collected is tried again next time, and the exit code is that of the first failure. "
    "Parts of jobs that the API's processing queue held back are sent as it drains.\n\n"
    "--exec CMD runs CMD (with /bin/sh -c) for each batch collected, once its file is written: "
    "the batch comes in BATCHCTL_* variables (BATCHCTL_BATCH_ID, BATCHCTL_RESULTS_PATH, "
    "BATCHCTL_STATUS, the counts; see the README), stdin from /dev/null, its output to stderr. "
    "A hook that succeeded never runs twice for a batch; one that failed makes the exit code "
    "11, and the next collect, with or without --exec, runs it again without downloading "
    "again. So it does every failed wait or run --on-end hook: the store keeps the command of "
    "a failed hook until it has run successfully (see the README)."
)

DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", "-d", metavar="DIR", callback=a_dir, show_default=False,
                 help="Where to write the files (created if needed). Default: results/ in the "
                 "state directory."),
]
CollectFormatOpt = Annotated[
    str | None,
    typer.Option("--format", "-f", metavar="jsonl|csv", autocompletion=complete_format,
                 help="Format of the files written: jsonl (the default, .jsonl files) or csv "
                 "(.csv files)."),
]


ExecOpt = Annotated[
    str | None,
    typer.Option("--exec", metavar="CMD", callback=a_command, show_default=False,
                 help="Run CMD (with /bin/sh -c) for each batch collected; see above."),
]


def collect_command(
    ctx: typer.Context,
    directory: DirOpt = None,
    fmt: CollectFormatOpt = None,
    exec_: ExecOpt = None,
    json_: JsonOpt = False,
) -> None:
    """`batchctl collect`: see HELP."""
    from batchctl.core.results.options import format_for

    run_parsed(ctx, run, CollectOptions(directory, format_for(None, fmt, FLAGS), json_,
                                        hook(exec_, "collect", "exec")))


@dataclass(frozen=True)
class CollectOptions:
    directory: Path | None  # None: results/ in the state directory
    fmt: str  # jsonl or csv
    json: bool
    hook: Hook | None = None  # --exec


def run(actx: AppContext, opts: CollectOptions) -> None:
    from batchctl.cli.render.hooks import HookView
    from batchctl.core.tracking.gone import archived_text
    from batchctl.core.workflows import collect as core
    from batchctl.core.workflows.hooks import CollectHooks, HookRan

    json_ = opts.json
    collection = core.collect_all(actx, directory=opts.directory,
                                  state_dir=actx.settings.state_dir, fmt=opts.fmt, flags=FLAGS,
                                  # a failed hook run again inherits batchctl's environment
                                  hooks=CollectHooks(opts.hook, dict(os.environ)))
    folder = collection.folder
    outcomes: list[core.CollectOutcome] = []
    hooks = HookView(actx, "the next collect runs it again, without downloading again")

    def show(event: Event) -> None:
        if isinstance(event, Note):
            show_note(actx, event)
        if hooks.show(event):
            if json_ and isinstance(event, HookRan):
                output.write_json(event.as_dict())
            return
        if not isinstance(event, core.CollectOutcome):
            return  # a download's progress: collect shows none
        outcomes.append(event)
        if event.action == core.FAILED and event.error is not None:
            output.warn(actx, f"{event.id}: {event.error.message}")
        elif event.action == core.ARCHIVED:
            output.warn(actx, f"{archived_text(event.id, event.archived_at)}; collect no "
                              "longer looks at it")
        if json_:
            output.write_json(event.as_dict())
        elif event.action == core.COLLECTED and not actx.stdout_tty:
            output.write_lines([event.path or ""])

    drive(actx, collection.events, show)
    if actx.stdout_tty and not json_:
        # Each file's name whole, in the folder the summary names once (whole paths were
        # folded every few characters at 60 columns, cut to "retry_o…" at 100): the batch and
        # the label, both in the name, go first when the terminal is narrow.
        rows = [(o.id, o.label or o.job_id, f"{o.results or 0:,}", _in_folder(o.path, folder))
                for o in outcomes if o.action == core.COLLECTED]
        if rows and max(len(r[3]) for r in rows) > actx.out.width:  # a name that long: as is
            output.write_lines(r[3] for r in rows)
        elif rows:
            output.write_table(actx, ["batch", "label or job", "results", "file"], rows,
                               drop=("label or job", "batch", "results"))
    _summary(actx, outcomes, folder, hooks)
    for o in outcomes:
        if o.action == core.COLLECTED and o.summary is not None:
            shared.show_caching(actx, o.summary, o.id)
            shared.step_summary(actx, f"batchctl collect {o.id}", o.summary,
                                Path(o.path or "").suffix.lstrip(".") or "jsonl")
    failures = [o for o in outcomes if o.action == core.FAILED and o.error is not None]
    if failures:
        first = failures[0].error
        assert first is not None
        if len(failures) > 1:
            first.message = (f"{counted(len(failures), 'batch')} could not be collected (tried again next "
                             f"time); the first: {first.message}")
        raise first
    if (failed_hook := hooks.failure()) is not None:
        raise failed_hook


def _in_folder(path: str | None, folder: Path) -> str:
    """``path`` relative to ``folder`` when it is inside it, else whole."""
    if not path:
        return ""
    try:
        return str(Path(path).relative_to(folder))
    except ValueError:
        return path


def _summary(actx: AppContext, outcomes: list, folder: Path, hooks: HookView) -> None:
    from batchctl.core.tracking.lifecycle import batches_text
    from batchctl.core.workflows import collect as core

    by: dict[str, int] = {}
    for o in outcomes:
        by[o.action] = by.get(o.action, 0) + 1
    if not outcomes and not hooks.ran:
        output.info(actx, "nothing to collect: no tracked batch is waiting to be collected")
        return
    parts = [] if outcomes else ["nothing new to collect"]
    if by.get(core.COLLECTED):
        parts.append(f"collected {batches_text(by[core.COLLECTED])} into {folder}{os.sep}")
    if by.get(core.RUNNING):
        parts.append(f"{batches_text(by[core.RUNNING])} still running")
    if by.get(core.BUSY):
        parts.append(f"{batches_text(by[core.BUSY])} being collected by another run")
    if by.get(core.ARCHIVED):
        parts.append(f"{batches_text(by[core.ARCHIVED])} archived")
    if by.get(core.SENT):
        parts.append(f"sent {batches_text(by[core.SENT])} of jobs the queue had held back")
    waiting = sum(o.results or 0 for o in outcomes if o.action == core.PENDING)
    if waiting:
        parts.append(f"{counted(waiting, 'part')} of {counted(by[core.PENDING], 'job')} "
                     "still waiting for room in the API's "
                     "processing queue (the next collect sends them)")
    if by.get(core.FAILED):
        parts.append(f"{batches_text(by[core.FAILED])} failed")
    if hooks.ran:
        failed = f" ({len(hooks.failures)} failed)" if hooks.failures else ""
        parts.append(f"ran {counted(hooks.ran, 'hook')}{failed}")
    message = "; ".join(parts)
    if by.get(core.COLLECTED):
        output.success(actx, message)
    else:
        output.info(actx, message)


def register(app: typer.Typer) -> None:
    app.command("collect", help=HELP)(collect_command)

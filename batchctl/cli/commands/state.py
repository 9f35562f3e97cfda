"""`batchctl state ...`: which state store is in use and where; export and import it as JSONL
(to move it between machines or backends)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.iostreams import names_std
from batchctl.cli.options import JsonOpt
from batchctl.cli.render import output
from batchctl.cli.render.events import drive
from batchctl.core.errors import UsageError
from batchctl.core.events import Data

state_app = typer.Typer(
    name="state",
    help="The state store: which one is in use, where it lives; export and import it.",
    no_args_is_help=False,  # `batchctl state` alone: "error: ... needs a command", exit 2
)

FileArg = Annotated[Path, typer.Argument(help="The JSONL file ('-': stdout/stdin).",
                                         show_default=False, metavar="FILE|-")]


@state_app.command("path")
def path(
    ctx: typer.Context,
    json_: JsonOpt = False,
    dir_: Annotated[bool, typer.Option("--dir", help="Print the state directory instead.")] = False,
) -> None:
    """Print the state store in use: the SQLite file's path, or the PostgreSQL URL with its
    password masked (or the state directory with --dir)."""
    run_parsed(ctx, run_path, PathOptions(json_, dir_))


@dataclass(frozen=True)
class PathOptions:
    json: bool
    dir: bool  # the state directory, not the store


def run_path(actx: AppContext, opts: PathOptions) -> None:
    settings = actx.settings
    if opts.json:
        output.write_json(
            {
                "state_dir": str(settings.state_dir),
                "backend": settings.store.kind,
                "store": settings.store_display,
                "emulator_dir": str(settings.emulator_dir),
                "base_url": settings.base_url,
            }
        )
        return
    output.write_lines([str(settings.state_dir) if opts.dir else settings.store_display])


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {table.replace('_', ' ')}" for table, n in counts.items())


@state_app.command("export")
def export(ctx: typer.Context, file: FileArg, json_: JsonOpt = False) -> None:
    """Write every job (with its parts), intent, batch and hook run of the store to FILE as
    versioned JSONL (claims of running collects are left out). `state import` reads it into any
    store, of either backend."""
    if names_std(file) and json_:
        raise UsageError("--json reports an export to FILE on stdout; with '-' stdout is the export",
                         hint="give a FILE, or leave --json out")
    run_parsed(ctx, run_export, TransferOptions(file, json_))


@dataclass(frozen=True)
class TransferOptions:
    file: Path  # - : stdout (export) or stdin (import)
    json: bool


def run_export(actx: AppContext, opts: TransferOptions) -> None:
    from batchctl.core.state import transfer

    file, json_ = opts.file, opts.json
    store = actx.store()
    exported = transfer.export(store, None if names_std(file) else file, actx.clock.time())
    counts = drive(actx, exported, lambda event: output.write_bytes([event.data])
                   if isinstance(event, Data) else None)
    if counts is None:  # written to stdout
        return
    if json_:
        output.write_json({"file": str(file.absolute()), "store": store.location, **counts})
    output.info(actx, f"exported {_counts(counts)} from {store.location} to {file}")


@state_app.command("import")
def import_(ctx: typer.Context, file: FileArg, json_: JsonOpt = False) -> None:
    """Add the rows of an export FILE that the store lacks; rows it has (same id) are kept.
    All or nothing, and idempotent: importing the same file again adds nothing."""
    run_parsed(ctx, run_import, TransferOptions(file, json_))


def run_import(actx: AppContext, opts: TransferOptions) -> None:
    from batchctl.core.state import transfer

    file = opts.file
    store = actx.store()
    stdin = names_std(file)
    report = transfer.import_file(store, Path("<stdin>") if stdin else file,
                                  actx.io.stdin_bytes() if stdin else None)
    if opts.json:
        output.write_json({"file": str(file), "store": store.location,
                           "added": report.added, "kept": report.kept})
    output.info(actx, f"imported {_counts(report.added)} into {store.location}; "
                      f"already there: {_counts(report.kept)}")


def register(app: typer.Typer) -> None:
    app.add_typer(state_app)

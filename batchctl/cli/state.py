"""`batchctl state ...`: which state store is in use and where (for backups, ad-hoc sqlite3/psql)."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl.cli import output
from batchctl.cli.context import app_context
from batchctl.cli.options import JsonOpt

state_app = typer.Typer(
    name="state",
    help="The state store: which one is in use, where it lives.",
    no_args_is_help=True,
)


@state_app.command("path")
def path(
    ctx: typer.Context,
    json_: JsonOpt = False,
    dir_: Annotated[bool, typer.Option("--dir", help="Print the state directory instead.")] = False,
) -> None:
    """Print the state store in use: the SQLite file's path, or the PostgreSQL URL with its
    password masked (or the state directory with --dir)."""
    settings = app_context(ctx).settings
    if json_:
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
    output.write_lines([str(settings.state_dir) if dir_ else settings.store_display])


def register(app: typer.Typer) -> None:
    app.add_typer(state_app)

"""`batchctl state ...`: where the state store lives (for backups and ad-hoc sqlite3)."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl.cli import output
from batchctl.cli.context import app_context
from batchctl.cli.options import JsonOpt

state_app = typer.Typer(
    name="state",
    help="The local state store: where it lives.",
    no_args_is_help=True,
)


@state_app.command("path")
def path(
    ctx: typer.Context,
    json_: JsonOpt = False,
    dir_: Annotated[bool, typer.Option("--dir", help="Print the state directory instead.")] = False,
) -> None:
    """Print the path of the state store (or of the state directory with --dir)."""
    actx = app_context(ctx)
    db = actx.settings.store_path
    if json_:
        output.write_json(
            {
                "state_dir": str(actx.settings.state_dir),
                "store": str(db),
                "emulator_dir": str(actx.settings.emulator_dir),
                "base_url": actx.settings.base_url,
            }
        )
        return
    output.write_lines([str(actx.settings.state_dir if dir_ else db)])


def register(app: typer.Typer) -> None:
    app.add_typer(state_app)

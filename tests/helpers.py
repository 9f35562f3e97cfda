"""Running batchctl in-process with typer's CliRunner (what else the tests share is in
tests/support/)."""

from __future__ import annotations

import os
from typing import Any

from typer.testing import CliRunner, Result

from batchctl.cli.app import app
from batchctl.cli.context import Overrides
from batchctl.cli.iostreams import IOStreams


def invoke(
    args: list[str],
    *,
    input: str | bytes | None = None,  # noqa: A002 - CliRunner.invoke's name
    tty: bool = False,
    clock: Any = None,
    env: dict[str, str | None] | None = None,
    width: int = 100,
    emulator_config: Any = None,
    api_max_retries: int | None = None,
) -> Result:
    """Run batchctl in-process with stdout/stderr captured separately.

    ``tty`` makes batchctl believe stdin, stdout and stderr are terminals.
    """
    # The streams are CliRunner's (looked up when written to); what is decided of them is this
    # test's, the environment the run will see included (NO_COLOR).
    seen = {**os.environ, **(env or {})}
    io = IOStreams(stdin_tty=tty, stdout_tty=tty, stderr_tty=tty, width=width,
                   env={k: v for k, v in seen.items() if v is not None})
    overrides = Overrides(io=io, clock=clock, emulator_config=emulator_config,
                          api_max_retries=api_max_retries)
    return CliRunner().invoke(app, args, input=input, env=env, obj=overrides)

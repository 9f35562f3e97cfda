"""The root Typer app: global options, command registration, and the one place where
BatchctlError becomes a message on stderr and an exit code."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer._click import exceptions as click_errors
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

from batchctl import __version__
from batchctl.cli.context import AppContext, Overrides
from batchctl.core.errors import BatchctlError, ExitCode, InputError
from batchctl.core.settings import Settings


def escape(text: str) -> str:
    """Rich markup escaped; rich is imported only when something is styled (not for piped
    help)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# One module per command, each with `register(app)`. Order is the order of `--help`.
COMMAND_MODULES: tuple[str, ...] = (
    "submit",
    "status",
    "wait",
    "list",
    "cancel",
    "delete",
    "results",
    "retry_failed",
    "run",
    "collect",
    "prepare",
    "models",
    "emulator",
    "state",
)


def report_error(
    actx: AppContext | None, exc: BatchctlError, *, stderr_tty: bool | None = None
) -> None:
    """Print an error the way every command does: message, FILE:LINE problems, hint.

    Without an AppContext (the mistake came before the root callback built one), stderr is
    styled if ``stderr_tty`` says so, else if it is a terminal (or BATCHCTL_FORCE_TTY is set)."""
    tty = actx.stderr_tty if actx is not None else False
    err: Any = actx.err if actx is not None else None
    if actx is None and (stderr_tty if stderr_tty is not None else _stderr_is_tty()):
        # No settings needed (they may be what is wrong): a styled stderr console alone.
        from rich.console import Console

        tty, err = True, Console(stderr=True, force_terminal=True, highlight=False, emoji=False)

    def line(text: str, style: str | None = None) -> None:
        if err is None:
            sys.stderr.write(text + "\n")
        elif style and tty:  # soft_wrap: the terminal wraps; a hinted command stays one line
            err.print(f"[{style}]{escape(text)}[/]", soft_wrap=True)
        else:
            err.print(text, markup=False, highlight=False, soft_wrap=True)

    if tty and err is not None:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    else:
        line(f"error: {exc.message}")
    if isinstance(exc, InputError):
        for problem in exc.problems:
            line(problem)
        if exc.more:
            line(f"... and {exc.more} more problem{'s' if exc.more != 1 else ''}")
        if os.environ.get("GITHUB_ACTIONS") == "true":
            from batchctl.cli.render.github import github_errors

            for annotation in github_errors(exc.problems or [exc.message]):
                sys.stderr.write(annotation + "\n")
    if exc.hint:
        line(f"hint: {exc.hint}", "dim")
    if exc.next_steps:
        from batchctl.cli.render.output import next_step

        settings = actx.settings if actx is not None else None
        for step in exc.next_steps:
            line(f"hint: {next_step(settings, step)}", "dim")


def _stderr_is_tty() -> bool:
    from batchctl.cli.context import FORCE_TTY_ENV

    if os.environ.get(FORCE_TTY_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _usage_exit(ctx: Any, exc: click_errors.ClickException) -> NoReturn:
    """A mistake in the command line, said the way every other error is; exit 2."""
    from batchctl.cli.usage import usage_error

    obj = ctx.find_root().obj if ctx is not None else None
    actx = obj if isinstance(obj, AppContext) else None
    tty = obj.stderr_tty if isinstance(obj, Overrides) else None
    error = usage_error(exc, ctx)
    report_error(actx, error, stderr_tty=tty)
    raise typer.Exit(error.exit_code)


# The global options (the root callback's), and which of them take a value.
GLOBAL_FLAGS = frozenset({"--emulator", "--no-emulator"})
GLOBAL_VALUED = frozenset({"--state-dir", "--base-url", "--store"})


def hoist_global_options(args: list[str]) -> list[str]:
    """``status --emulator ID`` -> ``--emulator status ID``: global options given after the
    command (or a sub-command) are moved before it, so they work in either place. Nothing after
    ``--`` is touched; no command has an option of the same name."""
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        i += 2 if args[i] in GLOBAL_VALUED else 1
    if i >= len(args) or args[i] == "--":
        return args
    moved: list[str] = []
    kept: list[str] = []
    rest = args[i:]
    j = 0
    while j < len(rest):
        word = rest[j]
        if word == "--":
            kept += rest[j:]
            break
        if word in GLOBAL_FLAGS or (word.split("=", 1)[0] in GLOBAL_VALUED and "=" in word):
            moved.append(word)
        elif word in GLOBAL_VALUED and j + 1 < len(rest):
            moved += [word, rest[j + 1]]
            j += 1
        else:
            kept.append(word)
        j += 1
    return args[:i] + moved + kept


def _skip_none(param: Any) -> None:
    """A parameter left unset is None without building its validator: Typer builds a pydantic
    TypeAdapter for each parameter it processes, even one with nothing to check, and importing
    pydantic for the root's unset options was most of `batchctl status --help`."""
    if "process_value" in vars(param) or param.nargs != 1 or getattr(param, "multiple", False):
        return
    process = param.process_value

    def process_value(ctx: Any, value: Any) -> Any:
        if value is None and not param.required:
            return param.callback(ctx, param, None) if param.callback is not None else None
        return process(ctx, value)

    param.process_value = process_value


class _Help:
    """Help pages and usage lines by batchctl.cli.helptext, for commands and groups alike; unset
    parameters without a validator."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            _skip_none(param)
        return params

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from batchctl.cli import helptext

        helptext.format_help(ctx, self, formatter)

    def get_usage(self, ctx: Any) -> str:
        from batchctl.cli import helptext

        return "Usage: " + helptext.usage(ctx, self)


class BatchctlCommand(_Help, TyperCommand):
    """A command under the root (or under `state`)."""


class BatchctlSubGroup(_Help, TyperGroup):
    """A group under the root (`state`): its errors reach the root's handler."""


class BatchctlGroup(_Help, TyperGroup):
    """Maps the error tree to exit codes for every command, CliRunner included; takes the
    global options after the command too."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, hoist_global_options(list(args)))
        except click_errors.ClickException as exc:
            _usage_exit(ctx, exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except click_errors.ClickException as exc:
            _usage_exit(ctx, exc)
        except BatchctlError as exc:
            actx = ctx.obj if isinstance(ctx.obj, AppContext) else None
            report_error(actx, exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted; batches already submitted keep running on the server\n")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`batchctl list | head -1`): not an error for the user.
            _silence_stdout()
            raise typer.Exit(ExitCode.OK) from None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


app = typer.Typer(
    cls=BatchctlGroup,
    name="batchctl",
    help="Drive Anthropic's Message Batches API from the shell.\n\n"
    "Submit JSONL request files, watch them, stream results, retry failures. "
    "Try everything with --emulator: no key, no cost.",
    invoke_without_command=True,
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"batchctl {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    emulator: Annotated[
        bool | None,
        typer.Option(
            "--emulator/--no-emulator",
            help="Use the local emulator, in-process, with its data under the state directory: "
            "no key, no network, no cost. (env: BATCHCTL_EMULATOR=1)",
            show_default=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="Where batchctl keeps its state store. (env: BATCHCTL_HOME)",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="API base URL. (env: ANTHROPIC_BASE_URL; default https://api.anthropic.com)",
            show_default=False,
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            metavar="sqlite|URL",
            help="The state store: 'sqlite' (a file under the state directory, the default) or "
            "a PostgreSQL URL (postgresql://...) shared by several machines. "
            "(env: BATCHCTL_STORE)",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    if ctx.invoked_subcommand is None:
        # A bare `batchctl` (or one in a cron line whose command went missing) does nothing.
        # The page goes to stderr: helptext decides colour by sys.stdout, so point that there.
        real_stdout, sys.stdout = sys.stdout, sys.stderr
        try:
            text = ctx.get_help()
        finally:
            sys.stdout = real_stdout
        if text:
            sys.stderr.write(text + "\n")
        raise typer.Exit(ExitCode.USAGE)
    overrides = ctx.obj if isinstance(ctx.obj, Overrides) else None
    try:
        settings = Settings.resolve(
            state_dir=state_dir, emulator=emulator, base_url=base_url, store=store
        )
    except BatchctlError as exc:
        report_error(None, exc)
        raise typer.Exit(exc.exit_code) from None
    actx = AppContext.build(settings, overrides)
    ctx.obj = actx
    ctx.call_on_close(actx.close)


def _adopt(typer_app: typer.Typer) -> None:
    """Every command and sub-group gets batchctl's help pages (and lazy unset values)."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = BatchctlCommand
    for group in typer_app.registered_groups:
        if isinstance(group.cls, DefaultPlaceholder) or group.cls in (None, TyperGroup):
            group.cls = BatchctlSubGroup
        if group.typer_instance is not None:
            _adopt(group.typer_instance)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"batchctl.cli.commands.{name}")
        module.register(app)
    _adopt(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    from batchctl.cli.context import FORCE_TTY_ENV

    if not (sys.stdout.isatty() or os.environ.get(FORCE_TTY_ENV, "").strip() in {"1", "true"}):
        # Help and usage errors are batchctl's own (helptext, usage); this keeps what Typer
        # still prints itself (a bug's traceback) in plain text, without box drawing, in logs.
        import typer.core

        typer.core.HAS_RICH = False
    app(prog_name="batchctl")

"""The root Typer app: global options, the registry of commands (each imported only when run),
and the one place where BatchctlError becomes a message on stderr and an exit code."""

from __future__ import annotations

import difflib
import functools
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from batchctl import __version__
from batchctl.cli import choices, iostreams, typer_private
from batchctl.cli.context import AppContext, Overrides, streams
from batchctl.cli.flags import FLAGS
from batchctl.cli.iostreams import IOStreams
from batchctl.cli.options import a_dir
from batchctl.core.errors import BatchctlError, ExitCode, InputError
from batchctl.core.settings import Settings


def escape(text: str) -> str:
    """Rich markup escaped; rich is imported only when something is styled (not for piped
    help)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


@dataclass(frozen=True)
class CommandInfo:
    """A command of the registry: its module (with ``register(app)``) and its summary, the
    first paragraph of its help, which the root help page lists without importing it."""

    module: str
    summary: str


# pip's commands_dict: `batchctl CMD` imports CMD's module alone, `batchctl --help` none.
# Order is the order of `--help`. tests/cli/test_command_registry.py checks each summary against
# the command's help.
COMMANDS: dict[str, CommandInfo] = {
    "submit": CommandInfo("submit", "Validate a request file, split it if over the limits, "
                          "submit it; print the batch id(s)."),
    "status": CommandInfo("status", "Show the current state of batches (asks the API and "
                          "updates the state store)."),
    "wait": CommandInfo("wait", "Wait until batches have ended: progress bars on a terminal, "
                        "one line per change off one."),
    "list": CommandInfo("list", "List batches, newest first, with the job, label and request "
                        "file the store knows."),
    "cancel": CommandInfo("cancel", "Cancel batches still in progress (asks first on a "
                          "terminal; --yes without one)."),
    "delete": CommandInfo("delete", "Delete ended batches and their results from the API (asks "
                          "first on a terminal; --yes without one)."),
    "results": CommandInfo("results", "Stream the results of a batch (or of every part of a "
                           "job, in order) to stdout or -o FILE."),
    "retry-failed": CommandInfo("retry_failed", "Resubmit the failed requests of a batch (or of "
                                "every part of a job) as a new batch."),
    "run": CommandInfo("run", "Submit a request file, wait for its batches to end, and write "
                       "their results: the whole job in one command, for CI steps and "
                       "one-liners."),
    "collect": CommandInfo("collect", "Download the results of every tracked batch that has "
                           "ended and was not collected yet, one file per batch: "
                           "DIR/<label-or-job>-<batch id>.jsonl (or .csv)."),
    "prepare": CommandInfo("prepare", "Turn plain prompts into a request file, written to "
                           "stdout."),
    "models": CommandInfo("models", "List the models the API offers: id, name, lifecycle, "
                          "retirement date, max_tokens, max input tokens, batch support and "
                          "thinking types."),
    "emulator": CommandInfo("emulator", "Serve the local emulator of the Message Batches API "
                            "over HTTP until Ctrl-C."),
    "state": CommandInfo("state", "The state store: which one is in use, where it lives; "
                         "export and import it."),
}
COMMAND_MODULES: tuple[str, ...] = tuple(info.module for info in COMMANDS.values())


@functools.cache
def load_command(name: str) -> Any:
    """The Click command of ``batchctl NAME``, its module imported now (once)."""
    module = importlib.import_module(f"batchctl.cli.commands.{COMMANDS[name].module}")
    holder = typer.Typer()
    module.register(holder)
    typer_private.adopt(holder, BatchctlCommand, BatchctlSubGroup)
    return typer.main.get_group(holder).commands[name]


def report_error(io: IOStreams, exc: BatchctlError, settings: Settings | None = None,
                 command: Any = None) -> None:
    """Print an error the way every command does: message, FILE:LINE problems, hint (the next
    steps shown with the global options of ``settings``). Styled on a terminal, plain off one.
    ``command``: the command being run, if known (the line after cut-off problems names its
    option that lists them all)."""
    err = io.console(stderr=True) if io.stderr_tty else None

    def line(text: str, style: str | None = None, indent: int = 2) -> None:
        if err is None:
            io.stderr.write(text + "\n")
        else:  # wrapped between words; a hinted command is never broken (render/prose.py)
            from batchctl.cli.render.prose import say

            say(err, text, tty=True, style=style, indent=indent)

    if err is not None:
        from batchctl.cli.render.prose import say

        say(err, exc.message, tty=True, label="error:", style="bold red")
    else:
        line(f"error: {exc.message}")
    if isinstance(exc, InputError):
        for problem in exc.problems:
            line(problem)
        if exc.more:
            from batchctl.cli.render.problems import cut_off_line

            line(cut_off_line(exc.more, command))
        if os.environ.get("GITHUB_ACTIONS") == "true":
            from batchctl.cli.render.github import github_errors

            for annotation in github_errors(exc.problems or [exc.message]):
                io.stderr.write(annotation + "\n")
    if exc.hint:
        line(f"hint: {exc.hint}", "dim", indent=6)
    if exc.next_steps:
        from batchctl.cli.render.output import next_step

        for step in exc.next_steps:
            line(f"hint: {next_step(settings, step)}", "dim", indent=6)


def _settings(ctx: Any) -> Settings | None:
    obj = ctx.find_root().obj if ctx is not None else None
    return obj.settings if isinstance(obj, AppContext) else None


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


class _Help:
    """For commands and groups alike: help pages and usage lines by batchctl.cli.helptext,
    mistakes on the command line as batchctl's UsageError (batchctl.cli.usage), unset
    parameters without a validator."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            typer_private.skip_unset_validation(param)
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)  # type: ignore[misc]
        except typer.TyperException as exc:  # Click's exceptions: see usage.py
            from batchctl.cli.usage import usage_error

            raise usage_error(exc, ctx) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except typer.TyperException as exc:  # a BadParameter raised by a command, say
            from batchctl.cli.usage import usage_error

            raise usage_error(exc, ctx) from None

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from batchctl.cli import helptext

        helptext.format_help(ctx, self, formatter)

    def get_usage(self, ctx: Any) -> str:
        from batchctl.cli import helptext

        return "Usage: " + helptext.usage(ctx, self)


class _Commands(_Help):
    """A group's sub-commands looked up by batchctl: a mistyped one is a usage error in
    batchctl's voice, with the names it is close to (difflib, as pip's get_similar_commands)."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0]
        if not (ctx.resilient_parsing or name.startswith("-")
                or self.get_command(ctx, name) is not None):  # type: ignore[attr-defined]
            from batchctl.cli.usage import no_such_command

            close = difflib.get_close_matches(name, self.list_commands(ctx))  # type: ignore[attr-defined]
            raise no_such_command(ctx, name, close)
        return super().resolve_command(ctx, args)  # type: ignore[misc]


class BatchctlCommand(_Help, TyperCommand):
    """A command under the root (or under `state`). Words left over after its parameters are
    batchctl's usage error (Click's ``allow_extra_args`` keeps them for it)."""

    allow_extra_args = True

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        if rest and not ctx.resilient_parsing:
            from batchctl.cli.usage import unexpected

            raise unexpected(rest, ctx)
        return rest


class BatchctlSubGroup(_Commands, TyperGroup):
    """A group under the root (`state`): its errors reach the root's handler; without its
    command, it says which it has."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        if not ctx.resilient_parsing and all(word.startswith("-") for word in args):
            from batchctl.cli.usage import needs_a_command

            names = [n for n in self.list_commands(ctx)
                     if not getattr(self.get_command(ctx, n), "hidden", False)]
            raise needs_a_command(ctx, names)
        return rest


class BatchctlGroup(_Commands, TyperGroup):
    """A root group: maps the error tree to exit codes for every command, CliRunner included;
    takes the global options after the command too."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, hoist_global_options(list(args)))
        except BatchctlError as exc:  # a mistake in the global options: no settings yet
            report_error(streams(ctx), exc)
            raise typer.Exit(exc.exit_code) from None

    def invoke(self, ctx: Any) -> Any:
        io = streams(ctx)
        try:
            with iostreams.running(io):
                return super().invoke(ctx)
        except BatchctlError as exc:
            report_error(io, exc, _settings(ctx),
                         command=self.get_command(ctx, ctx.invoked_subcommand or ""))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            io.stderr.write("\ninterrupted; batches already submitted keep running on the server\n")
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        except BrokenPipeError:
            # The reader went away (`batchctl list | head -1`): not an error for the user.
            io.silence_stdout()
            raise typer.Exit(ExitCode.OK) from None


class RootGroup(BatchctlGroup):
    """batchctl's root: its commands come from ``COMMANDS``, each imported when it is the one
    run (or completed)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def summaries(self) -> list[tuple[str, str]]:
        """(name, summary) of each command, for the help page, nothing imported."""
        return [(name, info.summary) for name, info in COMMANDS.items()]


app = typer.Typer(
    cls=RootGroup,
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


def _version(ctx: typer.Context, value: bool) -> None:
    if value:
        streams(ctx).stdout.write(f"batchctl {__version__}\n")
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
            metavar="DIR",
            callback=a_dir,
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
            autocompletion=choices.complete_store,
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
    io = streams(ctx)
    if ctx.invoked_subcommand is None:
        # A bare `batchctl` (or one in a cron line whose command went missing) does nothing.
        # The page goes to stderr, coloured if stderr may be.
        from batchctl.cli import helptext

        io.stderr.write(helptext.page_text(ctx, ctx.command, colour=io.colour(stderr=True)) + "\n")
        raise typer.Exit(ExitCode.USAGE)
    overrides = ctx.obj if isinstance(ctx.obj, Overrides) else None
    try:
        settings = Settings.resolve(
            state_dir=state_dir, emulator=emulator, base_url=base_url, store=store,
            environ=os.environ, flags=FLAGS,
        )
    except BatchctlError as exc:
        report_error(io, exc)
        raise typer.Exit(exc.exit_code) from None
    actx = AppContext.build(settings, overrides)
    ctx.obj = actx
    ctx.call_on_close(actx.close)


def main() -> None:
    """Console-script entry point."""
    io = IOStreams()
    # Help and usage errors are batchctl's own (helptext, usage); what Typer still prints itself,
    # a bug's traceback, is Python's plain one off a terminal: no box drawing in logs.
    app.pretty_exceptions_enable = io.stderr_tty
    app(prog_name="batchctl", obj=Overrides(io=io))

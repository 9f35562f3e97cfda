"""Every use batchctl makes of Typer's (and its Click's) private names, in one module, and of
the one private name of Rich it needs (``Live._live_render``, "live render").

Typer's public API is what ``typer`` exports (``Typer``, ``Option``, ``Argument``, ``Context``,
``CallbackParam``, ``Exit``, ``BadParameter``, ``TyperException``), the ``typer.core`` classes it
documents as ``cls=`` bases, ``typer.main.get_command``/``get_group``, ``typer.testing`` and the
Click API of commands, contexts and parameters (``parse_args``, ``get_params``, ``list_commands``,
``allow_extra_args``, ``ctx.command_path``, ``param.opts``...). batchctl uses that everywhere
else; what it cannot get from it is here, each use named in ``USES``, and
``tests/cli/test_typer_private.py`` (the canary) fails naming the use when a Typer release moves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typer._click import exceptions as _click_errors

#: Each private use, by name: what it reads and why batchctl needs it.
USES: dict[str, str] = {
    "usage error kinds": "typer._click.exceptions.{MissingParameter, NoSuchOption, "
    "BadOptionUsage} and their option_name/possibilities/param: which mistake a command line "
    "holds (only BadParameter and its base TyperException are exported), so that it is said "
    "in batchctl's words rather than read back from Click's English",
    "validation cause": "typer validates values with pydantic and chains its ValidationError "
    "as the BadParameter's __cause__: the error's type, input and limit (pydantic's own public "
    "errors()) say 'must be at least 1, got 0' without parsing a sentence",
    "unset values unvalidated": "_TyperParameter.process_value builds a pydantic TypeAdapter "
    "even for a value left unset; an instance override skips it for None, which keeps "
    "pydantic out of `batchctl CMD --help` (the root's options are processed first)",
    "registration records": "Typer.registered_commands/registered_groups and their cls: "
    "every command a module registers gets batchctl's command class (its help pages and "
    "usage errors) without each module naming it",
    "live render": "rich.live.Live._live_render, the LiveRender that moves the cursor up over "
    "what a live display drew: batchctl puts its own in its place (cli/render/live.py, Redraw) "
    "so that a resize and Ctrl-C redraw cleanly; Rich exports no way to give Live another",
}


def live_render(live: Any) -> Any:
    """The ``LiveRender`` of a ``rich.live.Live`` ("live render")."""
    return live._live_render


def set_live_render(live: Any, render: Any) -> None:
    """Make ``render`` (a ``LiveRender``) the one ``live`` draws and moves the cursor with."""
    live._live_render = render


@dataclass(frozen=True)
class Mistake:
    """A command-line mistake as Typer reported it, by kind: ``missing`` (a required value),
    ``no-such-option``, ``option-usage`` (a value given to a flag, or none to an option),
    ``bad-value``, or ``other``."""

    kind: str
    param: Any = None  # the Click parameter, when Typer knows it
    option: str | None = None  # the option as typed (no-such-option, option-usage)
    close: tuple[str, ...] = ()  # options close to a mistyped one


def mistake(exc: Exception) -> Mistake:
    """What a Click exception (a ``typer.TyperException``) says, by kind ("usage error kinds")."""
    if isinstance(exc, _click_errors.MissingParameter):
        return Mistake("missing", exc.param)
    if isinstance(exc, _click_errors.NoSuchOption):
        return Mistake("no-such-option", option=exc.option_name,
                       close=tuple(sorted(exc.possibilities or ())))
    if isinstance(exc, _click_errors.BadOptionUsage):
        return Mistake("option-usage", option=exc.option_name)
    if isinstance(exc, _click_errors.BadParameter):
        return Mistake("bad-value", exc.param)
    return Mistake("other")


def validation_error(exc: BaseException) -> dict[str, Any]:
    """The first pydantic error behind a BadParameter ("validation cause"): ``type``,
    ``input``, ``ctx``, ``msg``; empty if Typer gave none."""
    read = getattr(exc.__cause__, "errors", None)
    errors = read() if callable(read) else []
    return dict(errors[0]) if errors else {}


def skip_unset_validation(param: Any) -> None:
    """A parameter left unset is None (or its callback's answer for None) without Typer
    building its validator ("unset values unvalidated")."""
    if "process_value" in vars(param) or param.nargs != 1 or getattr(param, "multiple", False):
        return
    process = param.process_value

    def process_value(ctx: Any, value: Any) -> Any:
        if value is None and not param.required:
            return param.callback(ctx, param, None) if param.callback is not None else None
        return process(ctx, value)

    param.process_value = process_value


def adopt(typer_app: Any, command_cls: type, group_cls: type) -> None:
    """Give every command and sub-group registered on ``typer_app`` (recursively) batchctl's
    classes unless it names one of them already ("registration records")."""
    for info in typer_app.registered_commands:
        if not (isinstance(info.cls, type) and issubclass(info.cls, command_cls)):
            info.cls = command_cls
    for group in typer_app.registered_groups:
        if not (isinstance(group.cls, type) and issubclass(group.cls, group_cls)):
            group.cls = group_cls
        if group.typer_instance is not None:
            adopt(group.typer_instance, command_cls, group_cls)

"""Help pages, written by batchctl rather than by Typer: one model of a command's help (usage line,
text, arguments, options, sub-commands), in one layout: plain text off a terminal, with colours
(escape codes, no Rich) on one.

Why not Typer's rich help: it imports rich.markdown (and markdown_it, pygments) and rich.traceback
for every page although batchctl's help uses neither, and lays the page out with Rich's tables
and panels, which made help on a terminal take two to three times as long as piped; and it shows
types instead of names (``<list[str]>``, ``{ref}``, ``[refs]...``). Here every value has a
name (``FILE``, ``ID|JOB...``, ``N``, ``SECONDS``): the metavar its option declares, else its own
name in capitals (``metavar``).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


@dataclass
class Row:
    names: str  # "-o, --output", "--emulator / --no-emulator", "ID|JOB..." for an argument
    metavar: str  # "" for a flag or an argument
    help: str
    notes: list[str] = field(default_factory=list)  # "default: api", "at least 1", "required"

    @property
    def text(self) -> str:
        return f"{self.help}  [{'; '.join(self.notes)}]" if self.notes else self.help


@dataclass
class Page:
    prog: str  # "batchctl status"
    usage: str  # what follows it: "[OPTIONS] [ID|JOB...]"
    text: str
    sections: list[tuple[str, list[Row]]]


# -- the model ------------------------------------------------------------------------------
def metavar(param: Any) -> str:
    """The name of the value a parameter takes: its own metavar (``FILE``, ``N``, ``a|b``),
    else its name (``MODEL``, an argument's ``REF``)."""
    if getattr(param, "metavar", None):
        return str(param.metavar)
    return str(getattr(param, "name", "") or "value").upper().replace("_", "-")


def argument_name(param: Any) -> str:
    name = metavar(param)
    return name if getattr(param, "nargs", 1) == 1 or name.endswith("...") else f"{name}..."


def usage(ctx: Any, command: Any) -> str:
    """``batchctl status [OPTIONS] [ID|JOB...]``."""
    pieces = [ctx.command_path]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if any(p.param_type_name == "option" for p in params):
        pieces.append("[OPTIONS]")
    for param in params:
        if param.param_type_name == "argument":
            name = argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
    if callable(getattr(command, "list_commands", None)):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _notes(param: Any) -> list[str]:
    notes: list[str] = []
    envvar = getattr(param, "envvar", None)
    if envvar and getattr(param, "show_envvar", False):
        notes.append(f"env: {envvar if isinstance(envvar, str) else ', '.join(envvar)}")
    shown = getattr(param, "show_default", None)
    default = getattr(param, "default", None)
    if isinstance(shown, str):
        notes.append(f"default: {shown}")
    elif shown and default not in (None, False, "", (), []) and not callable(default):
        if isinstance(default, Enum):
            default = default.value
        elif isinstance(default, (list, tuple)):
            default = ", ".join(map(str, default))
        notes.append(f"default: {_number(default)}")
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        notes.append(f"{_number(low)} to {_number(high)}")
    elif low is not None:
        notes.append(f"at least {_number(low)}")
    elif high is not None:
        notes.append(f"at most {_number(high)}")
    if param.required:
        notes.append("required")
    return notes


def _option_names(param: Any) -> str:
    def join(opts: list[str]) -> str:
        return ", ".join(sorted(opts, key=lambda o: (o.startswith("--"), o)))

    names = join(list(param.opts))
    if param.secondary_opts:
        names += " / " + join(list(param.secondary_opts))
    return names


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).partition("\f")[0].split("\n\n")[0].split())


def page(ctx: Any, command: Any) -> Page:
    arguments: list[Row] = []
    options: list[Row] = []
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        help_ = " ".join((getattr(param, "help", None) or "").split())
        if param.param_type_name == "argument":
            arguments.append(Row(argument_name(param), "", help_, _notes(param)))
        else:
            flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
            options.append(Row(_option_names(param), "" if flag else metavar(param), help_,
                               _notes(param)))
    sections = [("Arguments", arguments), ("Options", options)]
    sections.append(("Commands", [Row(name, "", summary) for name, summary in _commands(ctx, command)]))
    text = inspect.cleandoc(command.help or "").partition("\f")[0]
    prog = ctx.command_path
    return Page(prog, usage(ctx, command)[len(prog) + 1:], text,
                [(t, rows) for t, rows in sections if rows])


def _commands(ctx: Any, command: Any) -> list[tuple[str, str]]:
    """A group's commands with their summaries: from the root's registry (nothing imported),
    else from each command's help."""
    if callable(getattr(command, "summaries", None)):
        return list(command.summaries())
    if not callable(getattr(command, "list_commands", None)):
        return []
    found = [command.get_command(ctx, name) for name in command.list_commands(ctx)]
    return [(sub.name, _first_paragraph(sub.short_help or sub.help or ""))
            for sub in found if sub is not None and not sub.hidden]


# -- rendering ------------------------------------------------------------------------------
# SGR codes: what a terminal gets (Typer's colours: options cyan, values yellow).
_STYLE = {"usage": "33", "heading": "1", "option": "1;36", "command": "1;32", "value": "1;33"}


def _paint(text: str, style: str, colour: bool) -> str:
    return f"\x1b[{_STYLE[style]}m{text}\x1b[0m" if colour and text else text


def write_page(page_: Page, formatter: Any, *, colour: bool) -> None:
    """Click's layout (its formatter measures text without escape codes), coloured or not."""
    formatter.write_usage(_paint(page_.prog, "heading", colour), page_.usage,
                          prefix=_paint("Usage: ", "usage", colour))
    if page_.text:
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(page_.text)
    for title, rows in page_.sections:
        style = "command" if title == "Commands" else "option"
        with formatter.section(_paint(title, "heading", colour)):
            formatter.write_dl([
                (_paint(r.names, style, colour)
                 + (" " + _paint(r.metavar, "value", colour) if r.metavar else ""), r.text)
                for r in rows
            ])


def format_help(ctx: Any, command: Any, formatter: Any) -> None:
    """``Command.format_help`` for every batchctl command and group: the page goes to stdout,
    coloured if stdout may be (batchctl.cli.iostreams decides)."""
    from batchctl.cli.context import streams

    colour = streams(ctx).colour()
    if colour:
        ctx.color = True  # the help option echoes the page: keep its colours
    write_page(page(ctx, command), formatter, colour=colour)


def page_text(ctx: Any, command: Any, *, colour: bool) -> str:
    """A command's help page as text (for a stream other than stdout)."""
    formatter = ctx.make_formatter()
    write_page(page(ctx, command), formatter, colour=colour)
    return str(formatter.getvalue()).rstrip("\n")

"""Usage mistakes in batchctl's own words.

Typer (through its copy of Click) reports a bad command line with a ``Usage:`` block, "Error:
Invalid value for '--limit' / '-n': Input should be greater than or equal to 1" and the like.
``usage_error`` turns each of those exceptions into the ``UsageError`` every other mistake is
(``error: --limit must be at least 1, got 0`` and ``hint: see 'batchctl list --help'``, exit 2),
so one command line gets one voice whatever part of batchctl found the mistake.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from typer._click import exceptions as click_errors

from batchctl.core.errors import UsageError

# pydantic's error types (typer validates values with it) -> how the value fell short.
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}
_KINDS = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "int_type": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "finite_number": "a finite number",
}


def param_name(param: Any) -> str:
    """How a message names a parameter: its long option (``--limit``), or an argument's metavar
    (``ID|JOB...``)."""
    opts = list(getattr(param, "opts", None) or [])
    if getattr(param, "param_type_name", "") == "option" and opts:
        long = [o for o in opts if o.startswith("--")]
        return (long or opts)[0]
    name = getattr(param, "metavar", None) or str(getattr(param, "name", "") or "").upper()
    multiple = getattr(param, "nargs", 1) != 1
    return f"{name}..." if multiple and not name.endswith("...") else name


def _choices(param: Any) -> list[str]:
    descriptor = getattr(param, "type_descriptor", None)
    found = getattr(descriptor, "choices", None) or ()
    return [str(c.value) if isinstance(c, Enum) else str(c) for c in found]


def _shown(value: Any) -> str:
    """A value the user typed, quoted if it is text (control characters escaped by ``repr``)."""
    return repr(value) if isinstance(value, str) else str(value)


# Typer's own checks of a path option (exists=True, dir_okay=False...).
_PATH = re.compile(r"^(?:file|directory|path) '(?P<path>.*)' (?P<what>.+?)\.$", re.DOTALL | re.IGNORECASE)
_PATH_WORDS = {"does not exist": "no such file"}


def _bad_value(exc: click_errors.BadParameter) -> str:
    param = exc.param
    name = param_name(param) if param is not None else "a value"
    if found := _PATH.match(exc.message):
        return f"{name} {found['path']}: {_PATH_WORDS.get(found['what'], found['what'])}"
    cause = exc.__cause__
    errors = cause.errors() if cause is not None and hasattr(cause, "errors") else []
    first: dict[str, Any] = errors[0] if errors else {}
    kind = str(first.get("type", ""))
    given = first.get("input")
    choices = _choices(param)
    if choices and kind not in _BOUNDS:
        return f"{name} must be one of: {', '.join(choices)}; got {_shown(given)}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        limit = (first.get("ctx") or {}).get(key)
        return f"{name} must be {words} {limit}, got {given}"
    if kind in _KINDS:
        return f"{name} must be {_KINDS[kind]}, got {_shown(given)}"
    text = str(first.get("msg") or exc.message).removeprefix("Value error, ")
    return f"{name}: {_sentence(text)}"


def _sentence(text: str) -> str:
    """Click's sentences in batchctl's form: lower-case start, no final full stop."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _missing(exc: click_errors.MissingParameter) -> str:
    param = exc.param
    if param is None:
        return "a required value is missing"
    what = "option" if getattr(param, "param_type_name", "") == "option" else "argument"
    return f"missing {what} {param_name(param)}"


def _no_such_option(exc: click_errors.NoSuchOption) -> str:
    return f"no such option: {exc.option_name}" + did_you_mean(sorted(exc.possibilities or ()))


def did_you_mean(close: list[str]) -> str:
    """`` (did you mean status?)``, `` (did you mean one of a, b?)``, or ``""``."""
    if not close:
        return ""
    return f" (did you mean {close[0]}?)" if len(close) == 1 else \
        f" (did you mean one of {', '.join(close)}?)"


_REQUIRES = re.compile(r"^Option '(?P<opt>[^']+)' requires (?P<what>.+?)\.?$")
_NO_VALUE = re.compile(r"^Option '(?P<opt>[^']+)' does not take a value\.?$")
_EXTRA = re.compile(r"^Got unexpected extra argument(?:\(s\)|s)? \((?P<args>.*)\)$")


def _generic(exc: click_errors.UsageError) -> str:
    text = exc.message
    if found := _REQUIRES.match(text):
        what = found["what"]
        return f"{found['opt']} needs {'a value' if what == 'an argument' else what}"
    if found := _NO_VALUE.match(text):
        return f"{found['opt']} takes no value"
    if found := _EXTRA.match(text):
        extra = found["args"]
        return f"unexpected argument{'s' if ' ' in extra else ''}: {extra}"
    if text.strip() == "Missing command.":
        return "missing command"
    return _sentence(text)


def _subcommands(ctx: Any) -> list[str]:
    command = getattr(ctx, "command", None)
    if command is None or not callable(getattr(command, "list_commands", None)):
        return []
    return [name for name in command.list_commands(ctx)
            if not getattr(command.get_command(ctx, name), "hidden", False)]


def usage_error(exc: click_errors.ClickException, parsing: Any = None) -> UsageError:
    """The ``UsageError`` for one of Typer's command-line exceptions, with a hint to the help
    of the command it was parsing (the exception's context, else ``parsing``'s sub-command)."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        path = ctx.command_path
    else:
        path = getattr(parsing, "command_path", None) or "batchctl"
        sub = getattr(parsing, "invoked_subcommand", None)
        path = f"{path} {sub}" if sub else path
    hint = f"see '{path} --help'"
    if isinstance(exc, click_errors.NoArgsIsHelpError):
        names = _subcommands(ctx)
        return UsageError(f"'{path}' needs a command: {', '.join(names)}", hint=hint)
    if isinstance(exc, click_errors.MissingParameter):
        return UsageError(_missing(exc), hint=hint)
    if isinstance(exc, click_errors.BadParameter):
        return UsageError(_bad_value(exc), hint=hint)
    if isinstance(exc, click_errors.NoSuchOption):
        return UsageError(_no_such_option(exc), hint=hint)
    if isinstance(exc, click_errors.UsageError):
        message = _generic(exc)
        if message == "missing command":
            message = f"'{path}' needs a command: {', '.join(_subcommands(ctx))}"
        return UsageError(message, hint=hint)
    return UsageError(_sentence(exc.format_message()), hint=hint)

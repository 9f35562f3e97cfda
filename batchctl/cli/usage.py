"""Usage mistakes in batchctl's own words.

Typer (through its copy of Click) reports a bad command line with a ``Usage:`` block, "Error:
Invalid value for '--limit' / '-n': Input should be greater than or equal to 1" and the like.
``usage_error`` turns each of those exceptions into the ``UsageError`` every other mistake is
(``error: --limit must be at least 1, got 0`` and ``hint: see 'batchctl list --help'``, exit 2),
so one command line gets one voice whatever part of batchctl found the mistake. It reads what
the exception carries (its kind, parameter and option, through ``typer_private``), never the
sentence Click wrote; the mistakes batchctl finds itself (an unexpected argument, a group
without its command, a missing file, a mistyped command) are built here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from batchctl.cli import typer_private
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


def _shown(value: Any) -> str:
    """A value the user typed, quoted if it is text (control characters escaped by ``repr``)."""
    return repr(value) if isinstance(value, str) else str(value)


def hint_for(ctx: Any) -> str:
    return f"see '{ctx.command_path} --help'"


def _bad_value(exc: Exception, param: Any) -> str:
    name = param_name(param) if param is not None else "a value"
    first = typer_private.validation_error(exc)
    kind = str(first.get("type", ""))
    given = first.get("input")
    metavar = str(getattr(param, "metavar", None) or "")
    if "|" in metavar and kind not in _BOUNDS and kind not in _KINDS:
        # Only a choice can refuse a value of an option named a|b|c: --status in_progress|...
        return f"{name} must be one of: {', '.join(metavar.split('|'))}; got {_shown(given)}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        limit = (first.get("ctx") or {}).get(key)
        return f"{name} must be {words} {limit}, got {given}"
    if kind in _KINDS:
        return f"{name} must be {_KINDS[kind]}, got {_shown(given)}"
    text = str(first.get("msg") or getattr(exc, "message", exc)).removeprefix("Value error, ")
    return f"{name}: {_sentence(text)}"


def _sentence(text: str) -> str:
    """Click's sentences in batchctl's form: lower-case start, no final full stop."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def did_you_mean(close: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean status?)``, `` (did you mean one of a, b?)``, or ``""``."""
    if not close:
        return ""
    return f" (did you mean {close[0]}?)" if len(close) == 1 else \
        f" (did you mean one of {', '.join(close)}?)"


def _option_usage(option: str, ctx: Any) -> str:
    """A flag given a value (``--json=yes``), or an option given none (``--limit`` last)."""
    command = getattr(ctx, "command", None)
    params = command.get_params(ctx) if command is not None else []
    found = next((p for p in params if option in (*p.opts, *p.secondary_opts)), None)
    if found is not None and getattr(found, "is_flag", False):
        return f"{option} takes no value"
    return f"{option} needs a value"


def usage_error(exc: Exception, ctx: Any) -> UsageError:
    """The ``UsageError`` for one of Typer's command-line exceptions raised while ``ctx``'s
    command was parsed or run, with a hint to that command's help."""
    found = typer_private.mistake(exc)
    hint = hint_for(ctx)
    if found.kind == "missing":
        if found.param is None:
            return UsageError("a required value is missing", hint=hint)
        what = "option" if getattr(found.param, "param_type_name", "") == "option" else "argument"
        return UsageError(f"missing {what} {param_name(found.param)}", hint=hint)
    if found.kind == "bad-value":
        return UsageError(_bad_value(exc, found.param), hint=hint)
    if found.kind == "no-such-option":
        return UsageError(f"no such option: {found.option}{did_you_mean(found.close)}", hint=hint)
    if found.kind == "option-usage" and found.option:
        return UsageError(_option_usage(found.option, ctx), hint=hint)
    message = getattr(exc, "message", None) or str(exc)
    return UsageError(_sentence(message), hint=hint)


def unexpected(args: list[str], ctx: Any) -> UsageError:
    """Words left over once a command's parameters took theirs (control characters escaped)."""
    from batchctl.core.api.untrusted import printable

    shown = " ".join(printable(a, limit=None) for a in args)
    return UsageError(f"unexpected argument{'s' if len(args) > 1 else ''}: {shown}",
                      hint=hint_for(ctx))


def needs_a_command(ctx: Any, names: list[str]) -> UsageError:
    return UsageError(f"'{ctx.command_path}' needs a command: {', '.join(names)}",
                      hint=hint_for(ctx))


def no_such_command(ctx: Any, name: str, close: list[str]) -> UsageError:
    return UsageError(f"no such command: {name}{did_you_mean(close)}", hint=hint_for(ctx))


def check_path(ctx: Any, param: Any, value: Path | None, *, exists: bool, kind: str) -> None:
    """Typer's path checks, said in batchctl's words: ``--request-file x: no such file``,
    ``--output out: is a directory``. ``kind``: "file" or "dir" (what the value must name if
    it names anything)."""
    if value is None:
        return
    shown = f"{param_name(param)} {value}"
    if not value.exists():
        if exists:
            raise UsageError(f"{shown}: no such file", hint=hint_for(ctx))
        return
    if kind == "file" and value.is_dir():
        raise UsageError(f"{shown}: is a directory", hint=hint_for(ctx))
    if kind == "dir" and not value.is_dir():
        raise UsageError(f"{shown}: is a file", hint=hint_for(ctx))

"""What commands write to stdout (through batchctl.cli.iostreams, the owner of the streams), and
the helpers every command uses for stderr.

Off a terminal, output is plain and stable: JSON lines, tab-separated rows, ids one per line, no
escape codes. On a terminal, Rich tables. A reader that closes the pipe early (`| head`) ends the
command quietly (see ``batchctl.cli.app``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from batchctl.cli import iostreams
from batchctl.cli.context import AppContext
from batchctl.cli.flags import FLAGS
from batchctl.cli.render.prose import say
from batchctl.core.api.untrusted import printable
from batchctl.core.errors import NextStep, UsageError
from batchctl.core.flags import Flag
from batchctl.core.plural import usd
from batchctl.core.settings import DEFAULT_BASE_URL, Settings, default_state_dir


def escape(text: str) -> str:
    """Rich markup escaped; rich is imported only when something is styled (not for piped
    help)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


_JSON_OPTS = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def write_bytes(chunks: Iterable[bytes]) -> int:
    """Copy raw bytes to stdout unchanged (results JSONL); returns the byte count."""
    return iostreams.current().write_bytes(chunks)


_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")


def write_terminal_bytes(chunks: Iterable[bytes]) -> int:
    """``write_bytes`` for a terminal: raw control characters (ESC sequences, C1 controls, which
    valid JSONL never holds outside its escapes) are written escaped, as ``\\xNN``. The
    results body is the server's: it must not drive the terminal."""
    return write_bytes(
        _RAW_CONTROL.sub(lambda m: b"\\x%02x" % m.group()[-1], chunk) for chunk in chunks
    )


def json_line(record: Any) -> bytes:
    """The one JSON shape of batchctl: compact, UTF-8, one object per line."""
    return orjson.dumps(record, option=_JSON_OPTS, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(records: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> None:
    """Write one JSON line per record to stdout."""
    if isinstance(records, Mapping):
        records = [records]
    write_bytes(json_line(r) for r in records)


def write_lines(lines: Iterable[str]) -> None:
    """Plain lines (ids, paths) to stdout."""
    write_bytes((line + "\n").encode("utf-8") for line in lines)


def _cell(value: Any) -> str:
    """One table cell on one line, other control characters escaped (cells may hold server
    text: statuses, error types)."""
    if value is None:
        return ""
    text = str(value).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return text if text.isprintable() else printable(text, limit=None)


def write_table(
    actx: AppContext,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    drop: Sequence[str] = (),
    shrink: Sequence[str] = (),
    whole_ids: bool = False,
) -> None:
    """A Rich table on a terminal, fitted to its width with no word and no id ever split
    (``batchctl.cli.render.tables``: ``drop`` and ``shrink`` make it a table of one line per
    row; ``whole_ids``: ids never shortened); tab-separated rows without a header off one."""
    if not actx.stdout_tty:
        write_lines("\t".join(_cell(v) for v in row) for row in rows)
        return
    from rich.table import Table

    from batchctl.cli.render.tables import layout

    table = Table(title=title, header_style="bold", box=None, pad_edge=False)
    fitted = layout(columns, [[_cell(v) for v in row] for row in rows], actx.out.width,
                    drop=drop, shrink=shrink, whole_ids=whole_ids)
    for i, width in fitted.widths.items():
        table.add_column(columns[i].upper(), width=width, no_wrap=not fitted.wraps,
                         overflow="fold" if fitted.wraps else "ellipsis")
    for row in fitted.cells:
        table.add_row(*(escape(row[i]) for i in fitted.widths))
    actx.out.print(table)


def money(value: float | None, *, raw: bool = False) -> str:
    """An estimated cost in USD: cents, or four decimals below a cent; "unknown" for None.
    ``raw`` (piped output): the number alone, no ``$`` and no thousands separator."""
    if value is None:
        return "unknown"
    text = usd(value)
    return text[1:].replace(",", "") if raw else text


def number(actx: AppContext, value: int) -> str:
    """A count as stdout shows it: ``250,000`` on a terminal, ``250000`` piped (for scripts)."""
    return f"{value:,}" if actx.stdout_tty else str(value)


def command_line(settings: Settings | None, command: str, *args: str) -> str:
    """A batchctl command line that reaches the same API and state store as this invocation:
    the global options that differ from the defaults come first, every word shell-quoted. A
    PostgreSQL store with a password in its URL is not named (the password is never shown)."""
    import shlex

    words = ["batchctl"]
    if settings is not None:
        if settings.emulator:
            words.append("--emulator")
        elif settings.base_url != DEFAULT_BASE_URL:
            words += ["--base-url", settings.base_url]
        if settings.state_dir != default_state_dir().expanduser().absolute():
            words += ["--state-dir", str(settings.state_dir)]
        store = settings.store
        if store.is_postgres and not store.password:  # a password is never printed: it is
            words += ["--store", store.masked]  # left to BATCHCTL_STORE, PGPASSWORD or .pgpass
    named = [FLAGS[a] if isinstance(a, Flag) else a for a in args]  # an option core names by key
    return " ".join(shlex.quote(w) for w in [*words, command, *named])


def next_step(settings: Settings | None, step: NextStep) -> str:
    """The one way a next step is shown: ``what it does: batchctl [global options] command``."""
    return f"{step.why}: {command_line(settings, step.command, *step.args)}"


def suggest(actx: AppContext, step: NextStep) -> None:
    """A next step, on stderr."""
    info(actx, next_step(actx.settings, step))


def info(actx: AppContext, message: str) -> None:
    """A note for the person at the terminal (stderr). Not markup: printed as given; wrapped
    between words on a terminal, a suggested command never broken (``prose.say``)."""
    say(actx.err, message, tty=actx.stderr_tty)


def warn(actx: AppContext, message: str) -> None:
    say(actx.err, message, tty=actx.stderr_tty, label="warning:", style="yellow")


def success(actx: AppContext, message: str) -> None:
    if actx.stderr_tty:
        say(actx.err, message, tty=True, label="✓", style="green")
    else:
        say(actx.err, message, tty=False)


def confirm(actx: AppContext, question: str, *, yes: bool, action: str) -> bool:
    """Ask on a terminal; without one, `--yes` is required (exit 2). False means declined, or
    end of input (Ctrl-D); Ctrl-C raises KeyboardInterrupt."""
    if yes:
        return True
    if not actx.can_prompt:
        raise UsageError(
            f"--yes is required to {action} when not running interactively",
            hint=f"re-run with --yes to {action} without a prompt",
        )
    from batchctl.cli.render.prompt import ask_yes_no

    return ask_yes_no(actx.err, actx.io.stdin, question)

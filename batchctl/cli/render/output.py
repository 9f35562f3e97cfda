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


#: A free-text column (``shrink``) is first cut to this many cells, before any column is dropped.
SHRINK_CAP = 24
_GAP = 2  # cells between two columns (Rich's padding of one on each side)


def write_table(
    actx: AppContext,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    no_wrap: Sequence[str] = (),
    cut: Sequence[str] = (),
    drop: Sequence[str] = (),
    shrink: Sequence[str] = (),
) -> None:
    """A Rich table on a terminal; tab-separated rows without a header off one.

    ``no_wrap``: columns kept on one line on a terminal, as is any column of ids (never split
    across lines; shortened, see ``short_ids``, when whole ones would not fit); the others fold
    to fit, but ``cut`` columns, kept on one line and cut with "…" where they must give. With
    ``drop`` or ``shrink`` the table is fitted to the terminal instead, no cell ever wrapped:
    ``shrink`` columns are cut with "…" to SHRINK_CAP cells, then the ``drop`` columns go, in
    that order, until the table fits, then the ``shrink`` columns still shown are cut further.
    A ``drop`` column empty in every row is left out."""
    if not actx.stdout_tty:
        write_lines("\t".join(_cell(v) for v in row) for row in rows)
        return
    from rich.table import Table

    table = Table(title=title, header_style="bold", box=None, pad_edge=False)
    cells = [[_cell(v) for v in row] for row in rows]
    if not (drop or shrink):
        ids = [i for i in range(len(columns)) if _holds_ids(cells, i)]
        if ids and _least_width(columns, cells, ids) > actx.out.width:  # whole ids: too wide
            for i in ids:
                short = short_ids(row[i] for row in cells)
                for row in cells:
                    row[i] = short.get(row[i], row[i])
        room = _room_for_cut(columns, cells, cut, actx.out.width)
        for i, name in enumerate(columns):
            whole = name in no_wrap or i in ids
            table.add_column(name.upper(), overflow="ellipsis" if name in cut else "fold",
                             no_wrap=whole or name in cut, max_width=room.get(i))
        for row in cells:
            table.add_row(*(escape(v) for v in row))
        actx.out.print(table)
        return
    widths = fit_columns(columns, cells, actx.out.width, drop=drop, shrink=shrink)
    for i, width in widths.items():
        table.add_column(columns[i].upper(), width=width, no_wrap=True, overflow="ellipsis")
    for row in cells:
        table.add_row(*(escape(row[i]) for i in widths))
    actx.out.print(table)


def _natural_widths(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width with nothing cut: its widest cell or its header."""
    from rich.cells import cell_len

    return [max([cell_len(n), *(cell_len(row[i]) for row in cells)])
            for i, n in enumerate(columns)]


def _room_for_cut(
    columns: Sequence[str], cells: Sequence[Sequence[str]], cut: Sequence[str], limit: int
) -> dict[int, int]:
    """The widest each ``cut`` column may be for the table to fit ``limit`` cells: what the
    other columns leave at their natural width, shared out (at least 8 cells each)."""
    natural = _natural_widths(columns, cells)
    chosen = [i for i, n in enumerate(columns) if n in cut]
    if not chosen:
        return {}
    others = sum(w for i, w in enumerate(natural) if i not in chosen)
    share = (limit - others - _GAP * (len(columns) - 1)) // len(chosen)
    return {i: max(share, 8) for i in chosen if natural[i] > share}


#: On a terminal, ids longer than this are shown as their first SHORT_ID characters and "…"
#: (longer when two ids of the table share that prefix) where whole ones would not fit;
#: --wide, --json and piped output show them whole. 17 = ``msgbatch_01`` and six characters of
#: the random part.
SHORT_ID = 17


def short_ids(ids: Iterable[str], length: int = SHORT_ID) -> dict[str, str]:
    """How each id is shown in a table: its first ``length`` characters and "…", or more of
    them where two ids would otherwise look alike; an id that short or shorter stays whole."""
    every = list(dict.fromkeys(ids))
    shown: dict[str, str] = {}
    for i in every:
        if len(i) <= length + 1:
            shown[i] = i
            continue
        n = length
        while n < len(i) - 1 and any(o != i and o[:n] == i[:n] for o in every):
            n += 1
        shown[i] = i[:n] + "…" if n < len(i) - 1 else i
    return shown


_ID = re.compile(r"[a-z]+_(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{8,}")  # a digit: not in_progress


def _holds_ids(cells: Sequence[Sequence[str]], i: int) -> bool:
    """Every non-empty cell of column ``i`` is an id (``msgbatch_01...``, ``job_...``): never
    split across lines, in any table."""
    found = [row[i] for row in cells if row[i]]
    return bool(found) and all(_ID.fullmatch(v) for v in found)


def _least_width(columns: Sequence[str], cells: Sequence[Sequence[str]], ids: list[int]) -> int:
    """The narrowest a table can be with its ids whole: the others folded to their header's
    width or ten cells, whichever is more (if their text is that long)."""
    from rich.cells import cell_len

    natural = fit_columns(columns, cells, 1 << 30)
    least = [w if i in ids else min(w, max(cell_len(columns[i]), 10)) for i, w in natural.items()]
    return sum(least) + _GAP * (len(least) - 1)


def fit_columns(
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    limit: int,
    *,
    drop: Sequence[str] = (),
    shrink: Sequence[str] = (),
) -> dict[int, int]:
    """The columns a table of ``cells`` keeps within ``limit`` cells, each with its width, in
    order (see ``write_table``). A column that can neither go nor shrink is never cut (an id)
    unless nothing else is left to give."""
    from rich.cells import cell_len

    natural = _natural_widths(columns, cells)
    floor = {columns.index(n): max(cell_len(n), 8) for n in shrink if n in columns}
    widths = dict(enumerate(natural))
    for i in floor:
        widths[i] = min(widths[i], max(SHRINK_CAP, floor[i]))

    def excess() -> int:
        return sum(widths.values()) + _GAP * (len(widths) - 1) - limit

    for name in drop:  # an empty column says nothing
        i = columns.index(name)
        if not any(row[i] for row in cells):
            widths.pop(i, None)
    for name in drop:
        if excess() <= 0:
            break
        widths.pop(columns.index(name), None)
    for i in floor:
        if i in widths and excess() > 0:
            widths[i] -= max(0, min(excess(), widths[i] - floor[i]))
    return widths


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
    """A note for the person at the terminal (stderr). Not markup: printed as given.

    Every stderr line is printed with ``soft_wrap``: the terminal wraps it, Rich never inserts
    a newline, so a hinted command copied from the screen is one line (hard-wrapped at the
    width, ``--state-dir /tmp/...`` came out split over two lines)."""
    actx.err.print(message, markup=False, highlight=False, soft_wrap=True)


def warn(actx: AppContext, message: str) -> None:
    if actx.stderr_tty:
        actx.err.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True)
    else:
        actx.err.print(f"warning: {message}", markup=False, soft_wrap=True)


def success(actx: AppContext, message: str) -> None:
    if actx.stderr_tty:
        actx.err.print(f"[green]✓[/] {escape(message)}", soft_wrap=True)
    else:
        actx.err.print(message, markup=False, soft_wrap=True)


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

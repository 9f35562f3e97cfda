"""The results options (``--format``, ``--only``, ``--order``, ``--extract``, ``--join``,
``--columns``...),
checked before anything is sent or fetched and bundled as `Options`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchctl.core.atomic import resolve_target
from batchctl.core.errors import UsageError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.results import csvout
from batchctl.core.results.extract import Extractor
from batchctl.core.results.extract import parse as parse_extract
from batchctl.core.results.join import JoinRequest
from batchctl.core.results.summary import RESULT_TYPES

FORMATS = ("jsonl", "csv")
ORDERS = ("api", "input")


def parse_types(text: str, flags: Flags = KEYS) -> frozenset[str]:
    """``--only succeeded,errored`` -> the set of types; a usage error names the bad ones."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    bad = sorted(names - set(RESULT_TYPES))
    if bad or not names:
        raise UsageError(
            f"{flags['only']} must be one of: {', '.join(RESULT_TYPES)} (comma-separated); "
            f"got {', '.join(map(repr, bad)) or repr(text)}"
        )
    return frozenset(names)


def parse_columns(text: str, flags: Flags = KEYS) -> tuple[str, ...]:
    """``--columns text,result_type`` -> the answer columns, in the order given (a name given
    twice counts once); a usage error names the unknown ones and every valid one."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    bad = [n for n in names if n not in csvout.ANSWER_COLUMNS]
    if bad or not names:
        got = f"unknown column {', '.join(map(repr, bad))}" if bad else f"no column in {text!r}"
        raise UsageError(f"{flags['columns']}: {got}; the columns are "
                         f"{', '.join(csvout.ANSWER_COLUMNS)} (comma-separated)")
    return names


#: The extensions of -o that say a format (any case). Anything else on a regular file needs
#: --format: writing JSONL into `answers.xlsx` silently is worse than asking (issue 15).
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def format_for(path: Path | None, given: str | None, flags: Flags = KEYS) -> str:
    """``--format`` if given, else from the extension of ``-o`` (``EXTENSIONS``); JSONL for
    stdout, a name without an extension, and a device, FIFO or descriptor (``/dev/stdout``).

    An unknown extension on a regular file (or one to be created) is a UsageError (exit 2),
    raised before anything is sent. A symlink without an extension takes the one of the file it
    leads to. ``.json`` is refused too: it would hold JSON lines, not one JSON document.
    """
    if given is not None:
        fmt = given.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"{flags['fmt']} must be one of: {', '.join(FORMATS)}; "
                             f"got {given!r}")
        return fmt
    if path is None:
        return "jsonl"
    target = resolve_target(path)
    suffix = path.suffix or target.path.suffix
    if not suffix:
        return "jsonl"
    known_fmt = EXTENSIONS.get(suffix.lower())
    if known_fmt is not None:
        return known_fmt
    if target.in_place:  # not a regular file: its name is not a file type (issue 15, item 1)
        return "jsonl"
    known = ", ".join(EXTENSIONS)
    out, fmt = flags["out"], flags["fmt"]
    if suffix.lower() == ".json":
        raise UsageError(
            f"{out} {path}: results are JSON lines (one object per line), not one JSON document, "
            f"so .json would misname them; the extensions batchctl writes: {known}",
            hint=f"name it {path.with_suffix('.jsonl').name}, or add {fmt} jsonl to keep "
            "the name",
        )
    raise UsageError(
        f"{out} {path}: batchctl does not write {suffix} files; the extensions it knows: {known}",
        hint=f"add {fmt} jsonl or {fmt} csv to write that format under this name",
    )


@dataclass(frozen=True)
class Given:
    """The results options as the caller was given them (text, unchecked), for
    ``build_options``; ``join``: the DATA path, "" for the CSV that prepare remembered;
    ``state_dir``: where prepare remembered it. ``flags``: how the caller names each option."""

    out: Path | None = None
    fmt: str | None = None
    only: str | None = None
    order: str | None = None
    prices_file: Path | None = None
    json_: bool = False
    merge_retries: bool = False
    extract: str | None = None
    thinking: bool = False
    join: str | None = None
    id_column: str | None = None
    columns: str | None = None
    state_dir: Path | None = None
    flags: Flags = field(default=KEYS, compare=False, repr=False)


def build_options(given: Given) -> Options:
    """Check the results options (before anything is sent or fetched) and bundle them."""
    g, flags = given, given.flags
    joining = None
    if g.join is not None:
        if g.only is not None or g.order is not None:
            raise UsageError(f"{flags['join']} writes every row of DATA in its order: it cannot "
                             f"be used with {flags['only']} or {flags['order']}")
        assert g.state_dir is not None
        joining = JoinRequest(Path(g.join) if g.join else None, g.id_column, g.state_dir, flags)
    elif g.id_column is not None:
        raise UsageError(f"{flags['id_column']} goes with {flags['join']} DATA")
    if g.order is not None and g.order not in ORDERS:
        raise UsageError(f"{flags['order']} must be one of: {', '.join(ORDERS)}; "
                         f"got {g.order!r}")
    price_table = None
    if g.prices_file is not None:
        from batchctl.core.catalog.prices import load_price_table

        price_table = load_price_table(g.prices_file, flags["prices_file"])
    fmt = format_for(g.out, g.fmt, flags)
    if g.json_ and fmt != "jsonl":
        raise UsageError(f"{flags['json_']} writes JSONL: it cannot be used with {flags['fmt']} "
                         f"csv or {flags['out']} FILE.csv")
    if g.thinking and fmt != "csv":
        raise UsageError(f"{flags['thinking']} adds a CSV column: use it with {flags['fmt']} csv "
                         f"or {flags['out']} FILE.csv (JSONL keeps every block as the API sent it)")
    if g.columns is not None and fmt != "csv" and joining is None:
        raise UsageError(f"{flags['columns']} chooses the answer columns of a CSV or a join: use "
                         f"it with {flags['fmt']} csv, {flags['out']} FILE.csv or {flags['join']}"
                         " (JSONL keeps each result whole)")
    return Options(
        format=fmt,
        extract=parse_extract(g.extract, flags["extract"]),
        thinking=g.thinking,
        join=joining,
        columns=parse_columns(g.columns, flags) if g.columns is not None else None,
        only=parse_types(g.only, flags) if g.only is not None else None,
        order=g.order,
        merge_retries=g.merge_retries,
        price_table=price_table,
        flags=flags,
    )


@dataclass(frozen=True)
class Options:
    format: str = "jsonl"
    only: frozenset[str] | None = None
    # "api": as the API sends them; "input": the request file's order; None (not given): input
    # for CSV when the request file is at hand, else api (``export.resolve_order``)
    order: str | None = None
    merge_retries: bool = False
    price_table: Mapping[str, Any] | None = None  # None: the built-in table
    extract: Extractor | None = None  # --extract: structured answers as columns / "extracted"
    thinking: bool = False  # --thinking: a CSV column of the thinking blocks
    join: JoinRequest | None = None  # --join: DATA's rows with their answers
    columns: tuple[str, ...] | None = None  # --columns; None: the default (``answer_columns``)
    # how the caller names these options, for messages
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @property
    def answer_columns(self) -> tuple[str, ...]:
        """The answer columns of a CSV row or a joined row: ``--columns``, else every one for
        CSV (stable for scripts) and the answer and its status for a join; then ``thinking``
        with --thinking, unless chosen already."""
        chosen = self.columns or (csvout.JOIN_COLUMNS if self.join is not None
                                  else csvout.COLUMNS)
        if self.thinking and csvout.THINKING not in chosen:
            chosen = (*chosen, csvout.THINKING)
        return chosen

    @property
    def passthrough(self) -> bool:
        return (
            self.format == "jsonl"
            and self.only is None
            and self.order == "api"
            and not self.merge_retries
            and self.extract is None
            and self.join is None
        )

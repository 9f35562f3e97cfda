"""The results options (``--format``, ``--only``, ``--order``, ``--extract``, ``--join``...),
checked before anything is sent or fetched and bundled as `Options`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchctl.core.atomic import resolve_target
from batchctl.core.errors import UsageError
from batchctl.core.results.extract import Extractor
from batchctl.core.results.extract import parse as parse_extract
from batchctl.core.results.join import JoinRequest
from batchctl.core.results.summary import RESULT_TYPES

FORMATS = ("jsonl", "csv")
ORDERS = ("api", "input")


def parse_types(text: str) -> frozenset[str]:
    """``--only succeeded,errored`` -> the set of types; a usage error names the bad ones."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    bad = sorted(names - set(RESULT_TYPES))
    if bad or not names:
        raise UsageError(
            f"--only must be one of: {', '.join(RESULT_TYPES)} (comma-separated); "
            f"got {', '.join(map(repr, bad)) or repr(text)}"
        )
    return frozenset(names)


#: The extensions of -o that say a format (any case). Anything else on a regular file needs
#: --format: writing JSONL into `answers.xlsx` silently is worse than asking (issue 15).
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


def format_for(path: Path | None, given: str | None) -> str:
    """``--format`` if given, else from the extension of ``-o`` (``EXTENSIONS``); JSONL for
    stdout, a name without an extension, and a device, FIFO or descriptor (``/dev/stdout``).

    An unknown extension on a regular file (or one to be created) is a UsageError (exit 2),
    raised before anything is sent. A symlink without an extension takes the one of the file it
    leads to. ``.json`` is refused too: it would hold JSON lines, not one JSON document.
    """
    if given is not None:
        fmt = given.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of: {', '.join(FORMATS)}; got {given!r}")
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
    if suffix.lower() == ".json":
        raise UsageError(
            f"-o {path}: results are JSON lines (one object per line), not one JSON document, "
            f"so .json would misname them; the extensions batchctl writes: {known}",
            hint=f"name it {path.with_suffix('.jsonl').name}, or add --format jsonl to keep "
            "the name",
        )
    raise UsageError(
        f"-o {path}: batchctl does not write {suffix} files; the extensions it knows: {known}",
        hint="add --format jsonl or --format csv to write that format under this name",
    )


def build_options(
    *,
    out: Path | None,
    fmt: str | None,
    only: str | None,
    order: str | None,
    prices_file: Path | None,
    json_: bool,
    merge_retries: bool = False,
    extract: str | None = None,
    thinking: bool = False,
    join: str | None = None,
    id_column: str | None = None,
    state_dir: Path | None = None,
) -> Options:
    """Check the results options (before anything is sent or fetched) and bundle them.
    ``join``: the ``--join`` DATA path, "" for the CSV that prepare remembered."""
    joining = None
    if join is not None:
        if only is not None or order is not None:
            raise UsageError("--join writes every row of DATA in its order: it cannot be used "
                             "with --only or --order")
        assert state_dir is not None
        joining = JoinRequest(Path(join) if join else None, id_column, state_dir)
    elif id_column is not None:
        raise UsageError("--id-column goes with --join DATA")
    if order is not None and order not in ORDERS:
        raise UsageError(f"--order must be one of: {', '.join(ORDERS)}; got {order!r}")
    price_table = None
    if prices_file is not None:
        from batchctl.core.catalog.prices import load_price_table

        price_table = load_price_table(prices_file)
    fmt = format_for(out, fmt)
    if json_ and fmt != "jsonl":
        raise UsageError("--json writes JSONL: it cannot be used with --format csv or -o FILE.csv")
    if thinking and fmt != "csv":
        raise UsageError("--thinking adds a CSV column: use it with --format csv or -o FILE.csv "
                         "(JSONL keeps every block as the API sent it)")
    return Options(
        format=fmt,
        extract=parse_extract(extract),
        thinking=thinking,
        join=joining,
        only=parse_types(only) if only is not None else None,
        order=order,
        merge_retries=merge_retries,
        price_table=price_table,
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

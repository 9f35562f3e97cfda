"""``prepare --column``: the prompts of a CSV (``.tsv``: tab-separated) file, one per data row,
and the same rows read back for ``results --join`` (``prepared_rows``), so both find the same ids.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from typing import IO, Any

from batchctl.core.errors import InputError, UsageError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.requests.prepare_spec import (
    Ids,
    Prepared,
    PrepareSpec,
    Problems,
    decode,
    fill,
    physical_lines,
    request_line,
)

CSV_SUFFIXES = (".csv", ".tsv")


def _delimiter(name: str) -> str:
    return "\t" if name.lower().endswith(".tsv") else ","


def column_for(spec: PrepareSpec) -> PrepareSpec:
    """A ``.csv``/``.tsv`` file given without ``--column`` is still a CSV: its first row is its
    header, never a prompt. One column: that column holds the prompts. Several: UsageError
    (exit 2) naming them, since which one holds the prompt cannot be guessed. Other files, and
    stdin, are text as before."""
    source = spec.source
    if spec.mode != "lines" or source in (None, "-") or not source.lower().endswith(CSV_SUFFIXES):
        return spec
    try:
        with open(source, encoding="utf-8-sig", errors="replace", newline="") as text:
            header = next(csv.reader(text, delimiter=_delimiter(source)), [])
    except (OSError, csv.Error):
        return spec  # reported as they are for any input (a missing file, a bad header)
    names = [h.strip() for h in header]
    if len(names) == 1 and names[0]:
        return replace(spec, column=names[0])
    if not any(names):
        raise InputError(f"{source}: no header row: the first row of a CSV file must name its "
                         "columns (a text file of prompts: name it .txt, or pipe it to prepare -)")
    shown = ", ".join(repr(n) for n in names if n)
    raise UsageError(
        f"{source} is a CSV file with {len(names)} columns: {spec.flags['column']} NAME says "
        "which one holds the prompt (its first row is the header, never a prompt)",
        hint=f"its header names: {shown}; add {spec.flags['column']} NAME (and "
        f"{spec.flags['id_column']} NAME to take the custom_ids from a column)",
    )


def _csv_text(
    name: str, stream: IO[bytes], problems: Problems, counter: list[int]
) -> Iterator[str]:
    """Decoded physical lines for the csv module; ``counter[0]`` is the last line read."""
    for line_no, raw in physical_lines(stream):
        counter[0] = line_no
        text = decode(raw, f"{name}:{line_no}", problems)
        yield raw.decode("utf-8", "replace") if text is None else text


def from_csv(
    spec: PrepareSpec, name: str, stream: IO[bytes], ids: Ids, problems: Problems
) -> Iterator[bytes]:
    for _loc, header, row, custom_id, text in csv_rows(spec, name, stream, ids, problems):
        if custom_id is None or text is None:
            continue
        values = {h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h}
        values["text"] = text
        yield request_line(spec, custom_id, fill(spec.template, values))


def csv_rows(
    spec: PrepareSpec, name: str, stream: IO[bytes], ids: Ids, problems: Problems
) -> Iterator[tuple[str, list[str], list[str], str | None, str | None]]:
    """``(loc, header, row, custom_id, prompt)`` for every non-blank data row of a CSV, in
    order; custom_id and prompt are None for a row with a problem (added to ``problems``).
    ``results --join`` reads a prepared CSV through this too, so it finds the same ids."""
    assert spec.column is not None
    counter = [0]
    delimiter = _delimiter(name)
    reader = csv.reader(_csv_text(name, stream, problems, counter), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{name}:{counter[0]}: the CSV header cannot be read: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{name}: no header row: the first row must name the columns")
    header = [h.strip() for h in header]
    index = _column_index(header, spec.column, spec.flags["column"], name)
    id_index = (
        _column_index(header, spec.id_column, spec.flags["id_column"], name)
        if spec.id_column is not None
        else None
    )
    prefix = spec.id_prefix if spec.id_prefix is not None else ("" if id_index is not None else "row-")
    row_no, end = 0, counter[0]
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.add(f"{name}:{start}", f"cannot be read as CSV: {exc}")
            break
        end = counter[0]
        if not row or not any(cell.strip() for cell in row):
            continue
        row_no += 1
        loc = f"{name}:{start}"
        needed = max(index, id_index if id_index is not None else -1)
        if len(row) <= needed:
            problems.add(loc, f"row has {counted(len(row), 'field')}; the header has "
                              f"{len(header)}")
            yield loc, header, row, None, None
            continue
        text = row[index].strip()
        if not text:
            problems.add(loc, f"column {spec.column!r} is empty")
            yield loc, header, row, None, None
            continue
        if id_index is not None:
            raw_id = row[id_index].strip()
            if not raw_id:
                problems.add(loc, f"column {spec.id_column!r} (the id) is empty")
                yield loc, header, row, None, None
                continue
            custom_id = ids.take(prefix + raw_id, loc, fallback=f"row-{row_no}")
        else:
            custom_id = ids.take(f"{prefix}{row_no}", loc, fallback=f"row-{row_no}")
        yield loc, header, row, custom_id, text


def _column_index(header: list[str], column: str, flag: str, name: str) -> int:
    if column in header:
        return header.index(column)
    folded = [h.casefold() for h in header]
    if column.strip().casefold() in folded:
        return folded.index(column.strip().casefold())
    shown = ", ".join(repr(h) for h in header if h)
    raise UsageError(
        f"{flag} {column!r}: {name} has no such column",
        hint=f"its header names: {shown}",
    )


def prepared_rows(
    record: dict[str, Any], path: str, flags: Flags = KEYS
) -> Iterator[tuple[list[str], list[str], str | None]]:
    """``(header, row, custom_id)`` for every data row of the CSV that ``record`` (from
    ``provenance``) says ``prepare`` read, with the custom_ids prepare gave them (None for a
    row it refused). Ids are replayed through the same checks only when prepare had to change
    some (the replay holds every id in memory); otherwise they are read straight off the row."""
    spec = PrepareSpec(source=path, column=record.get("column"), id_column=record.get("id_column"),
                       id_prefix=record.get("id_prefix"), flags=flags)
    ids = Ids(Prepared(mode="csv"))
    if not record.get("ids_changed"):
        ids.take = lambda wanted, loc, *, fallback: wanted  # type: ignore[method-assign]
    with open(path, "rb") as stream:
        for _loc, header, row, custom_id, _text in csv_rows(spec, path, stream, ids, Problems()):
            yield header, row, custom_id

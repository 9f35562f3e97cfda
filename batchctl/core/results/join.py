"""``results --join DATA``: every row of the user's data, in its order, with its answer beside it.

DATA is a CSV (``.tsv``: tab-separated) with a header row, or JSONL (``.jsonl``/``.ndjson``:
one object per line). Each row's custom_id is its ``--id-column`` value, or, for a CSV that
``prepare`` turned into the job's request file, the id prepare gave the row (it remembered the
CSV: ``batchctl.core.requests.provenance``). The results are spooled into the on-disk index
``--order input`` uses (``batchctl.core.results.ordering``) and DATA is read once, in order, a
lookup per row, so memory stays flat. A row without a result gets the result type ``missing``;
results whose custom_id no row has are counted and named on stderr.

Output columns: DATA's columns first (a JSONL file's keys, in the order first seen, from a first
pass), then the answer columns (``--columns``; by default the answer text and its result type:
``csvout.JOIN_COLUMNS``); an answer column whose name DATA already uses is written as
``result.NAME``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from batchctl.core.errors import InputError, StateError, UsageError
from batchctl.core.events import WARN, Note
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.requests import provenance
from batchctl.core.results import csvout
from batchctl.core.results.extract import ColumnSpool, Extractor, cell, jsonl_suffix
from batchctl.core.results.ordering import Spool
from batchctl.core.results.summary import Summary

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class JoinRequest:
    """``--join [DATA] [--id-column COL]`` as given: ``data`` None for the remembered CSV."""

    data: Path | None
    id_column: str | None
    state_dir: Path
    # how the caller names --join and --id-column, for messages
    flags: Flags = field(default=KEYS, compare=False, repr=False)


@dataclass(frozen=True)
class JoinPlan:
    """A join ready to run: the data file, how its rows find their custom_ids."""

    path: Path
    id_column: str | None
    prepared: dict[str, Any] | None  # prepare's record: ids are the ones prepare gave
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @property
    def jsonl(self) -> bool:
        return self.path.suffix.lower() in JSONL_SUFFIXES


def plan(request: JoinRequest, rows: list[dict[str, Any] | None]) -> JoinPlan:
    """Check the join before anything is fetched: the data file is there, its source of ids is
    known (exit 2 otherwise), a remembered CSV has not changed since prepare read it (exit 7)."""
    shas = {str(r["sha256"]) for r in rows if r is not None and r.get("sha256")}
    records = [rec for sha in sorted(shas) if (rec := provenance.recall(request.state_dir, sha))]
    record = records[0] if len(records) == 1 and len(shas) == 1 else None
    data, flags = request.data, request.flags
    join, id_column = flags["join"], flags["id_column"]
    if data is None:
        if record is None:
            raise UsageError(
                f"{join} needs a DATA file: this job's request file was not made by "
                "`batchctl prepare` from a CSV file with this state store",
                hint=f"name the data file and its id column: {join} data.csv {id_column} id",
            )
        data = Path(record["source"])
    data = data.absolute()
    if not data.is_file():
        raise UsageError(f"{join} {data}: no such file")
    use_record = (
        record is not None
        and os.path.abspath(record["source"]) == str(data)
        and request.id_column in (None, record.get("id_column"))
    )
    if use_record:
        assert record is not None
        if provenance.file_sha256(data) != record.get("source_sha256"):
            raise StateError(
                f"{join} {data}: the file changed since `batchctl prepare` read it, so its rows "
                "can no longer be matched to the ids prepare gave them",
                hint=f"join on a column instead: {join} DATA {id_column} COLUMN",
            )
        return JoinPlan(data, record.get("id_column"), record, flags)
    if request.id_column is None:
        raise UsageError(
            f"{join} {data} needs {id_column}: the column that holds each row's custom_id"
        )
    return JoinPlan(data, request.id_column, None, flags)


def check_ahead(request: JoinRequest, request_file: Path) -> None:
    """For `run`, before its request file is sent: the join checked as ``plan`` and DATA's header
    check it after the wait, the job's rows known by the sha256 they will have (the file's)."""
    data_rows(plan(request, [{"sha256": provenance.file_sha256(request_file)}]))


def data_rows(join: JoinPlan) -> tuple[list[str], Iterator[tuple[list[Any], str | None]]]:
    """DATA's column names, and ``(cells, custom_id)`` for each of its rows, in order."""
    if join.prepared is not None:
        return _prepared(join)
    if join.jsonl:
        return _jsonl(join)
    return _csv(join)


def _prepared(join: JoinPlan) -> tuple[list[str], Iterator[tuple[list[Any], str | None]]]:
    from batchctl.core.requests.prepare import prepared_rows

    assert join.prepared is not None
    rows = prepared_rows(join.prepared, str(join.path), join.flags)
    first = next(rows, None)
    if first is None:
        return _csv_header(join), iter(())
    header = first[0]

    def cells() -> Iterator[tuple[list[Any], str | None]]:
        yield _fit(first[1], len(header)), first[2]
        for _h, row, cid in rows:
            yield _fit(row, len(header)), cid

    return header, cells()


def _fit(row: list[str], width: int) -> list[Any]:
    return row[:width] + [""] * (width - len(row)) if len(row) != width else row


def _reader(path: Path) -> Iterator[list[str]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        yield from csv.reader(f, delimiter=delimiter)


def _csv_header(join: JoinPlan) -> list[str]:
    header = next(_reader(join.path), None)
    if not header:
        raise InputError(f"{join.path}: no header row: the first row must name the columns")
    return [h.strip() for h in header]


def _csv(join: JoinPlan) -> tuple[list[str], Iterator[tuple[list[Any], str | None]]]:
    header = _csv_header(join)
    column = join.id_column or ""
    if column not in header:
        folded = [h.casefold() for h in header]
        if column.strip().casefold() not in folded:
            shown = ", ".join(repr(h) for h in header if h)
            raise UsageError(f"{join.flags['id_column']} {column!r}: {join.path} has no such "
                             "column",
                             hint=f"its header names: {shown}")
        index = folded.index(column.strip().casefold())
    else:
        index = header.index(column)

    def cells() -> Iterator[tuple[list[Any], str | None]]:
        rows = _reader(join.path)
        next(rows, None)
        width = len(header)
        for row in rows:
            if not row or not any(c.strip() for c in row):
                continue
            cid = row[index].strip() if index < len(row) else ""
            yield _fit(row, width), cid or None

    return header, cells()


def _objects(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}:{line_no}: not JSON: {exc}") from None
            if not isinstance(value, dict):
                raise InputError(f"{path}:{line_no}: not a JSON object")
            yield value


def _jsonl(join: JoinPlan) -> tuple[list[str], Iterator[tuple[list[Any], str | None]]]:
    keys: dict[str, None] = {}
    for obj in _objects(join.path):  # first pass: the columns
        keys.update(dict.fromkeys(obj))
    column = join.id_column or ""
    if column not in keys:
        raise UsageError(f"{join.flags['id_column']} {column!r}: no line of {join.path} has "
                         "that key")
    header = list(keys)

    def cells() -> Iterator[tuple[list[Any], str | None]]:
        for obj in _objects(join.path):
            value = obj.get(column)
            cid = None if value is None or isinstance(value, (dict, list)) else str(value)
            if value is True or value is False:
                cid = "true" if value else "false"
            yield [obj.get(k) for k in header], cid

    return header, cells()


def answer_columns(data: list[str], answers: list[str]) -> list[str]:
    """The answer columns, renamed ``result.NAME`` where DATA has that name."""
    taken = set(data)
    return [f"result.{c}" if c in taken else c for c in answers]


MISSING = "missing"
BLOCK = 2000
SHOWN = 5  # unmatched custom_ids named on stderr


@dataclass
class Joined:
    """One join's output: ``chunks`` yields the bytes; the summary counts every row."""

    plan: JoinPlan
    spool: Spool
    summary: Summary
    fmt: str
    extract: Extractor | None
    columns: tuple[str, ...]  # the answer columns (``Options.answer_columns``)
    notes: list[Note]  # the export's: what it has to say, shown between its blocks
    header: list[str] = field(default_factory=list)
    unmatched: int = 0  # results whose custom_id no row has

    def _rows(self) -> Iterator[tuple[list[Any], list[Any], dict[str, Any] | None]]:
        """``(data cells, answer row, parsed result or None)`` per DATA row, in order."""
        header, rows = data_rows(self.plan)
        self.header = header
        claim, add, counts = self.spool.claim, self.summary.add, self.summary.counts
        pick, columns = csvout.picker(self.columns), self.columns
        for cells, cid in rows:
            found = claim(cid) if cid is not None else None
            if found is None:
                counts[MISSING] = counts.get(MISSING, 0) + 1
                yield cells, csvout.blank(columns, cid, MISSING), None
                continue
            add(found + b"\n")
            record = orjson.loads(found)
            yield cells, pick(record), record

    def chunks(self) -> Iterator[bytes]:
        rows = self._rows()
        first = next(rows, None)  # reads DATA's header
        names = answer_columns(self.header, list(self.columns))
        if first is not None:
            rows = _chain(first, rows)
        if self.fmt == "jsonl":
            yield from self._jsonl(names, rows)
        elif self.extract is not None:
            yield from self._csv_extracted(names, rows)
        else:
            yield from csvout.encode_rows(
                [*self.header, *names],
                ([*map(cell, cells), *answer] for cells, answer, _record in rows), block=BLOCK,
            )
        self._report_unmatched()

    def _jsonl(self, names: list[str], rows: Iterator[Any]) -> Iterator[bytes]:
        header, extract, out = self.header, self.extract, []
        for cells, answer, record in rows:
            obj = dict(zip(header, cells, strict=True))
            obj.update(zip(names, answer, strict=True))
            line = orjson.dumps(obj)
            if extract is not None:
                value, error = extract(record) if record is not None else (None, None)
                line = line[:-1] + jsonl_suffix(value, error) + b"}"
            out.append(line)
            if len(out) >= BLOCK:
                yield b"\n".join(out) + b"\n"
                out = []
        if out:
            yield b"\n".join(out) + b"\n"

    def _csv_extracted(self, names: list[str], rows: Iterator[Any]) -> Iterator[bytes]:
        assert self.extract is not None
        extract, spool = self.extract, ColumnSpool()
        try:
            for cells, answer, record in rows:
                value, error = extract(record) if record is not None else (None, None)
                spool.put([*map(cell, cells), *answer], value, error)
            taken = {*self.header, *names}
            extra = [f"result.{c}" if c in taken else c for c in spool.columns]
            yield from csvout.encode_rows([*self.header, *names, *extra], spool.rows(), block=BLOCK)
        finally:
            spool.close()

    def _report_unmatched(self) -> None:
        unmatched = self.spool.unclaimed()
        shown = [cid for cid, _ in zip(unmatched, range(SHOWN), strict=False)]
        more = sum(1 for _ in unmatched)
        if shown:
            total = len(shown) + more
            names = ", ".join(map(repr, shown)) + (f" and {more:,} more" if more else "")
            self.notes.append(Note(WARN, f"{counted(total, 'result')} matched no row of "
                                         f"{self.plan.path.name}: {names}"))
        self.unmatched = len(shown) + more


def _chain(first: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield from rest

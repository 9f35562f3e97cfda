"""Results: fetched from the API as raw bytes, filtered, re-ordered, merged, written, summarised.

Without a filter, an order or a merge, JSONL output is the API's bytes unchanged: the body's
chunks go straight through (a final newline is added only if a body lacks one, so the parts of
a job join into valid JSONL). Lines are parsed with orjson only where something needs a field:
the summary's counts and tokens, ``--only``, CSV, ordering and merging. Memory is flat in the
number of results; ordering and merging spool to disk (``batchctl.core.results.ordering``).
Reading, filtering and ordering are ``batchctl.core.results.reading``; the options are
``batchctl.core.results.options``; this module formats (JSONL, CSV, the join) and writes.

A download cut part-way is fetched again and resumed where it broke (``batchctl.core.api.download``),
so a file and the caller's stdout both get each byte once. A file target is written
atomically (``batchctl.core.atomic``), so nothing half-written is ever left at its path; with
no file, the bytes are yielded to the caller as they come (``Data`` events).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchctl.core.atomic import atomic_file, check_target
from batchctl.core.errors import StateError
from batchctl.core.events import WARN, Data, Event, Events, Note, Ordering, Progress
from batchctl.core.results import csvorder, csvout
from batchctl.core.results.extract import ColumnSpool, Extractor, add_to_line
from batchctl.core.results.join import Joined, JoinPlan
from batchctl.core.results.join import plan as plan_join
from batchctl.core.results.lines import lines_of
from batchctl.core.results.options import Options
from batchctl.core.results.ordering import Spool
from batchctl.core.results.reading import SPOOL_BLOCK, Reader
from batchctl.core.results.selection import Source, fetch_sources, resolve, retry_rows
from batchctl.core.results.sources import FileChecks, cache_groups, check_file, recorded_plans
from batchctl.core.results.summary import Summary
from batchctl.core.state.store import Store

if TYPE_CHECKING:
    from batchctl.core.api.client import Api

__all__ = ["Export", "Options", "ResultsWritten", "export", "open_export"]  # Options: what collect hands in


# -- the export -----------------------------------------------------------------------------------
class Export(Reader):
    """One results download, checked and ready: iterate ``chunks()``, or run ``events``;
    ``summary`` fills in as it goes."""

    join_plan: JoinPlan | None = None  # set by open_export for --join
    joined: Joined | None = None
    _told = 0  # the results read when ``events`` last said how many
    _told_ordered = 0  # the results put in order when it last said how many

    def chunks(self) -> Iterator[bytes]:
        """The output, formatted, in blocks of bytes."""
        if self.options.passthrough:
            blocks = self._passthrough()
        elif self.join_plan is not None:
            blocks = self._joined(self.join_plan)
        elif self.options.format == "csv":
            blocks = self._csv()
        else:
            blocks = self._jsonl()
        for block in blocks:  # b"" too: a step of the reading, for ``events`` to tell
            self.summary.written_bytes += len(block)
            yield block

    def _joined(self, plan: JoinPlan) -> Iterator[bytes]:
        with Spool() as spool:
            self._spool(spool)
            self.joined = Joined(plan, spool, self.summary, self.options.format,
                                 self.options.extract, self.options.answer_columns, self.notes)
            yield from self.joined.chunks()

    def _jsonl(self) -> Iterator[bytes]:
        extract = self.options.extract
        for block, records in self._batches():
            if extract is None:
                yield block
                continue
            lines = [add_to_line(line, *extract(record))
                     for line, record in zip(lines_of(block), records, strict=True)]
            yield b"\n".join(lines) + b"\n"

    def _csv(self) -> Iterator[bytes]:
        columns = list(self.options.answer_columns)
        if self.options.extract is not None:
            yield from self._csv_extracted(columns, self.options.extract)
            return
        in_order = csvorder.chunks(self, columns) if csvorder.applies(self) else None
        if in_order is not None:
            yield from in_order
            return
        encoder = csvout.Encoder(columns)
        for rows, _records in self._csv_rows():
            data = encoder.add(rows)
            if data:
                yield data
        yield encoder.take()

    def _csv_rows(self) -> Iterator[tuple[list[list[Any]], list[dict[str, Any]]]]:
        """Blocks of CSV rows (before extraction) and their records, counted in the summary."""
        pick = csvout.picker(self.options.answer_columns)
        for _block, records in self._batches():
            yield list(map(pick, records)), records

    def _csv_extracted(self, columns: list[str], extract: Extractor) -> Iterator[bytes]:
        """The CSV with ``json.*`` columns: rows wait on disk until every key is known."""
        spool = ColumnSpool()
        try:
            for rows, records in self._csv_rows():
                for r, record in zip(rows, records, strict=True):
                    spool.put(r, *extract(record))
            yield from csvout.encode_rows(columns + spool.columns, spool.rows(), block=SPOOL_BLOCK)
        finally:
            spool.close()

    def events(self, out: Path | None) -> Events[Summary]:
        """The export under way: to ``out`` atomically, or with no file, as ``Data`` for
        the caller to write; ``Progress`` as results are read and the notes of the reading
        between blocks. Written to a file that holds all their results (no ``--only``), the
        batches are marked collected. Returns the summary."""
        yield Progress(0, self.expected)
        if out is None:
            for chunk in self.chunks():
                yield from self._news()
                if chunk:  # b"": a step of the reading, nothing to write
                    yield Data(chunk)
            yield from self._news()
            return self.summary
        target = Path(out).absolute()
        with atomic_file(target) as file:
            for chunk in self.chunks():
                file.write(chunk)
                yield from self._news()
        yield from self._news()
        self.summary.path = str(target)
        if self.options.only is None:
            for source in self.sources + self.retries:
                if source.row is not None:
                    self.store.mark_collected(source.id, str(target))
        return self.summary

    def _news(self) -> Iterator[Event]:
        """What the reading said since last asked, then how far it got (if further)."""
        while self.notes:
            yield self.notes.pop(0)
        if self.done != self._told:
            self._told = self.done
            yield Progress(self.done, self.expected)
        if self.ordered != self._told_ordered:
            self._told_ordered = self.ordered
            yield Ordering(self.ordered, max(self.expected, self.ordered))


@dataclass(frozen=True)
class ResultsWritten(Event):
    """Every result is written; ``summary`` says what they were."""

    summary: Summary


def open_export(api: Api, store: Store, ref: str, options: Options) -> Events[Export]:
    """Check everything that can be checked before a byte is written: the batches exist and
    have ended (exit 8 if not, 5 if archived), and for ``--order input`` the request files still
    match their sha256 (exit 7). The order not given is settled here (``resolve_order``)."""
    needs, flags = None, options.flags
    if options.order == "input":
        needs = f"{flags['order']} input"
    elif options.merge_retries:
        needs = flags["merge_retries"]
    elif options.join is not None and options.join.data is None:
        needs = flags["join"]
    rows = resolve(api, store, ref, needs_store=needs, flags=flags)
    join_plan = plan_join(options.join, rows) if options.join is not None else None
    seen = FileChecks()  # each request file read once: the order, the check, the cache groups
    if options.order == "input":
        for row in rows:
            assert row is not None
            check_file(row, seen, flags)
    sources = yield from fetch_sources(api, store, ref, rows, flags=flags)
    order, note = resolve_order(options, rows, seen)
    if note is not None:
        yield note
    options = replace(options, order=order)
    retries: list[Source] = []
    if options.merge_retries:
        children = retry_rows(store, [r for r in rows if r is not None])
        retries = yield from fetch_sources(api, store, ref, list(children), "retry batch", flags)
    exported = Export(api, store, sources, retries, options)
    exported.join_plan = join_plan
    exported.summary.jobs = list(dict.fromkeys(
        str(r["job_id"]) for r in rows if r is not None and r.get("job_id")))
    behind = [s.row for s in sources + retries]
    exported.summary.cache = cache_groups(behind, options.price_table,
                                          recorded_plans(store, behind), seen)
    return exported


def resolve_order(options: Options, rows: list[dict[str, Any] | None],
                  seen: FileChecks | None = None) -> tuple[str, Note | None]:
    """The order to write in: ``--order`` if given; else CSV rows line up with the request
    file ("input": a CSV is read as a table beside its input) when batchctl has that file, the
    same bytes as when it was submitted (tracked batches only); else the API's order, with a
    warning when a tracked batch's file is what is missing. JSONL keeps the API's order (each
    line names its custom_id; without a filter it is the API's bytes as they come)."""
    if options.order is not None:
        return options.order, None
    if options.format != "csv" or options.join is not None or any(r is None for r in rows):
        return "api", None
    seen = seen or FileChecks()
    try:
        for row in rows:
            assert row is not None
            check_file(row, seen, options.flags)
    except StateError as exc:
        return "api", Note(WARN, "CSV rows in the API's order, not the request file's: "
                                 f"{exc.message}")
    return "input", None


def export(
    api: Api, store: Store, ref: str, options: Options, out: Path | None
) -> Events[Summary]:
    """The results of ``ref`` written to ``out`` atomically, or with no file, yielded as
    ``Data`` (see ``Export.events``); the step `results` and `run` share. Returns the
    summary."""
    if out is not None:
        check_target(out)  # before anything is fetched
    exported = yield from open_export(api, store, ref, options)
    return (yield from exported.events(out))

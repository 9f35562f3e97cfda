"""Results: fetched from the API as raw bytes, filtered, re-ordered, merged, written, summarised.

Without a filter, an order or a merge, JSONL output is the API's bytes unchanged: the body's
chunks go straight through (a final newline is added only if a body lacks one, so the parts of
a job join into valid JSONL). Lines are parsed with orjson only where something needs a field:
the summary's counts and tokens, ``--only``, CSV, ordering and merging. Memory is flat in the
number of results; ordering and merging spool to disk (``batchctl.core.results.ordering``).

A download cut part-way is fetched again and resumed where it broke (``batchctl.core.results.download``),
so stdout and files both get each byte once. A file target is written
atomically (``batchctl.core.results.atomic``), so nothing half-written is ever left at its path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import UsageError
from batchctl.core.notify import Notify, quiet
from batchctl.core.results import csvout
from batchctl.core.results.atomic import atomic_file, check_target
from batchctl.core.results.download import fetch_body, not_found_grace
from batchctl.core.results.extract import ColumnSpool, Extractor, add_to_line
from batchctl.core.results.extract import parse as parse_extract
from batchctl.core.results.join import Joined, JoinPlan, JoinRequest
from batchctl.core.results.join import plan as plan_join
from batchctl.core.results.lines import (
    line_blocks,
    lines_of,
    parse_block,
    parse_lines,
    result_type,
    tidy,
)
from batchctl.core.results.ordering import Spool
from batchctl.core.results.selection import Source, fetch_sources, resolve, retry_rows
from batchctl.core.results.sources import check_file, iter_batch_lines
from batchctl.core.results.summary import RESULT_TYPES, Summary
from batchctl.core.state.store import Store

if TYPE_CHECKING:
    from batchctl.core.api import Api

FORMATS = ("jsonl", "csv")
ORDERS = ("api", "input")
SPOOL_BLOCK = 2000  # spooled lines parsed and written at a time

Progress = Callable[[int, int], None]  # (results done, results expected)


# -- options --------------------------------------------------------------------------------------
def parse_types(text: str) -> frozenset[str]:
    """``--only succeeded,errored`` -> the set of types; a usage error names the bad ones."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    bad = sorted(names - set(RESULT_TYPES))
    if bad or not names:
        raise UsageError(
            f"--only: unknown result type {', '.join(map(repr, bad)) or repr(text)}; "
            f"choose from {', '.join(RESULT_TYPES)} (comma-separated)"
        )
    return frozenset(names)


def format_for(path: Path | None, given: str | None) -> str:
    """``--format`` if given, else from the extension of ``-o``: ``.csv`` is CSV, the rest JSONL."""
    if given is not None:
        fmt = given.strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {given!r}")
        return fmt
    if path is not None and path.suffix.lower() == ".csv":
        return "csv"
    return "jsonl"


def build_options(
    *,
    out: Path | None,
    fmt: str | None,
    only: str | None,
    order: str,
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
        if only is not None or order != "api":
            raise UsageError("--join writes every row of DATA in its order: it cannot be used "
                             "with --only or --order")
        assert state_dir is not None
        joining = JoinRequest(Path(join) if join else None, id_column, state_dir)
    elif id_column is not None:
        raise UsageError("--id-column goes with --join DATA")
    if json_:
        if fmt is not None and fmt.strip().lower() != "jsonl":
            raise UsageError("--json writes JSONL: it cannot be used with --format csv")
        fmt = fmt or "jsonl"
    if order not in ORDERS:
        raise UsageError(f"--order must be one of {', '.join(ORDERS)}, not {order!r}")
    price_table = None
    if prices_file is not None:
        from batchctl.core.catalog.prices import load_price_table

        price_table = load_price_table(prices_file)
    fmt = format_for(out, fmt)
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
    order: str = "api"  # "api": as the API sends them; "input": the request file's order
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


# -- the export -----------------------------------------------------------------------------------
class Export:
    """One results download, checked and ready: iterate ``chunks()`` (or ``save`` to a file);
    ``summary`` fills in as it goes."""

    def __init__(
        self,
        api: Api,
        store: Store,
        sources: list[Source],
        retries: list[Source],
        options: Options,
        *,
        notify: Notify = quiet,
        progress: Progress | None = None,
    ) -> None:
        self.api, self.store, self.options = api, store, options
        self.sources, self.retries = sources, retries
        self.notify, self.progress = notify, progress
        self.summary = Summary(price_table=options.price_table)
        self.summary.batches = [s.id for s in sources + retries]
        self.expected = sum(s.expected for s in sources)
        self._done = 0
        self.join_plan: JoinPlan | None = None  # set by open_export for --join
        self.joined: Joined | None = None

    def _fetch(self, source: Source) -> Iterator[bytes]:
        return fetch_body(
            self.api, source.batch, notify=self.notify, not_found_grace=not_found_grace(source.row)
        )

    def _tick(self, lines: int) -> None:
        self._done += lines
        if self.progress is not None:
            self.progress(self._done, self.expected)

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
        for block in blocks:
            if block:
                self.summary.written_bytes += len(block)
                yield block

    def _passthrough(self) -> Iterator[bytes]:
        """The API's bytes as they come; the summary reads them on the side."""
        for source in self.sources:
            tail, last = b"", b"\n"
            for chunk in self._fetch(source):
                if not chunk:
                    continue
                yield chunk
                last = chunk[-1:]
                data = tail + chunk if tail else chunk
                cut = data.rfind(b"\n") + 1
                if cut:
                    self._account(data[:cut], source)
                tail = data[cut:]
            if last != b"\n":
                yield b"\n"
            if tail.strip():
                self._account(tail + b"\n", source)

    def _account(self, block: bytes, source: Source) -> None:
        self.summary.add(block, source.id)
        self._tick(block.count(b"\n"))

    def _joined(self, plan: JoinPlan) -> Iterator[bytes]:
        with Spool() as spool:
            self._spool(spool)
            self.joined = Joined(plan, spool, self.summary, self.options.format,
                                 self.options.extract, self.options.thinking, self.notify)
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
        columns = list(csvout.COLUMNS)
        if self.options.thinking:
            columns.append(csvout.THINKING)
        if self.options.extract is not None:
            yield from self._csv_extracted(columns, self.options.extract)
            return
        encoder = csvout.Encoder(columns)
        for rows, _records in self._csv_rows():
            data = encoder.add(rows)
            if data:
                yield data
        yield encoder.take()

    def _csv_rows(self) -> Iterator[tuple[list[list[Any]], list[dict[str, Any]]]]:
        """Blocks of CSV rows (before extraction) and their records, counted in the summary."""
        thinking = self.options.thinking
        for _block, records in self._batches():
            rows = list(map(csvout.row, records))
            if thinking:
                for r, record in zip(rows, records, strict=True):
                    r.append(csvout.thinking(record))
            yield rows, records

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

    def _batches(self) -> Iterator[tuple[bytes, list[dict[str, Any]]]]:
        """``(block, parsed)``: the results to write, filtered, in the final order, as blocks
        of whole lines (the API's lines) with those lines parsed; each block is added to the
        summary."""
        only = self.options.only
        for block, records in self._ordered():
            if only is not None:
                keep = [i for i, r in enumerate(records) if result_type(r) in only]
                if len(keep) != len(records):
                    records = [records[i] for i in keep]
                    lines = lines_of(block)
                    block = b"".join(lines[i] + b"\n" for i in keep)
            if records:
                self.summary.add(block)
                yield block, records

    def _ordered(self) -> Iterator[tuple[bytes, list[dict[str, Any]]]]:
        if self.options.order == "api" and not self.options.merge_retries:
            for source in self.sources:
                for block in line_blocks(self._fetch(source)):
                    block = tidy(block)
                    records = parse_block(block, source.id)
                    self._tick(len(records))
                    yield block, records
            return
        with Spool() as spool:
            self._spool(spool)
            spooled: list[bytes] = []
            for line in self._spooled(spool):
                spooled.append(line)
                if len(spooled) >= SPOOL_BLOCK:
                    yield b"\n".join(spooled) + b"\n", parse_lines(spooled, "")
                    spooled = []
            if spooled:
                yield b"\n".join(spooled) + b"\n", parse_lines(spooled, "")

    def _parsed(self, source: Source) -> Iterator[tuple[str, str | None, bytes]]:
        for block in line_blocks(self._fetch(source)):
            lines = lines_of(block)
            for line, record in zip(lines, parse_lines(lines, source.id), strict=True):
                yield str(record.get("custom_id")), result_type(record), line

    def _spool(self, spool: Spool) -> None:
        for source in self.sources:
            for cid, kind, line in self._parsed(source):
                spool.put(cid, kind, line)
            self._tick(source.expected)
        for source in self.retries:
            replaced = spool.replace_all(self._parsed(source))
            self.notify("info", f"merged {replaced:,} newer results from retry {source.id}")

    def _spooled(self, spool: Spool) -> Iterator[bytes]:
        if self.options.order != "input":
            for _cid, _kind, line in spool.in_spool_order():
                yield line
            return
        missing = emitted = 0
        for source in self.sources:
            assert source.row is not None  # ordering needs tracked batches (see open_export)
            cids = (cid for _, cid, _ in iter_batch_lines(source.row, checked=True))
            for _cid, _kind, found in spool.lookup(cids):
                if found is None:
                    missing += 1
                    continue
                emitted += 1
                yield found
        if missing and self.options.only is None:
            self.notify("warn", f"{missing:,} requests of the request file have no result")
        if emitted < spool.count:

            def all_cids() -> Iterator[str]:
                for source in self.sources:
                    assert source.row is not None
                    for _, cid, _ in iter_batch_lines(source.row, checked=True):
                        yield cid

            extras = list(spool.not_in(all_cids()))
            self.notify("warn", f"{len(extras):,} results have a custom_id that is not in the "
                                "request file; they come last")
            for _cid, _kind, line in extras:
                yield line

    def save(self, path: Path) -> Summary:
        """Write the output to ``path`` atomically; mark the batches collected when the file
        holds all their results (no ``--only``)."""
        target = Path(path).absolute()
        with atomic_file(target) as out:
            for chunk in self.chunks():
                out.write(chunk)
        self.summary.path = str(target)
        if self.options.only is None:
            for source in self.sources + self.retries:
                if source.row is not None:
                    self.store.mark_collected(source.id, str(target))
        return self.summary


def open_export(
    api: Api,
    store: Store,
    ref: str,
    options: Options,
    *,
    notify: Notify = quiet,
    progress: Progress | None = None,
) -> Export:
    """Check everything that can be checked before a byte is written: the batches exist and
    have ended (exit 8 if not, 5 if archived), and for ``--order input`` the request files still
    match their sha256 (exit 7)."""
    needs = None
    if options.order == "input":
        needs = "--order input"
    elif options.merge_retries:
        needs = "--merge-retries"
    elif options.join is not None and options.join.data is None:
        needs = "--join"
    rows = resolve(api, store, ref, needs_store=needs)
    join_plan = plan_join(options.join, rows) if options.join is not None else None
    if options.order == "input":
        seen: dict[str, str] = {}
        for row in rows:
            assert row is not None
            check_file(row, seen)
    sources = fetch_sources(api, store, ref, rows, notify=notify)
    retries: list[Source] = []
    if options.merge_retries:
        children = retry_rows(store, [r for r in rows if r is not None])
        retries = fetch_sources(api, store, ref, list(children), what="retry batch",
                                notify=notify)
    exported = Export(api, store, sources, retries, options, notify=notify, progress=progress)
    exported.join_plan = join_plan
    return exported


def export(
    api: Api,
    store: Store,
    ref: str,
    options: Options,
    out: Path | None,
    *,
    write: Callable[[Iterator[bytes]], object],
    notify: Notify = quiet,
    progress: Progress | None = None,
) -> Summary:
    """The results of ``ref`` written to ``out`` atomically, or handed to ``write`` (stdout);
    the step `results` and `run` share. Returns the summary."""
    if out is not None:
        check_target(out)  # before anything is fetched
    exported = open_export(api, store, ref, options, notify=notify, progress=progress)
    if out is not None:
        return exported.save(out)
    write(exported.chunks())
    return exported.summary

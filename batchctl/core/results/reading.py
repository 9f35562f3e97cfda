"""The read side of a results export: each batch's body downloaded, its lines parsed where a
field is needed, filtered (``--only``), put in order (``--order input``) or merged with the
retries (``--merge-retries``) through the on-disk spool, counted in the summary and in
``done``. ``batchctl.core.results.export`` formats and writes what this reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from batchctl.core.api.download import apart, fetch_body, not_found_grace
from batchctl.core.events import INFO, WARN, Note
from batchctl.core.plural import counted, plural
from batchctl.core.results.lines import (
    line_blocks,
    lines_of,
    parse_block,
    parse_lines,
    result_type,
    tidy,
)
from batchctl.core.results.options import Options
from batchctl.core.results.ordering import Spool
from batchctl.core.results.selection import Source
from batchctl.core.results.sources import ids_in_file_order
from batchctl.core.results.summary import Summary
from batchctl.core.state.store import Store

if TYPE_CHECKING:
    from batchctl.core.api.client import Api

SPOOL_BLOCK = 2000  # spooled lines parsed and written at a time

class Reader:
    """The results lines of ``sources`` (and their ``retries``), as the options want them;
    ``summary`` fills in as they are read."""

    def __init__(
        self, api: Api, store: Store, sources: list[Source], retries: list[Source],
        options: Options,
    ) -> None:
        self.api, self.store, self.options = api, store, options
        self.sources, self.retries = sources, retries
        self.summary = Summary(price_table=options.price_table)
        self.summary.batches = [s.id for s in sources + retries]
        self.expected = sum(s.expected for s in sources)
        self.done = 0  # results read so far
        self.ordered = 0  # results put in order and handed on so far (a step of its own)
        #: What the reading has to say (a cut download, results that match no request), kept
        #: until the export's events pass it on between blocks.
        self.notes: list[Note] = []

    def _fetch(self, source: Source) -> Iterator[bytes]:
        body = fetch_body(self.api, source.batch, not_found_grace=not_found_grace(source.row))
        return apart(body, self.notes)

    def _tick(self, lines: int) -> None:
        self.done += lines

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
                    self.ordered += len(spooled)
                    yield b"\n".join(spooled) + b"\n", parse_lines(spooled, "")
                    spooled = []
            if spooled:
                self.ordered += len(spooled)
                yield b"\n".join(spooled) + b"\n", parse_lines(spooled, "")

    def _request_ids(self) -> Iterator[str]:
        """The request file's custom_ids in its order (ordering needs tracked batches)."""
        rows = [source.row for source in self.sources]
        assert all(row is not None for row in rows)  # (see open_export)
        return ids_in_file_order([row for row in rows if row is not None], self.options.flags)

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
            self.notes.append(Note(INFO, f"merged {counted(replaced, 'newer result')} from "
                                         f"retry {source.id}"))

    def _spooled(self, spool: Spool) -> Iterator[bytes]:
        if self.options.order != "input":
            for _cid, _kind, line in spool.in_spool_order():
                yield line
            return
        missing = emitted = 0
        for _cid, _kind, found in spool.lookup(self._request_ids()):
            if found is None:
                missing += 1
                continue
            emitted += 1
            yield found
        if missing and self.options.only is None:
            self.notes.append(Note(WARN, f"{counted(missing, 'request')} of the request file "
                                         f"{plural('has', missing)} no result"))
        if emitted < spool.count:
            extras = list(spool.not_in(self._request_ids()))
            self.notes.append(Note(WARN, f"{len(extras):,} results have a custom_id that is not in "
                                         "the request file; they come last"))
            for _cid, _kind, line in extras:
                yield line

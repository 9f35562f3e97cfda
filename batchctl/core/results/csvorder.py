"""CSV rows in the request file's order (a CSV's default), made in one pass over the download.

The results come back in no particular order. Each block of them is parsed once, as it comes,
into its CSV rows and counted in the summary; the rows (already CSV bytes, about half the size
of the lines) wait in the on-disk spool keyed by custom_id. The request file's ids then go into
the spool too, and one SQL query hands the rows back in that order: no line is parsed twice and
no id is looked up from Python. Memory stays flat (the spool's page cache is capped).

What it writes is what the general way writes (``Reader._ordered`` with ``--order input``, then
the CSV of each block), byte for byte, with the same summary and the same notes: the first
result of an id is the one kept, ``--only`` filters, results the request file does not have come
last in the order they came. A request file with an id twice (which submit's check refuses)
goes the general way.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from operator import methodcaller
from typing import TYPE_CHECKING, Any

from batchctl.core.events import WARN, Note
from batchctl.core.plural import counted, plural
from batchctl.core.results import csvout
from batchctl.core.results.lines import line_blocks, lines_of, parse_block, result_type, tidy
from batchctl.core.results.ordering import Spool
from batchctl.core.results.reading import SPOOL_BLOCK
from batchctl.core.results.summary import RESULT_TYPES

if TYPE_CHECKING:
    from batchctl.core.results.reading import Reader


_CUSTOM_ID = methodcaller("get", "custom_id")


def applies(reader: Reader) -> bool:
    """This way fits: CSV in the request file's order, without merging retries or extracting."""
    options = reader.options
    return (options.order == "input" and not options.merge_retries
            and options.extract is None)


def chunks(reader: Reader, columns: list[str]) -> Iterator[bytes] | None:
    """The CSV in the request file's order, in blocks of bytes; None (nothing read) when the
    request file repeats an id."""
    spool = Spool()
    try:
        if not spool.set_order(reader._request_ids()):
            spool.close()
            return None
    except BaseException:
        spool.close()
        raise
    return _chunks(reader, spool, columns)


def _chunks(reader: Reader, spool: Spool, columns: list[str]) -> Iterator[bytes]:
    with spool:
        yield from _spool_rows(reader, spool, columns)  # b"": a block read (its progress)
        out = [csvout.line(columns).encode("utf-8", "replace")]
        size = len(out[0])
        only = reader.options.only
        missing = emitted = 0
        kinds: dict[Any, None] = {}
        for found in spool.in_order(SPOOL_BLOCK):
            handed = emitted
            for kind, row in found:
                if row is None:
                    missing += 1
                    continue
                emitted += 1
                kinds[kind] = None
                if only is None or kind in only:
                    out.append(row)
                    size += len(row)
            reader.ordered += emitted - handed
            if size >= csvout.FLUSH_AT:
                yield b"".join(out)
                out, size = [], 0
        if missing and only is None:
            reader.notes.append(Note(WARN, f"{counted(missing, 'request')} of the request file "
                                           f"{plural('has', missing)} no result"))
        if emitted < spool.count:
            extras = list(spool.not_in_order())
            reader.notes.append(Note(WARN, f"{len(extras):,} results have a custom_id that is "
                                           "not in the request file; they come last"))
            for _cid, kind, row in extras:
                kinds[kind] = None
                if only is None or kind in only:
                    out.append(row)
            reader.ordered += len(extras)
        yield b"".join(out)
        _count_order(reader, kinds)


def _spool_rows(reader: Reader, spool: Spool, columns: list[str]) -> Iterator[bytes]:
    """Every result, parsed once as it comes: its CSV row (``columns``) spooled under its
    custom_id, and counted in the summary unless an earlier result of that id is already spooled
    or ``--only`` leaves it out. Yields ``b""`` after each block, counted in ``reader.done``, so
    that the export says how far the reading got (issue 21 item 6: the bar sat at 0 until the
    whole download was read)."""
    only, pick = reader.options.only, csvout.picker(columns)
    for source in reader.sources:
        left = source.expected  # ticked as blocks come, never past what the batch holds
        for block in line_blocks(reader._fetch(source)):
            block = tidy(block)
            records = parse_block(block, source.id)
            rows = list(map(pick, records))
            kinds = list(map(result_type, records))
            cids = map(str, map(_CUSTOM_ID, records))
            texts = map(str.encode, map(csvout.line, rows), repeat("utf-8"), repeat("replace"))
            spooled = spool.put_block(list(zip(cids, kinds, texts, strict=True)))
            keep = range(len(records)) if spooled is None else spooled
            if only is not None:
                keep = [i for i in keep if kinds[i] in only]
            if len(keep) == len(records):
                reader.summary.add(block)
            elif keep:
                lines = lines_of(block)
                reader.summary.add(b"".join(lines[i] + b"\n" for i in keep))
            step = min(len(records), left)
            reader._tick(step)
            left -= step
            yield b""
        reader._tick(left)


def _count_order(reader: Reader, kinds: dict[Any, None]) -> None:
    """The summary's counts of result types the API does not name, in the order the rows were
    written (the order the general way meets them in)."""
    counts = reader.summary.counts
    if len(counts) > len(RESULT_TYPES):
        named = {k: counts.pop(k) for k in RESULT_TYPES}
        others = dict(counts)
        counts.clear()
        counts.update(named)
        for kind in kinds:  # (SQLite gives a type that is not a string back as text)
            key = kind if kind in others else "unknown"
            if key in others:
                counts[key] = others.pop(key)
        counts.update(others)

"""How a table fits the terminal: every column's width, decided before Rich draws it, so that
no word and no id is ever split across lines (issue 21, item 5: at 60 columns retry-failed's
table split ``in_progres``/``s`` and collect split ids).

Two kinds of table:

- *fitted* (``shrink`` given: list, status, models): one line per row. ``shrink`` columns
  are cut with "…" to SHRINK_CAP cells, then the ``drop`` columns go, in that order, until
  the table fits, then the ``shrink`` columns still shown are cut further. Any other column
  is never cut while something else can give.
- *wrapped* (the others: submit's parts, a dry run, retry-failed, collect): a column of text
  wraps at the spaces between its words, never narrower than its longest word; the ``drop``
  columns go, in that order, while the longest words do not fit; a word too long for any
  room left (a path) is shortened in its middle with "…" as a last resort.

In both, a column of ids (``msgbatch_01…``, ``job_…``) is never split: shortened first, as
``short_ids`` shows them (a short id is accepted back as an argument, as git takes a short
commit id), and whole when there is room (``--wide`` asks for them whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len

#: A free-text column (``shrink``) is first cut to this many cells, before any column is dropped.
SHRINK_CAP = 24
GAP = 2  # cells between two columns (Rich's padding of one on each side)
#: On a terminal, ids longer than this are shown as their first SHORT_ID characters and "…"
#: (longer when two ids of the table share that prefix) where whole ones would not fit;
#: --wide, --json and piped output show them whole. 17 = ``msgbatch_01`` and six characters of
#: the random part.
SHORT_ID = 17
_ID = re.compile(r"[a-z]+_(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{8,}")  # a digit: not in_progress


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


def holds_ids(cells: Sequence[Sequence[str]], i: int) -> bool:
    """Every non-empty cell of column ``i`` is an id (``msgbatch_01...``, ``job_...``)."""
    found = [row[i] for row in cells if row[i]]
    return bool(found) and all(_ID.fullmatch(v) for v in found)


def natural_widths(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width with nothing cut: its widest cell or its header."""
    return [max([cell_len(n), *(cell_len(row[i]) for row in cells)])
            for i, n in enumerate(columns)]


def _longest_word(texts: Iterable[str]) -> int:
    return max((cell_len(w) for t in texts for w in t.split()), default=0)


def _spread(total: int) -> int:
    return GAP * max(total - 1, 0)


@dataclass
class Layout:
    """A table as drawn: the columns shown with their widths (in order), whether each wraps at
    words (else one line, cut with "…"), and the cells (ids shortened, over-long words cut)."""

    widths: dict[int, int]
    wraps: bool
    cells: list[list[str]]


def layout(columns: Sequence[str], cells: list[list[str]], limit: int, *,
           drop: Sequence[str] = (), shrink: Sequence[str] = (), whole_ids: bool = False
           ) -> Layout:
    """The layout of a table of ``cells`` within ``limit`` cells (see the module's doc);
    ``whole_ids``: ids are never shortened (``--wide``)."""
    ids = [i for i in range(len(columns)) if holds_ids(cells, i)]
    if ids and not whole_ids and sum(natural_widths(columns, cells)) + _spread(len(columns)) > limit:
        for i in ids:  # whole ids do not fit: shortened, before anything else gives
            short = short_ids(row[i] for row in cells)
            for row in cells:
                row[i] = short.get(row[i], row[i])
    if shrink:
        return Layout(fit_columns(columns, cells, limit, drop=drop, shrink=shrink), False, cells)
    return Layout(wrap_widths(columns, cells, limit, ids, drop), True, cells)


def wrap_widths(columns: Sequence[str], cells: list[list[str]], limit: int,
                ids: Sequence[int], drop: Sequence[str] = ()) -> dict[int, int]:
    """The widths of a wrapped table: each text column at least its longest word; the ``drop``
    columns go, in that order, while the longest words do not fit; the room left goes first
    to the columns that need least of it to be whole (a label is whole, a long value wraps).
    If the longest words still do not fit, the widest text columns give, one by one (down to
    half the room, or less if the others' words need it), their words too long cut in their
    middle (in ``cells``)."""
    natural = natural_widths(columns, cells)
    shown = list(range(len(columns)))

    def room() -> int:
        return limit - _spread(len(shown))

    least = {i: natural[i] if i in ids else
             max(_longest_word([columns[i], *(row[i] for row in cells)]), 1) for i in shown}
    for i in [columns.index(n) for n in drop]:
        if sum(natural[j] for j in shown) <= room():
            break  # whole: nothing more needs to go
        if sum(least[j] for j in shown) > room() or not any(row[i] for row in cells):
            shown.remove(i)
    text = sorted((i for i in shown if i not in ids), key=lambda i: natural[i] - least[i])
    cut = []
    for i in sorted(text, key=lambda i: -least[i]):  # last resort: the widest text gives
        if sum(least[j] for j in shown) <= room():
            break
        others = [j for j in shown if j != i]
        least[i] = max(min(room() - sum(least[j] for j in others),
                           max(room() - sum(natural[j] for j in others), room() // 2)),
                       _longest_word([columns[i]]), 8)
        cut.append(i)
    text.sort(key=lambda i: natural[i] - least[i])
    widths = {i: least[i] for i in shown}
    spare = room() - sum(widths.values())
    for i in text:  # the smallest needs first: as many columns whole as can be
        give = min(natural[i] - least[i], max(spare, 0))
        widths[i] += give
        spare -= give
    for i in cut:  # its words too long, cut in their middle
        for row in cells:
            row[i] = " ".join(middle_cut(w, widths[i]) for w in row[i].split(" "))
    return dict(sorted(widths.items()))


def middle_cut(word: str, width: int) -> str:
    """``word`` within ``width`` cells: its start and its end (a path's file name) around "…"."""
    if cell_len(word) <= width:
        return word
    tail = (width - 1) * 2 // 3
    head = width - 1 - tail
    return word[:head] + "…" + (word[-tail:] if tail else "")


def fit_columns(
    columns: Sequence[str],
    cells: Sequence[Sequence[str]],
    limit: int,
    *,
    drop: Sequence[str] = (),
    shrink: Sequence[str] = (),
) -> dict[int, int]:
    """The columns a fitted table of ``cells`` keeps within ``limit`` cells, each with its
    width, in order. A column that can neither go nor shrink is never cut (an id, a file
    name) unless nothing else is left to give."""
    natural = natural_widths(columns, cells)
    floor = {columns.index(n): max(cell_len(n), 8) for n in shrink if n in columns}
    widths = dict(enumerate(natural))
    for i in floor:
        widths[i] = min(widths[i], max(SHRINK_CAP, floor[i]))

    def excess() -> int:
        return sum(widths.values()) + _spread(len(widths)) - limit

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

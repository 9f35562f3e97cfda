"""csvout.line, the CSV row as text without the csv module for the usual rows, is what
csv.writer writes (QUOTE_MINIMAL, CRLF) for any row at all: strings with every character that
matters to quoting, integers, empty fields, and what it leaves to the csv module (floats,
booleans, a row of one field)."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from batchctl.core.results import csvout

TRICKY = st.sampled_from(['"', ",", "\r", "\n", "\r\n", " ", "\t", "\x00", "é", "\u2028", "\ud800"])
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=5)), max_size=6).map("".join)
FIELD = st.one_of(st.none(), TEXT, st.integers(), st.floats(allow_nan=False), st.booleans())


def written(row: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(row)
    return buf.getvalue()


@settings(max_examples=400, deadline=None)
@given(st.lists(FIELD, max_size=14))
def test_a_row_is_what_csv_writer_writes(row: list[Any]) -> None:
    assert csvout.line(row) == written(row)


def test_the_usual_rows() -> None:
    usual = ([""], ["", ""], [None, None], ['a "b", c', 7, None, "line\r\nbreak"],
             ["cr\ronly", "lf\nonly", "comma,only", 'quote"only', " \t\x00 ", -3])
    for row in usual:
        assert csvout.line(row) == written(row)
    assert csvout.line(["x", "y, z"]) == 'x,"y, z"\r\n'

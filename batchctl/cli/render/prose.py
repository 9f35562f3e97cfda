"""Prose on stderr (notes, warnings, hints, errors): on a terminal, wrapped between words at
its width, with a hanging indent so a wrapped message reads as one; off a terminal, one line
per message, never wrapped (scripts grep it).

At 60 columns the terminal itself used to break long lines mid-word, continuation lines flush
left (issue 21, item 5). A suggested command (``why: batchctl ...``) is never broken: it goes
whole on a line of its own when it does not fit after the words before it, and a command wider
than the terminal is left to the terminal to fold, so a copy of it is one line.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_KEEP = "\x00"  # stands for a space that must not break (inside a suggested command)


def _glued(text: str) -> str:
    """``text`` with the spaces of a suggested command (``...: batchctl ...`` to the end)
    made unbreakable."""
    words = text.split(" ")
    for n in range(1, len(words)):
        if words[n] == "batchctl" and words[n - 1].endswith(":"):
            return " ".join(words[:n]) + " " + _KEEP.join(words[n:])
    return text


def wrap(text: str, width: int, indent: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells, broken only between words, every line
    after the first indented by ``indent``; a word (or a command) longer than a line stays
    whole on a line of its own."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(
            _glued(paragraph), width=max(width, indent + 20), subsequent_indent=" " * indent,
            break_long_words=False, break_on_hyphens=False, drop_whitespace=True,
        ) or [""]
    return [line.replace(_KEEP, " ") for line in lines]


def say(console: Console, text: str, *, tty: bool, label: str = "", style: str | None = None,
        indent: int | None = None) -> None:
    """One message on ``console`` (stderr): ``label`` first (``warning:``, ``hint:``, ``✓``),
    in ``style`` on a terminal (the whole message if there is no label); wrapped on a
    terminal, the lines after the first indented under the text after the label (``indent``,
    else that label's width, else two cells)."""
    head = f"{label} " if label else ""
    if not tty:
        console.print(head + text, markup=False, highlight=False, soft_wrap=True)
        return
    from rich.markup import escape

    lines = wrap(head + text, console.width, len(head) if indent is None and head
                 else 2 if indent is None else indent)
    for n, line in enumerate(lines):
        if n == 0 and label and style:
            line = f"[{style}]{escape(label)}[/]{escape(line[len(label):])}"
        elif style and not label:
            line = f"[{style}]{escape(line)}[/]"
        else:
            line = escape(line)
        console.print(line, highlight=False, soft_wrap=True)

"""Rich's live displays (the bars of `wait`, `run`, a results file, a count of tokens) made to
redraw cleanly on a real terminal (issue 21, item 6):

- **A resize.** Rich moves the cursor up one row per line it drew, then redraws. A terminal
  that re-flows its lines when it gets narrower (tmux, VTE, iTerm2, kitty, Windows Terminal)
  has by then folded each line drawn at the old width over several rows, so the first rows of
  each were left on the screen as stale lines. ``Redraw`` counts the rows each line takes at
  the new width and goes up over all of them. (On a terminal that only cuts its lines, xterm,
  the rows above the display may be cleared too: nothing stale stays either way.)
- **Ctrl-C.** The terminal echoes ``^C`` at the cursor, at the end of a full-width line: the
  echo wrapped to a new row, and the final frame was drawn again below the last one (the bar
  line twice). Every line is drawn ``MARGIN`` cells short of the right edge, so the echo stays
  on the line the final frame then overwrites.

The one private name of Rich batchctl uses, a ``Live``'s live render (the object that moves the
cursor), replaced in ``redraw_cleanly``, is read and set through ``batchctl.cli.typer_private``
(the CLI's private names, with their canary in tests/cli/test_typer_private.py).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.constrain import Constrain
from rich.control import Control
from rich.live import Live
from rich.live_render import LiveRender
from rich.segment import ControlType, Segment

#: Cells left free at the right of every line of a live display (for a ``^C`` echo).
MARGIN = 2


class Redraw(LiveRender):
    """A ``LiveRender`` that remembers each line's width and the width it was drawn at, so
    that after a resize it goes up over every row its lines now take."""

    def __init__(self, renderable: Any, console: Console, vertical_overflow: Any = "ellipsis"
                 ) -> None:
        super().__init__(renderable, vertical_overflow=vertical_overflow)
        self.console = console
        self.widths: list[int] = []
        self.drawn_at = 0

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        segments = list(super().__rich_console__(console, options))
        widths, width = [], 0
        for segment in segments:  # Segments, one Segment.line() between two lines
            if not isinstance(segment, Segment):
                continue
            if segment.text == "\n":
                widths.append(width)
                width = 0
            else:
                width += segment.cell_length
        self.widths = [*widths, width]
        self.drawn_at = console.width
        yield from segments

    def rows(self) -> int:
        """The rows the lines drawn last take now: one each, more on a narrower terminal."""
        now = self.console.width
        if not self.drawn_at or now >= self.drawn_at:
            return len(self.widths)
        return sum(max(1, -(-w // now)) for w in self.widths)

    def position_cursor(self) -> Control:
        if self._shape is None:
            return Control()
        return Control(ControlType.CARRIAGE_RETURN, (ControlType.ERASE_IN_LINE, 2),
                       *(((ControlType.CURSOR_UP, 1), (ControlType.ERASE_IN_LINE, 2))
                         * (self.rows() - 1)))

    def restore_cursor(self) -> Control:
        if self._shape is None:
            return Control()
        return Control(ControlType.CARRIAGE_RETURN,
                       *((ControlType.CURSOR_UP, 1), (ControlType.ERASE_IN_LINE, 2)) * self.rows())


def redraw_cleanly(live: Live) -> Live:
    """``live`` with ``Redraw`` moving its cursor (in place of Rich's own live render)."""
    from batchctl.cli.typer_private import live_render, set_live_render

    old = live_render(live)
    set_live_render(live, Redraw(old.renderable, live.console, old.vertical_overflow))
    return live


def short_of_the_edge(renderable: Any, console: Console) -> Constrain:
    """``renderable`` drawn MARGIN cells narrower than ``console``, at its width now."""
    return Constrain(renderable, width=max(console.width - MARGIN, 1))


"""The Rich progress display of `wait` and `run` (stderr, terminal only): its columns, fitted to
the console's width, and the outcome of a batch as a glyph and a colour.

Imported only when a terminal shows progress (Rich's progress module is not needed otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressBar,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
)
from rich.table import Column
from rich.text import Text

from batchctl.cli.render.live import redraw_cleanly, short_of_the_edge
from batchctl.cli.render.outcome import OUTCOMES
from batchctl.core.times import human_duration

#: Below this console width the time left before expiry is left out of the bars.
EXPIRY_WIDTH = 100


class _Glyph(SpinnerColumn):
    """A spinner while running; the outcome's glyph once finished."""

    def render(self, task: Any) -> Any:
        kind = task.fields.get("outcome")
        if task.finished and kind in OUTCOMES:
            glyph, colour = OUTCOMES[kind]
            return Text(glyph, style=colour)
        return super().render(task)


class _Bar(BarColumn):
    """A bar whose finished colour is the outcome's."""

    def render(self, task: Any) -> ProgressBar:
        bar = super().render(task)
        kind = task.fields.get("outcome")
        if kind in OUTCOMES:
            bar.finished_style = OUTCOMES[kind][1]
        return bar


def _time_column(clock: Any, origin: Callable[[], float], console: Console) -> Any:
    from rich.progress import ProgressColumn

    class TimeColumn(ProgressColumn):
        """The one elapsed clock (from ``origin()`` to the batch's end, or now) and, on a
        console wide enough now (it may have been resized), the time left before expiry."""

        def render(self, task: Any) -> Text:
            now = clock.time()
            until, expires = task.fields.get("until"), task.fields.get("expires")
            parts = [human_duration((until if until is not None else now) - origin())]
            if console.width >= EXPIRY_WIDTH and expires is not None:
                parts.append(f"expires in {human_duration(expires - now)}")
            return Text(", ".join(parts), style="progress.elapsed")

    return TimeColumn(table_column=Column(no_wrap=True))


class CountColumn(ProgressColumn):
    """``12,500/250,000``: done of total, numbers as everywhere else on a terminal (Rich's
    MofNCompleteColumn writes ``12500/250000``); done alone while the total is unknown."""

    def render(self, task: Task) -> Text:
        done = f"{int(task.completed):,}"
        return Text(f"{done}/{int(task.total):,}" if task.total else done, style="progress.download")


class Bars(Progress):
    """Rich's Progress, drawn MARGIN cells short of the right edge and redrawn cleanly after a
    resize (``batchctl.cli.render.live``)."""

    def __init__(self, *columns: Any, **options: Any) -> None:
        super().__init__(*columns, **options)
        redraw_cleanly(self.live)

    def get_renderable(self) -> Any:
        if "live" not in vars(self):  # (asked once while Progress builds its Live)
            return super().get_renderable()
        return short_of_the_edge(super().get_renderable(), self.console)


def make_progress(console: Console, clock: Any, origin: Callable[[], float]) -> Progress:
    """Progress bars on ``console``: glyph, id, bar, done, status, time. Every text column stays
    on one line; the bar takes the width that is left, so a line is never wider than the
    console."""
    one_line = lambda: Column(no_wrap=True, overflow="ellipsis")  # noqa: E731
    return Bars(
        _Glyph(table_column=one_line()),
        TextColumn("{task.description}", table_column=one_line()),
        _Bar(bar_width=None, table_column=Column(ratio=1)),
        TextColumn("{task.fields[done]}", table_column=one_line()),
        TextColumn("{task.fields[status]}", table_column=one_line()),
        _time_column(clock, origin, console),
        console=console,
        get_time=clock.time,
        refresh_per_second=4,
        redirect_stdout=False,
        redirect_stderr=False,
        expand=True,
    )

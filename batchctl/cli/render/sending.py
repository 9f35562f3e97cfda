"""A request file being checked, then each create body being sent, on a terminal (stderr):
a line while the file is checked, a transient bar of the bytes sent so far (issue 21, item 6:
a 250,000-request upload left the screen blank for seconds).

The check runs in a forked child, which no thread may run beside: its line is drawn once, with
no refresh, and erased at the next event.

Core yields ``Sending`` before the create call; the call cannot yield while the SDK sends, so
the API layer keeps the bytes sent in the context's outbox (``Outbox.in_flight``), and the bar
reads them there each time it is redrawn (four times a second, from Rich's refresh thread).
The bar goes at the next event. Off a terminal nothing is shown.
"""

from __future__ import annotations

from typing import Any

from batchctl.cli.context import AppContext
from batchctl.cli.render.events import Screen
from batchctl.core.events import Checking, Event, Outbox, Sending


def sent_text(done: int, total: int) -> str:
    """``12.5 MB of 39.5 MB``; once all is sent, that the API's answer is awaited."""
    from rich.filesize import decimal

    if done >= total:
        return f"{decimal(total)} sent; waiting for the API's answer"
    return f"{decimal(done)} of {decimal(total)}"


def _bar(actx: AppContext, event: Sending) -> Any:
    from rich.progress import BarColumn, TextColumn

    from batchctl.cli.render.progress_bar import Bars

    class SendingBars(Bars):
        """Bars whose one task follows the bytes in flight, read at each redraw."""

        outbox: Outbox | None = None

        def get_renderable(self) -> Any:
            now = self.outbox.in_flight() if self.outbox is not None else None
            if now is not None and now.total == event.size and self.tasks:
                self.update(self.tasks[0].id, completed=now.done,
                            sent=sent_text(now.done, now.total))
            return super().get_renderable()

    of = f" {event.part} of {event.parts}" if event.parts > 1 else ""
    bars = SendingBars(TextColumn(f"sending batch{of}"), BarColumn(),
                       TextColumn("{task.fields[sent]}"), console=actx.err, transient=True)
    bars.add_task("sending", total=max(event.size, 1), sent=sent_text(0, event.size))
    bars.outbox = actx.notices
    return bars


class _Line:
    """One line drawn as it is, without a newline, erased when the display ends."""

    def __init__(self, actx: AppContext, text: str) -> None:
        self.console, self.text = actx.err, text

    def __enter__(self) -> None:
        from rich.cells import set_cell_size

        self.console.print(set_cell_size(self.text, self.console.width - 1), end="",
                           markup=False, highlight=False, soft_wrap=True)

    def __exit__(self, *exc: object) -> None:
        from rich.control import Control
        from rich.segment import ControlType

        self.console.control(Control(ControlType.CARRIAGE_RETURN, (ControlType.ERASE_IN_LINE, 2)))


class SendingScreen(Screen):
    """What is shown while a submit checks its file (a line) and sends its bodies (a bar of
    bytes): each opened at its event (on a terminal), closed at the next event, or when the
    command ends early (the ``with``)."""

    def __init__(self, actx: AppContext) -> None:
        self.actx = actx

    def show(self, event: Event) -> bool:
        """Show ``event`` if it is ``Checking`` or ``Sending``; any other closes what is
        shown (False)."""
        from rich.filesize import decimal

        self.close()
        if not isinstance(event, (Checking, Sending)):
            return False
        if not self.actx.stderr_tty:
            return True
        if isinstance(event, Checking):  # the name shortened in its middle if it must be
            from batchctl.cli.render.tables import middle_cut

            size = f" ({decimal(event.size)})…"
            room = self.actx.err.width - 1 - len("checking ") - len(size)
            self.open(_Line(self.actx, f"checking {middle_cut(event.name, max(room, 8))}{size}"))
        else:
            self.open(_bar(self.actx, event))
        return True

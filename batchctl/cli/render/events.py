"""How what core reports is shown: its notes, the API layer's asides, and the loop that runs a
workflow (``batchctl.core.events``).

A long workflow is a generator of events: ``drive`` shows each as it comes and returns the
workflow's result. The API layer cannot yield in the middle of a call (the SDK waits out its
retries inside it), so it queues what it has to say in the context's outbox; that is shown
before the next event, and before an error leaves the command (``api_notices`` does the same
around a call that returns a plain result).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.cli.render.prose import say
from batchctl.core.events import NOTE, WARN, ApiRetry, Event, Events, Note

R = TypeVar("R")


def show_note(actx: AppContext, note: Note, *, info_off_tty: bool = True) -> None:
    """A note of core: warnings always, information always or (``info_off_tty=False``) only
    on a terminal."""
    if note.level == WARN:
        output.warn(actx, note.text)
    elif note.level == NOTE:
        say(actx.err, note.text, tty=actx.stderr_tty, label="note:")
    elif info_off_tty or actx.stderr_tty:
        output.info(actx, note.text)


def notes(actx: AppContext, *, info_off_tty: bool = True) -> Callable[[Event], None]:
    """The ``show`` of a workflow whose events are notes (``show_note``)."""

    def show(event: Event) -> None:
        if isinstance(event, Note):
            show_note(actx, event, info_off_tty=info_off_tty)

    return show


def show_notices(actx: AppContext) -> None:
    """What the API layer queued during its calls, oldest first."""
    for event in actx.notices.drain():
        if isinstance(event, ApiRetry):
            # Only waits a person would notice: the SDK's sub-second backoffs pass silently.
            if event.seconds >= 1.0:
                say(actx.err, f"{event.why}; retrying in {event.seconds:.0f} s",
                    tty=actx.stderr_tty, label="warning:")
        elif isinstance(event, Note):
            show_note(actx, event)


@contextmanager
def api_notices(actx: AppContext) -> Iterator[None]:
    """Around a core call that returns a plain result: what the API layer said during it is
    shown when it returns, or before its error is."""
    try:
        yield
    finally:
        show_notices(actx)


class Screen:
    """A display that lives while a workflow runs: ``show`` is handed the workflow's events
    (True when they are this screen's), and its live part (a view, a progress bar), entered
    with ``open``, lasts until ``close``: at the event that ends it, or when the command ends
    early (the ``with`` around ``drive``)."""

    _live: Any = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, live: Any) -> Any:
        """Enter ``live`` (a context manager) for as long as the screen shows it."""
        self._live = live
        return live.__enter__()

    def close(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.__exit__(None, None, None)

    def show(self, event: Event) -> bool:
        raise NotImplementedError


def drive(actx: AppContext, events: Events[R], show: Callable[[Event], object]) -> R:
    """Run a workflow: each event it yields handed to ``show`` (after what the API layer said
    while it was made); returns the workflow's result."""
    with api_notices(actx):
        while True:
            try:
                event = next(events)
            except StopIteration as stop:
                return stop.value
            show_notices(actx)
            show(event)

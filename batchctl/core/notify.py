"""How core reports progress without printing: a ``notify(level, message)`` callback.

``level`` is ``"info"`` or ``"warn"``; the CLI decides how each is shown
(``batchctl.cli.render.output.notifier``). ``quiet`` is the default that says nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from batchctl.core.events import Events, Note

R = TypeVar("R")

Notify = Callable[[str, str], None]  # (level: "info" | "warn", message)


def quiet(level: str, message: str) -> None:
    """A ``Notify`` that says nothing."""


def relay(events: Events[R], notify: Notify | None) -> R:
    """Run a workflow of events to its end, its notes handed to ``notify`` (for the callers
    that do not yield events yet)."""
    while True:
        try:
            event = next(events)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, Note) and notify is not None:
            notify(event.level, event.text)

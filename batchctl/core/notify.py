"""How core reports progress without printing: a ``notify(level, message)`` callback.

``level`` is ``"info"`` or ``"warn"``; the CLI decides how each is shown
(``batchctl.cli.render.output.notifier``). ``quiet`` is the default that says nothing.
"""

from __future__ import annotations

from collections.abc import Callable

Notify = Callable[[str, str], None]  # (level: "info" | "warn", message)


def quiet(level: str, message: str) -> None:
    """A ``Notify`` that says nothing."""

"""How what core reports is shown: its notes, the API layer's asides, and the loop that runs a
workflow (``batchctl.core.events``).

A long workflow is a generator of events: ``drive`` shows each as it comes and returns the
workflow's result. The API layer cannot yield in the middle of a call (the SDK waits out its
retries inside it, ~40 s when the API keeps failing), so it queues what it has to say in the
context's outbox, and a ``Relay`` shows it from a thread of its own while the call runs: each
retry is said when it happens. Only while core runs (``Relay.begin`` to ``end``), so a notice never lands
in the middle of what the command writes itself; what is left when the call returns is shown
then, before the next event (``api_notices`` does the same around a call that returns a plain
result). Every notice comes out once, in the order it was queued.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar, cast

from batchctl.cli.context import AppContext
from batchctl.cli.render import output
from batchctl.cli.render.prose import say
from batchctl.core.events import HINT, NOTE, WARN, ApiRetry, Event, Events, Note
from batchctl.core.fork import FORK_SAFE

R = TypeVar("R")
T = TypeVar("T")


def show_note(actx: AppContext, note: Note, *, info_off_tty: bool = True) -> None:
    """A note of core: warnings always, information always or (``info_off_tty=False``) only
    on a terminal."""
    if note.level == WARN:
        output.warn(actx, note.text)
    elif note.level == NOTE:
        say(actx.err, note.text, tty=actx.stderr_tty, label="note:")
    elif note.level == HINT or info_off_tty or actx.stderr_tty:
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


#: Held while notices are shown, by a relay's thread or the command's, and across a fork: a
#: child forked while a relay runs (``batchctl.core.fork``: the relay's thread says it is
#: ``FORK_SAFE``) never inherits a lock of the streams taken half-way through a line.
_SHOWING = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_SHOWING.acquire, after_in_parent=_SHOWING.release,
                        after_in_child=_SHOWING.release)


class Relay:
    """Shows what the API layer queues while a core call runs, as it is queued, from a thread
    of its own (started on entering the ``with``, ended on leaving it, after showing what is
    left). The thread shows nothing outside a call (``begin`` to ``end``); ``end`` shows what
    is left on the command's thread, after whatever the relay's thread was writing (both hold
    ``_SHOWING`` while they show): notices come out in the order they were queued, and before
    anything the command writes after the call."""

    def __init__(self, actx: AppContext) -> None:
        self._actx = actx
        self._changed = threading.Condition(_SHOWING)  # a call began, or the relay ends
        self._in_call = False  # these two change under _SHOWING
        self._ending = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        run = contextvars.copy_context().run  # the command's context (its streams) on the thread
        self._thread = threading.Thread(target=run, args=(self._relay,), daemon=True,
                                        name="batchctl-notices")
        setattr(self._thread, FORK_SAFE, True)  # it writes only under _SHOWING
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._ending = True
            self._changed.notify()
        self._actx.notices.wake()
        if self._thread is not None:
            self._thread.join()
        show_notices(self._actx)

    def begin(self) -> None:
        """A core call begins: what the API layer queues during it is shown as it comes."""
        with self._changed:
            self._in_call = True
            self._changed.notify()

    def end(self) -> None:
        """The call returned, or raised: what is left is shown now."""
        with _SHOWING:
            self._in_call = False
            show_notices(self._actx)

    @contextmanager
    def call(self) -> Iterator[None]:
        """``begin`` and ``end`` around a core call."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    def _relay(self) -> None:
        notices = self._actx.notices
        while True:
            wakes = notices.wakes
            with self._changed:
                if self._ending:
                    return
                if self._in_call:
                    try:
                        show_notices(self._actx)
                    except (OSError, ValueError):  # stderr gone: the command meets it too
                        return
                elif len(notices) > 0:  # queued outside a call: shown in the next (or at the end)
                    self._changed.wait()
                    continue
            notices.wait(wakes)


@contextmanager
def api_notices(actx: AppContext) -> Iterator[None]:
    """Around a core call that returns a plain result: what the API layer says during it is
    shown as it is said (``Relay``), and what is left when it returns, or before its error."""
    with Relay(actx) as relay, relay.call():
        yield


def relayed(actx: AppContext, items: Iterable[T]) -> Generator[T, None, None]:
    """``items`` of core read lazily (a listing that asks the API for a page as it is read),
    each made inside a call of a ``Relay``: what the API layer says while it is made is shown
    then, before the item is. Close it (``contextlib.closing``) when it may be left unfinished."""
    with Relay(actx) as relay:
        found = iter(items)
        while True:
            relay.begin()
            try:
                item = next(found, _END)
            finally:
                relay.end()
            if item is _END:
                return
            yield cast(T, item)


_END = object()


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
    """Run a workflow: each event it yields handed to ``show``, after what the API layer said
    while it was made (shown as it was said: ``Relay``); returns the workflow's result."""
    with Relay(actx) as relay:
        while True:
            relay.begin()
            try:
                event = next(events)
            except StopIteration as stop:
                return stop.value
            finally:
                relay.end()
            show(event)

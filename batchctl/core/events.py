"""What core reports while it works: events, small frozen values that the CLI renders.

A long workflow is a generator of events whose return value is its result (``gather`` runs one
to its end); a short one returns a result that carries what it has to say. Core never prints
and never calls back into its caller: the caller reads the events when it wants them.

The API layer cannot yield while the SDK waits out a retry inside a call, so it queues what it
has to say (``ApiRetry``, a ``Note``) in an ``Outbox`` that the caller drains: between events,
and from a thread of its own while a call runs (``Outbox.wait``), so that a retry is said when
it happens, not after the call.

This module sits at the root of core, under every package, so it holds the events made of
plain values; an event that carries a package's own value is defined beside that value, as a
subclass of ``Event``:

- ``Ordering``: results being put in the request file's order, after they are all read;
- ``Checking``: a request file is being checked whole, before anything is sent;
- ``Sending``: a create body is being sent (its bytes go in the Outbox as they go);
- ``submit.submit.JobSubmitted``: `run` submitted a job (or found it submitted before);
- ``submit.feed.FeedResult``: what a feed of a job's parts not sent yet did;
- ``workflows.waiting.WaitStarted`` and ``WaitEnded``: a wait begins; how the wait of `run` ended;
- ``results.export.ResultsWritten``: every result is written, with the summary;
- ``workflows.retry.RetriesPlanned``: what retry-failed picked, before anything is written;
- ``workflows.collect.CollectOutcome``: what collect did with one batch;
- ``workflows.hooks.HookOutput``, ``HookRan`` and ``HookSkipped``: a line a hook printed, how
  its attempt ended, a hook not run (it succeeded before, or another process runs it).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from batchctl.core.errors import BatchctlError

R = TypeVar("R")
Record = dict[str, Any]

INFO = "info"  # said to the person at the terminal
WARN = "warn"  # a warning
NOTE = "note"  # the API layer's aside (a 404 being ridden out)
HINT = "hint"  # advice said always, on a terminal or not (what --cache auto would save)


class Event:
    """What every event is (a base for ``isinstance``; it holds nothing)."""

    __slots__ = ()


#: A workflow that reports as it goes and returns ``R`` at its end.
Events = Generator[Event, None, R]


@dataclass(frozen=True)
class Note(Event):
    """A line for the person: ``level`` is INFO, WARN, NOTE or HINT; the CLI decides how it
    looks."""

    level: str
    text: str


@dataclass(frozen=True)
class ApiRetry(Event):
    """The SDK is about to wait ``seconds`` before trying a call again, and ``why``: an answer
    that failed (``the API did not answer as expected (HTTP 529)``), or no answer at all."""

    seconds: float
    why: str = "the API call failed"


@dataclass(frozen=True)
class Data(Event):
    """Bytes of output for the caller to write, in order (its stdout: results with no file to
    go to, the lines of `prepare`, a state export)."""

    data: bytes


@dataclass(frozen=True)
class Progress(Event):
    """``done`` of ``total`` so far, for a progress bar: the distinct prompts counted by the API
    (the dry run's --count-tokens), the results read (an export)."""

    done: int
    total: int


@dataclass(frozen=True)
class Ordering(Event):
    """Results put in the request file's order: ``done`` of ``total`` written so far. A step
    of its own, after every result is read (``Progress``): on a big job it takes seconds."""

    done: int
    total: int


@dataclass(frozen=True)
class Checking(Event):
    """A request file of ``size`` bytes (``name``, as given) is about to be checked whole;
    nothing more is said until that is done (the check runs in a forked child, which a thread
    drawing a bar would forbid)."""

    name: str
    size: int


@dataclass(frozen=True)
class Sending(Event):
    """A create call is about to send its body: ``size`` bytes, the batch of part ``part`` of
    ``parts``. The call cannot yield while it sends; the bytes handed to the connection so far
    are kept in the Outbox (``Outbox.in_flight``), for a display to read as they go."""

    part: int
    parts: int
    size: int


# -- wait (and the records it reports: the API's batch fields) --------------------------------
@dataclass(frozen=True)
class BatchChanged(Event):
    """A batch first seen (``previous`` None), or whose status or counts changed."""

    record: Record
    previous: Record | None


@dataclass(frozen=True)
class Polled(Event):
    """A round of polls is over: the last record of every batch (and part not sent), at ``now``."""

    records: Sequence[Record]
    now: float


@dataclass(frozen=True)
class PollFailed(Event):
    """A round failed because the API was unavailable or limited the rate; polling goes on."""

    error: BatchctlError


@dataclass(frozen=True)
class WaitStopped(Event):
    """Polling is over (every batch ended, or the time is up)."""


# -- the API layer's queue, and running a workflow ---------------------------------------------
class Outbox:
    """What the API layer has to say during a call, kept until the caller drains it. Safe
    across threads: the logging handler that reads the SDK's retries fills it on the thread of
    the call, and a reader on another thread may wait for it (``wait``) to say each item as it
    comes, while the call goes on."""

    def __init__(self) -> None:
        self._items: deque[Event] = deque()
        self._in_flight: Progress | None = None
        self._changed = threading.Condition()
        #: How many times ``wake`` was called (read it before deciding to ``wait``).
        self.wakes = 0

    def sent(self, done: int, total: int) -> None:
        """How much of the body of the call in flight has been sent (replaces the last)."""
        self._in_flight = Progress(done, total)

    def in_flight(self) -> Progress | None:
        """The bytes of the body in flight sent so far, of its total (None: nothing sent yet);
        read while the call runs, from another thread."""
        return self._in_flight

    def __len__(self) -> int:
        with self._changed:
            return len(self._items)

    def put(self, event: Event) -> None:
        with self._changed:
            self._items.append(event)
            self._changed.notify_all()

    def drain(self) -> list[Event]:
        """Everything queued, oldest first; the queue is left empty."""
        with self._changed:
            out = list(self._items)
            self._items.clear()
        return out

    def wait(self, wakes: int) -> None:
        """Block until something is queued, or ``wake`` has been called since ``self.wakes``
        was ``wakes`` (read before: a ``wake`` in between is not missed)."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._items) or self.wakes != wakes)

    def wake(self) -> None:
        """Let every ``wait`` return (how a reader on another thread is told to look again)."""
        with self._changed:
            self.wakes += 1
            self._changed.notify_all()


def gather(events: Events[R]) -> tuple[list[Event], R]:
    """Run a workflow to its end: every event it yielded, and its result."""
    seen: list[Event] = []
    while True:
        try:
            seen.append(next(events))
        except StopIteration as stop:
            return seen, stop.value

"""What `wait` (and `run`) show while batches are processing, always on stderr.

On a terminal: Rich progress bars, one per batch (requests done of total, status, elapsed time,
and on a wide terminal the time left before it expires) and, for several batches, an overall
bar counting those ended. The real API keeps every request in `processing` until the whole
batch ends, so the spinner, the elapsed time and "N of M ended" are what show life. A finished
bar shows the outcome: a green ✓ when every request succeeded, a yellow ! when some errored,
expired or were canceled, a red ✗ when none succeeded.

Off a terminal: one plain line per change of state, a heartbeat line every few minutes of wall
time, never a redraw and no escape codes. The final summary is printed in both cases.

One end-of-batch line: with several batches, each batch's end gets a line as it happens and
the summary gives the totals; with one batch, the summary is its only end line.

One elapsed clock (``Elapsed``): every figure counts from the moment the first batch was
created (or the command started, if that is earlier: parts not sent yet) to the batch's
ended_at (or now): the bars, the ``[12m 5s]`` of plain lines and the summary's "after".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from batchctl.cli.context import AppContext
from batchctl.cli.flags import FLAGS
from batchctl.cli.render import output
from batchctl.cli.render.batches import counts_text, expires_text
from batchctl.cli.render.events import Screen, show_note
from batchctl.cli.render.outcome import OUTCOMES, Elapsed, mark, outcome
from batchctl.cli.render.prose import say
from batchctl.cli.render.tables import short_ids
from batchctl.core.errors import NextStep
from batchctl.core.events import BatchChanged, Event, Note, Polled, PollFailed, WaitStopped
from batchctl.core.plural import counted
from batchctl.core.times import human_duration, parse_ts
from batchctl.core.tracking.gone import archived_text
from batchctl.core.tracking.lifecycle import Target, batches_text, counts, is_ended, totals

if TYPE_CHECKING:
    from batchctl.core.submit.feed import FeedResult
    from batchctl.core.workflows.waiting import Waited

HEARTBEAT_SECONDS = 300.0


def unique_refs(targets: Sequence[Target]) -> list[str]:
    return list(dict.fromkeys(t.ref for t in targets))


def named(rec: Mapping[str, Any]) -> str:
    """A batch's id, with its role in its job when it has one: ``msgbatch_... (warm-up)``."""
    return f"{rec['id']} ({rec['role']})" if rec.get("role") else str(rec["id"])


def describe(rec: Mapping[str, Any], now: float) -> str:
    """One line about one batch: ``msgbatch_...: in_progress, 4 requests, expires in 23h 59m``."""
    status = rec.get("processing_status")
    name = named(rec)
    if is_ended(rec):
        return f"{name}: ended: {counts_text(rec)}"
    total = sum(counts(rec).values())
    expires = expires_text(rec, now)
    return f"{name}: {status}, {counted(total, 'request')}" + (
        f", expires {expires}" if expires else "")


class _View:
    """What both views share: the clock, and whether several batches are waited for (then each
    batch's end gets its own line; with one, the summary is its end line)."""

    def __init__(self, actx: AppContext, targets: Sequence[Target]) -> None:
        self.actx = actx
        self.count = len(targets)
        self.elapsed = Elapsed(actx.clock.time())
        self.seen: set[str] = set()
        self.pending: dict[str, int] = {}  # job -> parts not sent yet
        self.feeds = FeedNotes()

    def several(self) -> bool:
        return max(self.count, len(self.seen)) != 1 or any(self.pending.values())

    def _fed(self, fed: FeedResult) -> list[str]:
        self.pending[fed.job_id] = len(fed.pending)
        return self.feeds.lines(fed, self.actx.clock.time())


class PlainView(_View):
    """Off a terminal: a line per change, a heartbeat every HEARTBEAT_SECONDS of wall time."""

    def __init__(self, actx: AppContext, targets: Sequence[Target]) -> None:
        super().__init__(actx, targets)
        self.last = actx.clock.time()

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _line(self, text: str, rec: Mapping[str, Any] | None = None) -> None:
        now = self.actx.clock.time()
        output.info(self.actx, f"[{human_duration(self.elapsed.at(rec, now))}] {text}")
        self.last = now

    def change(self, rec: Mapping[str, Any], previous: Mapping[str, Any] | None) -> None:
        self.elapsed.see([rec])
        self.seen.add(rec["id"])
        if not is_ended(rec) or self.several():
            self._line(describe(rec, self.actx.clock.time()), rec)

    def tick(self, records: Sequence[Mapping[str, Any]], now: float) -> None:
        ended = sum(is_ended(r) for r in records)
        if ended == len(records) and not any(self.pending.values()):
            return  # nothing left to wait for: the summary comes next
        if now - self.last >= HEARTBEAT_SECONDS:
            self._line(f"still waiting: {ended} of {batches_text(len(records))} ended")

    def error(self, exc: Exception) -> None:
        self._line(f"{unavailable_text(exc)}: {exc}")

    def feed(self, fed: FeedResult) -> None:
        for line in self._fed(fed):
            self._line(line)


class RichView(_View):
    """On a terminal: live progress bars on stderr (see ``batchctl.cli.render.progress_bar``)."""

    def __init__(
        self, actx: AppContext, targets: Sequence[Target], jobs: Sequence[str] = ()
    ) -> None:
        from batchctl.cli.render.progress_bar import make_progress

        super().__init__(actx, targets)
        self.progress = make_progress(actx.err, actx.clock, lambda: self.elapsed.origin)
        self.names = short_ids(t.id for t in targets)
        self.tasks: dict[str, Any] = {}
        for t in targets:
            self._add(t.id, status="[dim]asking[/]")
        self.overall: Any = None
        self.label = "all"
        if self.count > 1 or jobs:
            refs = unique_refs(targets) or list(jobs)
            self.label = refs[0] if len(refs) == 1 else "all"
            if self.count != 1:
                self._add_overall()

    def _add(self, batch_id: str, **fields: Any) -> None:
        from rich.markup import escape

        self.names = short_ids([*self.names, batch_id])
        self.tasks[batch_id] = self.progress.add_task(
            escape(self.names[batch_id]), total=None, **{"done": "", "status": "", "until": None,
                                                 "expires": None, "outcome": None, **fields})

    def _add_overall(self) -> None:
        from rich.markup import escape

        self.overall = self.progress.add_task(
            f"[bold]{escape(self.label)}[/]", total=max(self.count, 1), done="",
            status="batches ended", until=None, expires=None, outcome=None)

    def __enter__(self) -> RichView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def change(self, rec: Mapping[str, Any], previous: Mapping[str, Any] | None) -> None:
        from rich.markup import escape

        self.elapsed.see([rec])
        self.seen.add(rec["id"])
        if rec["id"] not in self.tasks:  # a part just sent
            self._add(rec["id"])
        if rec.get("role"):  # the job's warm-up batch
            self.progress.update(self.tasks[rec["id"]], description=escape(
                named({**rec, "id": self.names.get(rec["id"], rec["id"])})))
        if self.overall is None and self.several():
            self._add_overall()
        c = counts(rec)
        total = sum(c.values())
        done = total - c["processing"]
        ended = is_ended(rec)
        status = escape(str(rec.get("processing_status")))  # the server's text
        kind = outcome(c) if ended else None
        self.progress.update(
            self.tasks[rec["id"]],
            total=max(total, 1),
            completed=done if total else 1,
            done=f"{done:,}/{total:,}",
            status=mark(kind, status) if kind else status,
            until=parse_ts(rec.get("ended_at")) if ended else None,
            expires=None if ended else parse_ts(rec.get("expires_at")),
            outcome=kind,
        )
        if kind and self.several():
            glyph, colour = OUTCOMES[kind]
            say(self.progress.console, f"{named(rec)} ended: {counts_text(rec)}", tty=True,
                label=glyph, style=colour)

    def tick(self, records: Sequence[Mapping[str, Any]], now: float) -> None:
        self.elapsed.see(records)
        if self.overall is not None:
            ended = sum(is_ended(r) for r in records)
            every = ended == len(records) and not any(self.pending.values())
            self.progress.update(
                self.overall, completed=ended, total=max(len(records), 1),
                done=f"{ended:,}/{len(records):,}",
                status=mark(outcome(totals(records)), "batches ended") if every
                else "batches ended",
                until=self.elapsed.origin + self.elapsed.until_all_ended(records, now)
                if every else None,
                outcome=outcome(totals(records)) if every else None,
            )
        self.progress.refresh()

    def error(self, exc: Exception) -> None:
        say(self.progress.console, f"{unavailable_text(exc)}: {exc}", tty=True,
            label="warning:", style="yellow")

    def feed(self, fed: FeedResult) -> None:
        for line in self._fed(fed):
            say(self.progress.console, line, tty=True)
        if self.overall is None and self.several():
            self._add_overall()


def make_view(
    actx: AppContext, targets: Sequence[Target], jobs: Sequence[str] = ()
) -> PlainView | RichView:
    return RichView(actx, targets, jobs) if actx.stderr_tty else PlainView(actx, targets)


class WaitScreen(Screen):
    """A wait's events shown (``batchctl.core.workflows.waiting``): the view made at
    ``WaitStarted`` (``make_view``), told of every change, round, failed round and feed, and
    closed at ``WaitStopped``, or when the command ends early (the ``with``)."""

    def __init__(self, actx: AppContext) -> None:
        self.actx = actx
        self.view: PlainView | RichView | None = None

    def close(self) -> None:
        super().close()
        self.view = None

    def show(self, event: Event) -> bool:
        """Show ``event`` if it is the wait's; False if it is not."""
        from batchctl.core.submit.feed import FeedResult
        from batchctl.core.workflows.waiting import WaitStarted

        if isinstance(event, WaitStarted):
            self.view = make_view(self.actx, event.targets, event.jobs)
            self.open(self.view)
        elif isinstance(event, WaitStopped):
            self.close()
        elif isinstance(event, Note):
            show_note(self.actx, event)
        elif self.view is None:
            return False
        elif isinstance(event, BatchChanged):
            self.view.change(event.record, event.previous)
        elif isinstance(event, Polled):
            self.view.tick(event.records, event.now)
        elif isinstance(event, PollFailed):
            self.view.error(event.error)
        elif isinstance(event, FeedResult):
            self.view.feed(event)
        else:
            return False
        return True


def unavailable_text(exc: Exception) -> str:
    if getattr(exc, "status", None) == 429:
        wait = getattr(exc, "retry_after", None)
        return "the API limited the rate of calls; waiting" + (
            f" {human_duration(wait)} as it asked" if wait else "")
    return "the API is unavailable, still trying"


class FeedNotes:
    """Lines about a job's parts being sent: each batch sent, and the parts still pending
    whenever how many (or why) changes."""

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, str | None]] = {}

    def lines(self, fed: FeedResult, now: float) -> list[str]:
        out = []
        for row in fed.sent:
            parts = fed.pending[0]["parts"] if fed.pending else None
            of = f" of {parts}" if parts else ""
            out.append(f"sent part {row['part']}{of} of job {fed.job_id} as {row['id']} "
                       f"({counted(row['request_count'], 'request')})")
        state = (len(fed.pending), fed.reason)
        if fed.pending and self.last.get(fed.job_id) != state:
            out.append(feed_summary(fed, now))
        self.last[fed.job_id] = state
        return out


def feed_summary(fed: FeedResult, now: float) -> str:
    """``job_x: 3 of 10 parts pending: the API's processing queue is full (...)``."""
    from batchctl.core.submit.feed import held_lines

    head = held_lines(fed.job_id, fed.pending, fed.reason, fed.retry_at, now, flags=FLAGS)[0]
    return head.replace(" not sent yet: ", " pending: ", 1)


def print_summary(actx: AppContext, waited: Waited, *, fetch_hint: bool = True) -> bool:
    """The final summary of a wait (stderr, always), the command that fetches the results
    (unless ``fetch_hint`` is off: `run` fetches them itself, and its results summary gives the
    counts) and the retry-failed steps core found worth running (``waited.retry_steps``);
    returns whether every batch ended. "after": the one clock of ``Elapsed``, from the command's
    start (``waited.elapsed`` ago) or the first batch's created_at, whichever is earlier.
    Only renders: nothing here reads the API."""
    records, targets, elapsed, jobs = waited.records, waited.targets, waited.elapsed, waited.jobs
    pending = sum(r.get("processing_status") == "pending" for r in records)
    sent = [r for r in records if r.get("processing_status") != "pending"]
    t = totals(sent)
    detail = ", ".join(f"{t[k]:,} {k}" for k in ("succeeded", "errored", "canceled", "expired"))
    now = actx.clock.time()
    clock = Elapsed(now - elapsed, sent)  # the same clock as the bars and the plain lines
    took = human_duration(clock.until_all_ended(sent, now))
    refs = list(dict.fromkeys([*unique_refs(targets), *jobs]))
    if t["ended"] == len(sent) and not pending:
        ended = f"{t['ended']} of {batches_text(len(sent))} ended after {took}"
        ended += f": {detail}" if fetch_hint else ""  # `run` gives the counts with the results
        if actx.stderr_tty:
            glyph, colour = OUTCOMES[outcome(t)]
            say(actx.err, ended, tty=True, label=glyph, style=colour)
        else:
            output.info(actx, ended)
        archived = [r for r in records if r.get("archived_at")]
        for rec in archived if fetch_hint else ():  # (`run` says it when it fetches them)
            output.warn(actx, archived_text(str(rec["id"]), rec["archived_at"]))
        if len(archived) == len(records):
            return True  # nothing left to fetch or retry: no hint to either
        for ref in refs if fetch_hint else ():
            output.suggest(actx, NextStep("fetch the results", "results", (ref,)))
        for step in waited.retry_steps:
            output.suggest(actx, step)
        return True
    left = f"; {counted(pending, 'part')} not sent yet" if pending else ""
    output.info(actx, f"{t['ended']} of {batches_text(len(sent))} ended after {took}{left}")
    return False

"""What `wait` (and `run`) show while batches are processing, always on stderr.

On a terminal: Rich progress bars, one per batch (requests done of total, status, time since
the batch was created, time left before it expires) and an overall bar counting batches ended.
The real API keeps every request in `processing` until the whole batch ends, so the spinner,
the elapsed time and "N of M batches ended" are what show life.

Off a terminal: one plain line per change of state, a heartbeat line every few minutes of wall
time, never a redraw and no escape codes. The final summary is printed in both cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from batchctl.cli import output
from batchctl.cli.batchview import counts_text, expires_text
from batchctl.cli.context import AppContext
from batchctl.core.errors import NextStep
from batchctl.core.jobs.gone import archived_text
from batchctl.core.jobs.lifecycle import Target, batches_text, counts, is_ended, totals
from batchctl.core.times import human_duration, parse_ts

if TYPE_CHECKING:
    from batchctl.core.jobs.feed import FeedResult

HEARTBEAT_SECONDS = 300.0


def unique_refs(targets: Sequence[Target]) -> list[str]:
    return list(dict.fromkeys(t.ref for t in targets))


def describe(rec: Mapping[str, Any], now: float) -> str:
    """One line about one batch: ``msgbatch_...: in_progress, 4 requests, expires in 23h 59m``."""
    status = rec.get("processing_status")
    if is_ended(rec):
        return f"{rec['id']}: ended: {counts_text(rec)}"
    total = sum(counts(rec).values())
    expires = expires_text(rec, now)
    return f"{rec['id']}: {status}, {total} requests" + (f", expires {expires}" if expires else "")


class PlainView:
    """Off a terminal: a line per change, a heartbeat every HEARTBEAT_SECONDS of wall time."""

    def __init__(self, actx: AppContext, targets: Sequence[Target]) -> None:
        self.actx = actx
        self.count = len(targets)
        self.start = self.last = actx.clock.time()
        self.feeds = FeedNotes()

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def _line(self, text: str, now: float | None = None) -> None:
        now = self.actx.clock.time() if now is None else now
        output.info(self.actx, f"[{human_duration(now - self.start)}] {text}")
        self.last = now

    def change(self, rec: Mapping[str, Any], previous: Mapping[str, Any] | None) -> None:
        self._line(describe(rec, self.actx.clock.time()))

    def tick(self, records: Sequence[Mapping[str, Any]], now: float) -> None:
        if now - self.last >= HEARTBEAT_SECONDS:
            ended = sum(is_ended(r) for r in records)
            self._line(f"still waiting: {ended} of {batches_text(len(records))} ended", now)

    def error(self, exc: Exception) -> None:
        self._line(f"{unavailable_text(exc)}: {exc}")

    def feed(self, fed: FeedResult) -> None:
        for line in self.feeds.lines(fed, self.actx.clock.time()):
            self._line(line)


class RichView:
    """On a terminal: live progress bars on stderr."""

    def __init__(
        self, actx: AppContext, targets: Sequence[Target], jobs: Sequence[str] = ()
    ) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        self.actx = actx
        clock = actx.clock
        self.count = len(targets)
        self.progress = Progress(
            SpinnerColumn(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]}"),
            TextColumn("{task.fields[status]}"),
            _TimeColumn(clock),
            console=actx.err,
            get_time=clock.time,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        fields: dict[str, Any] = {"done": "", "status": "[dim]asking[/]", "since": None,
                                  "until": None, "expires": None}
        self.tasks = {t.id: self.progress.add_task(t.id, total=None, **fields) for t in targets}
        self.overall = None
        self.feeds = FeedNotes()
        if self.count > 1 or jobs:
            refs = unique_refs(targets) or list(jobs)
            label = refs[0] if len(refs) == 1 else "all"
            self.overall = self.progress.add_task(
                f"[bold]{label}[/]",
                total=self.count,
                **{**fields, "done": f"0 of {batches_text(self.count)} ended", "status": "",
                   "since": clock.time()},
            )

    def __enter__(self) -> RichView:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def change(self, rec: Mapping[str, Any], previous: Mapping[str, Any] | None) -> None:
        if rec["id"] not in self.tasks:  # a part just sent
            self.tasks[rec["id"]] = self.progress.add_task(
                rec["id"], total=None, done="", status="", since=None, until=None, expires=None
            )
        c = counts(rec)
        total = sum(c.values())
        done = total - c["processing"]
        ended = is_ended(rec)
        status = str(rec.get("processing_status"))
        self.progress.update(
            self.tasks[rec["id"]],
            total=max(total, 1),
            completed=done if total else 1,
            done=f"{done}/{total}",
            status=f"[green]{status}[/]" if ended else status,
            since=parse_ts(rec.get("created_at")),
            until=parse_ts(rec.get("ended_at")),
            expires=None if ended else parse_ts(rec.get("expires_at")),
        )
        if ended:
            self.progress.console.print(f"[green]✓[/] {rec['id']} ended: {counts_text(rec)}")

    def tick(self, records: Sequence[Mapping[str, Any]], now: float) -> None:
        if self.overall is not None:
            ended = sum(is_ended(r) for r in records)
            self.progress.update(
                self.overall, completed=ended, total=max(len(records), 1),
                done=f"{ended} of {batches_text(len(records))} ended",
            )
        self.progress.refresh()

    def error(self, exc: Exception) -> None:
        from rich.markup import escape

        self.progress.console.print(
            f"[yellow]warning:[/] {unavailable_text(exc)}: {escape(str(exc))}"
        )

    def feed(self, fed: FeedResult) -> None:
        from rich.markup import escape

        for line in self.feeds.lines(fed, self.actx.clock.time()):
            self.progress.console.print(escape(line))


def _TimeColumn(clock: Any) -> Any:  # noqa: N802 - a factory: rich is imported only when used
    from rich.progress import ProgressColumn
    from rich.text import Text

    class TimeColumn(ProgressColumn):
        """Time since the batch was created (frozen once ended) and time left before expiry."""

        def render(self, task: Any) -> Text:
            now = clock.time()
            since, until, expires = (task.fields.get(k) for k in ("since", "until", "expires"))
            parts = []
            if since is not None:
                parts.append(human_duration((until or now) - since))
            if expires is not None:
                parts.append(f"expires in {human_duration(expires - now)}")
            return Text(", ".join(parts), style="progress.elapsed")

    return TimeColumn()


def make_view(
    actx: AppContext, targets: Sequence[Target], jobs: Sequence[str] = ()
) -> PlainView | RichView:
    return RichView(actx, targets, jobs) if actx.stderr_tty else PlainView(actx, targets)


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
                       f"({row['request_count']:,} requests)")
        state = (len(fed.pending), fed.reason)
        if fed.pending and self.last.get(fed.job_id) != state:
            out.append(feed_summary(fed, now))
        self.last[fed.job_id] = state
        return out


def feed_summary(fed: FeedResult, now: float) -> str:
    """``job_x: 3 of 10 parts pending: the API's processing queue is full (...)``."""
    from batchctl.core.jobs.feed import held_lines

    head = held_lines(fed.job_id, fed.pending, fed.reason, fed.retry_at, now)[0]
    return head.replace(" not sent yet: ", " pending: ", 1)


def watch(
    actx: AppContext,
    targets: Sequence[Target],
    *,
    jobs: Sequence[str] = (),
    interval: float | None = None,
    timeout: float | None = None,
    fetch_hint: bool = True,
) -> tuple[list[dict[str, Any]], bool]:
    """Wait for ``targets`` with the display that suits stderr, then print the summary.

    Returns the final records and whether every batch ended. The pending parts of ``jobs`` are
    sent as the processing queue drains, and waited for too. Ctrl-C raises Interrupted (exit
    130) naming the command that resumes. Used by `wait` and `run`.
    """
    from batchctl.core.errors import Interrupted
    from batchctl.core.jobs.waiting import wait_for

    clock = actx.clock
    start = clock.time()
    view = make_view(actx, targets, jobs)
    try:
        with view:
            records = wait_for(
                actx.api(),
                actx.store(),
                targets,
                clock=clock,
                interval=interval,
                timeout=timeout,
                on_change=view.change,
                on_tick=view.tick,
                on_error=view.error,
                on_feed=view.feed,
                jobs=jobs,
                notify=output.notifier(actx),
            )
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; the batches keep running on the server",
            next_steps=[resume_step(targets, jobs)],
        ) from None
    elapsed = clock.time() - start
    return records, print_summary(actx, records, targets, elapsed, fetch_hint=fetch_hint,
                                  jobs=jobs)


def resume_step(targets: Sequence[Target], jobs: Sequence[str] = ()) -> NextStep:
    return NextStep("resume with", "wait", tuple(dict.fromkeys([*unique_refs(targets), *jobs])))


def print_summary(
    actx: AppContext,
    records: Sequence[Mapping[str, Any]],
    targets: Sequence[Target],
    elapsed: float,
    *,
    fetch_hint: bool = True,
    jobs: Sequence[str] = (),
) -> bool:
    """The final summary (stderr, always) and the command that fetches the results (unless
    ``fetch_hint`` is off: `run` fetches them itself); returns whether every batch ended."""
    pending = sum(r.get("processing_status") == "pending" for r in records)
    sent = [r for r in records if r.get("processing_status") != "pending"]
    t = totals(sent)
    detail = ", ".join(f"{t[k]} {k}" for k in ("succeeded", "errored", "canceled", "expired"))
    took = human_duration(elapsed)
    refs = list(dict.fromkeys([*unique_refs(targets), *jobs]))
    if t["ended"] == len(sent) and not pending:
        ended = f"{t['ended']} of {batches_text(len(sent))} ended"
        output.success(actx, f"{ended} after {took}: {detail}")
        archived = [r for r in records if r.get("archived_at")]
        for rec in archived if fetch_hint else ():  # (`run` says it when it fetches them)
            output.warn(actx, archived_text(str(rec["id"]), rec["archived_at"]))
        if len(archived) == len(records):
            return True  # nothing left to fetch or retry: no hint to either
        for ref in refs if fetch_hint else ():
            output.suggest(actx, NextStep("fetch the results", "results", (ref,)))
        if t["errored"] + t["expired"] + t["canceled"]:
            from batchctl.core.jobs.advice import retry_steps

            for step in retry_steps(actx.api(), targets, records):
                output.suggest(actx, step)
        return True
    left = f"; {pending} part{'s' * (pending != 1)} not sent yet" if pending else ""
    output.info(actx, f"{t['ended']} of {batches_text(len(sent))} ended after {took}{left}")
    return False

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
from typing import Any

from batchctl.cli import output
from batchctl.cli.batchview import counts_text, expires_text
from batchctl.cli.context import AppContext
from batchctl.core.errors import NextStep
from batchctl.core.jobs.lifecycle import Target, batches_text, counts, is_ended, totals
from batchctl.core.times import human_duration, parse_ts

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
            self._line(f"still waiting: {ended} of {batches_text(self.count)} ended", now)

    def error(self, exc: Exception) -> None:
        self._line(f"the API is unavailable, still trying: {exc}")


class RichView:
    """On a terminal: live progress bars on stderr."""

    def __init__(self, actx: AppContext, targets: Sequence[Target]) -> None:
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
        if self.count > 1:
            refs = unique_refs(targets)
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
                self.overall, completed=ended, done=f"{ended} of {batches_text(self.count)} ended"
            )
        self.progress.refresh()

    def error(self, exc: Exception) -> None:
        self.progress.console.print(
            f"[yellow]warning:[/] the API is unavailable, still trying: {exc}"
        )


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


def make_view(actx: AppContext, targets: Sequence[Target]) -> PlainView | RichView:
    return RichView(actx, targets) if actx.stderr_tty else PlainView(actx, targets)


def watch(
    actx: AppContext,
    targets: Sequence[Target],
    *,
    interval: float | None = None,
    timeout: float | None = None,
    fetch_hint: bool = True,
) -> tuple[list[dict[str, Any]], bool]:
    """Wait for ``targets`` with the display that suits stderr, then print the summary.

    Returns the final records and whether every batch ended. Ctrl-C raises Interrupted (exit
    130) naming the command that resumes. Used by `wait` and `run`.
    """
    from batchctl.core.errors import Interrupted
    from batchctl.core.jobs.waiting import wait_for

    clock = actx.clock
    start = clock.time()
    view = make_view(actx, targets)
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
            )
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; the batches keep running on the server",
            next_steps=[resume_step(targets)],
        ) from None
    elapsed = clock.time() - start
    return records, print_summary(actx, records, targets, elapsed, fetch_hint=fetch_hint)


def resume_step(targets: Sequence[Target]) -> NextStep:
    return NextStep("resume with", "wait", tuple(unique_refs(targets)))


def print_summary(
    actx: AppContext,
    records: Sequence[Mapping[str, Any]],
    targets: Sequence[Target],
    elapsed: float,
    *,
    fetch_hint: bool = True,
) -> bool:
    """The final summary (stderr, always) and the command that fetches the results (unless
    ``fetch_hint`` is off: `run` fetches them itself); returns whether every batch ended."""
    t = totals(records)
    detail = ", ".join(f"{t[k]} {k}" for k in ("succeeded", "errored", "canceled", "expired"))
    took = human_duration(elapsed)
    refs = unique_refs(targets)
    if t["ended"] == len(targets):
        ended = f"{t['ended']} of {batches_text(len(targets))} ended"
        output.success(actx, f"{ended} after {took}: {detail}")
        for ref in refs if fetch_hint else ():
            output.suggest(actx, NextStep("fetch the results", "results", (ref,)))
        if t["errored"] + t["expired"] + t["canceled"]:
            from batchctl.core.jobs.advice import retry_steps

            for step in retry_steps(actx.api(), targets, records):
                output.suggest(actx, step)
        return True
    output.info(actx, f"{t['ended']} of {batches_text(len(targets))} ended after {took}")
    return False

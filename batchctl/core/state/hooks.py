"""Hook runs (table ``hook_runs``): for each subject (a batch collect wrote, a job whose batches
ended) and hook command (by its sha256), whether the hook is due, failed or succeeded.

A hook is run under a lock that dies with its process (``batchctl.core.state.db``), taken before
the row is read again: of two overlapping runs only one starts the command, and none starts one
that succeeded. A run killed before it recorded the end leaves the row due, so the hook runs
again next time: a succeeded hook never runs twice; an interrupted one may.

A failed attempt records what running it again takes (``Rerun``: the command's text, the
command that ran it, the API, the subject's details), so that the next `collect` runs it
whatever it was given; that is cleared when the hook succeeds (the text of a command is kept
only while it has a failure to run again: README "Hooks").
"""

from __future__ import annotations

from dataclasses import dataclass

from batchctl.core.state.db import Row
from batchctl.core.state.records import Records

COLLECT = "collect"  # subject: a batch id; the hook of `collect --exec`
END = "end"  # subject: a job id (or an untracked batch's id); the hook of `wait`/`run --on-end`
DUE, FAILED, SUCCEEDED = "due", "failed", "succeeded"


@dataclass(frozen=True)
class Rerun:
    """What a failed hook is run again from: ``command`` its text, ``trigger`` the command that
    ran it (collect, wait, run), ``base_url`` the API of its subject, ``details`` the subject's
    ids, label, counts and results path (JSON text)."""

    command: str
    trigger: str
    base_url: str | None
    details: str


def hook_lock(kind: str, subject: str, hook: str) -> str:
    return f"hook:{kind}:{subject}:{hook}"


class HookRecords(Records):
    def hook_due(self, kind: str, subject: str, hook: str) -> None:
        """Record that ``hook`` is to run for ``subject`` (nothing if it is recorded already)."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO hook_runs (kind, subject, hook, state, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, subject, hook) DO NOTHING",
                (kind, subject, hook, DUE, self.clock.time()),
            )

    def hook_run(self, kind: str, subject: str, hook: str) -> Row | None:
        return self._one("SELECT * FROM hook_runs WHERE kind = ? AND subject = ? AND hook = ?",
                         (kind, subject, hook))

    def collected_hooks_due(self, hook: str, *, base_url: str) -> list[Row]:
        """The batches of this API whose results collect wrote and whose ``hook`` has not
        succeeded (due, or failed before), oldest collected first: the batch rows."""
        return self._query(
            "SELECT b.* FROM hook_runs h JOIN batches b ON b.id = h.subject "
            "WHERE h.kind = ? AND h.hook = ? AND h.state != ? AND b.base_url = ? "
            "AND b.collected_at IS NOT NULL AND b.results_path IS NOT NULL "
            "ORDER BY b.collected_at, b.submitted_at, b.rowid",
            (COLLECT, hook, SUCCEEDED, base_url),
        )

    def failed_hooks(self, *, base_url: str) -> list[Row]:
        """The hooks of this API whose last attempt failed and that recorded how to run them
        again (``Rerun``), the earliest failure first."""
        return self._query(
            "SELECT * FROM hook_runs WHERE state = ? AND command IS NOT NULL AND base_url = ? "
            "ORDER BY updated_at, kind, subject, hook",
            (FAILED, base_url),
        )

    def start_hook(self, kind: str, subject: str, hook: str) -> int | None:
        """Take ``hook`` for ``subject``: the attempt it is about to be (1 the first time), or
        None when another process is running it or it succeeded already. Hold it until
        ``end_hook``; the hold dies with the process."""
        key = hook_lock(kind, subject, hook)
        if not self.db.try_hold(key):
            return None
        try:
            self.hook_due(kind, subject, hook)
            row = self.hook_run(kind, subject, hook)
        except BaseException:
            self.db.unhold(key)
            raise
        if row is None or row["state"] == SUCCEEDED:
            self.db.unhold(key)
            return None
        return int(row["attempts"]) + 1

    def end_hook(
        self, kind: str, subject: str, hook: str, *, exit_code: int | None,
        rerun: Rerun | None = None,
    ) -> None:
        """Record how the attempt ``start_hook`` began ended, and let go of the hook: it
        failed when ``rerun`` (what running it again takes) is given, else it succeeded (and
        what a failure recorded before is cleared)."""
        state = SUCCEEDED if rerun is None else FAILED
        again = (None, None, None, None) if rerun is None else (
            rerun.command, rerun.trigger, rerun.base_url, rerun.details)
        try:
            with self.transaction() as tx:
                tx.execute(
                    "UPDATE hook_runs SET state = ?, attempts = attempts + 1, exit_code = ?, "
                    "updated_at = ?, command = ?, trigger = ?, base_url = ?, details = ? "
                    "WHERE kind = ? AND subject = ? AND hook = ?",
                    (state, exit_code, self.clock.time(), *again, kind, subject, hook),
                )
        finally:
            self.db.unhold(hook_lock(kind, subject, hook))

    def drop_hook(self, kind: str, subject: str, hook: str) -> None:
        """Let go of a hook ``start_hook`` took, recording nothing: it runs again next time."""
        self.db.unhold(hook_lock(kind, subject, hook))

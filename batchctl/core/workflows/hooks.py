"""Hooks: a command of the user's, run when results land (`collect`) or a job ends (`wait`, `run`).

The command is a shell string run as ``/bin/sh -c COMMAND`` (as git runs ``core.editor`` and
``find -exec sh -c`` is used), so pipes and ``&&`` work. What it is run for reaches it only
through its environment (``hook_env``: ``BATCHCTL_BATCH_ID``, ``BATCHCTL_RESULTS_PATH``, the
status and the counts...), never pasted into the command line: a server's id goes through no
shell, and is checked against the documented id shape before it is put in the environment at
all. Its stdin is /dev/null (no prompt can hang a cron job); its stdout and stderr come back to
the caller line by line (``HookOutput``), which shows them on stderr, so the caller's stdout
stays what it promises. batchctl waits for the command to end, not for the background
processes it starts (``hook_output``: they may hold its stdout open long after).

Each run is recorded in the state store (``batchctl.core.state.hooks``): a hook that succeeded
never runs again for the same subject, not even from two overlapping runs (the store's lock,
taken before the record is read). One that failed records its command and what it was given,
and the next `collect` (``collect_hooks``), with or without ``--exec``, runs it again from
that record: the same environment, the same results file, no second download (the same
`collect --exec`, `wait` or `run` runs it again too). One killed before its end was recorded
runs again when the same command is run again.

`wait` runs a job's hook as soon as the round that saw its last batch end is over
(``as_jobs_end``), not when the whole wait is.
"""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from batchctl.core.api.untrusted import BATCH_ID
from batchctl.core.errors import HookFailedError
from batchctl.core.events import Event, Events, Polled
from batchctl.core.flags import Flags
from batchctl.core.state.hooks import COLLECT, END, Rerun
from batchctl.core.state.hooks import FAILED as FAILED_RUN
from batchctl.core.state.hooks import SUCCEEDED as SUCCEEDED_RUN
from batchctl.core.state.jobs import JOB_PREFIX
from batchctl.core.tracking.lifecycle import COUNT_KEYS, FAILED_KEYS, counts, is_ended, local_record
from batchctl.core.workflows.hook_output import read_lines

if TYPE_CHECKING:
    from batchctl.core.state.db import Row
    from batchctl.core.state.store import Store
    from batchctl.core.tracking.lifecycle import Target

R = TypeVar("R")

SHELL = "/bin/sh"
JOB_ID = re.compile(r"job_[0-9a-f]{1,64}")
PREFIX = "BATCHCTL_"
#: Status words of ``BATCHCTL_STATUS``: every request succeeded, or some did not.
SUCCEEDED, FAILED = "succeeded", "failed"
#: sh's own exit statuses for a command it could not run (POSIX, "Command Search and Execution").
NOT_RUNNABLE = {126: "it is not executable", 127: "it was not found"}
#: The option each command takes its hook by (a key of ``Flags``), to name it in messages.
FLAG_OF = {"collect": "exec", "wait": "on_end", "run": "on_end"}


@dataclass(frozen=True)
class Hook:
    """A hook command: ``command`` (a shell string), ``trigger`` the command that runs it
    (``BATCHCTL_HOOK``: collect, wait, run), ``flag`` how the caller names the option it was
    given by (for messages), ``inherited`` the environment it inherits (the caller's)."""

    command: str
    trigger: str
    flag: str
    inherited: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        """What the store records the hook by: the command's sha256 (the text may hold a secret)."""
        return hashlib.sha256(self.command.encode()).hexdigest()


@dataclass(frozen=True)
class CollectHooks:
    """The hooks of a `collect`: ``exec`` its --exec (None: none), ``inherited`` the environment
    the failed hooks it runs again inherit (the caller's)."""

    exec: Hook | None = None
    inherited: Mapping[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Subject:
    """What a hook runs for: a batch collect wrote (``kind`` COLLECT), or a job whose batches
    all ended (``kind`` END; an untracked batch is a job of its own, with no ``job_id``)."""

    kind: str
    id: str
    job_id: str | None
    batch_ids: tuple[str, ...]
    label: str | None
    counts: Mapping[str, int]
    results_path: str | None = None
    base_url: str | None = None  # the API it belongs to: a failure is run again for it

    def details(self) -> str:
        """What a failed hook is run again with (``recorded``): all but kind, id and API."""
        return orjson.dumps({"job_id": self.job_id, "batch_ids": list(self.batch_ids),
                             "label": self.label, "counts": dict(self.counts),
                             "results_path": self.results_path}).decode()


@dataclass(frozen=True)
class HookOutput(Event):
    """A line the hook for ``subject`` printed (stdout or stderr), its end of line removed."""

    subject: str
    line: str


@dataclass(frozen=True)
class HookRan(Event):
    """A hook's attempt for ``subject`` is over: ``exit_code`` 0 is success; ``error`` says
    how it failed (a status, a signal, it could not be started, the subject was refused);
    ``trigger``, ``job_id``, ``results_path``: the hook's command and what it was given."""

    subject: str
    attempt: int
    exit_code: int | None
    error: HookFailedError | None = None
    trigger: str = ""
    job_id: str | None = None
    results_path: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        """Its JSON record (README "collect"): the same keys every time, null where none."""
        return {
            "id": self.subject,
            "action": "hook",
            "hook": self.trigger,
            "job_id": self.job_id,
            "path": self.results_path or None,
            "attempt": self.attempt,
            "state": SUCCEEDED_RUN if self.ok else FAILED_RUN,
            "exit_code": self.exit_code,
            "error": None if self.error is None else self.error.message,
        }


@dataclass(frozen=True)
class HookSkipped(Event):
    """The hook was not run for ``subject``: it succeeded before, or (``succeeded_before``
    False) another process is running it."""

    subject: str
    succeeded_before: bool


# -- the subjects ------------------------------------------------------------------------------
def collected(row: Mapping[str, Any]) -> Subject:
    """A batch whose results collect wrote (its store row)."""
    return Subject(COLLECT, str(row["id"]), row.get("job_id"), (str(row["id"]),),
                   row.get("label"), counts(row), row.get("results_path"), row.get("base_url"))


def ended_jobs(
    store: Store, targets: Sequence[Target], jobs: Sequence[str],
    records: Iterable[Mapping[str, Any]], *, base_url: str, results_path: str | None = None,
) -> list[Subject]:
    """The jobs of ``targets`` and ``jobs`` (of the API at ``base_url``) whose batches have all
    ended and whose parts were all sent (an untracked batch: itself, once ended), in order,
    with the latest ``records`` of their batches (the store's where the wait saw none)."""
    latest = {r["id"]: r for r in records if r.get("id")}
    out: list[Subject] = []
    keys = [(t.row or {}).get("job_id") or t.id for t in targets]
    for key in dict.fromkeys([*keys, *jobs]):
        if not key.startswith(JOB_PREFIX):
            rec = latest.get(key)
            if rec is not None and is_ended(rec):
                out.append(Subject(END, key, None, (key,), None, counts(rec), results_path,
                                   base_url))
            continue
        rows = store.job_batches(key)
        recs = [latest.get(r["id"]) or local_record(r) for r in rows]
        sent = all(p.get("batch_id") for p in store.job_parts(key))
        if recs and sent and all(is_ended(r) for r in recs):
            total = {k: sum(counts(r)[k] for r in recs) for k in COUNT_KEYS}
            out.append(Subject(END, key, key, tuple(r["id"] for r in rows),
                               rows[0].get("label"), total, results_path, base_url))
    return out


def hook_env(hook: Hook, subject: Subject, attempt: int) -> dict[str, str]:
    """The hook's environment: the inherited one, with the BATCHCTL_* variables of the README's
    list set (an empty value where one does not apply). Raises HookFailedError if an id is not
    of the shape batchctl makes or the API documents: it is not put in any environment."""
    for batch_id in subject.batch_ids:
        if not BATCH_ID.fullmatch(batch_id):
            raise _refused(hook, "batch id", batch_id)
    if subject.job_id is not None and not JOB_ID.fullmatch(subject.job_id):
        raise _refused(hook, "job id", subject.job_id)
    n = {key: max(int(subject.counts.get(key) or 0), 0) for key in COUNT_KEYS}
    ours = {
        "HOOK": hook.trigger,
        "ATTEMPT": str(attempt),
        "BATCH_ID": subject.id if subject.kind == COLLECT else "",
        "BATCH_IDS": " ".join(subject.batch_ids),
        "JOB_ID": subject.job_id or "",
        "LABEL": subject.label or "",
        "RESULTS_PATH": subject.results_path or "",
        "STATUS": FAILED if any(n[k] for k in FAILED_KEYS) else SUCCEEDED,
        "REQUESTS": str(sum(n[k] for k in COUNT_KEYS if k != "processing")),
        **{key.upper(): str(n[key]) for key in COUNT_KEYS if key != "processing"},
    }
    return {**hook.inherited, **{PREFIX + k: v.replace("\0", "") for k, v in ours.items()}}


def _refused(hook: Hook, what: str, value: str) -> HookFailedError:
    from batchctl.core.api.untrusted import printable

    return HookFailedError(f"the {hook.flag} hook was not run: {printable(value)} is not a "
                           f"{what} batchctl accepts")


def recorded(row: Row, flags: Flags, inherited: Mapping[str, str]) -> tuple[Hook, Subject]:
    """A failed hook (a row of ``Store.failed_hooks``) as it was run: its command, for the
    same subject with the same details, inheriting ``inherited`` (the caller's environment);
    ``flags``: how the caller names the option of the command that first ran it."""
    details = orjson.loads(row["details"])
    trigger = str(row["trigger"])
    hook = Hook(str(row["command"]), trigger, flags[FLAG_OF.get(trigger, "exec")], inherited)
    return hook, Subject(str(row["kind"]), str(row["subject"]), details.get("job_id"),
                         tuple(details.get("batch_ids") or ()), details.get("label"),
                         details.get("counts") or {}, details.get("results_path"),
                         row.get("base_url"))


# -- running ----------------------------------------------------------------------------------
def run_hooks(store: Store, hook: Hook, subjects: Iterable[Subject]) -> Events[list[HookRan]]:
    """``run_hook`` for each subject in turn; the attempts made."""
    return (yield from _run_each(store, [(hook, subject) for subject in subjects]))


def collect_hooks(
    store: Store, hooks: CollectHooks, *, base_url: str, flags: Flags,
) -> Events[list[HookRan]]:
    """The hooks a `collect` runs, once each: its --exec for every batch collected with it
    whose hook has not succeeded, then every other hook of the API at ``base_url`` whose last
    attempt failed, by its recorded command (``recorded``: no download, the file written
    before). The failures are read before any hook runs, so one that fails now waits for the
    next collect; the attempts made."""
    hook = hooks.exec
    todo = [] if hook is None else [
        (hook, collected(row)) for row in store.collected_hooks_due(hook.key, base_url=base_url)]
    taken = {(subject.kind, subject.id, h.key) for h, subject in todo}
    for row in store.failed_hooks(base_url=base_url):
        if (row["kind"], row["subject"], row["hook"]) not in taken:
            todo.append(recorded(row, flags, hooks.inherited))
    return (yield from _run_each(store, todo))


def as_jobs_end(
    store: Store, hook: Hook, targets: Sequence[Target], jobs: Sequence[str],
    polling: Events[R], *, base_url: str,
) -> Events[R]:
    """A wait's ``polling`` (``waiting.wait_for``), passed on event by event, with ``hook``
    run for each job (``ended_jobs``) as soon as the round that saw its end is over (its
    ``Polled``): the first job to end does not wait for the last. Once per job."""
    done: set[str] = set()
    while True:
        try:
            event = next(polling)
        except StopIteration as stop:
            return stop.value
        yield event
        if isinstance(event, Polled):
            ended = [subject for subject in
                     ended_jobs(store, targets, jobs, event.records, base_url=base_url)
                     if subject.id not in done]
            done.update(subject.id for subject in ended)
            yield from run_hooks(store, hook, ended)


def _run_each(store: Store, todo: Sequence[tuple[Hook, Subject]]) -> Events[list[HookRan]]:
    ran = []
    for hook, subject in todo:
        attempt = yield from run_hook(store, hook, subject)
        if attempt is not None:
            ran.append(attempt)
    return ran


def run_hook(store: Store, hook: Hook, subject: Subject) -> Events[HookRan | None]:
    """Run ``hook`` for ``subject`` unless it succeeded before or another process runs it
    (``HookSkipped``), yielding each line it prints, then ``HookRan``; returns that."""
    attempt = store.start_hook(subject.kind, subject.id, hook.key)
    if attempt is None:
        row = store.hook_run(subject.kind, subject.id, hook.key)
        yield HookSkipped(subject.id, row is not None and row["state"] == SUCCEEDED_RUN)
        return None
    ended = False
    code: int | None = None
    error: HookFailedError | None = None
    try:
        try:
            env = hook_env(hook, subject, attempt)
        except HookFailedError as exc:
            error = exc
        else:
            code, error = yield from _execute(hook, subject, env)
        rerun = None if error is None else Rerun(hook.command, hook.trigger, subject.base_url,
                                                 subject.details())
        ended = True  # end_hook lets go of it, whatever happens
        store.end_hook(subject.kind, subject.id, hook.key, exit_code=code, rerun=rerun)
    finally:
        if not ended:  # interrupted: it runs again next time
            store.drop_hook(subject.kind, subject.id, hook.key)
    ran = HookRan(subject.id, attempt, code, error, hook.trigger, subject.job_id,
                  subject.results_path)
    yield ran
    return ran


def _execute(
    hook: Hook, subject: Subject, env: dict[str, str]
) -> Events[tuple[int | None, HookFailedError | None]]:
    """Run the command to its end: (its exit status, the error if it failed)."""
    what = f"the {hook.flag} hook for {subject.id}"
    try:
        proc = subprocess.Popen(  # the user's own command, run as they asked
            [SHELL, "-c", hook.command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, close_fds=True,
        )
    except OSError as exc:
        return None, HookFailedError(f"{what} could not be started: {exc.strerror or exc}")
    try:
        for raw in read_lines(proc):  # not waiting for its background processes
            yield HookOutput(subject.id, raw.decode("utf-8", "replace").rstrip("\r"))
        code = proc.wait()
    except BaseException:  # Ctrl-C, or the caller stopped: the hook does not outlive batchctl
        proc.kill()
        proc.wait()
        raise
    if code == 0:
        return 0, None
    if code < 0:
        name = _signal_name(-code)
        return 128 - code, HookFailedError(f"{what} was killed by signal {-code} ({name})")
    why = f": {NOT_RUNNABLE[code]}" if code in NOT_RUNNABLE else ""
    return code, HookFailedError(f"{what} exited with status {code}{why}")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"

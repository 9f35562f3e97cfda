"""`collect`, for cron: download the results of every tracked batch that has ended.

For each batch of the current API that the store tracks and has not collected: refresh it; if it
has ended, claim it in the store (inside a write transaction), write its results to
``<label-or-job>-<batch id>.<jsonl|csv>`` in the results folder (atomically, through the
results export, which marks it collected), then release the claim. A second run finds nothing
left to do; two runs that overlap never download the same batch twice, because a batch claimed
by a live process is skipped. A claim whose process is gone (same host) or that is older than
``CLAIM_TIMEOUT`` may be taken over, so a killed run does not block the next one.

Each batch's outcome is yielded as it happens (with the notes and progress of its download);
a failure is reported and the others go on. With a hook (`--exec`), a batch is marked as due for
it when claimed. Once the downloads and the feed of pending parts are done, the hooks run
(``hooks.collect_hooks``): the --exec one for every batch collected with it whose hook has not
succeeded yet (the ones just written, and those whose hook failed before), then, with or
without --exec, every other hook of this API whose last attempt failed (a `wait` or `run`
--on-end, another --exec), by its recorded command; from the recorded file, no second
download (batchctl.core.workflows.hooks).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchctl.core.clock import Clock
from batchctl.core.errors import BatchctlError, UsageError
from batchctl.core.events import Event, Events
from batchctl.core.flags import KEYS, Flags
from batchctl.core.state.hooks import COLLECT as COLLECT_HOOK
from batchctl.core.state.store import Store
from batchctl.core.times import parse_ts
from batchctl.core.tracking.lifecycle import Target, counts, is_ended, refresh, tracked_targets

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.deps import Deps
    from batchctl.core.workflows.hooks import CollectHooks

CLAIM_TIMEOUT = 3600.0  # a claim older than this is stale even if its process may still run
RESULTS_DIR = "results"  # under the state directory, by default

COLLECTED = "collected"  # results written to ``path``
RUNNING = "running"  # not ended yet: next time
BUSY = "busy"  # another collect holds it (or collected it meanwhile)
ARCHIVED = "archived"  # ended, but its results were archived before they were collected
FAILED = "failed"  # an error; ``error`` says which; tried again next time
SENT = "sent"  # a pending part of a job, sent now that the processing queue has room
PENDING = "pending"  # ``id`` is a job with parts still not sent (``results``: how many)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class CollectOutcome(Event):
    """What collect did with one batch (yielded as it happens)."""

    id: str
    action: str
    job_id: str | None = None
    label: str | None = None
    processing_status: str | None = None
    request_counts: dict[str, int] = field(default_factory=dict)
    path: str | None = None
    results: int | None = None
    error: BatchctlError | None = None
    summary: dict[str, Any] | None = None  # the results summary of a collected batch
    archived_at: str | None = None  # ARCHIVED: when the API archived its results

    def as_dict(self) -> dict[str, Any]:
        out = {
            "id": self.id,
            "action": self.action,
            "job_id": self.job_id,
            "label": self.label,
            "processing_status": self.processing_status,
            "request_counts": self.request_counts,
            "path": self.path,
            "results": self.results,
        }
        if self.error is not None:
            out["error"] = self.error.message
            out["exit_code"] = self.error.exit_code
        return out


def default_dir(state_dir: Path) -> Path:
    return Path(state_dir) / RESULTS_DIR


def file_name(row: dict[str, Any], fmt: str) -> str:
    """``<label-or-job>-<batch id>.<fmt>``, the label made safe for a file name."""
    base = _UNSAFE.sub("_", row.get("label") or "").strip("._")[:80] or row["job_id"]
    return f"{base}-{row['id']}.{fmt}"


def new_owner() -> str:
    """Who holds a claim: ``host:pid:token``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. EPERM: it exists, under another user
        return True
    return True


def stale_check(now: float, *, timeout: float = CLAIM_TIMEOUT) -> Callable[[dict[str, Any]], bool]:
    """Whether a claim row may be taken over: too old, or its process (on this host) is gone."""
    host = socket.gethostname()

    def is_stale(claim: dict[str, Any]) -> bool:
        if now - float(claim["claimed_at"]) > timeout:
            return True
        owner_host, _, rest = str(claim["owner"]).partition(":")
        pid_text = rest.partition(":")[0]
        if owner_host == host and pid_text.isdigit():
            return not _alive(int(pid_text))
        return False

    return is_stale


def prepare_dir(directory: Path, *, private: bool) -> Path:
    """Create the results folder (0700 when it is batchctl's own); a usage error if it cannot."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700 if private else 0o777)
    except OSError as exc:
        raise UsageError(f"cannot create the results folder {directory}: {exc.strerror}") from None
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    return directory


@dataclass
class Collection:
    """A `collect` under way: the folder it writes to, and its events as they come: each
    batch's ``CollectOutcome``, the notes and progress of each download."""

    folder: Path
    events: Events[None]


def collect_all(
    deps: Deps, *, directory: Path | None, state_dir: Path, fmt: str, flags: Flags = KEYS,
    hooks: CollectHooks | None = None,
) -> Collection:
    """`batchctl collect`: the folder made first (``directory``, else results/ in the state
    directory, private to the user), then ``collect`` into it, outcome by outcome (``flags``:
    how the caller names the options its messages mention), with ``hooks`` run as they say."""
    folder = prepare_dir(directory or default_dir(state_dir), private=directory is None)
    return Collection(folder, collect(deps.api(), deps.store(), directory=folder, fmt=fmt,
                                      clock=deps.clock, flags=flags, hooks=hooks))


def collect(
    api: Api, store: Store, *, directory: Path, fmt: str, clock: Clock, owner: str | None = None,
    flags: Flags = KEYS, hooks: CollectHooks | None = None,
) -> Events[None]:
    """Collect every tracked, uncollected batch of ``api`` that has ended (see the module)."""
    from batchctl.core.results import export as results  # deferred: the results stack is only needed here

    owner = owner or new_owner()
    options = results.Options(format=fmt, flags=flags)
    # Oldest first: the batches nearest to being archived are saved first.
    for target in reversed(tracked_targets(store, base_url=api.base_url)):
        row = target.row or {}
        outcome = CollectOutcome(target.id, RUNNING, job_id=row.get("job_id"), label=row.get("label"))
        try:
            rec = refresh(api, store, target, clock.time())
        except BatchctlError as exc:
            outcome.action, outcome.error = FAILED, exc
            yield outcome
            continue
        outcome.processing_status = rec.get("processing_status")
        outcome.request_counts = counts(rec)
        if not is_ended(rec):
            yield outcome
            continue
        archived = parse_ts(rec.get("archived_at"))
        if archived is not None and archived <= clock.time():
            # Nothing can be downloaded any more: stop tracking it for collect, say so once.
            store.mark_collected(target.id, None)
            outcome.action, outcome.archived_at = ARCHIVED, rec.get("archived_at")
            yield outcome
            continue
        if not store.claim(target.id, owner, is_stale=stale_check(clock.time())):
            outcome.action = BUSY
            yield outcome
            continue
        if hooks is not None and hooks.exec is not None:
            store.hook_due(COLLECT_HOOK, target.id, hooks.exec.key)
        yield (yield from _download(api, store, target, outcome, options, directory, owner))
    yield from feed_pending(api, store, clock=clock, flags=flags)
    from batchctl.core.workflows.hooks import CollectHooks, collect_hooks

    yield from collect_hooks(store, hooks or CollectHooks(), base_url=api.base_url, flags=flags)


def feed_pending(api: Api, store: Store, *, clock: Clock, flags: Flags = KEYS) -> Events[None]:
    """Send what the processing queue has room for of every job with parts not sent yet
    (batchctl.core.submit.feed), after the statuses were refreshed above."""
    from batchctl.core.submit.feed import feed

    for job_id in store.pending_jobs(base_url=api.base_url):
        try:
            fed = yield from feed(api, store, job_id, clock=clock, flags=flags)
        except BatchctlError as exc:
            yield CollectOutcome(job_id, FAILED, job_id=job_id, error=exc)
            continue
        for row in fed.sent:
            yield CollectOutcome(row["id"], SENT, job_id=job_id, label=row.get("label"),
                          processing_status=row.get("processing_status"),
                          request_counts=counts(row))
        if fed.pending:
            yield CollectOutcome(job_id, PENDING, job_id=job_id, label=fed.pending[0]["label"],
                          processing_status=PENDING, results=len(fed.pending),
                          request_counts={"processing": sum(p["request_count"]
                                                            for p in fed.pending)})


def _download(
    api: Api,
    store: Store,
    target: Target,
    outcome: CollectOutcome,
    options: Any,
    directory: Path,
    owner: str,
) -> Events[CollectOutcome]:
    from batchctl.core.results import export as results

    assert target.row is not None
    path = directory / file_name(target.row, options.format)
    try:
        export = yield from results.open_export(api, store, target.id, options)
        summary = yield from export.events(path)
    except BatchctlError as exc:
        outcome.action, outcome.error = FAILED, exc
        return outcome
    finally:
        store.release(target.id, owner)
    outcome.action, outcome.path = COLLECTED, str(path.absolute())
    outcome.results = sum(summary.counts.values())
    outcome.summary = summary.as_dict()
    return outcome

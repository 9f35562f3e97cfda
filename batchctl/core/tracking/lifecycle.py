"""The lifecycle of tracked batches: resolve ID|JOB arguments, refresh from the API into the store,
warn about expiry and archiving, evaluate `--exit-status` (cancel and delete: ``actions``).

Plain values in and out; no printing. A *record* is the API's MessageBatch dict (its field names
unchanged) plus what the store knows: ``job_id``, ``label`` and ``request_file`` (None for a batch
the store does not track).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchctl.core.api.download import not_found_grace
from batchctl.core.errors import (
    FailedRequestsError,
    NextStep,
    NotFoundError,
    StillRunningError,
    UsageError,
)
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.requests.linesets import role
from batchctl.core.state.store import JOB_PREFIX, REMOTE_FIELDS
from batchctl.core.times import human_duration, iso, parse_ts
from batchctl.core.tracking import gone

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.state.store import Store

ENDED = "ended"
COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")
FAILED_KEYS = ("errored", "expired", "canceled")

EXPIRY_WARNING = 3600.0
ARCHIVE_WARNING = 3 * 86400.0
RETENTION = 29 * 86400.0  # results are kept for 29 days after created_at


@dataclass(frozen=True)
class Target:
    """One batch a command acts on: its id, the store's row (None if untracked), and the
    argument that named it (a job id or the batch id)."""

    id: str
    row: dict[str, Any] | None
    ref: str


def resolve_targets(
    store: Store, refs: Sequence[str], *, base_url: str, needs_store: str | None = None,
    flags: Flags = KEYS,
) -> list[Target]:
    """The batches that ID|JOB arguments name, in order (a job's in part order), each once:
    the one resolver of batchctl, with one rule for what the store does not track.

    A job must be tracked (else NotFoundError, exit 5). A batch id the store does not know (for
    this API) is kept as an untracked target (``row`` None): the API may still know it, unless
    ``needs_store`` names what needs the store's record of it (then NotFoundError, exit 5).
    ``flags``: how the caller names the options its hints mention.
    """
    targets: list[Target] = []
    seen: set[str] = set()
    for raw in refs:
        ref = raw.strip()
        if not ref:
            raise UsageError("an empty batch or job id was given")
        if ref.startswith(JOB_PREFIX):
            try:
                rows = store.resolve(ref, base_url=base_url, flags=flags)
            except NotFoundError:
                job = store.get_job(ref)
                if job is None or job["base_url"] != base_url or not store.job_parts(ref):
                    raise
                rows = []  # a job none of whose parts could be sent yet (a full queue)
        else:
            try:
                rows = store.resolve(ref, base_url=base_url, flags=flags)
            except NotFoundError as exc:
                if ref.endswith(("…", "...")):  # a shortened id from a table, of no tracked batch
                    short = gone.too_short_text(ref)
                    if short is not None:
                        exc.message = f"{exc.message}; {short}"
                    raise
                if needs_store:
                    raise NotFoundError(
                        f"no tracked batch {ref!r} for {base_url}: {needs_store} needs the "
                        "request file recorded when it was submitted, and it was not tracked "
                        "by this state store",
                        next_steps=exc.next_steps,
                    ) from None
                rows = [{"id": ref, "_untracked": True}]
        for row in rows:
            if row["id"] in seen:
                continue
            seen.add(row["id"])
            tracked = None if row.get("_untracked") else row
            targets.append(Target(id=row["id"], row=tracked, ref=ref))
    return targets


def job_refs(refs: Sequence[str]) -> list[str]:
    """The JOB arguments among ID|JOB arguments, each once."""
    return list(dict.fromkeys(r.strip() for r in refs if r.strip().startswith(JOB_PREFIX)))


def tracked_targets(store: Store, *, base_url: str) -> list[Target]:
    """Every tracked batch of this API not yet collected (nor deleted), newest first."""
    rows = store.batches(base_url=base_url, uncollected=True)
    return [Target(id=r["id"], row=r, ref=r["id"]) for r in rows]


# -- records ----------------------------------------------------------------------------------
def record(batch: Mapping[str, Any], row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The API's batch dict plus the store's job_id, label and request file."""
    out = dict(batch)
    out["job_id"] = row.get("job_id") if row else None
    out["label"] = row.get("label") if row else None
    out["request_file"] = row.get("request_file") if row else None
    out["api_version"] = row.get("api_version") if row else None
    out["role"] = role(row)  # "warm-up": the job's warm-up batch (--cache auto)
    return out


def local_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record built from the store alone (what the API said when last asked)."""
    batch: dict[str, Any] = {"id": row["id"], "type": "message_batch"}
    for key in ("processing_status", "request_counts", *REMOTE_FIELDS[1:]):
        batch[key] = row.get(key)
    out = record(batch, row)
    out["last_seen_at"] = iso(row.get("last_seen_at"))
    out["collected_at"] = iso(row.get("collected_at"))
    out["results_path"] = row.get("results_path")
    out["deleted_at"] = iso(row.get("deleted_at"))
    return out


def is_ended(rec: Mapping[str, Any] | None) -> bool:
    return rec is not None and rec.get("processing_status") == ENDED


def counts(rec: Mapping[str, Any]) -> dict[str, int]:
    raw = rec.get("request_counts") or {}
    return {key: int(raw.get(key) or 0) for key in COUNT_KEYS}


def failed(rec: Mapping[str, Any]) -> int:
    """Requests that ended errored, expired or canceled."""
    c = counts(rec)
    return sum(c[k] for k in FAILED_KEYS)


def totals(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Request counts summed over records, plus ``batches`` and ``ended`` (batches)."""
    out = dict.fromkeys(COUNT_KEYS, 0)
    out["batches"] = out["ended"] = 0
    for rec in records:
        for key, value in counts(rec).items():
            out[key] += value
        out["batches"] += 1
        out["ended"] += is_ended(rec)
    return out


def refresh(api: Api, store: Store, target: Target, now: float) -> dict[str, Any]:
    """Ask the API about one batch, remember the answer in the store, return its record."""
    row = target.row
    batch = gone.retrieve(api, target.id, row, not_found_grace=not_found_grace(row))
    if row is not None:
        store.update_remote(batch)
        job = store.get_job(row["job_id"]) if row.get("job_id") else None
        row = {**row, "api_version": (job or {}).get("api_version")}
    return record(batch, row)


# -- warnings and exit status -----------------------------------------------------------------
def warnings(
    rec: Mapping[str, Any], now: float, *, collected: bool = False
) -> list[tuple[str, NextStep | None]]:
    """Expiry under an hour away; results archived within three days (or already); each with
    the step that helps, if one does."""
    out: list[tuple[str, NextStep | None]] = []
    batch_id = rec.get("id")
    if not is_ended(rec):
        expires = parse_ts(rec.get("expires_at"))
        if expires is not None and expires - now < EXPIRY_WARNING:
            left = human_duration(expires - now) if expires > now else "now"
            out.append((
                f"{batch_id} expires in {left}: requests still processing then will end expired",
                None,
            ))
        return out
    if collected:
        return out
    archived = parse_ts(rec.get("archived_at"))
    if archived is not None:
        out.append((gone.archived_text(str(batch_id), rec.get("archived_at")), None))
        return out
    created = parse_ts(rec.get("created_at"))
    if created is not None and created + RETENTION - now < ARCHIVE_WARNING:
        left = human_duration(created + RETENTION - now)
        out.append((
            f"the results of {batch_id} will be archived in {left} (29 days after creation)",
            NextStep("fetch them before then", "results", (str(batch_id),)),
        ))
    return out


def check_exit_status(
    records: Sequence[Mapping[str, Any]], *, retry: Sequence[NextStep] = ()
) -> None:
    """For `--exit-status`: raise what ``exit_status_error`` finds, if anything."""
    error = exit_status_error(records, retry=retry)
    if error is not None:
        raise error


def exit_status_error(
    records: Sequence[Mapping[str, Any]], *, retry: Sequence[NextStep] = ()
) -> StillRunningError | FailedRequestsError | None:
    """For `--exit-status`: StillRunningError (8) if any batch has not ended, else
    FailedRequestsError (9) if any ended with errored, expired or canceled requests, with the
    ``retry`` steps that can help (``batchctl.core.workflows.advice``); None if all is well."""
    running = [r["id"] for r in records if not is_ended(r)]
    if running:
        return StillRunningError(
            f"{batches_text(len(running))} not ended yet: {shown_ids(running)}",
            next_steps=[NextStep("wait for them", "wait", tuple(running))],
        )
    bad = [r for r in records if failed(r)]
    if bad:
        t = totals(bad)
        detail = ", ".join(f"{t[k]:,} {k}" for k in FAILED_KEYS if t[k])
        return FailedRequestsError(
            f"{batches_text(len(bad))} ended with failed requests ({detail}): "
            f"{shown_ids(r['id'] for r in bad)}",
            next_steps=retry,
        )
    return None


def batches_text(n: int) -> str:
    """``1 batch``, ``3 batches``."""
    return counted(n, "batch")


def shown_ids(ids: Iterable[str], limit: int = 5) -> str:
    """The first ``limit`` ids, comma-separated, and how many more."""
    ids = list(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

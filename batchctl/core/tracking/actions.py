"""`cancel` and `delete`: the two calls that change batches on the server, each one workflow.

``cancel_refs`` and ``delete_refs`` resolve the ID|JOB arguments, let the caller confirm
(the CLI asks on a terminal, or requires --yes), then act; they return what happened to each
batch (``BatchAction``) and print nothing. The API client is built only after the
confirmation, so a missing key (exit 4) is said after a "no" would have been.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import BadRequestError, NextStep, StillRunningError
from batchctl.core.tracking.lifecycle import (
    ENDED,
    Target,
    is_ended,
    local_record,
    record,
    refresh,
    resolve_targets,
    shown_ids,
)

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.deps import Deps
    from batchctl.core.state.store import Store

CANCELING = "canceling"
ALREADY_ENDED = "already_ended"
ALREADY_CANCELING = "already_canceling"
DELETED = "deleted"
ALREADY_DELETED = "already_deleted"

#: ``confirm(batch_ids)``: returns to go on; raises to stop (nothing has been done yet).
Confirm = Callable[[list[str]], None]


@dataclass(frozen=True)
class BatchAction:
    """What cancel or delete did to one batch: ``action`` is one of the constants above;
    ``record`` is the batch as the API last described it (the deletion reply for DELETED)."""

    id: str
    action: str
    record: dict[str, Any]


def cancel_refs(
    deps: Deps, refs: Sequence[str], *, base_url: str, confirm: Confirm
) -> list[BatchAction]:
    """`batchctl cancel ID|JOB ...`: resolve, ``confirm``, cancel (see ``cancel``)."""
    targets = resolve_targets(deps.store(), refs, base_url=base_url)
    confirm([t.id for t in targets])
    return cancel(deps.api(), deps.store(), targets, deps.clock.time())


def delete_refs(
    deps: Deps, refs: Sequence[str], *, base_url: str, confirm: Confirm
) -> list[BatchAction]:
    """`batchctl delete ID|JOB ...`: resolve, ``confirm``, delete (see ``delete``)."""
    targets = resolve_targets(deps.store(), refs, base_url=base_url)
    confirm([t.id for t in targets])
    return delete(deps.api(), deps.store(), targets, deps.clock.time())


def cancel(api: Api, store: Store, targets: Sequence[Target], now: float) -> list[BatchAction]:
    """Ask the API to cancel each batch still in progress. A batch that has already ended (or
    is already canceling) is reported as such, not as an error."""
    outcomes: list[BatchAction] = []
    for target in targets:
        rec = refresh(api, store, target, now)
        status = rec.get("processing_status")
        if status == ENDED:
            outcomes.append(BatchAction(target.id, ALREADY_ENDED, rec))
            continue
        if status == CANCELING:
            outcomes.append(BatchAction(target.id, ALREADY_CANCELING, rec))
            continue
        try:
            batch = api.cancel(target.id)
        except BadRequestError:
            # It may have ended between our look and the cancel: say so if it did.
            rec = refresh(api, store, target, now)
            if is_ended(rec):
                outcomes.append(BatchAction(target.id, ALREADY_ENDED, rec))
                continue
            raise
        if target.row is not None:
            store.update_remote(batch)
        outcomes.append(BatchAction(target.id, CANCELING, record(batch, target.row)))
    return outcomes


def delete(api: Api, store: Store, targets: Sequence[Target], now: float) -> list[BatchAction]:
    """Delete ended batches. If any named batch has not ended, nothing is deleted:
    StillRunningError (exit 8) says to cancel it first. The store keeps each row, marked deleted."""
    plan: list[Target | BatchAction] = []
    running: list[dict[str, Any]] = []
    for target in targets:
        row = target.row
        if row is not None and row.get("deleted_at") is not None:
            plan.append(BatchAction(target.id, ALREADY_DELETED, local_record(row)))
            continue
        rec = refresh(api, store, target, now)
        if is_ended(rec):
            plan.append(target)
        else:
            running.append(rec)
    if running:
        ids = [r["id"] for r in running]
        states = sorted({str(r.get("processing_status")) for r in running})
        raise StillRunningError(
            f"only an ended batch can be deleted; {shown_ids(ids)} "
            f"{'is' if len(ids) == 1 else 'are'} {'/'.join(states)}; nothing was deleted",
            hint="delete them once they have ended",
            next_steps=[NextStep("cancel them first", "cancel", tuple(ids))],
        )
    outcomes: list[BatchAction] = []
    for item in plan:
        if isinstance(item, BatchAction):
            outcomes.append(item)
            continue
        reply = api.delete(item.id)
        if item.row is not None:
            store.mark_deleted(item.id)
        outcomes.append(BatchAction(item.id, DELETED, reply))
    return outcomes

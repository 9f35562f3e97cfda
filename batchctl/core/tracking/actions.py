"""`cancel` and `delete`: the two calls that change batches on the server, each one workflow.

``plan`` resolves the ID|JOB arguments into what would be acted on; the caller confirms it
(the CLI asks on a terminal, or requires --yes), then ``cancel_planned`` or ``delete_planned``
acts and returns what happened to each batch (``BatchAction``); nothing is printed. The API
client is built only once the plan is confirmed, so a missing key (exit 4) is said after a
"no" would have been.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import BadRequestError, NextStep, StillRunningError
from batchctl.core.flags import KEYS, Flags
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


@dataclass(frozen=True)
class BatchAction:
    """What cancel or delete did to one batch: ``action`` is one of the constants above;
    ``record`` is the batch as the API last described it (the deletion reply for DELETED)."""

    id: str
    action: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """What cancel or delete would act on: the batches the ID|JOB arguments name, resolved in
    the store; nothing has been done and the API has not been asked."""

    targets: tuple[Target, ...]

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.targets]


def plan(deps: Deps, refs: Sequence[str], *, base_url: str, flags: Flags = KEYS) -> Plan:
    """The batches `cancel` or `delete` ID|JOB ... would act on, for the caller to confirm
    (``flags``: how the caller names the options its hints mention)."""
    return Plan(tuple(resolve_targets(deps.store(), refs, base_url=base_url, flags=flags)))


def cancel_planned(deps: Deps, planned: Plan) -> list[BatchAction]:
    """`batchctl cancel`, once confirmed: cancel the planned batches (see ``cancel``)."""
    return cancel(deps.api(), deps.store(), planned.targets, deps.clock.time())


def delete_planned(deps: Deps, planned: Plan) -> list[BatchAction]:
    """`batchctl delete`, once confirmed: delete the planned batches (see ``delete``)."""
    return delete(deps.api(), deps.store(), planned.targets, deps.clock.time())


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

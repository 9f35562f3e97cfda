"""Batches that are gone, said the same way by every command.

A batch is gone from the API when it was deleted (by batchctl, which keeps its row marked
deleted, or by another client), and its results are gone once archived, 29 days after it was
created (BATCHES_API.md: ``archived_at``; the docs' "Results are available for 29 days after
creation"). `status`, `wait`, `cancel`, `delete`, `results`, `retry-failed`, `run` and `collect`
all say it with the sentences below (exit 5 where the command needed the batch or its results).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import NextStep, NotFoundError
from batchctl.core.flags import Flag
from batchctl.core.state.batches import BATCH_PREFIX, SHORTEST_PREFIX
from batchctl.core.times import iso

if TYPE_CHECKING:
    from batchctl.core.api.client import Api

LOCAL = NextStep("what the state store knew of it", "list", (Flag("local"),))
LOCAL_LIST = NextStep("what this state store tracks", "list", (Flag("local"),))


def deleted_text(batch_id: str, deleted_at: float | str | None) -> str:
    """The sentence for a batch deleted through batchctl (``deleted_at``: epoch or RFC 3339)."""
    stamp = deleted_at if isinstance(deleted_at, str) else iso(deleted_at)
    when = f" (at {stamp})" if stamp else ""
    return f"batch {batch_id} was deleted{when}: the API no longer has it or its results"


def archived_text(batch_id: str, archived_at: Any) -> str:
    """The sentence for a batch whose results were archived."""
    return (f"the results of batch {batch_id} were archived at {archived_at} and can no longer "
            "be downloaded (the API keeps results for 29 days after a batch is created)")


def too_short_text(ref: str) -> str | None:
    """For an argument shorter than a shortened id may be, what the minimum is (a prefix that
    short is not looked up in the store: it would name too many); None for one long enough."""
    prefix = ref.removesuffix("…").removesuffix("...")
    if len(prefix) >= SHORTEST_PREFIX:
        return None
    return (f"a shortened id needs at least {SHORTEST_PREFIX} characters ({BATCH_PREFIX} and "
            f"{SHORTEST_PREFIX - len(BATCH_PREFIX)} more, as tables show them), and "
            f"{prefix!r} has {len(prefix)}")


def not_found(batch_id: str, row: Mapping[str, Any] | None, exc: NotFoundError) -> NotFoundError:
    """A 404 for ``batch_id`` as the user should read it: deleted here, deleted elsewhere (a
    tracked batch the API no longer knows), or an id neither tracked nor known to the API."""
    if row is None:
        short = too_short_text(batch_id)
        where = "" if short else " (no tracked batch id starts with it)"
        return NotFoundError(
            f"batch {batch_id!r} is not tracked here{where} and the API does not know it "
            f"({exc.status or 404} {exc.error_type or 'not found'})" + (f"; {short}" if short else ""),
            status=exc.status, request_id=exc.request_id, error_type=exc.error_type,
            next_steps=[LOCAL_LIST])
    if row.get("deleted_at") is not None:
        # The same sentence from every command: the 404's request id adds nothing to it.
        return NotFoundError(deleted_text(batch_id, row["deleted_at"]), status=exc.status,
                             next_steps=[LOCAL])
    message = (f"batch {batch_id} is tracked here but the API does not know it: it was deleted "
               f"by another client, or {row.get('base_url')} is not where it was made (another "
               "workspace's key)")
    return NotFoundError(message, status=exc.status, request_id=exc.request_id,
                         next_steps=[LOCAL])


def retrieve(
    api: Api, batch_id: str, row: Mapping[str, Any] | None, *, not_found_grace: float = 0.0
) -> dict[str, Any]:
    """``api.retrieve``, with a 404 said as ``not_found`` says it."""
    try:
        return api.retrieve(batch_id, not_found_grace=not_found_grace)
    except NotFoundError as exc:
        raise not_found(batch_id, row, exc) from exc

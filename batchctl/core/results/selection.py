"""Which batches a results download reads: an ID|JOB resolved through the state store, each
batch retrieved and checked (ended, not archived; a batch adopted after a lost create reply
checked to answer its part's requests), and a batch's retries found through parent links.
Used by ``results`` and ``retry-failed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from batchctl.core.api.download import apart, fetch_body, not_found_grace
from batchctl.core.errors import (
    NextStep,
    NotFoundError,
    StateError,
    StillRunningError,
)
from batchctl.core.events import INFO, Events, Note
from batchctl.core.flags import KEYS, Flag, Flags
from batchctl.core.plural import counted, plural
from batchctl.core.results.lines import line_blocks, lines_of
from batchctl.core.state.store import JOB_PREFIX, Store
from batchctl.core.tracking.gone import archived_text, retrieve

if TYPE_CHECKING:
    from batchctl.core.api.client import Api


@dataclass
class Source:
    batch: dict[str, Any]  # as the API describes it now
    row: dict[str, Any] | None  # the state store's row; None for a batch it does not track

    @property
    def id(self) -> str:
        return str(self.batch["id"])

    @property
    def expected(self) -> int:
        counts = self.batch.get("request_counts") or {}
        return sum(v for v in counts.values() if isinstance(v, int))


def check_ended(batch: Mapping[str, Any], what: str = "batch") -> None:
    """StillRunningError (exit 8) before a batch has ended; NotFoundError (exit 5) once its
    results are archived (29 days after it was created)."""
    batch_id = batch["id"]
    status = batch.get("processing_status")
    if status != "ended":
        left = (batch.get("request_counts") or {}).get("processing")
        raise StillRunningError(
            f"{what} {batch_id} is {status} ("
            f"{counted(left, 'request') if isinstance(left, int) else '? requests'} still "
            "processing): results are available once it has ended",
            next_steps=[NextStep("wait for it", "wait", (str(batch_id),))],
        )
    if batch.get("archived_at"):
        raise NotFoundError(archived_text(batch_id, batch["archived_at"]))


def resolve(
    api: Api, store: Store, ref: str, *, needs_store: str | None = None, flags: Flags = KEYS
) -> list[dict[str, Any] | None]:
    """The store's rows for an ID|JOB, in part order; ``None`` for a batch id this store does
    not track (its results can still be fetched), unless ``needs_store`` names why it must be
    tracked (then NotFoundError, exit 5): ``batchctl.core.tracking.lifecycle.resolve_targets``."""
    from batchctl.core.tracking.lifecycle import resolve_targets

    if ref.strip().startswith(JOB_PREFIX):
        _check_all_sent(store, ref.strip())
    targets = resolve_targets(store, [ref], base_url=api.base_url, needs_store=needs_store,
                              flags=flags)
    return [t.row for t in targets]


def _check_all_sent(store: Store, job_id: str) -> None:
    """A job whose parts are not all sent yet (a full processing queue) has no complete
    results: StillRunningError (exit 8) rather than a file that silently lacks them."""
    pending = [p for p in store.job_parts(job_id) if p["batch_id"] is None]
    if pending:
        total = len(store.job_parts(job_id))
        raise StillRunningError(
            f"{len(pending)} of {counted(total, 'part')} of job {job_id} {plural('is', len(pending))} "
            "not sent yet (the API's "
            "processing queue was full): its results would be incomplete",
            next_steps=[NextStep("send them as the queue drains and wait for them", "wait",
                                 (job_id,))],
        )


def fetch_sources(api: Api, store: Store, ref: str, rows: Sequence[dict[str, Any] | None],
                  what: str = "batch", flags: Flags = KEYS) -> Events[list[Source]]:
    """Retrieve each batch, remember what the API said, and check that it has ended (and, for
    a batch submit adopted after a lost reply, that it answers this part's requests)."""
    sources = []
    for row in rows:
        batch = retrieve(api, row["id"] if row else ref.strip(), row,
                         not_found_grace=not_found_grace(row))
        if row is not None:
            store.update_remote(batch)
        check_ended(batch, what)
        if row is not None and row.get("adoption") in ("unverified", "foreign"):
            yield from verify_adopted(api, store, batch, row, flags)
        sources.append(Source(batch, row))
    return sources


def verify_adopted(
    api: Api, store: Store, batch: Mapping[str, Any], row: Mapping[str, Any],
    flags: Flags = KEYS,
) -> Events[None]:
    """Check that an adopted batch's results answer exactly its part's requests.

    submit adopts a batch after a lost create reply on what the API shows before a batch ends
    (time, size); once it has ended its custom_ids can be compared with the request file. A
    match marks it 'verified'; a mismatch marks it 'foreign' and raises StateError (exit 7):
    its results are another client's, and this part's requests were never sent."""
    from batchctl.core.results.sources import custom_id_of, iter_batch_lines

    if row.get("adoption") == "unverified":
        yield Note(INFO, f"checking that {batch['id']} (found after a lost reply) answers the "
                         f"requests of {row['request_file']}")
        expected = {custom_id for _, custom_id, _ in iter_batch_lines(row, flags=flags)}
        got: set[str] = set()
        lines = 0
        notes: list[Note] = []
        body = apart(fetch_body(api, batch, not_found_grace=not_found_grace(row)), notes)
        for block in line_blocks(body):
            yield from notes
            notes.clear()
            for line in lines_of(block):
                lines += 1
                got.add(custom_id_of(line) or "")
        yield from notes
        if got == expected and lines == len(expected):
            store.set_adoption(batch["id"], "verified")
            return
        store.set_adoption(batch["id"], "foreign")
    raise StateError(
        f"batch {batch['id']} was adopted by a submit whose create reply was lost, but its "
        f"results answer other requests than those of {row['request_file']} (lines "
        f"{row['first_line']}-{row['last_line']}): it is another client's batch, and these "
        "requests were never sent",
        next_steps=[NextStep("send the file again (all of it is billed again)", "submit",
                             (Flag("force"), str(row["request_file"])))],
    )


def retry_rows(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every retry of ``rows`` (children through parent_id, recursively), oldest first: in a
    merge, later ones win."""
    found: list[tuple[float, int, int, dict[str, Any]]] = []
    frontier, seen, generation = [r["id"] for r in rows], {r["id"] for r in rows}, 0
    while frontier:
        generation += 1
        following = []
        for parent in frontier:
            for child in store.children(parent):
                if child["id"] not in seen:
                    seen.add(child["id"])
                    found.append((child["submitted_at"], generation, len(found), child))
                    following.append(child["id"])
        frontier = following
    return [row for *_, row in sorted(found, key=lambda item: item[:3])]

"""Results bytes from the API: which batches, checked, and their bodies fetched resiliently.

`fetch_body` yields a batch's results body as raw chunks, each byte once: a download cut
part-way is fetched again (up to FETCH_ATTEMPTS times in all) and resumed where it broke, after
checking (sha256) that the new body starts with the bytes already passed on. `resolve` and
`fetch_sources` turn an ID|JOB into checked batches (ended, not archived); `retry_rows` finds a
batch's retries through the store's parent links. Used by ``results`` and ``retry-failed``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.errors import (
    NextStep,
    NotFoundError,
    StateError,
    StillRunningError,
    StreamDroppedError,
    UnavailableError,
)
from batchctl.core.state.store import JOB_PREFIX, Store

if TYPE_CHECKING:
    from batchctl.core.api import Api

FETCH_ATTEMPTS = 4  # one download and up to three more after a cut
BACKOFF = (1.0, 2.0, 4.0)
#: Seconds a 404 is ridden out (retrieve and results) for a batch this store created: the API
#: can answer 404 for a batch that exists, after its create, mid-poll and just after it ended
#: (anthropic-sdk-python#1432). An id never created here gets its 404 at once.
NOT_FOUND_GRACE = 60.0

Notify = Callable[[str, str], None]  # (level: "info" | "warn", message)


def quiet(level: str, message: str) -> None:
    """A Notify that says nothing."""


def not_found_grace(row: Mapping[str, Any] | None) -> float:
    """How long a 404 for this batch is retried: NOT_FOUND_GRACE for a batch this store created
    (and did not delete), 0 for one it does not track."""
    if row is None or row.get("deleted_at") is not None:
        return 0.0
    return NOT_FOUND_GRACE


def fetch_body(
    api: Api,
    batch: Mapping[str, Any],
    *,
    attempts: int = FETCH_ATTEMPTS,
    notify: Notify = quiet,
    not_found_grace: float = 0.0,
) -> Iterator[bytes]:
    """The results body of an ended batch, as raw chunks, each byte yielded once.

    After a cut the body is fetched again and the part already yielded is skipped, once its
    bytes are checked to be the same; StreamDroppedError (exit 6) when every attempt was cut or
    the body came back different. ``not_found_grace``: see ``not_found_grace()``.
    """
    digest = hashlib.sha256()
    sent = 0
    for attempt in range(attempts):
        try:
            with api.open_results(batch, not_found_grace=not_found_grace) as chunks:
                skip, check = sent, hashlib.sha256()
                for chunk in chunks:
                    if skip:
                        head, chunk = chunk[:skip], chunk[skip:]
                        check.update(head)
                        skip -= len(head)
                        if skip:
                            continue
                        if check.digest() != digest.digest():
                            raise _changed(batch)
                        if not chunk:
                            continue
                    digest.update(chunk)
                    sent += len(chunk)
                    yield chunk
                if skip:
                    raise _changed(batch)
            return
        except StreamDroppedError as exc:
            if isinstance(exc, BodyChanged) or attempt == attempts - 1:
                raise
            delay = BACKOFF[min(attempt, len(BACKOFF) - 1)]
            notify("warn", f"the results download of {batch['id']} was cut after {sent:,} bytes;"
                           f" fetching again in {delay:g} s ({attempt + 2} of {attempts})")
            api.clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class BodyChanged(StreamDroppedError):
    """A body fetched again after a cut did not start with the bytes already passed on."""


def _changed(batch: Mapping[str, Any]) -> BodyChanged:
    return BodyChanged(
        f"the results of batch {batch['id']} came back different after a cut download; "
        "nothing was kept",
        hint="run the command again",
    )


def line_blocks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The stream cut into blocks of whole lines, as the chunks arrive; every block ends with a
    newline (one is added to a last line that lacks it)."""
    tail = b""
    for chunk in chunks:
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        tail = data[cut:]
    if tail.strip():
        yield tail + b"\n"


def lines_of(block: bytes) -> list[bytes]:
    """The non-blank lines of a block from ``line_blocks``, without their line ends."""
    lines = block.split(b"\n")
    lines.pop()
    if b"\r" in block or b"\n\n" in block or block[:1] == b"\n" or b"\n " in block:
        lines = [line.rstrip(b"\r") for line in lines if line.strip()]
    return lines


def parse_lines(lines: list[bytes], batch_id: str) -> list[dict[str, Any]]:
    """Parse results lines, one orjson call for the lot; UnavailableError names a bad one."""
    try:
        records = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:
        records = None
    if (
        type(records) is not list
        or len(records) != len(lines)
        or not all(type(r) is dict for r in records)
    ):
        records = [parse(line, batch_id) for line in lines]
    return records


def parse_block(block: bytes, batch_id: str) -> list[dict[str, Any]]:
    """Parse a block from ``line_blocks`` without splitting it into lines first (one orjson
    call over the block with its newlines made commas); any doubt goes the line way."""
    if block and b"\r" not in block and b"\n\n" not in block and block[:1] != b"\n":
        try:
            records = orjson.loads(b"[" + block[:-1].replace(b"\n", b",") + b"]")
        except orjson.JSONDecodeError:
            records = None
        if (
            type(records) is list
            and len(records) == block.count(b"\n")
            and all(type(r) is dict for r in records)
        ):
            return records
    return parse_lines(lines_of(block), batch_id)


def parse(line: bytes, batch_id: str) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise UnavailableError(
            f"the API sent a results line of batch {batch_id} that is not JSON ({exc})"
        ) from None
    if not isinstance(record, dict):
        raise UnavailableError(f"the API sent a results line of batch {batch_id} that is not an "
                               "object")
    return record


def result_type(record: Mapping[str, Any]) -> str | None:
    result = record.get("result")
    return result.get("type") if isinstance(result, dict) else None




# -- what to download -----------------------------------------------------------------------------
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
        counts = batch.get("request_counts") or {}
        raise StillRunningError(
            f"{what} {batch_id} is {status} ({counts.get('processing', '?')} requests still "
            "processing): results are available once it has ended",
            next_steps=[NextStep("wait for it", "wait", (str(batch_id),))],
        )
    if batch.get("archived_at"):
        raise NotFoundError(
            f"the results of {what} {batch_id} were archived at {batch['archived_at']} and can "
            "no longer be downloaded (the API keeps results for 29 days after a batch is created)"
        )


def resolve(
    api: Api, store: Store, ref: str, *, needs_store: str | None = None
) -> list[dict[str, Any] | None]:
    """The store's rows for an ID|JOB, in part order; ``[None]`` for a batch id this store does
    not track (its results can still be fetched), unless ``needs_store`` names why it must be
    tracked (then NotFoundError, exit 5)."""
    if ref.strip().startswith(JOB_PREFIX):
        _check_all_sent(store, ref.strip())
    try:
        return list(store.resolve(ref, base_url=api.base_url))
    except NotFoundError as exc:
        if ref.strip().startswith(JOB_PREFIX):
            raise
        if needs_store:
            raise NotFoundError(
                f"batch {ref} is not tracked by this state store: {needs_store} needs the request "
                "file recorded when it was submitted",
                hint=exc.hint,
            ) from None
        return [None]


def _check_all_sent(store: Store, job_id: str) -> None:
    """A job whose parts are not all sent yet (a full processing queue) has no complete
    results: StillRunningError (exit 8) rather than a file that silently lacks them."""
    pending = [p for p in store.job_parts(job_id) if p["batch_id"] is None]
    if pending:
        total = len(store.job_parts(job_id))
        raise StillRunningError(
            f"{len(pending)} of {total} parts of job {job_id} are not sent yet (the API's "
            "processing queue was full): its results would be incomplete",
            next_steps=[NextStep("send them as the queue drains and wait for them", "wait",
                                 (job_id,))],
        )


def fetch_sources(api: Api, store: Store, ref: str, rows: Sequence[dict[str, Any] | None],
                  what: str = "batch", notify: Notify = quiet) -> list[Source]:
    """Retrieve each batch, remember what the API said, and check that it has ended (and, for
    a batch submit adopted after a lost reply, that it answers this part's requests)."""
    sources = []
    for row in rows:
        batch = api.retrieve(row["id"] if row else ref.strip(), not_found_grace=not_found_grace(row))
        if row is not None:
            store.update_remote(batch)
        check_ended(batch, what)
        if row is not None and row.get("adoption") in ("unverified", "foreign"):
            verify_adopted(api, store, batch, row, notify=notify)
        sources.append(Source(batch, row))
    return sources


def verify_adopted(
    api: Api, store: Store, batch: Mapping[str, Any], row: Mapping[str, Any], *,
    notify: Notify = quiet,
) -> None:
    """Check that an adopted batch's results answer exactly its part's requests.

    submit adopts a batch after a lost create reply on what the API shows before a batch ends
    (time, size); once it has ended its custom_ids can be compared with the request file. A
    match marks it 'verified'; a mismatch marks it 'foreign' and raises StateError (exit 7):
    its results are another client's, and this part's requests were never sent."""
    from batchctl.core.results.sources import custom_id_of, iter_batch_lines

    if row.get("adoption") == "unverified":
        notify("info", f"checking that {batch['id']} (found after a lost reply) answers the "
                       f"requests of {row['request_file']}")
        expected = {custom_id for _, custom_id, _ in iter_batch_lines(row)}
        got: set[str] = set()
        lines = 0
        body = fetch_body(api, batch, notify=notify, not_found_grace=not_found_grace(row))
        for block in line_blocks(body):
            for line in lines_of(block):
                lines += 1
                got.add(custom_id_of(line) or "")
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
                             ("--force", str(row["request_file"])))],
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

"""A batch's results body from the API, fetched resiliently.

`fetch_body` yields a batch's results body as raw chunks, each byte once: a download cut
part-way is fetched again (up to FETCH_ATTEMPTS times in all) and resumed where it broke, after
checking (sha256) that the new body starts with the bytes already passed on; a note says so
before each fetch again (``apart`` sets the notes aside for a reader of bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from batchctl.core.errors import StreamDroppedError
from batchctl.core.events import WARN, Note

if TYPE_CHECKING:
    from batchctl.core.api.client import Api

FETCH_ATTEMPTS = 4  # one download and up to three more after a cut
BACKOFF = (1.0, 2.0, 4.0)
#: Seconds a 404 is ridden out (retrieve and results) for a batch this store created: the API
#: can answer 404 for a batch that exists, after its create, mid-poll and just after it ended
#: (anthropic-sdk-python#1432). An id never created here gets its 404 at once.
NOT_FOUND_GRACE = 60.0




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
    not_found_grace: float = 0.0,
) -> Iterator[bytes | Note]:
    """The results body of an ended batch, as raw chunks, each byte yielded once, with a note
    before each fetch again after a cut.

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
            yield Note(WARN, f"the results download of {batch['id']} was cut after {sent:,} "
                             f"bytes; fetching again in {delay:g} s ({attempt + 2} of {attempts})")
            api.clock.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def apart(items: Iterator[bytes | Note], notes: list[Note]) -> Iterator[bytes]:
    """The bytes of ``fetch_body``, its notes put aside in ``notes`` for the caller to pass on
    (between blocks of lines, when the download is read through ``line_blocks``)."""
    for item in items:
        if isinstance(item, Note):
            notes.append(item)
        else:
            yield item


class BodyChanged(StreamDroppedError):
    """A body fetched again after a cut did not start with the bytes already passed on."""


def _changed(batch: Mapping[str, Any]) -> BodyChanged:
    return BodyChanged(
        f"the results of batch {batch['id']} came back different after a cut download; "
        "nothing was kept",
        hint="run the command again",
    )

"""Which next steps can help once batches have ended: hints only for what can help.

`retry-failed` is suggested only when it would send something: an expired request (always
retried), an errored one whose error type is worth retrying (``retry.RETRYABLE_ERRORS``; an
``invalid_request_error`` fails again the same way), or, with ``--include-canceled``, a
canceled one; and only for batches the store tracks (retry-failed rebuilds the requests from
the recorded request file). The API's batch counts do not say which errors a batch had
(https://docs.anthropic.com/en/api/retrieving-message-batches: ``request_counts`` holds only
counts per result type), so for errored requests the results are read until the first
retryable one is found: nothing is read when no request errored or one expired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from batchctl.core.api.download import apart, fetch_body
from batchctl.core.errors import APIError, NextStep
from batchctl.core.flags import Flag
from batchctl.core.results.lines import line_blocks, lines_of, parse_lines
from batchctl.core.tracking.lifecycle import Target, counts
from batchctl.core.workflows.retry import RETRYABLE_ERRORS, Rules

if TYPE_CHECKING:
    from batchctl.core.api.client import Api

RETRY_WHY = "send the failed requests again"
_ERRORED = b'"type":"errored"'
_RETRYABLE = tuple(b'"type":"%s"' % e.encode() for e in sorted(RETRYABLE_ERRORS))


def retry_steps(
    api: Api, targets: Sequence[Target], records: Sequence[Mapping[str, Any]]
) -> list[NextStep]:
    """One `retry-failed` step per ID|JOB argument whose ended batches hold something worth
    retrying; none for untracked batches or when every failure would fail again."""
    by_id = {r.get("id"): r for r in records}
    steps: list[NextStep] = []
    for ref in dict.fromkeys(t.ref for t in targets):
        named = [t for t in targets if t.ref == ref]
        if any(t.row is None for t in named):
            continue
        recs = [by_id[t.id] for t in named if t.id in by_id]
        step = retry_step(api, ref, recs)
        if step is not None:
            steps.append(step)
    return steps


def retry_step(api: Api, ref: str, records: Sequence[Mapping[str, Any]]) -> NextStep | None:
    """The `retry-failed` command worth running for ``ref`` (whose batches are ``records``)."""
    if any(counts(r)["expired"] for r in records):
        return NextStep(RETRY_WHY, "retry-failed", (ref,))
    errored = [r for r in records if counts(r)["errored"]]
    if any(_has_retryable_error(api, r) for r in errored):
        return NextStep(RETRY_WHY, "retry-failed", (ref,))
    if any(counts(r)["canceled"] for r in records):
        return NextStep("send the canceled requests again", "retry-failed",
                        (ref, Flag("include_canceled")))
    return None


def _has_retryable_error(api: Api, rec: Mapping[str, Any]) -> bool:
    """Whether an errored result of ``rec`` has a retryable error type; read until the first.
    If the results cannot be read, True: retry-failed itself then says what it would send."""
    classify = Rules().classify
    try:
        # A cut download's note is not passed on: this only looks, for a hint.
        for block in line_blocks(apart(fetch_body(api, rec), [])):
            if _ERRORED not in block or not any(p in block for p in _RETRYABLE):
                continue  # no errored line, or none of a retryable type: nothing to parse
            for record in parse_lines(lines_of(block), str(rec.get("id"))):
                if classify(record)[0] is not None:
                    return True
    except APIError:
        return True
    return False

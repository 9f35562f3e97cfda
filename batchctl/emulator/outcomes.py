"""Per-request outcomes and the batch lifecycle, both computed from timestamps and seeds.

There is no background worker. Each request gets, when the batch is created, a fixed point in the
processing window (``u`` in [0, 1): it is processed at ``created_at + u * processing_seconds``)
and a fixed outcome (succeeded, errored, expired). What a client sees then follows from the clock:

* the batch ends at the earliest of ``created + processing``, ``cancel + cancel_seconds`` and
  ``expires_at``;
* a cancel at time ``c`` cancels the requests processed after ``c``; the others finish normally;
* at ``expires_at`` the requests not yet processed become ``expired``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson

from batchctl.emulator import model
from batchctl.emulator.apirules import Checks, NotFound
from batchctl.emulator.cachemarks import prefixes

RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")
RETRYABLE_ERRORS = {
    "api_error": "Internal server error (injected by the batchctl emulator, error_rate); retry the request.",
    "overloaded_error": "Overloaded (injected by the batchctl emulator, error_rate); retry the request.",
}

# The error type of a request the checks refused (emulator.apirules, as the API does).
_CHECKED = {"invalid": "invalid_request_error", "not_found": "not_found_error"}

# One plan entry per request, in request order: [custom_id, u, shuffle_key, kind, detail
# (, cache prefixes)] kind "ok" (detail: model.ReplySeed), "invalid" / "not_found" (detail:
# message), "api_error" / "overloaded_error" (detail: None), "expired" (detail: None), or one
# of STOPS (succeeded, detail: model.ReplySeed); a sixth item, the request's
# cachemarks.Prefixes, only for a request that passed the checks and has a cache marker.
PlanEntry = list
#: Succeeded without a whole answer (stop_rate): the model declined (refusal), or the context
#: window filled and the output was cut (types/stop_reason.py, SDK 2.17; BATCHES_API.md 12).
STOPS = ("refusal", "model_context_window_exceeded")
SUCCEEDED = frozenset(("ok", *STOPS))


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest()


def _unit(data: bytes) -> float:
    return int.from_bytes(data[:7], "big") / float(1 << 56)


def static_plan(
    items: Sequence[tuple[str, dict[str, Any]]], seed: int, checks: Checks
) -> list[PlanEntry]:
    """What does not depend on the batch's number: checks, reply seeds, timing, shuffle order.

    ``checks``: the rules of the create call (its anthropic-version and betas, the catalogue)."""
    assess = model.assess
    not_found = NotFound
    base = hashlib.blake2b(f"{seed}:".encode(), digest_size=16)
    from_bytes = int.from_bytes
    scale = float(1 << 56)
    plan: list[PlanEntry] = []
    append = plan.append
    for custom_id, params in items:
        hasher = base.copy()
        hasher.update(custom_id.encode())
        digest = hasher.digest()
        problem, reply = assess(params, checks)
        u = from_bytes(digest[:7], "big") / scale
        shuffle = from_bytes(digest[8:15], "big")
        if problem is None:
            cached = prefixes(params, checks.catalog)
            append([custom_id, u, shuffle, "ok", reply] if cached is None
                   else [custom_id, u, shuffle, "ok", reply, cached])
        else:
            kind = "not_found" if type(problem) is not_found else "invalid"
            append([custom_id, u, shuffle, kind, str(problem)])
    return plan


def roll_outcomes(
    plan: list[PlanEntry], seed: int, seq: int, error_rate: float, expire_rate: float,
    stop_rate: float = 0.0,
) -> None:
    """Injected outcomes, from (seed, batch number, custom_id): a resubmitted request rolls again."""
    if error_rate <= 0 and expire_rate <= 0 and stop_rate <= 0:
        return
    for entry in plan:
        if entry[3] != "ok":
            continue
        digest = _digest(seed, seq, entry[0])
        roll = _unit(digest)
        if roll < error_rate:
            entry[3] = "api_error" if digest[15] & 1 else "overloaded_error"
            entry[4] = None
        elif roll < error_rate + expire_rate:
            entry[3] = "expired"
            entry[4] = None
        elif roll < error_rate + expire_rate + stop_rate:
            entry[3] = STOPS[digest[15] & 1]  # the reply seed stays: it still succeeded


def dump_plan(plan: list[PlanEntry]) -> bytes:
    return orjson.dumps(plan)


def load_plan(data: bytes) -> list[PlanEntry]:
    return orjson.loads(data)


@dataclass(frozen=True)
class Timeline:
    created_at: float
    processing_seconds: float
    cancel_seconds: float
    expiry_seconds: float
    archive_seconds: float
    cancel_initiated_at: float | None = None

    @property
    def expires_at(self) -> float:
        return self.created_at + self.expiry_seconds

    @property
    def ends_at(self) -> float:
        end = min(self.created_at + self.processing_seconds, self.expires_at)
        if self.cancel_initiated_at is not None:
            end = min(end, self.cancel_initiated_at + self.cancel_seconds)
        return end

    @property
    def archives_at(self) -> float:
        return self.created_at + self.archive_seconds

    def status(self, now: float) -> str:
        if now >= self.ends_at:
            return "ended"
        if self.cancel_initiated_at is not None:
            return "canceling"
        return "in_progress"

    def archived_at(self, now: float) -> float | None:
        return self.archives_at if now >= self.archives_at else None

    def final_type(self, entry: PlanEntry) -> str:
        """The result type of one request once the batch has ended."""
        processed_at = self.created_at + entry[1] * self.processing_seconds
        if self.cancel_initiated_at is not None and processed_at > self.cancel_initiated_at:
            return "canceled"
        if processed_at >= self.expires_at:
            return "expired"
        kind = entry[3]
        if kind in SUCCEEDED:
            return "succeeded"
        if kind == "expired":
            return "expired"
        return "errored"


def final_counts(plan: list[PlanEntry], timeline: Timeline) -> dict[str, int]:
    counts = dict.fromkeys(RESULT_TYPES, 0)
    if (
        timeline.cancel_initiated_at is None
        and timeline.created_at + timeline.processing_seconds < timeline.expires_at
    ):
        # Every request is processed (u < 1) before expiry and none is canceled: kinds decide.
        kinds = Counter(map(itemgetter(3), plan))
        counts["succeeded"] = sum(kinds.pop(kind, 0) for kind in SUCCEEDED)
        counts["expired"] = kinds.pop("expired", 0)
        counts["errored"] = sum(kinds.values())
        return {"processing": 0, **counts}
    for entry in plan:
        counts[timeline.final_type(entry)] += 1
    return {"processing": 0, **counts}


def _result(batch_id: str, entry: PlanEntry, result_type: str,
            usage: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    if result_type == "succeeded":
        message_id = model.message_id(batch_id, entry[0])
        reply = model.render_message(message_id, entry[4])
        if entry[3] in STOPS:
            reply["stop_reason"] = entry[3]
            if entry[3] == "refusal":  # declined: no answer ("refusal" returns no content
                reply["content"] = []  # blocks, muapi.ai's Fable 5 guide)
        cached = usage.get(entry[0])
        if cached is not None:  # emulator.cachesim
            reply["usage"].update(cached)
        return {"type": "succeeded", "message": reply}
    if result_type == "errored":
        kind = entry[3]
        message = entry[4] if kind in _CHECKED else RETRYABLE_ERRORS[kind]
        error_type = _CHECKED.get(kind, kind)
        return {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": error_type, "message": message},
                "request_id": None,
            },
        }
    return {"type": result_type}


def result_lines(batch_id: str, plan: list[PlanEntry], timeline: Timeline,
                 usage: Mapping[str, dict[str, Any]] | None = None) -> Iterator[bytes]:
    """The results file, one compact JSON line per request, in a seeded shuffled order;
    ``usage``: the cache's usage of the requests that have a marker (emulator.cachesim)."""
    dumps = orjson.dumps
    cached = usage or {}
    for entry in sorted(plan, key=lambda e: e[2]):
        line = {
            "custom_id": entry[0],
            "result": _result(batch_id, entry, timeline.final_type(entry), cached),
        }
        yield dumps(line) + b"\n"

"""The summary of a results download: counts per result type, tokens, estimated cost.

Cost is at batch rates from the dated price table (``batchctl.core.catalog.prices``, or a table given
with ``--prices``), per model; a model the table does not know gets no figure (None) and is
named, rather than being guessed. Tokens are summed in buckets per model (and per long-prompt
tier for models priced by prompt length), so adding a result costs a few dict operations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from batchctl.core.caching.realised import cache_figures
from batchctl.core.catalog import prices
from batchctl.core.errors import FailedRequestsError
from batchctl.core.results.blocks import RESULT_TYPES, BlockReading
from batchctl.core.results.lines import lines_of, parse_lines

if TYPE_CHECKING:
    from batchctl.core.caching.groups import ResultGroups

# A succeeded result whose turn the API paused (server tools): stop_reason pause_turn. The
# request is unfinished: the client is to send the reply back to continue it (docs, "Handling
# stop reasons"; issue #12). Counted apart from the finished ones.
PAUSE_TURN = "pause_turn"
#: Succeeded results whose answer is not a whole one, each counted apart (types/stop_reason.py,
#: SDK 2.17): pause_turn (above), refusal (the model declined to answer) and
#: model_context_window_exceeded (the context window filled: the output is cut short).
STOP_REASONS = (PAUSE_TURN, "refusal", "model_context_window_exceeded")
#: ``--exit-status`` counts these as failed requests (exit 9): no answer came back whole.
FAILED_STOPS = ("refusal", "model_context_window_exceeded")

TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)


@dataclass
class Summary(BlockReading):
    """What was written: counts per result type, tokens, and the estimated cost."""

    price_table: Mapping[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULT_TYPES, 0))
    # (model, long-prompt tier) -> [requests, input, output, cache write 5m, 1h, cache read]
    buckets: dict[tuple[str, bool], list[int]] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # the tracked jobs the batches belong to
    path: str | None = None
    written_bytes: int = 0
    error_types: dict[str, int] = field(default_factory=dict)  # errored results per error type
    stopped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STOP_REASONS, 0))
    _limits: dict[str, float] = field(default_factory=dict)
    #: the cache group of each request (``open_export`` sets it when the requests are known)
    cache: ResultGroups | None = None

    def add(self, block: bytes, batch_id: str = "") -> None:
        """Count a block of whole results lines (JSONL, each ending in a newline): the one way
        results reach the summary. Read as bytes where the block looks as the API writes it,
        else parsed line by line (a line that is not a JSON object: UnavailableError naming
        ``batch_id``)."""
        if not self._fast(block):
            for record in parse_lines(lines_of(block), batch_id):
                self._record(record)

    def _record(self, record: Mapping[str, Any]) -> None:
        """Count one parsed results line."""
        try:  # the usual shape, read directly
            result = record["result"]
            kind = result["type"]
            self.counts[kind] += 1
        except (KeyError, TypeError):
            result = record.get("result")
            kind = result.get("type") if isinstance(result, dict) else None
            key = kind if isinstance(kind, str) else "unknown"
            self.counts[key] = self.counts.get(key, 0) + 1
        if kind == "errored":
            self._error_type(result)
        if kind != "succeeded":
            return
        message = result.get("message")
        stop = message.get("stop_reason") if isinstance(message, dict) else None
        if stop in self.stopped:
            self.stopped[stop] += 1
        if isinstance(message, dict) and isinstance(message.get("usage"), dict):
            model = str(message.get("model") or "unknown")
            self._usage(model, message["usage"])
            if self.cache is not None and self.cache.marked:
                self.cache.result(record.get("custom_id"), model, message["usage"])

    def _error_type(self, result: Any) -> None:
        """Count an errored result under its error type (``result.error.error.type``)."""
        envelope = result.get("error") if isinstance(result, dict) else None
        inner = envelope.get("error") if isinstance(envelope, dict) else None
        kind = inner.get("type") if isinstance(inner, dict) else None
        if not isinstance(kind, str) and isinstance(envelope, dict):
            kind = envelope.get("type")  # a flat error, should one ever come
        key = kind if isinstance(kind, str) else "unknown"
        self.error_types[key] = self.error_types.get(key, 0) + 1

    def _usage(self, model: str, usage: Mapping[str, Any]) -> None:
        get = usage.get
        i = get("input_tokens") or 0
        cw = get("cache_creation_input_tokens") or 0
        cr = get("cache_read_input_tokens") or 0
        detail = get("cache_creation")
        cw1h = (detail.get("ephemeral_1h_input_tokens") or 0) if type(detail) is dict else 0
        b = self._bucket((model, i + cw + cr > self._limit(model)))
        b[0] += 1
        b[1] += i
        b[2] += get("output_tokens") or 0
        b[3] += cw - cw1h
        b[4] += cw1h
        b[5] += cr

    def _limit(self, model: str) -> float:
        limit = self._limits.get(model)
        if limit is None:
            limit = self._limits[model] = prices.long_prompt_limit(model, self.price_table)
        return limit

    def _bucket(self, key: tuple[str, bool]) -> list[int]:
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [0, 0, 0, 0, 0, 0]
        return b

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def tokens(self) -> dict[str, int]:
        sums = [sum(b[k] for b in self.buckets.values()) for k in range(1, 6)]
        return {
            "input_tokens": sums[0],
            "output_tokens": sums[1],
            "cache_creation_input_tokens": sums[2] + sums[3],
            "cache_read_input_tokens": sums[4],
        }

    def costs(self) -> dict[str, Any]:
        """Estimated USD at batch rates per model and in total; unknown models get None."""
        table = self.price_table or prices.price_table()
        per_model: dict[str, float | None] = {}
        for (model, long), b in sorted(self.buckets.items()):
            cost = prices.cost(model, dict(zip(TOKEN_KEYS, b[1:], strict=True)), long=long,
                               table=table)
            if cost is None:
                per_model[model] = None
                continue
            per_model[model] = (per_model.get(model) or 0.0) + cost
        unpriced = sorted(m for m, c in per_model.items() if c is None)
        priced = [c for c in per_model.values() if c is not None]
        return {
            "est_cost_usd": round(sum(priced), 6) if priced or not per_model else None,
            "cost_by_model": {
                m: (None if c is None else round(c, 6)) for m, c in per_model.items()
            },
            "unpriced_models": unpriced,
            "prices_as_of": table.get("as_of"),
            "prices_file": table.get("source_file"),
        }

    def caching(self) -> dict[str, Any]:
        """What caching did (core/caching/realised.py): the token-weighted hit rate, the cost
        without caching and the saving, at batch rates over the priced models; the requests
        that carried a marker (None: their files were not read) and the groups where caching
        did not work (core/caching/groups.py)."""
        rows = [(model, long, b) for (model, long), b in self.buckets.items()]
        figures = cache_figures(rows, self.price_table or prices.price_table())
        groups = self.cache.report() if self.cache is not None else {
            "cache_marked_requests": None, "cache_groups_flagged": 0, "cache_groups": []}
        return {**{k: figures[k] for k in ("cache_hit_rate", "cost_without_cache_usd",
                                           "saved_usd")}, **groups}

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": list(self.batches),
            "jobs": list(self.jobs),
            "path": self.path,
            "bytes": self.written_bytes,
            "results": self.total,
            "counts": dict(self.counts),
            "error_types": dict(sorted(self.error_types.items())),
            **self.stopped,  # pause_turn, refusal, model_context_window_exceeded
            **self.tokens(),
            **self.costs(),
            **self.caching(),
        }


def check_stops(summary: Summary) -> None:
    """For ``--exit-status`` after results were read: FailedRequestsError (exit 9) when some
    succeeded without a whole answer (``FAILED_STOPS``), which the batch's counts do not show."""
    found = [f"{summary.stopped[r]:,} with stop_reason {r}" for r in FAILED_STOPS if summary.stopped[r]]
    if found:
        raise FailedRequestsError(
            f"results came back without a whole answer: {', '.join(found)} (counted as "
            "succeeded by the API)")

"""The summary of a results download: counts per result type, tokens, estimated cost.

Cost is at batch rates from the dated price table (``batchctl.core.catalog.prices``, or a table given
with ``--prices``), per model; a model the table does not know gets no figure (None) and is
named, rather than being guessed. Tokens are summed in buckets per model (and per long-prompt
tier for models priced by prompt length), so adding a result costs a few dict operations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import add, itemgetter, lt
from typing import Any

import orjson

from batchctl.core.catalog import prices
from batchctl.core.results.lines import lines_of, parse_lines

RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")
_TYPE_PATTERNS = {t: b'"result":{"type":"%s"' % t.encode() for t in RESULT_TYPES}
_USAGE = b'"usage":{'
_MODEL = b'"model":"'
_ANY_TYPE = b'"result":{"type":"'
_ONE_HOUR = b'"ephemeral_1h_input_tokens":'
# usage fields summed column-wise: input, output, cache write, cache read tokens
_USAGE_COLUMNS = tuple(
    itemgetter(k)
    for k in (
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    )
)

TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)


@dataclass
class Summary:
    """What was written: counts per result type, tokens, and the estimated cost."""

    price_table: Mapping[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESULT_TYPES, 0))
    # (model, long-prompt tier) -> [requests, input, output, cache write 5m, 1h, cache read]
    buckets: dict[tuple[str, bool], list[int]] = field(default_factory=dict)
    batches: list[str] = field(default_factory=list)
    path: str | None = None
    written_bytes: int = 0
    error_types: dict[str, int] = field(default_factory=dict)  # errored results per error type
    _limits: dict[str, float] = field(default_factory=dict)

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
        if isinstance(message, dict) and isinstance(message.get("usage"), dict):
            self._usage(str(message.get("model") or "unknown"), message["usage"])

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
            limit = self._limits[model] = _long_limit(model, self.price_table)
        return limit

    def _bucket(self, key: tuple[str, bool]) -> list[int]:
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = [0, 0, 0, 0, 0, 0]
        return b

    def _fast(self, block: bytes) -> bool:
        """Count a block of whole results lines without parsing them whole; False, with
        nothing counted, if the block does not look as the API writes it.

        The API writes ``{"custom_id":...,"result":{"type":"succeeded","message":{"id":...,
        "model":...,"content":[...],...,"usage":{...}}}}``: result types are counted with
        ``bytes.count``, each succeeded line's usage object (its last field) and model (its
        first ``"model"`` key) are cut out where they sit, the usages of the block are parsed
        by one ``orjson.loads`` and summed column-wise per model. Every count is checked
        against the number of lines, so text that happens to hold those patterns sends the
        block to the full parse rather than being miscounted. Per line, only C-level ``map``
        passes: no Python code runs per result.
        """
        lines = block.split(b"\n")
        if len(lines) == 1:
            return not block.strip()
        if lines.pop() or b"" in lines:  # no final newline, or a blank line
            return False
        n = len(lines)
        if block.count(_ANY_TYPE) != n:
            return False
        found = [block.count(_TYPE_PATTERNS["succeeded"]), 0, 0, 0]
        if found[0] == n:
            succ = lines
        else:
            found[1:] = [block.count(_TYPE_PATTERNS[t]) for t in RESULT_TYPES[1:]]
            if sum(found) != n:
                return False
            is_succeeded = map(bytes.__contains__, lines, repeat(_TYPE_PATTERNS["succeeded"]))
            succ = list(compress(lines, is_succeeded))
            if len(succ) != found[0]:
                return False
        if succ and not self._add_usages(succ):
            return False
        if found[1]:  # errored lines are few: parse them for their error type
            pattern = _TYPE_PATTERNS["errored"]
            for line in lines:
                if pattern in line:
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        record = {}
                    self._error_type(record.get("result") if isinstance(record, dict) else None)
        for kind, k in zip(RESULT_TYPES, found, strict=True):
            self.counts[kind] += k
        return True

    def _add_usages(self, lines: list[bytes]) -> bool:
        """Sum the usage of succeeded lines; False, with nothing summed, if one looks odd."""
        usage_at = list(map(bytes.rfind, lines, repeat(_USAGE)))  # the last field
        model_at = list(map(bytes.find, lines, repeat(_MODEL)))  # the message's first key
        if -1 in model_at or not all(map(lt, model_at, usage_at)):
            return False
        if not all(map(bytes.endswith, lines, repeat(b"}}}"))):
            return False
        name_at = list(map(add, model_at, repeat(len(_MODEL))))
        quote_at = list(map(bytes.find, lines, repeat(b'"'), name_at, usage_at))
        if -1 in quote_at:
            return False
        raw_models = list(map(bytes.__getitem__, lines, map(slice, name_at, quote_at)))
        starts = map(add, usage_at, repeat(len(_USAGE) - 1))
        joined = b",".join(map(bytes.__getitem__, lines, map(slice, starts, repeat(-3))))
        try:
            usages = orjson.loads(b"[" + joined + b"]")
            names = {raw: _model_name(raw) for raw in set(raw_models)}
        except (orjson.JSONDecodeError, ValueError):
            return False
        if len(usages) != len(lines) or set(map(type, usages)) != {dict}:
            return False
        if _ONE_HOUR in joined and joined.count(_ONE_HOUR) != (
            joined.count(_ONE_HOUR + b"0,") + joined.count(_ONE_HOUR + b"0}")
        ):  # 1-hour cache writes: split per record
            for raw, usage in zip(raw_models, usages, strict=True):
                self._usage(names[raw], usage)
            return True
        groups = (
            [(raw_models[0], usages)]
            if len(names) == 1
            else [(raw, list(compress(usages, map(raw.__eq__, raw_models)))) for raw in names]
        )
        for raw, group in groups:
            if not self._sum_columns(names[raw], group):
                for usage in group:
                    self._usage(names[raw], usage)
        return True

    def _sum_columns(self, model: str, usages: list[dict[str, Any]]) -> bool:
        """Add the usages of one model (no 1-hour cache writes) column by column; False, with
        nothing added, unless every token field is there."""
        try:
            cols = [list(map(get, usages)) for get in _USAGE_COLUMNS]
        except KeyError:
            return False
        return self._add_columns(model, cols)

    def _add_columns(self, model: str, cols: list[list[Any]]) -> bool:
        """Add token columns (input, output, cache write, cache read) of one model's requests;
        False, with nothing added, unless all are integers and no prompt reaches the model's
        long-prompt tier."""
        try:
            sums = [sum(col) for col in cols]
        except TypeError:
            return False
        if any(type(s) is not int for s in sums):
            return False
        limit = self._limit(model)
        if limit != math.inf and max(map(add, map(add, cols[0], cols[2]), cols[3])) > limit:
            return False
        b = self._bucket((model, False))
        b[0] += len(cols[0])
        b[1] += sums[0]
        b[2] += sums[1]
        b[3] += sums[2]
        b[5] += sums[3]
        return True

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
            rates = prices.request_rates(model, _limit_plus(model, table) if long else 0, table)
            if rates is None:
                per_model[model] = None
                continue
            cost = prices.usage_cost(rates, dict(zip(TOKEN_KEYS, b[1:], strict=True)), table)
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": list(self.batches),
            "path": self.path,
            "bytes": self.written_bytes,
            "results": self.total,
            "counts": dict(self.counts),
            "error_types": dict(sorted(self.error_types.items())),
            **self.tokens(),
            **self.costs(),
        }


def _model_name(raw: bytes) -> str:
    """A model name cut from the bytes; an escape in it (ValueError) needs the full parse."""
    if b"\\" in raw:
        raise ValueError("escaped model name")
    return raw.decode("utf-8") or "unknown"


def _long_limit(model: str, table: Mapping[str, Any] | None) -> float:
    price = (table or prices.price_table())["models"].get(model) or {}
    long = price.get("long_prompt")
    return float(long.get("over_tokens", float("inf"))) if isinstance(long, dict) else float("inf")


def _limit_plus(model: str, table: Mapping[str, Any]) -> int:
    return int(_long_limit(model, table)) + 1

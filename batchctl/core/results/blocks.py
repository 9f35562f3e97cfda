"""The summary's fast read: a block of results lines counted as bytes, without parsing each
line whole (see ``BlockReading._fast``). ``Summary`` (batchctl.core.results.summary) uses it
for every block and parses the lines of a block it declines."""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import compress, repeat
from operator import add, itemgetter, lt
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.results.sources import custom_id_of

if TYPE_CHECKING:
    from batchctl.core.caching.groups import ResultGroups

RESULT_TYPES = ("succeeded", "errored", "canceled", "expired")
_TYPE_PATTERNS = {t: b'"result":{"type":"%s"' % t.encode() for t in RESULT_TYPES}
_USAGE = b'"usage":{'
_MODEL = b'"model":"'
_ANY_TYPE = b'"result":{"type":"'
_ONE_HOUR = b'"ephemeral_1h_input_tokens":'
#: summary.STOP_REASONS: results that stopped so are counted by the full parse
_STOPS = (b'"stop_reason":"pause_turn"', b'"stop_reason":"refusal"',
          b'"stop_reason":"model_context_window_exceeded"')
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


class BlockReading:
    """The byte-level half of ``Summary``: adds to the counts and buckets ``Summary`` keeps."""

    counts: dict[str, int]
    cache: ResultGroups | None

    def _usage(self, model: str, usage: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _error_type(self, result: Any) -> None:
        raise NotImplementedError

    def _limit(self, model: str) -> float:
        raise NotImplementedError

    def _bucket(self, key: tuple[str, bool]) -> list[int]:
        raise NotImplementedError

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
        if any(stop in block for stop in _STOPS):  # (rare): counted by the full parse, line by line
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
        if self.cache is not None and self.cache.marked:  # per result, for its cache group
            for line, raw, usage in zip(lines, raw_models, usages, strict=True):
                self.cache.result(custom_id_of(line), names[raw], usage)
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


def _model_name(raw: bytes) -> str:
    """A model name cut from the bytes; an escape in it (ValueError) needs the full parse."""
    if b"\\" in raw:
        raise ValueError("escaped model name")
    return raw.decode("utf-8") or "unknown"

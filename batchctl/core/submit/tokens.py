"""``submit --dry-run --count-tokens``: exact input tokens from the API's free count-tokens endpoint.

Each distinct prompt is counted once: two requests whose counted fields (model, system,
messages, tools, tool_choice, thinking, output_config...) are equal share a count. A first pass
over the file finds the distinct prompts (a 16-byte digest each, so memory stays small); a
second sends the first request of each, ``WORKERS`` at a time, through the SDK
(``Api.count_tokens``; the SDK retries 429s and 5xx as it does for every call), yielding how
many are counted as they come. The result is the input tokens per model, for the dry run's
table and cost, and for ``--max-cost``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.events import Events, Progress

if TYPE_CHECKING:
    from batchctl.core.api.client import Api
    from batchctl.core.requests.cacheplan import CacheSummary, Caching

WORKERS = 8  # count-tokens calls in flight at once
# The Messages fields count_tokens takes (anthropic.types.MessageCountTokensParams); max_tokens,
# temperature, stop_sequences... do not change a prompt's input tokens and are not sent.
FIELDS = (
    "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config",
    "mcp_servers", "context_management", "container",
)

def _fields(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in FIELDS if k in params}


def _digest(fields: dict[str, Any]) -> bytes:
    return hashlib.blake2b(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS),
                           digest_size=16).digest()


def _requests(path: Path, display: str) -> Any:
    """The counted fields of every request of a valid file (InputError at a bad line)."""
    from batchctl.core.errors import InputError
    from batchctl.core.requests.scan import check_request, iter_lines, to_request

    for line_no, _text, line in iter_lines(path):
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise InputError(f"{display}:{line_no}: not JSON (the file changed?)") from None
        _cid, _params, _, found = check_request(obj)
        if found:
            raise InputError(f"{display}: invalid request on line {line_no}",
                             problems=[f"{display}:{line_no}: {m}" for m in found])
        params = to_request(obj).get("params")
        if isinstance(params, dict):
            yield _fields(params)


def count_input_tokens(
    api: Api, path: Path, display: str, *, workers: int = WORKERS,
) -> Events[tuple[dict[str, int], int]]:
    """``({model: input tokens}, distinct prompts)`` for a valid request file; how many are
    counted so far is yielded as ``Progress`` while the calls are under way."""
    uses: dict[bytes, int] = {}
    for fields in _requests(path, display):
        key = _digest(fields)
        uses[key] = uses.get(key, 0) + 1
    total = len(uses)
    counted: dict[bytes, tuple[str, int]] = {}
    lock = threading.Lock()
    slots = threading.BoundedSemaphore(workers * 2)  # bodies waiting or in flight
    told = [0]

    def count(key: bytes, fields: dict[str, Any]) -> None:
        try:
            tokens = api.count_tokens(fields)
            with lock:
                counted[key] = (str(fields.get("model")), tokens)
        finally:
            slots.release()

    def progress() -> Iterator[Progress]:
        with lock:
            done = len(counted)
        if done != told[0]:
            told[0] = done
            yield Progress(done, total)

    futures: list[Future[None]] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="count-tokens") as pool:
        sent: set[bytes] = set()
        for fields in _requests(path, display):
            key = _digest(fields)
            if key in sent:
                continue
            sent.add(key)
            slots.acquire()
            yield from progress()
            failed = [f for f in futures if f.done() and f.exception() is not None]
            if failed:
                slots.release()
                break
            futures.append(pool.submit(count, key, fields))
            futures = [f for f in futures if not f.done() or f.exception() is not None]
        running = set(futures)
        while running:
            _done, running = wait(running, return_when=FIRST_COMPLETED)
            yield from progress()
            if any(f.exception() is not None for f in _done):
                break
        for future in futures:
            if future.done() and future.exception() is not None:
                for other in futures:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
    per_model: dict[str, int] = {}
    for key, n in uses.items():
        model, tokens = counted[key]
        per_model[model] = per_model.get(model, 0) + tokens * n
    return per_model, total


def count_prefixes(
    api: Api, path: Path, summary: CacheSummary, caching: Caching, *, workers: int = WORKERS,
) -> Events[CacheSummary]:
    """The cache report again with each group's shared prefix counted by the API (a request
    holding only the prefix, from the group's first request: ``blocks.prefix``), one call a
    group, ``workers`` at a time; how many are counted so far is yielded as ``Progress``."""
    from dataclasses import replace

    from batchctl.core.caching.blocks import prefix
    from batchctl.core.requests.cacheplan import refit
    from batchctl.core.requests.scan import iter_lines, to_request

    grouping = summary.grouping
    if grouping is None or not grouping.groups:
        return summary
    firsts = {g.first: g for g in grouping.groups}
    counted: dict[int, int] = {}
    waiting: list[tuple[int, dict[str, Any]]] = []  # at most 2 * workers prefixes held

    def flush(pool: ThreadPoolExecutor) -> Iterator[Progress]:
        tokens = pool.map(api.count_tokens, [fields for _, fields in waiting])
        counted.update(zip([gid for gid, _ in waiting], tokens, strict=True))
        waiting.clear()
        yield Progress(len(counted), len(firsts))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="count-tokens") as pool:
        for line_no, _text, line in iter_lines(path):
            group = firsts.get(line_no)
            if group is None:
                continue
            params = to_request(orjson.loads(line))["params"]
            waiting.append((group.id, _fields(prefix(params, group.breakpoint))))
            if len(waiting) >= 2 * workers:
                yield from flush(pool)
        if waiting:
            yield from flush(pool)
    found = refit(summary, counted, caching)
    if found is None:
        return summary
    return replace(summary, report=found.as_dict(), grouping=found.grouping)

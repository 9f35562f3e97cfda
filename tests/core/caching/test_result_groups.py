"""The cache groups of a job's results (core/caching/groups.py): what requests share before their
messages, which carried a marker, and a results summary reading each result into its group on
both of its paths (the byte-level one and the full parse)."""

from __future__ import annotations

from typing import Any

import orjson

from batchctl.core.caching.groups import ResultGroups
from batchctl.core.results.summary import Summary
from tests.support.caching import EPH, HAIKU, HOUR, SONNET, text


def params(system: Any, model: str = HAIKU, **more: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 10, "system": system,
            "messages": [{"role": "user", "content": "Which one?"}], **more}


def test_a_group_is_the_model_tools_and_system_markers_left_out() -> None:
    groups = ResultGroups()
    groups.add("a", params("Shared."), 1)
    groups.add("b", params([text("Shared.", HOUR)]), 2)  # one block, as the string is; marked
    groups.add("c", params([text("Shared.", EPH)], model=SONNET), 3)  # caches are per model
    groups.add("d", params("Shared.", tools=[{"name": "t", "input_schema": {}}]), 4)
    groups.add("e", params("Other."), 5)  # no marker in its group
    groups.add("b", params("Other."), 9)  # a retry's request, seen already
    assert [(g.id, g.model, g.custom_id, g.line, g.requests, g.marked) for g in groups.groups] == [
        (1, HAIKU, "a", 1, 2, 1), (2, SONNET, "c", 3, 1, 1), (3, HAIKU, "d", 4, 1, 0),
        (4, HAIKU, "e", 5, 1, 0)]
    assert [groups.of(c) for c in ("a", "b", "c", "d", "e", "zz", None)] == [1, 1, 2, None, None,
                                                                             None, None]
    assert groups.marked == 2
    planned = ResultGroups()  # a recorded plan's groups, given as keys
    for cid, key in (("a", 7), ("b", 3), ("c", 7)):
        planned.add(cid, params([text("Doc.", HOUR)], model=SONNET), key=key)
    assert [planned.of(c) for c in "abc"] == [1, 2, 1]


def line(custom_id: str, usage: dict[str, int], model: str = HAIKU) -> bytes:
    """A results line as the API writes it (key order included)."""
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
               "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
               "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 2, **usage}}
    return orjson.dumps({"custom_id": custom_id, "result": {"type": "succeeded",
                                                            "message": message}}) + b"\n"


def summarised(block: bytes, groups: ResultGroups, full: bool) -> dict[str, Any]:
    summary = Summary(cache=groups)
    if full:  # the line by line parse (what a block the byte-level read declines gets)
        for record in block.splitlines():
            summary._record(orjson.loads(record))
    else:
        assert summary._fast(block)
    return summary.as_dict()


def test_the_byte_level_read_and_the_full_parse_group_results_alike() -> None:
    written = {"cache_creation_input_tokens": 5000, "cache_read_input_tokens": 0}
    read = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 5000}
    none = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    block = (line("w1", written) + line("w2", written) + line("r1", read) + line("s1", none)
             + line("s2", none) + line("x", read))

    def groups() -> ResultGroups:
        g = ResultGroups()
        for cid in ("w1", "w2", "r1"):
            g.add(cid, params([text("Long document.", HOUR)]))
        for cid in ("s1", "s2"):
            g.add(cid, params([text("Short.", HOUR)]))
        g.add("x", params("Not marked."))
        return g

    fast, full = summarised(block, groups(), False), summarised(block, groups(), True)
    keys = ("cache_hit_rate", "saved_usd", "cache_marked_requests", "cache_groups_flagged",
            "cache_groups")
    assert {k: fast[k] for k in keys} == {k: full[k] for k in keys}
    assert fast["cache_hit_rate"] == 0.5  # the job: 10,000 read (x too), 10,000 written
    assert fast["cache_marked_requests"] == 5
    assert [(g["group"], g["flags"], g["results"]) for g in fast["cache_groups"]] == [
        (1, ["writes_outnumber_reads"], 3), (2, ["no_cache"], 2)]
    assert fast["cache_groups"][0]["cache_hit_rate"] == round(5000 / 15000, 4)


def test_without_the_requests_no_group_is_named() -> None:
    summary = Summary()
    summary.add(line("a", {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 40}))
    data = summary.as_dict()
    assert data["cache_marked_requests"] is None and data["cache_groups"] == []
    assert data["cache_hit_rate"] == 1.0 and data["saved_usd"] > 0

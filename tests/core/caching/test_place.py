"""The plan's markers put into the bodies sent (issue 20 item 2): where, when not, and the same
bytes every time."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from batchctl.core.caching import markers
from batchctl.core.caching.minimums import builtin_minimums
from batchctl.core.caching.place import (
    AFTER_FIVE_MINUTES,
    ALREADY_MARKED,
    FOUR_MARKERS,
    MARKER,
    TOP_LEVEL_ON_BLOCK,
    CachePlan,
    place,
)
from tests.support.caching import DOC, EPH, HAIKU, HOUR, SONNET, ask, grouped, questions, text


def plan_of(requests: list[dict[str, Any]]) -> CachePlan:
    return CachePlan.from_grouping(grouped(requests))


def sent(requests: list[dict[str, Any]], plan: CachePlan | None = None) -> list[bytes]:
    plan = plan or plan_of(requests)
    return [orjson.dumps(place(params, plan).body) for params in requests]


def test_the_marker_goes_on_the_last_shared_block_of_a_new_body() -> None:
    requests = questions(3)
    before = copy.deepcopy(requests)
    placed = [place(params, plan_of(requests)) for params in requests]
    assert requests == before  # the user's requests are untouched
    assert [(p.group, p.at, p.skipped) for p in placed] == [(1, "messages.0.content.0", None)] * 3
    content = placed[0].body["messages"][0]["content"]
    assert content[0] == text(DOC, MARKER) and "cache_control" not in content[1]
    assert placed[0].body["system"] is requests[0]["system"]  # untouched parts are shared
    assert all(markers.check(p.body) == [] for p in placed)


def test_a_string_system_becomes_one_marked_text_block() -> None:
    requests = [{"model": SONNET, "max_tokens": 9, "system": DOC,
                 "messages": [{"role": "user", "content": f"Question {i}"}]} for i in range(2)]
    body = place(requests[0], plan_of(requests)).body
    assert body["system"] == [{"type": "text", "text": DOC, "cache_control": MARKER}]
    assert body["messages"] == requests[0]["messages"]


def test_the_users_own_markers_are_kept_and_counted() -> None:
    five_after = ask("q0")
    five_after["messages"][0]["content"][1] = text("q0", EPH)  # after the document: fine
    five_before = ask("q1", system=[text("Answer briefly.", EPH)], doc=DOC)
    four = ask("q2", tools=[{"name": f"t{i}", "input_schema": {"type": "object"}, "cache_control": HOUR}
                            for i in range(3)], cache_control=HOUR)
    already = ask("q3")
    already["messages"][0]["content"][0] = text(DOC, EPH)
    plain = questions(2)
    # each shares the document with the plain ones but tools or system apart: one plan each way
    requests = [*plain, five_after, already]
    plan = plan_of(requests)
    got = {p.skipped for p in (place(r, plan) for r in requests)}
    assert got == {None, ALREADY_MARKED}
    placed = place(five_after, plan)
    assert placed.skipped is None and placed.body["messages"][0]["content"][1] == text("q0", EPH)
    assert markers.check(placed.body) == []
    assert place(already, plan).body is already
    for request, reason in ((five_before, AFTER_FIVE_MINUTES), (four, FOUR_MARKERS)):
        pair = [request, copy.deepcopy(request) | {"max_tokens": 7}]
        result = place(request, plan_of(pair))
        assert (result.skipped, result.body is request) == (reason, True)


def test_no_marker_on_the_last_block_when_a_top_level_one_goes_there() -> None:
    same = [ask("same", cache_control=HOUR), ask("same", cache_control=HOUR)]
    result = place(same[0], plan_of(same))
    assert result.skipped == TOP_LEVEL_ON_BLOCK and result.body is same[0]


def test_no_marker_under_the_minimum_nor_for_a_request_in_no_group() -> None:
    haiku = questions(3, model=HAIKU)  # 3,715 tokens under 4,096
    assert plan_of(haiku).breakpoints == {}
    assert all(place(r, plan_of(haiku)).body is r for r in haiku)
    alone = ask("q", doc="Something else entirely.")
    assert place(alone, plan_of(questions(2))).body is alone


def test_thinking_and_empty_blocks_are_stepped_over() -> None:
    thought = {"type": "thinking", "thinking": "Let me read it.", "signature": "sig"}

    def turn(question: str) -> dict:
        return {"model": SONNET, "max_tokens": 10, "messages": [
            {"role": "user", "content": [text(DOC)]},
            {"role": "assistant", "content": [thought, text("")]},
            {"role": "user", "content": question}]}

    requests = [turn("a"), turn("b")]
    body = place(requests[0], plan_of(requests)).body
    assert body["messages"][0]["content"][0]["cache_control"] == MARKER
    assert body["messages"][1] is requests[0]["messages"][1]


def test_the_same_file_gives_the_same_plan_and_the_same_bytes() -> None:
    first, second = questions(4), questions(4)
    assert plan_of(first).digest() == plan_of(second).digest()
    assert sent(first) == sent(second)
    recorded = CachePlan.from_record(orjson.loads(orjson.dumps(plan_of(first).record())))
    assert recorded.digest() == plan_of(first).digest()
    assert sent(first, recorded) == sent(first)
    other = questions(4, doc=DOC + " And then they left.")
    assert plan_of(other).digest() != plan_of(first).digest()


def test_a_record_of_another_version_is_refused() -> None:
    record = plan_of(questions(2)).record()
    with pytest.raises(ValueError, match="version"):
        CachePlan.from_record({**record, "version": 99})
    with pytest.raises(ValueError, match="cannot be read"):
        CachePlan.from_record({**record, "breakpoints": [{"prefix": "zz", "depth": 1, "group": 1}]})


def test_every_placed_body_passes_the_api_rules() -> None:
    """However the user marked them, the bodies sent never break the marker rules, and the
    minimum table leaves the planned marker unwarned."""
    variants = [ask("a"), ask("b", cache_control=EPH), ask("c", system=[text("S", HOUR)]),
                ask("d", tools=[{"name": "t", "input_schema": {"type": "object"}, "cache_control": HOUR}])]
    requests = [v | {"max_tokens": n} for v in variants for n in (1, 2)]
    plan = plan_of(requests)
    for request in requests:
        body = place(request, plan).body
        problems = markers.check(body, builtin_minimums())
        assert [p for p in problems if not p.warning] == [], (request, problems)

"""Groups of requests that can share a cache and the longest prefix each shares (issue 20 item 1):
block granularity, the cache's order tools -> system -> messages, the settings that split the
message part, the model's minimum cacheable length."""

from __future__ import annotations

import math
from typing import Any

from batchctl.core.caching.planner import ONE_REQUEST, UNDER_MINIMUM, Planner
from tests.support.caching import DOC, HAIKU, HOUR, SONNET, SYSTEM, ask, grouped, questions, text

PREFIX = math.ceil(len(SYSTEM) / 4) + math.ceil(len(DOC) / 4)  # system, then the document


def summary(requests: list[dict[str, Any]], **finish: Any) -> list[tuple]:
    return [(g.id, g.model, g.requests, g.first, g.at, g.tokens, g.reason)
            for g in grouped(requests, **finish).groups]


def test_one_document_many_questions_is_one_group_marked_after_the_document() -> None:
    groups = grouped(questions(5)).groups
    assert len(groups) == 1
    group = groups[0]
    assert (group.requests, group.first, group.at) == (5, 1, "messages.0.content.0")
    assert group.blocks == {"tools": 0, "system": 1, "messages": 1}
    assert (group.tokens, group.tokens_source) == (PREFIX, "estimate")
    assert group.minimum == (1024, "table") and group.planned


def test_requests_that_share_nothing_are_in_no_group() -> None:
    alone = [ask("q", doc=f"Document number {i}.", system=f"System {i}") for i in range(3)]
    grouping = grouped(alone)
    assert grouping.groups == [] and list(grouping.of_request) == [-1, -1, -1]


def test_each_model_is_a_group_of_its_own() -> None:
    mixed = [*questions(2), *questions(3, model="claude-opus-4-8")]
    assert [(g.model, g.requests, g.first) for g in grouped(mixed).groups] == [
        (SONNET, 2, 1), ("claude-opus-4-8", 3, 3)]


def test_thinking_settings_split_the_message_part_not_the_system() -> None:
    """Requests that differ in thinking share tools and system, not messages (the docs'
    "What invalidates the cache"): four requests make two groups marked on the document, and
    a third thinking setting alone shares only the system prompt with them."""
    thinking = {"type": "enabled", "budget_tokens": 2000}
    requests = [*questions(2), *questions(2, thinking=thinking)]
    assert [(g.requests, g.at) for g in grouped(requests).groups] == [
        (2, "messages.0.content.0"), (2, "messages.0.content.0")]
    odd = [*requests, ask("Q", thinking={"type": "adaptive"}, doc="another document")]
    assert [(g.requests, g.at, g.reason) for g in grouped(odd).groups] == [
        (2, "messages.0.content.0", None), (2, "messages.0.content.0", None),
        (1, "system.0", ONE_REQUEST)]


def test_tool_choice_effort_and_images_split_the_message_part() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
    for other in ({"tool_choice": {"type": "any"}}, {"output_config": {"effort": "low"}}):
        groups = grouped([*questions(2), *questions(2, **other)]).groups
        assert [g.requests for g in groups] == [2, 2], other
    with_image = ask("What is in the picture?")
    with_image["messages"][0]["content"].append(image)
    groups = grouped([*questions(2), with_image, with_image]).groups
    assert [g.requests for g in groups] == [2, 2]


def test_a_string_is_one_text_block_and_markers_do_not_split() -> None:
    listed = ask("q1", system=[text(SYSTEM, HOUR)])
    marked = ask("q2")
    marked["messages"][0]["content"][0] = text(DOC, HOUR)
    groups = grouped([ask("q0"), listed, marked]).groups
    assert [(g.requests, g.at) for g in groups] == [(3, "messages.0.content.0")]


def test_the_breakpoint_steps_back_over_thinking_and_empty_blocks() -> None:
    thought = {"type": "thinking", "thinking": "Let me read it.", "signature": "sig"}

    def turn(extra: list[dict], question: str) -> dict:
        return {"model": SONNET, "max_tokens": 10, "messages": [
            {"role": "user", "content": [text(DOC)]},
            {"role": "assistant", "content": [*extra, text(f"Answer to {question}")]}]}

    groups = grouped([turn([thought, text("")], "a"), turn([thought, text("")], "b")]).groups
    assert [(g.at, g.blocks["messages"]) for g in groups] == [("messages.0.content.0", 1)]
    # two runs of thoughts after the same document: both step back to it, so one group
    other = {**thought, "thinking": "Another thought."}
    both = [turn([thought], "a"), turn([thought], "b"), turn([other], "c"), turn([other], "d")]
    assert [(g.at, g.requests) for g in grouped(both).groups] == [("messages.0.content.0", 4)]


def test_granularity_is_the_block() -> None:
    """Two documents alike but for their last character share the system prompt only."""
    groups = grouped([ask("q", doc=DOC + "A"), ask("q", doc=DOC + "B")]).groups
    assert [(g.at, g.tokens) for g in groups] == [("system.0", math.ceil(len(SYSTEM) / 4))]


def test_duplicates_share_the_whole_request() -> None:
    groups = grouped([ask("same"), ask("same")]).groups
    assert [g.at for g in groups] == ["messages.0.content.1"]


def test_under_the_minimum_is_reported_and_an_exact_count_decides() -> None:
    assert summary(questions(3, model=HAIKU)) == [
        (1, HAIKU, 3, 1, "messages.0.content.0", PREFIX, UNDER_MINIMUM)]
    counted = grouped(questions(3, model=HAIKU), prefix_tokens={1: 4100}).groups[0]
    assert (counted.tokens, counted.tokens_source, counted.planned) == (4100, "count", True)


def test_the_longest_shared_prefix_of_each_family() -> None:
    """Two families under one model: one reading DOC, one a second document; each marked at the
    end of its own document. A request that shares only the system prompt with them is a group
    of one, not planned: its entry would be written and never read."""
    other = "A second, longer record of the meeting. " * 300
    requests = [*questions(3), *(ask(f"q{i}", doc=other) for i in range(2)), ask("x", doc="tiny")]
    grouping = grouped(requests)
    assert [(g.requests, g.first, g.at, g.reason) for g in grouping.groups] == [
        (3, 1, "messages.0.content.0", None), (2, 4, "messages.0.content.0", None),
        (1, 6, "system.0", ONE_REQUEST)]


def test_the_same_requests_give_the_same_groups() -> None:
    one, two = grouped(questions(4)), grouped(questions(4))
    assert [g.as_dict() for g in one.groups] == [g.as_dict() for g in two.groups]
    assert [g.identity for g in one.groups] == [g.identity for g in two.groups]
    planner = Planner()
    for line, params in enumerate(questions(4), 1):
        planner.add(params, line)
    assert planner.finish().groups[0].as_dict() == planner.finish().groups[0].as_dict()


def test_a_block_nested_deeper_than_orjson_writes_is_still_hashed() -> None:
    deep: Any = "bottom"
    for _ in range(300):  # orjson writes at most 254 levels
        deep = {"k": [deep]}
    tool = {"name": "deep", "input_schema": {"type": "object", "properties": deep}}
    other = {"name": "deep", "input_schema": {"type": "object", "properties": {"k": [deep]}}}
    requests = [ask("q1", tools=[tool]), ask("q2", tools=[tool]), ask("q3", tools=[other])]
    grouping = grouped(requests)  # the third's tool differs: tools come first, it shares nothing
    assert [(g.requests, g.blocks["tools"]) for g in grouping.groups] == [(2, 1)]
    assert list(grouping.of_request) == [0, 0, -1]


def test_the_inference_region_shares_nothing_across() -> None:
    requests = [*questions(2), *questions(2, inference_geo="us")]
    assert [g.requests for g in grouped(requests).groups] == [2, 2]

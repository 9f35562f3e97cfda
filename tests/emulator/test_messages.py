"""A single POST /v1/messages through the real SDK (strict response validation): the stand-in
model's reply as a Message, and the rules of a batch request answered at once, as a 400 (or a
404 for a model that is not there) in the API's envelope."""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulator.test_capabilities import SCHEMA
from tests.support.emulators import NEW_VERSION, assert_envelope
from tests.support.failures import failure
from tests.support.files import request

ASK = [{"role": "user", "content": "What is 2+2?"}]


def test_a_message_is_the_reply_a_batch_request_gets(emulator, client):
    message = client.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=ASK)
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-haiku-4-5" and message.stop_reason == "end_turn"
    assert message.id.startswith("msg_01") and len(message.id) == 28
    text = message.content[0].text
    assert "batchctl emulator" in text and '"What is 2+2?"' in text
    assert message.usage.service_tier == "standard" and message.usage.input_tokens == 3
    batch = client.messages.batches.create(requests=[request("same", "What is 2+2?", max_tokens=200)])
    emulator.clock.advance(3600)
    [line] = client.messages.batches.results(batch.id)
    assert line.result.message.content == message.content
    assert line.result.message.usage.service_tier == "batch"
    with emulator.client() as again:
        assert again.messages.create(model="claude-haiku-4-5", max_tokens=200, messages=ASK).id != message.id


def test_structured_answers_and_the_cut_at_max_tokens(client):
    shaped = client.messages.create(model="claude-sonnet-4-6", max_tokens=500, messages=ASK,
                                    output_config={"format": SCHEMA})
    assert shaped.content[0].text.startswith("{")
    cut = client.messages.create(model="claude-haiku-4-5", max_tokens=3, messages=ASK)
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 3
    zero = client.messages.create(model="claude-haiku-4-5", max_tokens=0, messages=ASK)
    assert zero.usage.output_tokens == 0  # cache pre-warming: refused in batches only


@pytest.mark.parametrize(
    ("params", "headers", "status", "message"),
    [
        ({"model": "claude-sonnet-4-5"}, {}, 404, "model: claude-sonnet-4-5"),
        ({"model": "claude-nope-1"}, {}, 404, "model: claude-nope-1"),
        ({"temperature": 0.5}, {"anthropic-version": NEW_VERSION}, 400,
         "temperature: not supported with anthropic-version 2026-10-21"),
        ({"max_tokens": 64_001}, {}, 400, "max_tokens: 64001 > 64000, which is the maximum allowed "
         "number of output tokens for claude-haiku-4-5"),
        ({"model": "claude-opus-4-6", "max_tokens": 200_000},
         {"anthropic-beta": "output-300k-2026-03-24"}, 400,  # the beta raises it in batches only
         "max_tokens: 200000 > 128000, which is the maximum allowed number of output tokens for "
         "claude-opus-4-6"),
        ({"output_config": {"effort": "high"}}, {}, 400,
         "This model does not support the effort parameter."),
        ({"messages": [{"role": "robot", "content": "x"}]}, {}, 400,
         "messages.0.role: Input should be 'user' or 'assistant', got \"robot\""),
        ({"max_tokens": -1}, {}, 400, "max_tokens: must be at least 0, got -1"),
        ({"stream": True}, {}, 400, "stream: streaming is not supported in the batchctl emulator"),
        ({"betas": ["files-api-2025-04-14"]}, {}, 400, "betas: Extra inputs are not permitted"),
    ],
)
def test_a_broken_message_is_answered_at_once_in_the_envelope(emulator, params, headers, status,
                                                             message):
    body: dict[str, Any] = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": ASK, **params}
    response = emulator.http().post("/v1/messages", json=body, headers=headers)
    error_type = "not_found_error" if status == 404 else "invalid_request_error"
    assert assert_envelope(response, status, error_type)["error"]["message"] == message


def test_the_sdk_sees_the_refusal(client):
    caught = failure(lambda: client.messages.create(
        model="claude-opus-5", max_tokens=4096, messages=ASK,
        thinking={"type": "enabled", "budget_tokens": 2048}))
    assert caught.status_code == 400
    assert caught.body["error"]["message"].startswith('"thinking.type.enabled" is not supported')


def test_fast_mode_is_for_single_messages(client):
    fast = client.messages.create(model="claude-opus-4-6", max_tokens=50, messages=ASK, speed="fast")
    assert fast.stop_reason in ("end_turn", "max_tokens")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"{not json", "not valid JSON"), (b"[1]", "must be a JSON object"),
     (b'{"max_tokens": 5, "messages": []}', "model: Field required")],
)
def test_a_bad_body_is_a_400(emulator, body, fragment):
    response = emulator.http().post("/v1/messages", content=body)
    assert fragment in assert_envelope(response, 400, "invalid_request_error")["error"]["message"]


def test_messages_do_not_count_against_the_batches_rate_limit(make_emulator):
    emulator = make_emulator(rate_limit=2)
    with emulator.client() as client:
        for _ in range(4):
            client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=ASK)
            client.models.list()
        assert client.messages.batches.list().data == []

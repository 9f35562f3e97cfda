"""Results: the JSONL body, its order, the stand-in model's replies, injected outcomes."""

from __future__ import annotations

import zlib

import orjson
from anthropic.types.messages import MessageBatchIndividualResponse

from tests.support.files import requests_for


def _ended(emulator, client, requests):
    batch = client.messages.batches.create(requests=requests)
    emulator.clock.advance(emulator.config.processing_seconds)
    return client.messages.batches.retrieve(batch.id)


def test_results_body_is_compact_jsonl_in_a_shuffled_order(emulator, client):
    requests = requests_for(30)
    batch = _ended(emulator, client, requests)
    response = emulator.http().get(batch.results_url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-jsonl"
    assert response.headers["request-id"].startswith("req_")
    body = response.content
    assert body.endswith(b"\n") and b"\n\n" not in body and not body.startswith(b"\xef\xbb\xbf")
    lines = body.split(b"\n")[:-1]
    assert len(lines) == 30
    for line in lines:
        assert line == orjson.dumps(orjson.loads(line))  # compact, one object per line
        MessageBatchIndividualResponse.model_validate(orjson.loads(line))  # the SDK's types, validated
    order = [orjson.loads(line)["custom_id"] for line in lines]
    assert sorted(order) == sorted(r["custom_id"] for r in requests)
    assert order != [r["custom_id"] for r in requests]
    assert emulator.http().get(batch.results_url).content == body  # the same bytes every time


def test_the_sdk_decodes_results_and_replies_say_what_they_are(emulator, client):
    requests = requests_for(5, model="claude-sonnet-4-6")
    requests[0]["params"]["system"] = "Be brief. " * 20
    requests[1]["params"]["max_tokens"] = 3
    batch = _ended(emulator, client, requests)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert set(results) == {r["custom_id"] for r in requests}

    full = results["req-2"].message
    assert full.type == "message" and full.role == "assistant" and full.model == "claude-sonnet-4-6"
    assert full.stop_reason == "end_turn" and full.stop_sequence is None
    assert full.usage.service_tier == "batch"
    text = full.content[0].text
    question = requests[2]["params"]["messages"][0]["content"]
    assert "batchctl emulator" in text and f"{zlib.crc32(question.encode()):08x}" in text
    assert question in text  # short messages are echoed whole
    assert full.usage.input_tokens == -(-len(question) // 4)
    assert full.usage.output_tokens == -(-len(text) // 4)
    assert results["req-0"].message.usage.input_tokens > full.usage.input_tokens + 40  # system counts

    cut = results["req-1"].message
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 3
    assert text.startswith(cut.content[0].text) and len(cut.content[0].text) <= 12
    assert full.id.startswith("msg_") and full.id != cut.id


def _outcomes(emulator, requests) -> dict[str, tuple[str, str | None]]:
    with emulator.client() as client:
        batch = _ended(emulator, client, requests)
        out = {}
        for line in client.messages.batches.results(batch.id):
            result = line.result
            detail = result.error.error.type if result.type == "errored" else None
            out[line.custom_id] = (result.type, detail)
        return out


def test_error_and_expire_rates_are_deterministic_for_a_seed(make_emulator):
    requests = requests_for(200)
    rates = {"error_rate": 0.3, "expire_rate": 0.2, "processing_seconds": 5}
    first = _outcomes(make_emulator(seed=7, **rates), requests)
    again = _outcomes(make_emulator(seed=7, **rates), requests)
    other = _outcomes(make_emulator(seed=8, **rates), requests)
    assert first == again and first != other
    kinds = set(first.values())
    assert kinds == {
        ("succeeded", None),
        ("expired", None),
        ("errored", "api_error"),
        ("errored", "overloaded_error"),
    }
    errored = sum(1 for kind, _ in first.values() if kind == "errored")
    expired = sum(1 for kind, _ in first.values() if kind == "expired")
    assert 35 <= errored <= 85 and 20 <= expired <= 60


def test_a_resubmitted_request_rolls_again(make_emulator):
    emulator = make_emulator(seed=3, error_rate=0.5, processing_seconds=5)
    requests = requests_for(40)
    first = _outcomes(emulator, requests)
    failed = [r for r in requests if first[r["custom_id"]][0] == "errored"]
    assert failed
    retried = _outcomes(emulator, failed)  # like retry-failed: same custom_ids, a new batch
    assert any(kind == "succeeded" for kind, _ in retried.values())


def test_errored_lines_use_the_nested_envelope(make_emulator):
    emulator = make_emulator(error_rate=1.0, processing_seconds=1)
    with emulator.client() as client:
        batch = _ended(emulator, client, requests_for(3))
        for line in emulator.http().get(batch.results_url).content.splitlines():
            error = orjson.loads(line)["result"]["error"]
            assert error["type"] == "error" and error["request_id"] is None
            assert error["error"]["type"] in {"api_error", "overloaded_error"}
            assert "error_rate" in error["error"]["message"]

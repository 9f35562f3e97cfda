"""Create: the synchronous envelope checks (400 / 413) and the asynchronous per-request checks."""

from __future__ import annotations

import gc
import http.client
from functools import partial

import httpx2
import orjson
import pytest

from batchctl.emulator import EmulatorConfig, make_app
from tests.support.emulators import NEW_VERSION, RAW_HEADERS, assert_envelope
from tests.support.failures import failure
from tests.support.files import request, requests_for

GOOD = {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
_item = partial(request, text="hi", model="claude-haiku-4-5", max_tokens=5)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b"{}", "requests: Field required"),
        (orjson.dumps({"requests": {}}), "valid list"),
        (orjson.dumps({"requests": []}), "at least 1 item"),
        (orjson.dumps({"requests": [_item("a")], "extra": 1}), "extra: Extra inputs"),
        (orjson.dumps({"requests": ["x"]}), "requests.0: Input should be a valid dictionary"),
        (orjson.dumps({"requests": [{"params": GOOD}]}), "requests.0.custom_id: Field required"),
        (orjson.dumps({"requests": [{"custom_id": "a"}]}), "requests.0.params: Field required"),
        (orjson.dumps({"requests": [{**_item("a"), "x": 1}]}), "requests.0.x: Extra inputs"),
        (orjson.dumps({"requests": [_item(7)]}), "valid string"),
        (orjson.dumps({"requests": [_item("")]}), "should match pattern"),
        (orjson.dumps({"requests": [_item("has space")]}), "should match pattern"),
        (orjson.dumps({"requests": [_item("a" * 65)]}), "should match pattern"),
        (orjson.dumps({"requests": [_item("a"), _item("b"), _item("a")]}), "requests.2.custom_id"),
        (
            orjson.dumps({"requests": [{"custom_id": "a", "params": []}]}),
            "requests.0.params: Input should be a valid dictionary",
        ),
    ],
)
def test_bad_envelopes_are_400_and_create_nothing(emulator, body, fragment):
    http = emulator.http()
    response = http.post(
        "/v1/messages/batches", content=body, headers={"content-type": "application/json"}
    )
    assert fragment in assert_envelope(response, 400, "invalid_request_error")["error"]["message"]
    assert http.get("/v1/messages/batches").json()["data"] == []
    assert gc.isenabled()  # the emulator never pauses the GC, not even for a refusal


def test_the_gc_is_on_once_a_create_has_been_answered(emulator, tmp_path, clock):
    response = emulator.http().post("/v1/messages/batches", json={"requests": requests_for(3)})
    assert response.status_code == 200 and response.json()["request_counts"]["processing"] == 3
    assert gc.isenabled()
    app = make_app(tmp_path / "in-process", EmulatorConfig(), clock=clock.time)
    with httpx2.Client(
        transport=httpx2.WSGITransport(app=app), base_url="http://emulator.local"
    ) as http:
        headers = RAW_HEADERS
        response = http.post(
            "/v1/messages/batches", json={"requests": requests_for(2)}, headers=headers
        )
        assert response.status_code == 200 and response.json()["request_counts"]["processing"] == 2
    assert gc.isenabled()


def test_exactly_100000_requests_is_the_limit(emulator):
    item = b'{"custom_id":"x%d","params":{}}'
    too_many = b'{"requests":[' + b",".join(item % i for i in range(100_001)) + b"]}"
    response = emulator.http().post("/v1/messages/batches", content=too_many)
    assert (
        "at most 100000 items"
        in assert_envelope(response, 400, "invalid_request_error")["error"]["message"]
    )


def test_a_body_over_the_limit_is_413_request_too_large(make_emulator):
    emulator = make_emulator(max_body_bytes=2000)
    with emulator.client() as client:
        caught = failure(lambda: client.messages.batches.create(requests=requests_for(40)))
        assert caught.status_code == 413
        assert caught.body["error"]["type"] == "request_too_large"
        assert caught.request_id.startswith("req_")
        assert (
            client.messages.batches.create(requests=requests_for(2)).request_counts.processing == 2
        )


def test_a_chunked_body_is_read_and_its_size_limit_enforced(make_emulator):
    emulator = make_emulator(max_body_bytes=5000)
    connection = http.client.HTTPConnection("127.0.0.1", emulator.server.port, timeout=10)
    headers = RAW_HEADERS

    def post(payload: bytes) -> http.client.HTTPResponse:
        chunks = (payload[i : i + 100] for i in range(0, len(payload), 100))
        connection.request(
            "POST", "/v1/messages/batches", body=chunks, headers=headers, encode_chunked=True
        )
        return connection.getresponse()

    small = post(orjson.dumps({"requests": requests_for(3)}))
    assert small.status == 200 and orjson.loads(small.read())["request_counts"]["processing"] == 3
    large = post(orjson.dumps({"requests": requests_for(100)}))
    assert (
        large.status == 413 and orjson.loads(large.read())["error"]["type"] == "request_too_large"
    )
    # same connection, still in sync
    connection.request("GET", "/v1/messages/batches", headers=headers)
    assert len(orjson.loads(connection.getresponse().read())["data"]) == 1
    connection.close()


INVALID = [
    ({"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model: Field required"),
    ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens: Field required"),
    ({**GOOD, "max_tokens": 0}, "max_tokens: must be at least 1"),
    ({**GOOD, "max_tokens": "5"}, "max_tokens: Input should be a valid integer"),
    ({**GOOD, "max_tokens": True}, "max_tokens: Input should be a valid integer"),
    ({"model": "m", "max_tokens": 5}, "messages: Field required"),
    ({**GOOD, "messages": []}, "messages: at least one message"),
    ({**GOOD, "messages": "hi"}, "messages: Input should be a valid list"),
    ({**GOOD, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
    ({**GOOD, "stream": True}, "stream: streaming is not supported"),
    ({**GOOD, "temperature": 0.5}, "temperature: not supported"),
    ({**GOOD, "top_p": 0.9}, "top_p: not supported"),
    ({**GOOD, "top_k": 3}, "top_k: not supported"),
]


def test_bad_params_end_errored_with_invalid_request_error(emulator, client):
    requests = [
        {"custom_id": f"bad-{i}", "params": params} for i, (params, _) in enumerate(INVALID)
    ]
    requests.append({"custom_id": "good", "params": {**GOOD, "stream": False}})
    batch = client.messages.batches.create(requests=requests)  # accepted: checked "asynchronously"
    assert batch.request_counts.processing == len(requests)
    emulator.clock.advance(60)
    ended = client.messages.batches.retrieve(batch.id)
    assert (ended.request_counts.errored, ended.request_counts.succeeded) == (len(INVALID), 1)
    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["good"].type == "succeeded"
    for i, (_, fragment) in enumerate(INVALID):
        result = results[f"bad-{i}"]
        assert result.type == "errored"
        assert result.error.type == "error" and result.error.request_id is None
        assert result.error.error.type == "invalid_request_error"
        assert fragment in result.error.error.message


def test_sampling_params_are_fine_under_the_old_api_version(emulator):
    http = emulator.http()  # anthropic-version 2023-06-01, as 0.x/1.x SDKs send
    params = {**GOOD, "temperature": 0.5, "top_k": 3}
    body = {"requests": [{"custom_id": "old", "params": params}]}
    batch_id = http.post("/v1/messages/batches", json=body).json()["id"]
    emulator.clock.advance(60)
    lines = http.get(f"/v1/messages/batches/{batch_id}/results").content.splitlines()
    assert orjson.loads(lines[0])["result"]["type"] == "succeeded"
    new = http.post(
        "/v1/messages/batches", json=body, headers={"anthropic-version": NEW_VERSION}
    ).json()["id"]
    emulator.clock.advance(60)
    line = http.get(f"/v1/messages/batches/{new}/results").content
    assert orjson.loads(line)["result"]["error"]["error"]["type"] == "invalid_request_error"

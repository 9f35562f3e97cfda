"""Injected faults: error statuses the SDK retries, lost replies, results cut part-way."""

from __future__ import annotations

import gc

import anthropic
import httpx2
import pytest

from batchctl.core.api.sdk_private import STRICT_VALIDATION
from batchctl.emulator import EMULATOR_API_KEY, EmulatorConfig, ReplyLost, make_app
from tests.support.emulators import assert_envelope
from tests.support.failures import chain, failure, status_of
from tests.support.files import requests_for


def test_sdk_retries_survive_a_fault_rate_of_one_half(make_emulator):
    emulator = make_emulator(fault_rate=0.5, seed=11, processing_seconds=1)
    retries = 0
    with emulator.client(max_retries=6) as client:
        ids = []
        for _ in range(6):
            raw = client.messages.batches.with_raw_response.create(requests=requests_for(2))
            retries += raw.retries_taken
            ids.append(raw.parse().id)
        emulator.clock.advance(1)
        for batch_id in ids:
            assert client.messages.batches.retrieve(batch_id).processing_status == "ended"
            assert len(list(client.messages.batches.results(batch_id))) == 2
        assert sorted(b.id for b in client.messages.batches.list()) == sorted(ids)
        client.messages.batches.delete(ids[0])
    assert retries > 0  # faults did happen, and no retried create made a second batch
    clean = make_emulator(data_dir=emulator.data_dir)
    assert len(clean.http().get("/v1/messages/batches").json()["data"]) == 5


def test_a_fault_is_an_envelope_with_a_short_retry_delay_and_does_nothing(make_emulator):
    emulator = make_emulator(fault_rate=1.0, seed=5)
    http = emulator.http()
    statuses = set()
    for _ in range(12):
        response = http.post("/v1/messages/batches", json={"requests": requests_for(1)})
        statuses.add(response.status_code)
        body = response.json()
        assert body["request_id"] == response.headers["request-id"]
        expected = {429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[response.status_code]
        assert body["error"]["type"] == expected
        assert 10 <= int(response.headers["retry-after-ms"]) <= 50
    assert statuses == {429, 500, 529}
    clean = make_emulator(data_dir=emulator.data_dir)
    assert clean.http().get("/v1/messages/batches").json()["data"] == []


def test_fault_decisions_repeat_for_a_seed(make_emulator):
    def statuses(seed: int) -> list[int]:
        http = make_emulator(fault_rate=0.5, seed=seed).http()
        return [http.get("/v1/messages/batches").status_code for _ in range(30)]

    assert statuses(1) == statuses(1) != statuses(2)


def test_faults_can_be_limited_to_some_endpoints(make_emulator):
    emulator = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"create"}))
    http = emulator.http()
    assert http.get("/v1/messages/batches").status_code == 200
    response = http.post("/v1/messages/batches", json={"requests": requests_for(1)})
    assert response.status_code in {429, 500, 529}


def test_a_lost_create_reply_over_http_still_made_the_batch(make_emulator):
    emulator = make_emulator(lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}))
    with emulator.client() as client:
        assert status_of(lambda: client.messages.batches.create(requests=requests_for(3))) is None
        made = client.messages.batches.list().data
        assert len(made) == 1 and made[0].request_counts.processing == 3
    assert gc.isenabled()  # the lost reply's held objects were freed and the GC resumed


def _in_process(tmp_path, clock, **config) -> anthropic.Anthropic:
    app = make_app(tmp_path / "in-process", EmulatorConfig(**config), clock=clock.time)
    transport = httpx2.WSGITransport(app=app)  # raise_app_exceptions left at its default
    return anthropic.Anthropic(
        api_key=EMULATOR_API_KEY,
        base_url="http://emulator.local",
        http_client=httpx2.Client(transport=transport),
        max_retries=0,
        **{STRICT_VALIDATION: True},
    )


def test_a_lost_create_reply_in_process_is_a_connection_error(tmp_path, clock):
    lossy = _in_process(tmp_path, clock, lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}))
    lost = failure(lambda: lossy.messages.batches.create(requests=requests_for(2)))
    assert any(isinstance(link, ReplyLost) for link in chain(lost))  # no HTTP reply came back
    made = lossy.messages.batches.list().data
    assert len(made) == 1 and made[0].request_counts.processing == 2
    assert gc.isenabled()


def test_a_dropped_results_stream_over_http_is_cut_on_the_wire(make_emulator):
    emulator = make_emulator(drop_rate=1.0, processing_seconds=1)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(50))
        emulator.clock.advance(1)
        # What the server sent: fewer bytes than its content-length promised, then a closed socket.
        with emulator.http().stream("GET", f"/v1/messages/batches/{batch.id}/results") as response:
            promised = int(response.headers["content-length"])
            received = bytearray()

            def read_all() -> None:
                for chunk in response.iter_raw():
                    received.extend(chunk)

            failure(read_all)
            assert 0 < len(received) < promised
        # What an SDK client sees: the stream fails before the 50th result (which exception
        # class says so is the SDK's choice: 2.17.0 changed it, nothing on the wire did).
        got: list[object] = []
        failure(lambda: got.extend(client.messages.batches.results(batch.id)))
        assert len(got) < 50
        # the server is still fine
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"


def test_a_dropped_results_stream_in_process_is_cut_by_reply_lost(tmp_path, clock):
    client = _in_process(tmp_path, clock, drop_rate=1.0, processing_seconds=1)
    batch = client.messages.batches.create(requests=requests_for(50))
    clock.advance(1)
    decoder = client.messages.batches.results(batch.id)
    assert batch.id in decoder.http_response.url.path
    got: list[object] = []
    # The in-process mount drops a reply by raising ReplyLost from the body; the SDK may wrap it
    # (2.17.0 does), so look for it along the chain rather than at the class raised.
    assert any(isinstance(link, ReplyLost) for link in chain(failure(lambda: got.extend(decoder))))
    assert len(got) < 50


def test_overloaded_answers_the_first_n_calls_529_with_a_retry_after_of_one_second(
        make_emulator):
    emulator = make_emulator(overloaded=2, fault_endpoints=frozenset({"list"}))
    http = emulator.http()
    for _ in range(2):
        response = http.get("/v1/messages/batches")
        body = assert_envelope(response, 529, "overloaded_error")
        assert "overloaded" in body["error"]["message"]
        assert response.headers["retry-after"] == "1"
    assert http.post("/v1/messages/batches", json={"requests": requests_for(1)}).status_code == 200
    assert http.get("/v1/messages/batches").status_code == 200  # the third list is served
    with pytest.raises(ValueError, match="overloaded must be an integer >= 0"):
        EmulatorConfig(overloaded=-1)
    assert EmulatorConfig.from_env({"BATCHCTL_EMULATOR_OVERLOADED": "3"}).overloaded == 3

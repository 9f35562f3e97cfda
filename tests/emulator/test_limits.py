"""The emulator's rate limits (queue_limit, rate_limit), through the real SDK."""

from __future__ import annotations

import signal
from typing import Any

import anthropic
import pytest

from batchctl.emulator import EmulatorConfig
from tests.support.failures import failure
from tests.support.files import requests_for
from tests.support.processes import emulator_command, stop


def _refusal(call) -> Any:
    refused = failure(call)
    assert refused.status_code == 429
    return refused


def test_a_create_past_the_queue_limit_is_a_429_that_says_when_room_frees(make_emulator):
    emulator = make_emulator(queue_limit=5, processing_seconds=60)
    with emulator.client() as client:
        first = client.messages.batches.create(requests=requests_for(3))
        emulator.clock.advance(20)
        client.messages.batches.create(requests=requests_for(2))  # 5 of 5: still fits
        exc = _refusal(lambda: client.messages.batches.create(requests=requests_for(1)))
        assert exc.status_code == 429 and exc.body["error"]["type"] == "rate_limit_error"
        assert "processing queue" in exc.body["error"]["message"]
        assert "limit of 5" in exc.body["error"]["message"]
        # The first batch (3 requests) ends 40 s from now: then one more request fits.
        assert exc.response.headers["retry-after"] == "40"
        assert len(client.messages.batches.list().data) == 2  # nothing was created
        emulator.clock.advance(40)
        assert client.messages.batches.retrieve(first.id).processing_status == "ended"
        client.messages.batches.create(requests=requests_for(3))  # 2 queued + 3 = 5


def test_a_batch_larger_than_the_whole_queue_gets_no_retry_after(make_emulator):
    emulator = make_emulator(queue_limit=4)
    with emulator.client() as client:
        exc = _refusal(lambda: client.messages.batches.create(requests=requests_for(5)))
    assert "retry-after" not in exc.response.headers
    assert "processing queue" in exc.body["error"]["message"]


def test_a_canceled_batch_leaves_the_queue_once_it_has_ended(make_emulator):
    emulator = make_emulator(queue_limit=3, processing_seconds=600, cancel_seconds=5)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(3))
        client.messages.batches.cancel(batch.id)
        exc = _refusal(lambda: client.messages.batches.create(requests=requests_for(1)))
        assert exc.response.headers["retry-after"] == "5"
        emulator.clock.advance(5)
        client.messages.batches.create(requests=requests_for(3))


def test_calls_past_the_rate_limit_get_a_429_with_retry_after_in_seconds(make_emulator):
    emulator = make_emulator(rate_limit=3)
    with emulator.client() as client:
        client.messages.batches.create(requests=requests_for(1))
        emulator.clock.advance(10)
        client.messages.batches.list()
        client.messages.batches.list()
        exc = _refusal(lambda: client.messages.batches.list())
        assert exc.body["error"]["type"] == "rate_limit_error"
        assert "3 requests per minute" in exc.body["error"]["message"]
        assert exc.response.headers["retry-after"] == "50"  # the create leaves the window
        assert "retry-after-ms" not in exc.response.headers
        emulator.clock.advance(49)
        _refusal(lambda: client.messages.batches.list())  # a refused call does not count
        emulator.clock.advance(1)
        client.messages.batches.list()


def test_limits_come_from_the_environment_and_are_checked():
    config = EmulatorConfig.from_env(
        {"BATCHCTL_EMULATOR_QUEUE_LIMIT": "200000", "BATCHCTL_EMULATOR_RATE_LIMIT": "1000"}
    )
    assert (config.queue_limit, config.rate_limit) == (200_000, 1000)
    assert EmulatorConfig().queue_limit is None and EmulatorConfig().rate_limit is None
    for name, value in (("QUEUE_LIMIT", "lots"), ("QUEUE_LIMIT", "0"), ("RATE_LIMIT", "-5")):
        with pytest.raises(ValueError, match=f"BATCHCTL_EMULATOR_{name}"):
            EmulatorConfig.from_env({f"BATCHCTL_EMULATOR_{name}": value})


def test_batchctl_emulator_takes_both_limits_as_flags(tmp_path):
    process = emulator_command(tmp_path / "state", "--queue-limit", "2", "--rate-limit", "100")
    try:
        base_url = process.readline().strip().split("=", 1)[1]
        process.readline()
        with anthropic.Anthropic(api_key="k", base_url=base_url, max_retries=0) as client:
            client.messages.batches.create(requests=requests_for(2))
            exc = _refusal(lambda: client.messages.batches.create(requests=requests_for(1)))
    finally:
        code, err = stop(process, signal.SIGINT)
    assert code == 0 and "Traceback" not in err
    assert "processing queue" in exc.body["error"]["message"]

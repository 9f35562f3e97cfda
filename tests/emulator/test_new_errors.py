"""The errors the API sends since SDK 2.16-2.17 (BATCHES_API.md 12.2), shown by the emulator over
HTTP: a 402 of a linked organization (``spend_limit`` ``linked-402`` and ``linked-billing``), a
503 ``storage_not_ready`` for the first N calls (``storage_not_ready``), and results that
succeed with ``stop_reason`` ``refusal`` or ``model_context_window_exceeded`` (``stop_rate``)."""

from __future__ import annotations

from typing import Any

import pytest

from batchctl.emulator import EmulatorConfig
from tests.support.failures import failure, status_of
from tests.support.files import requests_for


@pytest.mark.parametrize(("kind", "code"), [
    ("linked-402", "linked_organization_spend_limit_reached"),
    ("linked-billing", "linked_organization_billing_unavailable"),
])
def test_a_linked_organizations_cap_is_a_402_with_its_code(
    make_emulator: Any, kind: str, code: str
) -> None:
    emulator = make_emulator(spend_limit=kind)
    with emulator.client() as client:
        create = lambda: client.messages.batches.create(requests=requests_for(1))  # noqa: E731
        assert status_of(create) == 402
        body = failure(create).body  # type: ignore[attr-defined]
    assert body["type"] == "error"
    assert body["error"]["type"] == "billing_error"
    assert body["error"]["details"] == {"error_code": code}
    assert "linked to the request's user profile" in body["error"]["message"]
    assert emulator.batches() == []  # nothing was created


def test_storage_not_ready_answers_the_first_n_calls_then_serves(make_emulator: Any) -> None:
    emulator = make_emulator(storage_not_ready=2)
    http = emulator.http()
    first, second, third = (http.get("/v1/messages/batches") for _ in range(3))
    for answer in (first, second):
        assert answer.status_code == 503
        error = answer.json()["error"]
        assert error["details"] == {"error_code": "storage_not_ready"}
        assert error["message"].startswith("This workspace isn't ready yet: it's still being "
                                           "connected to its storage. Try again in a minute.")
    assert third.status_code == 200 and third.json()["data"] == []


def test_the_sdk_sees_storage_not_ready_as_a_503(make_emulator: Any) -> None:
    emulator = make_emulator(storage_not_ready=1)
    with emulator.client() as client:
        assert status_of(lambda: client.models.list()) == 503
        assert client.models.list(limit=1).data[0].id == "claude-fable-5-2"


def test_a_stop_rate_ends_requests_succeeded_with_refusal_or_a_full_context(
    make_emulator: Any,
) -> None:
    emulator = make_emulator(stop_rate=1.0, processing_seconds=0)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(12))
        assert client.messages.batches.retrieve(batch.id).request_counts.succeeded == 12
        results = list(client.messages.batches.results(batch.id))
    stops = {r.result.message.stop_reason for r in results}  # type: ignore[union-attr]
    assert stops == {"refusal", "model_context_window_exceeded"}
    for r in results:
        message = r.result.message  # type: ignore[union-attr]
        assert (message.content == []) == (message.stop_reason == "refusal")
    half = make_emulator(stop_rate=0.5, processing_seconds=0)
    with half.client() as client:
        batch = client.messages.batches.create(requests=requests_for(40))
        again = {r.result.message.stop_reason  # type: ignore[union-attr]
                 for r in client.messages.batches.results(batch.id)}
    assert {"end_turn", "refusal", "model_context_window_exceeded"} <= again


def test_the_new_settings_are_checked_and_read_from_the_environment() -> None:
    with pytest.raises(ValueError, match="error_rate \\+ expire_rate \\+ stop_rate"):
        EmulatorConfig(error_rate=0.5, stop_rate=0.6)
    with pytest.raises(ValueError, match="storage_not_ready must be an integer >= 0"):
        EmulatorConfig(storage_not_ready=-1)
    config = EmulatorConfig.from_env({"BATCHCTL_EMULATOR_STOP_RATE": "0.25",
                                      "BATCHCTL_EMULATOR_STORAGE_NOT_READY": "3",
                                      "BATCHCTL_EMULATOR_SPEND_LIMIT": "linked-402"})
    assert (config.stop_rate, config.storage_not_ready, config.spend_limit) == (0.25, 3,
                                                                                "linked-402")

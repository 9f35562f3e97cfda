"""The real API's behaviours behind options (batchctl.emulator.quirks), through the real SDK:
spend caps, transient 404s, a results_url on another origin, the organization header."""

from __future__ import annotations

import pytest

from batchctl.emulator import EmulatorConfig
from tests.support.failures import failure, status_of
from tests.support.files import requests_for


@pytest.mark.parametrize(
    ("kind", "status", "error_type", "code"),
    [
        ("tier", 429, "rate_limit_error", "enforced_spend_limit_reached"),
        ("contract", 429, "rate_limit_error", "contract_spend_limit_reached"),
        ("linked", 429, "rate_limit_error", "linked_organization_spend_limit_reached"),
        ("ramp", 429, "rate_limit_error", "ramp_limit_exceeded"),
        ("workspace", 400, "invalid_request_error", None),
    ],
)
def test_a_spend_cap_refuses_every_create_and_makes_nothing(make_emulator, kind, status, error_type, code):
    emulator = make_emulator(spend_limit=kind)
    with emulator.client() as client:
        exc = failure(lambda: client.messages.batches.create(requests=requests_for(2)))
    assert exc.status_code == status
    assert exc.body["error"]["type"] == error_type
    assert exc.body["error"].get("details", {}).get("error_code") == code
    # The tier cap has no retry-after (errors page); the ramp limit's has one (SDK type).
    assert ("retry-after" in exc.response.headers) == (kind == "ramp")
    if kind == "workspace":
        assert exc.body["error"]["message"].startswith("You have reached your specified workspace")
    with emulator.client() as client:
        assert client.messages.batches.list().data == []


def test_spend_limit_after_lets_the_first_batches_through(make_emulator):
    emulator = make_emulator(spend_limit="tier", spend_limit_after=2)
    with emulator.client() as client:
        client.messages.batches.create(requests=requests_for(1))
        client.messages.batches.create(requests=requests_for(1))
        assert status_of(lambda: client.messages.batches.create(requests=requests_for(1))) == 429
        assert len(client.messages.batches.list().data) == 2


def test_flaky_404s_after_create_and_after_the_end(make_emulator):
    emulator = make_emulator(flaky_404_seconds=5, processing_seconds=60)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(3))
        assert status_of(lambda: client.messages.batches.retrieve(batch.id)) == 404
        emulator.clock.advance(5)
        assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
        emulator.clock.advance(55)  # the end: 404 again, on retrieve and on results
        assert status_of(lambda: client.messages.batches.retrieve(batch.id)) == 404
        assert status_of(lambda: list(client.messages.batches.results(batch.id))) == 404
        emulator.clock.advance(5)
        assert client.messages.batches.retrieve(batch.id).processing_status == "ended"
        assert len(list(client.messages.batches.results(batch.id))) == 3
        assert [b.id for b in client.messages.batches.list().data] == [batch.id]  # list: never


def test_results_origin_moves_only_the_results_url(make_emulator):
    emulator = make_emulator(results_origin="http://127.0.0.1:9/", processing_seconds=0)
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests_for(1))
    assert batch.results_url == f"http://127.0.0.1:9/v1/messages/batches/{batch.id}/results"


def test_every_response_names_the_organization(make_emulator):
    emulator = make_emulator()
    http = emulator.http()
    answers = [
        http.post("/v1/messages/batches", json={"requests": requests_for(1)}),
        http.get("/v1/messages/batches"),
        http.get("/v1/messages/batches/msgbatch_01nope"),  # an error answer too
        http.get("/nowhere"),
    ]
    ids = {answer.headers.get("anthropic-organization-id") for answer in answers}
    assert len(ids) == 1 and None not in ids
    assert len(ids.pop()) == 36  # a UUID, stable for a seed


def test_quirk_settings_come_from_the_environment():
    config = EmulatorConfig.from_env(
        {
            "BATCHCTL_EMULATOR_SPEND_LIMIT": "true",
            "BATCHCTL_EMULATOR_SPEND_LIMIT_AFTER": "3",
            "BATCHCTL_EMULATOR_FLAKY_404_SECONDS": "2.5",
            "BATCHCTL_EMULATOR_RESULTS_ORIGIN": "http://127.0.0.1:9/",
        }
    )
    assert (config.spend_limit, config.spend_limit_after) == ("tier", 3)
    assert (config.flaky_404_seconds, config.results_origin) == (2.5, "http://127.0.0.1:9")
    assert EmulatorConfig.from_env({"BATCHCTL_EMULATOR_SPEND_LIMIT": "Workspace"}).spend_limit == "workspace"
    for var, value in [
        ("BATCHCTL_EMULATOR_SPEND_LIMIT", "lots"),
        ("BATCHCTL_EMULATOR_RESULTS_ORIGIN", "http://h:1/with/path"),
        ("BATCHCTL_EMULATOR_FLAKY_404_SECONDS", "-1"),
    ]:
        with pytest.raises(ValueError, match=var):
            EmulatorConfig.from_env({var: value})

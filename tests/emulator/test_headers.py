"""The headers the real API checks on every endpoint (BATCHES_API.md 12.5): anthropic-version
required and known, anthropic-beta values known, both refused with a 400 in the API's words; and
the canary that keeps the emulator's list of betas up with the installed SDK's."""

from __future__ import annotations

import typing

import pytest
from anthropic.types.anthropic_beta_param import AnthropicBetaParam

from batchctl.emulator.betas import KNOWN_BETAS, SDK_VERSION
from tests.support.emulators import NEW_VERSION, assert_envelope
from tests.support.failures import failure
from tests.support.files import requests_for

#: One call of every endpoint (the batch id needs no batch: the headers are checked first).
CALLS = [
    ("GET", "/v1/messages/batches"),
    ("POST", "/v1/messages/batches"),
    ("GET", "/v1/messages/batches/msgbatch_x"),
    ("POST", "/v1/messages/batches/msgbatch_x/cancel"),
    ("DELETE", "/v1/messages/batches/msgbatch_x"),
    ("GET", "/v1/messages/batches/msgbatch_x/results"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages/count_tokens"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models/claude-haiku-4-5"),
]


@pytest.mark.parametrize(("method", "path"), CALLS)
def test_a_missing_anthropic_version_is_a_400_on_every_endpoint(emulator, method, path):
    with emulator.http() as http:
        del http.headers["anthropic-version"]
        response = http.request(method, path, json={"requests": requests_for(1)})
    body = assert_envelope(response, 400, "invalid_request_error")
    assert body["error"]["message"] == "anthropic-version: header is required"


@pytest.mark.parametrize("version", ["2023-10-01", "2026-10-22", "latest", "2023-06-01, 2023-06-01"])
def test_an_unknown_anthropic_version_is_a_400(emulator, version):
    with emulator.http(**{"anthropic-version": version}) as http:
        response = http.get("/v1/messages/batches")
    body = assert_envelope(response, 400, "invalid_request_error")
    assert body["error"]["message"] == f'anthropic-version: "{version}" is not a valid version'


def test_both_versions_and_a_missing_key_first(emulator):
    with emulator.http() as http:
        for version in ("2023-06-01", NEW_VERSION):
            assert http.get("/v1/models", headers={"anthropic-version": version}).status_code == 200
        del http.headers["anthropic-version"]
        # no key and no version: the key is answered first, as the SDKs' 401 tests expect
        assert_envelope(http.get("/v1/models", headers={"x-api-key": ""}), 401, "authentication_error")


def test_unknown_betas_are_refused_by_name_and_nothing_is_created(emulator, client):
    betas = "files-api-2025-04-14, foo-2025 ,bar,foo-2025"
    with emulator.http(**{"anthropic-beta": betas}) as http:
        response = http.post("/v1/messages/batches", json={"requests": requests_for(1)})
    body = assert_envelope(response, 400, "invalid_request_error")
    assert body["error"]["message"] == (
        "Unexpected value(s) `foo-2025`, `bar` for the `anthropic-beta` header. Please consult our "
        "documentation at docs.anthropic.com or try again without the header."
    )
    assert client.messages.batches.list().data == []
    failed = failure(lambda: client.beta.messages.batches.list(betas=["not-a-beta-2030-01-01"]))
    assert failed.status_code == 400
    assert "`not-a-beta-2030-01-01`" in failed.body["error"]["message"]


def test_every_known_beta_is_accepted_together(emulator):
    with emulator.http(**{"anthropic-beta": ",".join(sorted(KNOWN_BETAS))}) as http:
        assert http.get("/v1/messages/batches").status_code == 200


def test_canary_the_emulator_knows_every_beta_of_the_installed_sdk():
    """When this fails, the installed SDK knows betas the emulator would refuse: copy them into
    batchctl/emulator/betas.py (and its SDK_VERSION) from anthropic/types/anthropic_beta_param.py."""
    import anthropic

    literals = [arg for arg in typing.get_args(AnthropicBetaParam) if arg is not str]
    sdk = {value for literal in literals for value in typing.get_args(literal)}
    assert len(sdk) > 30  # the literal was found
    missing = sorted(sdk - KNOWN_BETAS)
    assert not missing, (
        f"anthropic {anthropic.__version__} knows anthropic-beta values the emulator (copied from "
        f"SDK {SDK_VERSION}) would refuse: {', '.join(missing)}"
    )

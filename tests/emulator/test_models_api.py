"""GET /v1/models and /v1/models/{id} through the real SDK (strict response validation) over
HTTP: the emulator's dated catalogue, paging, the lifecycle filter, aliases, a 404 in the API's
envelope, and a catalogue replaced by a file (BATCHES_API.md 12.3)."""

from __future__ import annotations

import json

import pytest

from batchctl.emulator import EmulatorConfig
from batchctl.emulator.catalog import builtin
from tests.support.emulators import assert_envelope, model_info, write_models
from tests.support.failures import failure

CATALOG = builtin().models
RETIRED = [m["id"] for m in CATALOG if m["lifecycle"] == "retired"]
LISTED = [m["id"] for m in CATALOG if m["lifecycle"] != "retired"]


def test_the_list_leaves_retired_models_out_and_pages_like_batches(client):
    page = client.models.list(limit=5)
    assert [m.id for m in page.data] == LISTED[:5]
    assert page.has_more and page.first_id == LISTED[0] and page.last_id == LISTED[4]
    every = [m.id for m in client.models.list(limit=2)]  # the SDK pages on with after_id
    assert every == LISTED and not set(every) & set(RETIRED)
    assert "claude-fable-5-2" in every and "claude-sonnet-4-5-20250929" not in every


def test_before_id_pages_back(client):
    page = client.models.list(before_id=LISTED[5], limit=2)
    assert [m.id for m in page.data] == LISTED[3:5] and page.has_more
    first = client.models.list(before_id=LISTED[2], limit=5)
    assert [m.id for m in first.data] == LISTED[:2] and not first.has_more


def test_the_lifecycle_filter_in_the_sdks_form(emulator, client):
    retired = [m.id for m in client.models.list(lifecycle=["retired"], limit=1000)]
    assert retired == RETIRED and "claude-sonnet-4-5-20250929" in retired
    everything = client.models.list(lifecycle=["active", "deprecated", "retired"], limit=1000)
    assert [m.id for m in everything] == [m["id"] for m in CATALOG]
    # On the wire: lifecycle[]=retired (the SDK's brackets form); plain lifecycle= works too.
    with emulator.http() as http:
        for query in ("lifecycle[]=retired&lifecycle[]=active", "lifecycle=retired&lifecycle=active"):
            ids = [m["id"] for m in http.get(f"/v1/models?limit=1000&{query}").json()["data"]]
            assert ids == [m["id"] for m in CATALOG]


def test_every_catalogue_entry_parses_strictly_with_its_capabilities(client):
    for info in client.models.list(lifecycle=["active", "deprecated", "retired"], limit=1000):
        assert info.type == "model" and info.capabilities is not None
        assert info.capabilities.batch.supported and info.max_tokens and info.max_input_tokens
    sonnet45 = client.models.retrieve("claude-sonnet-4-5-20250929")
    assert sonnet45.lifecycle == "retired" and sonnet45.retires_at.isoformat() == "2026-11-30T00:00:00+00:00"
    opus5 = client.models.retrieve("claude-opus-5").capabilities
    assert opus5 is not None and not opus5.thinking.types.enabled.supported
    assert opus5.thinking.types.adaptive.supported and opus5.effort.xhigh.supported


def test_retrieve_resolves_an_alias_and_answers_404_for_an_unknown_id(emulator, client):
    haiku = client.models.retrieve("claude-haiku-4-5")
    assert (haiku.id, haiku.display_name, haiku.max_tokens) == (
        "claude-haiku-4-5-20251001", "Claude Haiku 4.5", 64000)
    caught = failure(lambda: client.models.retrieve("claude-nonexistent-9"))
    assert caught.status_code == 404
    assert caught.body["error"] == {"type": "not_found_error", "message": "model: claude-nonexistent-9"}
    assert_envelope(emulator.http().get("/v1/models/claude-nonexistent-9"), 404, "not_found_error")


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "between 1 and 1000"),
        ("limit=1001", "between 1 and 1000"),
        ("limit=many", "valid integer"),
        ("after_id=claude-nope", "after_id: no model"),
        ("after_id=claude-opus-5&before_id=claude-opus-5", "at most one of"),
        ("lifecycle[]=sunset", "lifecycle: Input should be"),
        ("lifecycle[]=active&lifecycle[]=retired&lifecycle[]=deprecated&lifecycle[]=active",
         "at most 3 items"),
    ],
)
def test_bad_list_queries_are_400(emulator, query, fragment):
    response = emulator.http().get(f"/v1/models?{query}")
    assert fragment in assert_envelope(response, 400, "invalid_request_error")["error"]["message"]


def test_a_models_file_replaces_the_catalogue(make_emulator, tmp_path):
    path = write_models(tmp_path / "models.json",
                        model_info("claude-brand-new-9", line="sonnet"),
                        model_info("claude-sonnet-4-6", lifecycle="deprecated",
                                   deprecated_at="2026-12-01T00:00:00Z",
                                   retires_at="2027-06-01T00:00:00Z"),
                        model_info("claude-old-1", lifecycle="retired", line=None, capabilities=None))
    emulator = make_emulator(models=path)
    with emulator.client() as client:
        assert [m.id for m in client.models.list()] == ["claude-brand-new-9", "claude-sonnet-4-6"]
        assert client.models.retrieve("claude-sonnet-4-6").lifecycle == "deprecated"
        assert client.models.retrieve("claude-old-1").capabilities is None
        assert failure(lambda: client.models.retrieve("claude-haiku-4-5")).status_code == 404


def test_the_models_file_comes_from_the_environment_too(tmp_path):
    path = write_models(tmp_path / "m.json", model_info("claude-x-1"))
    config = EmulatorConfig.from_env({"BATCHCTL_EMULATOR_MODELS": path})
    assert config.models == path and [m["id"] for m in config.catalog.models] == ["claude-x-1"]
    assert EmulatorConfig().catalog is builtin()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "cannot be read"),
        ("{not json", "not valid JSON"),
        ("[]", "non-empty JSON list of ModelInfo"),
        ('{"models": []}', "non-empty JSON list of ModelInfo"),
        ('[{"id": "m"}]', "item 0: display_name is required"),
        (json.dumps([model_info("m", type="engine")]), 'item 0: type must be "model"'),
        (json.dumps([model_info("m", lifecycle="sunset")]), "item 0: lifecycle must be one of"),
        (json.dumps([model_info("m", created_at="yesterday")]), "created_at must be an RFC 3339"),
        (json.dumps([model_info("m", max_tokens=0)]), "max_tokens must be a whole number"),
        (json.dumps([model_info("m", capabilities={"batch": True})]), "capabilities.batch must be"),
        (json.dumps([model_info("m"), model_info("m")]), "item 1: id 'm' is listed twice"),
    ],
)
def test_a_bad_models_file_is_a_value_error_naming_the_file_and_the_variable(tmp_path, content,
                                                                            fragment):
    path = tmp_path / "models.json"
    if content is not None:
        path.write_text(content)
    caught = failure(lambda: EmulatorConfig.from_env({"BATCHCTL_EMULATOR_MODELS": str(path)}))
    assert isinstance(caught, ValueError)
    message = str(caught)
    assert message.startswith(f"BATCHCTL_EMULATOR_MODELS: models file {path}: "), message
    assert fragment in message

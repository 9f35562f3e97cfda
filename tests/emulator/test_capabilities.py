"""Requests that break what their model takes end errored with the API's error, as the real API
answers them at the end of a batch (BATCHES_API.md 12.3, 12.4; emulator.capabilities): retired
models, batch support, max_tokens, thinking types, effort levels, image and PDF input,
structured outputs. Each case is sent beside a request that passes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.emulators import model_info, write_models
from tests.support.files import request

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
PDF = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}
TEXT_DOC = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}
SCHEMA = {"type": "json_schema", "schema": {"type": "object", "properties": {"a": {"type": "string"}}}}
STRICT_TOOL = {"name": "f", "strict": True, "input_schema": {"type": "object", "properties": {}}}


def blocks(*content: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*content, {"type": "text", "text": "and this?"}]}]


def run_batch(emulator: Any, requests: list[dict[str, Any]], **create: Any) -> dict[str, Any]:
    """The results of a batch of ``requests``, by custom_id (errors as (type, message))."""
    with emulator.client() as client:
        batch = client.messages.batches.create(requests=requests, **create)
        assert batch.request_counts.processing == len(requests)  # accepted at create
        emulator.clock.advance(3600)
        out: dict[str, Any] = {}
        for line in client.messages.batches.results(batch.id):
            result = line.result
            out[line.custom_id] = (
                (result.error.error.type, result.error.error.message)
                if result.type == "errored" else result.type)
        return out


# custom_id -> (params, (error type, exact message)); each sent to the packaged catalogue
CASES: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {
    "retired": ({"model": "claude-sonnet-4-5"}, ("not_found_error", "model: claude-sonnet-4-5")),
    "retired-dated": ({"model": "claude-opus-4-1-20250805"},
                      ("not_found_error", "model: claude-opus-4-1-20250805")),
    "unknown": ({"model": "claude-hiaku-4-5"}, ("not_found_error", "model: claude-hiaku-4-5")),
    "max-tokens": ({"max_tokens": 64_001}, (
        "invalid_request_error",
        "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for "
        "claude-haiku-4-5")),
    "no-300k-without-beta": ({"model": "claude-opus-4-6", "max_tokens": 200_000}, (
        "invalid_request_error",
        "max_tokens: 200000 > 128000, which is the maximum allowed number of output tokens for "
        "claude-opus-4-6")),
    "thinking-enabled": ({"model": "claude-opus-5", "max_tokens": 4096,
                          "thinking": {"type": "enabled", "budget_tokens": 2048}}, (
        "invalid_request_error",
        '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" '
        'and "output_config.effort" to control thinking behavior.')),
    "thinking-adaptive": ({"thinking": {"type": "adaptive"}}, (
        "invalid_request_error", '"thinking.type.adaptive" is not supported for this model.')),
    "effort": ({"output_config": {"effort": "low"}}, (
        "invalid_request_error", "This model does not support the effort parameter.")),
    "effort-level": ({"model": "claude-sonnet-4-6", "output_config": {"effort": "xhigh"}}, (
        "invalid_request_error", 'output_config.effort: "xhigh" is not supported for this model.')),
}
GOOD = {
    "haiku": {},
    "opus5-adaptive": {"model": "claude-opus-5", "thinking": {"type": "adaptive"},
                       "output_config": {"effort": "xhigh"}},
    "haiku-thinking": {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 2048},
    "sonnet-effort": {"model": "claude-sonnet-4-6", "output_config": {"effort": "max"}},
    "images-and-pdfs": {"messages": blocks(IMAGE, PDF)},
    "structured": {"output_config": {"format": SCHEMA}, "tools": [STRICT_TOOL]},
    "dated-id": {"model": "claude-haiku-4-5-20251001", "max_tokens": 64_000},
}


def test_each_broken_capability_ends_errored_with_the_apis_error(emulator):
    # the default model: claude-haiku-4-5 (tests/helpers.py)
    requests = [request(name, **params) for name, (params, _) in CASES.items()]
    requests += [request(name, **params) for name, params in GOOD.items()]
    results = run_batch(emulator, requests)
    assert {name: results[name] for name in CASES} == {name: want for name, (_, want) in CASES.items()}
    assert {name: results[name] for name in GOOD} == dict.fromkeys(GOOD, "succeeded")


def test_the_300k_beta_raises_max_tokens_in_batches(emulator):
    requests = [request("opus", model="claude-opus-4-6", max_tokens=300_000),
                request("over", model="claude-opus-4-6", max_tokens=300_001),
                request("fable", model="claude-fable-5", max_tokens=200_000)]
    results = run_batch(emulator, requests, extra_headers={"anthropic-beta": "output-300k-2026-03-24"})
    assert results["opus"] == "succeeded"
    assert results["over"][1].startswith("max_tokens: 300001 > 300000, which is")
    assert results["fable"][1].startswith("max_tokens: 200000 > 128000, which is")  # not raised


MODELS = {
    "claude-no-batch": {"capabilities": {**model_info("x")["capabilities"], "batch": {"supported": False}}},
    "claude-text-only": {"capabilities": {**model_info("x")["capabilities"],
                                          "image_input": {"supported": False},
                                          "pdf_input": {"supported": False},
                                          "structured_outputs": {"supported": False}}},
    "claude-no-caps": {"capabilities": None, "max_tokens": None},
    "claude-old": {"lifecycle": "deprecated", "deprecated_at": "2026-01-01T00:00:00Z",
                   "retires_at": "2026-02-01T00:00:00Z"},  # overdue, not retired: still served
}


@pytest.mark.parametrize(
    ("model", "params", "want"),
    [
        ("claude-no-batch", {}, "model: claude-no-batch does not support the Message Batches API"),
        ("claude-text-only", {"messages": blocks(IMAGE)},
         "messages.0.content.0: claude-text-only does not support images."),
        ("claude-text-only", {"messages": blocks(TEXT_DOC, PDF)},
         "messages.0.content.1: claude-text-only does not support PDFs."),
        ("claude-text-only", {"messages": [{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [IMAGE]}]}]},
         "messages.0.content.0.content.0: claude-text-only does not support images."),
        ("claude-text-only", {"output_config": {"format": SCHEMA}},
         "output_config.format: structured outputs are not supported for this model."),
        ("claude-text-only", {"tools": [{"name": "g", "input_schema": {}}, STRICT_TOOL]},
         "tools.1.strict: strict tool schemas (structured outputs) are not supported for this model."),
        ("claude-text-only", {"messages": blocks(TEXT_DOC)}, None),
        ("claude-no-caps", {"max_tokens": 10**9, "messages": blocks(IMAGE, PDF),
                            "thinking": {"type": "between_tools"}}, None),
        ("claude-old", {}, None),
    ],
)
def test_capabilities_read_from_a_models_file(make_emulator, tmp_path, model, params, want):
    path = write_models(tmp_path / "models.json",
                        *(model_info(name, **changes) for name, changes in MODELS.items()))
    emulator = make_emulator(models=path)
    results = run_batch(emulator, [request("it", model=model, **params)])
    assert results["it"] == ("succeeded" if want is None else ("invalid_request_error", want))


def test_any_model_answers_an_unknown_id_but_not_a_retired_one(make_emulator):
    emulator = make_emulator(any_model=True)
    results = run_batch(emulator, [request("new", model="claude-imaginary-9", max_tokens=10**6),
                                   request("gone", model="claude-3-haiku-20240307")])
    assert results == {"new": "succeeded",
                       "gone": ("not_found_error", "model: claude-3-haiku-20240307")}

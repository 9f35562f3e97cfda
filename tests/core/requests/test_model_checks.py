"""Requests checked against their model before anything is sent (core/requests/modelcheck.py):
lifecycle, batch support, max_tokens, thinking types, effort levels, image and PDF input and
structured outputs read from the Models API's catalogue (the emulator's, over HTTP, replaced by a
file where a case needs a model the packaged one lacks), prefill and inference_geo from the rule
table. Each refusal is FILE:LINE, exit 3, with the rule's id and source; the same request sent
around batchctl through the SDK ends errored in the emulator where it models the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import invoke
from tests.support.emulators import model_info, write_models
from tests.support.files import write_params
from tests.support.runs import on

FETCHED = "the Models API (fetched 2026-09-21 14:13Z)"
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
PDF = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                      "data": "JVBE"}}
NO = {"supported": False}


def limited(model_id: str, **changes: Any) -> dict[str, Any]:
    """A model that takes no thinking type but disabled, effort up to high, no images, no PDFs,
    no structured outputs."""
    info = model_info(model_id, **changes)
    caps = info["capabilities"]
    caps["thinking"]["types"] = {"adaptive": NO, "enabled": NO, "disabled": {"supported": True}}
    caps["effort"] = {"supported": True, "low": {"supported": True}, "medium": {"supported": True},
                      "high": {"supported": True}, "max": NO}
    caps["image_input"] = caps["pdf_input"] = caps["structured_outputs"] = NO
    return info


CATALOGUE = [
    model_info("claude-sonnet-9-9", line="sonnet"),
    limited("claude-small-1", line="haiku"),
    model_info("claude-nobatch-1", capabilities={**model_info("x")["capabilities"], "batch": NO}),
    model_info("claude-dep-1", line="sonnet", lifecycle="deprecated",
               deprecated_at="2026-09-01T00:00:00Z", retires_at="2027-01-05T00:00:00Z"),
    model_info("claude-old-1", line="sonnet", lifecycle="retired",
               retires_at="2026-08-01T00:00:00Z"),
    model_info("claude-opus-4-5", line="opus"),
]


def params(model: str = "claude-sonnet-9-9", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}],
            **extra}


def user(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": "look"}, *blocks]}]


FORMAT = {"type": "json_schema", "schema": {"type": "object"}}
STRICT = [{"name": "f", "strict": True, "input_schema": {"type": "object"}}]
# rule, bad params, good params, what the problem line says (after FILE:LINE:), and the
# emulator's errored result (error type, fragment) when it models the rule, else None
CASES = [
    ("model-retired", params("claude-old-1"), params(),
     ("params.model: claude-old-1 was retired on 2026-08-01: requests naming it fail; use "
      "claude-sonnet-9-9, an active sonnet model"), ("not_found_error", "model: claude-old-1")),
    ("model-batch", params("claude-nobatch-1"), params(),
     "params.model: claude-nobatch-1 does not support the Message Batches API",
     ("invalid_request_error", "does not support the Message Batches API")),
    ("thinking-type", params("claude-small-1", thinking={"type": "enabled", "budget_tokens": 1024}),
     params("claude-small-1", thinking={"type": "disabled"}),
     ('params.thinking.type: "thinking.type.enabled" is not supported for this model '
      "(claude-small-1 takes: disabled)"),
     ("invalid_request_error", '"thinking.type.enabled" is not supported for this model')),
    ("effort-level", params("claude-small-1", output_config={"effort": "max"}),
     params("claude-small-1", output_config={"effort": "high"}),
     'params.output_config.effort: "max" is not supported for claude-small-1 (it takes: low, '
     "medium, high)", ("invalid_request_error", 'output_config.effort: "max" is not supported')),
    ("media-input", params("claude-small-1", messages=user(IMAGE)),
     params(messages=user(IMAGE)),
     "params.messages.0.content.1: claude-small-1 does not support images",
     ("invalid_request_error", "claude-small-1 does not support images")),
    ("structured-outputs", params("claude-small-1", output_config={"format": FORMAT}),
     params(output_config={"format": FORMAT}),
     "params.output_config.format: structured outputs are not supported for claude-small-1",
     ("invalid_request_error", "structured outputs are not supported")),
    ("prefill", params(messages=[{"role": "user", "content": "hi"},
                                 {"role": "assistant", "content": "Sure:"}]),
     params(model="claude-opus-4-5", messages=[{"role": "user", "content": "hi"},
                                               {"role": "assistant", "content": "Sure:"}]),
     ("params.messages.1: claude-sonnet-9-9 does not support prefilling the assistant turn: the "
      "conversation must end with a user message"), None),
    ("inference-geo", params("claude-opus-4-5", inference_geo="us"),
     params(inference_geo="us"), "params.inference_geo: inference_geo is not supported for "
     "claude-opus-4-5", None),
]
IDS = [case[0] for case in CASES]
#: The rules of the table that refuse, tested here (test_rules.py tests the others); the
#: warning model-deprecated is tested here too.
MODEL_RULES = IDS


@pytest.fixture
def emu(make_emulator: Any, tmp_path: Path) -> Any:
    return make_emulator(models=write_models(tmp_path / "models.json", *CATALOGUE))


@pytest.mark.parametrize(("rule", "bad", "good", "says", "api"), CASES, ids=IDS)
def test_a_request_its_model_refuses_is_refused_with_its_line_rule_and_source(
    tmp_path: Path, emu: Any, clock: Any, rule: str, bad: dict, good: dict, says: str, api: Any
) -> None:
    path = write_params(tmp_path / "in.jsonl", params(), bad)
    result = on(emu, clock, "submit", str(path))
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    problems = result.stderr.splitlines()
    assert problems[0] == f"error: {path}: 1 problem; nothing was submitted"
    assert problems[1].startswith(f"{path}:2: {says}"), problems[1]
    assert problems[1].endswith("]") and f"[{rule}; source: " in problems[1]
    assert emu.batches() == []
    fixed = on(emu, clock, "submit", str(write_params(tmp_path / "ok.jsonl", params(), good)))
    assert fixed.exit_code == 0, fixed.stderr


def test_model_facts_name_the_catalogue_they_come_from(tmp_path: Path, emu: Any, clock: Any) -> None:
    result = on(emu, clock, "submit", str(write_params(tmp_path / "in.jsonl", params("claude-old-1"))))
    assert result.stderr.splitlines()[1].endswith(f"[model-retired; source: {FETCHED}]")


def test_the_same_requests_through_the_sdk_end_errored_in_the_emulator(emu: Any) -> None:
    modelled = [(rule, bad, good, api) for rule, bad, good, _, api in CASES if api is not None]
    with emu.client() as client:
        requests = [{"custom_id": f"{r}-bad", "params": bad} for r, bad, _, _ in modelled]
        requests += [{"custom_id": f"{r}-good", "params": good} for r, _, good, _ in modelled]
        batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        emu.clock.advance(3600)
        results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    for rule, _, _, (error_type, fragment) in modelled:
        bad = results[f"{rule}-bad"]
        assert bad.type == "errored" and bad.error.error.type == error_type, rule
        assert fragment in bad.error.error.message, (rule, bad.error.error.message)
        assert results[f"{rule}-good"].type == "succeeded", rule


def test_a_deprecated_model_is_sent_with_a_warning_giving_its_retirement(
    tmp_path: Path, emu: Any, clock: Any
) -> None:
    path = write_params(tmp_path / "in.jsonl", params("claude-dep-1"), params("claude-dep-1"))
    result = on(emu, clock, "submit", str(path))
    assert result.exit_code == 0, result.stderr
    assert (f"warning: {path}:1: params.model: claude-dep-1 is deprecated and retires on "
            "2027-01-05, after which requests naming it fail; claude-sonnet-9-9 is active "
            f"[model-deprecated; source: {FETCHED}] (and 1 more line)") in result.stderr
    assert len(emu.batches()) == 1


def test_retired_sonnet_4_5_is_refused_and_the_new_models_pass(
    tmp_path: Path, cli: Any, emulator: Any
) -> None:
    retired = cli("submit", str(write_params(tmp_path / "old.jsonl", params("claude-sonnet-4-5"))))
    assert retired.exit_code == 3
    assert ("params.model: claude-sonnet-4-5 was retired on 2026-11-30: requests naming it fail; "
            "use claude-sonnet-5-5, an active sonnet model") in retired.stderr
    new = write_params(tmp_path / "new.jsonl", params("claude-fable-5-2"), params("claude-mythos-5-2"))
    sent = cli("submit", "--max-cost", "5", str(new))
    assert sent.exit_code == 0, sent.stderr
    dry = json.loads(cli("submit", "--dry-run", "--json", str(new)).stdout)
    priced = {m["model"]: m["est_cost_usd"] for m in dry["models"]}
    # $8 in, $40 out per million at batch rates (50%): 32 output tokens and ~1 input token each
    assert priced == {"claude-fable-5-2": 0.000644, "claude-mythos-5-2": 0.000644}
    assert dry["unpriced_models"] == []


def test_the_output_300k_beta_raises_max_tokens_in_batches(tmp_path: Path, cli: Any) -> None:
    path = write_params(tmp_path / "in.jsonl", params("claude-opus-4-6", max_tokens=300_000))
    refused = cli("submit", str(path))
    assert refused.exit_code == 3
    assert "params.max_tokens: 300000 > 128000, which is the maximum allowed number of output " \
           "tokens for claude-opus-4-6; lower max_tokens, or add --beta output-300k-2026-03-24" \
           in refused.stderr
    sent = cli("submit", "--beta", "output-300k-2026-03-24", str(path))
    assert sent.exit_code == 0, sent.stderr


def test_a_dry_run_without_a_key_checks_against_the_packaged_table(tmp_path: Path) -> None:
    path = write_params(tmp_path / "in.jsonl", params("claude-sonnet-4-5"))
    refused = invoke(["submit", "--dry-run", str(path)])
    assert refused.exit_code == 3
    assert "[model-retired; source: the packaged model table as of 2026-12-07]" in refused.stderr
    ok = invoke(["submit", "--dry-run", "--json", str(write_params(tmp_path / "ok.jsonl", params(
        "claude-haiku-4-5")))])
    assert json.loads(ok.stdout)["models_from"] == "the packaged model table as of 2026-12-07"


"""The request rules (batchctl.core.requests.rules): each rule refused by `submit` with FILE:LINE
and its hint, and the same request sent around batchctl through the SDK ending errored in the
emulator, which applies the same table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from batchctl.core.api.sdk_private import sdk_api_version
from batchctl.core.requests.rules import DEFAULT_API_VERSION, RULES

MODEL = "claude-haiku-4-5"
OLD = "2023-06-01"


def params(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": MODEL, "max_tokens": 32,
                            "messages": [{"role": "user", "content": "hello"}]}
    base.update(extra)
    return base


def blocks(role: str, *content: dict[str, Any]) -> list[dict[str, Any]]:
    """A conversation whose last message (of ``role``) holds these blocks."""
    head = [{"role": "user", "content": "hi"}] if role == "assistant" else []
    return [*head, {"role": role, "content": list(content)}]


EPHEMERAL = {"type": "ephemeral"}
LONG = "word " * 3300  # 4,125 estimated tokens: over claude-haiku-4-5's minimum cacheable length


def marked(count: int, *ttls: str) -> list[dict[str, Any]]:
    """A system of ``count`` text blocks, each with a cache_control marker (of these TTLs), the
    first long enough to be cached."""
    return [{"type": "text", "text": LONG if i == 0 else f"part {i}",
             "cache_control": {"type": "ephemeral", "ttl": ttls[i]} if ttls else EPHEMERAL}
            for i in range(count)]


DOC = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}
CITED = [{"type": "char_location", "cited_text": "d", "document_index": 0,
          "start_char_index": 0, "end_char_index": 1}]

# rule, api version, bad params, good params (the same request, fixed), what the problem says,
# what the emulator's errored result says (error type, fragment of its message; None: the
# emulator does not read that rule)
CASES = [
    ("sampling-removed", None, params(temperature=0.2), params(),
     ("params.temperature: not supported with anthropic-version 2026-10-21; drop the key, or use "
     "--api-version 2023-06-01"), ("invalid_request_error", "temperature: not supported")),
    ("sampling-range", OLD, params(temperature=5), params(temperature=1),
     "params.temperature: Input should be a number from 0 to 1, got 5",
     ("invalid_request_error", "temperature: Input should be a number from 0 to 1")),
    ("max-tokens-min", None, params(max_tokens=0), params(max_tokens=1),
     "params.max_tokens: must be at least 1, got 0", ("invalid_request_error", "max_tokens")),
    ("max-tokens-limit", None, params(max_tokens=1_000_000), params(max_tokens=64_000),
     ("params.max_tokens: 1000000 > 64000, which is the maximum allowed number of output tokens "
     "for claude-haiku-4-5"), ("invalid_request_error", "max_tokens: 1000000 > 64000")),
    ("model-known", None, params(model="claude-hiaku-4-5"), params(),
     ('params.model: unknown model "claude-hiaku-4-5" (did you mean "claude-haiku-4-5"?); fix the '
     "model id, or add --allow-unknown-model"), ("not_found_error", "model: claude-hiaku-4-5")),
    ("stream", None, params(stream=True), params(stream=False),
     "params.stream: streaming is not supported in the Message Batches API",
     ("invalid_request_error", "stream: streaming is not supported")),
    ("speed", None, params(speed="fast"), params(),
     "params.speed: not supported in the Message Batches API; drop speed",
     ("invalid_request_error", "speed: not supported")),
    ("create-call-keys", None, params(betas=["files-api-2025-04-14"]), params(),
     "params.betas: Extra inputs are not permitted; move it to --beta NAME, or add --lift-betas",
     ("invalid_request_error", "betas: Extra inputs are not permitted")),
    ("message", None, params(messages=[{"role": "bot", "content": "hi"}]), params(),
     "params.messages.0.role: Input should be 'user' or 'assistant', got \"bot\"",
     ("invalid_request_error", "messages.0.role: Input should be 'user' or 'assistant'")),
    ("block-type", None, params(messages=blocks("user", {"type": "txt", "text": "x"})),
     params(messages=blocks("user", {"type": "text", "text": "x"})),
     'params.messages.0.content.0.type: unknown block type "txt" (did you mean "text"?)',
     ("invalid_request_error", "messages.0.content.0.type: unknown block type")),
    ("assistant-document", None, params(messages=blocks("assistant", DOC)),
     params(messages=blocks("user", DOC)),
     "params.messages.1.content.0: a document block is not accepted in an assistant message",
     ("invalid_request_error", "messages.1.content.0: a document block")),
    ("user-citations", None,
     params(messages=blocks("user", {"type": "text", "text": "x", "citations": CITED})),
     params(messages=blocks("user", {"type": "text", "text": "x", "citations": []})),
     "params.messages.0.content.0.citations: citations are not accepted on a user text block",
     ("invalid_request_error", "messages.0.content.0.citations")),
    ("cache-markers-max", None, params(system=marked(5)), params(system=marked(4)),
     "params.system.4.cache_control: A maximum of 4 blocks with cache_control may be provided. "
     "Found 5.", ("invalid_request_error",
                  "A maximum of 4 blocks with cache_control may be provided. Found 5.")),
    ("cache-ttl-order", None, params(system=marked(2, "5m", "1h")), params(system=marked(2, "1h", "5m")),
     "params.system.1.cache_control.ttl: a ttl='1h' cache_control block must not come after a "
     "ttl='5m' cache_control block", ("invalid_request_error",
                                      "system.1.cache_control.ttl: a ttl='1h' cache_control block "
                                      "must not come after a ttl='5m' cache_control block")),
    ("cache-marker-block", None,
     params(messages=blocks("user", {"type": "text", "text": "", "cache_control": EPHEMERAL},
                            {"type": "text", "text": "x"})),
     params(messages=blocks("user", {"type": "text", "text": LONG, "cache_control": EPHEMERAL})),
     "params.messages.0.content.0.text: cache_control cannot be set for empty text blocks",
     ("invalid_request_error",
      "messages.0.content.0.text: cache_control cannot be set for empty text blocks")),
]
IDS = [case[0] for case in CASES]


def write(path: Path, *lines: dict[str, Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


def line(custom_id: str, p: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "params": p}


def version_args(version: str | None) -> list[str]:
    return ["--api-version", version] if version else []


def test_every_rule_of_the_table_has_a_case() -> None:
    """Each rule that can refuse has a case here or in tests/core/requests/test_model_checks.py; a rule that
    only ever warns is tested where its warning is (cache-prefix-min:
    tests/core/caching/test_refusals.py; model-deprecated: tests/core/requests/test_model_checks.py)."""
    from tests.core.requests.test_model_checks import MODEL_RULES

    assert sorted([*IDS, *MODEL_RULES]) == sorted(rule.id for rule in RULES.values() if not rule.warns)
    assert all(rule.source and rule.summary and rule.hint for rule in RULES.values())


@pytest.mark.parametrize(("rule", "version", "bad", "good", "says", "api"), CASES, ids=IDS)
def test_submit_refuses_a_broken_rule_with_its_line(
    tmp_path: Path, cli: Any, rule: str, version: str | None, bad: dict, good: dict, says: str,
    api: tuple[str, str] | None,
) -> None:
    path = write(tmp_path / "in.jsonl", line("ok", params()), line("bad", bad))
    result = cli("submit", *version_args(version), str(path))
    assert result.exit_code == 3, result.stderr
    assert result.stdout == ""
    problems = result.stderr.splitlines()
    assert problems[0] == f"error: {path}: 1 problem; nothing was submitted"
    assert problems[1].startswith(f"{path}:2: {says}"), problems[1]
    assert problems[1].endswith(f"[{rule}; source: {RULES[rule].source}]") or (
        problems[1].endswith(f"[{rule}; source: the Models API (fetched 2026-09-21 14:13Z)]"))
    assert cli("list", "--json").stdout == ""  # nothing was sent


@pytest.mark.parametrize(("rule", "version", "bad", "good", "says", "api"), CASES, ids=IDS)
def test_the_fixed_request_passes(
    tmp_path: Path, cli: Any, rule: str, version: str | None, bad: dict, good: dict, says: str,
    api: tuple[str, str] | None,
) -> None:
    path = write(tmp_path / "in.jsonl", line("ok", params()), line("fixed", good))
    result = cli("submit", "--dry-run", "--json", *version_args(version), str(path))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 2
    assert "warning" not in result.stderr


def test_the_same_file_through_the_sdk_ends_errored_in_the_emulator(emulator: Any) -> None:
    """What not checking costs: the create is accepted, every bad request errors at the end."""
    results: dict[str, Any] = {}
    read = [case for case in CASES if case[5] is not None]
    with emulator.client() as client:
        for version in (None, OLD):
            requests = [line(f"{rule}-bad", bad) for rule, v, bad, _, _, _ in read if v == version]
            requests += [line(f"{rule}-good", good) for rule, v, _, good, _, _ in read
                         if v == version]
            extra = {"anthropic-version": version} if version else {}
            batch = client.messages.batches.create(requests=requests, extra_headers=extra)
            assert batch.request_counts.processing == len(requests)  # accepted at create
            emulator.clock.advance(3600)
            results.update((r.custom_id, r.result) for r in client.messages.batches.results(batch.id))
    for rule, _, _, _, _, (error_type, fragment) in read:
        bad = results[f"{rule}-bad"]
        assert bad.type == "errored", rule
        assert bad.error.error.type == error_type, rule
        assert fragment in bad.error.error.message, (rule, bad.error.error.message)
        assert results[f"{rule}-good"].type == "succeeded", (rule, results[f"{rule}-good"])


def test_the_2026_rules_do_not_apply_under_2023_06_01(tmp_path: Path, cli: Any,
                                                        emulator: Any) -> None:
    old_style = [bad for rule, _, bad, _, _, _ in CASES
                 if RULES[rule].since > OLD]
    assert len(old_style) == 3
    path = write(tmp_path / "old.jsonl", *(line(f"r{i}", p) for i, p in enumerate(old_style)))
    refused = cli("submit", str(path))
    assert refused.exit_code == 3 and "3 problems" in refused.stderr
    sent = cli("submit", "--json", str(path), env={"BATCHCTL_API_VERSION": OLD})
    assert sent.exit_code == 0, sent.stderr
    batch_id = json.loads(sent.stdout)["id"]
    status = json.loads(cli("status", "--json", batch_id).stdout)
    assert status["api_version"] == OLD
    emulator.clock.advance(3600)
    results = [json.loads(x) for x in cli("results", batch_id).stdout.splitlines()]
    assert {r["result"]["type"] for r in results} == {"succeeded"}  # sent as 2023-06-01


def test_a_job_records_the_default_version_it_was_sent_with(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "in.jsonl", line("a", params()))
    batch_id = json.loads(cli("submit", "--json", str(path)).stdout)["id"]
    assert json.loads(cli("status", "--json", batch_id).stdout)["api_version"] == \
        DEFAULT_API_VERSION


def test_a_malformed_api_version_is_a_usage_error(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "in.jsonl", line("a", params()))
    result = cli("submit", "--api-version", "yesterday", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert "--api-version 'yesterday': expected a date" in result.stderr


def test_the_dry_run_lists_the_version_and_the_rules(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "in.jsonl", line("a", params()))
    data = json.loads(cli("submit", "--dry-run", "--json", str(path)).stdout)
    assert data["api_version"] == DEFAULT_API_VERSION
    assert [r["id"] for r in data["rules"]] == list(RULES)
    assert all(r["source"] for r in data["rules"])
    old = json.loads(cli("submit", "--dry-run", "--json", "--api-version", OLD, str(path)).stdout)
    assert "sampling-removed" not in [r["id"] for r in old["rules"]]
    human = cli("submit", "--dry-run", str(path))
    assert f"api version\t{DEFAULT_API_VERSION}" in human.stdout
    assert "rules checked\tsampling-removed, sampling-range," in human.stdout


def test_an_unknown_model_sent_anyway_is_a_warning_once_and_the_api_answers_not_found(
    tmp_path: Path, cli: Any, emulator: Any
) -> None:
    path = write(tmp_path / "in.jsonl", *(line(f"r{i}", params(model="my-model")) for i in range(3)))
    refused = cli("submit", str(path))
    assert refused.exit_code == 3 and refused.stdout == ""
    assert f'{path}:1: params.model: unknown model "my-model"; fix the model id' in refused.stderr
    result = cli("submit", "--allow-unknown-model", str(path))
    assert result.exit_code == 0, result.stderr
    warnings = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    source = "the Models API (fetched 2026-09-21 14:13Z)"
    assert warnings == [(f'warning: {path}:1: params.model: "my-model" is not in {source}: sent '
                        "unchecked (--allow-unknown-model); the API answers not_found_error for a "
                        f"model that does not exist [model-known; source: {source}] (and 2 more "
                        "lines)")]
    emulator.clock.advance(3600)
    results = [json.loads(x) for x in cli("results", result.stdout.strip()).stdout.splitlines()]
    assert {r["result"]["error"]["error"]["type"] for r in results} == {"not_found_error"}
    assert {r["result"]["error"]["error"]["message"] for r in results} == {"model: my-model"}


def test_allow_unknown_model_accepts_a_near_miss(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "in.jsonl", line("a", params(model="claude-haiku-4-6")))
    assert cli("submit", "--dry-run", str(path)).exit_code == 3
    allowed = cli("submit", "--dry-run", "--allow-unknown-model", str(path))
    assert allowed.exit_code == 0, allowed.stderr


def test_all_problems_lists_every_one(tmp_path: Path, cli: Any) -> None:
    # 60 distinct problems (the same one on many lines is one line: tests/core/requests/test_problems.py)
    path = write(tmp_path / "in.jsonl", *(line(f"r {i}", params()) for i in range(60)))
    capped = cli("submit", str(path)).stderr.splitlines()
    assert len(capped) == 1 + 50 + 1
    assert capped[-1] == "... and 10 more problems: --all-problems lists every one"
    every = cli("submit", "--all-problems", str(path)).stderr.splitlines()
    assert len(every) == 1 + 60 and every[-1].startswith(f'{path}:60: custom_id "r 59"')


def test_limits_file_replaces_the_output_limits(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "in.jsonl", line("a", params(model="my-model", max_tokens=20)))
    limits = tmp_path / "limits.json"
    limits.write_text(json.dumps({"as_of": "2030-01-01", "models": {"my-model": {"max_output": 10}}}))
    result = cli("submit", "--dry-run", "--limits", str(limits), str(path))
    assert result.exit_code == 3
    assert f"{path}:1: params.max_tokens: 20 > 10, which is the maximum" in result.stderr
    limits.write_text('{"models": {"my-model": {"max_output": "lots"}}}')
    bad = cli("submit", "--dry-run", "--limits", str(limits), str(path))
    assert bad.exit_code == 2 and "--limits" in bad.stderr and bad.stdout == ""


def test_the_300k_beta_raises_the_limit(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "in.jsonl", line("a", params(model="claude-opus-4-6", max_tokens=200_000)))
    refused = cli("submit", "--dry-run", str(path))
    assert refused.exit_code == 3
    assert "add --beta output-300k-2026-03-24 (up to 300,000 in batches)" in refused.stderr
    ok = cli("submit", "--dry-run", "--beta", "output-300k-2026-03-24", str(path))
    assert ok.exit_code == 0, ok.stderr


def test_lift_betas_sends_them_in_the_header_not_in_params(
    tmp_path: Path, cli: Any, emulator: Any
) -> None:
    lifted = params(model="claude-opus-4-6", max_tokens=200_000, betas=["output-300k-2026-03-24"])
    path = write(tmp_path / "in.jsonl", line("a", lifted), line("b", params()))
    refused = cli("submit", str(path))
    assert refused.exit_code == 3 and "--lift-betas" in refused.stderr
    dry = json.loads(cli("submit", "--dry-run", "--json", "--lift-betas", str(path)).stdout)
    assert dry["lifted_betas"] == ["output-300k-2026-03-24"]
    sent = cli("submit", "--lift-betas", str(path))
    assert sent.exit_code == 0, sent.stderr
    emulator.clock.advance(3600)
    # The emulator refuses betas inside params and a max_tokens over 128,000 without the beta in
    # the anthropic-beta header: both requests succeeding shows where the betas went.
    results = [json.loads(x) for x in cli("results", sent.stdout.strip()).stdout.splitlines()]
    assert {r["result"]["type"] for r in results} == {"succeeded"}


def test_a_server_tool_turn_pauses_and_is_counted_unfinished(
    tmp_path: Path, cli: Any, emulator: Any
) -> None:
    search = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]
    path = write(tmp_path / "in.jsonl", line("a", params(tools=search, max_tokens=512)),
                 line("b", params(max_tokens=512)))
    batch_id = cli("submit", str(path)).stdout.strip()
    emulator.clock.advance(3600)
    jsonl = cli("results", batch_id)
    stops = {json.loads(x)["custom_id"]: json.loads(x)["result"]["message"]["stop_reason"]
             for x in jsonl.stdout.splitlines()}
    assert stops == {"a": "pause_turn", "b": "end_turn"}
    assert "results: 2 succeeded (1 unfinished: stop_reason pause_turn)" in jsonl.stderr
    out = tmp_path / "answers.csv"
    csv = cli("results", batch_id, "-o", str(out))
    assert "results: 2 succeeded (1 unfinished: stop_reason pause_turn)" in csv.stderr
    assert ",pause_turn," in out.read_text()


def test_the_default_version_is_the_sdks() -> None:
    assert sdk_api_version() == DEFAULT_API_VERSION


def test_prepare_checks_its_model_and_max_tokens(tmp_path: Path, cli: Any) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    typo = cli("prepare", str(prompts), "--model", "claude-hiaku-4-5")
    assert typo.exit_code == 2 and typo.stdout == ""
    assert '--model: unknown model "claude-hiaku-4-5" (did you mean "claude-haiku-4-5"?)' in \
        typo.stderr
    over = cli("prepare", str(prompts), "--model", MODEL, "--max-tokens", "100000")
    assert over.exit_code == 2 and "--max-tokens: 100000 > 64000" in over.stderr
    newer = cli("prepare", str(prompts), "--model", "claude-haiku-4-6", "--allow-unknown-model")
    assert newer.exit_code == 0, newer.stderr
    assert len(newer.stdout.splitlines()) == 2

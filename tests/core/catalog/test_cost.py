"""One cost formula: the dry run's estimate and the results summary give the same figure for the
same usage, long-prompt tier included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchctl.core.catalog import prices
from batchctl.core.requests.scan import scan_file
from batchctl.core.results.summary import Summary
from batchctl.core.submit.submit import dry_run_summary

MODEL = "claude-haiku-5-5"  # priced higher for prompts over 100,000 tokens (prices.json)


def _request(custom_id: str, chars: int, max_tokens: int) -> dict:
    return {"custom_id": custom_id, "params": {
        "model": MODEL, "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "x" * chars}]}}


def _result(custom_id: str, input_tokens: int, output_tokens: int) -> dict:
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [],
        "stop_reason": "max_tokens", "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens}}}}


def _line(record: dict) -> bytes:
    """One results line as the API writes it (compact JSON, newline)."""
    return json.dumps(record, separators=(",", ":")).encode() + b"\n"


@pytest.mark.parametrize("long_prompt", [False, True])
def test_dry_run_and_summary_agree_for_the_same_usage(tmp_path: Path, long_prompt: bool) -> None:
    limit = int(prices.long_prompt_limit(MODEL))
    # characters / 4 is the dry run's estimate: these prompts are exactly 100 and limit + 2 tokens
    sizes = [(100, 50), ((limit + 2) if long_prompt else 200, 70)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(_request(f"r{i}", 4 * n, out)) + "\n"
                            for i, (n, out) in enumerate(sizes)))
    estimate = dry_run_summary(scan_file(path))["est_cost_usd"]

    summary = Summary()
    for i, (n, out) in enumerate(sizes):  # the API used exactly what was estimated
        summary.add(_line(_result(f"r{i}", n, out)))
    actual = summary.costs()["est_cost_usd"]

    assert estimate is not None and actual is not None
    assert round(estimate, 6) == actual
    standard = prices.batch_cost(MODEL, sum(n for n, _ in sizes), sum(o for _, o in sizes))
    assert standard is not None
    # the long prompt is billed at the higher tier by both; a short file by neither
    assert (actual > round(standard, 6)) is long_prompt


def test_the_summary_reads_the_tier_from_the_prompt_with_its_cache_tokens() -> None:
    limit = int(prices.long_prompt_limit(MODEL))
    record = _result("r", 10, 5)
    record["result"]["message"]["usage"]["cache_read_input_tokens"] = limit  # 10 + limit > limit
    summary = Summary()
    summary.add(_line(record))
    tokens = {"input_tokens": 10, "output_tokens": 5, "cache_read_tokens": limit}
    assert summary.costs()["est_cost_usd"] == round(prices.cost(MODEL, tokens, long=True) or 0, 6)

"""`submit --dry-run --count-tokens` through the SDK's count_tokens, and the emulator's endpoint."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from tests.support.failures import failure
from tests.support.files import request, write_jsonl
from tests.support.runs import submit

MODEL = "claude-haiku-4-5"
TOOL = {"name": "lookup", "description": "Find a thing.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}


req = partial(request, model=MODEL, max_tokens=50, system="Be brief.")
write = write_jsonl


def test_the_emulator_counts_as_its_results_report(tmp_path: Path, emulator: Any, cli: Any,
                                                   clock: Any) -> None:
    request = req("a", "How many tokens is this? " * 7)
    with emulator.client() as client:
        counted = client.messages.count_tokens(
            model=MODEL, system="Be brief.", messages=request["params"]["messages"])
        _, (batch_id,) = submit(cli, write(tmp_path / "r.jsonl", [request]))
        clock.advance(3600)
        (result,) = list(client.messages.batches.results(batch_id))
        assert counted.input_tokens == result.result.message.usage.input_tokens
        bad = failure(lambda: client.messages.count_tokens(model=MODEL, messages=[]))
        assert bad.status_code == 400 and "at least one message" in bad.body["error"]["message"]


def test_dry_run_counts_each_distinct_prompt_once(tmp_path: Path, cli: Any, emulator: Any,
                                                  clock: Any) -> None:
    requests = [
        req("a", "alpha " * 40),
        req("b", "alpha " * 40, max_tokens=10),  # same prompt: counted once
        req("c", "beta " * 10, tools=[TOOL]),
        req("d", "gamma"),
    ]
    path = write(tmp_path / "r.jsonl", requests)
    estimate = json.loads(cli("submit", str(path), "--dry-run", "--json").stdout)
    got = cli("submit", str(path), "--dry-run", "--count-tokens", "--json")
    assert got.exit_code == 0, got.stderr
    summary = json.loads(got.stdout)
    assert summary["input_tokens_counted"] is True
    assert "(3 distinct prompts)" in summary["note"]
    # nothing was sent: the counts are what the batch would report, once it has run
    with emulator.client() as client:
        assert list(client.messages.batches.list()) == []
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    with emulator.client() as client:
        usage = sum(r.result.message.usage.input_tokens
                    for r in client.messages.batches.results(batch_id))
    assert summary["est_input_tokens"] == usage
    assert estimate["est_input_tokens"] != usage  # batchctl's own estimate counts the tool too
    assert estimate["input_tokens_counted"] is False


def test_table_on_a_terminal_and_usage_error_without_dry_run(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "r.jsonl", [req("a", "hello there")])
    shown = cli("submit", str(path), "--dry-run", "--count-tokens", tty=True)
    assert shown.exit_code == 0, shown.stderr
    assert "input tokens (counted)" in shown.stdout
    assert "~" not in shown.stdout.split("input tokens (counted)", 1)[1].splitlines()[0]
    refused = cli("submit", str(path), "--count-tokens")
    assert refused.exit_code == 2
    assert "--count-tokens goes with --dry-run" in refused.stderr


def test_counted_tokens_feed_max_cost(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "r.jsonl", [req("a", "x" * 4000, max_tokens=1)])
    got = cli("submit", str(path), "--dry-run", "--count-tokens", "--max-cost", "0.0001")
    assert got.exit_code == 10
    assert "the input alone is estimated at" in got.stderr


def test_no_key_no_count(tmp_path: Path, emulator: Any) -> None:
    from tests.helpers import invoke

    path = write(tmp_path / "r.jsonl", [req("a", "hello")])
    got = invoke(["--base-url", emulator.base_url, "submit", str(path), "--dry-run",
                  "--count-tokens"], env={"ANTHROPIC_API_KEY": None})
    assert got.exit_code == 4
    assert "no API key" in got.stderr

"""Requests with server tools can produce more output than max_tokens (BATCHES_API.md 12.6):
for files that use them, the dry run's estimate and --max-cost say the figure is not an upper
bound, instead of calling it one; files without them keep calling it one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.files import request, write_jsonl

SEARCH = [{"type": "web_search_20250305", "name": "web_search", "max_uses": 1}]
NOT_A_BOUND = ("not an upper bound: 1 request uses server tools, which can call the model more "
               "than once and produce more output than max_tokens")


def files(tmp_path: Path) -> tuple[Path, Path]:
    plain = write_jsonl(tmp_path / "plain.jsonl", [request("a"), request("b")])
    tools = write_jsonl(tmp_path / "tools.jsonl", [request("a"), request("b", tools=SEARCH)])
    return plain, tools


def test_the_dry_run_says_the_estimate_is_no_upper_bound_only_with_server_tools(
    tmp_path: Path, cli: Any
) -> None:
    plain, tools = files(tmp_path)
    bounded = json.loads(cli("submit", "--dry-run", "--json", str(plain)).stdout)
    assert "output priced at max_tokens, an upper bound" in bounded["note"]
    assert bounded["server_tool_requests"] == 0 and bounded["warnings"] == []
    unbounded = cli("submit", "--dry-run", "--json", str(tools))
    summary = json.loads(unbounded.stdout)
    assert f"output priced at max_tokens, which is {NOT_A_BOUND}" in summary["note"]
    assert "an upper bound;" not in summary["note"]
    assert summary["server_tool_requests"] == 1
    assert summary["warnings"] == [
        f"{tools}:2: server tools (or MCP servers) can call the model more than once, so output "
        "can exceed max_tokens: cost estimates and --max-cost are not upper bounds for such "
        "requests"]
    human = cli("submit", "--dry-run", str(tools))
    assert human.exit_code == 0
    assert f"which is {NOT_A_BOUND}" in human.stderr


def test_max_cost_over_the_cap_calls_the_figure_an_estimate(tmp_path: Path, cli: Any,
                                                            emulator: Any) -> None:
    plain, tools = files(tmp_path)
    worst = cli("submit", "--max-cost", "0", str(plain))
    assert worst.exit_code == 10
    assert "the worst-case cost, $" in worst.stderr
    assert "(input estimated, output at max_tokens), is above --max-cost $0.00" in worst.stderr
    estimated = cli("submit", "--max-cost", "0", str(tools))
    assert estimated.exit_code == 10 and estimated.stdout == ""
    assert "error: the estimated cost, $" in estimated.stderr
    assert (f"(input estimated, output at max_tokens, which is {NOT_A_BOUND}), is above "
            "--max-cost $0.00; nothing was sent") in estimated.stderr
    assert emulator.batches() == []


def test_max_cost_under_the_cap_still_says_it_is_no_bound(tmp_path: Path, cli: Any) -> None:
    _, tools = files(tmp_path)
    sent = cli("submit", "--max-cost", "5", str(tools))
    assert sent.exit_code == 0, sent.stderr
    assert ("cost estimates and --max-cost are not upper bounds for such requests"
            in sent.stderr)

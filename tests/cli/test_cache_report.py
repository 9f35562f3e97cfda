"""The dry run's prompt-cache report (`submit --dry-run`, `run --dry-run`; `--json` under
`cache`), the one hint line of a plain submit or run, and the parsing of --cache and
--cache-minimums."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import invoke
from tests.support.caching import SONNET, ask
from tests.support.files import write_jsonl
from tests.support.runs import cli_on

ROOT = Path(__file__).resolve().parents[2]
SHARED_DOC = ROOT / "samples" / "shared_doc.jsonl"
QUESTIONS = ROOT / "samples" / "questions.jsonl"
HINT = "prompt caching could cut this job's estimated cost by"
KEYS = {"groups", "breakpoints", "cost_as_written", "cost_planned_best", "cost_planned_30pct",
        "break_even_hit_rate"}


def dry_run(*args: str, **kwargs: Any) -> Any:
    result = invoke([*args], **kwargs)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("command", ["submit", "run"])
def test_json_cache_key_on_the_shared_document(command: str) -> None:
    out = json.loads(dry_run(command, "--dry-run", "--json", str(SHARED_DOC)).stdout)
    cache = out["cache"]
    assert set(cache) >= KEYS
    (group,) = cache["groups"]
    assert (group["model"], group["requests"], group["at"], group["prefix_blocks"]) == (
        "claude-haiku-4-5", 200, "system.0", {"tools": 0, "system": 1, "messages": 0})
    assert (group["min_cacheable_tokens"], group["tokens_source"], group["planned"]) == (
        4096, "estimate", True)
    assert cache["breakpoints"] == 1
    # The handbook is every request's system block: its tokens by the documented heuristic.
    first = json.loads(SHARED_DOC.read_bytes().splitlines()[0])
    tokens = group["prefix_tokens"]
    assert tokens == -(-len(first["params"]["system"][0]["text"]) // 4)
    # Haiku 4.5 at batch rates: $1/M input, a 1-hour write 2x, a read 0.1x, halved.
    rate = 0.5 / 1e6
    assert cache["cost_as_written"] == pytest.approx(out["est_cost_usd"], abs=1e-6)
    best = cache["cost_as_written"] - rate * tokens * (199 * 0.9 - 1.0)
    assert cache["cost_planned_best"] == pytest.approx(best, abs=1e-5)
    none_read = cache["cost_as_written"] + rate * tokens * 200  # every request writes
    assert cache["cost_planned_30pct"] == pytest.approx(none_read + 0.3 * (best - none_read),
                                                        abs=1e-5)
    even = (none_read - cache["cost_as_written"]) / (none_read - best)
    assert cache["break_even_hit_rate"] == pytest.approx(even, abs=1e-4)
    assert 0.5 < cache["break_even_hit_rate"] < 0.55  # the docs' ~53% for the 1-hour TTL


def test_count_tokens_counts_each_groups_prefix(emulator: Any, clock: Any) -> None:
    run = cli_on(emulator, clock)
    result = run("submit", "--dry-run", "--count-tokens", "--json", str(SHARED_DOC))
    assert result.exit_code == 0, result.stderr
    (group,) = json.loads(result.stdout)["cache"]["groups"]
    assert group["tokens_source"] == "count"
    # What the emulator's count_tokens says of a request holding only the prefix.
    first = json.loads(SHARED_DOC.read_bytes().splitlines()[0])["params"]
    with emulator.client() as client:
        counted = client.messages.count_tokens(
            model=first["model"], system=first["system"],
            messages=[{"role": "user", "content": "."}]).input_tokens
    assert group["prefix_tokens"] == counted


@pytest.mark.parametrize("width", [60, 80, 120])
def test_the_human_report_reads_at_each_width(width: int) -> None:
    result = dry_run("submit", "--dry-run", str(SHARED_DOC), tty=True, width=width)
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()
    assert all(len(line.rstrip()) <= width for line in lines)
    text = " ".join(" ".join(line.split()) for line in lines)
    assert "CACHE PLAN" in text
    assert "claude-haiku-4-5: 200 requests share 1 system block, ~4,891 tokens" in text
    assert "minimum 4,096" in text and "ending at system.0" in text
    for label in ("cost as written $0.64", "with --cache auto, best $0.21",
                  "with --cache auto, 30% hits $0.85", "break-even hit rate 53%"):
        assert label in text
    assert "cache plan: estimates" in result.stderr


def test_off_a_terminal_the_report_is_tab_separated() -> None:
    rows = dry_run("submit", "--dry-run", str(SHARED_DOC)).stdout.splitlines()
    assert "cost as written\t0.64" in rows
    assert "break-even hit rate\t53%" in rows
    assert any(row.startswith("group 1\tclaude-haiku-4-5: 200 requests share") for row in rows)


def test_a_plain_submit_names_the_saving_once(cli: Any) -> None:
    result = cli("submit", str(SHARED_DOC))
    assert result.exit_code == 0, result.stderr
    hints = [line for line in result.stderr.splitlines() if line.startswith(HINT)]
    assert hints == [f"{HINT} 68%, about $0.44 of $0.64, at best; it pays above a 53% hit rate: "
                     "add --cache auto (a dry run shows the plan)"]


def test_no_hint_with_cache_given_or_nothing_shared(cli: Any) -> None:
    for args in (["--cache", "auto", str(SHARED_DOC)], ["--cache", "off", "--force",
                                                        str(SHARED_DOC)], [str(QUESTIONS)]):
        result = cli("submit", *args)
        assert result.exit_code == 0, result.stderr
        assert HINT not in result.stderr


def test_no_hint_when_the_saving_is_under_a_tenth(cli: Any, tmp_path: Path) -> None:
    doc = "The shared preamble of every request here. " * 105  # ~1,130 tokens: over 1,024
    long = "x" * 40_000  # each question ~10,000 tokens of its own
    path = write_jsonl(tmp_path / "q.jsonl", [
        {"custom_id": f"q{i}", "params": ask(f"{i} {long}", model=SONNET, doc=doc)}
        for i in range(20)])
    shown = json.loads(cli("submit", "--dry-run", "--json", str(path)).stdout)["cache"]
    saving = 1 - shown["cost_planned_best"] / shown["cost_as_written"]
    assert 0.05 < saving < 0.10 and shown["groups"][0]["planned"]
    result = cli("submit", str(path))
    assert result.exit_code == 0, result.stderr
    assert HINT not in result.stderr


def test_a_plain_run_names_the_saving(cli: Any, tmp_path: Path) -> None:
    result = cli("run", "-o", str(tmp_path / "out.jsonl"), str(SHARED_DOC))
    assert result.exit_code == 0, result.stderr
    assert sum(line.startswith(HINT) for line in result.stderr.splitlines()) == 1


@pytest.mark.parametrize(("args", "said"), [
    (["--cache", "on"], "--cache must be one of off, auto, not 'on'"),
    (["--cache-minimums", "{missing}"], "--cache-minimums"),
    (["--cache-minimums", "{bad}"], "--cache-minimums {bad}: model 'claude-haiku-4-5' needs "
                                    "min_cacheable_tokens"),
])
@pytest.mark.parametrize("command", ["submit", "run"])
def test_bad_cache_options_are_usage_errors(command: str, args: list[str], said: str,
                                            tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"models": {"claude-haiku-4-5": {"min_cacheable_tokens": 0}}}))
    names = {"missing": str(tmp_path / "missing.json"), "bad": str(bad)}
    args = [a.format(**names) for a in args]
    result = invoke([command, "--dry-run", *args, str(SHARED_DOC)])
    assert result.exit_code == 2
    assert said.format(**names) in result.stderr
    assert result.stdout == ""


def test_count_tokens_gives_each_group_its_own_count(emulator: Any, clock: Any,
                                                     tmp_path: Path) -> None:
    docs = [f"Document {k}. " + "Words of the shared text. " * (60 + 7 * k) for k in range(17)]
    path = write_jsonl(tmp_path / "g.jsonl", [
        {"custom_id": f"d{k}q{i}", "params": ask(f"question {i}", model=SONNET, doc=doc)}
        for k, doc in enumerate(docs) for i in range(2)])  # 17 groups: more than 2 x 8 workers
    result = cli_on(emulator, clock)("submit", "--dry-run", "--count-tokens", "--json", str(path))
    assert result.exit_code == 0, result.stderr
    groups = json.loads(result.stdout)["cache"]["groups"]
    assert len(groups) == 17
    with emulator.client() as client:
        for k, group in enumerate(groups):
            first = ask("question 0", model=SONNET, doc=docs[k])
            prefix = [{"role": "user", "content": first["messages"][0]["content"][:1]}]
            want = client.messages.count_tokens(model=SONNET, system=first["system"],
                                                messages=prefix).input_tokens
            assert (group["tokens_source"], group["prefix_tokens"]) == ("count", want), k

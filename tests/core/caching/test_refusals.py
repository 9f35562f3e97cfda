"""What the API refuses of cache_control markers, refused before sending (FILE:LINE, exit 3), and
a marker under the model's minimum cacheable length warned about (issue 20, items 2 and 5)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.caching import markers
from batchctl.core.caching.minimums import builtin_minimums, load_minimums
from batchctl.core.errors import UsageError
from batchctl.core.requests.ruletable import RULES
from tests.helpers import invoke
from tests.support.caching import EPH, HOUR, text
from tests.support.failures import failure
from tests.support.files import write_jsonl

MODEL = "claude-haiku-4-5"  # minimum 4,096 tokens (core/caching/minimums.json)
LONG = "word " * 3300  # 4,125 estimated tokens
def req(custom_id: str, **params: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "params": {
        "model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}], **params}}


def dry_run(tmp_path: Path, *lines: dict[str, Any], args: tuple[str, ...] = ()) -> Any:
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    return path, invoke(["--emulator", "submit", "--dry-run", *args, str(path)])


def only_problem(result: Any, path: Path) -> str:
    """The one problem line of a refused file: exit 3, nothing on stdout, a count first."""
    assert (result.exit_code, result.stdout) == (3, ""), result.stderr
    head, problem = result.stderr.splitlines()[:2]
    assert head == f"error: {path}: 1 problem; nothing was submitted"
    return problem


THINKING = {"type": "thinking", "thinking": "t", "signature": "s", "cache_control": EPH}
REFUSED = [
    ("five markers, the fifth a top-level one",
     {"system": [text(LONG, EPH), text("a", EPH), text("b", EPH), text("c", EPH)],
      "cache_control": EPH},
     "params.cache_control: A maximum of 4 blocks with cache_control may be provided. Found 5.; "
     "keep at most 4 markers", "cache-markers-max"),
    ("a 1-hour marker in system after a 5-minute one on a tool",
     {"tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": EPH}],
      "system": [text(LONG, HOUR)]},
     "params.system.0.cache_control.ttl: a ttl='1h' cache_control block must not come after a "
     "ttl='5m' cache_control block. Note that blocks are processed in the following order: "
     "`tools`, `system`, `messages`.", "cache-ttl-order"),
    ("a top-level 1-hour marker after a 5-minute one",
     {"system": [text(LONG, EPH)], "cache_control": HOUR},
     "params.cache_control.ttl: a ttl='1h' cache_control block must not come after",
     "cache-ttl-order"),
    ("a top-level 5-minute marker on a last block marked for an hour",
     {"messages": [{"role": "user", "content": [text(LONG, HOUR)]}], "cache_control": EPH},
     "params.cache_control.ttl: the top-level cache_control (ttl 5m) goes on the last block, "
     "which is already marked with ttl 1h", "cache-ttl-order"),
    ("a marker on a thinking block",
     {"messages": [{"role": "user", "content": LONG},
                   {"role": "assistant", "content": [THINKING, text("so")]},
                   {"role": "user", "content": "go on"}]},
     "params.messages.1.content.0.thinking.cache_control: Extra inputs are not permitted; move the "
     "marker to the block before it", "cache-marker-block"),
    ("a marker on an empty system block",
     {"system": [text(LONG), text("", EPH)]},
     "params.system.1.text: cache_control cannot be set for empty text blocks",
     "cache-marker-block"),
]


@pytest.mark.parametrize(("case", "params", "says", "rule"), REFUSED, ids=[c[0] for c in REFUSED])
def test_the_dry_run_refuses_what_the_api_would(
    tmp_path: Path, case: str, params: dict, says: str, rule: str
) -> None:
    path, result = dry_run(tmp_path, req("ok"), req("bad", **params))
    problem = only_problem(result, path)
    source = RULES[rule].source
    assert problem.startswith(f"{path}:2: {says}"), problem
    assert problem.endswith(f"[{rule}; source: {source}]"), problem


def test_four_markers_and_ttls_in_order_pass(tmp_path: Path) -> None:
    fine = req("a", tools=[{"name": "t", "input_schema": {"type": "object"}, "cache_control": HOUR}],
               system=[text(LONG, HOUR), text("b", EPH)], cache_control=EPH)
    _, result = dry_run(tmp_path, fine)
    assert result.exit_code == 0, result.stderr
    warnings = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1 and "params.tools.0.cache_control: the prefix" in warnings[0]


def test_a_marker_under_the_minimum_is_a_warning_said_once(tmp_path: Path) -> None:
    short = [req(f"r{i}", system=[text("You answer briefly.", EPH)]) for i in range(3)]
    path, result = dry_run(tmp_path, *short, req("long", system=[text(LONG, EPH)]), args=("--json",))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["requests"] == 4
    warnings = [x for x in result.stderr.splitlines() if x.startswith("warning:")]
    assert warnings == [
        f"warning: {path}:1: params.system.0.cache_control: the prefix up to this marker is under "
        "claude-haiku-4-5's minimum cacheable length of 4,096 tokens (estimated at characters/4): "
        "the API caches nothing there and both cache fields come back 0 [cache-prefix-min; source: "
        f"{RULES['cache-prefix-min'].source}] (and 2 more lines)"]


def test_no_minimum_warning_for_a_model_the_table_does_not_know(tmp_path: Path) -> None:
    unknown = req("a", model="claude-sonnet-5-5", system=[text("short", EPH)])
    _, result = dry_run(tmp_path, unknown)
    assert result.exit_code == 0, result.stderr
    assert "cache-prefix-min" not in result.stderr


def test_the_warning_is_at_the_deepest_marker_under_the_minimum() -> None:
    params = {"model": "claude-sonnet-4-6", "max_tokens": 1, "cache_control": None,
              "system": [text("a" * 3000, EPH), text("b" * 1000, EPH), text("c" * 1000, EPH)],
              "messages": [{"role": "user", "content": "q"}]}
    found = markers.check(params, builtin_minimums())  # 750, 1000, 1250 tokens against 1,024
    assert [(p.rule, p.field, p.warning) for p in found] == [
        ("cache-prefix-min", "system.1.cache_control", True)]


def test_a_null_cache_control_is_no_marker() -> None:
    params = {"model": MODEL, "cache_control": None,
              "system": [text("x", None) | {"cache_control": None} for _ in range(6)],
              "messages": [{"role": "user", "content": "q"}]}
    assert markers.check(params, builtin_minimums()) == []


def test_a_minimums_file_adds_and_replaces_models(tmp_path: Path) -> None:
    path = tmp_path / "minimums.json"
    path.write_text(json.dumps({"as_of": "2030-01-01", "models": {
        "claude-haiku-4-5": {"min_cacheable_tokens": 2048}, "my-model": {"min_cacheable_tokens": 64}}}))
    table = load_minimums(path)
    assert table.as_of == "2030-01-01"
    assert table.minimum("claude-haiku-4-5") == (2048, "file")
    assert table.minimum("my-model") == (64, "file")
    assert table.minimum("claude-opus-4-7") == (2048, "table")
    assert table.minimum("claude-sonnet-5-5") == (4096, "assumed")  # the table's largest


@pytest.mark.parametrize("body", ['{"models": {"m": {"min_cacheable_tokens": 0}}}',
                                  '{"models": {}}', "not json"])
def test_a_bad_minimums_file_is_a_usage_error(tmp_path: Path, body: str) -> None:
    path = tmp_path / "minimums.json"
    path.write_text(body)
    error = failure(lambda: load_minimums(path, "--cache-minimums"))  # as the CLI names it
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert str(error).startswith(f"--cache-minimums {path}: ")

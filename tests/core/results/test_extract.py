"""Structured answers: the stand-in model's tool_use / JSON / thinking replies, `--extract`,
the `tool_use` and `--thinking` CSV columns, JSONL `extracted`."""

from __future__ import annotations

import json
import zlib
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from batchctl.core.results import csvout
from tests.support.files import read_csv, request, write_jsonl
from tests.support.runs import cli_on, on, submit

MODEL = "claude-sonnet-4-6"
CLASSIFY = {
    "name": "classify",
    "description": "Classify a product.",
    "input_schema": {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": ["shoes", "hats"]},
            "score": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "in_stock": {"type": "boolean"},
        },
        "required": ["category"],
    },
}
OTHER = {"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
SCHEMA = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "size": {"type": "object",
                                                        "properties": {"eu": {"type": "integer"}}}},
}


req = partial(request, model=MODEL, max_tokens=256)


REQUESTS = [
    # forced tool: only a tool_use block
    req("forced", "red shoes", tools=[CLASSIFY, OTHER], tool_choice={"type": "tool", "name": "classify"}),
    # auto: the tool named in the message, after a sentence of text
    req("auto", "please lookup blue hats", tools=[CLASSIFY, OTHER]),
    # structured outputs: the whole text is JSON
    req("schema", "green boots", output_config={"format": {"type": "json_schema", "schema": SCHEMA}}),
    # the word JSON: a fenced ```json block
    req("fenced", "Answer in JSON: a hat"),
    # plain text: no JSON at all
    req("plain", "just talk"),
    # JSON cut at max_tokens: does not parse
    req("cut", "Answer in JSON please, with detail", max_tokens=12),
    # thinking: a thinking block before the text
    req("think", "ponder this", thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048),
]


@pytest.fixture
def ended_requests() -> list[dict[str, Any]]:
    return REQUESTS


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {r["custom_id"]: r for r in rows}


def messages(jsonl: bytes) -> dict[str, dict[str, Any]]:
    return {r["custom_id"]: r for r in map(json.loads, jsonl.splitlines())}


def test_the_stand_in_model_answers_in_the_shape_the_request_asks_for(ended: Any, cli: Any) -> None:
    got = cli("results", ended.id)
    assert got.exit_code == 0, got.stderr
    lines = messages(got.stdout_bytes)
    forced = lines["forced"]["result"]["message"]
    assert [b["type"] for b in forced["content"]] == ["tool_use"]
    assert forced["stop_reason"] == "tool_use"
    assert forced["content"][0]["name"] == "classify"
    assert forced["content"][0]["input"] == {"category": "shoes", "score": len("red shoes"),
                                             "tags": ["red shoes"],
                                             "in_stock": bool(zlib.crc32(b"red shoes") & 1)}
    auto = lines["auto"]["result"]["message"]
    assert [b["type"] for b in auto["content"]] == ["text", "tool_use"]
    assert auto["content"][1]["name"] == "lookup"
    schema = lines["schema"]["result"]["message"]["content"][0]["text"]
    assert json.loads(schema) == {"title": "green boots", "size": {"eu": len("green boots")}}
    assert "```json\n{" in lines["fenced"]["result"]["message"]["content"][0]["text"]
    assert lines["cut"]["result"]["message"]["stop_reason"] == "max_tokens"
    think = lines["think"]["result"]["message"]["content"]
    assert [b["type"] for b in think] == ["thinking", "text"]
    assert think[0]["signature"]


def test_default_csv_adds_tool_use_and_leaves_thinking_out(ended: Any, cli: Any,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    got = cli("results", ended.id, "-o", str(out))
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    data = out.read_bytes()
    assert data.split(b"\r\n", 1)[0].decode() == ",".join(csvout.COLUMNS)
    rows = by_id(read_csv(data))
    assert json.loads(rows["forced"]["tool_use"])["category"] == "shoes"
    assert rows["forced"]["text"] == ""
    assert rows["plain"]["tool_use"] == ""
    assert "thinking" not in rows["think"]
    assert b"does not think" not in data


def test_thinking_column_on_request(ended: Any, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    got = cli("results", ended.id, "--thinking", "-o", str(out))
    assert got.exit_code == 0, got.stderr
    rows = by_id(read_csv(out.read_bytes()))
    assert "does not think" in rows["think"]["thinking"]
    assert rows["plain"]["thinking"] == ""


def test_thinking_needs_csv(ended: Any, cli: Any) -> None:
    got = cli("results", ended.id, "--thinking")
    assert got.exit_code == 2
    assert "--thinking" in got.stderr and got.stdout == ""


def test_extract_json_writes_keys_as_columns(ended: Any, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    got = cli("results", ended.id, "--extract", "json", "-o", str(out))
    assert got.exit_code == 0, got.stderr
    data = out.read_bytes()
    header = data.split(b"\r\n", 1)[0].decode().split(",")
    assert header[: len(csvout.COLUMNS) + 1] == [*csvout.COLUMNS, "extract_error"]
    assert {"json.category", "json.score", "json.tags", "json.in_stock", "json.q",
            "json.title", "json.size", "json.chars", "json.detail"} <= set(header)
    rows = by_id(read_csv(data))
    forced = rows["forced"]
    assert (forced["json.category"], forced["json.score"], forced["json.in_stock"]) == (
        "shoes", "9", "false")
    assert forced["json.tags"] == '["red shoes"]'  # nested values: compact JSON
    assert forced["extract_error"] == "" and forced["json.title"] == ""
    assert rows["auto"]["json.q"] == "please lookup blue hats"
    assert rows["schema"]["json.title"] == "green boots"
    assert rows["schema"]["json.size"] == '{"eu":11}'
    assert rows["fenced"]["json.chars"] == str(len("Answer in JSON: a hat"))
    assert rows["fenced"]["json.detail"] == '{"chars":21,"words":5}'
    assert rows["plain"]["extract_error"].startswith("the text is not JSON: ")
    assert rows["cut"]["extract_error"].endswith("(the reply was cut at max_tokens)")
    assert all(rows["plain"][h] == "" for h in header if h.startswith("json."))


def test_extract_tool_picks_the_tool(ended: Any, cli: Any) -> None:
    got = cli("results", ended.id, "--extract", "tool:lookup", "--format", "csv")
    assert got.exit_code == 0, got.stderr
    rows = by_id(read_csv(got.stdout_bytes))
    assert rows["auto"]["json.q"] == "please lookup blue hats"
    assert rows["forced"]["extract_error"] == "no tool_use block named 'lookup' (it called 'classify')"
    assert rows["schema"]["extract_error"] == "no tool_use block named 'lookup'"
    assert [h for h in rows["auto"] if h.startswith("json.")] == ["json.q"]


def test_extract_jsonl_adds_extracted_beside_the_untouched_result(ended: Any, cli: Any) -> None:
    raw = messages(cli("results", ended.id).stdout_bytes)
    got = cli("results", ended.id, "--extract", "json")
    assert got.exit_code == 0, got.stderr
    lines = messages(got.stdout_bytes)
    assert set(lines) == set(raw)
    for cid, line in lines.items():
        assert line["result"] == raw[cid]["result"]
        assert set(line) == {"custom_id", "result", "extracted", "extract_error"}
    assert lines["forced"]["extracted"]["category"] == "shoes"
    assert lines["forced"]["extract_error"] is None
    assert lines["plain"]["extracted"] is None
    assert lines["plain"]["extract_error"].startswith("the text is not JSON")
    # the result's bytes are the API's own
    plain_bytes = cli("results", ended.id).stdout_bytes
    for line in got.stdout_bytes.splitlines():
        head = line[: line.index(b',"extracted":')]
        assert head in plain_bytes


def test_extract_errors_for_failed_results_stay_empty(tmp_path: Path, make_emulator: Any,
                                                      clock: Any) -> None:
    emulator = make_emulator(error_rate=1.0)
    path = write_jsonl(tmp_path / "req.jsonl", REQUESTS[:1])
    _, (batch_id,) = submit(cli_on(emulator, clock), path)
    clock.advance(3600)
    got = on(emulator, clock, "results", batch_id, "--extract", "json", "--format", "csv")
    assert got.exit_code == 0, got.stderr
    (row,) = read_csv(got.stdout_bytes)
    assert row["result_type"] == "errored"
    assert row["extract_error"] == ""


@pytest.mark.parametrize("spec", ["yaml", "tool:", "tool"])
def test_bad_extract_is_a_usage_error(ended: Any, cli: Any, spec: str) -> None:
    got = cli("results", ended.id, "--extract", spec)
    assert got.exit_code == 2
    assert "--extract must be 'json' or 'tool:NAME'" in got.stderr
    assert got.stdout == ""


def test_thinking_with_a_forced_tool_errors_as_the_api_does(tmp_path: Path, cli: Any,
                                                            clock: Any) -> None:
    path = tmp_path / "req.jsonl"
    bad = req("bad", "x", max_tokens=2048, tools=[CLASSIFY], tool_choice={"type": "any"},
              thinking={"type": "enabled", "budget_tokens": 1024})
    path.write_bytes(orjson.dumps(bad) + b"\n")
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    got = cli("results", batch_id, "--format", "csv")
    (row,) = read_csv(got.stdout_bytes)
    assert (row["result_type"], row["error_type"]) == ("errored", "invalid_request_error")
    assert "tool_choice" in row["error_message"]

"""`results --join DATA --id-column COL`, and `--join` alone for a job made by `prepare`."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from batchctl.core.results import csvout
from tests.support.files import read_csv, request
from tests.support.runs import submit

MODEL = "claude-sonnet-4-6"
DATA = (
    "sku,name,price\r\n"
    "A1,red shoes,10\r\n"
    "B2,\"blue, hats\",5\r\n"
    "C3,green boots,7\r\n"
    "\r\n"
    "D4,socks,1\r\n"
)


req = partial(request, model=MODEL, max_tokens=200)


def submitted(cli: Any, clock: Any, path: Path, requests: list[dict[str, Any]]) -> str:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in requests))
    job, _ = submit(cli, path)
    clock.advance(3600)
    return job


def test_join_writes_every_row_in_data_order(tmp_path: Path, cli: Any, clock: Any) -> None:
    data = tmp_path / "products.csv"
    data.write_text(DATA, newline="")
    # C3 has no request; Z9 matches no row
    job = submitted(cli, clock, tmp_path / "req.jsonl",
                    [req("D4", "socks"), req("A1", "red shoes"), req("B2", "blue, hats"),
                     req("Z9", "stray")])
    out = tmp_path / "joined.csv"
    got = cli("results", job, "--join", str(data), "--id-column", "sku", "-o", str(out))
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    raw = out.read_bytes()
    header = raw.split(b"\r\n", 1)[0].decode().split(",")
    assert header == ["sku", "name", "price", *csvout.JOIN_COLUMNS]  # the answer, its status
    rows = read_csv(raw)
    assert [r["sku"] for r in rows] == ["A1", "B2", "C3", "D4"]
    assert [r["result_type"] for r in rows] == ["succeeded", "succeeded", "missing", "succeeded"]
    assert rows[1]["name"] == "blue, hats"
    assert "began: \"blue, hats\"" in rows[1]["text"]
    assert rows[2]["text"] == ""
    assert "1 result matched no row of products.csv: 'Z9'" in got.stderr
    assert "1 missing" in got.stderr


def test_join_jsonl_data_and_jsonl_output(tmp_path: Path, cli: Any, clock: Any) -> None:
    data = tmp_path / "items.jsonl"
    data.write_bytes(b'{"id": 1, "text": "one", "meta": {"k": 1}}\n\n{"id": 2, "text": "two"}\n')
    job = submitted(cli, clock, tmp_path / "req.jsonl", [req("2", "two"), req("1", "one")])
    got = cli("results", job, "--join", str(data), "--id-column", "id")
    assert got.exit_code == 0, got.stderr
    lines = [json.loads(line) for line in got.stdout.splitlines()]
    assert [line["id"] for line in lines] == [1, 2]
    assert lines[0]["meta"] == {"k": 1}
    assert lines[0]["text"] == "one"  # DATA's own text; the answer's is result.text
    assert "began: \"one\"" in lines[0]["result.text"]
    assert lines[1]["meta"] is None and lines[1]["result_type"] == "succeeded"
    csv_out = cli("results", job, "--join", str(data), "--id-column", "id", "--format", "csv")
    rows = read_csv(csv_out.stdout_bytes)
    assert rows[0]["meta"] == '{"k":1}' and rows[0]["id"] == "1"


def test_join_with_extract(tmp_path: Path, cli: Any, clock: Any) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,q\r\na,x\r\nb,y\r\n", newline="")
    job = submitted(cli, clock, tmp_path / "req.jsonl",
                    [req("a", "Answer in JSON: x"), req("b", "plain")])
    got = cli("results", job, "--join", str(data), "--id-column", "id", "--extract", "json",
              "--format", "csv")
    assert got.exit_code == 0, got.stderr
    rows = read_csv(got.stdout_bytes)
    assert rows[0]["json.began"] == "Answer in JSON: x"
    assert rows[1]["extract_error"].startswith("the text is not JSON")


def test_prepare_remembers_the_csv_so_join_needs_no_arguments(tmp_path: Path, cli: Any,
                                                               clock: Any) -> None:
    data = tmp_path / "products.csv"
    data.write_text("sku,name\r\nA 1,red shoes\r\nA 1,blue hats\r\nC3,\r\nD4,socks\r\n",
                    newline="")
    prepared = cli("prepare", str(data), "--column", "name", "--id-column", "sku")
    # the empty name of C3 is a problem for prepare: fix the data, as a user would
    assert prepared.exit_code == 3
    data.write_text("sku,name\r\nA 1,red shoes\r\nA 1,blue hats\r\nD4,socks\r\n", newline="")
    prepared = cli("prepare", str(data), "--column", "name", "--id-column", "sku")
    assert prepared.exit_code == 0, prepared.stderr
    ids = [json.loads(line)["custom_id"] for line in prepared.stdout.splitlines()]
    assert ids == ["A_1", "A_1-2", "D4"]  # made valid and unique by prepare
    sent = cli("submit", "-", input=prepared.stdout)
    assert sent.exit_code == 0, sent.stderr
    (batch_id,) = sent.stdout.split()
    clock.advance(3600)
    got = cli("results", batch_id, "--join", "--format", "csv",
              "--columns", "custom_id,result_type,text")
    assert got.exit_code == 0, got.stderr
    rows = read_csv(got.stdout_bytes)
    assert [(r["sku"], r["custom_id"], r["result_type"]) for r in rows] == [
        ("A 1", "A_1", "succeeded"), ("A 1", "A_1-2", "succeeded"), ("D4", "D4", "succeeded")]
    assert "blue hats" in rows[1]["text"]
    # the CSV changed since: its rows can no longer be matched to prepare's ids
    data.write_text("sku,name\r\nD4,socks\r\n", newline="")
    changed = cli("results", batch_id, "--join", "--format", "csv")
    assert changed.exit_code == 7
    assert "changed since `batchctl prepare` read it" in changed.stderr
    assert changed.stdout == ""


def test_join_usage_errors(tmp_path: Path, cli: Any, clock: Any) -> None:
    data = tmp_path / "d.csv"
    data.write_text("id,q\r\na,x\r\n", newline="")
    job = submitted(cli, clock, tmp_path / "req.jsonl", [req("a", "x")])
    cases = [
        (["--join"], "needs a DATA file"),
        (["--join", str(data)], "needs --id-column"),
        (["--join", str(data), "--id-column", "nope"], "has no such column"),
        (["--join", str(tmp_path / "none.csv"), "--id-column", "id"], "no such file"),
        (["--id-column", "id"], "--id-column goes with --join"),
        ([str(data)], "a data file goes with --join"),
        (["--join", str(data), "--id-column", "id", "--only", "succeeded"], "cannot be used"),
    ]
    for args, message in cases:
        got = cli("results", job, *args)
        assert got.exit_code == 2, (args, got.stderr)
        assert message in got.stderr, (args, got.stderr)
        assert got.stdout == ""

"""Data in, answers out in one command (issue 21 item 2): `run --join DATA [--id-column COL]`,
`--columns` on `run` and `results`, `run --summary-json`, and what `run` prints on stdout for a
script (piped) and for a person (on a terminal)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.results import csvout
from tests.support.files import read_csv, request, write_jsonl

# r1 has no request (missing); r9's answer matches no row of DATA.
DATA = "sku,name\r\nr0,red shoes\r\nr1,blue hats\r\nr2,\"socks, wool\"\r\n"


def requests_and_data(tmp_path: Path) -> tuple[Path, Path]:
    requests = write_jsonl(tmp_path / "req.jsonl",
                           [request("r2", "socks, wool", max_tokens=200),
                            request("r0", "red shoes"), request("r9", "stray")])
    data = tmp_path / "products.csv"
    data.write_text(DATA, newline="")
    return requests, data


def job_ids(cli: Any) -> set[str]:
    listed = cli("list", "--local", "--json")
    return {json.loads(line)["job_id"] for line in listed.stdout.splitlines()}


def test_run_join_with_id_column_writes_data_rows_with_the_answer_and_its_status(
        cli: Any, emulator: Any, tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    out = tmp_path / "enriched.csv"
    got = cli("run", str(requests), "--join", str(data), "--id-column", "sku", "-o", str(out))
    assert got.exit_code == 0, got.stderr
    raw = out.read_bytes()
    # the default join columns: the answer text, then its status (not the 12 CSV columns)
    assert raw.split(b"\r\n", 1)[0] == b"sku,name,text,result_type"
    rows = read_csv(raw)
    assert [(r["sku"], r["result_type"]) for r in rows] == [
        ("r0", "succeeded"), ("r1", "missing"), ("r2", "succeeded")]
    assert 'began: "socks, wool"' in rows[2]["text"] and rows[1]["text"] == ""
    assert "1 result matched no row of products.csv: 'r9'" in got.stderr
    assert len(emulator.batches()) == 1


def test_run_join_alone_joins_the_csv_prepare_read(cli: Any, emulator: Any,
                                                   tmp_path: Path) -> None:
    data = tmp_path / "products.csv"
    data.write_text("sku,name\r\nA 1,red shoes\r\nB2,blue hats\r\n", newline="")
    prepared = cli("prepare", str(data), "--column", "name", "--id-column", "sku")
    assert prepared.exit_code == 0, prepared.stderr
    got = cli("run", "-", "--join", "--columns", "custom_id,result_type", "--format", "csv",
              input=prepared.stdout)
    assert got.exit_code == 0, got.stderr
    rows = read_csv(got.stdout_bytes)  # no -o: the joined CSV on stdout, prepare's ids beside
    assert [(r["sku"], r["name"], r["custom_id"], r["result_type"]) for r in rows] == [
        ("A 1", "red shoes", "A_1", "succeeded"), ("B2", "blue hats", "B2", "succeeded")]


def test_columns_choose_and_order_the_answer_columns(cli: Any, emulator: Any,
                                                     tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    joined = cli("run", str(requests), "--join", str(data), "--id-column", "sku",
                 "--columns", "result_type,custom_id,output_tokens", "--format", "csv")
    assert joined.exit_code == 0, joined.stderr
    header = joined.stdout_bytes.split(b"\r\n", 1)[0]
    assert header == b"sku,name,result_type,custom_id,output_tokens"
    rows = read_csv(joined.stdout_bytes)
    assert [r["custom_id"] for r in rows] == ["r0", "r1", "r2"]  # r1: the row's id, missing
    assert rows[0]["output_tokens"].isdigit() and rows[1]["output_tokens"] == ""
    (job,) = job_ids(cli)
    # plain CSV: the columns asked for, in that order; without --columns, all 12 as before
    chosen = cli("results", job, "--format", "csv", "--columns", "text, custom_id,thinking")
    assert chosen.exit_code == 0, chosen.stderr
    assert chosen.stdout_bytes.split(b"\r\n", 1)[0] == b"text,custom_id,thinking"
    assert {r["custom_id"] for r in read_csv(chosen.stdout_bytes)} == {"r0", "r2", "r9"}
    plain = cli("results", job, "--format", "csv")
    assert plain.stdout_bytes.split(b"\r\n", 1)[0] == ",".join(csvout.COLUMNS).encode()
    # a JSONL join carries the chosen columns as keys, in that order, after the data's
    lines = cli("results", job, "--join", str(data), "--id-column", "sku", "--columns",
                "stop_reason,result_type")
    assert lines.exit_code == 0, lines.stderr
    assert list(json.loads(lines.stdout.splitlines()[0])) == [
        "sku", "name", "stop_reason", "result_type"]


@pytest.mark.parametrize("command", ["run", "results"])
def test_an_unknown_column_is_a_usage_error_naming_the_valid_ones(
        command: str, cli: Any, emulator: Any, tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    target = str(requests) if command == "run" else "job_000000000000"
    out = tmp_path / "out.csv"
    got = cli(command, target, "--join", str(data), "--id-column", "sku", "-o", str(out),
              "--columns", "text,answer")
    assert got.exit_code == 2
    assert got.stdout == ""
    assert got.stderr.splitlines()[0] == (
        "error: --columns: unknown column 'answer'; the columns are custom_id, result_type, "
        "model, stop_reason, text, input_tokens, output_tokens, cache_creation_input_tokens, "
        "cache_read_input_tokens, error_type, error_message, tool_use, thinking "
        "(comma-separated)")
    assert not out.exists() and emulator.batches() == []


def test_columns_need_csv_or_a_join(cli: Any, emulator: Any, tmp_path: Path) -> None:
    requests, _ = requests_and_data(tmp_path)
    got = cli("run", str(requests), "--columns", "text")
    assert got.exit_code == 2 and got.stdout == ""
    assert "--columns chooses the answer columns of a CSV or a join" in got.stderr
    assert emulator.batches() == []


def test_run_checks_the_join_before_anything_is_sent(cli: Any, emulator: Any,
                                                     tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    cases = [
        ([str(data)], "needs --id-column"),  # not the CSV prepare read: which column holds ids?
        ([str(data), "--id-column", "nope"], "has no such column"),
        ([], "needs a DATA file"),
    ]
    for args, message in cases:
        got = cli("run", str(requests), "--join", *args)
        assert got.exit_code == 2, (args, got.stderr)
        assert message in got.stderr and got.stdout == ""
    assert cli("run", str(requests), str(data)).exit_code == 2  # DATA without --join
    swapped = cli("run", "--join", str(data), str(requests))  # read as FILE=data, DATA=requests
    assert swapped.exit_code == 2 and swapped.stdout == ""
    assert "FILE (JSONL) comes first" in swapped.stderr
    assert f"batchctl run {requests} --join {data}" in swapped.stderr
    assert emulator.batches() == []


def test_run_writes_the_summary_json(cli: Any, emulator: Any, tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    out, summary = tmp_path / "enriched.csv", tmp_path / "summary.json"
    got = cli("run", str(requests), "--join", str(data), "--id-column", "sku", "-o", str(out),
              "--summary-json", str(summary))
    assert got.exit_code == 0, got.stderr
    written = json.loads(summary.read_text())
    assert written["path"] == str(out) and written["results"] == 3
    assert written["counts"]["succeeded"] == 2 and written["counts"]["missing"] == 1
    assert written["batches"] == [b["id"] for b in emulator.batches()]
    assert written["jobs"] == list(job_ids(cli))  # the job a script acts on next
    assert got.stdout.splitlines()[0] == written["jobs"][0]
    # a folder that does not exist: exit 2 before anything is sent
    nowhere = cli("run", str(requests), "--force", "--summary-json",
                  str(tmp_path / "no" / "s.json"))
    assert nowhere.exit_code == 2 and "its folder does not exist" in nowhere.stderr
    assert len(emulator.batches()) == 1


def test_piped_run_prints_the_job_id_then_the_file_on_stdout(cli: Any, emulator: Any,
                                                             tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    out = tmp_path / "enriched.csv"
    got = cli("run", str(requests), "--join", str(data), "--id-column", "sku", "-o", str(out))
    assert got.exit_code == 0, got.stderr
    (job,) = job_ids(cli)
    assert got.stdout == f"{job}\n{out}\n"  # what a script needs next, one per line
    assert f"as job {job}" in got.stderr  # the prose stays on stderr
    assert "3 results to" in got.stderr
    # a timeout: the job id alone, to wait for it later; the hint writes what run would have
    again = cli("run", str(requests), "--force", "--join", str(data), "--id-column", "sku",
                "-o", str(out), "--columns", "text", "--timeout", "0")
    assert again.exit_code == 8, again.stderr
    (forced,) = job_ids(cli) - {job}
    assert again.stdout == f"{forced}\n"
    assert (f"results {forced} --join {data} -o {out} --id-column sku --columns text"
            in again.stderr)
    # --json: the summary object, nothing else; no -o: the results themselves
    as_json = cli("run", str(requests), "-o", str(tmp_path / "a.jsonl"), "--json")
    assert as_json.exit_code == 0, as_json.stderr
    assert [json.loads(line)["path"] for line in as_json.stdout.splitlines()] == [
        str(tmp_path / "a.jsonl")]
    streamed = cli("run", str(requests))
    assert {json.loads(line)["custom_id"] for line in streamed.stdout.splitlines()} == {
        "r0", "r2", "r9"}


def test_on_a_terminal_run_keeps_stdout_empty(cli: Any, emulator: Any, tmp_path: Path) -> None:
    requests, data = requests_and_data(tmp_path)
    out = tmp_path / "enriched.csv"
    got = cli("run", str(requests), "--join", str(data), "--id-column", "sku", "-o", str(out),
              tty=True)
    assert got.exit_code == 0, got.stderr
    (job,) = job_ids(cli)
    assert got.stdout == ""
    assert job in got.stderr and "enriched.csv" in got.stderr
    assert read_csv(out.read_bytes())[0]["result_type"] == "succeeded"

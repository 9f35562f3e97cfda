"""No flag that does nothing: `--json` on `results` and `run`, whose data is JSON lines already,
puts the summary on stdout when `-o` takes the results."""

from __future__ import annotations

import orjson

from tests.support.paths import QUESTIONS


def test_run_and_results_json_with_o_print_the_summary(cli, tmp_path, clock):
    out = tmp_path / "answers.jsonl"
    ran = cli("run", str(QUESTIONS), "-o", str(out), "--json")
    assert ran.exit_code == 0, ran.stderr
    (summary,) = [orjson.loads(x) for x in ran.stdout.splitlines()]
    assert summary["path"] == str(out) and summary["results"] == 15
    assert summary["counts"]["succeeded"] == 15 and len(out.read_bytes().splitlines()) == 15
    (batch,) = summary["batches"]

    again = tmp_path / "again.jsonl"
    fetched = cli("results", batch, "-o", str(again), "--json")
    assert fetched.exit_code == 0, fetched.stderr
    (record,) = [orjson.loads(x) for x in fetched.stdout.splitlines()]
    assert record["path"] == str(again) and record["counts"] == summary["counts"]

    plain = cli("results", batch, "-o", str(tmp_path / "plain.jsonl"))
    assert plain.exit_code == 0 and plain.stdout == ""  # without --json stdout stays empty


def test_results_json_to_stdout_is_the_results_alone(cli, tmp_path):
    ran = cli("run", str(QUESTIONS), "-o", str(tmp_path / "a.jsonl"))
    assert ran.exit_code == 0, ran.stderr
    batch = orjson.loads(cli("list", "--json").stdout.splitlines()[0])["id"]
    result = cli("results", batch, "--json")
    assert result.exit_code == 0, result.stderr
    lines = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 15 and all("custom_id" in x for x in lines)  # no summary mixed in

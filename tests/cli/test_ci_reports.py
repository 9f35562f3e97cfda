"""Reports where CI looks: the GitHub step summary (run, results, collect), `::error`
annotations for validation problems, `results --summary-json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.files import write_requests
from tests.support.runs import cli_on, on, submit


def write(path: Path, count: int = 4) -> Path:
    return write_requests(path, count, text="q{i}")


def test_results_appends_a_step_summary_and_writes_summary_json(
    tmp_path: Path, make_emulator: Any, clock: Any
) -> None:
    emulator = make_emulator(error_rate=0.5, seed=3)
    _, (batch_id,) = submit(cli_on(emulator, clock), write(tmp_path / "r.jsonl", 12))
    clock.advance(3600)
    step = tmp_path / "step.md"
    step.write_text("earlier step\n")
    out, js = tmp_path / "out.csv", tmp_path / "summary.json"
    got = on(emulator, clock, "results", batch_id, "-o", str(out), "--summary-json", str(js),
                 env={"GITHUB_STEP_SUMMARY": str(step)})
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    data = json.loads(js.read_text())
    assert data["path"] == str(out.absolute()) and data["results"] == 12
    errored = data["counts"]["errored"]
    assert 0 < errored < 12
    assert sum(data["error_types"].values()) == errored
    assert set(data["error_types"]) <= {"api_error", "overloaded_error"}
    md = step.read_text()
    assert md.startswith("earlier step\n")  # appended, never replaced
    assert f"### batchctl results {batch_id}" in md
    assert f"| errored | {errored} |" in md
    assert "| error type | results |" in md
    assert f"**Output:** `{out.absolute()}` (csv," in md
    assert "**Estimated cost:** $" in md
    # JSONL passthrough counts error types too (the fast byte-level path)
    js2 = tmp_path / "s2.json"
    again = on(emulator, clock, "results", batch_id, "--summary-json", str(js2))
    assert again.exit_code == 0, again.stderr
    assert json.loads(js2.read_text())["error_types"] == data["error_types"]


def test_no_step_summary_without_the_variable(tmp_path: Path, cli: Any, clock: Any) -> None:
    _, (batch_id,) = submit(cli, write(tmp_path / "r.jsonl"))
    clock.advance(3600)
    got = cli("results", batch_id, "--summary-json", str(tmp_path / "missing" / "s.json"))
    assert got.exit_code == 2
    assert "--summary-json" in got.stderr and got.stdout == ""
    assert not list(tmp_path.glob("*.md"))


def test_run_and_collect_append_their_summaries(tmp_path: Path, cli: Any, clock: Any) -> None:
    step = tmp_path / "step.md"
    env = {"GITHUB_STEP_SUMMARY": str(step), "BATCHCTL_EMULATOR_PROCESSING_SECONDS": "0"}
    got = cli("run", str(write(tmp_path / "a.jsonl")), "-o", str(tmp_path / "a-out.jsonl"),
              "--interval", "1", env=env)
    assert got.exit_code == 0, got.stderr
    assert "### batchctl run job_" in step.read_text()
    _, (batch_id,) = submit(cli, write(tmp_path / "b.jsonl", 3))
    clock.advance(3600)
    collected = cli("collect", "--dir", str(tmp_path / "c"), env=env)
    assert collected.exit_code == 0, collected.stderr
    md = step.read_text()
    assert f"### batchctl collect {batch_id}" in md
    assert "| succeeded | 3 |" in md


def test_github_annotations_for_validation_problems(tmp_path: Path, cli: Any) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"custom_id": "a", "params": {"max_tokens": 5, "messages": []}}\nnot json\n')
    plain = cli("submit", str(bad))
    assert plain.exit_code == 3
    assert "::error" not in plain.stderr
    got = cli("submit", str(bad), env={"GITHUB_ACTIONS": "true"})
    assert got.exit_code == 3
    assert got.stdout == ""
    notes = [line for line in got.stderr.splitlines() if line.startswith("::error")]
    problems = [line for line in got.stderr.splitlines() if line.startswith(f"{bad}:")]
    assert len(notes) == len(problems) == 3  # line 1 has two problems, line 2 one
    for note, problem in zip(notes, problems, strict=True):
        line_no, message = problem[len(f"{bad}:"):].split(": ", 1)
        assert note == f"::error file={bad},line={line_no}::{message}"
    assert notes[-1].startswith(f"::error file={bad},line=2::invalid JSON")

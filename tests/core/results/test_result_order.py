"""The order results are written in when --order is not given (issue 15, item 8): CSV rows line up
with the request file when batchctl has it (run, results and collect of a tracked batch); JSONL,
and the CSV of a batch whose request file is gone or unknown, keep the API's order. The emulator
shuffles every results file (seeded), as the API gives no order, so each check can fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.files import read_csv, request, write_jsonl
from tests.support.paths import QUESTIONS
from tests.support.runs import sdk_batch, submit


def file_ids(path: Path) -> list[str]:
    return [json.loads(line)["custom_id"] for line in path.read_bytes().splitlines() if line.strip()]


def api_ids(emulator: Any, batch_id: str) -> list[str]:
    return [json.loads(line)["custom_id"] for line in emulator.results_body(batch_id).splitlines()]


def csv_ids(data: bytes) -> list[str]:
    return [row["custom_id"] for row in read_csv(data)]


def only_batch(emulator: Any) -> str:
    (batch,) = emulator.batches()
    return str(batch["id"])


def test_run_csv_is_in_input_order_and_order_api_opts_out(
    cli: Any, emulator: Any, tmp_path: Path
) -> None:
    out = tmp_path / "answers.csv"
    got = cli("run", str(QUESTIONS), "-o", str(out))
    assert got.exit_code == 0, got.stderr
    assert "API's order" not in got.stderr
    wanted = file_ids(QUESTIONS)
    assert csv_ids(out.read_bytes()) == wanted
    shuffled = api_ids(emulator, only_batch(emulator))
    assert shuffled != wanted and sorted(shuffled) == sorted(wanted)
    again = cli("run", str(QUESTIONS), "-o", str(out), "--order", "api")
    assert again.exit_code == 0, again.stderr
    assert csv_ids(out.read_bytes()) == shuffled


def test_run_jsonl_keeps_the_apis_bytes(cli: Any, emulator: Any, tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    got = cli("run", str(QUESTIONS), "-o", str(out))
    assert got.exit_code == 0, got.stderr
    assert out.read_bytes() == emulator.results_body(only_batch(emulator))
    ordered = cli("run", str(QUESTIONS), "-o", str(out), "--order", "input")
    assert ordered.exit_code == 0, ordered.stderr
    assert file_ids(out) == file_ids(QUESTIONS)


def test_run_from_stdin_csv_is_in_input_order(cli: Any) -> None:
    got = cli("run", "-", "--format", "csv", input=QUESTIONS.read_text())
    assert got.exit_code == 0, got.stderr
    assert csv_ids(got.stdout_bytes) == file_ids(QUESTIONS)


def test_results_csv_of_a_tracked_batch_is_in_input_order(
    cli: Any, emulator: Any, clock: Any, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "req.jsonl", [request(f"q{i:02}", f"q {i}") for i in range(12)])
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    assert api_ids(emulator, batch_id) != file_ids(path)
    got = cli("results", batch_id, "--format", "csv")
    assert got.exit_code == 0, got.stderr
    assert csv_ids(got.stdout_bytes) == file_ids(path)
    jsonl = cli("results", batch_id)
    assert jsonl.stdout_bytes == emulator.results_body(batch_id)  # JSONL: the API's bytes


def test_a_missing_request_file_gives_the_apis_order_with_a_warning(
    cli: Any, emulator: Any, clock: Any, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "req.jsonl", [request(f"q{i:02}", f"q {i}") for i in range(12)])
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    path.unlink()
    out = tmp_path / "r.csv"
    got = cli("results", batch_id, "-o", str(out))
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    assert "CSV rows in the API's order" in got.stderr and str(path) in got.stderr
    assert "no longer exists" in got.stderr
    assert csv_ids(out.read_bytes()) == api_ids(emulator, batch_id)
    asked = cli("results", batch_id, "-o", str(out), "--order", "input")
    assert asked.exit_code == 7  # asked for, it is an error, as before
    quiet = cli("results", batch_id, "-o", str(out), "--order", "api")
    assert quiet.exit_code == 0 and "API's order" not in quiet.stderr


def test_an_untracked_batch_gives_the_apis_order_quietly(
    cli: Any, emulator: Any, clock: Any
) -> None:
    batch_id = sdk_batch(emulator, 6)
    clock.advance(3600)
    got = cli("results", batch_id, "--format", "csv")
    assert got.exit_code == 0, got.stderr
    assert csv_ids(got.stdout_bytes) == api_ids(emulator, batch_id)
    assert "warning" not in got.stderr.lower()


def test_collect_csv_is_in_input_order(
    cli: Any, emulator: Any, clock: Any, tmp_path: Path
) -> None:
    path = write_jsonl(tmp_path / "req.jsonl", [request(f"q{i:02}", f"q {i}") for i in range(12)])
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    got = cli("collect", "--dir", str(tmp_path / "c"), "--format", "csv")
    assert got.exit_code == 0, got.stderr
    (written,) = got.stdout.split()
    assert csv_ids(Path(written).read_bytes()) == file_ids(path)
    assert api_ids(emulator, batch_id) != file_ids(path)


def test_the_readmes_first_command_gives_answers_in_question_order(tmp_path: Path) -> None:
    """README's first lines: `.venv/bin/batchctl --emulator run samples/questions.jsonl -o
    answers.csv`, as written, in a process of its own (the real clock, a state store of its own)."""
    env = {"BATCHCTL_HOME": str(tmp_path / "home"), "BATCHCTL_EMULATOR_PROCESSING_SECONDS": "1",
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "batchctl"), "--emulator", "run",
         str(QUESTIONS), "-o", "answers.csv"],
        cwd=tmp_path, env=env, capture_output=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert csv_ids((tmp_path / "answers.csv").read_bytes()) == file_ids(QUESTIONS)

"""run: submit + wait + results in one command; re-running after a crash or a timeout picks up
the job it already submitted (exactly one batch) and writes the results to the same place."""

from __future__ import annotations

import csv
import io
import signal
import time

import orjson
import pytest

from tests.support import warm
from tests.support.paths import QUESTIONS, SAMPLES
from tests.support.processes import child_env
from tests.support.runs import on


@pytest.mark.parametrize("tty", [False, True])
def test_run_writes_the_results_file_and_reports_on_stderr(cli, emulator, tmp_path, tty):
    out = tmp_path / "answers.csv"
    result = cli("run", str(QUESTIONS), "-o", str(out), tty=tty)
    assert result.exit_code == 0, result.stderr
    # the data went to the file; piped, stdout says which job and which file
    (job,) = {orjson.loads(x)["job_id"] for x in cli("list", "--local", "--json").stdout.split()}
    assert result.stdout == ("" if tty else f"{job}\n{out}\n")
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert len(rows) == 15 and {r["result_type"] for r in rows} == {"succeeded"}
    assert {r["custom_id"] for r in rows} == {orjson.loads(x)["custom_id"]
                                               for x in QUESTIONS.read_bytes().splitlines()}
    assert "submitted 15 requests" in result.stderr
    assert "15 succeeded" in result.stderr
    assert ("\x1b[" in result.stderr) is tty
    assert len(emulator.batches()) == 1


def test_run_streams_jsonl_to_stdout_in_input_order(cli, tmp_path):
    result = cli("run", str(QUESTIONS), "--order", "input", "--only", "succeeded")
    assert result.exit_code == 0, result.stderr
    got = [orjson.loads(x)["custom_id"] for x in result.stdout.splitlines()]
    assert got == [orjson.loads(x)["custom_id"] for x in QUESTIONS.read_bytes().splitlines()]


def test_timeout_exits_8_and_the_same_command_resumes_the_same_job(cli, emulator, clock, tmp_path):
    out = tmp_path / "answers.jsonl"
    first = cli("run", str(QUESTIONS), "-o", str(out), "--timeout", "20")
    assert first.exit_code == 8, first.stderr
    assert "run the same command again" in first.stderr
    assert not out.exists()
    assert len(emulator.batches()) == 1
    second = cli("run", str(QUESTIONS), "-o", str(out))
    assert second.exit_code == 0, second.stderr
    assert "already submitted" in second.stderr
    assert len(emulator.batches()) == 1
    assert len(out.read_bytes().splitlines()) == 15


def test_exit_status_9_after_writing_results_with_failures(make_emulator, clock, tmp_path):
    emu = make_emulator(processing_seconds=5, error_rate=0.5, seed=3)
    out = tmp_path / "a.jsonl"
    plain = on(emu, clock, "run", str(QUESTIONS), "-o", str(out))
    assert plain.exit_code == 0, plain.stderr
    strict = on(emu, clock, "run", str(QUESTIONS), "-o", str(out), "--exit-status")
    assert strict.exit_code == 9, strict.stderr
    types = [orjson.loads(x)["result"]["type"] for x in out.read_bytes().splitlines()]
    assert len(types) == 15 and "errored" in types


def test_stdin_is_accepted_and_a_rerun_of_the_same_input_resubmits_nothing(cli, emulator):
    prepared = cli("prepare", str(SAMPLES / "prompts.txt"))
    for _ in range(2):
        result = cli("run", "-", "--format", "csv", input=prepared.stdout)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.startswith("custom_id,result_type,")
        assert len(result.stdout.strip().splitlines()) == 6
    assert len(emulator.batches()) == 1


@pytest.mark.parametrize(
    "args, code",
    [
        (["--order", "sideways"], 2),
        (["--only", "nonsense"], 2),
        (["--json", "--format", "csv"], 2),
        (["-o", "/nonexistent-dir/x.csv"], 2),
        (["--dry-run"], 0),
    ],
)
def test_nothing_is_sent_on_bad_options_or_a_dry_run(cli, emulator, args, code):
    result = cli("run", str(QUESTIONS), *args)
    assert result.exit_code == code, result.stderr
    assert emulator.batches() == []


def test_invalid_file_exits_3_and_sends_nothing(cli, emulator):
    result = cli("run", str(SAMPLES / "invalid.jsonl"))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert emulator.batches() == []


def test_rerun_after_the_process_was_killed_makes_no_second_batch(emulator, clock, tmp_path,
                                                                  state_dir):
    """Kill a real batchctl process running `run` once its batch exists, then run the same
    command: it finds the job, waits, writes the results; the emulator holds exactly one batch."""
    out = tmp_path / "answers.csv"
    proc = warm.spawn(["--base-url", emulator.base_url, "run", str(QUESTIONS), "-o", str(out),
                       "--interval", "0.2"], child_env(state_dir))
    try:
        deadline = time.monotonic() + 60
        while not emulator.batches():  # the emulator's clock is frozen: it stays in_progress
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the batch was never created"
            time.sleep(0.05)
        time.sleep(0.3)  # let it record the batch and start polling
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    clock.advance(61)
    again = on(emulator, clock, "run", str(QUESTIONS), "-o", str(out))
    assert again.exit_code == 0, again.stderr
    assert len(emulator.batches()) == 1
    assert len(list(csv.DictReader(io.StringIO(out.read_text())))) == 15

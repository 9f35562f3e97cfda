"""Hints name a next step as a command that reaches the same place: every hint printed is run
as printed (shlex-split), from an environment that points elsewhere, and it finds the same
batches, so it talks to the same emulator and state store. Hints are given only for what can
help: no retry-failed when every failure would fail again."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.settings import Settings
from batchctl.core.tracking.lifecycle import record
from batchctl.core.workflows.advice import retry_step
from batchctl.emulator import EmulatorConfig
from tests.helpers import invoke
from tests.support.clock import FakeClock
from tests.support.files import json_lines, request, write_requests
from tests.support.runs import api_on

HINTED = re.compile(r"^(?:hint: )?[^:\n]+: (batchctl (?:--\S+ )*[a-z-]+\b.*)$", re.MULTILINE)


def hinted_commands(stderr: str) -> list[list[str]]:
    """The batchctl command lines printed on stderr, as argument lists (without `batchctl`)."""
    return [shlex.split(line)[1:] for line in HINTED.findall(stderr)]


@pytest.fixture
def here(tmp_path: Path, clock: FakeClock) -> Any:
    """batchctl with `--emulator --state-dir HERE` (BATCHCTL_HOME points elsewhere)."""
    state = tmp_path / "here"
    config = EmulatorConfig(processing_seconds=60.0)

    def run(*args: str, **kwargs: Any) -> Any:
        return invoke(["--emulator", "--state-dir", str(state), *args], clock=clock,
                      emulator_config=config, **kwargs)

    run.state = state
    run.config = config
    return run


def run_hint(args: list[str], here: Any, clock: FakeClock, **kwargs: Any) -> Any:
    """A printed command, run as printed, with nothing from the test's setup but the clock and
    the emulator's timing (BATCHCTL_HOME, the default state dir, is another directory)."""
    assert args[:3] == ["--emulator", "--state-dir", str(here.state)], args
    return invoke(args, clock=clock, emulator_config=here.config, **kwargs)


def test_run_timeout_with_force_hints_wait_and_results_that_reach_the_job(here, tmp_path, clock):
    src = write_requests(tmp_path / "a.jsonl", 3)
    out = tmp_path / "out.jsonl"
    first = here("run", str(src), "-o", str(out), "--force", "--timeout", "3")
    assert first.exit_code == 8, first.stderr
    commands = hinted_commands(first.stderr)
    assert [c[3] for c in commands] == ["wait", "results"]
    assert all("--force" not in c for c in commands)  # a hint never submits twice
    job = commands[0][4]
    assert job.startswith("job_") and commands[1][4:] == [job, "-o", str(out)]
    clock.advance(61)
    waited = run_hint(commands[0], here, clock)
    assert waited.exit_code == 0, waited.stderr
    assert "1 of 1 batch ended" in waited.stderr
    written = run_hint(commands[1], here, clock)
    assert written.exit_code == 0, written.stderr
    assert len(out.read_text().splitlines()) == 3


def test_run_timeout_without_force_says_run_it_again(here, tmp_path, clock):
    src = write_requests(tmp_path / "a.jsonl", 2)
    first = here("run", str(src), "--timeout", "3")
    assert first.exit_code == 8
    assert "run the same command again: it picks up job" in first.stderr
    clock.advance(61)
    again = here("run", str(src))
    assert again.exit_code == 0, again.stderr
    assert "already submitted" in again.stderr and len(json_lines(again.stdout)) == 2


def test_results_too_early_hints_a_wait_that_finds_the_batch(here, tmp_path, clock):
    submitted = here("submit", str(write_requests(tmp_path / "a.jsonl", 1)))
    batch = submitted.stdout.strip()
    early = here("results", batch)
    assert early.exit_code == 8
    (wait,) = hinted_commands(early.stderr)
    assert wait[3:] == ["wait", batch]
    clock.advance(61)
    waited = run_hint(wait, here, clock)
    assert waited.exit_code == 0, waited.stderr
    fetch, = hinted_commands(waited.stderr)  # ended: fetch the results, nothing failed
    assert fetch[3:] == ["results", batch]
    assert len(json_lines(run_hint(fetch, here, clock).stdout)) == 1


def test_delete_of_a_running_batch_hints_a_cancel_that_cancels_it(here, tmp_path, clock):
    batch = here("submit", str(write_requests(tmp_path / "a.jsonl", 1))).stdout.strip()
    refused = here("delete", "--yes", batch)
    assert refused.exit_code == 8
    (cancel,) = hinted_commands(refused.stderr)
    assert cancel[3:] == ["cancel", batch]
    done = run_hint(cancel, here, clock, tty=True, input="y\n")  # as printed, at a terminal
    assert done.exit_code == 0, done.stderr
    assert "cancel requested" in done.stderr


def test_wait_timeout_and_status_exit_status_hint_a_wait_that_finds_the_job(here, tmp_path,
                                                                              clock):
    src = write_requests(tmp_path / "a.jsonl", 1)
    job = json_lines(here("submit", "--json", str(src)).stdout)[0]["job_id"]
    timed_out = here("wait", job, "--timeout", "2")
    assert timed_out.exit_code == 8
    running = here("status", job, "--exit-status")
    assert running.exit_code == 8
    for stderr in (timed_out.stderr, running.stderr):
        (wait,) = hinted_commands(stderr)
        assert wait[3] == "wait"
        clock.advance(61)
        assert run_hint(wait, here, clock).exit_code == 0


def test_an_unknown_job_hints_the_local_list_of_the_same_store(here, clock):
    missing = here("status", "job_nope")
    assert missing.exit_code == 5
    (listing,) = hinted_commands(missing.stderr)
    assert listing[3:] == ["list", "--local"]
    assert run_hint(listing, here, clock).exit_code == 0


def test_hints_quote_what_the_shell_would_split(tmp_path, clock):
    state = tmp_path / "a dir with spaces"
    result = invoke(["--emulator", "--state-dir", str(state), "status", "job_x"], clock=clock)
    (listing,) = hinted_commands(result.stderr)
    assert listing[:3] == ["--emulator", "--state-dir", str(state)]


# -- retry-failed only when something is worth retrying -------------------------------------------
def _ended_batch(make_emulator: Any, tmp_path: Path, clock: FakeClock, params: dict[str, Any],
                 **config: Any) -> Any:
    emulator = make_emulator(processing_seconds=1, **config)
    with emulator.client() as client:  # made with the SDK: batchctl's own checks are not in the way
        batch = client.messages.batches.create(
            requests=[{"custom_id": f"r{i}", "params": params} for i in range(3)])
    clock.advance(2)
    api = api_on(emulator, clock, tmp_path / "s")
    return api, record(api.retrieve(batch.id), None)


def test_no_retry_hint_when_every_failure_is_an_invalid_request(make_emulator, tmp_path,
                                                                 clock):
    bad = {**request("x")["params"], "max_tokens": 0}  # the API ends it invalid_request_error
    api, rec = _ended_batch(make_emulator, tmp_path, clock, bad)
    assert rec["request_counts"]["errored"] == 3
    assert retry_step(api, rec["id"], [rec]) is None


def test_a_retry_hint_when_an_error_is_worth_retrying(make_emulator, tmp_path, clock):
    api, rec = _ended_batch(make_emulator, tmp_path, clock, request("x")["params"],
                            error_rate=1.0)
    assert rec["request_counts"]["errored"] == 3
    step = retry_step(api, rec["id"], [rec])
    assert step is not None and (step.command, step.args) == ("retry-failed", (rec["id"],))


def test_a_store_url_is_named_but_never_its_password(tmp_path):
    from batchctl.cli.render.output import command_line
    from batchctl.core.location import parse_store

    def line(url: str) -> str:
        settings = Settings(state_dir=tmp_path, emulator=True, base_url="", store=parse_store(url))
        return command_line(settings, "wait", "job_1")

    plain = line("postgresql://u@db.example/batchctl")
    assert shlex.split(plain)[-4:] == ["--store", "postgresql://u@db.example/batchctl", "wait",
                                       "job_1"]
    secret = line("postgresql://u:hunter2@db.example/batchctl")
    assert "hunter2" not in secret and "--store" not in secret


def test_a_hint_on_a_narrow_terminal_is_one_line_that_runs_as_printed(here, tmp_path, clock):
    """On a terminal, stderr prose wraps between words, but batchctl never puts a newline
    inside a hinted command (with --state-dir a long path, a 60-column terminal split it over
    lines that no longer ran when copied): the command goes whole on a line of its own,
    indented under the hint, and the terminal folds it if it must."""
    batch = here("submit", str(write_requests(tmp_path / "a.jsonl", 1))).stdout.strip()
    early = here("results", batch, tty=True, width=60)
    assert early.exit_code == 8
    plain = re.sub(r"\x1b\[[0-9;]*m", "", early.stderr)
    (n, line), = [(n, ln) for n, ln in enumerate(plain.splitlines()) if "batchctl " in ln]
    assert len(line) > 60  # longer than the terminal, yet one line
    assert line.startswith("      batchctl ") and plain.splitlines()[n - 1] == "hint: wait for it:"
    (wait,) = hinted_commands(plain.replace(":\n      batchctl ", ": batchctl "))
    assert wait[3:] == ["wait", batch]
    clock.advance(61)
    assert run_hint(wait, here, clock).exit_code == 0

"""Hooks run again and on time: the next `collect` (with or without --exec) runs every failed
hook of its API once, whichever command first ran it, from what it was given then (the same
results file: nothing downloaded again), on both store backends, also from overlapping
collects; `wait --on-end` runs a job's hook as that job ends, not when the whole wait does."""

from __future__ import annotations

import os
from pathlib import Path

import orjson

from batchctl.core.errors import ExitCode
from tests.support import warm
from tests.support.files import write_requests
from tests.support.hooks import ended_batches, runs
from tests.support.processes import child_env
from tests.support.runs import cli_on, on, submit

#: The keys of collect --json's record of a hook run, every time (README "collect").
HOOK_KEYS = ["id", "action", "hook", "job_id", "path", "attempt", "state", "exit_code", "error"]


def records(stdout: str) -> list[dict]:
    return [orjson.loads(line) for line in stdout.splitlines()]


# -- wait: each job's hook as it ends ------------------------------------------------------------
def test_a_job_hook_runs_as_the_job_ends_not_when_the_wait_does(emulator, clock, tmp_path, hook):
    """Job A ends 30 s before job B: its hook runs in the round that saw it end, while B is
    still in progress (the emulator's processing time is 60 s; the clock is the test's)."""
    command, log = hook
    cli = cli_on(emulator, clock)
    job_a, (batch_a,) = submit(cli, write_requests(tmp_path / "a.jsonl", 2, "a-"))
    clock.advance(30)
    job_b, (batch_b,) = submit(cli, write_requests(tmp_path / "b.jsonl", 3, "b-"))
    result = cli("wait", job_a, job_b, "--interval", "10", "--on-end", command)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[2:8] == [
        f"[1m] {batch_a}: ended: 2 succeeded",
        "hook says hello",
        f"hook for {job_a}: done",  # before B has ended
        f"[1m 30s] {batch_b}: ended: 3 succeeded",
        "hook says hello",
        f"hook for {job_b}: done",
    ]
    assert lines[8].startswith("2 of 2 batches ended after 1m 30s")  # the summary, at the end
    assert [(r["BATCHCTL_JOB_ID"], r["BATCHCTL_REQUESTS"]) for r in runs(log)] == [
        (job_a, "2"), (job_b, "3")]


def test_a_wait_that_times_out_runs_the_hook_of_the_job_that_ended(emulator, clock, tmp_path,
                                                                   hook):
    command, log = hook
    cli = cli_on(emulator, clock)
    job_a, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2, "a-"))
    clock.advance(50)
    job_b, _ = submit(cli, write_requests(tmp_path / "b.jsonl", 3, "b-"))
    result = cli("wait", job_a, job_b, "--interval", "5", "--timeout", "20", "--on-end", command)
    assert result.exit_code == ExitCode.RUNNING, result.stderr
    assert [r["BATCHCTL_JOB_ID"] for r in runs(log)] == [job_a]  # B, still running: none


# -- the next collect runs every failed hook again -------------------------------------------
def test_a_plain_collect_runs_a_failed_run_hook_again_from_its_file(
        make_emulator, clock, tmp_path, hook, monkeypatch, store_value):
    emulator = make_emulator()
    command, log = hook
    monkeypatch.setenv("BATCHCTL_STORE", store_value)
    out = tmp_path / "answers.jsonl"
    path = write_requests(tmp_path / "a.jsonl", 3)
    failed = on(emulator, clock, "run", str(path), "-o", str(out), "--on-end", command,
                env={"HOOK_EXIT": "5"})
    assert failed.exit_code == ExitCode.HOOK_FAILED == 11, failed.stderr
    (env,) = runs(log)
    job, batch_id = env["BATCHCTL_JOB_ID"], env["BATCHCTL_BATCH_IDS"]
    assert failed.stdout == f"{job}\n{out}\n"  # the results went to the file: piped, its path
    assert (f"warning: the --on-end hook for {job} exited with status 5; the next collect "
            "runs it again") in failed.stderr
    assert emulator.results_requests(batch_id) == 1

    again = on(emulator, clock, "collect")  # no --exec, and no HOOK_EXIT: it succeeds now
    assert again.exit_code == 0, again.stderr
    assert again.stdout == ""  # no file written: stdout has no path to print
    assert "hook says hello" in again.stderr
    assert "nothing new to collect; ran 1 hook" in again.stderr
    assert emulator.results_requests(batch_id) == 1  # no second download
    first, second = runs(log)
    assert second == {**first, "BATCHCTL_ATTEMPT": "2"}  # what it was given: the same file
    assert second["BATCHCTL_HOOK"] == "run" and second["BATCHCTL_RESULTS_PATH"] == str(out)

    third = on(emulator, clock, "collect", "--json")
    assert third.exit_code == 0, third.stderr
    assert (third.stdout, len(runs(log))) == ("", 2)  # a hook that succeeded: never again
    assert "nothing to collect" in third.stderr


def test_a_failed_wait_hook_runs_at_each_collect_until_it_succeeds(
        make_emulator, clock, tmp_path, hook, monkeypatch, store_value):
    """Once per collect (the one that fails again waits for the next), with collect --json's
    record of each attempt, and collect's own --exec beside it."""
    emulator = make_emulator()
    command, log = hook
    monkeypatch.setenv("BATCHCTL_STORE", store_value)
    (batch_id,) = ended_batches(emulator, clock, tmp_path, "w")
    env = {"HOOK_EXIT": "3"}
    waited = on(emulator, clock, "wait", batch_id, "--on-end", command, env=env)
    assert waited.exit_code == 11, waited.stderr
    assert waited.stdout == ""
    job = runs(log)[0]["BATCHCTL_JOB_ID"]
    assert waited.stderr.splitlines()[-2:] == [
        f"error: the --on-end hook for {job} exited with status 3",
        "hint: the next collect runs it again, as does the same wait (an ended job is not "
        "waited for)",
    ]

    out = tmp_path / "out"
    other = 'echo "other hook for $BATCHCTL_BATCH_ID"'
    failed = on(emulator, clock, "collect", "--dir", str(out), "--exec", other, "--json",
                env=env)
    assert failed.exit_code == 11, failed.stderr
    assert f"the --on-end hook for {job} exited with status 3" in failed.stderr
    assert f"other hook for {batch_id}" in failed.stderr  # hooks' output: stderr only
    collected, exec_ran, rerun = records(failed.stdout)
    assert (collected["id"], collected["action"]) == (batch_id, "collected")
    assert list(exec_ran) == HOOK_KEYS and list(rerun) == HOOK_KEYS
    assert exec_ran == {"id": batch_id, "action": "hook", "hook": "collect", "job_id": job,
                        "path": collected["path"], "attempt": 1, "state": "succeeded",
                        "exit_code": 0, "error": None}
    assert rerun == {"id": job, "action": "hook", "hook": "wait", "job_id": job, "path": None,
                     "attempt": 2, "state": "failed", "exit_code": 3,
                     "error": f"the --on-end hook for {job} exited with status 3"}
    assert emulator.results_requests(batch_id) == 1  # collect's own download, once

    ok = on(emulator, clock, "collect", "--json")
    assert ok.exit_code == 0, ok.stderr
    (rerun,) = records(ok.stdout)
    assert (rerun["id"], rerun["attempt"], rerun["state"], rerun["error"]) == (
        job, 3, "succeeded", None)
    assert [r["BATCHCTL_ATTEMPT"] for r in runs(log)] == ["1", "2", "3"]
    assert all(r["BATCHCTL_HOOK"] == "wait" for r in runs(log))
    assert on(emulator, clock, "collect").exit_code == 0 and len(runs(log)) == 3
    assert emulator.results_requests(batch_id) == 1


def test_a_failed_exec_hook_runs_once_at_the_next_collect_whatever_its_exec(
        emulator, clock, tmp_path, hook):
    command, log = hook
    (batch_id,) = ended_batches(emulator, clock, tmp_path, "x")
    first = on(emulator, clock, "collect", "--exec", command, env={"HOOK_EXIT": "1"})
    assert first.exit_code == 11, first.stderr
    other = on(emulator, clock, "collect", "--exec", f"{command} --other")
    assert other.exit_code == 0, other.stderr
    assert [r["BATCHCTL_ATTEMPT"] for r in runs(log)] == ["1", "2"]  # its own command, once
    assert on(emulator, clock, "collect", "--exec", command).exit_code == 0
    assert on(emulator, clock, "collect").exit_code == 0
    assert len(runs(log)) == 2 and emulator.results_requests(batch_id) == 1


def test_overlapping_collects_run_a_failed_hook_again_once(
        emulator, clock, tmp_path, monkeypatch, store_value):
    """A failed --on-end hook, then four plain collect processes at once: it ran once more."""
    monkeypatch.setenv("BATCHCTL_STORE", store_value)
    (batch_id,) = ended_batches(emulator, clock, tmp_path, "a")
    log = tmp_path / "ran.log"
    command = f'echo "$BATCHCTL_ATTEMPT" >> "{log}"; sleep 0.2; test -e "{tmp_path}/ok"'
    assert on(emulator, clock, "wait", batch_id, "--on-end", command).exit_code == 11
    (tmp_path / "ok").touch()
    env = child_env(Path(os.environ["BATCHCTL_HOME"]), BATCHCTL_STORE=store_value)
    procs = [warm.spawn(["--base-url", emulator.base_url, "collect", "--dir",
                         str(tmp_path / f"out{i}")], env) for i in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert log.read_text().split() == ["1", "2"]
    assert emulator.results_requests(batch_id) == 1


def test_on_a_terminal_a_hook_prints_above_the_wait_s_live_bars(emulator, clock, tmp_path, hook):
    command, _ = hook
    cli = cli_on(emulator, clock)
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    result = cli("wait", job, "--on-end", command, tty=True)
    assert result.exit_code == 0, result.stderr
    # The live region is cleared (erase line), the hook's line printed, the bars drawn again.
    assert "\x1b[2Khook says hello\n" in result.stderr
    assert result.stderr.index("hook says hello") < result.stderr.index("1 of 1 batch ended")

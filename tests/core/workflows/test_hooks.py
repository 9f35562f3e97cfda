"""Hooks: `collect --exec CMD` per batch collected, `wait`/`run --on-end CMD` per job ended.

What a hook receives (its BATCHCTL_* environment, /dev/null for stdin), where its output goes
(stderr, never stdout), a failure (reported, exit 11, run again by the next collect with no
second download; more in test_hook_reruns.py), a success never run twice (also by overlapping
collects, on both store backends), and ids that are not of the documented shape never
reaching a hook."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import pytest

from batchctl.core.errors import ExitCode, HookFailedError
from batchctl.core.events import gather
from batchctl.core.location import parse_store
from batchctl.core.state.hooks import COLLECT, FAILED, SUCCEEDED
from batchctl.core.state.store import Store
from batchctl.core.workflows.hooks import Hook, HookOutput, HookRan, Subject, hook_env, run_hook
from tests.support import warm
from tests.support.files import write_requests
from tests.support.hooks import ended_batches, runs
from tests.support.hostile import HostileServer, batch, json_answer
from tests.support.processes import child_env, run_batchctl
from tests.support.runs import cli_on, on, sdk_batch, submit


# -- collect --exec ----------------------------------------------------------------------------
def test_collect_exec_gives_each_batch_its_environment_and_keeps_stdout_clean(
        emulator, clock, tmp_path, hook):
    command, log = hook
    a, b = ended_batches(emulator, clock, tmp_path, "first", "it's $(touch pwned); `x`")
    out = tmp_path / "out"
    result = on(emulator, clock, "collect", "--dir", str(out), "--exec", command)
    assert result.exit_code == 0, result.stderr
    paths = result.stdout.splitlines()
    assert len(paths) == 2 and all(Path(p).parent == out for p in paths)  # stdout: paths only
    assert result.stderr.count("hook says hello") == 2  # the hooks' stdout went to stderr
    first, second = runs(log)
    assert first == {
        "BATCHCTL_HOOK": "collect", "BATCHCTL_ATTEMPT": "1", "BATCHCTL_BATCH_ID": a,
        "BATCHCTL_BATCH_IDS": a, "BATCHCTL_JOB_ID": first["BATCHCTL_JOB_ID"],
        "BATCHCTL_LABEL": "first", "BATCHCTL_RESULTS_PATH": paths[0],
        "BATCHCTL_STATUS": "succeeded", "BATCHCTL_REQUESTS": "2", "BATCHCTL_SUCCEEDED": "2",
        "BATCHCTL_ERRORED": "0", "BATCHCTL_CANCELED": "0", "BATCHCTL_EXPIRED": "0",
        "BATCHCTL_HOME": os.environ["BATCHCTL_HOME"],  # batchctl's environment, inherited
        "stdin": "",
    }
    assert first["BATCHCTL_JOB_ID"].startswith("job_")
    assert len(Path(first["BATCHCTL_RESULTS_PATH"]).read_bytes().splitlines()) == 2
    assert second["BATCHCTL_BATCH_ID"] == b and second["BATCHCTL_REQUESTS"] == "3"
    # A label is the user's text: it reaches the hook as a value, and no shell ran it.
    assert second["BATCHCTL_LABEL"] == "it's $(touch pwned); `x`"
    assert not (Path.cwd() / "pwned").exists() and not (tmp_path / "pwned").exists()


def test_a_failed_hook_exits_11_and_the_next_collect_runs_it_again_without_downloading(
        make_emulator, clock, tmp_path, hook, monkeypatch, store_value):
    emulator = make_emulator()
    command, log = hook
    monkeypatch.setenv("BATCHCTL_STORE", store_value)
    (batch_id,) = ended_batches(emulator, clock, tmp_path, "x")
    ok = tmp_path / "ok"
    env = {"HOOK_EXIT": "3", "HOOK_OK": str(ok)}
    out = tmp_path / "out"
    failed = on(emulator, clock, "collect", "--dir", str(out), "--exec", command, env=env)
    assert failed.exit_code == ExitCode.HOOK_FAILED == 11, failed.stderr
    assert f"the --exec hook for {batch_id} exited with status 3" in failed.stderr
    assert "the next collect runs it again, without downloading again" in failed.stderr
    assert "collected 1 batch into" in failed.stderr
    assert "ran 1 hook (1 failed)" in failed.stderr
    assert failed.stdout.splitlines() == [str(next(out.iterdir()))]  # the file was written
    assert emulator.results_requests(batch_id) == 1

    ok.touch()
    again = on(emulator, clock, "collect", "--dir", str(out), "--exec", command, env=env)
    assert again.exit_code == 0, again.stderr
    assert emulator.results_requests(batch_id) == 1  # no second download
    assert "nothing new to collect; ran 1 hook" in again.stderr
    assert [r["BATCHCTL_ATTEMPT"] for r in runs(log)] == ["1", "2"]
    assert runs(log)[1]["BATCHCTL_RESULTS_PATH"] == runs(log)[0]["BATCHCTL_RESULTS_PATH"]

    third = on(emulator, clock, "collect", "--dir", str(out), "--exec", command, env=env)
    assert third.exit_code == 0, third.stderr
    assert len(runs(log)) == 2  # a hook that succeeded never runs again
    assert "nothing to collect" in third.stderr


def test_a_hook_that_cannot_run_is_reported_with_sh_status(emulator, clock, tmp_path):
    (batch_id,) = ended_batches(emulator, clock, tmp_path, "x")
    result = on(emulator, clock, "collect", "--exec", str(tmp_path / "no-such-hook"))
    assert result.exit_code == 11, result.stderr
    assert f"hook for {batch_id} exited with status 127: it was not found" in result.stderr


def test_overlapping_collects_run_a_hook_once(emulator, clock, tmp_path, monkeypatch,
                                              store_value):
    """Four collect processes at once, each with the same slow hook: each batch's hook ran
    once, by whichever process collected it or found it due first."""
    monkeypatch.setenv("BATCHCTL_STORE", store_value)
    ids = ended_batches(emulator, clock, tmp_path, "a", "b", "c")
    log = tmp_path / "ran.log"
    command = f'echo "$BATCHCTL_BATCH_ID" >> "{log}"; sleep 0.2'
    env = child_env(Path(os.environ["BATCHCTL_HOME"]), BATCHCTL_STORE=store_value)
    procs = [warm.spawn(["--base-url", emulator.base_url, "collect", "--dir",
                         str(tmp_path / f"out{i}"), "--exec", command], env) for i in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(log.read_text().split()) == sorted(ids)
    assert sum(emulator.results_requests(i) for i in ids) == 3


def test_a_hook_that_leaves_a_process_in_the_background_is_not_waited_for(
        emulator, clock, tmp_path):
    """The background child inherits the hook's stdout, so the pipe stays open as long as it
    lives: batchctl goes on once the command itself has ended, its status deciding."""
    (batch_id,) = ended_batches(emulator, clock, tmp_path, "x")
    child = tmp_path / "child.pid"
    command = f'echo started; sleep 20 & echo "$!" > "{child}"; echo done'
    try:
        result = run_batchctl(emulator.base_url, Path(os.environ["BATCHCTL_HOME"]), "collect",
                              "--dir", str(tmp_path / "out"), "--exec", command, timeout=10)
    finally:
        if child.exists():  # the sleep we started, by its id
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child.read_text()), signal.SIGKILL)
    assert result.returncode == 0, result.stderr
    assert result.stderr.index("started") < result.stderr.index("done")
    assert "ran 1 hook" in result.stderr and "failed" not in result.stderr
    assert "started" not in result.stdout
    store = Store.open(Path(os.environ["BATCHCTL_HOME"]), clock=clock,
                       location=parse_store("sqlite"))
    try:
        (row,) = store.db.query("SELECT * FROM hook_runs WHERE subject = ?", (batch_id,))
    finally:
        store.close()
    assert (row["kind"], row["state"], row["exit_code"]) == (COLLECT, SUCCEEDED, 0)


def test_a_hook_s_output_ends_with_it_in_order_with_its_last_unended_line(open_store):
    """What a background process writes after the hook has ended is not read (nor waited
    for); what the hook wrote is, a last line without its newline too."""
    store = open_store()
    batch_id = "msgbatch_01Lines"
    hook = Hook("(sleep 3; echo late) & printf 'one\\r\\ntwo\\n\\n'; echo err >&2; printf three",
                "collect", "--exec", {"PATH": os.environ["PATH"]})
    subject = Subject(COLLECT, batch_id, None, (batch_id,), None, {"succeeded": 1})
    events, ran = gather(run_hook(store, hook, subject))
    assert [e.line for e in events if isinstance(e, HookOutput)] == [
        "one", "two", "", "err", "three"]
    assert ran.exit_code == 0 and ran.error is None


# -- wait and run --on-end ---------------------------------------------------------------------
def test_wait_on_end_runs_once_per_job_that_ended(emulator, clock, tmp_path, hook):
    command, log = hook
    cli = cli_on(emulator, clock)
    job_a, ids_a = submit(cli, write_requests(tmp_path / "a.jsonl", 5), "--max-requests", "3")
    job_b, ids_b = submit(cli, write_requests(tmp_path / "b.jsonl", 1, "b-"), "--label", "b")
    result = cli("wait", job_a, ids_b[0], "--on-end", command)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    first, second = runs(log)
    assert (first["BATCHCTL_HOOK"], first["BATCHCTL_JOB_ID"]) == ("wait", job_a)
    assert first["BATCHCTL_BATCH_IDS"] == " ".join(ids_a) and first["BATCHCTL_BATCH_ID"] == ""
    assert (first["BATCHCTL_REQUESTS"], first["BATCHCTL_SUCCEEDED"]) == ("5", "5")
    assert first["BATCHCTL_RESULTS_PATH"] == ""  # wait writes no results
    assert (second["BATCHCTL_JOB_ID"], second["BATCHCTL_LABEL"]) == (job_b, "b")
    err = result.stderr  # each hook once its job has ended; the wait's summary after them
    assert max(err.index(f"{i}: ended") for i in ids_a) < err.index("hook says hello")
    assert err.rindex(f"hook for {job_b}: done") < err.index("3 of 3 batches ended after")

    again = cli("wait", job_a, "--on-end", command)
    assert again.exit_code == 0 and len(runs(log)) == 2
    assert f"hook for {job_a}: succeeded before, not run again" in again.stderr


def test_an_untracked_batch_is_a_job_of_its_own(emulator, clock, hook):
    command, log = hook
    batch_id = sdk_batch(emulator, 3)
    result = on(emulator, clock, "wait", batch_id, "--on-end", command)
    assert result.exit_code == 0, result.stderr
    (env,) = runs(log)
    assert (env["BATCHCTL_BATCH_IDS"], env["BATCHCTL_JOB_ID"], env["BATCHCTL_LABEL"]) == (
        batch_id, "", "")
    assert env["BATCHCTL_REQUESTS"] == "3"


def test_wait_exit_codes_with_a_failing_hook(make_emulator, clock, tmp_path, hook):
    """The hook's failure is exit 11; a verdict the wait was asked for (--exit-status) wins."""
    command, log = hook
    emulator = make_emulator(error_rate=0.5, seed=3)
    cli = cli_on(emulator, clock)
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 6))
    strict = cli("wait", job, "--exit-status", "--on-end", command, env={"HOOK_EXIT": "4"})
    assert strict.exit_code == 9, strict.stderr
    assert f"the --on-end hook for {job} exited with status 4" in strict.stderr
    assert runs(log)[0]["BATCHCTL_STATUS"] == "failed"
    plain = cli("wait", job, "--on-end", command, env={"HOOK_EXIT": "4"})
    assert plain.exit_code == 11, plain.stderr
    assert [r["BATCHCTL_ATTEMPT"] for r in runs(log)] == ["1", "2"]


def test_a_wait_that_timed_out_runs_no_hook(emulator, clock, tmp_path, hook):
    command, log = hook
    cli = cli_on(emulator, clock)
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    result = cli("wait", job, "--timeout", "10", "--on-end", command)
    assert result.exit_code == 8 and runs(log) == []


def test_run_on_end_gets_the_results_file(emulator, clock, tmp_path, hook):
    command, log = hook
    out = tmp_path / "answers.jsonl"
    path = write_requests(tmp_path / "a.jsonl", 3)
    result = on(emulator, clock, "run", str(path), "-o", str(out), "--on-end", command)
    assert result.exit_code == 0, result.stderr
    (env,) = runs(log)
    assert env["BATCHCTL_HOOK"] == "run" and env["BATCHCTL_RESULTS_PATH"] == str(out)
    assert env["BATCHCTL_JOB_ID"].startswith("job_") and env["BATCHCTL_SUCCEEDED"] == "3"
    piped = on(emulator, clock, "run", str(write_requests(tmp_path / "b.jsonl", 2, "b-")),
               "--on-end", command)
    assert piped.exit_code == 0, piped.stderr
    assert len(piped.stdout.splitlines()) == 2  # the results; the hook's line went to stderr
    assert "hook says hello" in piped.stderr and runs(log)[1]["BATCHCTL_RESULTS_PATH"] == ""


# -- untrusted ids -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["msgbatch_01$(touch pwned)", "msgbatch_01\nX=1", "../etc"])
def test_an_id_not_of_the_documented_shape_never_reaches_a_hook(open_store, tmp_path, bad):
    store = open_store()
    marker = tmp_path / "ran"
    hook = Hook(f'touch "{marker}"', "collect", "--exec", {"PATH": os.environ["PATH"]})
    subject = Subject(COLLECT, bad, None, (bad,), None, {"succeeded": 1})
    with pytest.raises(HookFailedError):
        hook_env(hook, subject, 1)
    events, ran = gather(run_hook(store, hook, subject))
    assert not marker.exists()
    assert isinstance(ran, HookRan) and ran.error is not None and ran.exit_code is None
    assert "is not a batch id batchctl accepts" in ran.error.message
    assert "\n" not in ran.error.message  # shown escaped
    assert not [e for e in events if isinstance(e, HookOutput)]
    assert store.hook_run(COLLECT, bad, hook.key)["state"] == FAILED


def test_a_server_that_answers_another_shape_of_id_gets_no_hook_run(tmp_path, clock):
    """The API layer refuses the answer (exit 6) before any hook could see it."""
    wanted = "msgbatch_01Good"
    server = HostileServer(lambda method, path: json_answer(
        batch("msgbatch_01Good;touch pwned", results_url=None))).start()
    marker = tmp_path / "ran"
    try:
        result = on(server.origin, clock, "wait", wanted, "--on-end", f'touch "{marker}"')
    finally:
        server.stop()
    assert result.exit_code == ExitCode.UNAVAILABLE, result.stderr
    assert not marker.exists()


def test_a_hook_killed_by_a_signal_fails_and_runs_again(open_store, tmp_path):
    store = open_store()
    batch_id = "msgbatch_01Signal"
    hook = Hook('echo before; kill -TERM $$; echo after', "collect", "--exec",
                {"PATH": os.environ["PATH"]})
    subject = Subject(COLLECT, batch_id, None, (batch_id,), None, {"succeeded": 1})
    events, ran = gather(run_hook(store, hook, subject))
    assert [e.line for e in events if isinstance(e, HookOutput)] == ["before"]
    assert ran.exit_code == 128 + 15 and ran.error is not None
    assert ran.error.message == f"the --exec hook for {batch_id} was killed by signal 15 (SIGTERM)"
    row = store.hook_run(COLLECT, batch_id, hook.key)
    assert (row["state"], row["attempts"], row["exit_code"]) == (FAILED, 1, 143)
    assert store.start_hook(COLLECT, batch_id, hook.key) == 2
